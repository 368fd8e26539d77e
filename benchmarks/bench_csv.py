"""Benchmark ``exam.files.read_csv`` against pandas on a large generated CSV.

Usage::

    python benchmarks/bench_csv.py [--rows 2000000] [--cols 6] [--out benchmarks/.data/]

The CSV (``bench-ROWSxCOLS.csv``, random normal numbers with six decimals) is
generated once and reused.  Each tool then runs ``--repeat`` times, each run in
a fresh interpreter so that no run inherits another's memory:

* ``exam``: ``exam.files.read_csv(folder, name)``, its printing captured and
  dropped;
* ``pandas``: ``pandas.read_csv(file)`` then ``.mean()`` and ``.std()`` (pandas'
  ``std`` is the sample standard deviation too, so the figures must agree).

A run measures its own wall time around the work only, its resident memory
after the imports (the baseline: interpreter, numpy, pandas) and its peak
resident memory during the work (on Linux the high-water mark is reset after
the imports through ``/proc/self/clear_refs``; elsewhere ``ru_maxrss`` is the
fallback).  The table shows the best time, the peak over the baseline, the
peak and the baseline, then the ratios against the targets of the issue: time
within 2x pandas, peak memory at most a quarter of pandas' (compared over the
baselines, since importing pandas alone outweighs ``read_csv``'s whole
working memory).  It ends with the largest relative difference between the
two tools' means and standard deviations.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / ".data"
TOOLS = ("exam", "pandas")
TIME_TARGET = 2.0
MEMORY_TARGET = 0.25
MIB = 1024 * 1024


@dataclass(frozen=True)
class Measurement:
    """One run of one tool: time of the work, memory, and the statistics it found."""

    tool: str
    seconds: float
    baseline_bytes: int
    peak_bytes: int
    means: list[float]
    stds: list[float]

    @property
    def working_bytes(self) -> int:
        """Peak resident memory above the baseline after imports."""
        return self.peak_bytes - self.baseline_bytes


def generate_csv(folder: Path, rows: int, cols: int, *, seed: int = 20241126) -> Path:
    """Return the benchmark CSV in ``folder``, writing it first unless it exists.

    Columns ``c1`` ... ``cN`` hold normal numbers with mean ``100 * i`` and
    standard deviation ``15 * i``, six decimals.  The file is written under a
    temporary name and renamed, so an interrupted run never leaves a partial
    file to be reused.
    """
    path = folder / f"bench-{rows}x{cols}.csv"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    rng = np.random.default_rng(seed)
    scale = np.arange(1, cols + 1, dtype=np.float64)
    with partial.open("w", encoding="ascii", newline="\n") as stream:
        stream.write(",".join(f"c{i}" for i in range(1, cols + 1)) + "\n")
        for start in range(0, rows, 100_000):
            count = min(100_000, rows - start)
            block = rng.normal(100.0 * scale, 15.0 * scale, size=(count, cols))
            np.savetxt(stream, block, fmt="%.6f", delimiter=",")
    partial.rename(path)
    return path


def measure(tool: str, path: Path) -> Measurement:
    """Run ``tool`` on ``path`` in this process and measure it (the child side).

    Only meaningful in a fresh interpreter: ``ru_maxrss`` is a high-water mark.
    """
    if tool == "exam":
        from exam.files import read_csv

        baseline = _start_measuring()
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            summary = read_csv(path.parent, path.name)
        seconds = time.perf_counter() - start
        if summary is None:
            raise SystemExit(f"read_csv failed on {path}")
        means = [column.mean for column in summary.numeric]
        stds = [
            column.std if column.std is not None else float("nan") for column in summary.numeric
        ]
    else:
        import pandas as pd

        baseline = _start_measuring()
        start = time.perf_counter()
        frame = pd.read_csv(path)
        mean_series, std_series = frame.mean(), frame.std()
        seconds = time.perf_counter() - start
        means, stds = mean_series.tolist(), std_series.tolist()
    return Measurement(tool, seconds, baseline, _peak_rss(), means, stds)


def _start_measuring() -> int:
    """Return the resident memory now, and restart the peak from it where Linux allows.

    Writing 5 to ``/proc/self/clear_refs`` resets the high-water mark, so that
    a transient peak during the imports is not counted as the work's.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return _peak_rss()
    return _status_kib("VmRSS") * 1024


def _peak_rss() -> int:
    """Peak resident set size of this process so far, in bytes."""
    try:
        return _status_kib("VmHWM") * 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _status_kib(field: str) -> int:
    """Read one ``kB`` field of ``/proc/self/status``."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise OSError(f"/proc/self/status has no {field}")


def run_child(tool: str, path: Path) -> Measurement:
    """Measure ``tool`` on ``path`` in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", tool, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return Measurement(**json.loads(result.stdout))


def best_of(runs: Sequence[Measurement]) -> Measurement:
    """Fold repeated runs into one: the shortest time and the largest peak."""
    first = runs[0]
    return Measurement(
        first.tool,
        min(run.seconds for run in runs),
        max(run.baseline_bytes for run in runs),
        max(run.peak_bytes for run in runs),
        first.means,
        first.stds,
    )


def max_relative_difference(ours: Sequence[float], theirs: Sequence[float]) -> float:
    """Largest ``|a - b| / |b|`` over paired values."""
    a, b = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.abs(b)))


def format_report(path: Path, rows: int, cols: int, exam: Measurement, pandas: Measurement) -> str:
    """Render the side-by-side table, the ratios against the targets and the agreement."""
    time_ratio = exam.seconds / pandas.seconds
    memory_ratio = exam.working_bytes / pandas.working_bytes
    peak_ratio = exam.peak_bytes / pandas.peak_bytes

    def verdict(ratio: float, target: float) -> str:
        return "met" if ratio <= target else "MISSED"

    table = [
        ("", "exam read_csv", "pandas", "exam/pandas", "target"),
        (
            "time (s)",
            f"{exam.seconds:.2f}",
            f"{pandas.seconds:.2f}",
            f"{time_ratio:.2f}",
            f"<= {TIME_TARGET:g} {verdict(time_ratio, TIME_TARGET)}",
        ),
        (
            "peak RSS over baseline (MiB)",
            f"{exam.working_bytes / MIB:.1f}",
            f"{pandas.working_bytes / MIB:.1f}",
            f"{memory_ratio:.2f}",
            f"<= {MEMORY_TARGET:g} {verdict(memory_ratio, MEMORY_TARGET)}",
        ),
        (
            "peak RSS (MiB)",
            f"{exam.peak_bytes / MIB:.1f}",
            f"{pandas.peak_bytes / MIB:.1f}",
            f"{peak_ratio:.2f}",
            "",
        ),
        (
            "baseline after imports (MiB)",
            f"{exam.baseline_bytes / MIB:.1f}",
            f"{pandas.baseline_bytes / MIB:.1f}",
            "",
            "",
        ),
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]

    def table_line(row: tuple[str, ...]) -> str:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(cells).rstrip()

    size = path.stat().st_size / MIB
    lines = [
        f"CSV: {os.path.relpath(path)} ({rows:,} rows x {cols} columns, {size:.1f} MiB); "
        f"{os.cpu_count()} CPU cores",
        *(table_line(row) for row in table),
        f"max relative difference: means {max_relative_difference(exam.means, pandas.means):.1e}, "
        f"stds {max_relative_difference(exam.stds, pandas.stds):.1e}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the CSV if needed, measure both tools, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="data rows (default 2000000)")
    parser.add_argument("--cols", type=int, default=6, help="numeric columns (default 6)")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="folder for the generated CSV"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool (default 3)")
    parser.add_argument("--child", nargs=2, metavar=("TOOL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        tool, file = args.child
        print(json.dumps(asdict(measure(tool, Path(file)))))
        return 0

    print(f"generating or reusing the CSV in {args.out} ...", file=sys.stderr)
    path = generate_csv(args.out, args.rows, args.cols)
    results = {}
    for tool in TOOLS:
        print(f"measuring {tool} ({args.repeat} runs) ...", file=sys.stderr)
        results[tool] = best_of([run_child(tool, path) for _ in range(args.repeat)])
    print(format_report(path, args.rows, args.cols, results["exam"], results["pandas"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
