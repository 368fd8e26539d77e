"""Writes and reads without HTTP (exam.api.services, exam.api.selectors), on the real database."""

from __future__ import annotations

import logging

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from exam.api.exceptions import ElementConflict, ElementNotFound
from exam.api.models import Element
from exam.api.selectors import element_get, element_list
from exam.api.services import NewElement, element_create, element_delete, element_update
from exam.elements import ElementReport, summarize_element
from tests.factories import ElementFactory

pytestmark = pytest.mark.django_db


def new_element(key: str, element_id: str, rows: list[str]) -> NewElement:
    """A validated element, as the input serializer hands it to the service."""
    report = summarize_element(key, {"id": element_id, "data": rows})
    return NewElement(report=report, data=rows)


class TestCreateElements:
    """element_create()"""

    @pytest.mark.req("P4.POST.3")
    def test_create_returns_the_stored_rows_in_payload_order(self) -> None:
        """The rows come back saved (primary keys set) in the order given."""
        created = element_create(
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

        element_create(elements=[new_element(str(n), f"e{n}", ["1"]) for n in range(count)])

        assert caplog.record_tuples == [("exam.api.services", logging.INFO, message)]

    @pytest.mark.req("P4.POST.5")
    def test_create_refuses_an_id_already_stored(self) -> None:
        """A stored id raises ElementConflict keyed by element; nothing new is stored."""
        ElementFactory(element_id="taken")

        with pytest.raises(ElementConflict, match=r"^Element ids already exist\.$") as caught:
            element_create(
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
            element_create(elements=[NewElement(report=impossible, data=["2"])])


class TestUpdateElement:
    """element_update()"""

    @pytest.mark.req("P4.PUT.1")
    def test_update_changes_only_the_given_fields(self) -> None:
        """Changing the device name leaves the id, data and computed fields alone."""
        element = ElementFactory(element_id="a1", device_name="CT SCAN")

        updated = element_update(element_id="a1", changes={"device_name": "MRI"})

        assert (updated.pk, updated.element_id, updated.device_name) == (element.pk, "a1", "MRI")
        assert Element.objects.get(pk=element.pk).data == element.data

    @pytest.mark.req("P4.PUT.1", "P4.LOG.1")
    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"device_name": "MRI"}, "updated element a1: device_name"),
            ({"id": "b2", "device_name": None}, "updated element a1: device_name, id"),
        ],
        ids=["device-name", "id-and-device-name"],
    )
    def test_update_logs_the_element_and_the_fields_changed(
        self, caplog: pytest.LogCaptureFixture, changes: dict[str, str | None], message: str
    ) -> None:
        """One INFO record names the element by its former id and the fields changed."""
        ElementFactory(element_id="a1")
        caplog.set_level(logging.INFO, logger="exam.api.services")

        element_update(element_id="a1", changes=changes)

        assert caplog.record_tuples == [("exam.api.services", logging.INFO, message)]

    @pytest.mark.req("P4.PUT.1")
    def test_update_of_the_id_alone_keeps_the_device_name(self) -> None:
        """Changing the id leaves the device name and the creation time alone."""
        element = ElementFactory(element_id="a1", device_name="CT SCAN")

        updated = element_update(element_id="a1", changes={"id": "b2"})

        stored = Element.objects.get(pk=element.pk)
        assert (stored.element_id, stored.device_name) == ("b2", "CT SCAN")
        assert stored.created_at == element.created_at
        assert stored.updated_at == updated.updated_at > element.updated_at

    @pytest.mark.req("P4.PUT.1")
    def test_update_writes_only_the_columns_it_changes(self) -> None:
        """The UPDATE sets the changed columns and updated_at, never the raw data again."""
        ElementFactory(element_id="a1")

        with CaptureQueriesContext(connection) as captured:
            element_update(element_id="a1", changes={"device_name": "MRI"})

        (update,) = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("UPDATE")]
        assert update.startswith('UPDATE "api_element" SET "device_name" = ')
        assert '"data"' not in update

    @pytest.mark.req("P4.PUT.2")
    def test_update_of_a_missing_element_raises_not_found(self) -> None:
        """An unknown id raises ElementNotFound naming it."""
        with pytest.raises(ElementNotFound, match=r"^No element has id 'missing'\.$"):
            element_update(element_id="missing", changes={"device_name": "MRI"})


class TestDeleteElement:
    """element_delete()"""

    @pytest.mark.req("P4.DEL.1", "P4.LOG.1")
    def test_delete_removes_only_that_element_and_logs_it(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The row goes, the others stay, and one INFO record names the id."""
        ElementFactory(element_id="a1")
        kept = ElementFactory(element_id="b2")
        caplog.set_level(logging.INFO, logger="exam.api.services")

        element_delete(element_id="a1")

        assert list(Element.objects.all()) == [kept]
        assert caplog.record_tuples == [("exam.api.services", logging.INFO, "deleted element a1")]

    @pytest.mark.req("P4.DEL.1")
    def test_delete_of_a_missing_element_raises_not_found(self) -> None:
        """An unknown id raises ElementNotFound and deletes nothing."""
        ElementFactory()

        with pytest.raises(ElementNotFound, match=r"^No element has id 'missing'\.$"):
            element_delete(element_id="missing")

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
