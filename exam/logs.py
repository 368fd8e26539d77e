"""Logging for the whole ``exam`` package, configured in one place.

Every module gets its logger with :func:`get_logger` (a child of the ``exam``
logger) and never configures handlers itself.  Entry points (the CLI, the
Django settings, the test session) call :func:`configure_logging` once.

Two destinations:

* the console (``stderr``): warnings and errors as short ``LEVEL: message``
  lines, never a traceback unless ``verbose`` is on;
* an optional shared log file that every thread of the process writes to, one
  record per line in :data:`LOG_FORMAT`.

Why the shared file is thread-safe
----------------------------------
Threads never touch the file.  Their records go through a
:class:`logging.handlers.QueueHandler` into a :class:`queue.SimpleQueue`
(whose ``put`` is atomic and never blocks), and a single
:class:`logging.handlers.QueueListener` thread drains the queue into a
:class:`logging.FileHandler`.  One writer means records cannot interleave or
tear, the queue loses nothing, and the order of one thread's records is the
order it logged them.  :class:`SingleLineFormatter` escapes line breaks, so a
record is always exactly one line of the file, tracebacks included.
"""

from __future__ import annotations

import atexit
import json
import logging
import logging.handlers
import queue
import re
import sys
import warnings
from pathlib import Path
from typing import TextIO

PACKAGE_LOGGER = "exam"

LOG_FORMAT = "%(asctime)s.%(msecs)03d %(levelname)s [%(threadName)s] %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
CONSOLE_FORMAT = "%(levelname)s: %(message)s"

#: Matches one line of the shared log file; the groups are the record's fields.
LOG_LINE_PATTERN = re.compile(
    r"^(?P<time>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}) "
    r"(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) "
    r"\[(?P<thread>[^\]]+)\] "
    r"(?P<logger>[\w.]+): "
    r"(?P<message>.*)$"
)

_state: dict[str, object] = {}

#: C0 and C1 control characters and DEL: they would break a line or drive a terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """Return ``text`` with every control character escaped (``\\n``, ``\\x1b``).

    Everything printed from a file's contents (DICOM values, element ids, file
    names) and every log record goes through it, so no input can forge a line
    or send escape sequences to a terminal.
    """
    return _CONTROL.sub(lambda match: _ESCAPES.get(match[0], f"\\x{ord(match[0]):02x}"), text)


#: Every field a JSON log line may carry; anything else a record holds never reaches it.
JSON_FIELDS = (
    "event",
    "job_id",
    "attempt",
    "correlation_id",
    "outcome",
    "duration_ms",
    "queue",
    "state",
    "error_code",
    "delay_s",
    "stale_attempt",
    "published",
    "held",
    "method",
    "route",
    "status",
)


#: Libraries whose log text is safe to keep in JSON lines: Celery's and kombu's
#: name tasks (by job ID), queues and processes, never a file's contents.
JSON_TEXT_LOGGERS = frozenset({"celery", "kombu"})


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record, of allowlisted fields only (:data:`JSON_FIELDS`).

    The pipeline logs events (``extra={"event": "job.claimed", "job_id": 7}``),
    never free text.  A record without an ``event`` keeps only its time,
    level and logger, with ``"event": "log"``: free text from another module
    may name a patient or a file.  Only the loggers of :data:`JSON_TEXT_LOGGERS`,
    whose text names tasks and queues, keep their ``message``.  An exception
    keeps only its type.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as one line of JSON."""
        line: dict[str, object] = {
            "time": self.formatTime(record, DATE_FORMAT) + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "logger": record.name,
            "event": "log",
        }
        line.update({key: getattr(record, key) for key in JSON_FIELDS if hasattr(record, key)})
        if record.name.split(".")[0] in JSON_TEXT_LOGGERS:
            line["message"] = record.getMessage()
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
        return json.dumps(line, default=str)


class SingleLineFormatter(logging.Formatter):
    """Formats a record, traceback included, as exactly one line.

    Line breaks become the two characters ``\\n`` so that a log file holds one
    record per line and can be parsed, counted and grepped line by line.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Return the record formatted by the parent class, line breaks escaped."""
        return escape_controls(super().format(record))


def get_logger(name: str) -> logging.Logger:
    """Return the logger for module ``name`` inside the ``exam`` hierarchy.

    Parameters
    ----------
    name:
        Usually ``__name__``; names outside the package are put under it so
        that every record reaches the handlers configured here.
    """
    if name != PACKAGE_LOGGER and not name.startswith(PACKAGE_LOGGER + "."):
        name = f"{PACKAGE_LOGGER}.{name}"
    return logging.getLogger(name)


def configure_logging(
    *, log_file: str | Path | None = None, verbose: bool = False, json_lines: bool = False
) -> None:
    """Configure the ``exam`` logger's console and (optionally) shared file output.

    Calling it again replaces the previous configuration, so tests and
    long-running processes can switch files.  Records still propagate to the
    root logger, where pytest's ``caplog`` sees them.

    Parameters
    ----------
    log_file:
        Path of the shared log file (appended to, parent folders created).
        ``None`` logs to the console only.
    verbose:
        Show ``INFO`` records and tracebacks on the console too.
    json_lines:
        Write :class:`JsonLinesFormatter` lines, INFO and above, to stdout and
        the file instead (the pipeline's processes: logs for machines).
    """
    shutdown_logging()
    logger = logging.getLogger(PACKAGE_LOGGER)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)

    console = logging.StreamHandler(sys.stdout if json_lines else sys.stderr)
    console.setLevel(logging.INFO if verbose or json_lines else logging.WARNING)
    file_format: logging.Formatter = SingleLineFormatter(LOG_FORMAT, DATE_FORMAT)
    if json_lines:
        file_format = JsonLinesFormatter()
        console.setFormatter(file_format)
    elif verbose:
        console.setFormatter(file_format)
    else:
        console.setFormatter(_ConsoleFormatter(CONSOLE_FORMAT))
    handlers: list[logging.Handler] = [console]

    if log_file is not None:
        path = Path(log_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        # A string no UTF-8 can hold (a lone surrogate) is escaped, never a lost record.
        file_handler = logging.FileHandler(path, encoding="utf-8", errors="backslashreplace")
        file_handler.setFormatter(file_format)
        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        listener = logging.handlers.QueueListener(records, file_handler)
        listener.start()
        _state["listener"] = listener
        _state["file_handler"] = file_handler
        handlers.append(logging.handlers.QueueHandler(records))

    for handler in handlers:
        logger.addHandler(handler)
    _state["handlers"] = handlers
    # Libraries' warnings (pydicom's, numpy's) become records of this logger
    # instead of raw multi-line text on stderr.
    _state["showwarning"] = warnings.showwarning
    warnings.showwarning = _log_warning


def route_logger(name: str) -> None:
    """Send the records of logger ``name`` (a library's) to the handlers configured here."""
    handlers = _state.get("handlers", [])
    assert isinstance(handlers, list)
    library = logging.getLogger(name)
    for handler in handlers:
        library.addHandler(handler)
    library.propagate = False


def flush_logging() -> None:
    """Write every queued record to the shared file before returning.

    The listener thread is stopped (which drains the queue) and restarted.
    """
    listener = _state.get("listener")
    if isinstance(listener, logging.handlers.QueueListener):
        listener.stop()
        listener.start()


def shutdown_logging() -> None:
    """Drain the queue, close the shared file and remove the handlers added here."""
    listener = _state.pop("listener", None)
    if isinstance(listener, logging.handlers.QueueListener):
        listener.stop()
    file_handler = _state.pop("file_handler", None)
    if isinstance(file_handler, logging.Handler):
        file_handler.close()
    logger = logging.getLogger(PACKAGE_LOGGER)
    handlers = _state.pop("handlers", [])
    assert isinstance(handlers, list)
    for handler in handlers:
        logger.removeHandler(handler)
    showwarning = _state.pop("showwarning", None)
    if showwarning is not None:
        warnings.showwarning = showwarning  # type: ignore[assignment]


def _log_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """``warnings.showwarning`` while logging is configured: one WARNING record, no source line."""
    get_logger(f"{PACKAGE_LOGGER}.warnings").warning("%s: %s", category.__name__, message)


def describe_path_error(error: OSError | ValueError, kind: str = "file") -> str:
    """Return a short reason, for a user, why a ``kind`` ("file" or "folder") could not be opened.

    ``error`` is what ``open``, ``os.scandir`` and friends raise: an
    :class:`OSError`, or the :class:`ValueError` they raise for a path holding
    a NUL byte (which no operating system call accepts).
    """
    if not isinstance(error, OSError):
        return "the path contains a NUL byte"
    reasons: list[tuple[type[OSError], str]] = [
        (FileNotFoundError, f"no such {kind}"),
        (NotADirectoryError, "not a folder"),
        (IsADirectoryError, "is a folder, not a file"),
        (PermissionError, "permission denied"),
    ]
    for error_type, reason in reasons:
        if isinstance(error, error_type):
            return reason
    return error.strerror or str(error)


class _ConsoleFormatter(logging.Formatter):
    """``LEVEL: message`` without the traceback, for people at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        message = escape_controls(record.getMessage())
        return CONSOLE_FORMAT % {"levelname": record.levelname, "message": message}


atexit.register(shutdown_logging)
