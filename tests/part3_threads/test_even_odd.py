"""print_even_odd (exam/threads.py): two threads taking turns to print the numbers in order."""

from __future__ import annotations

import itertools
import logging
import threading
import time

import pytest

from exam.threads import EvenOddResult, PrintedNumber, print_even_odd, print_line
from tests.part3_threads.conftest import part3_threads, send_ctrl_c


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
        assert result.numbers == list(range(start, stop + 1))
        assert not result.interrupted

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
    def test_each_printer_is_a_thread_of_its_own(self) -> None:
        """Odd and even numbers are printed by two distinct threads, neither the caller."""
        idents: dict[str, set[int | None]] = {"odd": set(), "even": set()}
        main = threading.get_ident()

        def note(entry: PrintedNumber) -> None:
            idents[entry.thread_name].add(threading.get_ident())

        print_even_odd(1, 10, 0, on_print=note)
        assert len(idents["odd"]) == len(idents["even"]) == 1
        assert idents["odd"].isdisjoint(idents["even"])
        assert main not in idents["odd"] | idents["even"]


class TestConcurrency:
    """Both threads run at the same time, and none outlives the call."""

    @pytest.mark.req("P3.EO.2")
    def test_both_threads_are_alive_whenever_a_number_but_the_last_is_printed(self) -> None:
        """At every print before the last, the odd and the even thread are both alive."""
        alive: list[list[str]] = []
        print_even_odd(1, 12, 0, on_print=lambda entry: alive.append(part3_threads()))
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


@pytest.mark.usefixtures("ctrl_c_reaches_main")
class TestCtrlC:
    """A KeyboardInterrupt in the main thread stops the printing cleanly."""

    def interrupted_run(self) -> tuple[float, EvenOddResult]:
        """Press Ctrl-C right after 1 is printed; the next number is a minute away."""
        began = time.monotonic()
        result = print_even_odd(
            1, 5, 60.0, on_print=lambda entry: entry.number == 1 and send_ctrl_c()
        )
        return time.monotonic() - began, result

    @pytest.mark.req("P3.EO.4")
    def test_ctrl_c_returns_the_numbers_printed_so_far_marked_interrupted(self) -> None:
        """The interrupt is not raised: the result says what was printed before it."""
        _, result = self.interrupted_run()
        assert result.numbers == [1]
        assert result.interrupted

    @pytest.mark.req("P3.EO.4")
    def test_ctrl_c_wakes_a_thread_waiting_out_its_interval(self) -> None:
        """The run ends at once instead of waiting the minute until the next number."""
        elapsed, _ = self.interrupted_run()
        assert elapsed < 10.0

    @pytest.mark.req("P3.EO.4")
    def test_ctrl_c_leaves_no_printer_thread(self) -> None:
        """Both threads have been joined when the interrupted call returns."""
        self.interrupted_run()
        assert part3_threads() == []

    @pytest.mark.req("P3.EO.4")
    def test_ctrl_c_is_logged_as_a_warning(self, caplog: pytest.LogCaptureFixture) -> None:
        """One warning says how far the printing got."""
        self.interrupted_run()
        assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
            ("WARNING", "even/odd printing interrupted after 1 of 5 numbers")
        ]


@pytest.mark.req("P3.EO.1")
def test_a_complete_run_is_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    """The end of a run is logged once, with the range printed."""
    caplog.set_level(logging.INFO, logger="exam")
    print_even_odd(3, 8, 0)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "even/odd printing done: 6 numbers from 3 to 8")
    ]


@pytest.mark.req("P3.LOG.3")
def test_print_line_writes_the_text_and_a_line_break(capsys: pytest.CaptureFixture[str]) -> None:
    """print_line prints one whole line."""
    print_line("odd: 1")
    assert capsys.readouterr().out == "odd: 1\n"


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
    assert (result.numbers, result.interrupted) == ([], True)
    assert part3_threads() == []
