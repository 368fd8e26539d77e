"""``python -m exam demo``: run every implemented part on the bundled fixtures.

Each step prints a heading and then exactly what the part's function prints,
so the demo doubles as a tour of the outputs the test asks for.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from exam.logs import get_logger

logger = get_logger(__name__)

Step = tuple[str, Callable[[Path], object]]


def _steps() -> list[Step]:
    from exam.dicom_io import read_dicom
    from exam.elements import process_json_file
    from exam.files import list_folder, read_csv
    from exam.threads import print_even_odd

    return [
        ("Part 1 - list a folder", lambda folder: list_folder(folder)),
        ("Part 1 - summarise a CSV", lambda folder: read_csv(folder, "sample-01-csv.csv")),
        (
            "Part 1 - read DICOM headers and tags",
            lambda folder: read_dicom(
                folder, "sample-02-dicom.dcm", "SOPClassUID", "(0020,0011)", "NumberOfFrames"
            ),
        ),
        ("Part 2 - StudyRecord loaded from DICOM", _print_study),
        ("Part 3 - even and odd threads taking turns", lambda _: print_even_odd(1, 10, 0.01)),
        (
            "Part 3 - one thread per JSON element, at most 4 alive",
            lambda folder: process_json_file(folder, "sample-03-00-json.json"),
        ),
        ("Part 4 - REST API on PostgreSQL, in-process and rolled back", _api_round_trip),
        ("Part 5 - the pipeline: upload, Celery workers, results in PostgreSQL", _pipeline),
    ]


def _api_round_trip(folder: Path) -> object:
    from exam.api.commands import demo

    return demo(folder)


def _pipeline(folder: Path) -> object:
    from exam.pipeline.demo import run_demo

    return run_demo(folder)


def _print_study(folder: Path) -> bool:
    from exam.records import StudyRecord

    print(StudyRecord.from_dicom(folder / "sample-02-dicom.dcm"))
    return True


def run_demo(fixtures: Path) -> bool:
    """Run each step on ``fixtures``; return True when every step succeeded."""
    ok = True
    for title, step in _steps():
        print(f"\n=== {title} ===")
        if step(fixtures) is None:
            logger.error("demo step failed: %s", title)
            ok = False
    return ok
