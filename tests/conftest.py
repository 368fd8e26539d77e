"""Fixtures shared by several parts: PostgreSQL, the DICOM fixtures and a DICOM factory.

The database server is started here -- embedded unless ``DATABASE_URL`` names
one -- by overriding pytest-django's ``django_db_modify_db_settings``, which
runs once, before the test database is created, and only when a test asks for
the database.  Tests that never touch the database never start PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from exam.database import ensure_database

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None,
) -> Iterator[None]:
    """Start the embedded PostgreSQL when no server is configured; stop it after the session."""
    server = ensure_database()
    yield
    if server is not None:
        server.stop()


@pytest.fixture(scope="session")
def dicom_fixtures_dir() -> Path:
    """The folder of the committed fixtures: sample-01-dicom.dcm, sample-02-dicom.dcm ..."""
    return FIXTURES_DIR


@pytest.fixture
def make_dicom(tmp_path: Path) -> Callable[..., Path]:
    """Return ``make(name="test.dcm", *, transfer_syntax=..., pixels=None, **elements) -> Path``.

    It writes a small valid DICOM file (a secondary capture with a proper file
    meta header) into ``tmp_path``, holding ``elements`` (keyword -> value) and,
    when given, ``pixels`` (a 2-D or 3-D uint8/uint16 array) as native pixel data.
    """

    def make(
        name: str = "test.dcm",
        *,
        transfer_syntax: str = ExplicitVRLittleEndian,
        pixels: np.ndarray | None = None,
        **elements: object,
    ) -> Path:
        dataset = Dataset()
        dataset.file_meta = FileMetaDataset()
        dataset.file_meta.TransferSyntaxUID = transfer_syntax
        dataset.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
        dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[name])
        dataset.SOPClassUID = SecondaryCaptureImageStorage
        dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID
        for keyword, value in elements.items():
            setattr(dataset, keyword, value)
        if pixels is not None:
            bits = pixels.dtype.itemsize * 8
            dataset.set_pixel_data(pixels, "MONOCHROME2", bits, generate_instance_uid=False)
        path = tmp_path / name
        dataset.save_as(path, enforce_file_format=True)
        return path

    return make
