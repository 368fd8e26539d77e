"""GET /api/elements/: listing stored elements (exam.api.views.ElementCollectionView.get)."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_django import DjangoAssertNumQueries, Settings
from rest_framework import status
from rest_framework.test import APIClient

from exam.api.models import Element
from tests.factories import ElementFactory

from .paths import LIST_URL

pytestmark = pytest.mark.django_db


def summary(element: Element) -> dict[str, Any]:
    """The list item the API should show for ``element``, built from the row itself."""
    return {
        "id": element.element_id,
        "device_name": element.device_name,
        "size": element.size,
        "shape": [element.rows, element.columns],
        "average_before": element.average_before,
        "average_after": element.average_after,
        "created_at": element.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": element.updated_at.isoformat().replace("+00:00", "Z"),
    }


@pytest.mark.req("P4.GET.1")
def test_list_shows_every_entry_without_raw_data(api_client: APIClient) -> None:
    """GET lists the entries with their computed fields and no raw data."""
    elements = ElementFactory.create_batch(3)

    response = api_client.get(LIST_URL)

    assert response.status_code == status.HTTP_200_OK
    assert response.json() == {
        "count": 3,
        "next": None,
        "previous": None,
        "results": [summary(element) for element in elements],
    }


@pytest.mark.req("P4.GET.1")
def test_list_of_an_empty_table_is_an_empty_page(api_client: APIClient) -> None:
    """With nothing stored the list is empty, not an error."""
    response = api_client.get(LIST_URL)

    assert response.status_code == status.HTTP_200_OK
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


@pytest.mark.req("P4.GET.1")
def test_list_pages_with_limit_and_offset_in_storage_order(api_client: APIClient) -> None:
    """limit and offset select a page; next and previous link the neighbours."""
    elements = ElementFactory.create_batch(5)

    response = api_client.get(LIST_URL, {"limit": 2, "offset": 2})

    body = response.json()
    assert [item["id"] for item in body["results"]] == [e.element_id for e in elements[2:4]]
    assert body["count"] == 5
    assert body["next"] == "http://testserver/api/elements/?limit=2&offset=4"
    assert body["previous"] == "http://testserver/api/elements/?limit=2"


@pytest.mark.req("P4.GET.1")
def test_list_order_stays_the_same_after_an_entry_is_renamed(api_client: APIClient) -> None:
    """The order is storage order: renaming or updating an entry does not move it."""
    first, second, third = ElementFactory.create_batch(3)
    api_client.patch(f"{LIST_URL}{first.element_id}/", {"id": "zzz"}, format="json")

    response = api_client.get(LIST_URL)

    assert [item["id"] for item in response.json()["results"]] == [
        "zzz",
        second.element_id,
        third.element_id,
    ]


@pytest.mark.req("P4.GET.1")
def test_list_filters_by_device_name(api_client: APIClient) -> None:
    """device_name keeps only the entries of that device (exact match)."""
    ElementFactory(device_name="MRI")
    ct_scans = ElementFactory.create_batch(2, device_name="CT SCAN")
    ElementFactory(device_name="CT SCAN 2")

    response = api_client.get(LIST_URL, {"device_name": "CT SCAN"})

    body = response.json()
    assert body["count"] == 2
    assert [item["id"] for item in body["results"]] == [e.element_id for e in ct_scans]


@pytest.mark.req("P4.GET.1")
def test_list_takes_the_same_two_queries_for_any_number_of_entries(
    api_client: APIClient, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    """One COUNT and one page query, whether 1 or 30 entries are stored."""
    ElementFactory()
    with django_assert_num_queries(2):
        api_client.get(LIST_URL)
    ElementFactory.create_batch(29)
    with django_assert_num_queries(2) as captured:
        api_client.get(LIST_URL)

    page_query = captured.captured_queries[1]["sql"]
    assert '"api_element"."data"' not in page_query


@pytest.mark.req("P4.HTTP.1")
def test_list_refuses_to_render_anything_but_json(api_client: APIClient) -> None:
    """An Accept header the API cannot satisfy is a 406 with a JSON body."""
    response = api_client.get(LIST_URL, HTTP_ACCEPT="text/csv")

    assert response.status_code == status.HTTP_406_NOT_ACCEPTABLE
    assert response.json() == {"detail": "Could not satisfy the request Accept header."}


@pytest.mark.req("P4.GET.1")
def test_list_filter_by_an_empty_device_name_keeps_the_blank_names_only(
    api_client: APIClient,
) -> None:
    """A blank device name is a name like any other: ?device_name= matches exactly it."""
    ElementFactory(device_name="MRI")
    blank = ElementFactory(device_name="")

    response = api_client.get(LIST_URL, {"device_name": ""})

    assert [item["id"] for item in response.json()["results"]] == [blank.element_id]


@pytest.mark.req("P4.GET.3")
def test_list_filter_by_a_device_name_with_a_nul_character_answers_400(
    api_client: APIClient,
) -> None:
    """No device name can hold NUL (PostgreSQL refuses it): such a filter is a 400 naming it."""
    response = api_client.get(LIST_URL, {"device_name": "MRI\x00"})

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {
        "detail": "Invalid input.",
        "errors": {"device_name": ["Null characters are not allowed."]},
    }


LIMIT_RANGE = "Must be a whole number from 1 to 1000."
OFFSET_RANGE = f"Must be a whole number from 0 to {2**63 - 1}."


@pytest.mark.req("P4.GET.3")
@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ({"limit": "abc"}, {"limit": [LIMIT_RANGE]}),
        ({"limit": "null"}, {"limit": [LIMIT_RANGE]}),
        ({"limit": ""}, {"limit": [LIMIT_RANGE]}),
        ({"limit": "-1"}, {"limit": [LIMIT_RANGE]}),
        ({"limit": "0"}, {"limit": [LIMIT_RANGE]}),
        ({"limit": "1001"}, {"limit": [LIMIT_RANGE]}),
        ({"limit": "2.0"}, {"limit": [LIMIT_RANGE]}),
        ({"limit": "1e3"}, {"limit": [LIMIT_RANGE]}),
        ({"limit": str(2**64)}, {"limit": [LIMIT_RANGE]}),
        ({"offset": "-1"}, {"offset": [OFFSET_RANGE]}),
        ({"offset": "null"}, {"offset": [OFFSET_RANGE]}),
        ({"offset": " 1"}, {"offset": [OFFSET_RANGE]}),
        ({"offset": str(2**63)}, {"offset": [OFFSET_RANGE]}),
        ({"offset": "9" * 5000}, {"offset": [OFFSET_RANGE]}),
    ],
    ids=lambda value: str(value)[:30],
)
def test_list_refuses_a_limit_or_offset_out_of_range(
    api_client: APIClient, query: dict[str, str], errors: dict[str, list[str]]
) -> None:
    """Each kind of bad limit or offset is a 400 naming the parameter and its range, never a 500."""
    response = api_client.get(LIST_URL, query)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"detail": "Invalid input.", "errors": errors}


@pytest.mark.req("P4.GET.3")
@pytest.mark.parametrize(("limit", "offset"), [("1000", str(2**63 - 1)), ("1", "0")])
def test_list_takes_the_bounds_of_each_range(
    api_client: APIClient, limit: str, offset: str
) -> None:
    """The largest page and the largest offset are valid: an empty page past the end."""
    ElementFactory()

    response = api_client.get(LIST_URL, {"limit": limit, "offset": offset})

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["count"] == 1
    assert len(response.json()["results"]) == (1 if offset == "0" else 0)


@pytest.mark.req("P4.GET.3")
def test_the_largest_page_follows_the_setting(api_client: APIClient, settings: Settings) -> None:
    """EXAM_API_MAX_PAGE_SIZE sets the largest limit, and the message says so."""
    settings.EXAM_API_MAX_PAGE_SIZE = 2
    ElementFactory.create_batch(3)

    accepted = api_client.get(LIST_URL, {"limit": 2})
    refused = api_client.get(LIST_URL, {"limit": 3})

    assert len(accepted.json()["results"]) == 2
    assert refused.json() == {
        "detail": "Invalid input.",
        "errors": {"limit": ["Must be a whole number from 1 to 2."]},
    }
