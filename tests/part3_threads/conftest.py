"""Fixtures of the Part 3 tests: JSON element files, the generator script, the large file."""

from __future__ import annotations

import importlib.util
import json
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
SAMPLE = "sample-03-00-json.json"


def load_make_json() -> ModuleType:
    """Import fixtures/make_json.py, which is a script rather than a package module."""
    spec = importlib.util.spec_from_file_location("make_json", FIXTURES / "make_json.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def element(element_id: str, *rows: str, device: str = "MRI") -> dict[str, object]:
    """Build one element as it appears in a file."""
    return {"id": element_id, "data": list(rows), "deviceName": device}


def rows_of(matrix: list[list[int]] | list[list[float]]) -> list[str]:
    """Format a matrix as an element's ``data`` rows."""
    return [" ".join(repr(value) for value in row) for row in matrix]


def send_ctrl_c() -> None:
    """Deliver SIGINT to the main thread, as a terminal's Ctrl-C does."""
    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)


@pytest.fixture
def write_elements(tmp_path: Path) -> Callable[[object], Path]:
    """Return a function writing a JSON value to ``elements.json`` in tmp_path."""

    def write(content: object) -> Path:
        path = tmp_path / "elements.json"
        path.write_text(json.dumps(content), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def make_json() -> ModuleType:
    """The fixtures/make_json.py module."""
    return load_make_json()


@pytest.fixture(scope="session")
def large_file(tmp_path_factory: pytest.TempPathFactory, make_json: ModuleType) -> Path:
    """The full-size generated file: 20 elements of 250,000 values."""
    path: Path = make_json.write_json(tmp_path_factory.mktemp("large") / "large-20x250000.json")
    return path


@pytest.fixture
def ctrl_c_reaches_main() -> None:
    """Check that SIGINT raises KeyboardInterrupt in the main thread, as in a terminal."""
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def part3_threads() -> list[str]:
    """Names of the live threads that Part 3 starts (printers and element threads)."""
    return sorted(
        thread.name
        for thread in threading.enumerate()
        if thread.name in {"odd", "even"} or thread.name.startswith("element-")
    )
