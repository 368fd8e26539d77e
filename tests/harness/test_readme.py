"""The README's promises: its two commands are the ones CI and users run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> dict[str, str]:
    """Return the README's numbered commands, keyed '1' and '2'."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## The two commands", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    commands = {}
    for comment, command in re.findall(r"^# (\d)\. .*\n(.+)$", block, flags=re.MULTILINE):
        commands[comment] = command
    return commands


@pytest.mark.req("H.README.1")
@pytest.mark.parametrize("number", ["1", "2"])
def test_ci_runs_each_readme_command_verbatim(number: str) -> None:
    """.ci/run contains each README command as a line of its own."""
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert readme_commands()[number] in ci_lines


@pytest.mark.slow
@pytest.mark.req("H.README.1")
def test_demo_runs_every_part_on_the_bundled_fixtures() -> None:
    """python -m exam demo exits 0, prints a heading per part and warns only of text columns."""
    # A session of its own: if the demo hangs, its worker and relay die with it.
    with subprocess.Popen(
        [sys.executable, "-m", "exam", "demo"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as demo:
        try:
            stdout, stderr = demo.communicate(timeout=100)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            raise
    result = subprocess.CompletedProcess(demo.args, demo.returncode, stdout, stderr)
    assert result.returncode == 0, result.stderr
    headings = re.findall(r"^=== (Part \d) - ", result.stdout, flags=re.MULTILINE)
    assert sorted(set(headings)) == ["Part 1", "Part 2", "Part 3", "Part 4", "Part 5"]
    sample = ROOT / "fixtures" / "sample-01-csv.csv"
    assert result.stderr == (
        f"WARNING: {sample}: column 'PatientID' is a text column (first value on line 2)\n"
        f"WARNING: {sample}: column 'Sex' is a text column (first value on line 2)\n"
    )
