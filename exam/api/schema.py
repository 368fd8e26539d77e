"""Field limits and the OpenAPI shapes of the request bodies.

The POST body is a union (an object of elements, or one element) and both
bodies refuse unknown fields, which no serializer field list can express, so
their shapes are written out here as schema components.  Nothing here imports
Django: the settings register :func:`components` with drf-spectacular.
"""

from __future__ import annotations

from typing import Any

#: Longest element id the API stores.
ELEMENT_ID_MAX_LENGTH = 64
#: Longest device name the API stores.
DEVICE_NAME_MAX_LENGTH = 255
#: An element id: 1 to 64 letters, digits, ``.``, ``_`` and ``-``, but not ``.`` or
#: ``..`` (a URL cannot address those).  The one definition of the id rule: the
#: URL route, the input serializers and the OpenAPI schema all use it.  Written
#: without lookahead, so that schema-driven generators can follow it.
ID_REGEX = (
    r"(?:[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}"
    r"|[.][A-Za-z0-9_-][A-Za-z0-9._-]{0,62}"
    r"|[.][.][A-Za-z0-9._-]{1,62})"
)
ID_PATTERN = rf"^{ID_REGEX}$"
#: What a device name may not contain: PostgreSQL text cannot hold NUL.
NO_NUL_PATTERN = r"^[^\u0000]*$"
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
_DEVICE_NAME = {
    "type": "string",
    "nullable": True,
    "maxLength": DEVICE_NAME_MAX_LENGTH,
    "pattern": NO_NUL_PATTERN,
}


def components(*, max_elements: int) -> dict[str, dict[str, Any]]:
    """Return the schema components the request bodies are made of.

    ``max_elements`` is the most elements one POST may hold (the settings'
    ``EXAM_API_MAX_ELEMENTS``), so the schema states the limit in force.
    """
    return {
        "ElementInput": {
            "type": "object",
            "description": "One element, as in Part 3's files; deviceName or device_name.",
            "required": ["id", "data"],
            "additionalProperties": False,
            "properties": {
                "id": _ID,
                "data": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "string", "pattern": ROW_PATTERN},
                    "description": "Rows of space-separated numbers >= 0, all equally long.",
                },
                "deviceName": _DEVICE_NAME,
                "device_name": _DEVICE_NAME,
            },
            "not": {"required": ["deviceName", "device_name"]},
        },
        "ElementsByKey": {
            "type": "object",
            "description": 'Elements keyed "1", "2", ... (Part 3\'s file format).',
            "minProperties": 1,
            "maxProperties": max_elements,
            "additionalProperties": ref("ElementInput"),
        },
        "ElementUpdate": {
            "type": "object",
            "description": "The fields an update may change; at least one.",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {"id": _ID, "device_name": _DEVICE_NAME, "deviceName": _DEVICE_NAME},
            "not": {"required": ["deviceName", "device_name"]},
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


def require_request_bodies(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular post-processing hook: every request body is required.

    drf-spectacular marks a body written out as a schema (rather than a
    serializer) optional, but a POST, PUT or PATCH without one is refused.
    """
    for item in result["paths"].values():
        for operation in item.values():
            if "requestBody" in operation:
                operation["requestBody"]["required"] = True
    return result
