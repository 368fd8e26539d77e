"""Row-level security, tested as the portal's own database role through raw SQL."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import DatabaseError, connections, transaction

from exam.pipeline.models import Job
from exam.portal.rls import ALIAS, scoped

from .conftest import finished_job

pytestmark = pytest.mark.usefixtures("db")

TABLES = ("pipeline_instance", "pipeline_job", "pipeline_result", "pipeline_auditevent")


def raw(sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    """Run ``sql`` on the portal's connection and return every row."""
    with connections[ALIAS].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def owners(table: str) -> set[int]:
    """The owners of the rows of ``table`` the current transaction may read."""
    column = (
        "(SELECT owner_id FROM pipeline_job WHERE id = job_id)"
        if table == "pipeline_result"
        else "owner_id"
    )
    return {row[0] for row in raw(f"SELECT {column} FROM {table}")}  # type: ignore[misc]


@pytest.fixture
def two_tenants(alice: User, bob: User) -> tuple[Job, Job]:
    """A succeeded job of alice's and one of bob's, each with its instance, result and audit row."""
    return finished_job(alice), finished_job(bob)


@pytest.mark.req("P5.PORTAL.RLS.1")
def test_the_portal_connects_as_a_role_that_cannot_bypass_row_level_security() -> None:
    """The portal's alias logs in as EXAM_PORTAL_DB_USER: not superuser, no BYPASSRLS, no table."""
    [(user, superuser, bypass, owned)] = raw(
        "SELECT current_user, rolsuper, rolbypassrls,"
        " (SELECT count(*) FROM pg_tables WHERE tableowner = current_user)"
        " FROM pg_roles WHERE rolname = current_user"
    )
    assert (user, superuser, bypass, owned) == (settings.EXAM_PORTAL_DB_USER, False, False, 0)


@pytest.mark.req("P5.PORTAL.RLS.1")
@pytest.mark.parametrize("table", TABLES)
def test_no_owner_set_reads_no_rows(table: str, two_tenants: tuple[Job, Job]) -> None:
    """Without exam.owner_id a query of the portal's role reads nothing, though rows exist."""
    with transaction.atomic(using=ALIAS):
        assert raw(f"SELECT count(*) FROM {table}") == [(0,)]
    with connections["default"].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        assert cursor.fetchone()[0] >= 2


@pytest.mark.req("P5.PORTAL.RLS.1")
@pytest.mark.parametrize("table", TABLES)
def test_a_user_reads_only_their_own_rows_even_through_raw_sql(
    table: str, alice: User, bob: User, two_tenants: tuple[Job, Job]
) -> None:
    """Scoped to alice, a raw query without any WHERE returns alice's rows only; bob's likewise."""
    for user in (alice, bob):
        with scoped(user):
            assert owners(table) == {user.pk}


@pytest.mark.req("P5.PORTAL.RLS.1")
@pytest.mark.parametrize("table", TABLES)
def test_staff_read_every_owner_s_rows(
    table: str, alice: User, bob: User, carol: User, two_tenants: tuple[Job, Job]
) -> None:
    """With exam.staff on, the portal's role reads the rows of every owner."""
    with scoped(carol):
        assert owners(table) == {alice.pk, bob.pk}


@pytest.mark.req("P5.PORTAL.RLS.1")
def test_the_owner_setting_does_not_leak_to_the_next_transaction(
    alice: User, two_tenants: tuple[Job, Job]
) -> None:
    """After a scoped transaction, the next one on the same connection reads nothing again."""
    with scoped(alice):
        first = raw("SELECT pg_backend_pid(), count(*) FROM pipeline_job")
    with transaction.atomic(using=ALIAS):
        second = raw(
            "SELECT pg_backend_pid(), count(*), current_setting('exam.owner_id', true)"
            " FROM pipeline_job"
        )
    pid = first[0][0]
    assert (first, second) == ([(pid, 1)], [(pid, 0, "")])


@pytest.mark.req("P5.PORTAL.RLS.1")
def test_a_user_cannot_widen_their_scope_by_naming_another_owner(
    alice: User, bob: User, two_tenants: tuple[Job, Job]
) -> None:
    """Another owner's job is not found by its id, whatever the query asks for."""
    _, bobs = two_tenants
    with scoped(alice):
        assert (
            raw("SELECT id FROM pipeline_job WHERE id = %s OR owner_id = %s", [bobs.pk, bob.pk])
            == []
        )


@pytest.mark.req("P5.PORTAL.RLS.2")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE pipeline_auditevent SET action = 'erased'",
        "DELETE FROM pipeline_auditevent",
        "TRUNCATE pipeline_auditevent",
    ],
    ids=["update", "delete", "truncate"],
)
def test_the_audit_table_is_append_only_for_the_portal(
    statement: str, alice: User, two_tenants: tuple[Job, Job]
) -> None:
    """UPDATE, DELETE and TRUNCATE of audit rows are refused: permission denied."""
    refused = "permission denied for table pipeline_auditevent"
    with pytest.raises(DatabaseError, match=refused), scoped(alice):
        raw(statement)


@pytest.mark.req("P5.PORTAL.RLS.2")
def test_an_audit_row_can_only_be_written_in_the_acting_user_s_name(
    alice: User, bob: User, two_tenants: tuple[Job, Job]
) -> None:
    """Inserting an audit row whose actor is not the scoped user violates the policy."""
    insert = (
        "INSERT INTO pipeline_auditevent (actor_id, owner_id, action, object_type, object_id,"
        " client_address, correlation_id, at)"
        " VALUES (%s, %s, 'result_view', 'job', 1, '', '', now())"
    )
    with scoped(alice):
        raw(insert, [alice.pk, alice.pk])
    with pytest.raises(DatabaseError, match="violates row-level security policy"), scoped(alice):
        raw(insert, [bob.pk, alice.pk])


@pytest.mark.req("P5.PORTAL.RLS.2")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE pipeline_job SET state = 'succeeded'",
        "DELETE FROM pipeline_result",
        "UPDATE pipeline_instance SET patient_id = 'X'",
        "INSERT INTO pipeline_outbox (job_id, queue, not_before, created_at)"
        " VALUES (1, 's', now(), now())",
        "SELECT password FROM auth_user",
    ],
    ids=["job-update", "result-delete", "instance-update", "outbox-insert", "passwords"],
)
def test_the_portal_role_holds_no_other_write_or_secret(statement: str, carol: User) -> None:
    """Even as staff, the portal's role changes no pipeline table and reads no password hash."""
    with pytest.raises(DatabaseError, match="permission denied for table"), scoped(carol):
        raw(statement)


@pytest.mark.req("P5.PORTAL.RLS.1")
@pytest.mark.parametrize(
    ("password", "credentials"),
    [("", {"user": "someone"}), ("s3cret", {"user": "someone", "password": "s3cret"})],
    ids=["no-password", "password"],
)
def test_the_portal_alias_reaches_the_default_database_with_its_own_credentials(
    settings: Any, password: str, credentials: dict[str, str]
) -> None:
    """Host, port and database come from the default alias; user and password from the settings."""
    settings.EXAM_PORTAL_DB_USER = "someone"
    settings.EXAM_PORTAL_DB_PASSWORD = password
    default = connections["default"].get_connection_params()
    where = {key: value for key, value in default.items() if key not in ("user", "password")}
    assert connections[ALIAS].get_connection_params() == {**where, **credentials}
