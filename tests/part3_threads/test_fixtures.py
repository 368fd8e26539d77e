"""The Part 3 input files: the bundled sample and fixtures/make_json.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import ModuleType

import pytest

from tests.part3_threads.conftest import FIXTURES, SAMPLE

HEX_ID = re.compile(r"[0-9a-f]{7}")


def shape_of(item: dict[str, object]) -> tuple[int, set[int], set[int]]:
    """Rows, the set of row lengths, and the set of values of one element."""
    rows = item["data"]
    assert isinstance(rows, list)
    values = [[int(token) for token in row.split()] for row in rows]
    return len(values), {len(row) for row in values}, {v for row in values for v in row}


@pytest.mark.req("P3.EL.11")
def test_the_sample_file_holds_two_elements_of_three_by_ten() -> None:
    """sample-03-00-json.json: two elements of 3 x 10 numbers from 0 to 100, CT SCAN and MRI."""
    content = json.loads((FIXTURES / SAMPLE).read_text(encoding="utf-8"))
    assert [(key, item["id"], item["deviceName"]) for key, item in content.items()] == [
        ("1", "aabbcc1", "CT SCAN"),
        ("2", "ddeeff2", "MRI"),
    ]
    for item in content.values():
        rows, widths, values = shape_of(item)
        assert (rows, widths) == (3, {10})
        assert values <= set(range(101))


@pytest.mark.req("P3.EL.11")
def test_make_json_writes_the_requested_elements(tmp_path: Path, make_json: ModuleType) -> None:
    """Keys 1..N, 7-hex-digit ids, devices cycling CT SCAN, MRI, RX 1, values 0 to 100."""
    path = make_json.write_json(tmp_path / "small.json", elements=4, rows=3, columns=5)
    content = json.loads(path.read_text(encoding="utf-8"))
    assert list(content) == ["1", "2", "3", "4"]
    assert [item["deviceName"] for item in content.values()] == [
        "CT SCAN",
        "MRI",
        "RX 1",
        "CT SCAN",
    ]
    assert all(HEX_ID.fullmatch(item["id"]) for item in content.values())
    for item in content.values():
        rows, widths, values = shape_of(item)
        assert (rows, widths) == (3, {5})
        assert values <= set(range(101))


@pytest.mark.req("P3.EL.11")
def test_make_json_writes_the_same_bytes_for_the_same_seed(
    tmp_path: Path, make_json: ModuleType
) -> None:
    """Two runs with one seed give identical files; another seed gives another file."""
    first = make_json.write_json(tmp_path / "a.json", elements=3, rows=4, columns=4)
    second = make_json.write_json(tmp_path / "b.json", elements=3, rows=4, columns=4)
    other = make_json.write_json(tmp_path / "c.json", elements=3, rows=4, columns=4, seed=1)
    assert first.read_bytes() == second.read_bytes() != other.read_bytes()


@pytest.mark.slow
@pytest.mark.req("P3.EL.11")
def test_the_default_large_file_has_20_elements_of_500_by_500(large_file: Path) -> None:
    """The generated file: 20 elements of 250,000 values from 0 to 100, as 500 rows x 500."""
    content = json.loads(large_file.read_text(encoding="utf-8"))
    assert list(content) == [str(k) for k in range(1, 21)]
    for item in content.values():
        rows, widths, values = shape_of(item)
        assert (rows, widths) == (500, {500})
        assert values <= set(range(101))


@pytest.mark.req("P3.EL.11")
def test_make_json_command_writes_the_git_ignored_default_name(
    tmp_path: Path, make_json: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    """The script's default output name matches the fixtures/large-*.json ignore pattern."""
    assert make_json.default_name(20, 500, 500) == "large-20x250000.json"
    output = tmp_path / "out.json"
    assert (
        make_json.main(["--elements", "2", "--rows", "2", "--columns", "3", "-o", str(output)]) == 0
    )
    assert capsys.readouterr().out.startswith(f"wrote {output} (")
    assert len(json.loads(output.read_text(encoding="utf-8"))) == 2
