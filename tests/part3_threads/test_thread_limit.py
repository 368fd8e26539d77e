"""process_json_file's thread limit: at most max_threads alive, and freed slots refilled at once."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from exam.elements import ElementReport, process_json_file
from tests.part3_threads.conftest import element, part3_threads

ELEMENTS = 24


class SlotProbe:
    """Stands in for summarize_element and watches the element threads.

    Until ``max_threads`` calls are running at once, every call waits, so the
    limit is reached however the threads are scheduled; from then on each call
    takes ``work`` seconds (the injected delay), so threads overlap and slots
    keep being freed and refilled.
    """

    def __init__(self, max_threads: int, work: float = 0.005) -> None:
        self.max_threads = max_threads
        self.work = work
        self.condition = threading.Condition()
        self.running = 0
        self.most_running = 0
        self.most_alive = 0
        self.full = False
        self.thread_names: list[str] = []
        self.threads: set[threading.Thread] = set()
        self.starts: list[float] = []
        self.ends: list[float] = []

    def __call__(self, key: str, item: object) -> ElementReport:
        with self.condition:
            self.starts.append(time.monotonic())
            self.thread_names.append(threading.current_thread().name)
            self.threads.add(threading.current_thread())
            self.most_alive = max(self.most_alive, len(part3_threads()))
            self.running += 1
            self.most_running = max(self.most_running, self.running)
            self.full = self.full or self.running == self.max_threads
            self.condition.notify_all()
            self.condition.wait_for(lambda: self.full or len(self.starts) == ELEMENTS, timeout=10)
        time.sleep(self.work)
        with self.condition:
            self.running -= 1
            self.ends.append(time.monotonic())
        return ElementReport(key, "id", None, 1, (1, 1), 1.0, 1.0, 1.0)

    def refill_delays(self) -> list[float]:
        """Seconds from each slot's release to the start it allowed.

        The (max_threads + n)-th start needs n threads to have ended, so it is
        paired with the n-th end.
        """
        starts = sorted(self.starts)[self.max_threads :]
        return [start - end for start, end in zip(starts, sorted(self.ends), strict=False)]


@pytest.fixture
def many_elements(tmp_path: Path) -> Path:
    """A file of 24 small elements."""
    path = tmp_path / "many.json"
    content = {str(k): element(f"id{k}", "1 2") for k in range(1, ELEMENTS + 1)}
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


def run_probed(path: Path, max_threads: int) -> SlotProbe:
    """Process the file with a probe in place of the real work."""
    probe = SlotProbe(max_threads)
    assert process_json_file(path.parent, path.name, max_threads, process=probe) is not None
    return probe


@pytest.mark.req("P3.EL.2")
@pytest.mark.parametrize("max_threads", [1, 2, 4, 8])
def test_the_most_element_threads_alive_at_once_is_exactly_max_threads(
    many_elements: Path, max_threads: int
) -> None:
    """The limit is reached and never exceeded, counting every live element thread."""
    probe = run_probed(many_elements, max_threads)
    assert probe.most_running == max_threads
    assert probe.most_alive == max_threads


@pytest.mark.req("P3.EL.1", "P3.EL.2")
def test_by_default_four_element_threads_are_alive_at_once(many_elements: Path) -> None:
    """Without max_threads, the limit reached and never exceeded is 4."""
    probe = SlotProbe(4)
    assert process_json_file(many_elements.parent, many_elements.name, process=probe) is not None
    assert (probe.most_running, probe.most_alive) == (4, 4)


@pytest.mark.req("P3.EL.2")
@pytest.mark.parametrize("max_threads", [1, 2, 4, 8])
def test_one_thread_is_started_per_element(many_elements: Path, max_threads: int) -> None:
    """Twenty-four elements give twenty-four threads, each named after its element."""
    probe = run_probed(many_elements, max_threads)
    assert sorted(probe.thread_names) == sorted(f"element-{k}" for k in range(1, ELEMENTS + 1))
    # Distinct Thread objects, not only distinct names: a reused (renamed) thread would count once.
    assert len(probe.threads) == ELEMENTS


@pytest.mark.req("P3.EL.2")
@pytest.mark.parametrize("max_threads", [1, 2, 4, 8])
def test_a_freed_slot_is_refilled_within_a_small_bound(
    many_elements: Path, max_threads: int
) -> None:
    """Every start after the first max_threads follows a thread's end within 0.25 s."""
    probe = run_probed(many_elements, max_threads)
    delays = probe.refill_delays()
    assert len(delays) == ELEMENTS - max_threads
    assert min(delays) >= 0
    assert max(delays) < 0.25


@pytest.mark.req("P3.EL.2")
def test_a_slow_element_does_not_hold_up_the_others(many_elements: Path) -> None:
    """With two slots, element 1 waits until element 24 has started: no batch waits for it."""
    last_started = threading.Event()
    waited: list[bool] = []

    def process(key: str, item: object) -> ElementReport:
        if key == "1":
            waited.append(last_started.wait(timeout=10))
        elif key == str(ELEMENTS):
            last_started.set()
        return ElementReport(key, "id", None, 1, (1, 1), 1.0, 1.0, 1.0)

    process_json_file(many_elements.parent, many_elements.name, 2, process=process)
    assert waited == [True]
