"""Writes and reads without HTTP (exam.api.services, exam.api.selectors), on the real database."""

from __future__ import annotations

import logging

import pytest
from django.db import IntegrityError

from exam.api.exceptions import ElementConflict, ElementNotFound
from exam.api.models import Element
from exam.api.selectors import element_get, element_list
from exam.api.services import NewElement, create_elements, delete_element, update_element
from exam.elements import ElementReport, summarize_element
from tests.factories import ElementFactory

pytestmark = pytest.mark.django_db


def new_element(key: str, element_id: str, rows: list[str]) -> NewElement:
    """A validated element, as the input serializer hands it to the service."""
    report = summarize_element(key, {"id": element_id, "data": rows})
    return NewElement(report=report, data=rows)


class TestCreateElements:
    """create_elements()"""

    @pytest.mark.req("P4.POST.3")
    def test_create_returns_the_stored_rows_in_payload_order(self) -> None:
        """The rows come back saved (primary keys set) in the order given."""
        created = create_elements(
            elements=[new_element("1", "b", ["1 2"]), new_element("2", "a", ["3 4"])]
        )

        assert [row.element_id for row in created] == ["b", "a"]
        assert all(row.pk is not None for row in created)
        assert list(Element.objects.values_list("pk", "element_id")) == [
            (row.pk, row.element_id) for row in created
        ]

    @pytest.mark.req("P4.POST.3")
    @pytest.mark.parametrize(
        ("count", "message"),
        [
            (1, "stored 1 element(s): e0"),
            (5, "stored 5 element(s): e0, e1, e2, e3, e4"),
            (7, "stored 7 element(s): e0, e1, e2, e3, e4 and 2 more"),
        ],
    )
    def test_create_logs_the_count_and_the_first_ids(
        self, caplog: pytest.LogCaptureFixture, count: int, message: str
    ) -> None:
        """One INFO record per payload, short however many elements it holds."""
        caplog.set_level(logging.INFO, logger="exam.api.services")

        create_elements(elements=[new_element(str(n), f"e{n}", ["1"]) for n in range(count)])

        assert caplog.record_tuples == [("exam.api.services", logging.INFO, message)]

    @pytest.mark.req("P4.POST.5")
    def test_create_refuses_an_id_already_stored(self) -> None:
        """A stored id raises ElementConflict keyed by element; nothing new is stored."""
        ElementFactory(element_id="taken")

        with pytest.raises(ElementConflict, match=r"^Element ids already exist\.$") as caught:
            create_elements(
                elements=[new_element("1", "free", ["1"]), new_element("2", "taken", ["1"])]
            )

        assert caught.value.errors == {"2": {"id": ["An element with id 'taken' already exists."]}}
        assert Element.objects.count() == 1

    @pytest.mark.req("P4.MODEL.2")
    def test_create_lets_other_integrity_errors_through(self) -> None:
        """Only the unique id becomes a conflict: a broken check constraint stays an error."""
        impossible = ElementReport(
            key="1",
            id="x",
            device_name=None,
            size=1,
            shape=(1, 1),
            average_before=2.0,
            average_after=2.0,
            maximum=1.0,
        )

        with pytest.raises(IntegrityError, match="element_average_after_between_0_and_1"):
            create_elements(elements=[NewElement(report=impossible, data=["2"])])


class TestUpdateElement:
    """update_element()"""

    @pytest.mark.req("P4.PUT.1")
    def test_update_changes_only_the_given_fields(self) -> None:
        """Changing the device name leaves the id, data and computed fields alone."""
        element = ElementFactory(element_id="a1", device_name="CT SCAN")

        updated = update_element(element_id="a1", changes={"device_name": "MRI"})

        assert (updated.pk, updated.element_id, updated.device_name) == (element.pk, "a1", "MRI")
        assert Element.objects.get(pk=element.pk).data == element.data

    @pytest.mark.req("P4.PUT.2")
    def test_update_refuses_a_field_other_than_id_and_device_name(self) -> None:
        """Anything else is a caller's bug, reported by name."""
        ElementFactory(element_id="a1")

        with pytest.raises(ValueError, match="cannot change data, size"):
            update_element(element_id="a1", changes={"size": "1", "data": None})

    @pytest.mark.req("P4.PUT.2")
    def test_update_of_a_missing_element_raises_not_found(self) -> None:
        """An unknown id raises ElementNotFound naming it."""
        with pytest.raises(ElementNotFound, match=r"^No element has id 'missing'\.$"):
            update_element(element_id="missing", changes={"device_name": "MRI"})


class TestDeleteElement:
    """delete_element()"""

    @pytest.mark.req("P4.DEL.1")
    def test_delete_of_a_missing_element_raises_not_found(self) -> None:
        """An unknown id raises ElementNotFound and deletes nothing."""
        ElementFactory()

        with pytest.raises(ElementNotFound, match=r"^No element has id 'missing'\.$"):
            delete_element(element_id="missing")

        assert Element.objects.count() == 1


class TestSelectors:
    """element_list() and element_get()"""

    @pytest.mark.req("P4.GET.1")
    def test_list_leaves_the_raw_data_unloaded(self) -> None:
        """The list query does not fetch the raw data column."""
        ElementFactory()

        (element,) = element_list()

        assert element.get_deferred_fields() == {"data"}

    @pytest.mark.req("P4.GET.1")
    def test_list_without_a_device_name_keeps_every_device(self) -> None:
        """No filter: every row, storage order."""
        rows = [ElementFactory(device_name=name) for name in ("B", None, "A")]

        assert list(element_list()) == rows

    @pytest.mark.req("P4.GET.2")
    def test_get_loads_the_raw_data(self) -> None:
        """The detail query fetches the raw data too."""
        ElementFactory(element_id="a1", data=["1 2"])

        element = element_get(element_id="a1")

        assert element.get_deferred_fields() == set()
        assert element.data == ["1 2"]
