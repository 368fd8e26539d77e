"""Benchmark ``exam.elements.process_json_file`` against a single-threaded numpy floor.

Usage::

    python benchmarks/bench_elements.py [--repeat 5] [--max-threads 4] [--out benchmarks/.data/]

The input is the file ``fixtures/make_json.py`` writes by default (20 elements
of 250,000 values, 500 rows x 500 columns, about 14 MiB), generated once into
``--out`` and reused.  Two contenders, each run ``--repeat`` times, alternating,
every run in a fresh interpreter so that none inherits another's memory:

* ``threads``: ``process_json_file(folder, name, max_threads)`` with its
  printing sent to ``/dev/null`` and its log records to a temporary shared log
  file (the time includes draining the log queue);
* ``floor``: a plain script doing the same work in one thread -- read the JSON,
  parse each element with numpy's text reader, divide by the maximum, average
  before and after -- with no validation, printing, logging or threads.

A run measures the wall and CPU time of the work only, and its peak resident
set size (``VmHWM`` on Linux) after the imports (the baseline) and at the end.
The report shows the median times and the largest peak of each contender, the
ratios against the issue's targets (time at most 1.2x the floor's, peak memory
at most 2x), and checks that both computed the same averages.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / ".data"
CONTENDERS = ("floor", "threads")
TIME_TARGET = 1.2
MEMORY_TARGET = 2.0
MIB = 1024 * 1024


@dataclass(frozen=True)
class Measurement:
    """One run of one contender: time of the work, memory, and the averages it found."""

    contender: str
    seconds: float
    cpu_seconds: float
    baseline_bytes: int
    peak_bytes: int
    averages: list[float]

    @property
    def working_bytes(self) -> int:
        """Peak resident memory above the baseline after imports."""
        return self.peak_bytes - self.baseline_bytes


def generated_file(folder: Path) -> Path:
    """Return the default large file in ``folder``, writing it with make_json.py unless present."""
    spec = importlib.util.spec_from_file_location("make_json", ROOT / "fixtures" / "make_json.py")
    assert spec is not None
    assert spec.loader is not None
    make_json = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_json)
    path: Path = folder / make_json.default_name(20, 500, 500)
    if not path.exists():
        # Written under another name first, so an interrupted run leaves no partial file to reuse.
        partial = make_json.write_json(path.with_suffix(".partial"))
        partial.rename(path)
    return path


def floor(path: Path) -> list[float]:
    """The same parsing and normalisation as the threads, in one thread, nothing else."""
    averages = []
    for element in json.loads(path.read_text(encoding="utf-8")).values():
        values = np.loadtxt(element["data"], dtype=np.float64, comments=None, ndmin=2)
        normalized = values / values.max()
        averages += [float(values.mean()), float(normalized.mean())]
    return averages


def measure(contender: str, path: Path, max_threads: int) -> Measurement:
    """Run ``contender`` on ``path`` in this process and measure it (the child side).

    Only meaningful in a fresh interpreter: ``ru_maxrss`` is a high-water mark.
    """
    if contender == "floor":
        baseline = _peak_rss()
        start, cpu_start = time.perf_counter(), time.process_time()
        averages = floor(path)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    else:
        from exam.elements import ElementReport, process_json_file
        from exam.logs import configure_logging, shutdown_logging

        with tempfile.TemporaryDirectory() as folder:
            configure_logging(log_file=Path(folder) / "bench.log")
            baseline = _peak_rss()
            start, cpu_start = time.perf_counter(), time.process_time()
            with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
                outcomes = process_json_file(path.parent, path.name, max_threads)
            shutdown_logging()
            seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
        reports = [o for o in outcomes or [] if isinstance(o, ElementReport)]
        averages = [value for r in reports for value in (r.average_before, r.average_after)]
    return Measurement(contender, seconds, cpu_seconds, baseline, _peak_rss(), averages)


def _peak_rss() -> int:
    """Peak resident set size of this process so far, in bytes.

    Linux's ``VmHWM`` belongs to this program alone; ``ru_maxrss`` (the fallback
    elsewhere) also counts the parent's memory at the fork that started it.
    """
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def run_child(contender: str, path: Path, max_threads: int) -> Measurement:
    """Measure ``contender`` on ``path`` in a fresh interpreter."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", contender, str(path)]
    result = subprocess.run(
        [*command, "--max-threads", str(max_threads)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return Measurement(**json.loads(result.stdout))


def summarize(runs: Sequence[Measurement]) -> Measurement:
    """Fold repeated runs into one: the median times and the largest peak."""
    first = runs[0]
    return Measurement(
        first.contender,
        statistics.median(run.seconds for run in runs),
        statistics.median(run.cpu_seconds for run in runs),
        max(run.baseline_bytes for run in runs),
        max(run.peak_bytes for run in runs),
        first.averages,
    )


def format_report(
    path: Path, repeat: int, max_threads: int, floor_run: Measurement, threads: Measurement
) -> str:
    """Render the side-by-side table, the ratios against the targets and the agreement."""

    def verdict(ratio: float, target: float) -> str:
        return f"<= {target:g} {'met' if ratio <= target else 'MISSED'}"

    time_ratio = threads.seconds / floor_run.seconds
    cpu_ratio = threads.cpu_seconds / floor_run.cpu_seconds
    peak_ratio = threads.peak_bytes / floor_run.peak_bytes
    working_ratio = threads.working_bytes / floor_run.working_bytes
    table = [
        ("", "floor", f"threads ({max_threads})", "threads/floor", "target"),
        (
            "median time (s)",
            f"{floor_run.seconds:.3f}",
            f"{threads.seconds:.3f}",
            f"{time_ratio:.2f}",
            verdict(time_ratio, TIME_TARGET),
        ),
        (
            "median CPU time (s)",
            f"{floor_run.cpu_seconds:.3f}",
            f"{threads.cpu_seconds:.3f}",
            f"{cpu_ratio:.2f}",
            "",
        ),
        (
            "peak RSS (MiB)",
            f"{floor_run.peak_bytes / MIB:.1f}",
            f"{threads.peak_bytes / MIB:.1f}",
            f"{peak_ratio:.2f}",
            verdict(peak_ratio, MEMORY_TARGET),
        ),
        (
            "peak RSS over baseline (MiB)",
            f"{floor_run.working_bytes / MIB:.1f}",
            f"{threads.working_bytes / MIB:.1f}",
            f"{working_ratio:.2f}",
            verdict(working_ratio, MEMORY_TARGET),
        ),
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]

    def table_line(row: tuple[str, ...]) -> str:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(cells).rstrip()

    ours = np.asarray(threads.averages)
    theirs = np.asarray(floor_run.averages)
    agreement = (
        f"averages agree: max relative difference {np.max(np.abs(ours - theirs) / theirs):.1e}"
        if ours.shape == theirs.shape
        else f"averages DISAGREE: {ours.size} from the threads, {theirs.size} from the floor"
    )
    size = path.stat().st_size / MIB
    return "\n".join(
        [
            f"JSON: {path.name} (20 elements x 250,000 values, {size:.1f} MiB); "
            f"{repeat} runs each; {os.cpu_count()} CPU cores",
            *(table_line(row) for row in table),
            agreement,
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the file if needed, measure both contenders, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per contender (default 5)")
    parser.add_argument("--max-threads", type=int, default=4, help="element threads (default 4)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the JSON file")
    parser.add_argument("--child", nargs=2, metavar=("WHO", "FILE"), help=argparse.SUPPRESS)
    # tox passes the same {posargs} to every benchmark: ignore the other benchmarks' options.
    args, _ = parser.parse_known_args(argv)

    if args.child:
        contender, file = args.child
        print(json.dumps(asdict(measure(contender, Path(file), args.max_threads))))
        return 0

    print(f"generating or reusing the JSON file in {args.out} ...", file=sys.stderr)
    path = generated_file(args.out)
    runs: dict[str, list[Measurement]] = {contender: [] for contender in CONTENDERS}
    print(f"measuring {' and '.join(CONTENDERS)}, {args.repeat} runs each ...", file=sys.stderr)
    for _ in range(args.repeat):
        for contender in CONTENDERS:
            runs[contender].append(run_child(contender, path, args.max_threads))
    print(
        format_report(
            path,
            args.repeat,
            args.max_threads,
            summarize(runs["floor"]),
            summarize(runs["threads"]),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
