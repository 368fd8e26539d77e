"""The measurement harness every benchmark script shares: benchmarks/harness.py."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.part1_files.bench_helpers import benchmark_modules

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def harness() -> Iterator[ModuleType]:
    """benchmarks/harness.py as a module."""
    with benchmark_modules("harness") as (module,):
        yield module


def runs(harness: ModuleType) -> list[object]:
    """Three runs of one tool with different times and memory."""
    return [
        harness.Run("exam", 2.0, 1.9, 30 * MIB, 40 * MIB, [1.0], 2.5),
        harness.Run("exam", 1.5, 1.4, 31 * MIB, 39 * MIB, [1.0], 2.0),
        harness.Run("exam", 1.7, 1.8, 29 * MIB, 38 * MIB, [1.0], 2.1),
    ]


@pytest.mark.req("P1.CSV.15")
def test_fold_with_min_keeps_the_best_times_and_the_largest_memory(harness: ModuleType) -> None:
    """Repeated runs fold into the best times and the worst memory."""
    assert harness.fold(runs(harness), min) == harness.Run(
        "exam", 1.5, 1.4, 31 * MIB, 40 * MIB, [1.0], 2.0
    )


@pytest.mark.req("P1.CSV.15")
def test_fold_with_median_keeps_the_median_times(harness: ModuleType) -> None:
    """Each time is the median of its own runs; memory is still the largest."""
    assert harness.fold(runs(harness), statistics.median) == harness.Run(
        "exam", 1.7, 1.8, 31 * MIB, 40 * MIB, [1.0], 2.1
    )


@pytest.mark.req("P1.CSV.15")
def test_samples_report_best_median_and_95th_percentile(harness: ModuleType) -> None:
    """Latencies 1..100 ms: best 1, median 50.5, p95 as statistics.quantiles says."""
    values = [float(v) for v in range(100, 0, -1)]

    samples = harness.Samples(values)

    assert (samples.best, samples.median, samples.p95) == (
        1.0,
        50.5,
        statistics.quantiles(values, n=20)[-1],
    )


@pytest.mark.req("P1.CSV.15")
def test_measure_returns_what_the_work_computed_with_its_cost(harness: ModuleType) -> None:
    """The work's values come back with its wall and CPU time and the memory it held."""
    run = harness.measure("numpy", lambda: [sum(range(100_000)), 2])

    assert (run.name, run.values) == ("numpy", [4999950000.0, 2.0])
    assert run.seconds > 0
    assert run.cpu_seconds > 0
    assert run.peak_bytes >= run.baseline_bytes > 0


@pytest.mark.req("P1.CSV.15")
def test_run_child_stops_with_the_child_error(harness: ModuleType, tmp_path: Path) -> None:
    """A child that fails stops the benchmark with its stderr, not a JSON error."""
    script = tmp_path / "broken.py"
    script.write_text("import sys\nsys.exit('no such tool: ' + sys.argv[2])\n", encoding="utf-8")

    with pytest.raises(
        SystemExit, match=r"^broken\.py --child cobol failed:\nno such tool: cobol\n$"
    ):
        harness.run_child(script, "cobol")


@pytest.mark.req("P1.CSV.15")
@pytest.mark.parametrize(
    ("ratio", "expected"), [(1.5, "<= 1.5 met"), (1.51, "<= 1.5 MISSED")], ids=["at", "over"]
)
def test_verdict_meets_a_target_up_to_and_including_it(
    harness: ModuleType, ratio: float, expected: str
) -> None:
    """A ratio equal to its target meets it; above it, the target is missed."""
    assert harness.verdict(ratio, 1.5) == expected


@pytest.mark.req("P1.CSV.15")
def test_table_aligns_the_first_column_left_and_the_others_right(harness: ModuleType) -> None:
    """Every column is as wide as its widest cell; trailing spaces are dropped."""
    rows = [["", "a", "long heading"], ["time", "0.50", ""], ["memory (MiB)", "120.00", "x"]]

    assert harness.table(rows) == (
        "                   a  long heading\n"
        "time            0.50\n"
        "memory (MiB)  120.00             x"
    )


@pytest.mark.req("P1.CSV.15")
def test_max_relative_difference_is_infinite_for_different_counts(harness: ModuleType) -> None:
    """Results that do not even have the same length cannot agree."""
    assert harness.max_relative_difference([1.0, 2.0], [1.0, 2.0, 3.0]) == float("inf")
