"""process_json_file (exam/elements.py): one thread per element, reports, output and errors."""

from __future__ import annotations

import errno
import json
import logging
import re
import statistics
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from exam.elements import (
    ElementFailure,
    ElementOutcome,
    ElementProcessor,
    ElementReport,
    process_json_file,
    summarize_element,
)
from exam.logs import LOG_LINE_PATTERN, configure_logging, shutdown_logging
from tests.part3_threads.conftest import FIXTURES, SAMPLE, element, part3_threads, send_ctrl_c

WriteElements = Callable[[object], Path]


#: What the sample file prints with one thread.
SAMPLE_LINES = (
    "element 1 (id aabbcc1): processing",
    "element 1 (id aabbcc1): 30 values (3 rows x 10 columns), "
    "average 55.1 before normalisation, 0.551 after",
    "element 2 (id ddeeff2): processing",
    "element 2 (id ddeeff2): 30 values (3 rows x 10 columns), "
    "average 40.7667 before normalisation, 0.429123 after",
    "sample-03-00-json.json: 2 of 2 elements processed, 0 failed",
)


def run(
    path: Path, max_threads: int = 4, *, process: ElementProcessor = summarize_element
) -> list[ElementOutcome]:
    """Run process_json_file on ``path`` and insist that the file could be read."""
    outcomes = process_json_file(path.parent, path.name, max_threads, process=process)
    assert outcomes is not None
    return outcomes


def problems(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    """The warnings and errors logged, as (level, message)."""
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING]


def three_elements(bad: object) -> dict[str, object]:
    """A file whose middle element is ``bad`` and the other two are good."""
    return {
        "1": element("good1", "1 2", "3 4"),
        "2": bad,
        "3": element("good3", "5 6", "7 8"),
    }


class TestReports:
    """What process_json_file returns."""

    @pytest.mark.req("P3.EL.1", "P3.EL.4")
    def test_the_sample_file_gives_one_report_per_element_computed_independently(self) -> None:
        """Each sample element's report equals a plain Python computation from the file."""
        content = json.loads((FIXTURES / SAMPLE).read_text(encoding="utf-8"))
        expected = []
        for key, item in content.items():
            values = [float(token) for row in item["data"] for token in row.split()]
            top = max(values)
            expected.append(
                ElementReport(
                    key=key,
                    id=item["id"],
                    device_name=item["deviceName"],
                    size=len(values),
                    shape=(len(item["data"]), len(item["data"][0].split())),
                    average_before=pytest.approx(statistics.fmean(values), rel=1e-12),
                    average_after=pytest.approx(
                        statistics.fmean(v / top for v in values), rel=1e-12
                    ),
                    maximum=top,
                )
            )
        assert run(FIXTURES / SAMPLE) == expected

    @pytest.mark.req("P3.EL.1")
    def test_reports_follow_the_file_key_order_not_the_order_threads_end(
        self, write_elements: WriteElements
    ) -> None:
        """The first element ends last, yet the reports are in the file's key order."""
        others_ended = threading.Event()
        keys = ["10", "2", "1", "x"]
        content = {key: element(f"id{index}", "1 2") for index, key in enumerate(keys)}
        ended: list[str] = []

        def process(key: str, item: object) -> ElementReport:
            if key == "10":
                assert others_ended.wait(10)
            report = summarize_element(key, item)
            ended.append(key)
            if len(ended) == len(keys) - 1:
                others_ended.set()
            return report

        outcomes = run(write_elements(content), max_threads=4, process=process)
        assert ended[-1] == "10"
        assert [outcome.key for outcome in outcomes] == keys

    @pytest.mark.req("P3.EL.1")
    def test_each_element_is_processed_in_a_thread_of_its_own(
        self, write_elements: WriteElements
    ) -> None:
        """Every element runs in its own thread, named after its key, never the caller's."""
        seen: dict[str, tuple[str, int]] = {}

        def process(key: str, item: object) -> ElementReport:
            thread = threading.current_thread()
            seen[key] = (thread.name, id(thread))
            return summarize_element(key, item)

        content = {str(key): element(f"id{key}", "1 2") for key in range(1, 7)}
        run(write_elements(content), max_threads=3, process=process)
        assert {key: name for key, (name, _) in seen.items()} == {
            str(key): f"element-{key}" for key in range(1, 7)
        }
        assert len({thread for _, thread in seen.values()}) == 6
        assert id(threading.main_thread()) not in {thread for _, thread in seen.values()}

    @pytest.mark.req("P3.EL.1")
    def test_no_element_thread_is_left_when_the_call_returns(self) -> None:
        """Every element thread has ended once process_json_file returns."""
        run(FIXTURES / SAMPLE)
        assert part3_threads() == []

    @pytest.mark.req("P3.EL.2")
    @pytest.mark.parametrize("max_threads", [0, -1])
    def test_max_threads_below_one_raises(self, max_threads: int) -> None:
        """No thread could ever run, so the call is refused."""
        with pytest.raises(
            ValueError, match=f"^max_threads must be at least 1, got {max_threads}$"
        ):
            process_json_file(FIXTURES, SAMPLE, max_threads)


class TestOutput:
    """What each thread prints and logs."""

    @pytest.mark.req("P3.EL.3")
    def test_one_thread_at_a_time_prints_each_element_id_then_its_figures(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """With one thread, the output is each element's two lines in turn, then the summary."""
        run(FIXTURES / SAMPLE, max_threads=1)
        assert capsys.readouterr().out.splitlines() == list(SAMPLE_LINES)

    @pytest.mark.req("P3.EL.3", "P3.LOG.3")
    def test_many_threads_print_the_same_whole_lines_in_some_order(
        self, capsys: pytest.CaptureFixture[str], write_elements: WriteElements
    ) -> None:
        """With 8 threads on 24 elements every expected line appears once, whole."""
        content = {str(k): element(f"id{k}", f"{k} 0 {k}", f"0 {k} 0") for k in range(1, 25)}
        run(write_elements(content), max_threads=8)
        expected = [
            line
            for k in range(1, 25)
            for line in (
                f"element {k} (id id{k}): processing",
                f"element {k} (id id{k}): 6 values (2 rows x 3 columns), "
                f"average {k / 2:.6g} before normalisation, 0.5 after",
            )
        ]
        expected.append("elements.json: 24 of 24 elements processed, 0 failed")
        assert sorted(capsys.readouterr().out.splitlines()) == sorted(expected)

    @pytest.mark.req("P3.EL.3", "P3.LOG.5")
    def test_an_id_from_the_file_is_printed_with_its_control_characters_escaped(
        self, capsys: pytest.CaptureFixture[str], write_elements: WriteElements
    ) -> None:
        """An id holding an escape sequence or a line break prints as text, one line each."""
        run(write_elements({"k\n1": element("a\x1b[2J", "1 2")}))
        assert capsys.readouterr().out.splitlines() == [
            "element k\\n1 (id a\\x1b[2J): processing",
            "element k\\n1 (id a\\x1b[2J): 2 values (1 rows x 2 columns), "
            "average 1.5 before normalisation, 0.75 after",
            "elements.json: 1 of 1 elements processed, 0 failed",
        ]

    @pytest.mark.req("P3.EL.3")
    def test_each_element_logs_its_figures_once_at_info(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The figures printed are also logged, once per element, then the summary."""
        caplog.set_level(logging.INFO, logger="exam")
        run(FIXTURES / SAMPLE, max_threads=1)
        assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
            ("INFO", line) for line in SAMPLE_LINES if not line.endswith("processing")
        ]

    @pytest.mark.req("P3.EL.3")
    def test_each_element_is_logged_from_its_own_thread(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The record of an element's figures carries the element thread's name."""
        caplog.set_level(logging.INFO, logger="exam")
        run(FIXTURES / SAMPLE)
        threads = {r.threadName for r in caplog.records if "values" in r.getMessage()}
        assert threads == {"element-1", "element-2"}


class TestBadFile:
    """A file that cannot be read as elements: an error logged, None returned."""

    @pytest.mark.req("P3.EL.5")
    def test_a_missing_file_logs_an_error_and_returns_none(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The error names the path and the reason."""
        assert process_json_file(tmp_path, "missing.json") is None
        assert problems(caplog) == [("ERROR", f"{tmp_path / 'missing.json'}: no such file")]

    @pytest.mark.req("P3.EL.5")
    def test_a_folder_in_place_of_the_file_logs_an_error_and_returns_none(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A path that cannot be read as a file is reported like a missing one."""
        (tmp_path / "folder.json").mkdir()
        assert process_json_file(tmp_path, "folder.json") is None
        assert problems(caplog) == [
            ("ERROR", f"{tmp_path / 'folder.json'}: is a folder, not a file")
        ]

    @pytest.mark.req("P3.EL.5")
    def test_a_file_without_read_permission_logs_an_error_and_returns_none(
        self,
        write_elements: WriteElements,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """A file the system refuses to open is reported with the system's reason."""
        path = write_elements({"1": element("id1", "1 2")})

        # The tests run as root, whom chmod cannot lock out: the refusal is injected.
        def refuse(file: Path, *args: object, **kwargs: object) -> str:
            raise PermissionError(errno.EACCES, "Permission denied", str(file))

        monkeypatch.setattr(Path, "read_bytes", refuse)
        assert process_json_file(path.parent, path.name) is None
        assert problems(caplog) == [("ERROR", f"{path}: permission denied")]

    @pytest.mark.req("P3.EL.5")
    def test_a_file_that_is_not_utf8_logs_an_error_and_returns_none(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Undecodable bytes are reported with their position."""
        (tmp_path / "latin.json").write_bytes(b"\xff{}")
        assert process_json_file(tmp_path, "latin.json") is None
        assert problems(caplog) == [
            (
                "ERROR",
                f"{tmp_path / 'latin.json'}: not UTF-8 text (invalid start byte at byte 0)",
            )
        ]

    @pytest.mark.req("P3.EL.5")
    def test_invalid_json_logs_an_error_with_its_position_and_returns_none(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The JSON error says what was expected, and where."""
        (tmp_path / "cut.json").write_text('{"1": ', encoding="utf-8")
        assert process_json_file(tmp_path, "cut.json") is None
        assert problems(caplog) == [
            (
                "ERROR",
                f"{tmp_path / 'cut.json'}: not valid JSON: Expecting value at line 1, column 7",
            )
        ]

    @pytest.mark.req("P3.EL.5")
    @pytest.mark.parametrize(
        ("content", "kind"),
        [
            ([1, 2], "an array"),
            ("text", "a string"),
            (4, "a number"),
            (True, "a boolean"),
            (None, "null"),
        ],
    )
    def test_a_top_level_that_is_not_an_object_logs_an_error_and_returns_none(
        self,
        content: object,
        kind: str,
        write_elements: WriteElements,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """Elements must be keyed in a JSON object; the error names what was found."""
        path = write_elements(content)
        assert process_json_file(path.parent, path.name) is None
        assert problems(caplog) == [
            ("ERROR", f"{path}: must hold a JSON object of elements, not {kind}")
        ]

    @pytest.mark.req("P3.EL.5")
    def test_a_file_name_with_a_nul_byte_logs_an_error_and_returns_none(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """No system call takes such a path: the error says so, no traceback."""
        name = "bad\x00.json"
        assert process_json_file(tmp_path, name) is None
        assert problems(caplog) == [("ERROR", f"{tmp_path / name}: the path contains a NUL byte")]

    @pytest.mark.req("P3.EL.5")
    def test_an_empty_object_logs_a_warning_and_returns_no_outcomes(
        self, write_elements: WriteElements, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A file with no elements is not an error, but worth a warning."""
        path = write_elements({})
        assert run(path) == []
        assert problems(caplog) == [("WARNING", f"{path} holds no elements")]


class TestStrictJson:
    """JSON json.loads would take or crash on: one logged error naming the file, no traceback."""

    @staticmethod
    def refused(path: Path, caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
        """Process ``path``, insist on None and no traceback; return what was logged."""
        caplog.set_level(logging.DEBUG, logger="exam")
        assert process_json_file(path.parent, path.name) is None
        assert [r.exc_info for r in caplog.records] == [None]
        return [(r.levelname, r.getMessage()) for r in caplog.records]

    @pytest.mark.req("P3.EL.12")
    def test_a_file_nested_100000_deep_is_one_logged_error(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """What makes json.loads raise RecursionError is refused by name."""
        path = tmp_path / "deep.json"
        path.write_text('{"1": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
        assert self.refused(path, caplog) == [
            ("ERROR", f"{path}: not valid JSON: nested too deeply to decode")
        ]

    @pytest.mark.req("P3.EL.12")
    def test_a_repeated_key_is_one_logged_error(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Two elements under one key would silently lose the first: the file is refused."""
        path = tmp_path / "twice.json"
        one = json.dumps(element("id1", "1 2"))
        path.write_text(f'{{"1": {one}, "2": {one}, "1": {one}}}', encoding="utf-8")
        assert self.refused(path, caplog) == [
            ("ERROR", f"{path}: not valid JSON: the key '1' appears twice in one object")
        ]

    @pytest.mark.req("P3.EL.12")
    @pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
    def test_nan_or_infinity_is_one_logged_error(
        self, constant: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A constant JSON does not have is refused wherever it is."""
        path = tmp_path / "nan.json"
        path.write_text(f'{{"1": {{"id": "a", "data": ["1"], "w": {constant}}}}}', "utf-8")
        assert self.refused(path, caplog) == [
            ("ERROR", f"{path}: not valid JSON: {constant} is not a JSON number")
        ]

    @pytest.mark.req("P3.EL.12")
    def test_an_integer_too_long_to_read_is_one_logged_error(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """An integer past Python's 4,300-digit limit is refused, not raised."""
        path = tmp_path / "long.json"
        path.write_text('{"1": ' + "7" * 5000 + "}", encoding="utf-8")
        assert self.refused(path, caplog) == [
            (
                "ERROR",
                f"{path}: not valid JSON: a number is too long: Exceeds the limit (4300 digits) "
                "for integer string "
                "conversion: value has 5000 digits; use sys.set_int_max_str_digits() "
                "to increase the limit",
            )
        ]


class TestBadElement:
    """A bad element fails alone: logged with its key and id, the others processed."""

    @pytest.mark.req("P3.EL.6")
    @pytest.mark.parametrize(
        ("bad", "failure", "message"),
        [
            (
                ["1 2"],
                ElementFailure("2", None, "", "element must be a JSON object"),
                "element 2 (no id): element must be a JSON object",
            ),
            (
                {"data": ["1 2"]},
                ElementFailure("2", None, "id", "id is missing"),
                "element 2 (no id): id is missing",
            ),
            (
                {"id": "", "data": ["1 2"]},
                ElementFailure("2", None, "id", "id must be a non-empty string"),
                "element 2 (no id): id must be a non-empty string",
            ),
            (
                {"id": "   ", "data": ["1 2"]},
                ElementFailure("2", None, "id", "id must be a non-empty string"),
                "element 2 (no id): id must be a non-empty string",
            ),
            (
                {"id": "bad2"},
                ElementFailure("2", "bad2", "data", "data is missing"),
                "element 2 (id bad2): data is missing",
            ),
            (
                element("bad2", "1 2", "3 abc"),
                ElementFailure("2", "bad2", "data", "data row 2: 'abc' is not a number"),
                "element 2 (id bad2): data row 2: 'abc' is not a number",
            ),
            (
                element("bad2", "1 2", ""),
                ElementFailure("2", "bad2", "data", "data row 2 is empty"),
                "element 2 (id bad2): data row 2 is empty",
            ),
            (
                element("bad2", "1 2 3", "4 5"),
                ElementFailure("2", "bad2", "data", "data row 2 has 2 values, row 1 has 3"),
                "element 2 (id bad2): data row 2 has 2 values, row 1 has 3",
            ),
            (
                element("bad2", "1 2", "-3 4"),
                ElementFailure(
                    "2", "bad2", "data", "data contains a negative value (-3); values must be >= 0"
                ),
                "element 2 (id bad2): data contains a negative value (-3); values must be >= 0",
            ),
            (
                element("bad2", "1 NaN"),
                ElementFailure(
                    "2", "bad2", "data", "data contains a non-finite value (nan or infinity)"
                ),
                "element 2 (id bad2): data contains a non-finite value (nan or infinity)",
            ),
            (
                element("bad2", "Infinity 1"),
                ElementFailure(
                    "2", "bad2", "data", "data contains a non-finite value (nan or infinity)"
                ),
                "element 2 (id bad2): data contains a non-finite value (nan or infinity)",
            ),
        ],
        ids=[
            "not-an-object",
            "no-id",
            "empty-id",
            "blank-id",
            "no-data",
            "non-numeric",
            "empty-row",
            "ragged",
            "negative",
            "nan",
            "infinity",
        ],
    )
    def test_a_bad_element_is_logged_and_reported_and_the_others_are_processed(
        self,
        bad: object,
        failure: ElementFailure,
        message: str,
        write_elements: WriteElements,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """The bad element's failure names its key, id and field; elements 1 and 3 succeed."""
        outcomes = run(write_elements(three_elements(bad)))
        assert outcomes[1] == failure
        assert [(o.key, o.id) for o in outcomes if isinstance(o, ElementReport)] == [
            ("1", "good1"),
            ("3", "good3"),
        ]
        assert problems(caplog) == [("ERROR", message)]

    @pytest.mark.req("P3.EL.3", "P3.EL.6")
    def test_the_summary_counts_the_failed_elements(
        self, write_elements: WriteElements, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The last line says how many elements were processed and how many failed."""
        run(write_elements(three_elements({"id": "bad2"})))
        assert capsys.readouterr().out.splitlines()[-1] == (
            "elements.json: 2 of 3 elements processed, 1 failed"
        )

    @pytest.mark.req("P3.EL.4")
    def test_an_all_zero_element_is_reported_with_zero_averages_and_a_warning(
        self, write_elements: WriteElements, caplog: pytest.LogCaptureFixture
    ) -> None:
        """All-zero data is processed, not failed, and warned about."""
        outcomes = run(write_elements(three_elements(element("zero2", "0 0", "0 0"))))
        assert outcomes[1] == ElementReport("2", "zero2", "MRI", 4, (2, 2), 0.0, 0.0, 0.0)
        assert problems(caplog) == [
            ("WARNING", "element 2 (id zero2): all values are 0, normalised to zeros")
        ]


class TestThreadFailure:
    """An unexpected exception inside an element thread."""

    @staticmethod
    def failing_on(
        bad_key: str, error: BaseException | None = None
    ) -> Callable[[str, object], ElementReport]:
        """A processor that raises ``error`` for ``bad_key`` and works for the others."""

        def process(key: str, item: object) -> ElementReport:
            if key == bad_key:
                raise error or RuntimeError("boom")
            return summarize_element(key, item)

        return process

    @pytest.mark.req("P3.EL.7")
    @pytest.mark.parametrize(
        ("error", "message"),
        [
            (RuntimeError("boom"), "unexpected RuntimeError: boom"),
            (
                ZeroDivisionError("division by zero"),
                "unexpected ZeroDivisionError: division by zero",
            ),
            (SystemExit("bye"), "unexpected SystemExit: bye"),
        ],
        ids=["runtime-error", "zero-division", "system-exit"],
    )
    def test_an_exception_in_a_thread_fails_only_its_element(
        self, error: BaseException, message: str, write_elements: WriteElements
    ) -> None:
        """The other elements are processed; the failed one says what was raised."""
        outcomes = run(
            write_elements(three_elements(element("bug2", "1"))),
            process=self.failing_on("2", error),
        )
        assert outcomes[1] == ElementFailure("2", "bug2", None, message)
        assert [type(o) for o in outcomes] == [ElementReport, ElementFailure, ElementReport]

    @pytest.mark.req("P3.EL.7")
    def test_an_exception_in_a_thread_is_logged_with_its_traceback(
        self, write_elements: WriteElements, caplog: pytest.LogCaptureFixture
    ) -> None:
        """One error record names the element and carries the exception."""
        run(write_elements(three_elements(element("bug2", "1"))), process=self.failing_on("2"))
        errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert [(r.levelname, r.getMessage()) for r in errors] == [
            ("ERROR", "element 2 (id bug2): unexpected RuntimeError: boom")
        ]
        assert errors[0].exc_info is not None
        assert isinstance(errors[0].exc_info[1], RuntimeError)

    @pytest.mark.req("P3.EL.7")
    @pytest.mark.timeout(30)
    def test_a_failing_thread_gives_its_slot_back(self, write_elements: WriteElements) -> None:
        """With one slot and every element failing, all twenty are still tried."""
        content = {str(k): element(f"id{k}", "1") for k in range(1, 21)}

        def process(key: str, item: object) -> ElementReport:
            raise RuntimeError(f"boom {key}")

        outcomes = run(write_elements(content), max_threads=1, process=process)
        assert [o.error for o in outcomes if isinstance(o, ElementFailure)] == [
            f"unexpected RuntimeError: boom {k}" for k in range(1, 21)
        ]

    @pytest.mark.req("P3.LOG.4")
    def test_a_traceback_is_one_line_of_the_shared_log_file(
        self, tmp_path: Path, write_elements: WriteElements
    ) -> None:
        """The failing thread's record, traceback included, is a single parseable line."""
        log_file = tmp_path / "run.log"
        configure_logging(log_file=log_file)
        run(write_elements(three_elements(element("bug2", "1"))), process=self.failing_on("2"))
        shutdown_logging()
        lines = log_file.read_text(encoding="utf-8").splitlines()
        matches = [LOG_LINE_PATTERN.match(line) for line in lines]
        assert all(matches)
        errors = [m for m in matches if m is not None and m["level"] == "ERROR"]
        assert len(errors) == 1
        assert errors[0]["thread"] == "element-2"
        assert re.fullmatch(
            r"element 2 \(id bug2\): unexpected RuntimeError: boom\\n"
            r"Traceback \(most recent call last\):\\n.*\\nRuntimeError: boom",
            errors[0]["message"],
        )


@pytest.mark.req("P3.EL.9")
@pytest.mark.usefixtures("ctrl_c_reaches_main")
def test_ctrl_c_starts_no_new_element_and_joins_the_running_one(
    write_elements: WriteElements,
) -> None:
    """Ctrl-C while element 2 runs: element 2 finishes, 3 never starts, no thread is left."""
    content = {str(k): element(f"id{k}", "1") for k in range(1, 6)}
    started: list[str] = []
    finished: list[str] = []

    def process(key: str, item: object) -> ElementReport:
        started.append(key)
        if key == "2":
            send_ctrl_c()
        finished.append(key)
        return summarize_element(key, item)

    with pytest.raises(KeyboardInterrupt):
        run(write_elements(content), max_threads=1, process=process)
    assert started == finished == ["1", "2"]
    assert part3_threads() == []


@pytest.mark.req("P3.EL.7")
def test_a_thread_that_cannot_start_raises_after_the_started_ones_are_joined(
    write_elements: WriteElements, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The system refusing element 2 a thread is raised, once element 1's thread has ended."""
    content = {str(k): element(f"id{k}", "1") for k in range(1, 4)}
    start = threading.Thread.start

    def start_or_refuse(thread: threading.Thread) -> None:
        if thread.name == "element-2":
            raise RuntimeError("can't start new thread")
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", start_or_refuse)
    with pytest.raises(RuntimeError, match=r"^can't start new thread$"):
        run(write_elements(content), max_threads=2)
    assert part3_threads() == []
