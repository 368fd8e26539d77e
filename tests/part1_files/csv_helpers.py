"""Helpers of the CSV tests: write a file, summarise it, look up a column, parse one apart."""

from __future__ import annotations

import csv
from pathlib import Path

from exam.files import ColumnStats, CsvSummary, read_csv


def write(folder: Path, text: str, name: str = "data.csv", encoding: str = "utf-8") -> Path:
    """Write ``text`` byte for byte (no newline translation) and return the file."""
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def summarize(path: Path) -> CsvSummary:
    """Call read_csv on ``path`` (pytest captures its printing); fail when it returns None."""
    summary = read_csv(path.parent, path.name)
    assert summary is not None
    return summary


def column(summary: CsvSummary, name: str) -> ColumnStats:
    """Return the statistics of numeric column ``name``; KeyError when it is not numeric."""
    return {stats.name: stats for stats in summary.numeric}[name]


def values_of(path: Path, name: str, delimiter: str = ",") -> list[float]:
    """Parse one column's non-empty cells with the csv module, independently of read_csv."""
    with path.open(newline="", encoding="utf-8-sig") as stream:
        rows = csv.DictReader(stream, delimiter=delimiter)
        return [float(row[name]) for row in rows if row[name].strip()]
