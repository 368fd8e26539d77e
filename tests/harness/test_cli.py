"""exam/cli.py: subcommands, shared options and exit codes."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from exam import cli


def subcommand_names() -> list[str]:
    parser = cli.build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(actions[0].choices)


@pytest.mark.req("H.CLI.1")
@pytest.mark.parametrize("command", subcommand_names())
def test_every_subcommand_has_help_with_the_shared_options(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """COMMAND --help exits 0 and documents --log-file and --verbose."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: python -m exam {command}")
    assert "--log-file LOG_FILE" in out
    assert "-v, --verbose" in out


@pytest.mark.req("H.CLI.1")
def test_a_missing_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a subcommand argparse exits 2 and names what is missing."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2
    assert "the following arguments are required: COMMAND" in capsys.readouterr().err


@pytest.mark.req("H.CLI.1")
def test_ctrl_c_exits_1_with_a_warning_and_no_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """KeyboardInterrupt inside a command is logged as 'interrupted' and exits 1."""

    def interrupted(args: argparse.Namespace) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_ls", interrupted)
    assert cli.main(["ls", str(tmp_path)]) == 1
    assert capsys.readouterr().err == "WARNING: interrupted\n"


@pytest.mark.req("H.CLI.1")
def test_log_file_option_writes_the_commands_records(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--log-file appends the command's records to the named file."""

    def failing(args: argparse.Namespace) -> bool:
        cli.logger.error("no such thing")
        return False

    monkeypatch.setattr(cli, "cmd_ls", failing)
    log_file = tmp_path / "run.log"
    assert cli.main(["ls", str(tmp_path), "--log-file", str(log_file)]) == 1
    assert (
        log_file.read_text(encoding="utf-8")
        .rstrip("\n")
        .endswith("ERROR [MainThread] exam.cli: no such thing")
    )


@pytest.mark.req("H.CLI.1")
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["ls", "x"], (None, False)),
        (["-v", "--log-file", "a.log", "ls", "x"], (Path("a.log"), True)),
        (["ls", "x", "-v", "--log-file", "b.log"], (Path("b.log"), True)),
        (["--log-file", "a.log", "ls", "x", "--verbose"], (Path("a.log"), True)),
    ],
)
def test_shared_options_work_before_and_after_the_subcommand(
    argv: list[str], expected: tuple[Path | None, bool]
) -> None:
    """--log-file and --verbose take effect wherever they are given."""
    args = cli.build_parser().parse_args(argv)
    assert (args.log_file, args.verbose) == expected


@pytest.mark.req("H.CLI.1", "P4.CLI.1")
@pytest.mark.parametrize(
    ("port", "reason"),
    [
        ("65536", "must be a port from 0 to 65535, got '65536'"),
        ("-1", "must be a port from 0 to 65535, got '-1'"),
        ("http", "must be a port from 0 to 65535, got 'http'"),
    ],
)
def test_an_invalid_port_is_a_usage_error_saying_what_a_port_is(
    port: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """argparse refuses it with exit code 2, naming the option and the range."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["serve", "--port", port])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"python -m exam serve: error: argument --port: {reason}"
    )


@pytest.mark.req("H.CLI.2")
def test_a_printing_command_whose_reader_stops_ends_quietly() -> None:
    """evenodd piped into a reader that stops after 2 lines dies of SIGPIPE, with no traceback."""
    process = subprocess.Popen(
        [sys.executable, "-m", "exam", "evenodd", "--interval", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    lines = [process.stdout.readline() for _ in range(2)]
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=30) == -signal.SIGPIPE
    assert lines == ["odd: 1\n", "even: 2\n"]
    assert stderr == ""


@pytest.mark.req("H.CLI.2")
def test_a_command_in_process_leaves_python_s_sigpipe_handling_as_it_found_it(
    tmp_path: Path,
) -> None:
    """After main() runs a printing command, SIGPIPE is ignored again (sockets raise EPIPE)."""
    before = signal.getsignal(signal.SIGPIPE)
    assert cli.main(["ls", str(tmp_path)]) == 0
    assert signal.getsignal(signal.SIGPIPE) == before == signal.SIG_IGN
