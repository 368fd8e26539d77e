"""Strict JSON decoding for every JSON input: elements files, ``load`` and the API's bodies.

Python's :func:`json.loads` is lenient where that loses data or crashes:
a repeated key silently keeps the last value, ``NaN`` and ``Infinity`` are
accepted although JSON has no such numbers, and input nested thousands deep
raises :class:`RecursionError`.  :func:`loads` refuses all three with a
:class:`JsonInputError` saying what is wrong and where.
"""

from __future__ import annotations

import json
from typing import Any


class JsonInputError(ValueError):
    """Text that is not acceptable JSON; the message says why (and where, when known)."""


def loads(text: str | bytes) -> Any:
    """Decode ``text`` as JSON, refusing repeated keys, ``NaN``/``Infinity`` and deep nesting.

    Raises
    ------
    JsonInputError
        For malformed JSON (``Expecting ',' delimiter at line 1, column 33``),
        a key repeated within one object, a non-standard constant, or nesting
        deeper than the decoder can follow.
    """
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise JsonInputError(f"{error.msg} at line {error.lineno}, column {error.colno}") from None
    except RecursionError:
        raise JsonInputError("nested too deeply to decode") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    decoded: dict[str, Any] = {}
    for key, value in pairs:
        if key in decoded:
            raise JsonInputError(f"the key {key!r} appears twice in one object")
        decoded[key] = value
    return decoded


def _no_constant(name: str) -> Any:
    raise JsonInputError(f"{name} is not a JSON number")
