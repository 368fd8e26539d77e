"""JSON measurement elements: parsing, validation and normalisation.

An input file is a JSON object whose keys (``"1"``, ``"2"``, ...) map to
elements such as::

    {"id": "aabbcc1", "data": ["54 26 34", "75 87 75"], "deviceName": "RX 1"}

Each ``data`` string is one row of whitespace-separated numbers.  This module's
core, :func:`summarize_element`, is a plain function with no threads in it: the
threaded runner (Part 3) and the REST API (Part 4) both call it, so there is
one implementation of the computed fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from exam.logs import get_logger

logger = get_logger(__name__)

FloatArray = npt.NDArray[np.float64]


class ElementError(ValueError):
    """An element that cannot be processed.

    Attributes
    ----------
    field:
        The element's field at fault (``"id"``, ``"data"``, ``"deviceName"``
        or ``""`` for the element as a whole), so an API can key its errors.
    """

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ElementReport:
    """What processing one element found.

    ``shape`` is ``(rows, columns)``; ``size`` is ``rows * columns``.
    ``average_after`` is the mean of the data divided by its maximum, so it
    lies in ``[0, 1]``.
    """

    key: str
    id: str
    device_name: str | None
    size: int
    shape: tuple[int, int]
    average_before: float
    average_after: float
    maximum: float


def parse_data(rows: object) -> FloatArray:
    """Parse an element's ``data`` rows into a 2-D float array.

    Parameters
    ----------
    rows:
        A non-empty list of strings, each a row of whitespace-separated numbers.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(rows), columns)``, dtype float64.

    Raises
    ------
    ElementError
        ``field="data"`` when ``rows`` is not a non-empty list of strings, a
        row is empty, rows differ in length, or a value is not a finite,
        non-negative number.
    """
    if not isinstance(rows, list) or not rows:
        raise ElementError("data must be a non-empty list of strings", field="data")
    widths = []
    for index, row in enumerate(rows, start=1):
        if not isinstance(row, str):
            raise ElementError(f"data row {index} is not a string", field="data")
        widths.append(len(row.split()))
        if widths[-1] == 0:
            raise ElementError(f"data row {index} is empty", field="data")
        if widths[-1] != widths[0]:
            raise ElementError(
                f"data row {index} has {widths[-1]} values, row 1 has {widths[0]}",
                field="data",
            )
    try:
        values = np.array(" ".join(rows).split(), dtype=np.float64)
    except ValueError:
        raise _first_bad_token(rows) from None
    if not np.isfinite(values).all():
        raise ElementError("data contains a non-finite value (nan or infinity)", field="data")
    if (values < 0).any():
        raise ElementError(
            f"data contains a negative value ({values.min():g}); values must be >= 0",
            field="data",
        )
    return values.reshape(len(rows), widths[0])


def normalize(values: FloatArray) -> FloatArray:
    """Scale non-negative ``values`` to ``[0, 1]`` by dividing by their maximum.

    All-zero data has no scale: it normalises to zeros (never a division by
    zero), and the caller is expected to warn about it.
    """
    maximum = float(values.max())
    if maximum == 0.0:
        return np.zeros_like(values)
    return values / maximum


def summarize_element(key: str, element: object) -> ElementReport:
    """Validate one element and compute its size, averages and maximum.

    Parameters
    ----------
    key:
        The element's key in the file (``"1"``, ``"2"``, ...), for reports.
    element:
        The decoded JSON value: a mapping with ``id`` (non-empty string),
        ``data`` (see :func:`parse_data`) and optional ``deviceName`` (string).

    Raises
    ------
    ElementError
        Naming the field at fault.
    """
    if not isinstance(element, dict):
        raise ElementError("element must be a JSON object", field="")
    element_id = _required_text(element, "id")
    device_name = element.get("deviceName")
    if device_name is not None and not isinstance(device_name, str):
        raise ElementError("deviceName must be a string", field="deviceName")
    if "data" not in element:
        raise ElementError("data is missing", field="data")
    values = parse_data(element["data"])
    normalized = normalize(values)
    maximum = float(values.max())
    if maximum == 0.0:
        logger.warning("element %s (id %s): all values are 0, normalised to zeros", key, element_id)
    rows, columns = values.shape
    return ElementReport(
        key=key,
        id=element_id,
        device_name=device_name,
        size=int(values.size),
        shape=(rows, columns),
        average_before=float(values.mean()),
        average_after=float(normalized.mean()),
        maximum=maximum,
    )


def _required_text(element: dict[str, Any], field: str) -> str:
    if field not in element:
        raise ElementError(f"{field} is missing", field=field)
    value = element[field]
    if not isinstance(value, str) or not value.strip():
        raise ElementError(f"{field} must be a non-empty string", field=field)
    return value


def _first_bad_token(rows: list[str]) -> ElementError:
    """Build the error naming the first token that is not a number."""
    for index, row in enumerate(rows, start=1):
        for token in row.split():
            try:
                float(token)
            except ValueError:
                return ElementError(f"data row {index}: {token!r} is not a number", field="data")
    return ElementError(
        "data contains a value that is not a number", field="data"
    )  # pragma: no cover
