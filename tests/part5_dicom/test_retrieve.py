"""WADO-RS: the originals as uploaded, streamed as multipart/related, and their metadata."""

from __future__ import annotations

import base64
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from pydicom import Dataset, dcmread
from rest_framework import status

from tests.part5_pipeline.conftest import copies

from .conftest import SAMPLE, SAMPLE_02, client_for, multipart, stow, uids, variant

pytestmark = pytest.mark.usefixtures("storage_dir")

EXPLICIT = "1.2.840.10008.1.2.1"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"


def store(user: User, *paths: Path) -> None:
    """STOW ``paths`` for ``user``; all must be stored."""
    response = stow(client_for(user), multipart(*(path.read_bytes() for path in paths)))
    assert response.status_code == status.HTTP_200_OK


def instance_path(path: Path) -> str:
    """The WADO-RS path of the file ``path``'s instance."""
    study, series, sop, _ = uids(path)
    return f"/dicomweb/studies/{study}/series/{series}/instances/{sop}"


def retrieve(user: User, path: str, accept: str | None = None) -> Any:
    """GET ``path`` as ``user`` (with ``accept`` as the Accept header, if given)."""
    extra = {} if accept is None else {"HTTP_ACCEPT": accept}
    return client_for(user).get(path, **extra)


def parts(response: Any) -> list[tuple[str, str, bytes]]:
    """Each part's media type, transfer syntax and body, as Python's email parser reads them."""
    body = b"".join(response.streaming_content)
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {response['Content-Type']}\r\n\r\n".encode() + body
    )
    assert message.is_multipart()
    return [
        (part.get_content_type(), part.get_param("transfer-syntax"), part.get_payload(decode=True))
        for part in message.iter_parts()
    ]


class TestRetrieve:
    """GET a study, series or instance: its originals, byte for byte."""

    @pytest.mark.req("P5.DICOM.WADO.1")
    def test_an_instance_is_the_uploaded_file_byte_for_byte(self, owner: User) -> None:
        """One part, labelled with the stored transfer syntax, holding the uploaded bytes."""
        store(owner, SAMPLE, SAMPLE_02)
        response = retrieve(owner, instance_path(SAMPLE_02))
        assert response.status_code == status.HTTP_200_OK
        assert response["Content-Type"].startswith('multipart/related; type="application/dicom"; ')
        assert parts(response) == [("application/dicom", JPEG_BASELINE, SAMPLE_02.read_bytes())]

    @pytest.mark.req("P5.DICOM.WADO.1")
    def test_a_study_and_a_series_hold_their_instances_in_upload_order(
        self, owner: User, tmp_path: Path
    ) -> None:
        """Three instances of one study, two in one series: the study has 3 parts, the series 2."""
        first, second = copies(tmp_path, 2)
        other = variant(tmp_path, SAMPLE, "other.dcm", SeriesInstanceUID="1.2.3.4",
                        SOPInstanceUID="1.2.3.4.5")  # fmt: skip
        store(owner, first, second, other)
        study, series = uids(first)[:2]
        study_parts = parts(retrieve(owner, f"/dicomweb/studies/{study}"))
        assert [body for _, _, body in study_parts] == [
            path.read_bytes() for path in (first, second, other)
        ]
        series_parts = parts(retrieve(owner, f"/dicomweb/studies/{study}/series/{series}"))
        assert [body for _, _, body in series_parts] == [first.read_bytes(), second.read_bytes()]

    @pytest.mark.req("P5.DICOM.WADO.1", "P5.DICOM.WADO.2")
    @pytest.mark.parametrize(
        "accept",
        [
            'multipart/related; type="application/dicom"',
            'multipart/related; type="application/dicom"; transfer-syntax=*',
            f'multipart/related; type="application/dicom"; transfer-syntax={EXPLICIT}',
            "multipart/related",
            "*/*",
            f'application/dicom+json, multipart/related; type="application/dicom"; '
            f"transfer-syntax={EXPLICIT}",
        ],
        ids=["no-syntax", "any-syntax", "stored-syntax", "no-type", "anything", "second-choice"],
    )
    def test_an_accept_allowing_the_stored_syntax_gets_the_original(
        self, owner: User, accept: str
    ) -> None:
        """Each Accept header that allows the stored transfer syntax: 200, the original."""
        store(owner, SAMPLE)
        response = retrieve(owner, instance_path(SAMPLE), accept)
        assert response.status_code == status.HTTP_200_OK
        assert [body for _, _, body in parts(response)] == [SAMPLE.read_bytes()]

    @pytest.mark.req("P5.DICOM.WADO.2")
    @pytest.mark.parametrize(
        "accept",
        [
            f'multipart/related; type="application/dicom"; transfer-syntax={JPEG_BASELINE}',
            "application/dicom",
            'multipart/related; type="application/octet-stream"',
        ],
        ids=["another-syntax", "single-part", "bulk-data"],
    )
    def test_an_accept_allowing_nothing_stored_answers_406(self, owner: User, accept: str) -> None:
        """Nothing is transcoded: 406 with the reason."""
        store(owner, SAMPLE)
        response = retrieve(owner, instance_path(SAMPLE), accept)
        assert (response.status_code, response.json()) == (
            status.HTTP_406_NOT_ACCEPTABLE,
            {
                "detail": 'Ask for multipart/related; type="application/dicom" with '
                f"transfer-syntax=* or the one stored ({EXPLICIT}): instances are served as "
                "uploaded, never transcoded."
            },
        )


class TestMetadata:
    """GET .../metadata: the stored headers as DICOM JSON, bulk data left out."""

    @pytest.mark.req("P5.DICOM.WADO.1")
    def test_an_instance_s_metadata_is_its_header_without_bulk_data(
        self, owner: User, tmp_path: Path
    ) -> None:
        """pydicom reads the metadata back as the header; pixel data and long binaries are gone."""
        path = variant(
            tmp_path,
            SAMPLE,
            "binaries.dcm",
            ICCProfile=bytes(2048),
            RedPaletteColorLookupTableData=bytes(16),
        )
        store(owner, path)
        response = client_for(owner).get(f"{instance_path(path)}/metadata")
        assert response["Content-Type"] == "application/dicom+json"
        (metadata,) = response.json()
        assert metadata["00083002"] == {"vr": "UI", "Value": [EXPLICIT]}
        assert "7FE00010" not in metadata
        assert "00282000" not in metadata  # the ICC profile (2,048 bytes)
        # A short binary value (the 16-byte lookup table) stays, inline.
        inline = base64.b64encode(bytes(16)).decode()
        assert metadata["00281201"] == {"vr": "OW", "InlineBinary": inline}
        expected = Dataset(dcmread(path, stop_before_pixels=True))
        del expected.ICCProfile
        expected.AvailableTransferSyntaxUID = EXPLICIT
        assert Dataset.from_json(metadata) == expected

    @pytest.mark.req("P5.DICOM.WADO.1")
    def test_a_nul_character_in_a_value_is_dropped(self, owner: User, tmp_path: Path) -> None:
        """PostgreSQL's JSON holds no NUL: NUL characters are left out of the stored header."""
        path = variant(tmp_path, SAMPLE, "nul.dcm", StudyDescription="BRAIN\x00SCAN")
        store(owner, path)
        (metadata,) = client_for(owner).get(f"{instance_path(path)}/metadata").json()
        assert metadata["00081030"] == {"vr": "LO", "Value": ["BRAINSCAN"]}

    @pytest.mark.req("P5.DICOM.WADO.1")
    def test_a_study_s_metadata_lists_each_instance(self, owner: User, tmp_path: Path) -> None:
        """Two instances of one study: two headers, in upload order."""
        first, second = copies(tmp_path, 2)
        store(owner, first, second)
        study, series = uids(first)[:2]
        for path in (f"/dicomweb/studies/{study}", f"/dicomweb/studies/{study}/series/{series}"):
            metadata = client_for(owner).get(f"{path}/metadata").json()
            assert [item["00080018"]["Value"] for item in metadata] == [
                [uids(first)[2]],
                [uids(second)[2]],
            ]


class TestOwners:
    """Another user's instances are not found; every resource needs a token."""

    @pytest.mark.req("P5.DICOM.ACCESS.1")
    @pytest.mark.parametrize("suffix", ["", "/metadata"], ids=["retrieve", "metadata"])
    def test_another_user_s_instance_answers_404(
        self, owner: User, other: User, suffix: str
    ) -> None:
        """The owner's instance, study and series asked for by another user: 404 each."""
        store(owner, SAMPLE)
        study, series = uids(SAMPLE)[:2]
        for path in (
            instance_path(SAMPLE),
            f"/dicomweb/studies/{study}",
            f"/dicomweb/studies/{study}/series/{series}",
        ):
            response = client_for(other).get(f"{path}{suffix}")
            assert (response.status_code, response.json()) == (
                status.HTTP_404_NOT_FOUND,
                {"detail": "Not found."},
            )
        assert client_for(owner).get(f"{instance_path(SAMPLE)}{suffix}").status_code == 200

    @pytest.mark.req("P5.DICOM.ACCESS.1")
    @pytest.mark.parametrize(
        "path", ["/dicomweb/studies/1.2.3", "/dicomweb/studies/1.2.3/metadata"]
    )
    def test_a_retrieve_without_a_token_answers_401(self, client: Any, db: None, path: str) -> None:
        """No Authorization header: 401."""
        assert client.get(path).status_code == status.HTTP_401_UNAUTHORIZED

    @pytest.mark.req("P5.DICOM.ACCESS.1")
    def test_a_path_segment_that_is_no_uid_matches_no_route(self, owner: User) -> None:
        """Letters where a UID belongs: 404 before any view runs."""
        assert client_for(owner).get("/dicomweb/studies/abc").status_code == 404
