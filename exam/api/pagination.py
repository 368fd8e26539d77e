"""Pages of the list: ``limit`` and ``offset``, refused (400) when out of range rather than ignored.

DRF's ``LimitOffsetPagination`` silently replaces a value it cannot read
(``limit=abc``, ``offset=-1``) with its default, and passes an offset beyond
64 bits on to PostgreSQL, which fails (a 500).  Here each parameter must be a
whole number within its range, or the request is a 400 naming it.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

#: PostgreSQL's OFFSET is a bigint.
MAX_OFFSET = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")


class StrictLimitOffsetPagination(LimitOffsetPagination):
    """``?limit=`` from 1 to ``EXAM_API_MAX_PAGE_SIZE`` (default 100), ``?offset=`` from 0."""

    default_limit = 100

    @property
    def max_limit(self) -> int:  # type: ignore[override]
        """The largest page, from the settings (so tests and deployments can change it)."""
        limit: int = settings.EXAM_API_MAX_PAGE_SIZE
        return limit

    def get_limit(self, request: Request) -> int:
        """Return ``?limit=``, or the default page size when it is absent."""
        return _number(request, self.limit_query_param, self.default_limit, 1, self.max_limit)

    def get_offset(self, request: Request) -> int:
        """Return ``?offset=``, or 0 when it is absent."""
        return _number(request, self.offset_query_param, 0, 0, MAX_OFFSET)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        """Document both parameters with their ranges."""
        parameters = super().get_schema_operation_parameters(view)
        ranges = {
            self.limit_query_param: (1, self.max_limit),
            self.offset_query_param: (0, MAX_OFFSET),
        }
        for parameter in parameters:
            low, high = ranges[parameter["name"]]
            parameter["schema"] |= {"minimum": low, "maximum": high}
        return parameters


def _number(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    if _DIGITS.fullmatch(text) and low <= int(text) <= high:
        return int(text)
    raise ValidationError({name: [f"Must be a whole number from {low} to {high}."]})
