"""The elements table and its constraints (exam.api.models.Element), on real PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from exam.api.models import Element
from tests.factories import ElementFactory

pytestmark = pytest.mark.django_db


@pytest.mark.req("P4.MODEL.2")
@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"size": -1, "rows": -1, "columns": 1}, "element_size_non_negative"),
        ({"average_after": 1.5}, "element_average_after_between_0_and_1"),
        ({"average_after": -0.25}, "element_average_after_between_0_and_1"),
        ({"size": 7}, "element_size_is_rows_times_columns"),
    ],
    ids=["negative-size", "average-above-1", "average-below-0", "size-not-rows-times-columns"],
)
def test_the_database_refuses_rows_that_break_a_check_constraint(
    fields: dict[str, object], constraint: str
) -> None:
    """PostgreSQL itself refuses an inconsistent row, naming the constraint."""
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        ElementFactory(**fields)


@pytest.mark.req("P4.MODEL.2")
@pytest.mark.parametrize(("average_after", "size"), [(0.0, 0), (1.0, 6)])
def test_the_database_accepts_the_bounds_of_every_constraint(
    average_after: float, size: int
) -> None:
    """0 and 1 are valid averages after normalisation, and 0 a valid size."""
    rows = 0 if size == 0 else 2
    element = ElementFactory(average_after=average_after, size=size, rows=rows, columns=3)

    assert Element.objects.get(pk=element.pk).average_after == average_after


@pytest.mark.req("P4.MODEL.2", "P4.MODEL.1")
def test_the_database_refuses_a_second_row_with_the_same_element_id() -> None:
    """The element id is unique in the table, not only in the API."""
    ElementFactory(element_id="aabbcc1")

    with pytest.raises(IntegrityError, match="element_id_unique"), transaction.atomic():
        ElementFactory(element_id="aabbcc1")


@pytest.mark.req("P4.MODEL.1")
def test_the_primary_key_is_a_surrogate_separate_from_the_element_id() -> None:
    """Rows are keyed by an integer of their own; the element id is an ordinary column."""
    element = ElementFactory(element_id="aabbcc1")

    assert isinstance(element.pk, int)
    assert Element._meta.pk is not None
    assert Element._meta.pk.name == "id"
    assert str(element) == "aabbcc1"


@pytest.mark.req("P4.MODEL.3")
def test_a_row_holds_raw_data_as_json_and_every_computed_field() -> None:
    """The raw rows round-trip through the JSONField; every documented column exists."""
    element = ElementFactory(
        element_id="aabbcc1", data=["54 26 34", "75 87 75"], device_name="RX 1"
    )

    stored = Element.objects.get(pk=element.pk)

    assert (
        stored.data,
        stored.device_name,
        stored.size,
        (stored.rows, stored.columns),
    ) == (["54 26 34", "75 87 75"], "RX 1", 6, (2, 3))
    assert stored.average_before == pytest.approx((54 + 26 + 34 + 75 + 87 + 75) / 6)
    assert stored.average_after == pytest.approx((54 + 26 + 34 + 75 + 87 + 75) / 6 / 87)
    assert stored.created_at is not None
    assert stored.updated_at is not None
    assert Element._meta.get_field("data").get_internal_type() == "JSONField"


@pytest.mark.req("P4.DB.3")
def test_the_committed_migrations_match_the_models() -> None:
    """makemigrations --check finds nothing to create (it exits non-zero if it would)."""
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.req("P4.DB.4")
def test_the_tests_run_on_real_postgresql() -> None:
    """The test database is PostgreSQL, never SQLite."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0]

    assert connection.vendor == "postgresql"
    assert version.startswith("PostgreSQL ")


@pytest.mark.req("P4.DB.4")
def test_the_tests_use_the_external_server_when_database_url_is_set() -> None:
    """With DATABASE_URL the tests connect to that host; without it, to the embedded socket."""
    host = connection.settings_dict["HOST"]
    url = os.environ.get("DATABASE_URL")

    if url:
        parts = urlsplit(url)
        assert host == (parse_qs(parts.query).get("host", [None])[0] or parts.hostname)
    else:
        assert (Path(host) / ".s.PGSQL.5432").is_socket()
