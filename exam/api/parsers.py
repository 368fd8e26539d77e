"""The API's JSON parser: Part 3's strict decoder behind DRF's parser interface.

DRF's own ``JSONParser`` keeps the last of a repeated key, and input nested
thousands deep makes it raise :class:`RecursionError` (a 500).
:func:`exam.json_input.loads` refuses both, and ``NaN``/``Infinity``, with a
message that becomes the 400's ``detail``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from exam.json_input import loads


class StrictJSONParser(JSONParser):
    """Parses ``application/json`` bodies with :func:`exam.json_input.loads`."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        """Return the decoded body; raise :class:`ParseError` (400) saying what is wrong."""
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return loads(stream.read().decode(encoding))
        except ValueError as error:  # JsonInputError, or bytes that are not in the charset
            raise ParseError(f"JSON parse error - {error}") from None
