"""Part 1, item 2, cost: the benchmark script benchmarks/bench_csv.py.

The benchmark is a script, not a timed test: these tests check that it
generates and reuses its CSV, measures ``read_csv`` in a fresh interpreter
and reports both tools side by side against the targets.  The pandas side
needs the ``bench`` extra and is exercised by running the script itself.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    """benchmarks/bench_csv.py, imported although it is a script rather than a package module."""
    spec = importlib.util.spec_from_file_location("bench_csv", ROOT / "benchmarks" / "bench_csv.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses resolve the module's annotations through sys.modules.
    sys.modules["bench_csv"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["bench_csv"]


def column_means(path: Path) -> list[float]:
    """Exact means of every column of a generated CSV, parsed independently."""
    rows = [line.split(",") for line in path.read_text(encoding="ascii").splitlines()[1:]]
    return [statistics.mean(float(row[i]) for row in rows) for i in range(len(rows[0]))]


@pytest.mark.req("P1.CSV.15")
def test_generate_csv_writes_the_requested_rows_and_columns(
    bench: ModuleType, tmp_path: Path
) -> None:
    """bench-ROWSxCOLS.csv has a header c1..cN and ROWS rows of numbers with six decimals."""
    path = bench.generate_csv(tmp_path, 5, 3)

    lines = path.read_text(encoding="ascii").splitlines()
    assert path == tmp_path / "bench-5x3.csv"
    assert lines[0] == "c1,c2,c3"
    assert len(lines) == 6
    assert all(len(cell.split(".")[1]) == 6 for line in lines[1:] for cell in line.split(","))


@pytest.mark.req("P1.CSV.15")
def test_generate_csv_reuses_a_file_that_exists(bench: ModuleType, tmp_path: Path) -> None:
    """A CSV generated before is not written again."""
    existing = tmp_path / "bench-5x3.csv"
    existing.write_text("kept\n", encoding="ascii")

    assert bench.generate_csv(tmp_path, 5, 3) == existing
    assert existing.read_text(encoding="ascii") == "kept\n"


@pytest.mark.req("P1.CSV.15")
def test_run_child_measures_read_csv_in_a_fresh_interpreter(
    bench: ModuleType, tmp_path: Path
) -> None:
    """The child reports read_csv's statistics, its time and its memory above the baseline."""
    path = bench.generate_csv(tmp_path, 200, 2)

    result = bench.run_child("exam", path)

    assert result.tool == "exam"
    assert result.means == pytest.approx(column_means(path), rel=1e-12)
    assert result.seconds > 0
    assert result.peak_bytes >= result.baseline_bytes > 0


@pytest.mark.req("P1.CSV.15")
def test_best_of_keeps_the_shortest_time_and_the_largest_memory(bench: ModuleType) -> None:
    """Repeated runs fold into the best time and the worst memory."""
    runs = [
        bench.Measurement("exam", 2.0, 30 * MIB, 40 * MIB, [1.0], [2.0]),
        bench.Measurement("exam", 1.5, 31 * MIB, 39 * MIB, [1.0], [2.0]),
    ]

    assert bench.best_of(runs) == bench.Measurement("exam", 1.5, 31 * MIB, 40 * MIB, [1.0], [2.0])


@pytest.mark.req("P1.CSV.15")
def test_format_report_shows_both_tools_side_by_side_with_the_targets(
    bench: ModuleType, tmp_path: Path
) -> None:
    """Time, memory over the baseline, peak and baseline; ratios, targets and agreement."""
    path = tmp_path / "bench-2000000x6.csv"
    path.write_bytes(b"x" * (3 * MIB))
    exam = bench.Measurement("exam", 0.9, 30 * MIB, 40 * MIB, [1.0, 2.0], [4.0, 8.0])
    pandas = bench.Measurement("pandas", 0.5, 70 * MIB, 370 * MIB, [1.0, 2.0 + 2e-12], [4.0, 8.0])

    report = bench.format_report(path, 2_000_000, 6, exam, pandas)

    assert report == (
        f"CSV: {os.path.relpath(path)} (2,000,000 rows x 6 columns, 3.0 MiB); "
        f"{os.cpu_count()} CPU cores\n"
        "                              exam read_csv  pandas  exam/pandas       target\n"
        "time (s)                               0.90    0.50         1.80     <= 2 met\n"
        "peak RSS over baseline (MiB)           10.0   300.0         0.03  <= 0.25 met\n"
        "peak RSS (MiB)                         40.0   370.0         0.11\n"
        "baseline after imports (MiB)           30.0    70.0\n"
        "max relative difference: means 1.0e-12, stds 0.0e+00"
    )


@pytest.mark.req("P1.CSV.15")
def test_format_report_flags_a_missed_target(bench: ModuleType, tmp_path: Path) -> None:
    """A ratio over its target is reported as MISSED, not hidden."""
    path = tmp_path / "data.csv"
    path.write_bytes(b"x")
    exam = bench.Measurement("exam", 3.0, 30 * MIB, 130 * MIB, [1.0], [1.0])
    pandas = bench.Measurement("pandas", 1.0, 70 * MIB, 170 * MIB, [1.0], [1.0])

    report = bench.format_report(path, 1, 1, exam, pandas)

    assert "3.00     <= 2 MISSED" in report
    assert "1.00  <= 0.25 MISSED" in report
