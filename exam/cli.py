"""Command-line interface: ``python -m exam COMMAND ...``.

Every subcommand shares ``--log-file`` and ``--verbose``, exits 0 on success
and 1 on failure.  Failures are logged (a short ``ERROR: ...`` line on stderr),
never shown as a traceback.  The library functions do the printing the test
asks for; this module only parses arguments and maps results to exit codes.
"""

from __future__ import annotations

import argparse
import math
import re
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from exam.logs import configure_logging, get_logger, shutdown_logging

logger = get_logger(__name__)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

Handler = Callable[[argparse.Namespace], bool]
#: Commands that only read files and print: a closed output pipe ends them quietly.
PRINTING_COMMANDS = frozenset({"ls", "csv", "dicom", "study", "evenodd", "elements"})
#: The pipeline's processes log JSON lines for machines, whatever the options.
JSON_LOG_COMMANDS = frozenset({"worker", "relay", "sweeper", "stack", "dimse"})
T = TypeVar("T", int, float, str)
#: What an AE title may not hold (PS3.5 6.2, VR AE): a backslash or a control character.
AE_TITLE_FORBIDDEN = re.compile(r"[\\\x00-\x1f\x7f]")


def cmd_ls(args: argparse.Namespace) -> bool:
    """List a folder (Part 1)."""
    from exam.files import list_folder

    return list_folder(args.path) is not None


def cmd_csv(args: argparse.Namespace) -> bool:
    """Summarise a CSV file (Part 1)."""
    from exam.files import read_csv

    return read_csv(args.path, args.file) is not None


def cmd_dicom(args: argparse.Namespace) -> bool:
    """Print a DICOM file's basic fields and the requested tags (Part 1)."""
    from exam.dicom_io import read_dicom

    summary = read_dicom(args.path, args.file, *args.tag)
    # A tag that could not be parsed was logged and skipped: the run is not a success.
    return summary is not None and not summary.rejected


def cmd_study(args: argparse.Namespace) -> bool:
    """Print the study and patient record held in a DICOM file (Part 2)."""
    from exam.dicom_io import DicomReadError
    from exam.records import StudyRecord

    try:
        study = StudyRecord.from_dicom(args.file)
    except DicomReadError as error:
        logger.error("%s", error)
        return False
    print(study)
    return True


def cmd_evenodd(args: argparse.Namespace) -> bool:
    """Print the numbers in order from an odd and an even thread (Part 3)."""
    from exam.threads import print_even_odd

    return not print_even_odd(args.start, args.stop, args.interval).interrupted


def cmd_elements(args: argparse.Namespace) -> bool:
    """Process each element of a JSON file in its own thread (Part 3)."""
    from exam.elements import ElementReport, process_json_file

    outcomes = process_json_file(args.path, args.file, max_threads=args.max_threads)
    return outcomes is not None and all(isinstance(o, ElementReport) for o in outcomes)


def _argument(text: str, convert: Callable[[str], T], fits: Callable[[T], bool], what: str) -> T:
    """Convert an option's text, or make argparse say what it must be and what it got."""
    try:
        value = convert(text)
    except ValueError:
        value = None
    if value is None or not fits(value):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """Argument type: a whole number of at least 1."""
    return _argument(text, int, lambda value: value >= 1, "a whole number of at least 1")


def seconds(text: str) -> float:
    """Argument type: a finite number of seconds, at least 0."""
    return _argument(
        text, float, lambda value: 0 <= value < math.inf, "a finite number of seconds >= 0"
    )


def cmd_serve(args: argparse.Namespace) -> bool:
    """Serve the REST API with gunicorn, starting the embedded PostgreSQL if needed (Part 4)."""
    from exam.api.commands import ServeOptions, serve

    options = ServeOptions(
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_file=args.log_file,
        verbose=args.verbose,
        log_json=args.log_json,
    )
    return serve(options)


def cmd_load(args: argparse.Namespace) -> bool:
    """Store a JSON file of elements in the API's database (Part 4)."""
    from exam.api.commands import load_file

    result = load_file(args.file)
    if result is None:
        return False
    print(result)
    return True


def port_number(text: str) -> int:
    """Argument type: a TCP port, 0 (any free port) to 65535."""
    return _argument(text, int, lambda value: 0 <= value <= 65535, "a port from 0 to 65535")


def cmd_createuser(args: argparse.Namespace) -> bool:
    """Create a local account, or set an existing one's password (Part 5)."""
    import getpass
    import os

    from exam.pipeline.commands import create_user

    try:
        password = os.environ.get("EXAM_PASSWORD") or getpass.getpass(f"Password for {args.name}: ")
    except EOFError:
        # No terminal, and standard input ended before a line.
        password = ""
    if not password:
        logger.error("an empty password is not allowed (set EXAM_PASSWORD or type one)")
        return False
    create_user(args.name, password, staff=args.staff, ae_title=args.ae_title)
    return True


def cmd_token(args: argparse.Namespace) -> bool:
    """Print an account's API token as the last line (Part 5)."""
    from exam.pipeline.commands import user_token

    token = user_token(args.name)
    if token is None:
        return False
    print(token)
    return True


def cmd_worker(args: argparse.Namespace) -> bool:
    """Run a pipeline worker (Part 5)."""
    from exam.pipeline.commands import run_worker

    return run_worker(queues=args.queues, concurrency=args.concurrency, name=args.name)


def cmd_relay(args: argparse.Namespace) -> bool:
    """Run the outbox relay and the sweeper (Part 5)."""
    from exam.pipeline.commands import run_relay

    return run_relay(interval=args.interval, sweep_every=args.sweep_every)


def cmd_sweeper(args: argparse.Namespace) -> bool:
    """Sweep once: requeue stuck jobs, delete orphaned objects (Part 5)."""
    from exam.pipeline.commands import run_sweep

    return run_sweep()


def cmd_stack(args: argparse.Namespace) -> bool:
    """Run the whole pipeline on this machine (Part 5)."""
    from exam.pipeline.commands import StackOptions, run_stack

    return run_stack(
        StackOptions(
            host=args.host,
            port=args.port,
            workers=args.workers,
            concurrency=args.concurrency,
            log_file=args.log_file,
            verbose=args.verbose,
            dimse=args.dimse,
            dimse_port=args.dimse_port,
        )
    )


def cmd_dimse(args: argparse.Namespace) -> bool:
    """Run the DIMSE gateway: C-STORE into the pipeline, C-ECHO (Part 5)."""
    from exam.pipeline.commands import GatewayOptions, run_dimse

    return run_dimse(GatewayOptions(ae_title=args.ae_title, host=args.host, port=args.port))


def ae_title(text: str) -> str:
    """Argument type: a DICOM AE title (PS3.5: up to 16 characters, spaces around not counted)."""
    return _argument(
        text,
        str.strip,
        lambda title: 0 < len(title) <= 16 and not AE_TITLE_FORBIDDEN.search(title),
        "an AE title: 1 to 16 characters, no backslash or control character",
    )


def cmd_demo(args: argparse.Namespace) -> bool:
    """Run every implemented part on the bundled fixtures."""
    from exam.demo import run_demo

    return run_demo(FIXTURES)


def _shared_options(*, suppress_defaults: bool) -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--log-file",
        type=Path,
        default=argparse.SUPPRESS if suppress_defaults else None,
        help="also append log records to this file",
    )
    options.add_argument(
        "--log-json",
        action="store_true",
        default=argparse.SUPPRESS if suppress_defaults else False,
        help="log JSON lines of allowlisted fields to stdout (the pipeline's commands always do)",
    )
    options.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS if suppress_defaults else False,
        help="show info records too",
    )
    return options


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand."""
    common = _shared_options(suppress_defaults=False)
    # Given after the subcommand, the shared options must not reset what was given before it.
    common_after = _shared_options(suppress_defaults=True)

    parser = argparse.ArgumentParser(
        prog="python -m exam",
        description="Reference answer to the five-part medical-data Python test.",
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, parents=[common_after], help=help_text, description=help_text
        )
        sub.set_defaults(handler=handler)
        return sub

    add("demo", cmd_demo, "run every part on the bundled fixtures")

    ls = add("ls", cmd_ls, "count and list the entries of a folder")
    ls.add_argument("path", help="the folder to list")

    csv = add("csv", cmd_csv, "summarise a CSV file: columns, rows, mean and std")
    csv.add_argument("path", help="the folder holding the file")
    csv.add_argument("file", help="the CSV file's name")

    dicom = add("dicom", cmd_dicom, "print a DICOM file's patient, study date, modality and tags")
    dicom.add_argument("path", help="the folder holding the file")
    dicom.add_argument("file", help="the DICOM file's name")
    dicom.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="TAG",
        help="a tag to print: 0x00080016, '(0008,0016)', 00080016, SOPClassUID, "
        "or a group such as 0x0008 (repeatable)",
    )

    study = add("study", cmd_study, "print the StudyRecord loaded from a DICOM file")
    study.add_argument("file", type=Path, help="path of the DICOM file")

    evenodd = add("evenodd", cmd_evenodd, "print numbers in order from an odd and an even thread")
    evenodd.add_argument("--start", type=int, default=1, help="first number (default 1)")
    evenodd.add_argument("--stop", type=int, default=200, help="last number (default 200)")
    evenodd.add_argument(
        "--interval", type=seconds, default=0.5, help="seconds between numbers (default 0.5)"
    )

    elements = add("elements", cmd_elements, "process each JSON element in its own thread")
    elements.add_argument("path", help="the folder holding the file")
    elements.add_argument("file", help="the JSON file's name")
    elements.add_argument(
        "--max-threads",
        type=positive_int,
        default=4,
        metavar="N",
        help="most element threads alive at once (default 4)",
    )

    serve = add("serve", cmd_serve, "serve the REST API (applies migrations; gunicorn)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=port_number, default=8000, help="port, 0 for any free one (default 8000)"
    )
    serve.add_argument(
        "--workers", type=positive_int, default=2, help="gunicorn worker processes (default 2)"
    )

    load = add("load", cmd_load, "store a JSON file of elements in the API's database")
    load.add_argument("file", type=Path, help="path of the JSON file (Part 3's format)")

    createuser = add(
        "createuser", cmd_createuser, "create a local account (password: EXAM_PASSWORD or a prompt)"
    )
    createuser.add_argument("name", help="the account's user name")
    createuser.add_argument("--staff", action="store_true", help="may see every user's jobs")
    createuser.add_argument(
        "--ae-title",
        type=ae_title,
        default=None,
        metavar="AE",
        help="a calling AE title whose C-STOREs the DIMSE gateway stores for this account",
    )

    token = add("token", cmd_token, "print an account's API token")
    token.add_argument("name", help="the account's user name")

    worker = add("worker", cmd_worker, "run a pipeline worker (Celery)")
    worker.add_argument(
        "--queues", default="s,m,l", help="size-class queues to consume (default s,m,l)"
    )
    worker.add_argument(
        "--concurrency", type=positive_int, default=1, help="pool processes (default 1)"
    )
    worker.add_argument("--name", default=None, help="the worker's node name (default: Celery's)")

    relay = add("relay", cmd_relay, "run the outbox relay and the stuck-job sweeper")
    relay.add_argument("--interval", type=seconds, default=0.5, help="seconds between relay passes")
    relay.add_argument(
        "--sweep-every", type=seconds, default=10.0, help="seconds between sweeps (default 10)"
    )

    add("sweeper", cmd_sweeper, "sweep once: requeue stuck jobs, delete orphaned objects")

    dimse = add("dimse", cmd_dimse, "run the DIMSE gateway: C-STORE into the pipeline, C-ECHO")
    dimse.add_argument(
        "--ae-title", type=ae_title, default="EXAM", help="the gateway's AE title (default EXAM)"
    )
    dimse.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    dimse.add_argument(
        "--port", type=port_number, default=11112, help="port, 0 for any free one (default 11112)"
    )

    stack = add(
        "stack", cmd_stack, "run the whole pipeline here: database, broker, web, relay, workers"
    )
    stack.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    stack.add_argument(
        "--port", type=port_number, default=8000, help="port, 0 for any free one (default 8000)"
    )
    stack.add_argument(
        "--workers", type=positive_int, default=2, help="worker processes (default 2)"
    )
    stack.add_argument(
        "--concurrency", type=positive_int, default=1, help="pool processes per worker (default 1)"
    )
    stack.add_argument("--dimse", action="store_true", help="run the DIMSE gateway too")
    stack.add_argument(
        "--dimse-port",
        type=port_number,
        default=11112,
        help="the DIMSE gateway's port (default 11112)",
    )

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    args = build_parser().parse_args(argv)
    configure_logging(
        log_file=args.log_file,
        verbose=args.verbose,
        json_lines=args.log_json or args.command in JSON_LOG_COMMANDS,
    )
    # A printing command piped into `head` that stops reading ends quietly, as
    # any Unix tool does, instead of a BrokenPipeError in whichever thread
    # prints.  Not the commands that talk over sockets: there SIGPIPE would
    # kill a server because one client went away.
    previous = signal.getsignal(signal.SIGPIPE)
    if args.command in PRINTING_COMMANDS:
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        ok = args.handler(args)
    except KeyboardInterrupt:
        logger.warning("interrupted")
        ok = False
    finally:
        signal.signal(signal.SIGPIPE, previous)
        shutdown_logging()
    return 0 if ok else 1
