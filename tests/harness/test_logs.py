"""exam/logs.py: the one place that configures logging."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from exam.logs import (
    LOG_LINE_PATTERN,
    configure_logging,
    describe_path_error,
    escape_controls,
    flush_logging,
    get_logger,
    shutdown_logging,
)


@pytest.mark.req("H.LOG.1")
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("exam.files", "exam.files"),
        ("exam", "exam"),
        ("benchmarks.bench_csv", "exam.benchmarks.bench_csv"),
        ("examples", "exam.examples"),
    ],
)
def test_get_logger_places_every_logger_under_the_exam_hierarchy(name: str, expected: str) -> None:
    """Names outside the package are put under it so the configured handlers see them."""
    assert get_logger(name).name == expected


@pytest.mark.req("H.LOG.1")
def test_console_shows_warnings_as_level_and_message_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without --verbose the console shows 'LEVEL: message' for warnings and above, no traceback."""
    configure_logging()
    log = get_logger("exam.sample")
    log.info("hidden")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("could not read %s", "a.csv")
    log.warning("careful")
    assert capsys.readouterr().err == "ERROR: could not read a.csv\nWARNING: careful\n"


@pytest.mark.req("H.LOG.1")
def test_verbose_console_shows_info_in_the_full_format(capsys: pytest.CaptureFixture[str]) -> None:
    """--verbose shows info records with time, level, thread and logger."""
    configure_logging(verbose=True)
    get_logger("exam.sample").info("hello")
    line = capsys.readouterr().err.rstrip("\n")
    match = LOG_LINE_PATTERN.match(line)
    assert match is not None
    assert match.group("level", "thread", "logger", "message") == (
        "INFO",
        "MainThread",
        "exam.sample",
        "hello",
    )


@pytest.mark.req("H.LOG.1")
def test_log_file_holds_one_parsable_line_per_record(tmp_path: Path) -> None:
    """Every record, a traceback included, is exactly one line matching the log format."""
    log_file = tmp_path / "logs" / "exam.log"
    configure_logging(log_file=log_file)
    log = get_logger("exam.sample")
    log.info("first")
    try:
        raise ValueError("line one\nline two")
    except ValueError:
        log.exception("failed")
    shutdown_logging()
    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    matches = [LOG_LINE_PATTERN.match(line) for line in lines]
    assert all(matches)
    assert matches[0] is not None
    assert matches[0].group("message") == "first"
    second = matches[1]
    assert second is not None
    assert second.group("message").startswith("failed\\nTraceback (most recent call last):\\n")
    assert second.group("message").endswith("ValueError: line one\\nline two")


@pytest.mark.req("H.LOG.1")
def test_flush_writes_queued_records_without_closing_the_file(tmp_path: Path) -> None:
    """flush_logging makes every record so far readable; logging goes on afterwards."""
    log_file = tmp_path / "exam.log"
    configure_logging(log_file=log_file)
    get_logger("exam.sample").warning("one")
    flush_logging()
    assert len(log_file.read_text(encoding="utf-8").splitlines()) == 1
    get_logger("exam.sample").warning("two")
    shutdown_logging()
    assert len(log_file.read_text(encoding="utf-8").splitlines()) == 2


@pytest.mark.req("H.LOG.1")
def test_configuring_again_replaces_the_previous_handlers(tmp_path: Path) -> None:
    """A second configure_logging call leaves exactly one console handler and switches files."""
    configure_logging(log_file=tmp_path / "a.log")
    configure_logging(log_file=tmp_path / "b.log")
    get_logger("exam.sample").warning("to b")
    shutdown_logging()
    assert (tmp_path / "a.log").read_text(encoding="utf-8") == ""
    assert "to b" in (tmp_path / "b.log").read_text(encoding="utf-8")
    assert logging.getLogger("exam").handlers == []


@pytest.mark.req("H.LOG.1")
def test_records_still_reach_pytest_caplog(caplog: pytest.LogCaptureFixture) -> None:
    """The exam logger propagates, so tests can assert on records."""
    configure_logging()
    get_logger("exam.sample").error("seen by caplog")
    assert caplog.record_tuples == [("exam.sample", logging.ERROR, "seen by caplog")]


@pytest.mark.req("H.LOG.2")
def test_control_characters_in_a_record_are_escaped_in_the_file_and_on_the_console(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A message holding a line break, a tab, ESC, DEL and a C1 control stays one escaped line."""
    log_file = tmp_path / "shared.log"
    configure_logging(log_file=log_file)
    get_logger("exam.sample").warning("name %s", "a\nFAKE b\tc\x1b[31md\x7fe\x85f")
    shutdown_logging()
    escaped = "name a\\nFAKE b\\tc\\x1b[31md\\x7fe\\x85f"
    assert capsys.readouterr().err == f"WARNING: {escaped}\n"
    (line,) = log_file.read_text(encoding="utf-8").splitlines()
    match = LOG_LINE_PATTERN.match(line)
    assert match is not None
    assert match["message"] == escaped


@pytest.mark.req("H.LOG.2")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain é ü 日本", "plain é ü 日本"),
        ("\r\n", "\\r\\n"),
        ("\x00\x01\x1f", "\\x00\\x01\\x1f"),
        ("\x9f\xa0", "\\x9f\xa0"),
    ],
)
def test_escape_controls_escapes_exactly_the_control_characters(text: str, expected: str) -> None:
    """C0, DEL and C1 controls are escaped; printable text, accents and CJK stay as they are."""
    assert escape_controls(text) == expected


@pytest.mark.req("H.LOG.3")
def test_a_library_warning_becomes_one_warning_record(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """While logging is configured a warnings.warn is one 'WARNING: Category: message' line."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        configure_logging()
        warnings.warn("value\nwith a line break", UserWarning, stacklevel=1)
    assert capsys.readouterr().err == "WARNING: UserWarning: value\\nwith a line break\n"
    assert [(r.name, r.levelname) for r in caplog.records] == [("exam.warnings", "WARNING")]


@pytest.mark.req("H.LOG.3")
def test_after_shutdown_warnings_are_shown_by_python_again() -> None:
    """shutdown_logging gives warnings.showwarning back to whoever had it before."""
    before = warnings.showwarning
    configure_logging()
    assert warnings.showwarning is not before
    shutdown_logging()
    assert warnings.showwarning is before


def _os_error(action: Callable[[], object]) -> OSError | ValueError:
    try:
        action()
    except (OSError, ValueError) as error:
        return error
    raise AssertionError("no error")


@pytest.mark.req("H.LOG.4")
@pytest.mark.parametrize(
    ("make", "kind", "reason"),
    [
        (lambda tmp: (tmp / "missing.csv").read_bytes(), "file", "no such file"),
        (lambda tmp: os.scandir(tmp / "missing"), "folder", "no such folder"),
        (lambda tmp: tmp.read_bytes(), "file", "is a folder, not a file"),
        (lambda tmp: os.scandir(tmp / "plain.txt"), "folder", "not a folder"),
        (lambda tmp: (tmp / "a\x00b").read_bytes(), "file", "the path contains a NUL byte"),
        (lambda tmp: (tmp / ("x" * 300)).read_bytes(), "file", "File name too long"),
    ],
    ids=["missing file", "missing folder", "folder", "file as folder", "NUL", "other"],
)
def test_describe_path_error_gives_one_short_reason_per_kind_of_failure(
    tmp_path: Path, make: Callable[[Path], object], kind: str, reason: str
) -> None:
    """Each way of failing to open a path has its short reason; others keep the system's text."""
    (tmp_path / "plain.txt").write_text("x", encoding="utf-8")
    assert describe_path_error(_os_error(lambda: make(tmp_path)), kind) == reason


@pytest.mark.req("H.LOG.4")
def test_describe_path_error_says_permission_denied(tmp_path: Path) -> None:
    """A PermissionError (as a non-root user meets a mode-000 file) is 'permission denied'."""
    error = PermissionError(13, "Permission denied", str(tmp_path / "secret.csv"))
    assert describe_path_error(error) == "permission denied"
