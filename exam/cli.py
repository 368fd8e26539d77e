"""Command-line interface: ``python -m exam COMMAND ...``.

Every subcommand shares ``--log-file`` and ``--verbose``, exits 0 on success
and 1 on failure.  Failures are logged (a short ``ERROR: ...`` line on stderr),
never shown as a traceback.  The library functions do the printing the test
asks for; this module only parses arguments and maps results to exit codes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from exam.logs import configure_logging, get_logger, shutdown_logging

logger = get_logger(__name__)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

Handler = Callable[[argparse.Namespace], bool]


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

    return read_dicom(args.path, args.file, *args.tag) is not None


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


def cmd_demo(args: argparse.Namespace) -> bool:
    """Run every implemented part on the bundled fixtures."""
    from exam.demo import run_demo

    return run_demo(FIXTURES)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--log-file", type=Path, help="also append log records to this file")
    common.add_argument("-v", "--verbose", action="store_true", help="show info records too")

    parser = argparse.ArgumentParser(
        prog="python -m exam",
        description="Reference answer to the five-part medical-data Python test.",
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], help=help_text, description=help_text)
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

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    args = build_parser().parse_args(argv)
    configure_logging(log_file=args.log_file, verbose=args.verbose)
    try:
        ok = args.handler(args)
    except KeyboardInterrupt:
        logger.warning("interrupted")
        ok = False
    finally:
        shutdown_logging()
    return 0 if ok else 1
