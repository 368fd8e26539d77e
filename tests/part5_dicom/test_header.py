"""The stored DICOM JSON header, made by many threads at once, as the web server's threads do."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydicom import config, dcmread

from exam.dicom_io import read_header
from exam.pipeline.dicomweb.header import dicom_json

from .conftest import SAMPLE

pytestmark = pytest.mark.req("P5.DICOM.HEADER.1")


def with_invalid_values(folder: Path) -> Path:
    """SAMPLE with a StudyDate and a Modality that pydicom's validation refuses."""
    dataset = dcmread(SAMPLE)
    with config.disable_value_validation():
        dataset.StudyDate = "20241399"
        dataset.Modality = "M\x1bR"
    path = folder / "invalid.dcm"
    dataset.save_as(path)
    return path


def test_values_pydicom_would_refuse_are_kept_as_found(tmp_path: Path) -> None:
    """The invalid date and code string are encoded as they are in the file."""
    encoded = dicom_json(read_header(with_invalid_values(tmp_path)))
    assert encoded["00080020"] == {"vr": "DA", "Value": ["20241399"]}
    assert encoded["00080060"] == {"vr": "CS", "Value": ["M\x1bR"]}


def test_concurrent_reads_leave_pydicom_s_validation_setting_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """8 threads reading and encoding 400 headers: only IGNORE is ever set, and the setting
    ends unset, as it began.

    pydicom's ``strict_reading`` (which ``to_json_dict(suppress_invalid_tags=True)``
    uses) sets RAISE; saved by one thread and restored by another, RAISE stays.
    """
    modes: list[int] = []
    original = config.Settings.reading_validation_mode

    def record(settings: config.Settings, mode: int) -> None:
        modes.append(mode)
        assert original.fset is not None
        original.fset(settings, mode)

    monkeypatch.setattr(config.Settings, "reading_validation_mode", property(original.fget, record))
    paths = [with_invalid_values(tmp_path), SAMPLE]
    assert (config.settings._reading_validation_mode, config.settings._writing_validation_mode) == (
        None,
        None,
    )

    def encode(number: int) -> str:
        return str(dicom_json(read_header(paths[number % 2]))["00080020"]["Value"][0])

    with ThreadPoolExecutor(8) as pool:
        dates = list(pool.map(encode, range(400)))
    assert dates == ["20241399", "20240115"] * 200
    assert set(modes) == {config.IGNORE}
    assert (config.settings._reading_validation_mode, config.settings._writing_validation_mode) == (
        None,
        None,
    )
    assert config.settings.reading_validation_mode == config.WARN
