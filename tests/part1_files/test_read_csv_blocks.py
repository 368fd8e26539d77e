"""Part 1, item 2, speed: which reader parses each block of a CSV file.

Plain blocks go to numpy's C reader; a block goes to the csv module only when
it holds something numpy's reader could read differently, and each such block
is logged at DEBUG with its lines.  These tests read those DEBUG records.

Every file here has a header of 9 characters and data lines of 14, and the
block size is set to 9.5 lines (a block is completed to the end of its last
line), so the blocks hold lines 2-11, 12-21, 22-31, 32-41 ... of the file.
"""

from __future__ import annotations

import logging
import statistics
from pathlib import Path

import pytest

from exam import files
from exam.files import ColumnStats, read_csv
from tests.part1_files.csv_helpers import column, summarize, write

HEADER = "a,b,note\n"
LINE = 14


@pytest.fixture(autouse=True)
def _small_blocks(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Blocks of 9.5 lines, and every record down to DEBUG captured."""
    monkeypatch.setattr(files, "CHUNK_CHARS", LINE * 10 - LINE // 2)
    monkeypatch.setattr(files, "SNIFF_CHARS", len(HEADER) + LINE * 10 - LINE // 2)
    caplog.set_level(logging.DEBUG, logger="exam")


def data_line(number: int) -> str:
    """Line ``number`` of the file: a, b and a one-letter note, 14 characters."""
    return f"{number:05d},{number % 97:05d},n\n"


def csv_file(folder: Path, lines: int, replace: dict[int, str], delimiter: str = ",") -> Path:
    """A file of ``lines`` lines (header included), some replaced by line number."""
    text = HEADER + "".join(replace.get(n, data_line(n)) for n in range(2, lines + 1))
    return write(folder, text.replace(",", delimiter))


def debug_lines(caplog: pytest.LogCaptureFixture, path: Path) -> list[str]:
    """The DEBUG records' messages, without the file name that starts each."""
    prefix = f"{path}: "
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert all(message.startswith(prefix) for message in messages)
    return [message.removeprefix(prefix) for message in messages]


class TestFastPath:
    """Tests that plain blocks are parsed by numpy's reader."""

    @pytest.mark.req("P1.CSV.18")
    def test_read_csv_parses_every_block_of_a_numeric_file_with_numpy(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Five blocks of numbers: not one is read with the csv module."""
        path = write(tmp_path, "a,b\n" + "".join(f"{n},{n * n}\n" for n in range(50)))

        assert summarize(path).row_count == 50
        assert debug_lines(caplog, path) == []

    @pytest.mark.req("P1.CSV.18")
    def test_read_csv_parses_a_last_line_without_a_line_break_with_numpy(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A file that ends without a line break is no reason to leave numpy's reader."""
        path = write(tmp_path, "a,b\n" + "\n".join(f"{n},{n * n}" for n in range(50)))

        assert summarize(path).row_count == 50
        assert debug_lines(caplog, path) == []

    @pytest.mark.req("P1.CSV.18")
    def test_read_csv_reads_only_the_block_that_finds_a_text_column_with_the_csv_module(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The first block shows the note column is text; numpy's reader skips it after that."""
        path = csv_file(tmp_path, 45, {})

        assert summarize(path).row_count == 44
        assert debug_lines(caplog, path) == ["lines 2 to 11 read with the csv module"]

    @pytest.mark.req("P1.CSV.18", "P1.CSV.8")
    def test_read_csv_parses_quoted_numbers_with_numpy(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Quotes around numbers are no reason to leave numpy's reader."""
        path = csv_file(tmp_path, 45, {25: '"0025",0025,n\n'})

        assert summarize(path).row_count == 44
        assert debug_lines(caplog, path) == ["lines 2 to 11 read with the csv module"]


class TestFallback:
    """Tests that the csv module reads exactly the blocks numpy's reader cannot decide alike."""

    @pytest.mark.req("P1.CSV.18", "P1.CSV.5")
    @pytest.mark.parametrize(
        ("replace", "rows", "empty", "warning"),
        [
            ({25: "     ,0025,n\n"}, 44, {"a": 1, "b": 0}, None),
            (
                {25: "n/a  ,0025,n\n"},
                44,
                {"b": 0},
                "column 'a' is not numeric (first non-number on line 25)",
            ),
            (
                {25: "  inf,0025,n\n"},
                44,
                {"b": 0},
                "column 'a' is not numeric (first non-number on line 25)",
            ),
            ({25: " " * 13 + "\n"}, 43, {"a": 0, "b": 0}, None),
            ({25: '00025,0025,"t\n', 26: 'wo          "\n'}, 43, {"a": 0, "b": 0}, None),
        ],
        ids=["empty cell", "text", "not finite", "blank line", "quoted line break"],
    )
    def test_read_csv_reads_the_block_holding_an_irregular_line_with_the_csv_module(
        self,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
        replace: dict[int, str],
        rows: int,
        empty: dict[str, int],
        warning: str | None,
    ) -> None:
        """Lines 22 to 31 hold line 25: that block alone is read with the csv module."""
        path = csv_file(tmp_path, 45, replace)

        summary = summarize(path)

        assert summary.row_count == rows
        assert {stats.name: stats.empty for stats in summary.numeric} == empty
        assert debug_lines(caplog, path) == [
            "lines 2 to 11 read with the csv module",
            "lines 22 to 31 read with the csv module",
        ]
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert warnings == [
            f"{path}: column 'note' is a text column (first value on line 2)",
            *([f"{path}: {warning}"] if warning else []),
        ]

    @pytest.mark.req("P1.CSV.18", "P1.CSV.8")
    @pytest.mark.parametrize("delimiter", [",", ";"])
    def test_read_csv_reads_a_record_cut_at_the_end_of_a_block_with_the_csv_module(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture, delimiter: str
    ) -> None:
        """A quoted field opened on a block's last line ends on the next; the block takes it."""
        cut = {31: '00031,0031,"t\n', 32: 'wo          "\n'}
        path = csv_file(tmp_path, 45, cut, delimiter)

        summary = summarize(path)

        assert (summary.row_count, summary.non_numeric) == (43, ("note",))
        assert debug_lines(caplog, path) == [
            "lines 2 to 11 read with the csv module",
            "lines 22 to 32 read with the csv module",
        ]

    @pytest.mark.req("P1.CSV.18", "P1.CSV.8")
    def test_read_csv_reads_a_one_column_record_cut_at_the_end_of_a_block_with_the_csv_module(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A quoted number with a line break opened on a block's last line is one value."""
        monkeypatch.setattr(files, "SNIFF_CHARS", len("x\n") + LINE * 10 - LINE // 2)
        lines = {n: f"{n:013d}\n" for n in range(2, 46)}
        lines[31], lines[32] = '"00000000031 \n', '"' + " " * 12 + "\n"
        path = write(tmp_path, "x\n" + "".join(lines.values()))
        values = [n for n in range(2, 46) if n != 32]

        summary = summarize(path)

        assert column(summary, "x") == ColumnStats(
            "x", 43, 0, statistics.mean(values), statistics.stdev(values)
        )
        assert debug_lines(caplog, path) == ["lines 22 to 32 read with the csv module"]

    @pytest.mark.req("P1.CSV.18", "P1.CSV.12")
    @pytest.mark.parametrize(
        ("line", "fields"),
        [("00025,000025n\n", 2), ("00025,25,n#,x\n", 4)],
        ids=["short", "long, after a #"],
    )
    def test_read_csv_names_the_line_of_a_row_with_a_wrong_field_count(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture, line: str, fields: int
    ) -> None:
        """numpy's reader refuses the block (# is no comment); the csv module names the line."""
        path = csv_file(tmp_path, 45, {25: line})

        assert read_csv(path.parent, path.name) is None
        assert caplog.records[-1].getMessage() == (
            f"{path}: line 25 has {fields} fields, the header has 3"
        )

    @pytest.mark.req("P1.CSV.18", "P1.CSV.9")
    def test_read_csv_reads_a_line_longer_than_the_field_limit_with_the_csv_module(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A text cell over the csv module's limit, second in its block, is refused."""
        path = csv_file(tmp_path, 43, {43: "00043,00043," + "x" * 200_000 + "\n"})

        assert read_csv(path.parent, path.name) is None
        assert caplog.records[-1].getMessage() == (
            f"{path}: line 43: field larger than field limit (131072)"
        )

    @pytest.mark.req("P1.CSV.18")
    def test_read_csv_parses_a_text_cell_under_half_the_field_limit_with_numpy(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A 50,000-character note is no reason to leave numpy's reader."""
        path = csv_file(tmp_path, 42, {42: "00042,00042," + "x" * 50_000 + "\n"})

        assert summarize(path).row_count == 41
        assert debug_lines(caplog, path) == ["lines 2 to 11 read with the csv module"]
