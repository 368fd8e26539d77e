"""The measurement code every benchmark shares.

A benchmark runs each contender in a fresh interpreter -- the script calls
itself with ``--child`` -- so that no run inherits another's memory or caches.
The child does its imports and set-up, measures the work with :func:`measure`
and prints the :class:`Run` with :func:`report`; the parent reads it back with
:func:`run_child`, which also times the whole child process.  :func:`fold`
turns repeated runs into one (best or median time, largest memory), and
:func:`table` and :func:`verdict` print the results.

Memory is the resident set size: the baseline is what the process holds after
its imports and set-up, the peak is the high-water mark during the work.  On
Linux the mark is reset after the set-up (writing 5 to
``/proc/self/clear_refs``), so a transient peak while importing is not counted
as the work's; elsewhere ``ru_maxrss`` (which includes it) is the fallback.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


@dataclass(frozen=True)
class Run:
    """One measured run of one contender.

    Attributes
    ----------
    name:
        The contender.
    seconds, cpu_seconds:
        Wall-clock and CPU time of the work alone.
    baseline_bytes:
        Resident memory after the imports and set-up.
    peak_bytes:
        Peak resident memory during the work.
    values:
        What the work computed, to compare the contenders' results.
    process_seconds:
        Wall-clock time of the whole child process (start-up and imports
        included), as the parent saw it; 0 until :func:`run_child` sets it.
    """

    name: str
    seconds: float
    cpu_seconds: float
    baseline_bytes: int
    peak_bytes: int
    values: list[float]
    process_seconds: float = 0.0

    @property
    def working_bytes(self) -> int:
        """Peak resident memory above the baseline."""
        return self.peak_bytes - self.baseline_bytes


@dataclass(frozen=True)
class Samples:
    """Repeated measurements of one thing (request latencies, say)."""

    values: list[float]

    @property
    def best(self) -> float:
        """The smallest value."""
        return min(self.values)

    @property
    def median(self) -> float:
        """The median value."""
        return statistics.median(self.values)

    @property
    def p95(self) -> float:
        """The 95th percentile."""
        return statistics.quantiles(self.values, n=20)[-1]


def measure(name: str, work: Callable[[], Iterable[float]]) -> Run:
    """Run ``work`` once in this process and measure it (the child side).

    Call it after the imports and set-up: the baseline is taken, and the peak
    restarted, on entry.
    """
    baseline = _start_measuring()
    start, cpu_start = time.perf_counter(), time.process_time()
    values = [float(value) for value in work()]
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    return Run(name, seconds, cpu_seconds, baseline, peak_rss(), values)


def report(run: Run) -> None:
    """Print ``run`` for :func:`run_child` to read: the child's only output on stdout."""
    print(json.dumps(asdict(run)))


def run_child(script: Path, *args: str) -> Run:
    """Run ``script --child ARGS`` in a fresh interpreter; return its :class:`Run`, timed whole."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(script), "--child", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{script.name} --child {' '.join(args)} failed:\n{result.stderr}")
    return replace(Run(**json.loads(result.stdout)), process_seconds=elapsed)


def fold(runs: Sequence[Run], pick: Callable[[list[float]], float]) -> Run:
    """Fold repeated runs into one: times chosen by ``pick`` (min, median), the largest memory."""
    first = runs[0]
    return Run(
        first.name,
        pick([run.seconds for run in runs]),
        pick([run.cpu_seconds for run in runs]),
        max(run.baseline_bytes for run in runs),
        max(run.peak_bytes for run in runs),
        first.values,
        pick([run.process_seconds for run in runs]),
    )


def peak_rss() -> int:
    """Peak resident set size of this process so far (since the last reset), in bytes."""
    try:
        return _status_kib("VmHWM") * 1024
    except OSError:
        # ru_maxrss is in KiB on Linux, in bytes on macOS.
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _start_measuring() -> int:
    """Return the resident memory now, and restart the peak from it where Linux allows."""
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return peak_rss()
    return _status_kib("VmRSS") * 1024


def _status_kib(field: str) -> int:
    """Read one ``kB`` field of ``/proc/self/status``."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise OSError(f"/proc/self/status has no {field}")


def max_relative_difference(ours: Sequence[float], theirs: Sequence[float]) -> float:
    """Largest ``|a - b| / |b|`` over paired values (inf when the counts differ)."""
    if len(ours) != len(theirs):
        return float("inf")
    a, b = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.abs(b)))


def verdict(ratio: float, target: float) -> str:
    """``<= TARGET met`` or ``<= TARGET MISSED``."""
    return f"<= {target:g} {'met' if ratio <= target else 'MISSED'}"


def table(rows: Sequence[Sequence[str]]) -> str:
    """Render rows as a plain-text table: the first column left-aligned, the others right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(row: Sequence[str]) -> str:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(cells).rstrip()

    return "\n".join(line(row) for row in rows)
