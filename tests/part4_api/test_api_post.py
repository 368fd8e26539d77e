"""POST /api/elements/: storing elements (exam.api.views.ElementCollectionView.post)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from pytest_django import DjangoAssertNumQueries, Settings
from rest_framework import status
from rest_framework.test import APIClient

from exam.api import serializers
from exam.api.models import Element
from exam.api.serializers import ID_MESSAGE

from .paths import LIST_URL

pytestmark = pytest.mark.django_db

PostJson = Callable[[object], Any]


def expected_entry(element: dict[str, Any], *, device_field: str = "deviceName") -> dict[str, Any]:
    """Compute the stored entry for ``element`` independently of the API, with numpy."""
    values = np.array([row.split() for row in element["data"]], dtype=float)
    return {
        "id": element["id"],
        "device_name": element.get(device_field),
        "size": values.size,
        "shape": list(values.shape),
        "average_before": pytest.approx(values.mean()),
        "average_after": pytest.approx((values / values.max()).mean()),
    }


def without_timestamps(entry: dict[str, Any]) -> dict[str, Any]:
    """Return ``entry`` without its created/updated timestamps."""
    return {k: v for k, v in entry.items() if k not in {"created_at", "updated_at"}}


class TestPostPart3Format:
    """POST of an object of elements keyed "1", "2", ... (Part 3's file format)."""

    @pytest.mark.req("P4.POST.1", "P4.POST.2")
    def test_post_sample_file_creates_every_element_and_answers_the_entries_by_key(
        self, post_json: PostJson, sample_04: dict[str, Any]
    ) -> None:
        """POST of the 50-element sample answers 201 with each entry under its element's key."""
        response = post_json(sample_04)

        assert response.status_code == status.HTTP_201_CREATED
        body = response.json()
        assert list(body) == list(sample_04)
        assert {k: without_timestamps(v) for k, v in body.items()} == {
            key: expected_entry(element) for key, element in sample_04.items()
        }

    @pytest.mark.req("P4.POST.1")
    def test_post_sample_file_stores_one_row_per_element_with_its_raw_data(
        self, post_json: PostJson, sample_04: dict[str, Any]
    ) -> None:
        """Every element becomes one row holding its rows exactly as sent."""
        post_json(sample_04)

        stored = dict(Element.objects.values_list("element_id", "data"))
        assert stored == {element["id"]: element["data"] for element in sample_04.values()}

    @pytest.mark.req("P4.POST.3")
    def test_post_stores_nothing_when_one_element_is_invalid(self, post_json: PostJson) -> None:
        """One invalid element makes the whole payload fail: no row is stored."""
        payload = {
            "1": {"id": "good-1", "data": ["1 2"]},
            "2": {"id": "bad-2", "data": ["1 x"]},
        }

        response = post_json(payload)

        assert response.status_code == status.HTTP_400_BAD_REQUEST
        assert response.json() == {
            "detail": "Invalid input.",
            "errors": {"2": {"data": ["data row 1: 'x' is not a number"]}},
        }
        assert Element.objects.count() == 0

    @pytest.mark.req("P4.POST.4", "P4.HTTP.3")
    def test_post_keys_errors_by_element_key_then_field_for_every_invalid_element(
        self, post_json: PostJson
    ) -> None:
        """Each invalid element of a payload is reported under its own key."""
        payload = {
            "1": {"id": "ok", "data": ["1 2"]},
            "2": {"data": ["1 2"]},
            "3": {"id": "x y", "data": ["1 2", "3"]},
            "4": ["not", "an", "element"],
        }

        response = post_json(payload)

        assert response.status_code == status.HTTP_400_BAD_REQUEST
        assert response.json() == {
            "detail": "Invalid input.",
            "errors": {
                "2": {"id": ["id is missing"]},
                "3": {"id": [ID_MESSAGE], "data": ["data row 2 has 1 values, row 1 has 2"]},
                "4": {"non_field_errors": ["element must be a JSON object"]},
            },
        }

    @pytest.mark.req("P4.POST.4")
    def test_post_refuses_an_empty_object(self, post_json: PostJson) -> None:
        """An object without elements is a 400, not an empty success."""
        response = post_json({})

        assert response.status_code == status.HTTP_400_BAD_REQUEST
        assert response.json() == {
            "detail": "Invalid input.",
            "errors": {"non_field_errors": ["The payload holds no elements."]},
        }

    @pytest.mark.req("P4.POST.4")
    @pytest.mark.parametrize(
        ("body", "kind"),
        [
            ([{"id": "a", "data": ["1"]}], "an array"),
            ("text", "a string"),
            (True, "a boolean"),
            (None, "null"),
            (42, "a number"),
        ],
    )
    def test_post_refuses_a_body_that_is_not_an_object(
        self, api_client: APIClient, body: object, kind: str
    ) -> None:
        """A JSON body other than an object is a 400 naming what it is."""
        response = api_client.post(LIST_URL, json.dumps(body), content_type="application/json")

        assert response.status_code == status.HTTP_400_BAD_REQUEST
        assert response.json() == {
            "detail": "Invalid input.",
            "errors": {"non_field_errors": [f"Expected an object, got {kind}."]},
        }


class TestPostSingleElement:
    """POST of one element on its own."""

    @pytest.mark.req("P4.POST.1", "P4.POST.2")
    @pytest.mark.parametrize("device_field", ["deviceName", "device_name"])
    def test_post_single_element_answers_its_entry_with_a_location(
        self, post_json: PostJson, device_field: str
    ) -> None:
        """A single element (deviceName or device_name) answers 201 with its entry and Location."""
        element = {"id": "aabbcc1", "data": ["54 26 34", "75 87 75"], device_field: "RX 1"}

        response = post_json(element)

        assert response.status_code == status.HTTP_201_CREATED
        assert without_timestamps(response.json()) == expected_entry(
            element, device_field=device_field
        )
        assert response["Location"] == "/api/elements/aabbcc1/"

    @pytest.mark.req("P4.POST.1")
    def test_post_single_element_without_device_stores_a_null_device_name(
        self, post_json: PostJson
    ) -> None:
        """deviceName is optional: without it the device name is null."""
        response = post_json({"id": "aabbcc1", "data": ["1 2"]})

        assert response.status_code == status.HTTP_201_CREATED
        assert response.json()["device_name"] is None

    @pytest.mark.req("P4.POST.2")
    def test_post_of_values_near_the_float_maximum_stores_their_finite_average(
        self, post_json: PostJson
    ) -> None:
        """Values whose sum overflows are valid: 201, and the average stored is finite."""
        response = post_json({"id": "huge1", "data": ["1e308 1e308", "1e308 5e307"]})

        assert response.status_code == status.HTTP_201_CREATED
        body = response.json()
        assert (body["average_before"], body["average_after"]) == (1e308 * 0.875, 0.875)
        assert Element.objects.get(element_id="huge1").average_before == 1e308 * 0.875

    @pytest.mark.req("P4.MODEL.3")
    def test_post_gives_a_new_entry_equal_created_and_updated_timestamps(
        self, post_json: PostJson
    ) -> None:
        """A new entry was created and last updated at the same instant."""
        body = post_json({"id": "aabbcc1", "data": ["1 2"]}).json()

        assert body["created_at"] == body["updated_at"]

    @pytest.mark.req("P4.POST.4", "P4.HTTP.3")
    @pytest.mark.parametrize(
        ("element", "errors"),
        [
            ({"data": ["1 2"]}, {"id": ["id is missing"]}),
            ({"id": "a1"}, {"data": ["data is missing"]}),
            ({"id": "", "data": ["1"]}, {"id": ["id must be a non-empty string"]}),
            ({"id": None, "data": ["1"]}, {"id": ["id must be a non-empty string"]}),
            ({"id": 5, "data": ["1"]}, {"id": ["id must be a non-empty string"]}),
            ({"id": "a" * 65, "data": ["1"]}, {"id": [ID_MESSAGE]}),
            ({"id": "a/b", "data": ["1"]}, {"id": [ID_MESSAGE]}),
            ({"id": ".", "data": ["1"]}, {"id": [ID_MESSAGE]}),
            ({"id": "..", "data": ["1"]}, {"id": [ID_MESSAGE]}),
            ({"id": "a\x00", "data": ["1"]}, {"id": [ID_MESSAGE]}),
            ({"id": "a1", "data": "1 2"}, {"data": ["data must be a non-empty list of strings"]}),
            ({"id": "a1", "data": []}, {"data": ["data must be a non-empty list of strings"]}),
            ({"id": "a1", "data": [1, 2]}, {"data": ["data row 1 is not a string"]}),
            ({"id": "a1", "data": ["1 x"]}, {"data": ["data row 1: 'x' is not a number"]}),
            (
                {"id": "a1", "data": ["1 inf"]},
                {"data": ["data contains a non-finite value (nan or infinity)"]},
            ),
            (
                {"id": "a1", "data": ["1 nan"]},
                {"data": ["data contains a non-finite value (nan or infinity)"]},
            ),
            (
                {"id": "a1", "data": ["1 -2"]},
                {"data": ["data contains a negative value (-2); values must be >= 0"]},
            ),
            (
                {"id": "a1", "data": ["1 2", "3"]},
                {"data": ["data row 2 has 1 values, row 1 has 2"]},
            ),
            ({"id": "a1", "data": ["1 2", " "]}, {"data": ["data row 2 is empty"]}),
            (
                {"id": "a1", "data": ["1"], "deviceName": 7},
                {"deviceName": ["deviceName must be a string"]},
            ),
            (
                {"id": "a1", "data": ["1"], "device_name": 7},
                {"device_name": ["deviceName must be a string"]},
            ),
            (
                {"id": "a1", "data": ["1"], "device_name": "x" * 256},
                {"device_name": ["Ensure this field has no more than 255 characters."]},
            ),
            (
                {"id": "a1", "data": ["1"], "deviceName": "CT\x00"},
                {"deviceName": ["Null characters are not allowed."]},
            ),
            (
                {"id": "a1", "data": ["1"], "deviceName": "A", "device_name": "A"},
                {"device_name": ["Give deviceName or device_name, not both."]},
            ),
            ({"id": "a1", "data": ["1"], "colour": "red"}, {"colour": ["Unknown field."]}),
            (
                {"id": "a1", "data": ["1"], "deviceName": "A", "device_name": 7},
                {
                    "device_name": [
                        "Give deviceName or device_name, not both.",
                        "deviceName must be a string",
                    ]
                },
            ),
            (
                {"data": ["1"], "deviceName": "x" * 256},
                {"id": ["id is missing"]},
            ),
            (
                {"id": "a b", "data": ["1 x"], "colour": "red"},
                {
                    "colour": ["Unknown field."],
                    "id": [ID_MESSAGE],
                    "data": ["data row 1: 'x' is not a number"],
                },
            ),
        ],
    )
    def test_post_invalid_single_element_answers_400_keyed_by_field(
        self, post_json: PostJson, element: dict[str, Any], errors: dict[str, list[str]]
    ) -> None:
        """Each kind of invalid element is a 400 naming the field and the fault."""
        response = post_json(element)

        assert response.status_code == status.HTTP_400_BAD_REQUEST
        assert response.json() == {"detail": "Invalid input.", "errors": errors}
        assert Element.objects.count() == 0

    @pytest.mark.req("P4.POST.2")
    @pytest.mark.parametrize("field", ["average_before", "average_after", "size", "shape"])
    def test_post_refuses_computed_fields_sent_by_the_client(
        self, post_json: PostJson, field: str
    ) -> None:
        """Computed fields are never taken from the client: sending one is a 400 naming it."""
        response = post_json({"id": "a1", "data": ["1 2"], field: 0})

        assert response.status_code == status.HTTP_400_BAD_REQUEST
        assert response.json() == {
            "detail": "Invalid input.",
            "errors": {field: ["Unknown field."]},
        }


class TestPostConflicts:
    """POST of ids that repeat within the payload or are already stored."""

    @pytest.mark.req("P4.POST.5")
    def test_post_repeating_an_id_within_the_payload_answers_409(self, post_json: PostJson) -> None:
        """A repeated id is a conflict naming the later elements; nothing is stored."""
        payload = {
            "1": {"id": "same", "data": ["1"]},
            "2": {"id": "other", "data": ["1"]},
            "3": {"id": "same", "data": ["2"]},
        }

        response = post_json(payload)

        assert response.status_code == status.HTTP_409_CONFLICT
        assert response.json() == {
            "detail": "The payload repeats element ids.",
            "errors": {"3": {"id": ["Id 'same' is also the id of element '1'."]}},
        }
        assert Element.objects.count() == 0

    @pytest.mark.req("P4.POST.5")
    def test_post_of_stored_ids_answers_409_naming_the_elements(self, post_json: PostJson) -> None:
        """Ids already stored are a conflict keyed by element; the new one is not stored either."""
        post_json({"id": "kept", "data": ["1"]})

        response = post_json(
            {"1": {"id": "new", "data": ["1"]}, "2": {"id": "kept", "data": ["2"]}}
        )

        assert response.status_code == status.HTTP_409_CONFLICT
        assert response.json() == {
            "detail": "Element ids already exist.",
            "errors": {"2": {"id": ["An element with id 'kept' already exists."]}},
        }
        assert list(Element.objects.values_list("element_id", flat=True)) == ["kept"]

    @pytest.mark.req("P4.POST.5")
    def test_post_of_a_stored_single_element_answers_409_keyed_by_field(
        self, post_json: PostJson
    ) -> None:
        """A single element whose id is taken is a conflict on its id field."""
        post_json({"id": "kept", "data": ["1"]})

        response = post_json({"id": "kept", "data": ["2"]})

        assert response.status_code == status.HTTP_409_CONFLICT
        assert response.json() == {
            "detail": "The element id already exists.",
            "errors": {"id": ["An element with id 'kept' already exists."]},
        }


class TestPostQueries:
    """The number of SQL queries a POST takes."""

    @pytest.mark.req("P4.POST.3")
    def test_post_of_fifty_elements_takes_at_most_five_queries(
        self,
        post_json: PostJson,
        sample_04: dict[str, Any],
        django_assert_max_num_queries: DjangoAssertNumQueries,
    ) -> None:
        """The 50-element sample is stored in at most 5 queries."""
        with django_assert_max_num_queries(5):
            response = post_json(sample_04)

        assert response.status_code == status.HTTP_201_CREATED

    @pytest.mark.req("P4.POST.3")
    def test_post_takes_the_same_queries_for_one_element_as_for_fifty(
        self,
        post_json: PostJson,
        sample_04: dict[str, Any],
        django_assert_max_num_queries: DjangoAssertNumQueries,
    ) -> None:
        """The query count does not grow with the element count: one bulk INSERT."""
        one = {"1": sample_04["1"]}
        rest = {k: v for k, v in sample_04.items() if k != "1"}
        with django_assert_max_num_queries(5) as for_one:
            post_json(one)
        with django_assert_max_num_queries(5) as for_many:
            post_json(rest)

        inserts = [q["sql"] for q in for_many.captured_queries if q["sql"].startswith("INSERT")]
        assert len(for_many.captured_queries) == len(for_one.captured_queries)
        assert len(inserts) == 1


class TestPostElementLimit:
    """The most elements one POST may hold (EXAM_API_MAX_ELEMENTS)."""

    @pytest.mark.req("P4.POST.7")
    def test_post_of_more_elements_than_the_limit_answers_413_naming_it(
        self, post_json: PostJson, settings: Settings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """One element over the limit is a 413 naming count and limit; no element is validated."""
        settings.EXAM_API_MAX_ELEMENTS = 2
        validated: list[str] = []
        monkeypatch.setattr(
            serializers, "summarize_element", lambda key, element: validated.append(key)
        )
        payload = {str(n): {"id": f"e{n}", "data": ["1"]} for n in range(1, 4)}

        response = post_json(payload)

        assert response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        assert response.json() == {
            "detail": "The payload holds 3 elements; at most 2 are taken at once "
            "(EXAM_API_MAX_ELEMENTS)."
        }
        assert validated == []
        assert Element.objects.count() == 0

    @pytest.mark.req("P4.POST.7")
    def test_post_of_exactly_the_limit_is_stored(
        self, post_json: PostJson, settings: Settings
    ) -> None:
        """The limit is inclusive."""
        settings.EXAM_API_MAX_ELEMENTS = 2

        response = post_json({"1": {"id": "a", "data": ["1"]}, "2": {"id": "b", "data": ["2"]}})

        assert response.status_code == status.HTTP_201_CREATED
        assert Element.objects.count() == 2
