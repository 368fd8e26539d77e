"""Field limits and the OpenAPI shapes of the request bodies.

The POST body is a union (an object of elements, or one element) and both
bodies refuse unknown fields, which no serializer field list can express, so
their shapes are written out here as schema components.  Nothing here imports
Django: the settings register :data:`COMPONENTS` with drf-spectacular.
"""

from __future__ import annotations

from typing import Any

#: Longest element id the API stores.
ELEMENT_ID_MAX_LENGTH = 64
#: Longest device name the API stores.
DEVICE_NAME_MAX_LENGTH = 255
#: What an element id may contain.
ID_PATTERN = r"^[A-Za-z0-9._-]+$"
_NUMBER = r"[+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?"
#: One data row, as documented: space-separated non-negative numbers.
ROW_PATTERN = rf"^ *{_NUMBER}( +{_NUMBER})* *$"


def ref(component: str) -> dict[str, str]:
    """Return a reference to the schema component ``component``."""
    return {"$ref": f"#/components/schemas/{component}"}


_ID = {
    "type": "string",
    "minLength": 1,
    "maxLength": ELEMENT_ID_MAX_LENGTH,
    "pattern": ID_PATTERN,
    "description": "Letters, digits, '.', '_' and '-'; not '.' or '..'.",
}
_DEVICE_NAME = {"type": "string", "nullable": True, "maxLength": DEVICE_NAME_MAX_LENGTH}

#: The schema components the request bodies are made of.
COMPONENTS: dict[str, dict[str, Any]] = {
    "ElementInput": {
        "type": "object",
        "description": "One element, as in Part 3's files; deviceName or device_name, not both.",
        "required": ["id", "data"],
        "additionalProperties": False,
        "properties": {
            "id": _ID,
            "data": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "pattern": ROW_PATTERN},
                "description": "Rows of space-separated non-negative numbers, all equally long.",
            },
            "deviceName": _DEVICE_NAME,
            "device_name": _DEVICE_NAME,
        },
    },
    "ElementsByKey": {
        "type": "object",
        "description": 'Elements keyed "1", "2", ... (Part 3\'s file format).',
        "minProperties": 1,
        "additionalProperties": ref("ElementInput"),
    },
    "ElementUpdate": {
        "type": "object",
        "description": "The fields an update may change; at least one.",
        "minProperties": 1,
        "additionalProperties": False,
        "properties": {"id": _ID, "device_name": _DEVICE_NAME, "deviceName": _DEVICE_NAME},
    },
}

#: The POST body: an object of elements, or a single element.
POST_BODY = {"oneOf": [ref("ElementsByKey"), ref("ElementInput")]}
#: The 201 answer to a POST: one entry, or the entries keyed like the payload.
POST_ANSWER = {
    "oneOf": [
        ref("ElementSummary"),
        {"type": "object", "additionalProperties": ref("ElementSummary")},
    ]
}
