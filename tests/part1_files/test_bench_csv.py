"""Part 1, item 2, cost: the benchmark script benchmarks/bench_csv.py.

The benchmark is a script, not a timed test: these tests check that it
generates and reuses its CSV, measures ``read_csv`` in a fresh interpreter
and reports the three tools side by side against the targets.  The pandas and
polars sides need the ``bench`` extra and are exercised by running the script
itself.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.part1_files.bench_helpers import benchmark_modules

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def modules() -> Iterator[tuple[ModuleType, ...]]:
    """benchmarks/bench_csv.py and the harness it measures with."""
    with benchmark_modules("bench_csv", "harness") as imported:
        yield imported


@pytest.fixture
def bench_csv(modules: tuple[ModuleType, ModuleType]) -> ModuleType:
    """The bench_csv script as a module."""
    return modules[0]


@pytest.fixture
def harness(modules: tuple[ModuleType, ModuleType]) -> ModuleType:
    """The benchmarks' shared harness."""
    return modules[1]


def column_stats(path: Path) -> list[float]:
    """Exact means, then sample stds, of every column of a generated CSV, parsed independently."""
    rows = [line.split(",") for line in path.read_text(encoding="ascii").splitlines()[1:]]
    columns = [[float(row[i]) for row in rows] for i in range(len(rows[0]))]
    return [statistics.mean(c) for c in columns] + [statistics.stdev(c) for c in columns]


@pytest.mark.req("P1.CSV.15")
def test_generate_csv_writes_the_requested_rows_and_columns(
    bench_csv: ModuleType, tmp_path: Path
) -> None:
    """bench-ROWSxCOLS.csv has a header c1..cN and ROWS rows of numbers with six decimals."""
    path = bench_csv.generate_csv(tmp_path, 5, 3)

    lines = path.read_text(encoding="ascii").splitlines()
    assert path == tmp_path / "bench-5x3.csv"
    assert lines[0] == "c1,c2,c3"
    assert len(lines) == 6
    assert all(len(cell.split(".")[1]) == 6 for line in lines[1:] for cell in line.split(","))


@pytest.mark.req("P1.CSV.15")
def test_generate_csv_reuses_a_file_that_exists(bench_csv: ModuleType, tmp_path: Path) -> None:
    """A CSV generated before is not written again."""
    existing = tmp_path / "bench-5x3.csv"
    existing.write_text("kept\n", encoding="ascii")

    assert bench_csv.generate_csv(tmp_path, 5, 3) == existing
    assert existing.read_text(encoding="ascii") == "kept\n"


@pytest.mark.req("P1.CSV.15")
def test_run_child_measures_read_csv_in_a_fresh_interpreter(
    bench_csv: ModuleType, tmp_path: Path
) -> None:
    """The child reports read_csv's means and stds, its time and its memory above the baseline."""
    path = bench_csv.generate_csv(tmp_path, 200, 2)

    result = bench_csv.run_child("exam", path)

    assert result.name == "exam"
    assert result.values == pytest.approx(column_stats(path), rel=1e-12)
    assert result.process_seconds > result.seconds > 0
    assert result.peak_bytes >= result.baseline_bytes > 0


def run(
    harness: ModuleType, tool: str, seconds: float, process: float, mib: tuple[int, int]
) -> object:
    """A Run of ``tool``: its time, process time, baseline and peak memory, two columns' stats."""
    baseline, peak = mib
    values = {"exam": [1.0, 2.0, 4.0, 8.0], "pandas": [1.0, 2.0 + 2e-12, 4.0, 8.0]}
    return harness.Run(
        tool,
        seconds,
        seconds,
        baseline * MIB,
        peak * MIB,
        values.get(tool, [1.0, 2.0, 4.0, 9.0]),
        process,
    )


@pytest.mark.req("P1.CSV.15")
def test_format_report_shows_the_tools_side_by_side_with_the_targets(
    bench_csv: ModuleType, harness: ModuleType, tmp_path: Path
) -> None:
    """Best and worst time, whole process, memory; our ratios to pandas, the targets, agreement."""
    path = tmp_path / "bench-2000000x6.csv"
    path.write_bytes(b"x" * (3 * MIB))
    runs = {
        "exam": [
            run(harness, "exam", 0.9, 1.0, (30, 40)),
            run(harness, "exam", 1.2, 1.3, (31, 41)),
        ],
        "pandas": [
            run(harness, "pandas", 0.6, 1.5, (70, 370)),
            run(harness, "pandas", 0.8, 1.4, (70, 380)),
        ],
        "polars": [
            run(harness, "polars", 0.3, 0.6, (60, 200)),
            run(harness, "polars", 0.4, 0.7, (60, 190)),
        ],
    }

    report = bench_csv.format_report(path, 2_000_000, 2, runs)

    assert report == (
        f"CSV: {os.path.relpath(path)} (2,000,000 rows x 2 columns, 3.0 MiB); 2 runs each; "
        f"{os.cpu_count()} CPU cores\n"
        "                              exam read_csv  pandas  polars  exam/pandas       target\n"
        "time of the work, best (s)             0.90    0.60    0.30         1.50   <= 1.5 met\n"
        "time of the work, worst (s)            1.20    0.80    0.40         1.50\n"
        "whole process, best (s)                1.00    1.40    0.60         0.71   <= 1.5 met\n"
        "peak RSS over baseline (MiB)          10.00  310.00  140.00         0.03  <= 0.25 met\n"
        "peak RSS (MiB)                        41.00  380.00  200.00         0.11\n"
        "baseline after imports (MiB)          31.00   70.00   60.00         0.44\n"
        "max relative difference from pandas: exam means 1.0e-12, stds 0.0e+00; "
        "polars means 1.0e-12, stds 1.2e-01"
    )


@pytest.mark.req("P1.CSV.15")
def test_format_report_flags_a_missed_target(
    bench_csv: ModuleType, harness: ModuleType, tmp_path: Path
) -> None:
    """A ratio over its target is reported as MISSED, not hidden."""
    path = tmp_path / "data.csv"
    path.write_bytes(b"x")
    runs = {
        "exam": [run(harness, "exam", 3.0, 3.0, (30, 130))],
        "pandas": [run(harness, "pandas", 1.0, 1.0, (70, 170))],
    }

    report = bench_csv.format_report(path, 1, 2, runs)

    assert "3.00   <= 1.5 MISSED" in report
    assert "1.00  <= 0.25 MISSED" in report
