"""Part 1, item 2, hostile numbers: statistics of values near the ends of the float range.

Values near 1e308 overflow a plain sum (or the product in Chan's merge) and
values near 1e-200 underflow a plain sum of squares.  Each class is read in
every way a block can be read: by numpy's reader in one block, by numpy's
reader in many blocks merged, and by the csv module (an empty cell in every
block).  Expected values are exact: the statistics module computes with
fractions and rounds once.
"""

from __future__ import annotations

import logging
import math
import statistics
import sys
from pathlib import Path

import numpy as np
import pytest

from exam import files
from exam.files import read_csv
from tests.part1_files.csv_helpers import column, summarize, write

#: Values per file: enough that 1e305 of each sum past the largest float.
COUNT = 3000
BIG = 1.7e308


@pytest.fixture(params=["one block", "many blocks", "csv module"])
def layout(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """How the file is read: whole, in blocks of about 40 lines, or all by the csv module."""
    if request.param != "one block":
        monkeypatch.setattr(files, "CHUNK_CHARS", 1000)
        monkeypatch.setattr(files, "SNIFF_CHARS", 1000)
    else:
        monkeypatch.setattr(files, "SNIFF_CHARS", 1 << 20)
    return str(request.param)


def column_file(folder: Path, values: list[float], layout: str) -> Path:
    """Column x holds ``values`` exactly; for "csv module" every 20th row adds an empty x."""
    lines = [f"{value!r},{i}\n" for i, value in enumerate(values)]
    if layout == "csv module":
        lines = [line + (f",{i}\n" if i % 20 == 0 else "") for i, line in enumerate(lines)]
    return write(folder, "x,n\n" + "".join(lines))


def assert_exact(path: Path, values: list[float]) -> None:
    """The column's count, and its mean and std to within 1e-12 of the largest value's magnitude.

    A mean near 0 among values near 1e308 has no relative accuracy in floating
    point (the textbook bound is a few roundings of the largest value), so the
    tolerance is relative to the values, not to the result.
    """
    stats = column(summarize(path), "x")
    tolerance = 1e-12 * max(map(abs, values))

    assert stats.count == len(values)
    assert stats.mean == pytest.approx(statistics.mean(values), rel=0, abs=tolerance)
    assert stats.std == pytest.approx(statistics.stdev(values), rel=0, abs=tolerance)


@pytest.mark.req("P1.CSV.16")
def test_read_csv_averages_values_whose_sum_overflows(tmp_path: Path, layout: str) -> None:
    """3,000 values near 1e305 sum to about 3e308, past the largest float."""
    values = (1e305 * (1 + np.random.default_rng(1).random(COUNT))).tolist()

    assert_exact(column_file(tmp_path, values, layout), values)


@pytest.mark.req("P1.CSV.16")
def test_read_csv_averages_the_largest_values_of_both_signs(tmp_path: Path, layout: str) -> None:
    """Values near +1.7e308 then near -1.7e308: the means of the halves differ by 3.4e308."""
    rng = np.random.default_rng(2)
    values = (BIG * (1 - rng.random(COUNT) / 100)).tolist()
    values[COUNT // 2 :] = [-value for value in values[COUNT // 2 :]]

    assert_exact(column_file(tmp_path, values, layout), values)


@pytest.mark.req("P1.CSV.16")
def test_read_csv_averages_values_that_alternate_in_sign(tmp_path: Path, layout: str) -> None:
    """+1.7e308 and -1.7e308 in turn have a mean of 0 and a standard deviation near 1.7e308."""
    values = [BIG, -BIG] * (COUNT // 2)

    assert_exact(column_file(tmp_path, values, layout), values)


@pytest.mark.req("P1.CSV.16")
def test_read_csv_averages_the_largest_float_to_itself(tmp_path: Path, layout: str) -> None:
    """A column holding only the largest float has that mean and no spread."""
    values = [sys.float_info.max] * COUNT

    assert_exact(column_file(tmp_path, values, layout), values)


@pytest.mark.req("P1.CSV.16")
def test_read_csv_averages_the_smallest_float_to_itself(tmp_path: Path) -> None:
    """The smallest subnormal float, three times, has that mean and no spread, exactly."""
    tiny = math.ulp(0.0)
    path = column_file(tmp_path, [tiny] * 3, "one block")

    stats = column(summarize(path), "x")

    assert (stats.mean, stats.std) == (tiny, 0.0)


@pytest.mark.req("P1.CSV.16")
@pytest.mark.parametrize("scale", [1e-200, 1e-310], ids=["squares underflow", "subnormal"])
def test_read_csv_keeps_the_spread_of_tiny_values(
    tmp_path: Path, layout: str, scale: float
) -> None:
    """Values near 1e-200, whose squares underflow to 0, or subnormal, keep their spread."""
    values = (scale * (1 + np.random.default_rng(3).random(COUNT))).tolist()

    assert_exact(column_file(tmp_path, values, layout), values)


@pytest.mark.req("P1.CSV.16")
def test_read_csv_logs_an_error_for_a_standard_deviation_beyond_the_largest_float(
    tmp_path: Path,
    layout: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """+1.7e308 and -1.7e308 alone have a standard deviation of 2.4e308: an error, not inf."""
    path = column_file(tmp_path, [BIG, -BIG], layout)
    with pytest.raises(OverflowError):
        statistics.stdev([BIG, -BIG])

    assert read_csv(path.parent, path.name) is None
    assert caplog.record_tuples == [
        (
            "exam.files",
            logging.ERROR,
            f"{path}: column 'x': the standard deviation is beyond the largest float (1.8e+308)",
        )
    ]
    assert capsys.readouterr().out == ""
