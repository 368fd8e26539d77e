"""exam/logs.py: the one place that configures logging."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from exam.logs import (
    LOG_LINE_PATTERN,
    configure_logging,
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
