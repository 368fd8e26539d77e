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

A run (measured by ``harness.py``) gives the wall and CPU time of the work
only, the resident memory after the imports and set-up (the baseline) and the
peak during the work.  The report shows the median times and the largest peak of each contender, the
ratios against the issue's targets (time at most 1.2x the floor's, peak memory
at most 2x), and checks that both computed the same averages.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import harness
import numpy as np
from harness import MIB, Run

ROOT = harness.ROOT
DEFAULT_OUT = ROOT / "benchmarks" / ".data"
CONTENDERS = ("floor", "threads")
TIME_TARGET = 1.2
MEMORY_TARGET = 2.0


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


def measure(contender: str, path: Path, max_threads: int) -> Run:
    """Run ``contender`` on ``path`` in this process and measure it (the child side)."""
    if contender == "floor":
        return harness.measure(contender, lambda: floor(path))

    from exam.elements import ElementReport, process_json_file
    from exam.logs import configure_logging, shutdown_logging

    def work() -> list[float]:
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
            outcomes = process_json_file(path.parent, path.name, max_threads)
        # Draining the log queue is part of the cost.
        shutdown_logging()
        reports = [o for o in outcomes or [] if isinstance(o, ElementReport)]
        return [value for r in reports for value in (r.average_before, r.average_after)]

    with tempfile.TemporaryDirectory() as folder:
        configure_logging(log_file=Path(folder) / "bench.log")
        return harness.measure(contender, work)


def run_child(contender: str, path: Path, max_threads: int) -> Run:
    """Measure ``contender`` on ``path`` in a fresh interpreter."""
    script = Path(__file__).resolve()
    return harness.run_child(script, contender, str(path), "--max-threads", str(max_threads))


def format_report(path: Path, repeat: int, max_threads: int, floor_run: Run, threads: Run) -> str:
    """Render the side-by-side table, the ratios against the targets and the agreement."""
    time_ratio = threads.seconds / floor_run.seconds
    cpu_ratio = threads.cpu_seconds / floor_run.cpu_seconds
    peak_ratio = threads.peak_bytes / floor_run.peak_bytes
    working_ratio = threads.working_bytes / floor_run.working_bytes
    table = [
        ["", "floor", f"threads ({max_threads})", "threads/floor", "target"],
        [
            "median time (s)",
            f"{floor_run.seconds:.3f}",
            f"{threads.seconds:.3f}",
            f"{time_ratio:.2f}",
            harness.verdict(time_ratio, TIME_TARGET),
        ],
        [
            "median CPU time (s)",
            f"{floor_run.cpu_seconds:.3f}",
            f"{threads.cpu_seconds:.3f}",
            f"{cpu_ratio:.2f}",
            "",
        ],
        [
            "peak RSS (MiB)",
            f"{floor_run.peak_bytes / MIB:.1f}",
            f"{threads.peak_bytes / MIB:.1f}",
            f"{peak_ratio:.2f}",
            harness.verdict(peak_ratio, MEMORY_TARGET),
        ],
        [
            "peak RSS over baseline (MiB)",
            f"{floor_run.working_bytes / MIB:.1f}",
            f"{threads.working_bytes / MIB:.1f}",
            f"{working_ratio:.2f}",
            harness.verdict(working_ratio, MEMORY_TARGET),
        ],
    ]
    ours, theirs = threads.values, floor_run.values
    agreement = (
        "averages agree: max relative difference "
        f"{harness.max_relative_difference(ours, theirs):.1e}"
        if len(ours) == len(theirs)
        else f"averages DISAGREE: {len(ours)} from the threads, {len(theirs)} from the floor"
    )
    size = path.stat().st_size / MIB
    return "\n".join(
        [
            f"JSON: {path.name} (20 elements x 250,000 values, {size:.1f} MiB); "
            f"{repeat} runs each; {os.cpu_count()} CPU cores",
            harness.table(table),
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
        harness.report(measure(contender, Path(file), args.max_threads))
        return 0

    print(f"generating or reusing the JSON file in {args.out} ...", file=sys.stderr)
    path = generated_file(args.out)
    runs: dict[str, list[Run]] = {contender: [] for contender in CONTENDERS}
    print(f"measuring {' and '.join(CONTENDERS)}, {args.repeat} runs each ...", file=sys.stderr)
    for _ in range(args.repeat):
        for contender in CONTENDERS:
            runs[contender].append(run_child(contender, path, args.max_threads))
    print(
        format_report(
            path,
            args.repeat,
            args.max_threads,
            harness.fold(runs["floor"], statistics.median),
            harness.fold(runs["threads"], statistics.median),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
