"""GET /api/elements/: listing stored elements (exam.api.views.ElementCollectionView.get)."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_django import DjangoAssertNumQueries
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
def test_list_filter_by_a_device_name_with_a_nul_character_is_empty(
    api_client: APIClient,
) -> None:
    """No device name holds NUL (PostgreSQL refuses it): such a filter matches nothing."""
    ElementFactory(device_name="MRI")

    response = api_client.get(LIST_URL, {"device_name": "MRI\x00"})

    assert response.status_code == status.HTTP_200_OK
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}
