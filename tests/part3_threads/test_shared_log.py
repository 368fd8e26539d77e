"""The shared log file and stdout under many threads (exam/logs.py, exam/threads.py)."""

from __future__ import annotations

import json
import re
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from exam.elements import process_json_file
from exam.logs import LOG_LINE_PATTERN, configure_logging, get_logger, shutdown_logging
from exam.threads import print_line

THREADS = 16
RECORDS = 5_000


def run_together(target: Callable[[int], object], count: int) -> None:
    """Run ``target(index)`` in ``count`` threads named writer-NN, released at once by a barrier."""
    barrier = threading.Barrier(count)

    def body(index: int) -> None:
        barrier.wait()
        target(index)

    threads = [
        threading.Thread(target=body, args=(index,), name=f"writer-{index:02d}")
        for index in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.fixture(scope="module")
def flooded_log(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The lines of a shared log file after 16 threads logged 5,000 records each at once."""
    log_file = tmp_path_factory.mktemp("flood") / "shared.log"
    logger = get_logger("tests.flood")
    configure_logging(log_file=log_file)
    try:
        run_together(
            lambda index: [logger.info("record %d of writer %d", n, index) for n in range(RECORDS)],
            THREADS,
        )
    finally:
        shutdown_logging()
    return log_file.read_text(encoding="utf-8").splitlines()


@pytest.mark.slow
class TestSharedLogFile:
    """16 threads x 5,000 records into one file."""

    @pytest.mark.req("P3.LOG.1")
    def test_no_record_is_lost_or_duplicated(self, flooded_log: list[str]) -> None:
        """The file holds exactly 80,000 lines."""
        assert len(flooded_log) == THREADS * RECORDS

    @pytest.mark.req("P3.LOG.1")
    def test_every_line_is_one_whole_record(self, flooded_log: list[str]) -> None:
        """Each line parses as time, level, thread, logger and message."""
        assert [line for line in flooded_log if not LOG_LINE_PATTERN.match(line)] == []

    @pytest.mark.req("P3.LOG.1")
    def test_each_thread_has_all_its_records_in_its_own_order(self, flooded_log: list[str]) -> None:
        """Grouped by thread name, the messages are record 0 to 4,999 of that writer, in order."""
        by_thread: dict[str, list[str]] = defaultdict(list)
        for line in flooded_log:
            match = LOG_LINE_PATTERN.match(line)
            assert match is not None
            by_thread[match["thread"]].append(match["message"])
        assert by_thread == {
            f"writer-{index:02d}": [f"record {n} of writer {index}" for n in range(RECORDS)]
            for index in range(THREADS)
        }


@pytest.fixture
def frequent_thread_switches() -> Iterator[None]:
    """Make the interpreter switch threads as often as it can, to provoke interleaving."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


@pytest.mark.req("P3.LOG.3")
@pytest.mark.usefixtures("frequent_thread_switches")
def test_lines_printed_by_many_threads_at_once_stay_whole(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """16 threads printing 2,000 lines each give 32,000 whole lines, each thread's in order."""
    run_together(
        lambda index: [print_line(f"writer {index} line {n} " + "x" * 64) for n in range(2_000)],
        THREADS,
    )
    by_writer: dict[int, list[int]] = defaultdict(list)
    for line in capsys.readouterr().out.splitlines():
        match = re.fullmatch(r"writer (\d+) line (\d+) x{64}", line)
        assert match is not None, line
        by_writer[int(match[1])].append(int(match[2]))
    assert by_writer == {index: list(range(2_000)) for index in range(THREADS)}


@pytest.mark.slow
@pytest.mark.req("P3.LOG.2")
def test_the_large_file_run_logs_each_element_once_from_its_thread(
    large_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every element's id, size and averages are in the log exactly once, and correct."""
    content = json.loads(large_file.read_text(encoding="utf-8"))
    log_file = tmp_path / "large.log"
    configure_logging(log_file=log_file)
    try:
        assert process_json_file(large_file.parent, large_file.name) is not None
    finally:
        shutdown_logging()
    capsys.readouterr()
    lines = log_file.read_text(encoding="utf-8").splitlines()
    for key, item in content.items():
        values = np.array([row.split() for row in item["data"]], dtype=np.float64)
        expected = (
            f"element {key} (id {item['id']}): 250000 values (500 rows x 500 columns), "
            f"average {values.mean():.6g} before normalisation, "
            f"{(values / values.max()).mean():.6g} after"
        )
        mentions = [line for line in lines if f"(id {item['id']})" in line]
        assert len(mentions) == 1, mentions
        match = LOG_LINE_PATTERN.match(mentions[0])
        assert match is not None
        assert (match["thread"], match["message"]) == (f"element-{key}", expected)
