"""Reads: the queries behind the list and detail endpoints."""

from __future__ import annotations

from django.db.models import QuerySet

from exam.api.exceptions import ElementNotFound
from exam.api.models import Element


def element_list(*, device_name: str | None = None) -> QuerySet[Element]:
    """Return the stored elements in storage order, without their raw data.

    Parameters
    ----------
    device_name:
        Keep only the elements of this device (exact match); ``None`` keeps all.
    """
    elements = Element.objects.defer("data").order_by("pk")
    if device_name is not None:
        elements = elements.filter(device_name=device_name)
    return elements


def element_get(*, element_id: str) -> Element:
    """Return the element whose id is ``element_id``, raw data included.

    Raises
    ------
    ElementNotFound
        When no element has that id.
    """
    try:
        return Element.objects.get(element_id=element_id)
    except Element.DoesNotExist:
        raise ElementNotFound(element_id) from None
