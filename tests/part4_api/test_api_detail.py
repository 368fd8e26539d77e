"""/api/elements/<id>/: GET, PUT, PATCH and DELETE of one element (ElementDetailView)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework import status
from rest_framework.test import APIClient

from exam.api.models import Element
from exam.api.serializers import ID_MESSAGE
from tests.factories import ElementFactory

from .paths import detail_url

pytestmark = pytest.mark.django_db

NOT_FOUND = {"detail": "No element has id 'missing'."}


def detail(element: Element) -> dict[str, Any]:
    """The detail body the API should show for ``element``, built from the row itself."""
    return {
        "id": element.element_id,
        "device_name": element.device_name,
        "size": element.size,
        "shape": [element.rows, element.columns],
        "average_before": element.average_before,
        "average_after": element.average_after,
        "created_at": element.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": element.updated_at.isoformat().replace("+00:00", "Z"),
        "data": element.data,
    }


class TestGet:
    """GET /api/elements/<id>/."""

    @pytest.mark.req("P4.GET.2")
    def test_get_returns_the_entry_with_its_raw_data(self, api_client: APIClient) -> None:
        """GET by the element's own id answers the entry, raw data included."""
        element = ElementFactory(element_id="aabbcc1", data=["54 26 34", "75 87 75"])

        response = api_client.get(detail_url("aabbcc1"))

        assert response.status_code == status.HTTP_200_OK
        assert response.json() == detail(element)

    @pytest.mark.req("P4.GET.2")
    def test_get_of_an_unknown_id_answers_404(self, api_client: APIClient) -> None:
        """GET of an id nobody has is a 404 naming it."""
        response = api_client.get(detail_url("missing"))

        assert response.status_code == status.HTTP_404_NOT_FOUND
        assert response.json() == NOT_FOUND


class TestUpdate:
    """PUT and PATCH /api/elements/<id>/."""

    @pytest.fixture(params=["put", "patch"])
    def method(self, request: pytest.FixtureRequest) -> str:
        """Both update verbs behave the same."""
        return str(request.param)

    @pytest.mark.req("P4.PUT.1")
    def test_put_of_the_seed_example_changes_the_device_name(self, api_client: APIClient) -> None:
        """The seed's PUT {"device_name": "new_device_name"} answers the updated entry."""
        element = ElementFactory(element_id="aabbcc1", device_name="CT SCAN")

        response = api_client.put(
            detail_url("aabbcc1"), {"device_name": "new_device_name"}, format="json"
        )

        element.refresh_from_db()
        assert response.status_code == status.HTTP_200_OK
        assert response.json() == detail(element)
        assert element.device_name == "new_device_name"

    @pytest.mark.req("P4.PUT.1")
    @pytest.mark.parametrize(
        ("body", "device_name"),
        [
            ({"device_name": "MRI"}, "MRI"),
            ({"deviceName": "MRI"}, "MRI"),
            ({"device_name": None}, None),
            ({"device_name": " CT 2 "}, " CT 2 "),
        ],
    )
    def test_update_sets_the_device_name(
        self, api_client: APIClient, method: str, body: dict[str, Any], device_name: str | None
    ) -> None:
        """device_name (or deviceName) sets the device name; null clears it."""
        ElementFactory(element_id="aabbcc1", device_name="CT SCAN")

        response = getattr(api_client, method)(detail_url("aabbcc1"), body, format="json")

        assert response.status_code == status.HTTP_200_OK
        assert Element.objects.get(element_id="aabbcc1").device_name == device_name

    @pytest.mark.req("P4.PUT.1", "P4.MODEL.1")
    def test_update_of_the_id_renames_the_same_row(
        self, api_client: APIClient, method: str
    ) -> None:
        """Changing the id keeps the row (same primary key, same data) under the new id."""
        element = ElementFactory(element_id="old-id")

        response = getattr(api_client, method)(
            detail_url("old-id"), {"id": "new-id"}, format="json"
        )

        assert response.status_code == status.HTTP_200_OK
        assert response.json()["id"] == "new-id"
        assert list(Element.objects.values_list("pk", "element_id")) == [(element.pk, "new-id")]
        assert api_client.get(detail_url("old-id")).status_code == status.HTTP_404_NOT_FOUND

    @pytest.mark.req("P4.PUT.1")
    def test_update_moves_updated_at_but_not_created_at(
        self, api_client: APIClient, method: str
    ) -> None:
        """An update refreshes updated_at and leaves created_at alone."""
        element = ElementFactory(element_id="aabbcc1")

        body = getattr(api_client, method)(
            detail_url("aabbcc1"), {"device_name": "MRI"}, format="json"
        ).json()

        assert body["created_at"] == detail(element)["created_at"]
        assert body["updated_at"] > body["created_at"]

    @pytest.mark.req("P4.PUT.2", "P4.HTTP.3")
    @pytest.mark.parametrize(
        ("body", "errors"),
        [
            ({"size": 3}, {"size": ["Unknown field."]}),
            ({"data": ["1 2"], "device_name": "MRI"}, {"data": ["Unknown field."]}),
            ({"average_after": 0.5}, {"average_after": ["Unknown field."]}),
            ({}, {"non_field_errors": ["Give id and/or device_name to change."]}),
            ({"id": ""}, {"id": ["This field may not be blank."]}),
            ({"id": None}, {"id": ["This field may not be null."]}),
            ({"id": "a b"}, {"id": [ID_MESSAGE]}),
            ({"id": ".."}, {"id": [ID_MESSAGE]}),
            ({"id": 5}, {"id": ["Not a valid string."]}),
            (
                {"device_name": "x" * 256},
                {"device_name": ["Ensure this field has no more than 255 characters."]},
            ),
            ({"deviceName": "CT\x00"}, {"deviceName": ["Null characters are not allowed."]}),
            ({"device_name": 5}, {"device_name": ["Not a valid string."]}),
            (
                {"device_name": "A", "deviceName": "B"},
                {"device_name": ["Give deviceName or device_name, not both."]},
            ),
            (
                {"device_name": 5, "deviceName": "B"},
                {
                    "device_name": [
                        "Not a valid string.",
                        "Give deviceName or device_name, not both.",
                    ]
                },
            ),
            ({"id": " a1"}, {"id": [ID_MESSAGE]}),
            ([], {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
        ],
    )
    def test_invalid_update_answers_400_naming_the_field(
        self, api_client: APIClient, method: str, body: object, errors: dict[str, list[str]]
    ) -> None:
        """Any other field, an empty body or a bad value is a 400; nothing changes."""
        element = ElementFactory(element_id="aabbcc1", device_name="CT SCAN")

        response = getattr(api_client, method)(detail_url("aabbcc1"), body, format="json")

        assert response.status_code == status.HTTP_400_BAD_REQUEST
        assert response.json() == {"detail": "Invalid input.", "errors": errors}
        assert Element.objects.get(pk=element.pk).device_name == "CT SCAN"

    @pytest.mark.req("P4.PUT.2")
    def test_update_with_an_empty_body_answers_400(
        self, api_client: APIClient, method: str
    ) -> None:
        """A request without any body is an empty update: 400."""
        ElementFactory(element_id="aabbcc1")

        response = getattr(api_client, method)(detail_url("aabbcc1"))

        assert response.status_code == status.HTTP_400_BAD_REQUEST
        assert response.json() == {
            "detail": "Invalid input.",
            "errors": {"non_field_errors": ["Give id and/or device_name to change."]},
        }

    @pytest.mark.req("P4.PUT.2")
    def test_update_to_a_taken_id_answers_409(self, api_client: APIClient, method: str) -> None:
        """Renaming to another element's id is a conflict; both rows stay as they were."""
        ElementFactory(element_id="first")
        ElementFactory(element_id="second")

        response = getattr(api_client, method)(detail_url("first"), {"id": "second"}, format="json")

        assert response.status_code == status.HTTP_409_CONFLICT
        assert response.json() == {
            "detail": "An element with id 'second' already exists.",
            "errors": {"id": ["An element with id 'second' already exists."]},
        }
        assert sorted(Element.objects.values_list("element_id", flat=True)) == ["first", "second"]

    @pytest.mark.req("P4.PUT.1")
    def test_update_to_its_own_id_is_no_conflict(self, api_client: APIClient, method: str) -> None:
        """Sending the element's current id along is fine."""
        ElementFactory(element_id="same")

        response = getattr(api_client, method)(
            detail_url("same"), {"id": "same", "device_name": "MRI"}, format="json"
        )

        assert response.status_code == status.HTTP_200_OK

    @pytest.mark.req("P4.PUT.2")
    def test_update_of_an_unknown_id_answers_404(self, api_client: APIClient, method: str) -> None:
        """Updating an id nobody has is a 404."""
        response = getattr(api_client, method)(
            detail_url("missing"), {"device_name": "MRI"}, format="json"
        )

        assert response.status_code == status.HTTP_404_NOT_FOUND
        assert response.json() == NOT_FOUND


class TestDelete:
    """DELETE /api/elements/<id>/."""

    @pytest.mark.req("P4.DEL.1")
    def test_delete_answers_204_and_removes_the_entry(self, api_client: APIClient) -> None:
        """DELETE removes the row and answers 204 with no body."""
        ElementFactory(element_id="aabbcc1")
        kept = ElementFactory()

        response = api_client.delete(detail_url("aabbcc1"))

        assert response.status_code == status.HTTP_204_NO_CONTENT
        assert response.content == b""
        assert list(Element.objects.values_list("element_id", flat=True)) == [kept.element_id]

    @pytest.mark.req("P4.DEL.1")
    def test_delete_of_an_unknown_id_answers_404(self, api_client: APIClient) -> None:
        """Deleting an id nobody has is a 404."""
        response = api_client.delete(detail_url("missing"))

        assert response.status_code == status.HTTP_404_NOT_FOUND
        assert response.json() == NOT_FOUND


@pytest.mark.req("P4.HTTP.1")
def test_post_to_a_detail_url_answers_405(api_client: APIClient) -> None:
    """POST is not a method of one element: 405 with the allowed methods."""
    ElementFactory(element_id="aabbcc1")

    response = api_client.post(detail_url("aabbcc1"), {"id": "x"}, format="json")

    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert response.json() == {"detail": 'Method "POST" not allowed.'}
    assert response["Allow"] == "GET, PUT, PATCH, DELETE, HEAD, OPTIONS"
