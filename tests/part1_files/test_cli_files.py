"""Part 1 on the command line: ``python -m exam ls`` and ``python -m exam csv``.

The CLI is called in-process (``exam.cli.main``); stdout and stderr are
compared as a user would see them.  The examples in docs/part1-files.md are checked
against the real output here too, so the docs cannot drift from the code.
"""

from __future__ import annotations

import re
import shlex
import statistics
from pathlib import Path

import pytest

from exam.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder with a CSV file, a text file and a sub-folder."""
    (tmp_path / "vitals.csv").write_text("id,pulse\nP1,60\nP2,80\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    (tmp_path / "scans").mkdir()
    return tmp_path


class TestLsCommand:
    """Tests for python -m exam ls PATH."""

    @pytest.mark.req("P1.LS.1", "H.CLI.1")
    def test_ls_prints_the_listing_and_exits_0(
        self, folder: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A readable folder: the listing on stdout, nothing on stderr."""
        assert main(["ls", str(folder)]) == 0

        captured = capsys.readouterr()
        assert captured.out == f"3 entries in {folder}\n  notes.txt\n  scans/\n  vitals.csv\n"
        assert captured.err == ""

    @pytest.mark.req("P1.LS.3", "H.CLI.1")
    def test_ls_exits_1_with_the_logged_error_for_a_missing_folder(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The error is one short line on stderr, never a traceback."""
        missing = tmp_path / "missing"

        assert main(["ls", str(missing)]) == 1

        captured = capsys.readouterr()
        assert (captured.out, captured.err) == ("", f"ERROR: {missing}: no such folder\n")


class TestCsvCommand:
    """Tests for python -m exam csv PATH FILE."""

    @pytest.mark.req("P1.CSV.1", "H.CLI.1")
    def test_csv_prints_the_summary_and_exits_0(
        self, folder: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A good file: its summary on stdout; the text column's warning on stderr."""
        assert main(["csv", str(folder), "vitals.csv"]) == 0

        captured = capsys.readouterr()
        assert captured.out == (
            f"File: {folder / 'vitals.csv'}\n"
            "Delimiter: ','\n"
            "Columns (2): id, pulse\n"
            "Data rows: 2\n"
            "Numeric columns (empty cells skipped; std is the sample standard deviation, n-1):\n"
            "  column  count  empty  mean  std (n-1)\n"
            f"  pulse       2      0    70    {statistics.stdev([60, 80]):.6g}\n"
            "Non-numeric columns: id\n"
        )
        assert captured.err == (
            f"WARNING: {folder / 'vitals.csv'}: column 'id' is a text column "
            "(first value on line 2)\n"
        )

    @pytest.mark.req("P1.CSV.9", "H.CLI.1")
    @pytest.mark.parametrize(
        ("name", "reason"),
        [
            ("missing.csv", "no such file"),
            ("notes.txt", "not a CSV file (extension '.txt'; expected .csv or .tsv)"),
            ("scans", "is a folder, not a file"),
        ],
    )
    def test_csv_exits_1_with_the_logged_error_for_a_bad_file(
        self, folder: Path, capsys: pytest.CaptureFixture[str], name: str, reason: str
    ) -> None:
        """The error is one short line on stderr, never a traceback."""
        assert main(["csv", str(folder), name]) == 1

        captured = capsys.readouterr()
        assert (captured.out, captured.err) == ("", f"ERROR: {folder / name}: {reason}\n")

    @pytest.mark.req("P1.CSV.11", "H.CLI.1")
    def test_csv_shows_only_the_error_for_blank_lines_after_the_header(
        self, folder: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Blank lines give numpy's reader nothing to warn about: stderr holds the one error."""
        path = folder / "blank.csv"
        path.write_text("a,b\n\n\n\n", encoding="utf-8")

        assert main(["csv", str(folder), "blank.csv"]) == 1

        captured = capsys.readouterr()
        assert (captured.out, captured.err) == ("", f"ERROR: {path}: header only, no data rows\n")

    @pytest.mark.req("P1.CSV.6", "H.CLI.1")
    def test_csv_shows_the_warning_for_text_among_numbers_on_stderr(
        self, folder: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The summary still prints; the warning goes to stderr as one line."""
        path = folder / "doses.csv"
        path.write_text("dose,day\n5,1\nhigh,2\n", encoding="utf-8")

        assert main(["csv", str(folder), "doses.csv"]) == 0

        assert capsys.readouterr().err == (
            f"WARNING: {path}: column 'dose' is not numeric (first non-number on line 3)\n"
        )

    @pytest.mark.req("H.CLI.1")
    @pytest.mark.parametrize(
        ("command", "description"),
        [
            ("ls", "count and list the entries of a folder"),
            ("csv", "summarise a CSV file: columns, rows, mean and std"),
        ],
    )
    def test_each_part1_command_has_help(
        self, capsys: pytest.CaptureFixture[str], command: str, description: str
    ) -> None:
        """--help describes the command and exits 0."""
        with pytest.raises(SystemExit, match="0"):
            main([command, "--help"])

        assert description in capsys.readouterr().out


def readme_example(command: str) -> str:
    """Return the output docs/part1-files.md shows under ``$ command``."""
    section = (ROOT / "docs" / "part1-files.md").read_text(encoding="utf-8")
    match = re.search(rf"^\$ {re.escape(command)}\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    assert match, f"docs/part1-files.md shows no example of {command!r}"
    return match.group(1)


class TestReadmeExamples:
    """Tests that docs/part1-files.md's examples show what the commands print."""

    @pytest.mark.req("P1.CSV.1", "H.CLI.1")
    def test_readme_csv_example_is_the_exact_output(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """python -m exam csv fixtures sample-01-csv.csv prints what docs/part1-files.md shows."""
        command = "python -m exam csv fixtures sample-01-csv.csv"
        monkeypatch.chdir(ROOT)

        assert main(shlex.split(command)[3:]) == 0

        assert capsys.readouterr().out == readme_example(command)

    @pytest.mark.req("P1.LS.1", "H.CLI.1")
    def test_readme_ls_example_shows_entries_of_the_fixtures_folder(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Every name docs/part1-files.md lists is listed, in the same order, by the real command.

        Generated fixtures (fixtures/make_json.py) may add entries on a
        developer's machine, so the docs' list is checked as a subsequence.
        """
        command = "python -m exam ls fixtures"
        monkeypatch.chdir(ROOT)

        assert main(shlex.split(command)[3:]) == 0

        shown = readme_example(command).splitlines()
        printed = capsys.readouterr().out.splitlines()
        assert re.fullmatch(r"\d+ entries in fixtures", shown[0])
        assert [line for line in printed[1:] if line in shown[1:]] == shown[1:]
