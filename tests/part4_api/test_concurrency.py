"""Two clients storing the same element id at the same moment, on two real connections."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection
from django.db.models import QuerySet
from rest_framework import status
from rest_framework.test import APIClient

from exam.api.models import Element

from .paths import LIST_URL

TIMEOUT = 10.0


class Choreography:
    """Makes the two requests overlap for certain, without sleeping on luck.

    The first client inserts its row and then holds its transaction open;
    the second starts only after that insert, and the first commits only once
    PostgreSQL shows the second's INSERT waiting on the first's row lock.
    """

    def __init__(self) -> None:
        self.start = threading.Barrier(2, timeout=TIMEOUT)
        self.first_inserted = threading.Event()
        self.second_blocked = threading.Event()
        self.responses: dict[str, Any] = {}
        self.errors: list[BaseException] = []

    def client(self, name: str) -> None:
        """One client: wait for its turn, POST, keep the response; close its connection."""
        try:
            self.start.wait()
            if name == "second" and not self.first_inserted.wait(TIMEOUT):
                raise TimeoutError("the first client never inserted")
            self.responses[name] = APIClient().post(
                LIST_URL, {"id": "same", "data": ["1 2"]}, format="json"
            )
        except BaseException as error:  # the main thread reports it
            self.errors.append(error)
        finally:
            connection.close()

    def hold_after_insert(self) -> None:
        """Called in the first client's transaction, right after its INSERT."""
        if threading.current_thread().name == "first":
            self.first_inserted.set()
            if not self.second_blocked.wait(TIMEOUT):
                raise TimeoutError("the second client never blocked")


@pytest.fixture
def choreography(monkeypatch: pytest.MonkeyPatch) -> Choreography:
    """Hook the choreography in after every bulk INSERT."""
    plan = Choreography()
    original = QuerySet.bulk_create

    def bulk_create(self: QuerySet[Any], objs: Any, *args: Any, **kwargs: Any) -> Any:
        created = original(self, objs, *args, **kwargs)
        plan.hold_after_insert()
        return created

    monkeypatch.setattr(QuerySet, "bulk_create", bulk_create)
    return plan


def wait_for_a_lock_wait() -> None:
    """Return once some backend of the test database waits on a lock."""
    deadline = time.monotonic() + TIMEOUT
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] > 0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError("no backend ever waited on a lock")
            time.sleep(0.005)


@pytest.mark.req("P4.POST.6")
@pytest.mark.django_db(transaction=True)
def test_two_clients_creating_the_same_id_at_once_get_one_201_and_one_409(
    choreography: Choreography,
) -> None:
    """The unique constraint decides: the first gets 201, the second 409, never a 500."""
    threads = [
        threading.Thread(target=choreography.client, args=(name,), name=name)
        for name in ("first", "second")
    ]
    for thread in threads:
        thread.start()
    assert choreography.first_inserted.wait(TIMEOUT)
    wait_for_a_lock_wait()
    choreography.second_blocked.set()
    for thread in threads:
        thread.join(TIMEOUT)

    assert choreography.errors == []
    first, second = choreography.responses["first"], choreography.responses["second"]
    assert first.status_code == status.HTTP_201_CREATED
    assert second.status_code == status.HTTP_409_CONFLICT
    assert second.json() == {
        "detail": "The element id already exists.",
        "errors": {"id": ["An element with id 'same' already exists."]},
    }
    assert list(Element.objects.values_list("element_id", flat=True)) == ["same"]
