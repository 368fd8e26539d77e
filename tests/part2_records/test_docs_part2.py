"""docs/part2-records.md: its example session and printed output are real."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

from exam.cli import main

ROOT = Path(__file__).resolve().parents[2]


def part2_section() -> str:
    """The text of docs/part2-records.md."""
    return (ROOT / "docs" / "part2-records.md").read_text(encoding="utf-8")


def fenced(language: str) -> str:
    """The body of the section's first code block in ``language``."""
    match = re.search(rf"^```{language}\n(.*?)^```$", part2_section(), re.MULTILINE | re.DOTALL)
    assert match is not None, f"no {language} block in docs/part2-records.md"
    return match.group(1)


@pytest.mark.req("P2.STUDY.14", "P2.PRINT.1")
def test_readme_shows_the_exact_output_of_the_study_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The output block under the study command is exactly what the command prints."""
    assert "`python -m exam study fixtures/sample-02-dicom.dcm` prints:" in part2_section()
    monkeypatch.chdir(ROOT)
    assert main(["study", "fixtures/sample-02-dicom.dcm"]) == 0
    assert capsys.readouterr().out == fenced("text")


@pytest.mark.req("P2.STUDY.6", "P2.PAT.8")
def test_readme_example_session_runs_as_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every statement of the pycon example gives the output the page shows."""
    monkeypatch.chdir(ROOT)
    parser = doctest.DocTestParser()
    test = parser.get_doctest(fenced("pycon"), {}, "docs/part2-records.md", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert (runner.failures, runner.tries) == (0, 6)
