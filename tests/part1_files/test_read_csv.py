"""Part 1, item 2: ``read_csv`` summarises a CSV file's columns, rows, means and stds.

Expected statistics are computed independently in each test, with the
:mod:`statistics` module (exact arithmetic) on values parsed by :mod:`csv`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import statistics
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from exam import files
from exam.files import ColumnStats, CsvSummary, read_csv
from tests.part1_files.csv_helpers import column, summarize, values_of, write

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SAMPLE = FIXTURES / "sample-01-csv.csv"
SAMPLE_NUMERIC = ("age", "weight_kg", "height_cm", "systolic_bp", "diastolic_bp", "heart_rate")

#: A bound on traced memory far below the size of the files read under it.
MEMORY_BOUND = 16 * 1024 * 1024


@pytest.fixture(autouse=True)
def _log_info(caplog: pytest.LogCaptureFixture) -> None:
    """Capture INFO records too, whatever level an earlier test left the logger at."""
    caplog.set_level(logging.INFO, logger="exam")


class TestSampleFile:
    """Tests for read_csv() on the bundled fixtures/sample-01-csv.csv."""

    @pytest.mark.req("P1.CSV.1")
    def test_read_csv_reports_the_column_names_in_file_order(self) -> None:
        """Every header is reported, text columns included."""
        assert summarize(SAMPLE).columns == ("PatientID", "Sex", *SAMPLE_NUMERIC)

    @pytest.mark.req("P1.CSV.1")
    def test_read_csv_counts_the_data_rows(self) -> None:
        """The header is not a data row."""
        assert summarize(SAMPLE).row_count == 16

    @pytest.mark.req("P1.CSV.2")
    @pytest.mark.parametrize("name", SAMPLE_NUMERIC)
    def test_read_csv_reports_the_mean_of_each_numeric_column(self, name: str) -> None:
        """The mean matches the exact mean of the column's values."""
        expected = statistics.mean(values_of(SAMPLE, name))

        assert column(summarize(SAMPLE), name).mean == pytest.approx(expected, rel=1e-12)

    @pytest.mark.req("P1.CSV.2", "P1.CSV.3")
    @pytest.mark.parametrize("name", SAMPLE_NUMERIC)
    def test_read_csv_reports_sample_std_for_each_numeric_column(self, name: str) -> None:
        """The standard deviation is the sample one (n-1), as statistics.stdev computes it."""
        expected = statistics.stdev(values_of(SAMPLE, name))

        assert column(summarize(SAMPLE), name).std == pytest.approx(expected, rel=1e-12)

    @pytest.mark.req("P1.CSV.5")
    def test_read_csv_skips_and_counts_the_empty_cell(self) -> None:
        """weight_kg has one empty cell: 15 values, 1 empty."""
        stats = column(summarize(SAMPLE), "weight_kg")

        assert (stats.count, stats.empty) == (15, 1)

    @pytest.mark.req("P1.CSV.6")
    def test_read_csv_lists_the_text_columns_as_non_numeric(self) -> None:
        """PatientID and Sex hold text: they are not numeric."""
        summary = summarize(SAMPLE)

        assert summary.non_numeric == ("PatientID", "Sex")
        assert tuple(stats.name for stats in summary.numeric) == SAMPLE_NUMERIC

    @pytest.mark.req("P1.CSV.1", "P1.CSV.2", "P1.CSV.3")
    def test_read_csv_prints_the_summary_table(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The output names the file, the columns, the rows and a table labelled std (n-1)."""
        read_csv(FIXTURES, "sample-01-csv.csv")

        assert capsys.readouterr().out == (
            f"File: {SAMPLE}\n"
            "Delimiter: ','\n"
            "Columns (8): PatientID, Sex, age, weight_kg, height_cm, systolic_bp, "
            "diastolic_bp, heart_rate\n"
            "Data rows: 16\n"
            "Numeric columns (empty cells skipped; std is the sample standard deviation, n-1):\n"
            "  column        count  empty     mean  std (n-1)\n"
            "  age              16      0  47.4375    14.8233\n"
            "  weight_kg        15      1  71.8333    11.6168\n"
            "  height_cm        16      0  170.156    8.27784\n"
            "  systolic_bp      16      0   127.75    11.7218\n"
            "  diastolic_bp     16      0  81.6875    6.78939\n"
            "  heart_rate       16      0  72.8125    6.33739\n"
            "Non-numeric columns: PatientID, Sex\n"
        )

    @pytest.mark.req("P1.CSV.6")
    def test_read_csv_warns_about_each_text_column_naming_its_first_value(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Each text column (ID, sex) is warned about at its first value's line, not its value."""
        read_csv(FIXTURES, "sample-01-csv.csv")

        assert caplog.record_tuples == [
            (
                "exam.files",
                logging.WARNING,
                f"{SAMPLE}: column 'PatientID' is a text column (first value on line 2)",
            ),
            (
                "exam.files",
                logging.WARNING,
                f"{SAMPLE}: column 'Sex' is a text column (first value on line 2)",
            ),
        ]


class TestSummaryObject:
    """Tests for the CsvSummary that read_csv() returns."""

    @pytest.mark.req("P1.CSV.4")
    def test_read_csv_prints_exactly_the_rendering_of_the_returned_summary(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """What is printed and what is returned cannot disagree."""
        summary = summarize(SAMPLE)

        assert capsys.readouterr().out == f"{summary}\n"

    @pytest.mark.req("P1.CSV.1", "P1.CSV.4")
    def test_read_csv_prints_none_for_the_non_numeric_columns_of_a_file_of_numbers(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Every column numeric: the last line says none."""
        summary = summarize(write(tmp_path, "a\n1\n"))

        assert summary.non_numeric == ()
        assert capsys.readouterr().out.endswith("\nNon-numeric columns: none\n")

    @pytest.mark.req("P1.CSV.4")
    def test_read_csv_returns_a_frozen_summary(self) -> None:
        """Callers cannot change a summary after the fact."""
        summary = summarize(SAMPLE)

        with pytest.raises(dataclasses.FrozenInstanceError, match="row_count"):
            summary.row_count = 0  # type: ignore[misc]

    @pytest.mark.req("P1.CSV.4")
    def test_summary_holds_every_value_of_a_small_file(self, tmp_path: Path) -> None:
        """The whole summary of a small file, compared field by field."""
        path = write(tmp_path, "id,a,b\nx,1,10\ny,,20\nz,4,60\n")

        assert summarize(path) == CsvSummary(
            path=str(path),
            delimiter=",",
            columns=("id", "a", "b"),
            row_count=3,
            numeric=(
                ColumnStats("a", 2, 1, 2.5, statistics.stdev([1, 4])),
                ColumnStats("b", 3, 0, 30.0, statistics.stdev([10, 20, 60])),
            ),
            non_numeric=("id",),
        )


class TestPrintedNames:
    """Tests for file and column names that hold control characters."""

    @pytest.mark.req("P1.CSV.17")
    def test_read_csv_escapes_control_characters_in_the_printed_names(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A name cannot break the summary's lines or drive a terminal; the summary keeps it."""
        path = write(tmp_path, '"pulse\nrate",note\x07\n60,a\n80,b\n', name="vit\x1b[2Jals.csv")

        summary = summarize(path)

        assert summary.columns == ("pulse\nrate", "note\x07")
        assert capsys.readouterr().out == (
            f"File: {tmp_path}/vit\\x1b[2Jals.csv\n"
            "Delimiter: ','\n"
            "Columns (2): pulse\\nrate, note\\x07\n"
            "Data rows: 2\n"
            "Numeric columns (empty cells skipped; std is the sample standard deviation, n-1):\n"
            "  column       count  empty  mean  std (n-1)\n"
            f"  pulse\\nrate      2      0    70    {statistics.stdev([60, 80]):.6g}\n"
            "Non-numeric columns: note\\x07\n"
        )


class TestStandardDeviation:
    """Tests for the standard deviation's definition."""

    @pytest.mark.req("P1.CSV.3")
    def test_std_of_a_single_value_is_none(self, tmp_path: Path) -> None:
        """One value has no sample standard deviation."""
        path = write(tmp_path, "a,b\n5,7\n")

        assert column(summarize(path), "a") == ColumnStats("a", 1, 0, 5.0, None)

    @pytest.mark.req("P1.CSV.3")
    def test_std_of_a_single_value_prints_as_n_a(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The undefined standard deviation is printed n/a."""
        read_csv(tmp_path, write(tmp_path, "a\n5\n").name)

        assert "  a           1      0     5        n/a\n" in capsys.readouterr().out

    @pytest.mark.req("P1.CSV.3")
    def test_std_of_equal_values_is_zero(self, tmp_path: Path) -> None:
        """Values that never vary have a standard deviation of exactly 0."""
        path = write(tmp_path, "a\n2.5\n2.5\n2.5\n")

        assert column(summarize(path), "a").std == 0.0

    @pytest.mark.req("P1.CSV.3")
    def test_std_divides_by_n_minus_1_not_n(self, tmp_path: Path) -> None:
        """For 1 and 3 the sample std is sqrt(2), where the population std would be 1."""
        path = write(tmp_path, "a\n1\n3\n")

        assert column(summarize(path), "a").std == pytest.approx(math.sqrt(2), rel=1e-15)


class TestNumericColumns:
    """Tests for which columns are numeric and how their cells are read."""

    @pytest.mark.req("P1.CSV.5")
    @pytest.mark.parametrize(
        ("cells", "count", "empty"),
        [
            (["1", "", "3", "8"], 3, 1),
            (["", "", "2.5", "4"], 2, 2),
            (["7", " ", "9", ""], 2, 2),
            (["1", "2", "3", ""], 3, 1),
        ],
    )
    def test_read_csv_skips_and_counts_empty_cells(
        self, tmp_path: Path, cells: list[str], count: int, empty: int
    ) -> None:
        """Empty and blank cells are counted apart and left out of the statistics."""
        path = write(tmp_path, "id,value\n" + "".join(f"r{i},{c}\n" for i, c in enumerate(cells)))
        values = values_of(path, "value")

        stats = column(summarize(path), "value")

        assert (stats.count, stats.empty) == (count, empty)
        assert stats.mean == pytest.approx(statistics.mean(values), rel=1e-15)
        assert stats.std == pytest.approx(statistics.stdev(values), rel=1e-15)

    @pytest.mark.req("P1.CSV.5")
    @pytest.mark.parametrize("cell", ["1e3", "-2.5", "+4", ".5", "5.", " 6 ", "1E-2", "007"])
    def test_read_csv_reads_every_finite_number_form(self, tmp_path: Path, cell: str) -> None:
        """Signs, exponents, bare points, leading zeros and surrounding spaces are numbers."""
        path = write(tmp_path, f"a,b\n{cell},1\n2,1\n")

        assert column(summarize(path), "a").mean == pytest.approx((float(cell) + 2) / 2)

    @pytest.mark.req("P1.CSV.6")
    @pytest.mark.parametrize("cell", ["n/a", "12 kg", "nan", "inf", "-Infinity", "1e999"])
    def test_read_csv_warns_naming_the_line_of_text_after_numbers(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture, cell: str
    ) -> None:
        """Text, or a number that is not finite, after numbers: a warning naming its line."""
        path = write(tmp_path, f"weight,height\n70,1\n75,2\n{cell},3\n80,4\nmissing,5\n")

        summary = summarize(path)

        assert summary.non_numeric == ("weight",)
        assert caplog.record_tuples == [
            (
                "exam.files",
                logging.WARNING,
                f"{path}: column 'weight' is not numeric (first non-number on line 4)",
            )
        ]

    @pytest.mark.req("P1.CSV.6")
    def test_read_csv_warns_about_text_in_a_numeric_column_without_logging_the_cell(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The warning names the column and line, never the cell's text."""
        path = write(tmp_path, "id,weight,height\nA,70,170\nB,Jane Doe,180\nC,80,175\n")

        summary = summarize(path)

        assert summary.non_numeric == ("id", "weight")
        assert caplog.record_tuples == [
            (
                "exam.files",
                logging.WARNING,
                f"{path}: column 'id' is a text column (first value on line 2)",
            ),
            (
                "exam.files",
                logging.WARNING,
                f"{path}: column 'weight' is not numeric (first non-number on line 3)",
            ),
        ]

    @pytest.mark.req("P1.CSV.6")
    def test_read_csv_names_the_first_value_of_a_text_column_after_empty_cells(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A text column starting with empty cells is warned about at its first value's line."""
        path = write(tmp_path, "note,value\n,1\n,2\nseen,3\n")

        assert summarize(path).non_numeric == ("note",)
        assert caplog.record_tuples == [
            (
                "exam.files",
                logging.WARNING,
                f"{path}: column 'note' is a text column (first value on line 4)",
            )
        ]

    @pytest.mark.req("P1.CSV.5", "P1.CSV.6")
    def test_read_csv_reports_an_all_empty_column_as_non_numeric_with_a_warning(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A column without a single value has no statistics."""
        path = write(tmp_path, "a,b\n1,\n2,\n")

        summary = summarize(path)

        assert summary.non_numeric == ("b",)
        assert caplog.record_tuples == [
            ("exam.files", logging.WARNING, f"{path}: column 'b' has no values")
        ]


class TestDialect:
    """Tests for delimiters, encodings, quoting and line endings."""

    @pytest.mark.req("P1.CSV.8")
    @pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
    def test_read_csv_sniffs_the_delimiter(self, tmp_path: Path, delimiter: str) -> None:
        """Each supported delimiter is recognised and splits the columns."""
        path = write(tmp_path, f"x{delimiter}y\n1{delimiter}2\n3{delimiter}5\n")

        summary = summarize(path)

        assert summary.delimiter == delimiter
        assert column(summary, "y") == ColumnStats("y", 2, 0, 3.5, statistics.stdev([2, 5]))

    @pytest.mark.req("P1.CSV.8")
    def test_read_csv_prefers_the_delimiter_that_splits_every_row_like_the_header(
        self, tmp_path: Path
    ) -> None:
        """Decimal commas in a semicolon file do not make it a comma file."""
        path = write(tmp_path, "site;dose\n1,5;10\n2,5;20\n")

        summary = summarize(path)

        assert (summary.delimiter, summary.columns) == (";", ("site", "dose"))

    @pytest.mark.req("P1.CSV.8")
    def test_read_csv_prefers_the_earlier_delimiter_on_a_tie(self, tmp_path: Path) -> None:
        """When two delimiters split every row alike, the order , ; tab | decides."""
        path = write(tmp_path, "a;b,c\n1;2,3\n")

        assert summarize(path).delimiter == ","

    @pytest.mark.req("P1.CSV.8")
    def test_read_csv_reads_a_single_column_file(self, tmp_path: Path) -> None:
        """A file without any delimiter is one column."""
        path = write(tmp_path, "value\n1\n2\n4\n")

        summary = summarize(path)

        assert summary.columns == ("value",)
        assert column(summary, "value").mean == pytest.approx(7 / 3)

    @pytest.mark.req("P1.CSV.8")
    def test_read_csv_ignores_a_utf8_byte_order_mark(self, tmp_path: Path) -> None:
        """A spreadsheet's BOM does not end up in the first header."""
        path = write(tmp_path, "age,weight\n30,70\n40,80\n", encoding="utf-8-sig")

        assert summarize(path).columns == ("age", "weight")

    @pytest.mark.req("P1.CSV.8")
    def test_read_csv_reads_quoted_fields_with_delimiters_and_quotes_inside(
        self, tmp_path: Path
    ) -> None:
        """A quoted delimiter does not split a field; a doubled quote is one quote."""
        path = write(tmp_path, 'site,score\n"left, upper",1\n"the ""B"" wing",3\n')

        summary = summarize(path)

        assert (summary.row_count, summary.non_numeric) == (2, ("site",))
        assert column(summary, "score").mean == 2.0

    @pytest.mark.req("P1.CSV.8")
    def test_read_csv_reads_quoted_numbers_as_numbers(self, tmp_path: Path) -> None:
        """Quotes around a number do not make it text."""
        path = write(tmp_path, 'a,b\n"1.5","2"\n"2.5","4"\n')

        assert column(summarize(path), "a").mean == 2.0

    @pytest.mark.req("P1.CSV.8")
    def test_read_csv_reads_a_quoted_line_break_as_part_of_the_field(self, tmp_path: Path) -> None:
        """A record whose quoted field spans two lines is one row."""
        path = write(tmp_path, 'note,score\n"line one\nline two",1\nplain,3\n')

        summary = summarize(path)

        assert (summary.row_count, column(summary, "score").mean) == (2, 2.0)

    @pytest.mark.req("P1.CSV.8")
    @pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
    def test_read_csv_reads_every_line_ending(self, tmp_path: Path, newline: str) -> None:
        """Unix, Windows and old Mac line endings give the same summary."""
        path = write(tmp_path, newline.join(["a,b", "1,2", "3,4", ""]))

        summary = summarize(path)

        assert (summary.columns, summary.row_count) == (("a", "b"), 2)
        assert column(summary, "b").mean == 3.0

    @pytest.mark.req("P1.CSV.1")
    def test_read_csv_does_not_count_blank_lines_as_rows(self, tmp_path: Path) -> None:
        """Empty and whitespace-only lines, anywhere, are skipped."""
        path = write(tmp_path, "\na,b\n\n1,2\n   \n3,4\n\n")

        assert summarize(path).row_count == 2

    @pytest.mark.req("P1.CSV.8")
    def test_read_csv_prefers_the_delimiter_under_which_most_rows_match_the_header(
        self, tmp_path: Path
    ) -> None:
        """Both , and ; split the header in two; only ; splits the rows in two as well."""
        path = write(tmp_path, "a;b,c\n1;2,5,6\n3;4,5,6\n")

        summary = summarize(path)

        assert (summary.delimiter, summary.columns) == (";", ("a", "b,c"))
        assert column(summary, "a").mean == 2.0

    @pytest.mark.req("P1.CSV.8")
    def test_read_csv_passes_over_a_delimiter_under_which_the_sample_is_malformed(
        self, tmp_path: Path
    ) -> None:
        """Two 100,000-character fields make one field over the csv limit under , not under ;."""
        text = "a;b;n\n" + "x" * 100_000 + ";" + "y" * 100_000 + ";1\nx;y;3\n"
        path = write(tmp_path, text)

        summary = summarize(path)

        assert (summary.delimiter, summary.non_numeric) == (";", ("a", "b"))
        assert column(summary, "n").mean == 2.0

    @pytest.mark.req("P1.CSV.8")
    def test_read_csv_reads_a_header_longer_than_the_sniffed_sample(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A quoted header running past the first lines read is read whole, then the rows."""
        monkeypatch.setattr(files, "SNIFF_CHARS", 4)
        path = write(tmp_path, '"a\nb\nc\nd",x\n1,2\n3,4\n')

        summary = summarize(path)

        assert (summary.columns, summary.row_count) == (("a\nb\nc\nd", "x"), 2)
        assert column(summary, "x").mean == 3.0

    @pytest.mark.req("P1.CSV.1")
    def test_read_csv_counts_the_last_row_without_a_final_line_break(self, tmp_path: Path) -> None:
        """A file that ends without a line break loses no row."""
        path = write(tmp_path, "a,b\n1,2\n3,4")

        summary = summarize(path)

        assert (summary.row_count, column(summary, "b").mean) == (2, 3.0)

    @pytest.mark.req("P1.CSV.1", "P1.CSV.5")
    def test_read_csv_reads_a_line_of_delimiters_as_a_row_of_empty_cells(
        self, tmp_path: Path
    ) -> None:
        """' , ' is a row whose two cells are empty, not a blank line."""
        path = write(tmp_path, "a,b\n1,2\n , \n3,4\n")

        summary = summarize(path)

        assert summary.row_count == 3
        assert column(summary, "b") == ColumnStats("b", 2, 1, 3.0, statistics.stdev([2, 4]))

    @pytest.mark.req("P1.CSV.1", "P1.CSV.8")
    def test_read_csv_skips_a_blank_line_before_a_quoted_row(self, tmp_path: Path) -> None:
        """A blank first line, then a row starting with a quote: one row."""
        path = write(tmp_path, 'x,y\n\n"a",1\n')

        summary = summarize(path)

        assert (summary.row_count, column(summary, "y").mean) == (1, 1.0)

    @pytest.mark.req("P1.CSV.1")
    def test_read_csv_strips_spaces_around_header_names(self, tmp_path: Path) -> None:
        """'a, b' has columns a and b."""
        path = write(tmp_path, "a, b\n1, 2\n")

        assert summarize(path).columns == ("a", "b")

    @pytest.mark.req("P1.CSV.10")
    @pytest.mark.parametrize("name", ["data.tsv", "DATA.CSV"])
    def test_read_csv_accepts_the_tsv_extension_and_any_case(
        self, tmp_path: Path, name: str
    ) -> None:
        """.csv and .tsv are CSV extensions, whatever their case."""
        path = write(tmp_path, "a\tb\n1\t2\n", name=name)

        assert summarize(path).delimiter == "\t"


def _irregular_file(folder: Path, rows: int, irregularity: str, at: int) -> Path:
    """A text column and two numeric ones (i and i*i/7), one irregular row at data row ``at``.

    No irregularity changes a value: each only changes how the block holding
    it is parsed (quotes by numpy's reader; a blank line or a quoted line
    break by the csv module).
    """
    lines = ["note,a,b"]
    for i in range(rows):
        note, a, b = "r", str(i), repr(i * i / 7)
        if i == at:
            note, a, b = {
                "quoted numbers": (note, f'"{a}"', f'"{b}"'),
                "quoted line break": ('"two\nlines"', a, b),
                "blank line after": (note, a, b + "\n"),
            }[irregularity]
        lines.append(f"{note},{a},{b}")
    path = folder / "data.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class TestChunks:
    """Tests that reading in chunks changes nothing: values, counts and line numbers agree."""

    @pytest.mark.req("P1.CSV.2", "P1.CSV.14")
    @pytest.mark.parametrize(
        "irregularity", ["quoted numbers", "quoted line break", "blank line after"]
    )
    @pytest.mark.parametrize("at", [0, 50_000, 99_999])
    def test_read_csv_statistics_do_not_depend_on_how_a_chunk_is_parsed(
        self, tmp_path: Path, irregularity: str, at: int
    ) -> None:
        """An irregular row in the first, a middle or the last chunk leaves the statistics exact."""
        path = _irregular_file(tmp_path, 100_000, irregularity, at)
        values = values_of(path, "b")

        stats = column(summarize(path), "b")

        assert (stats.count, stats.empty) == (100_000, 0)
        assert stats.mean == pytest.approx(statistics.mean(values), rel=1e-12)
        assert stats.std == pytest.approx(statistics.stdev(values), rel=1e-12)

    @pytest.mark.req("P1.CSV.6")
    def test_read_csv_counts_lines_across_chunks_and_quoted_line_breaks(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A warning in a later chunk names the file's line, counting a two-line record."""
        rows = ["note,value,n", '"two\nlines",0,0']
        rows += [f"r,{i},{i}" for i in range(1, 50_000)]
        rows.append("r,n/a,1")
        path = write(tmp_path, "\n".join(rows) + "\n")
        bad_line = len(rows) + 1  # the header is line 1 and one record spans two lines

        summarize(path)

        assert caplog.record_tuples == [
            (
                "exam.files",
                logging.WARNING,
                f"{path}: column 'note' is a text column (first value on line 2)",
            ),
            (
                "exam.files",
                logging.WARNING,
                f"{path}: column 'value' is not numeric (first non-number on line {bad_line})",
            ),
        ]


class TestNumericalStability:
    """Tests for the accuracy of the streaming mean and standard deviation."""

    @pytest.mark.req("P1.CSV.13")
    @pytest.mark.parametrize("offset", [0.0, 1e6, 1e9])
    def test_read_csv_is_accurate_for_a_large_offset_and_a_small_spread(
        self, tmp_path: Path, offset: float
    ) -> None:
        """Values offset+U(0,1) over several chunks agree with exact arithmetic to 1e-9."""
        rng = np.random.default_rng(20241126)
        values = (offset + rng.random(150_000)).tolist()
        path = write(tmp_path, "x\n" + "".join(f"{value!r}\n" for value in values))

        stats = column(summarize(path), "x")

        assert stats.mean == pytest.approx(statistics.mean(values), rel=1e-9)
        assert stats.std == pytest.approx(statistics.stdev(values), rel=1e-9)


def _generate(path: Path, rows: int, irregular: bool) -> Path:
    """Write ``rows`` rows of six 17-character numbers, plus quoted text and gaps if irregular."""
    rng = np.random.default_rng(5)
    with path.open("w", encoding="utf-8") as stream:
        stream.write("note,a,b,c,d,e,f\n")
        for start in range(0, rows, 10_000):
            block = rng.uniform(1e6, 9e6, size=(10_000, 6))
            for i, row in enumerate(block, start):
                cells = [f"{value:.9f}" for value in row]
                if irregular and i % 7 == 0:
                    cells[i % 6] = ""
                note = f'"seen, {i}"' if irregular else "seen"
                stream.write(note + "," + ",".join(cells) + "\n")
    return path


@pytest.fixture(scope="module", params=["plain", "irregular"])
def large_csv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 200,000-row CSV larger than MEMORY_BOUND: plain, or with quotes and empty cells."""
    folder = tmp_path_factory.mktemp("large")
    return _generate(folder / f"{request.param}.csv", 200_000, request.param == "irregular")


@pytest.mark.slow
class TestCost:
    """Tests for the one pass and the bounded memory."""

    @pytest.mark.req("P1.CSV.14")
    def test_read_csv_memory_stays_bounded_on_a_large_file(self, large_csv: Path) -> None:
        """Peak traced memory stays under 16 MiB while the file alone is larger."""
        assert large_csv.stat().st_size > MEMORY_BOUND

        tracemalloc.start()
        try:
            summary = summarize(large_csv)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

        assert summary.row_count == 200_000
        assert peak < MEMORY_BOUND

    @pytest.mark.req("P1.CSV.14")
    def test_read_csv_reads_a_pipe_it_cannot_rewind(self, tmp_path: Path) -> None:
        """A named pipe can be read only once, so a summary proves a single pass."""
        text = "a,b\n" + "".join(f"{i},{i % 10}\n" for i in range(50_000))
        pipe = tmp_path / "stream.csv"
        os.mkfifo(pipe)

        def feed() -> None:
            with pipe.open("w", encoding="utf-8") as stream:
                stream.write(text)

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        summary = summarize(pipe)
        writer.join(timeout=30)

        assert summary.row_count == 50_000
        assert column(summary, "a").mean == statistics.mean(range(50_000))
