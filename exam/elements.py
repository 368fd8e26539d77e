"""JSON measurement elements: parsing, validation, normalisation, one thread each.

An input file is a JSON object whose keys (``"1"``, ``"2"``, ...) map to
elements such as::

    {"id": "aabbcc1", "data": ["54 26 34", "75 87 75"], "deviceName": "RX 1"}

Each ``data`` string is one row of whitespace-separated numbers.  This module's
core, :func:`summarize_element`, is a plain function with no threads in it: the
threaded runner (Part 3) and the REST API (Part 4) both call it, so there is
one implementation of the computed fields.

The runner, :func:`process_json_file`, gives every element its own thread and
never has more than ``max_threads`` of them alive.  It works like a bounded
semaphore whose slot is given back only once the thread is gone: each thread
reports its end on a queue in a ``finally`` (so no failure can keep its slot),
and when all slots are taken the main thread takes the next report from the
queue and joins that thread (which has nothing left to do) before starting
the next one.  A freed slot is refilled at once, not when a whole batch ends,
and even :meth:`threading.Thread.is_alive` never sees more than
``max_threads`` element threads.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from exam.json_input import JsonInputError, loads
from exam.logs import describe_path_error, get_logger
from exam.threads import print_line

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
    values = _parse_fast(rows)
    if values is None:
        values = _parse_checked(rows)
    if not np.isfinite(values).all():
        raise ElementError("data contains a non-finite value (nan or infinity)", field="data")
    if (values < 0).any():
        raise ElementError(
            f"data contains a negative value ({values.min():g}); values must be >= 0",
            field="data",
        )
    # IEEE 754: -0.0 + 0.0 is 0.0, so "-0" is read as zero and never printed as -0.
    return values + 0.0


def _parse_fast(rows: list[Any]) -> FloatArray | None:
    """Parse well-formed rows with numpy's C text reader, or return None.

    Several times faster than splitting into Python strings, and it checks
    that rows have one length.  Anything it refuses (a bad token, ragged rows,
    a line break inside a row, a number only Python's ``float`` reads such as
    ``1_000``) is left to :func:`_parse_checked`, so what is accepted and
    every error message stay those of the checked parse.  Blank and non-string
    rows never reach numpy: it would skip the former and read bytes.
    """
    if not all(isinstance(row, str) and row and not row.isspace() for row in rows):
        return None
    try:
        return np.loadtxt(rows, comments=None, ndmin=2)
    except ValueError:
        return None


def _parse_checked(rows: list[Any]) -> FloatArray:
    """Parse row by row with ``float``; raise an :class:`ElementError` naming the first problem."""
    matrix: list[list[float]] = []
    for index, row in enumerate(rows, start=1):
        if not isinstance(row, str):
            raise ElementError(f"data row {index} is not a string", field="data")
        tokens = row.split()
        if not tokens:
            raise ElementError(f"data row {index} is empty", field="data")
        if matrix and len(tokens) != len(matrix[0]):
            raise ElementError(
                f"data row {index} has {len(tokens)} values, row 1 has {len(matrix[0])}",
                field="data",
            )
        matrix.append([_number(token, index) for token in tokens])
    return np.array(matrix)


def _number(token: str, row: int) -> float:
    try:
        return float(token)
    except ValueError:
        raise ElementError(f"data row {row}: {token!r} is not a number", field="data") from None


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
    average_after = float(normalized.mean())
    with np.errstate(over="ignore"):
        average_before = float(values.mean())
    if not math.isfinite(average_before):
        # The sum of values near the float maximum overflows although their
        # mean does not; the mean of the scaled values, scaled back, cannot.
        average_before = maximum * average_after
    return ElementReport(
        key=key,
        id=element_id,
        device_name=device_name,
        size=int(values.size),
        shape=(rows, columns),
        average_before=average_before,
        average_after=average_after,
        maximum=maximum,
    )


def _required_text(element: dict[str, Any], field: str) -> str:
    if field not in element:
        raise ElementError(f"{field} is missing", field=field)
    value = element[field]
    if not isinstance(value, str) or not value.strip():
        raise ElementError(f"{field} must be a non-empty string", field=field)
    return value


@dataclass(frozen=True)
class ElementFailure:
    """An element that could not be processed, and why.

    ``id`` is the element's id when it has a usable one; ``field`` is the field
    at fault (as in :attr:`ElementError.field`), or ``None`` when the failure was
    not bad data but an unexpected exception.
    """

    key: str
    id: str | None
    field: str | None
    error: str


ElementOutcome = ElementReport | ElementFailure

#: What a thread does with one element: ``(key, element) -> report``.
ElementProcessor = Callable[[str, object], ElementReport]


class ElementsFileError(Exception):
    """The elements file cannot be read as a JSON object of elements."""


def process_json_file(
    folder: str | Path,
    filename: str,
    max_threads: int = 4,
    *,
    process: ElementProcessor = summarize_element,
) -> list[ElementOutcome] | None:
    """Process every element of a JSON file in its own thread, ``max_threads`` at a time.

    Each thread prints the element's key and id when it starts, then prints
    and logs the element's size (values, rows x columns) and its average
    before and after normalisation; a bad element is logged as an error with
    its key and id, and the others go on.  A summary line ends the output.

    Parameters
    ----------
    folder, filename:
        Where the JSON file is.
    max_threads:
        The most element threads alive at once (at least 1).
    process:
        What each thread computes for its element; the default is
        :func:`summarize_element`.  Tests pass a slowed or failing one to
        observe the threads.

    Returns
    -------
    list of ElementReport or ElementFailure, or None
        One outcome per element in the file's key order, whatever order the
        threads ended in; ``None`` (and an error logged) when the file is
        missing, unreadable, not JSON as :func:`exam.json_input.loads` reads
        it (no repeated keys, NaN or deep nesting), or not a JSON object.

    Raises
    ------
    ValueError
        When ``max_threads`` is less than 1.
    """
    if max_threads < 1:
        raise ValueError(f"max_threads must be at least 1, got {max_threads}")
    path = Path(folder) / filename
    try:
        elements = _load_elements(path)
    except ElementsFileError as error:
        logger.error("%s", error)
        return None
    if not elements:
        logger.warning("%s holds no elements", path)
    outcomes = _run_threads(elements, max_threads, process)
    failed = sum(isinstance(outcome, ElementFailure) for outcome in outcomes)
    summary = (
        f"{path.name}: {len(outcomes) - failed} of {len(outcomes)} elements processed, "
        f"{failed} failed"
    )
    print_line(summary)
    logger.info("%s", summary)
    return outcomes


#: How an error names the JSON type found where an object was expected.
_JSON_TYPES = {
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}


def _load_elements(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise ElementsFileError(
            f"{path}: not UTF-8 text ({error.reason} at byte {error.start})"
        ) from None
    except (OSError, ValueError) as error:  # ValueError: a NUL byte in the path
        raise ElementsFileError(f"{path}: {describe_path_error(error)}") from None
    try:
        content = loads(text)
    except JsonInputError as error:
        raise ElementsFileError(f"{path}: not valid JSON: {error}") from None
    if not isinstance(content, dict):
        raise ElementsFileError(
            f"{path}: must hold a JSON object of elements, not {_JSON_TYPES[type(content)]}"
        )
    return content


def _run_threads(
    elements: dict[str, Any], max_threads: int, process: ElementProcessor
) -> list[ElementOutcome]:
    outcomes: dict[str, ElementOutcome] = {}
    ended: queue.SimpleQueue[threading.Thread] = queue.SimpleQueue()
    threads: list[threading.Thread] = []
    running = 0
    try:
        for key, element in elements.items():
            if running == max_threads:
                ended.get().join()
                running -= 1
            thread = threading.Thread(
                target=_element_thread,
                args=(key, element, process, outcomes, ended),
                name=f"element-{key}",
            )
            threads.append(thread)
            thread.start()
            running += 1
    finally:
        # Also when Ctrl-C interrupts the loop: no element thread outlives the call.
        for thread in threads:
            if thread.ident is not None:
                thread.join()
    return [outcomes[key] for key in elements]


def _element_thread(
    key: str,
    element: object,
    process: ElementProcessor,
    outcomes: dict[str, ElementOutcome],
    ended: queue.SimpleQueue[threading.Thread],
) -> None:
    try:
        # Each thread writes only its own key, and a dict item assignment is atomic.
        outcomes[key] = _process_element(key, element, process)
    finally:
        ended.put(threading.current_thread())


def _process_element(key: str, element: object, process: ElementProcessor) -> ElementOutcome:
    """Run ``process`` on one element, print and log what it found; never raise."""
    element_id = _usable_id(element)
    label = f"element {key} (id {element_id})" if element_id else f"element {key} (no id)"
    try:
        print_line(f"{label}: processing")
        report = process(key, element)
        rows, columns = report.shape
        message = (
            f"{label}: {report.size} values ({rows} rows x {columns} columns), "
            f"average {report.average_before:.6g} before normalisation, "
            f"{report.average_after:.6g} after"
        )
        print_line(message)
        logger.info("%s", message)
    except ElementError as error:
        logger.error("%s: %s", label, error)
        return ElementFailure(key, element_id, error.field, str(error))
    except BaseException as error:
        # Whatever the processing raises, even SystemExit (which would end only this
        # thread anyway), becomes this element's failure: the others keep their results.
        logger.exception("%s: unexpected %s: %s", label, type(error).__name__, error)
        return ElementFailure(key, element_id, None, f"unexpected {type(error).__name__}: {error}")
    return report


def _usable_id(element: object) -> str | None:
    if isinstance(element, dict):
        value = element.get("id")
        if isinstance(value, str) and value.strip():
            return value
    return None
