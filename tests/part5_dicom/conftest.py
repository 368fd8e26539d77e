"""Fixtures and helpers of the DICOM interface tests: DICOMweb bodies, pydicom's files, accounts.

The pipeline's fixtures (storage folder, users, real processes) come from
``tests/part5_pipeline/conftest.py``.  Requests with hostile bodies are built
here by hand (:func:`multipart`); the conformance tests leave request
building to dicomweb-client and to DCMTK's and pynetdicom's senders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from pydicom import dcmread
from pydicom.data import get_testdata_file
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.part5_pipeline.conftest import (  # noqa: F401 - fixtures used by the tests here
    FIXTURES,
    alice,
    bob,
    broker_url,
    faults_dir,
    processes,
    rabbitmq_url,
    redis_broker,
    storage_dir,
)

SAMPLE = FIXTURES / "sample-01-dicom.dcm"
SAMPLE_02 = FIXTURES / "sample-02-dicom.dcm"
BOUNDARY = "exam-test-boundary"
DICOM = "application/dicom"
STOW_TYPE = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'


def bundled(name: str) -> Path:
    """One of the files bundled with pydicom (CT_small.dcm, MR_small.dcm, JPEG2000.dcm ...)."""
    path = get_testdata_file(name, download=False)
    assert path is not None, f"pydicom does not bundle {name}"
    return Path(path)


def account(name: str) -> User:
    """A user with an API token."""
    user = User.objects.create_user(name)
    Token.objects.create(user=user)
    return user


@pytest.fixture
def owner(db: None) -> User:
    """A user with a token, in the test's rolled-back transaction."""
    return account("owner")


@pytest.fixture
def other(db: None) -> User:
    """Another user."""
    return account("other")


def client_for(user: User) -> APIClient:
    """An API client with ``user``'s token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
    return client


def multipart(
    *bodies: bytes,
    boundary: str = BOUNDARY,
    media_type: str = "application/dicom",
    end: bool = True,
) -> bytes:
    """A multipart/related body of ``bodies``, closed unless ``end`` is False."""
    parts = b"".join(
        b"--%s\r\nContent-Type: %s\r\n\r\n%s\r\n" % (boundary.encode(), media_type.encode(), body)
        for body in bodies
    )
    return parts + (b"--%s--\r\n" % boundary.encode() if end else b"")


def stow(client: APIClient, body: bytes, *, study: str = "", content_type: str = STOW_TYPE) -> Any:
    """POST ``body`` to /dicomweb/studies (or into ``study``)."""
    path = f"/dicomweb/studies/{study}" if study else "/dicomweb/studies"
    return client.generic("POST", path, body, content_type=content_type)


def uids(path: Path) -> tuple[str, str, str, str]:
    """The study, series, SOP instance and SOP class UIDs of the DICOM file ``path``."""
    header = dcmread(path, stop_before_pixels=True)
    return (
        str(header.StudyInstanceUID),
        str(header.SeriesInstanceUID),
        str(header.SOPInstanceUID),
        str(header.SOPClassUID),
    )


def element(vr: str, *values: object) -> dict[str, Any]:
    """A DICOM JSON element."""
    return {"vr": vr, "Value": list(values)} if values else {"vr": vr}


def variant(folder: Path, source: Path, name: str, **elements: Any) -> Path:
    """A copy of ``source`` in ``folder`` with ``elements`` changed (None deletes one)."""
    dataset = dcmread(source)
    for keyword, value in elements.items():
        if value is None:
            delattr(dataset, keyword)
        else:
            setattr(dataset, keyword, value)
    path = folder / name
    dataset.save_as(path)
    return path
