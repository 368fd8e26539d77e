"""Strict JSON decoding for every JSON input: elements files, ``load`` and the API's bodies.

Python's :func:`json.loads` is lenient where that loses data or crashes:
a repeated key silently keeps the last value; ``NaN``, ``Infinity`` and
``1e400`` (which it reads as infinity) are accepted although they are no
finite numbers; an escaped lone surrogate (``"\\ud800"``) becomes a string
no UTF-8 file or log can hold; and input nested thousands deep, an integer of
thousands of digits or bytes that are not UTF-8 raise exceptions of other
kinds.  :func:`loads` refuses all of them with a :class:`JsonInputError`
saying what is wrong and, when the decoder knows, where.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

#: An escaped UTF-16 surrogate: the only way JSON text can smuggle one in.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


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
        value = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constant,
            parse_float=_finite,
        )
    except JsonInputError:
        raise
    except json.JSONDecodeError as error:
        raise JsonInputError(f"{error.msg} at line {error.lineno}, column {error.colno}") from None
    except RecursionError:
        raise JsonInputError("nested too deeply to decode") from None
    except UnicodeDecodeError as error:
        raise JsonInputError(f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    except ValueError as error:
        # int() refuses integers of more than 4,300 digits (CVE-2020-10735).
        raise JsonInputError(f"a number is too long: {error}") from None
    if _SURROGATE_ESCAPE.search(text if isinstance(text, str) else text.decode("utf-8")):
        _refuse_lone_surrogates(value)
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    decoded: dict[str, Any] = {}
    for key, value in pairs:
        if key in decoded:
            raise JsonInputError(f"the key {key!r} appears twice in one object")
        decoded[key] = value
    return decoded


def _no_constant(name: str) -> Any:
    raise JsonInputError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonInputError(f"the number {text} is too large for a 64-bit float")
    return value


def _refuse_lone_surrogates(value: Any) -> None:
    """Raise when any string in ``value`` holds a surrogate that no UTF-8 text can carry."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise JsonInputError(
            "a string holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)"
        ) from None
