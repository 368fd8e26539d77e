"""``python -m exam dicom PATH FILE [--tag TAG ...]``, run in-process through exam.cli.main."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from exam.cli import main

ROOT = Path(__file__).resolve().parents[2]


def docs_example() -> tuple[str, str]:
    """The command and the output the "Reading DICOM" section of docs/part1-files.md shows."""
    page = (ROOT / "docs" / "part1-files.md").read_text(encoding="utf-8")
    section = page[page.index("## Reading DICOM") :]
    match = re.search(
        r"^\$ (python -m exam dicom [^\n]*)\n(.*?)^```", section, re.MULTILINE | re.DOTALL
    )
    assert match, "docs/part1-files.md shows no example of python -m exam dicom"
    return match[1], match[2]


class TestDicomCommand:
    """Tests for the dicom subcommand."""

    @pytest.mark.req("P1.DCM.13")
    def test_the_docs_example_prints_what_the_docs_show(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The command in docs/part1-files.md, run from the repository, prints the output shown."""
        command, output = docs_example()
        monkeypatch.chdir(ROOT)
        assert main(shlex.split(command)[3:]) == 0
        assert capsys.readouterr() == (output, "")

    @pytest.mark.req("P1.DCM.13")
    def test_dicom_command_prints_fields_and_tags_and_exits_0(
        self, dicom_fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Tags arrive as strings in any accepted form; nothing goes to stderr."""
        code = main(
            [
                "dicom",
                str(dicom_fixtures_dir),
                "sample-02-dicom.dcm",
                "--tag",
                "0x00280008",
                "--tag",
                "(0020,0011)",
                "--tag",
                "PixelData",
            ]
        )
        captured = capsys.readouterr()
        assert code == 0
        assert captured.out == (
            "Patient's name: Roe^Richard\n"
            "Study date: 2024-06-11\n"
            "Modality: XA\n"
            "(0028,0008) NumberOfFrames [IS]: 96\n"
            "(0020,0011) SeriesNumber [IS]: 3\n"
            "(7FE0,0010) PixelData [OB]: <encapsulated, 96 fragments, 15148 bytes>\n"
        )
        assert captured.err == ""

    @pytest.mark.req("P1.DCM.13")
    def test_dicom_command_without_tags_prints_the_basic_fields(
        self, dicom_fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--tag is optional."""
        assert main(["dicom", str(dicom_fixtures_dir), "sample-01-dicom.dcm"]) == 0
        assert capsys.readouterr().out == (
            "Patient's name: Doe^Jane\nStudy date: 2024-01-15\nModality: MR\n"
        )

    @pytest.mark.req("P1.DCM.13")
    def test_dicom_command_exits_1_with_the_error_for_a_missing_file(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The logged error is the one line on stderr; no traceback, no output."""
        assert main(["dicom", str(tmp_path), "missing.dcm"]) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err == f"ERROR: {tmp_path / 'missing.dcm'}: no such file\n"

    @pytest.mark.req("P1.DCM.13")
    def test_dicom_command_exits_1_for_a_file_that_is_not_dicom(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A text file is reported as not DICOM."""
        (tmp_path / "notes.dcm").write_text("not an image\n", encoding="utf-8")
        assert main(["dicom", str(tmp_path), "notes.dcm"]) == 1
        assert capsys.readouterr().err == (
            f"ERROR: {tmp_path / 'notes.dcm'}: not a DICOM file "
            "(no 'DICM' prefix after the 128-byte preamble)\n"
        )

    @pytest.mark.req("P1.DCM.13", "P1.DCM.4")
    def test_dicom_command_prints_the_good_tags_and_exits_1_for_a_bad_one(
        self, dicom_fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A tag that cannot be parsed is an error, but the rest is still printed."""
        code = main(
            [
                "dicom",
                str(dicom_fixtures_dir),
                "sample-01-dicom.dcm",
                "--tag",
                "(0008,00GG)",
                "--tag",
                "Modality",
            ]
        )
        captured = capsys.readouterr()
        assert code == 1
        assert captured.out.splitlines()[3:] == ["(0008,0060) Modality [CS]: MR"]
        assert captured.err == (
            "ERROR: cannot parse tag '(0008,00GG)': expected a keyword such as SOPClassUID or "
            "a hex tag such as (0008,0016), 0008,0016, 00080016 or 0x00080016\n"
        )
