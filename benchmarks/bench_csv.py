"""Benchmark ``exam.files.read_csv`` against pandas and polars on a large generated CSV.

Usage::

    python benchmarks/bench_csv.py [--rows 2000000] [--cols 6] [--repeat 5] [--out DIR]

The CSV (``bench-ROWSxCOLS.csv``, random normal numbers with six decimals) is
generated once and reused.  Each tool then runs ``--repeat`` times, the tools
taking turns, every run in a fresh interpreter (see ``harness.py``):

* ``exam``: ``exam.files.read_csv(folder, name)``, its printing captured and
  dropped;
* ``pandas``: ``pandas.read_csv(file)`` then ``.mean()`` and ``.std()`` (pandas'
  ``std`` is the sample standard deviation too, so the figures must agree);
* ``polars``: ``polars.scan_csv(file)``, the mean and ``std`` of every column
  selected, collected with the streaming engine.

The table shows each tool's best and worst time of the work, the best time of
the whole process (start-up and imports included), and the largest peak
memory over the baseline after the imports, the peak and the baseline; then
the ratios to pandas against the targets of the issue: time within 1.5x
pandas', peak memory over the baseline at most a quarter of pandas'
(compared over the baselines, since importing pandas alone outweighs
``read_csv``'s whole working memory).  It ends with the largest relative
difference between each tool's means and standard deviations and pandas'.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import harness
import numpy as np
from harness import MIB, Run

DEFAULT_OUT = harness.ROOT / "benchmarks" / ".data"
TOOLS = ("exam", "pandas", "polars")
TIME_TARGET = 1.5
MEMORY_TARGET = 0.25


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


def measure(tool: str, path: Path) -> Run:
    """Run ``tool`` on ``path`` in this process and measure it (the child side).

    The run's values are the means of the columns, then their standard deviations.
    """
    if tool == "exam":
        from exam.files import read_csv

        def work() -> list[float]:
            with contextlib.redirect_stdout(io.StringIO()):
                summary = read_csv(path.parent, path.name)
            if summary is None:
                raise SystemExit(f"read_csv failed on {path}")
            stds = [np.nan if column.std is None else column.std for column in summary.numeric]
            return [column.mean for column in summary.numeric] + stds

    elif tool == "pandas":
        import pandas as pd

        def work() -> list[float]:
            frame = pd.read_csv(path)
            return frame.mean().tolist() + frame.std().tolist()

    else:
        import polars as pl

        def work() -> list[float]:
            scan = pl.scan_csv(path)
            names = scan.collect_schema().names()
            selected = [pl.col(name).mean() for name in names]
            selected += [pl.col(name).std().name.suffix(" std") for name in names]
            return list(scan.select(selected).collect(engine="streaming").row(0))

    return harness.measure(tool, work)


def run_child(tool: str, path: Path) -> Run:
    """Measure ``tool`` on ``path`` in a fresh interpreter."""
    return harness.run_child(Path(__file__).resolve(), tool, str(path))


def format_report(path: Path, rows: int, cols: int, runs: Mapping[str, Sequence[Run]]) -> str:
    """Render the side-by-side table, our ratios to pandas against the targets, and the agreement.

    ``runs`` holds every tool's runs, ``exam`` and ``pandas`` among them.
    """
    best = {tool: harness.fold(tool_runs, min) for tool, tool_runs in runs.items()}
    worst = {tool: harness.fold(tool_runs, max) for tool, tool_runs in runs.items()}
    tools = list(runs)

    def line(
        label: str, figure: Callable[[Run], float], of: Mapping[str, Run], target: float | None
    ) -> list[str]:
        ratio = figure(of["exam"]) / figure(of["pandas"])
        verdict = "" if target is None else harness.verdict(ratio, target)
        return [label, *(f"{figure(of[tool]):.2f}" for tool in tools), f"{ratio:.2f}", verdict]

    def mib(size: Callable[[Run], int]) -> Callable[[Run], float]:
        return lambda run: size(run) / MIB

    table = [
        ["", *(f"{tool} read_csv" if tool == "exam" else tool for tool in tools)],
        line("time of the work, best (s)", lambda run: run.seconds, best, TIME_TARGET),
        line("time of the work, worst (s)", lambda run: run.seconds, worst, None),
        line("whole process, best (s)", lambda run: run.process_seconds, best, TIME_TARGET),
        line(
            "peak RSS over baseline (MiB)",
            mib(lambda run: run.working_bytes),
            worst,
            MEMORY_TARGET,
        ),
        line("peak RSS (MiB)", mib(lambda run: run.peak_bytes), worst, None),
        line("baseline after imports (MiB)", mib(lambda run: run.baseline_bytes), worst, None),
    ]
    table[0] += ["exam/pandas", "target"]

    def difference(tool: str, part: slice) -> str:
        ours, theirs = best[tool].values[part], best["pandas"].values[part]
        return f"{harness.max_relative_difference(ours, theirs):.1e}"

    means, stds = slice(0, cols), slice(cols, 2 * cols)
    agreement = "; ".join(
        f"{tool} means {difference(tool, means)}, stds {difference(tool, stds)}"
        for tool in tools
        if tool != "pandas"
    )
    size = path.stat().st_size / MIB
    repeat = max(len(tool_runs) for tool_runs in runs.values())
    return "\n".join(
        [
            f"CSV: {os.path.relpath(path)} ({rows:,} rows x {cols} columns, {size:.1f} MiB); "
            f"{repeat} runs each; {os.cpu_count()} CPU cores",
            harness.table(table),
            f"max relative difference from pandas: {agreement}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the CSV if needed, measure every tool in turns, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="data rows (default 2000000)")
    parser.add_argument("--cols", type=int, default=6, help="numeric columns (default 6)")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="folder for the generated CSV"
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per tool (default 5)")
    parser.add_argument("--child", nargs=2, metavar=("TOOL", "FILE"), help=argparse.SUPPRESS)
    # tox passes the same {posargs} to every benchmark: ignore the other benchmarks' options.
    args, _ = parser.parse_known_args(argv)

    if args.child:
        tool, file = args.child
        harness.report(measure(tool, Path(file)))
        return 0

    print(f"generating or reusing the CSV in {args.out} ...", file=sys.stderr)
    path = generate_csv(args.out, args.rows, args.cols)
    runs: dict[str, list[Run]] = {tool: [] for tool in TOOLS}
    print(f"measuring {', '.join(TOOLS)}, {args.repeat} runs each ...", file=sys.stderr)
    for _ in range(args.repeat):
        for tool in TOOLS:
            runs[tool].append(run_child(tool, path))
    print(format_report(path, args.rows, args.cols, runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
