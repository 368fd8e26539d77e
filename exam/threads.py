"""Part 3: two threads taking turns to print the numbers in order.

:func:`print_even_odd` starts an ``odd`` and an ``even`` thread.  One
:class:`threading.Condition` guards a shared "next number": a thread waits
until the next number has its parity, waits out the interval, prints, moves
the number on and wakes the other.  The same condition carries the stop
request, so Ctrl-C (a :class:`KeyboardInterrupt` in the main thread) wakes
both threads at once, whatever they were waiting for, and they are joined
before the function returns.

:func:`print_line` is how every thread of the package prints: one complete line
per write, under a lock, its control characters and whatever stdout cannot
encode written as backslash escapes.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from dataclasses import dataclass

from exam.logs import escape_controls, get_logger

logger = get_logger(__name__)

_stdout_lock = threading.Lock()


def print_line(text: str) -> None:
    """Write ``text`` to stdout as one whole line, in one write, and flush.

    ``print`` writes the text and the line break separately, so two threads
    printing at once can produce ``ab\\n\\n``; one locked write cannot.  The
    text can come from a file, so its control characters (line breaks
    included) are escaped, and what stdout cannot encode becomes a backslash
    escape: whatever the text, it is one line, and it drives no terminal.
    """
    encoding = sys.stdout.encoding or "utf-8"
    line = escape_controls(text).encode(encoding, "backslashreplace").decode(encoding)
    with _stdout_lock:
        sys.stdout.write(f"{line}\n")
        sys.stdout.flush()


@dataclass(frozen=True)
class PrintedNumber:
    """One number as printed: by which thread, and when.

    ``elapsed`` is in seconds since the printing started (the first number is
    printed at once, each next one an ``interval`` after the previous).
    """

    number: int
    thread_name: str
    elapsed: float


@dataclass(frozen=True)
class EvenOddResult:
    """What :func:`print_even_odd` printed, in order, and whether Ctrl-C stopped it."""

    printed: tuple[PrintedNumber, ...]
    interrupted: bool


class _Turns:
    """The state both printer threads share, guarded by one condition."""

    def __init__(self, start: int, stop: int, interval: float) -> None:
        self.condition = threading.Condition()
        self.stop = stop
        self.interval = interval
        self.next_number = start
        self.started = False
        self.stopping = False
        self.ended = 0
        self.origin = 0.0
        self.last_printed = 0.0
        self.printed: list[PrintedNumber] = []

    def begin(self) -> None:
        """Let the threads print, from now."""
        with self.condition:
            self.origin = self.last_printed = time.monotonic()
            self.started = True
            self.condition.notify_all()

    def request_stop(self) -> None:
        """Make both threads return as soon as they hold the condition."""
        with self.condition:
            self.stopping = True
            self.condition.notify_all()

    def wait_until_ended(self, threads: int) -> None:
        """Return once ``threads`` printer threads have ended."""
        with self.condition:
            self.condition.wait_for(lambda: self.ended == threads)

    def take_turns(self, parity: int) -> None:
        """Print each number of ``parity`` (1 odd, 0 even) when its turn comes."""
        with self.condition:
            try:
                self._take_turns(parity)
            finally:
                # However this thread ends (done, stopped, or stdout failing),
                # the other one must not wait for a turn that will never come.
                self.stopping = True
                self.ended += 1
                self.condition.notify_all()

    def _take_turns(self, parity: int) -> None:
        while True:
            self.condition.wait_for(lambda: self._finished() or self._turn_of(parity))
            if self._finished() or not self._wait_interval():
                return
            self._print(self.next_number)
            self.next_number += 1
            self.condition.notify_all()

    def _finished(self) -> bool:
        return self.stopping or self.next_number > self.stop

    def _turn_of(self, parity: int) -> bool:
        return self.started and self.next_number % 2 == parity

    def _wait_interval(self) -> bool:
        """Wait until the next number is due; False when a stop came first.

        The first number is due at once; each next one ``interval`` after the
        previous was printed, so no gap is ever shorter than the interval.
        """
        if not self.printed:
            return True
        delay = self.last_printed + self.interval - time.monotonic()
        return not self.condition.wait_for(lambda: self.stopping, timeout=max(delay, 0.0))

    def _print(self, number: int) -> None:
        name = threading.current_thread().name
        print_line(f"{name}: {number}")
        self.last_printed = time.monotonic()
        self.printed.append(PrintedNumber(number, name, self.last_printed - self.origin))


def print_even_odd(
    start: int = 1,
    stop: int = 200,
    interval: float = 0.5,
) -> EvenOddResult:
    """Print ``start`` to ``stop`` in order from two threads, one number per ``interval``.

    The thread named ``odd`` prints the odd numbers, ``even`` the even ones;
    each line reads ``odd: 1``.  Both threads are running before the first
    number is printed, and both have ended when this returns.

    Parameters
    ----------
    start, stop:
        The first and last number (inclusive); nothing is printed when
        ``start > stop``.
    interval:
        Seconds between two numbers (``0`` prints as fast as possible).

    Returns
    -------
    EvenOddResult
        The printed numbers with their thread and time, and ``interrupted``
        when Ctrl-C stopped the run (logged as a warning, not raised).

    Raises
    ------
    ValueError
        When ``interval`` is negative or not finite.
    """
    if not math.isfinite(interval) or interval < 0:
        raise ValueError(f"interval must be a finite number of seconds >= 0, got {interval}")
    turns = _Turns(start, stop, interval)
    workers = [
        threading.Thread(target=turns.take_turns, args=(parity,), name=name)
        for parity, name in ((1, "odd"), (0, "even"))
    ]
    interrupted = False
    try:
        for worker in workers:
            worker.start()
        turns.begin()
        # Wait on the condition rather than in join(): on Python 3.11 a Ctrl-C
        # inside join() marks a still-running thread as stopped, and the join
        # after it would return at once, leaving the thread behind.
        turns.wait_until_ended(len(workers))
    except KeyboardInterrupt:
        interrupted = True
        turns.request_stop()
    for worker in workers:
        if worker.ident is not None:
            worker.join()
    total = max(stop - start + 1, 0)
    if interrupted:
        logger.warning(
            "even/odd printing interrupted after %d of %d numbers", len(turns.printed), total
        )
    else:
        logger.info("even/odd printing done: %d numbers from %d to %d", total, start, stop)
    return EvenOddResult(tuple(turns.printed), interrupted)
