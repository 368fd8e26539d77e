"""print_even_odd (exam/threads.py): two threads taking turns to print the numbers in order."""

from __future__ import annotations

import io
import itertools
import logging
import sys
import threading
import time
from collections.abc import Callable

import pytest

from exam import threads
from exam.threads import EvenOddResult, print_even_odd, print_line
from tests.part3_threads.conftest import part3_threads, send_ctrl_c

WatchStdout = Callable[[Callable[[str], object]], None]


def numbers(result: EvenOddResult) -> list[int]:
    """The numbers printed, in printing order."""
    return [entry.number for entry in result.printed]


class WatchedStdout(io.StringIO):
    """A stdout that calls ``on_line(line)`` in the writing thread for each line written."""

    def __init__(self, on_line: Callable[[str], object]) -> None:
        super().__init__()
        self.on_line = on_line

    def write(self, text: str) -> int:
        """Keep ``text``, then report it without its line break (print_line writes whole lines)."""
        written = super().write(text)
        self.on_line(text.removesuffix("\n"))
        return written


@pytest.fixture
def watch_stdout(monkeypatch: pytest.MonkeyPatch) -> WatchStdout:
    """Return ``watch(on_line)``: from then on, every line printed is passed to ``on_line``."""

    def watch(on_line: Callable[[str], object]) -> None:
        monkeypatch.setattr(sys, "stdout", WatchedStdout(on_line))

    return watch


class TestOrder:
    """The numbers, their order and their printers."""

    @pytest.mark.req("P3.EO.1")
    @pytest.mark.parametrize(
        ("start", "stop"),
        [(1, 20), (2, 9), (7, 7), (-3, 3), (5, 4)],
        ids=["odd-start", "even-start", "single", "negatives", "empty"],
    )
    def test_every_number_from_start_to_stop_is_printed_once_in_order(
        self, start: int, stop: int
    ) -> None:
        """The result lists start, start + 1, ..., stop, each once."""
        result = print_even_odd(start, stop, 0)
        assert numbers(result) == list(range(start, stop + 1))
        assert result.interrupted is False

    @pytest.mark.req("P3.EO.1")
    def test_each_number_is_one_line_naming_its_thread(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """stdout holds 'odd: N' and 'even: N' lines, in order."""
        print_even_odd(1, 5, 0)
        assert capsys.readouterr().out == "odd: 1\neven: 2\nodd: 3\neven: 4\nodd: 5\n"

    @pytest.mark.req("P3.EO.2")
    def test_the_odd_thread_prints_odd_numbers_and_the_even_thread_even_ones(self) -> None:
        """Every printed number records the thread that printed it, by parity."""
        result = print_even_odd(1, 30, 0)
        assert [entry.thread_name for entry in result.printed] == ["odd", "even"] * 15

    @pytest.mark.req("P3.EO.2")
    def test_each_printer_is_a_thread_of_its_own(self, watch_stdout: WatchStdout) -> None:
        """Odd and even numbers are printed by two distinct threads, neither the caller."""
        idents: dict[str, set[int | None]] = {"odd": set(), "even": set()}
        main = threading.get_ident()
        watch_stdout(lambda line: idents[line.split(":")[0]].add(threading.get_ident()))
        print_even_odd(1, 10, 0)
        assert len(idents["odd"]) == len(idents["even"]) == 1
        assert idents["odd"].isdisjoint(idents["even"])
        assert main not in idents["odd"] | idents["even"]


class TestConcurrency:
    """Both threads run at the same time, and none outlives the call."""

    @pytest.mark.req("P3.EO.2")
    def test_both_threads_are_alive_whenever_a_number_but_the_last_is_printed(
        self, watch_stdout: WatchStdout
    ) -> None:
        """At every print before the last, the odd and the even thread are both alive."""
        alive: list[list[str]] = []
        watch_stdout(lambda line: alive.append(part3_threads()))
        print_even_odd(1, 12, 0)
        assert alive[:-1] == [["even", "odd"]] * 11

    @pytest.mark.req("P3.EO.2")
    def test_no_printer_thread_is_left_when_the_call_returns(self) -> None:
        """Both threads have ended once print_even_odd returns."""
        print_even_odd(1, 6, 0)
        assert part3_threads() == []


class TestCadence:
    """One number per interval."""

    INTERVAL = 0.02

    @pytest.mark.req("P3.EO.3")
    def test_the_first_number_is_printed_at_once(self) -> None:
        """The first number does not wait for an interval."""
        result = print_even_odd(1, 1, 5.0)
        assert result.printed[0].elapsed < 1.0

    @pytest.mark.req("P3.EO.3")
    def test_no_two_numbers_are_closer_than_the_interval(self) -> None:
        """Every gap between two printed numbers is at least the interval."""
        result = print_even_odd(1, 10, self.INTERVAL)
        times = [entry.elapsed for entry in result.printed]
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert min(gaps) >= self.INTERVAL

    @pytest.mark.req("P3.EO.3")
    def test_the_run_takes_about_one_interval_per_number(self) -> None:
        """Ten numbers take nine intervals, give or take a generous scheduling margin."""
        result = print_even_odd(1, 10, self.INTERVAL)
        assert 9 * self.INTERVAL <= result.printed[-1].elapsed < 9 * self.INTERVAL + 0.5

    @pytest.mark.req("P3.EO.3")
    @pytest.mark.parametrize("interval", [-0.5, float("nan"), float("inf")])
    def test_an_interval_that_is_not_a_finite_number_of_seconds_raises(
        self, interval: float
    ) -> None:
        """A negative, nan or infinite interval is refused before any thread starts."""
        with pytest.raises(ValueError, match=r"interval must be a finite number of seconds >= 0"):
            print_even_odd(1, 10, interval)


class EvenAhead:
    """Stands in for exam.threads' ``time``: the even thread sees the clock 0.45 s ahead.

    To the even thread, 0.45 s have passed since 1 was printed as soon as it is
    its turn, so it waits out only what is left of the interval.
    """

    @staticmethod
    def monotonic() -> float:
        """The real monotonic time, 0.45 s later in the even thread."""
        ahead = 0.45 if threading.current_thread().name == "even" else 0.0
        return time.monotonic() + ahead


class TestDefaults:
    """print_even_odd() without arguments: 1 to 200, half a second apart."""

    @pytest.mark.req("P3.EO.1")
    def test_by_default_the_numbers_are_1_to_200(self) -> None:
        """Only the interval given, the numbers printed are 1 to 200."""
        assert numbers(print_even_odd(interval=0)) == list(range(1, 201))

    @pytest.mark.req("P3.EO.3")
    def test_by_default_the_next_number_is_due_half_a_second_after_the_previous(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """0.45 s after 1 by the even thread's clock, 2 waits out the last 0.05 s only."""
        monkeypatch.setattr(threads, "time", EvenAhead)
        result = print_even_odd(1, 2)
        assert 0.5 <= result.printed[1].elapsed < 1.0


@pytest.mark.usefixtures("ctrl_c_reaches_main")
class TestCtrlC:
    """A KeyboardInterrupt in the main thread stops the printing cleanly."""

    @staticmethod
    def interrupted_run(watch_stdout: WatchStdout) -> tuple[float, EvenOddResult]:
        """Press Ctrl-C as 1 is printed, the next number a minute away: (seconds taken, result)."""
        watch_stdout(lambda line: line == "odd: 1" and send_ctrl_c())
        began = time.monotonic()
        result = print_even_odd(1, 5, 60.0)
        return time.monotonic() - began, result

    @pytest.mark.req("P3.EO.4")
    def test_ctrl_c_returns_the_numbers_printed_so_far_marked_interrupted(
        self, watch_stdout: WatchStdout
    ) -> None:
        """The interrupt is not raised: the result says what was printed before it."""
        _, result = self.interrupted_run(watch_stdout)
        assert numbers(result) == [1]
        assert result.interrupted

    @pytest.mark.req("P3.EO.4")
    def test_ctrl_c_wakes_a_thread_waiting_out_its_interval(
        self, watch_stdout: WatchStdout
    ) -> None:
        """The run ends at once instead of waiting the minute until the next number."""
        elapsed, _ = self.interrupted_run(watch_stdout)
        assert elapsed < 10.0

    @pytest.mark.req("P3.EO.4")
    def test_ctrl_c_leaves_no_printer_thread(self, watch_stdout: WatchStdout) -> None:
        """Both threads have been joined when the interrupted call returns."""
        self.interrupted_run(watch_stdout)
        assert part3_threads() == []

    @pytest.mark.req("P3.EO.4")
    def test_ctrl_c_is_logged_as_a_warning(
        self, watch_stdout: WatchStdout, caplog: pytest.LogCaptureFixture
    ) -> None:
        """One warning says how far the printing got."""
        self.interrupted_run(watch_stdout)
        assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
            ("WARNING", "even/odd printing interrupted after 1 of 5 numbers")
        ]


@pytest.mark.req("P3.EO.1")
@pytest.mark.parametrize(
    ("start", "stop", "message"),
    [
        (3, 8, "even/odd printing done: 6 numbers from 3 to 8"),
        (5, 4, "even/odd printing done: 0 numbers from 5 to 4"),
    ],
    ids=["range", "empty"],
)
def test_a_complete_run_is_logged_at_info(
    start: int, stop: int, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The end of a run is logged once, with how many numbers of which range were printed."""
    caplog.set_level(logging.INFO, logger="exam")
    print_even_odd(start, stop, 0)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [("INFO", message)]


@pytest.mark.req("P3.LOG.3")
def test_print_line_writes_the_text_and_a_line_break(capsys: pytest.CaptureFixture[str]) -> None:
    """print_line prints one whole line."""
    print_line("odd: 1")
    assert capsys.readouterr().out == "odd: 1\n"


@pytest.mark.req("P3.LOG.5")
def test_print_line_escapes_control_characters_so_the_text_stays_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A line break or an escape sequence in the text is written as text."""
    print_line("element 1 (id a\nb\x1b[2J)")
    assert capsys.readouterr().out == "element 1 (id a\\nb\\x1b[2J)\n"


@pytest.mark.req("P3.LOG.5")
@pytest.mark.parametrize(
    ("encoding", "text", "written"),
    [("ascii", "IRM \u00e9", b"IRM \\xe9\n"), ("utf-8", "a\ud800b", b"a\\ud800b\n")],
    ids=["not-in-the-encoding", "lone-surrogate"],
)
def test_print_line_writes_what_stdout_cannot_encode_as_a_backslash_escape(
    encoding: str, text: str, written: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A character stdout cannot encode is escaped instead of failing the write."""
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding=encoding, newline="\n")
    monkeypatch.setattr(sys, "stdout", stdout)
    print_line(text)
    assert raw.getvalue() == written


@pytest.mark.req("P3.EO.4")
def test_ctrl_c_while_the_threads_start_joins_the_started_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C before the even thread exists: odd is stopped and joined, nothing is printed."""
    start = threading.Thread.start

    def start_or_interrupt(thread: threading.Thread) -> None:
        if thread.name == "even":
            raise KeyboardInterrupt
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", start_or_interrupt)
    result = print_even_odd(1, 10, 0)
    assert (numbers(result), result.interrupted) == ([], True)
    assert part3_threads() == []
