"""Writes: every change to stored elements goes through these functions.

Keyword-only, typed, and free of HTTP: views, the ``load`` command and tests
call them alike.  Conflicts on the element id are left to the database's
unique constraint -- checking first and inserting after would race with a
concurrent client -- and its violation becomes :class:`ElementConflict`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from exam.api.exceptions import ElementConflict, ElementNotFound, is_unique_violation
from exam.api.models import ELEMENT_ID_UNIQUE, Element
from exam.elements import ElementReport
from exam.logs import get_logger

logger = get_logger(__name__)

#: The key of an element posted on its own: its errors are keyed by field only.
SINGLE_ELEMENT_KEY = ""


@dataclass(frozen=True)
class NewElement:
    """A validated element, ready to store.

    Attributes
    ----------
    report:
        What :func:`exam.elements.summarize_element` computed; ``report.key``
        is the element's key in the payload, :data:`SINGLE_ELEMENT_KEY` for
        an element posted on its own.
    data:
        The element's rows exactly as sent.
    """

    report: ElementReport
    data: list[str]


def element_create(*, elements: Sequence[NewElement]) -> list[Element]:
    """Store ``elements`` atomically with one bulk insert.

    Parameters
    ----------
    elements:
        The payload's elements, in payload order.

    Returns
    -------
    list of Element
        The stored rows, primary keys and timestamps set, in payload order.

    Raises
    ------
    ElementConflict
        When an id repeats within ``elements`` or is already stored (also when
        a concurrent request stored it first); nothing is stored then.
    """
    _reject_repeated_ids(elements)
    now = timezone.now()
    rows = [
        Element(
            element_id=element.report.id,
            device_name=element.report.device_name,
            data=element.data,
            size=element.report.size,
            rows=element.report.shape[0],
            columns=element.report.shape[1],
            average_before=element.report.average_before,
            average_after=element.report.average_after,
            created_at=now,
            updated_at=now,
        )
        for element in elements
    ]
    with _id_conflicts(lambda: _stored_ids_conflict(elements)), transaction.atomic():
        created = Element.objects.bulk_create(rows)
    logger.info("stored %d element(s): %s", len(created), _some_ids(created))
    return created


def element_update(*, element_id: str, changes: Mapping[str, str | None]) -> Element:
    """Change the id and/or the device name of the element ``element_id``.

    Parameters
    ----------
    element_id:
        The element's current id.
    changes:
        New values keyed by ``"id"`` and/or ``"device_name"`` (the input
        serializer lets nothing else through).

    Raises
    ------
    ElementNotFound
        When no element has id ``element_id``.
    ElementConflict
        When the new id belongs to another element.
    """
    message = f"An element with id {changes.get('id')!r} already exists."
    conflict = ElementConflict(message, errors={"id": [message]})
    with _id_conflicts(lambda: conflict), transaction.atomic():
        # Locking the row keeps a concurrent DELETE from slipping in between
        # the read and the write.
        element = _locked(element_id)
        element.updated_at = timezone.now()
        update_fields = ["updated_at"]
        if "id" in changes:
            element.element_id = str(changes["id"])
            update_fields.append("element_id")
        if "device_name" in changes:
            element.device_name = changes["device_name"]
            update_fields.append("device_name")
        element.save(update_fields=update_fields)
    logger.info("updated element %s: %s", element_id, ", ".join(sorted(changes)))
    return element


def element_delete(*, element_id: str) -> None:
    """Delete the element ``element_id``.

    Raises
    ------
    ElementNotFound
        When no element has id ``element_id``.
    """
    deleted, _ = Element.objects.filter(element_id=element_id).delete()
    if not deleted:
        raise ElementNotFound(element_id)
    logger.info("deleted element %s", element_id)


@contextmanager
def _id_conflicts(conflict: Callable[[], ElementConflict]) -> Iterator[None]:
    """Turn a violation of the unique element id into ``conflict()``; let other errors through.

    The database decides, so two concurrent requests cannot both pass a check
    made before the write.
    """
    try:
        yield
    except IntegrityError as error:
        if not is_unique_violation(error, ELEMENT_ID_UNIQUE):
            raise
        raise conflict() from error


def _locked(element_id: str) -> Element:
    try:
        return Element.objects.select_for_update().get(element_id=element_id)
    except Element.DoesNotExist:
        raise ElementNotFound(element_id) from None


def _some_ids(rows: Sequence[Element], shown: int = 5) -> str:
    """The first ``shown`` ids, and how many more: a log line stays short for any payload."""
    ids = ", ".join(row.element_id for row in rows[:shown])
    return ids if len(rows) <= shown else f"{ids} and {len(rows) - shown} more"


def _reject_repeated_ids(elements: Sequence[NewElement]) -> None:
    first_key: dict[str, str] = {}
    errors: dict[str, dict[str, list[str]]] = {}
    for element in elements:
        key, element_id = element.report.key, element.report.id
        if element_id in first_key:
            message = f"Id {element_id!r} is also the id of element {first_key[element_id]!r}."
            errors[key] = {"id": [message]}
        else:
            first_key[element_id] = key
    if errors:
        raise ElementConflict("The payload repeats element ids.", errors=errors)


def _stored_ids_conflict(elements: Sequence[NewElement]) -> ElementConflict:
    """Name the payload's elements whose ids are already stored."""
    ids = [element.report.id for element in elements]
    stored = set(Element.objects.filter(element_id__in=ids).values_list("element_id", flat=True))
    errors: dict[str, object] = {}
    for element in elements:
        if element.report.id in stored:
            field_errors = {"id": [f"An element with id {element.report.id!r} already exists."]}
            if element.report.key == SINGLE_ELEMENT_KEY:
                return ElementConflict("The element id already exists.", errors=field_errors)
            errors[element.report.key] = field_errors
    return ElementConflict("Element ids already exist.", errors=errors)
