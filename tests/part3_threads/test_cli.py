"""The Part 3 subcommands of python -m exam: evenodd and elements."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from exam.cli import main
from tests.part3_threads.conftest import FIXTURES, ROOT, SAMPLE, element


class TestEvenOdd:
    """python -m exam evenodd [--start --stop --interval]."""

    @pytest.mark.req("P3.EO.5")
    def test_evenodd_prints_the_numbers_and_exits_0(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The range and interval come from the options."""
        assert main(["evenodd", "--start", "4", "--stop", "7", "--interval", "0"]) == 0
        assert capsys.readouterr().out == "even: 4\nodd: 5\neven: 6\nodd: 7\n"

    @pytest.mark.req("P3.EO.5")
    @pytest.mark.parametrize(
        ("interval", "reason"),
        [
            ("-1", "must be a finite number of seconds >= 0, got '-1'"),
            ("nan", "must be a finite number of seconds >= 0, got 'nan'"),
            ("inf", "must be a finite number of seconds >= 0, got 'inf'"),
            ("soon", "must be a finite number of seconds >= 0, got 'soon'"),
        ],
    )
    def test_an_invalid_interval_is_a_usage_error(
        self, interval: str, reason: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """argparse refuses it with exit code 2, naming the option."""
        with pytest.raises(SystemExit) as raised:
            main(["evenodd", "--interval", interval])
        assert raised.value.code == 2
        assert capsys.readouterr().err.splitlines()[-1] == (
            f"python -m exam evenodd: error: argument --interval: {reason}"
        )

    @pytest.mark.req("P3.EO.4", "P3.EO.5")
    def test_sigint_stops_the_command_with_exit_1_and_no_traceback(self) -> None:
        """Ctrl-C after the first number: that number, one warning line, exit code 1."""
        # Buffered like a real pipe, so the first line arrives only if the command flushes it.
        env = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
        process = subprocess.Popen(
            [sys.executable, "-m", "exam", "evenodd", "--stop", "5", "--interval", "60"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        first = process.stdout.readline()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
        assert (process.returncode, first + out, err) == (
            1,
            "odd: 1\n",
            "WARNING: even/odd printing interrupted after 1 of 5 numbers\n",
        )


class TestElements:
    """python -m exam elements FOLDER FILE [--max-threads N]."""

    @pytest.mark.req("P3.EL.10")
    def test_elements_prints_each_element_and_exits_0(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """With one thread the sample's output is in file order."""
        assert main(["elements", str(FIXTURES), SAMPLE, "--max-threads", "1"]) == 0
        assert capsys.readouterr().out.splitlines() == [
            "element 1 (id aabbcc1): processing",
            "element 1 (id aabbcc1): 30 values (3 rows x 10 columns), "
            "average 55.1 before normalisation, 0.551 after",
            "element 2 (id ddeeff2): processing",
            "element 2 (id ddeeff2): 30 values (3 rows x 10 columns), "
            "average 40.7667 before normalisation, 0.429123 after",
            "sample-03-00-json.json: 2 of 2 elements processed, 0 failed",
        ]

    @pytest.mark.req("P3.EL.10")
    def test_a_failed_element_makes_the_command_exit_1(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The good element is processed, the bad one is a logged error, the exit code is 1."""
        content = {"1": element("ok1", "1 2"), "2": element("bad2", "1 x")}
        (tmp_path / "mixed.json").write_text(json.dumps(content), encoding="utf-8")
        assert main(["elements", str(tmp_path), "mixed.json"]) == 1
        assert (
            capsys.readouterr().err
            == "ERROR: element 2 (id bad2): data row 1: 'x' is not a number\n"
        )

    @pytest.mark.req("P3.EL.10")
    def test_a_missing_file_makes_the_command_exit_1(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The error is one logged line, no traceback."""
        assert main(["elements", str(tmp_path), "missing.json"]) == 1
        captured = capsys.readouterr()
        assert (captured.out, captured.err) == (
            "",
            f"ERROR: {tmp_path / 'missing.json'}: no such file\n",
        )

    @pytest.mark.req("P3.EL.10", "P3.EL.12")
    def test_a_file_nested_too_deeply_makes_the_command_exit_1_with_one_error_line(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Nesting that would raise RecursionError is one ERROR line on stderr, no traceback."""
        path = tmp_path / "deep.json"
        path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
        assert main(["elements", str(tmp_path), "deep.json"]) == 1
        assert capsys.readouterr() == (
            "",
            f"ERROR: {path}: not valid JSON: nested too deeply to decode\n",
        )

    @pytest.mark.req("P3.EL.10")
    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            ("0", "must be a whole number of at least 1, got '0'"),
            ("-2", "must be a whole number of at least 1, got '-2'"),
            ("four", "must be a whole number of at least 1, got 'four'"),
        ],
    )
    def test_max_threads_below_one_is_a_usage_error(
        self, value: str, reason: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """argparse refuses it with exit code 2, naming the option."""
        with pytest.raises(SystemExit) as raised:
            main(["elements", str(FIXTURES), SAMPLE, "--max-threads", value])
        assert raised.value.code == 2
        assert capsys.readouterr().err.splitlines()[-1] == (
            f"python -m exam elements: error: argument --max-threads: {reason}"
        )
