"""QIDO-RS: studies, series and instances found by the standard's matching keys, from the rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from pydicom import dcmread
from rest_framework import status

from tests.part5_pipeline.conftest import copies

from .conftest import SAMPLE, SAMPLE_02, bundled, client_for, multipart, stow, uids, variant

pytestmark = pytest.mark.usefixtures("storage_dir")

CT = bundled("CT_small.dcm")
MR = bundled("MR_small.dcm")
#: Upload order of the owner's four studies.
FILES = [SAMPLE, SAMPLE_02, CT, MR]


@pytest.fixture
def stored(owner: User) -> list[Path]:
    """The owner's four studies, stored in this order through STOW."""
    response = stow(client_for(owner), multipart(*(path.read_bytes() for path in FILES)))
    assert response.status_code == status.HTTP_200_OK
    return FILES


def get(user: User, path: str, **params: Any) -> Any:
    """GET ``path`` with query ``params`` as ``user``."""
    return client_for(user).get(path, params, HTTP_ACCEPT="application/dicom+json")


def value(result: dict[str, Any], tag: str) -> Any:
    """The values of ``tag`` in one DICOM JSON result (None when empty)."""
    return result[tag].get("Value")


def studies(user: User, **params: Any) -> list[str]:
    """The Study Instance UIDs a study search answers, in order."""
    response = get(user, "/dicomweb/studies", **params)
    assert response.status_code == status.HTTP_200_OK, response.content
    return [value(result, "0020000D")[0] for result in response.json()]


def study_of(*paths: Path) -> list[str]:
    """The Study Instance UIDs of ``paths``."""
    return [uids(path)[0] for path in paths]


class TestStudies:
    """GET /dicomweb/studies."""

    @pytest.mark.req("P5.DICOM.QIDO.1")
    def test_every_study_is_listed_first_uploaded_first_with_its_attributes(
        self, owner: User, stored: list[Path]
    ) -> None:
        """Each result: the study's attributes, modalities, counts and Retrieve URL."""
        response = get(owner, "/dicomweb/studies")
        assert response["Content-Type"] == "application/dicom+json"
        results = response.json()
        assert [value(result, "0020000D")[0] for result in results] == study_of(*FILES)
        for result, path in zip(results, FILES, strict=True):
            header = dcmread(path, stop_before_pixels=True)
            assert value(result, "00100020") == [header.PatientID]
            assert value(result, "00080020") == [header.StudyDate]
            assert value(result, "00100010") == [{"Alphabetic": str(header.PatientName)}]
            assert value(result, "00080061") == [header.Modality]
            assert (value(result, "00201206"), value(result, "00201208")) == ([1], [1])
            assert value(result, "00081190") == [
                f"http://testserver/dicomweb/studies/{header.StudyInstanceUID}"
            ]
            assert list(result) == sorted(result)
        assert set(results[0]) == {
            "00080005", "00080020", "00080030", "00080050", "00080061", "00080090",
            "00081190", "00100010", "00100020", "00100030", "00100040", "0020000D",
            "00200010", "00201206", "00201208",
        }  # fmt: skip

    @pytest.mark.req("P5.DICOM.QIDO.1")
    def test_a_study_of_several_series_counts_them_and_lists_each_modality_once(
        self, owner: User, tmp_path: Path
    ) -> None:
        """Three instances, two series (MR, MR and CT) of one study: counts 2 and 3, CT and MR."""
        first, second = copies(tmp_path, 2)
        third = variant(tmp_path, SAMPLE, "ct.dcm", SeriesInstanceUID="1.2.3.4", Modality="CT",
                        SOPInstanceUID="1.2.3.4.5")  # fmt: skip
        stow(
            client_for(owner),
            multipart(first.read_bytes(), second.read_bytes(), third.read_bytes()),
        )
        (result,) = get(owner, "/dicomweb/studies").json()
        assert value(result, "00080061") == ["CT", "MR"]
        assert (value(result, "00201206"), value(result, "00201208")) == ([2], [3])

    @pytest.mark.req("P5.DICOM.QIDO.1")
    def test_limit_and_offset_page_the_results(self, owner: User, stored: list[Path]) -> None:
        """limit=2&offset=1: the second and third studies."""
        assert studies(owner, limit=2, offset=1) == study_of(SAMPLE_02, CT)

    @pytest.mark.req("P5.DICOM.QIDO.1")
    def test_includefield_adds_attributes_by_keyword_or_tag(
        self, owner: User, stored: list[Path]
    ) -> None:
        """includefield=PatientAge,00200011: present with its value, or empty when absent."""
        results = get(owner, "/dicomweb/studies", includefield="PatientAge,00200011").json()
        assert value(results[1], "00101010") == ["051Y"]
        assert results[0]["00101010"] == {"vr": "AS"}
        assert value(results[2], "00200011") == [1]

    @pytest.mark.req("P5.DICOM.QIDO.1")
    def test_includefield_all_returns_the_whole_stored_header(
        self, owner: User, stored: list[Path]
    ) -> None:
        """includefield=all: every element of the first instance's header, bulk data left out."""
        result = get(owner, "/dicomweb/studies", includefield="all", PatientID="1CT1").json()[0]
        header = dcmread(CT, stop_before_pixels=True)
        bulk = {
            f"{element.tag:08X}"
            for element in header
            if element.VR in ("OB", "OW", "UN") and len(element.value) > 1024
        }
        assert bulk == {"00431029"}  # a private OB of 2,068 bytes
        assert {f"{element.tag:08X}" for element in header} - bulk <= set(result)
        assert bulk & set(result) == set()
        assert value(result, "00180050") == [float(header.SliceThickness)]
        assert "7FE00010" not in result


class TestMatching:
    """The matching keys: by keyword or by tag, with the standard's value forms."""

    @pytest.mark.req("P5.DICOM.QIDO.2")
    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"PatientID": "EXAM-0002"}, [SAMPLE_02]),
            ({"00100020": "1CT1"}, [CT]),
            ({"PatientID": "EXAM-*"}, [SAMPLE, SAMPLE_02]),
            ({"PatientID": "?MR1"}, [MR]),
            ({"PatientID": "EXAM"}, []),
            ({"PatientID": ""}, FILES),
            ({"PatientName": "CompressedSamples^*"}, [CT, MR]),
            ({"PatientName": "Doe^Jane"}, [SAMPLE]),
            ({"ModalitiesInStudy": "MR"}, [SAMPLE, MR]),
            ({"ModalitiesInStudy": "CT,XA"}, [SAMPLE_02, CT]),
            ({"00080061": "XA"}, [SAMPLE_02]),
            ({"PatientID": "EXAM-*", "ModalitiesInStudy": "MR"}, [SAMPLE]),
        ],
        ids=[
            "patient-id",
            "patient-id-by-tag",
            "star",
            "question-mark",
            "no-partial-match",
            "empty-matches-all",
            "patient-name-star",
            "patient-name",
            "modality",
            "modality-list",
            "modality-by-tag",
            "combined",
        ],
    )
    def test_single_values_wildcards_and_lists_match(
        self, owner: User, stored: list[Path], params: dict[str, str], expected: list[Path]
    ) -> None:
        """Exact values, * and ? wildcards, value lists; keys by keyword or by tag."""
        assert studies(owner, **params) == study_of(*expected)

    @pytest.mark.req("P5.DICOM.QIDO.2")
    @pytest.mark.parametrize(
        ("dates", "expected"),
        [
            ("20240115", [SAMPLE]),
            ("20040101-20041231", [CT, MR]),
            ("20040119-20040119", [CT]),
            ("-20040826", [CT, MR]),
            ("20240101-", [SAMPLE, SAMPLE_02]),
            ("20040120-20040825", []),
        ],
        ids=["date", "closed-range", "one-day-range", "open-start", "open-end", "between"],
    )
    def test_study_date_matches_a_date_or_a_range(
        self, owner: User, stored: list[Path], dates: str, expected: list[Path]
    ) -> None:
        """StudyDate as a date, a closed range, and ranges open at either end."""
        assert studies(owner, StudyDate=dates) == study_of(*expected)

    @pytest.mark.req("P5.DICOM.QIDO.2")
    def test_a_list_of_study_uids_matches_each(self, owner: User, stored: list[Path]) -> None:
        """StudyInstanceUID=a,b: those two studies, in upload order."""
        wanted = f"{uids(MR)[0]},{uids(SAMPLE)[0]}"
        assert studies(owner, StudyInstanceUID=wanted) == study_of(SAMPLE, MR)

    @pytest.mark.req("P5.DICOM.QIDO.2")
    def test_accession_number_matches(self, owner: User, tmp_path: Path) -> None:
        """AccessionNumber as stored by ingest, exact or with a wildcard."""
        tagged = variant(tmp_path, SAMPLE, "accession.dcm", AccessionNumber="ACC-77")
        stow(client_for(owner), multipart(tagged.read_bytes(), CT.read_bytes()))
        assert studies(owner, AccessionNumber="ACC-77") == study_of(SAMPLE)
        assert studies(owner, AccessionNumber="ACC*") == study_of(SAMPLE)


class TestSeriesAndInstances:
    """GET .../series and .../instances of one study."""

    @pytest.mark.req("P5.DICOM.QIDO.1", "P5.DICOM.QIDO.2")
    def test_a_study_s_series_are_listed_with_their_instance_counts(
        self, owner: User, tmp_path: Path
    ) -> None:
        """Two series of one study: each with its modality, number, count and Retrieve URL."""
        first, second = copies(tmp_path, 2)
        other = variant(tmp_path, SAMPLE, "ct.dcm", SeriesInstanceUID="1.2.3.4", Modality="CT",
                        SOPInstanceUID="1.2.3.4.5", SeriesNumber=7)  # fmt: skip
        stow(
            client_for(owner),
            multipart(first.read_bytes(), second.read_bytes(), other.read_bytes()),
        )
        study, series = uids(SAMPLE)[:2]
        results = get(owner, f"/dicomweb/studies/{study}/series").json()
        assert [value(result, "0020000E") for result in results] == [[series], ["1.2.3.4"]]
        assert [value(result, "00080060") for result in results] == [["MR"], ["CT"]]
        assert [value(result, "00200011") for result in results] == [[1], [7]]
        assert [value(result, "00201209") for result in results] == [[2], [1]]
        assert value(results[1], "00081190") == [
            f"http://testserver/dicomweb/studies/{study}/series/1.2.3.4"
        ]
        matching = get(owner, f"/dicomweb/studies/{study}/series", Modality="CT").json()
        assert [value(result, "0020000E") for result in matching] == [["1.2.3.4"]]
        numbered = get(owner, f"/dicomweb/studies/{study}/series", SeriesNumber="1").json()
        assert [value(result, "0020000E") for result in numbered] == [[series]]

    @pytest.mark.req("P5.DICOM.QIDO.1", "P5.DICOM.QIDO.2")
    def test_a_series_instances_are_listed_and_matched(self, owner: User, tmp_path: Path) -> None:
        """Two instances of one series: their UIDs, class, number and Retrieve URL; by SOP UID."""
        first, second = copies(tmp_path, 2)
        stow(client_for(owner), multipart(first.read_bytes(), second.read_bytes()))
        study, series, sop, sop_class = uids(first)
        path = f"/dicomweb/studies/{study}/series/{series}/instances"
        results = get(owner, path).json()
        assert [value(result, "00080018")[0] for result in results] == [sop, uids(second)[2]]
        assert value(results[0], "00080016") == [sop_class]
        assert value(results[0], "00080056") == ["ONLINE"]
        assert value(results[0], "00081190") == [f"http://testserver{path}/{sop}"]
        assert [value(r, "00080018")[0] for r in get(owner, path, SOPInstanceUID=sop).json()] == [
            sop
        ]
        assert get(owner, path, InstanceNumber="2").json() == []


class TestRefused:
    """Searches the server cannot run: 400 with the reason, never an empty 200."""

    @pytest.mark.req("P5.DICOM.QIDO.3")
    @pytest.mark.parametrize(
        ("params", "reason"),
        [
            ({"StudyDate": "20240230"}, "StudyDate: '20240230' is not a date (YYYYMMDD)"),
            ({"StudyDate": "2024-01-01"}, "StudyDate: '2024' is not a date (YYYYMMDD)"),
            ({"StudyDate": "20240101-2025"}, "StudyDate: '2025' is not a date (YYYYMMDD)"),
            ({"StudyDate": "20241231-20240101"},
             "StudyDate: the date range '20241231-20240101' ends before it starts"),
            ({"StudyDate": "-"}, "StudyDate: a date range needs a start, an end or both"),
            ({"PatientWeight": "70"},
             "PatientWeight is not a matching key for study searches here; use StudyInstanceUID, "
             "PatientID, PatientName, StudyDate, AccessionNumber, ModalitiesInStudy"),
            ({"Modality": "CT"},
             "Modality is not a matching key for study searches here; use StudyInstanceUID, "
             "PatientID, PatientName, StudyDate, AccessionNumber, ModalitiesInStudy"),
            ({"PatientFavouriteColour": "blue"},
             "'PatientFavouriteColour' is not a DICOM attribute (a keyword or a tag such as "
             "00100020)"),
            ({"00091001": "x"},
             "'00091001' is not a DICOM attribute (a keyword or a tag such as 00100020)"),
            ({"includefield": "Colour"},
             "'Colour' is not a DICOM attribute (a keyword or a tag such as 00100020)"),
            ({"limit": "-1"}, "limit must be a whole number of at least 0, got '-1'"),
            ({"offset": "many"}, "offset must be a whole number of at least 0, got 'many'"),
        ],
        ids=[
            "no-such-day",
            "iso-date",
            "short-end",
            "reversed-range",
            "bare-dash",
            "not-a-matching-key",
            "series-key-at-study-level",
            "unknown-keyword",
            "private-tag",
            "unknown-includefield",
            "negative-limit",
            "word-offset",
        ],
    )  # fmt: skip
    def test_a_search_it_cannot_run_answers_400_with_the_reason(
        self, owner: User, stored: list[Path], params: dict[str, str], reason: str
    ) -> None:
        """400 and the reason in plain words."""
        response = get(owner, "/dicomweb/studies", **params)
        assert (response.status_code, response.json()) == (
            status.HTTP_400_BAD_REQUEST,
            {"detail": reason},
        )

    @pytest.mark.req("P5.DICOM.QIDO.3")
    def test_a_number_key_with_a_word_answers_400(self, owner: User, stored: list[Path]) -> None:
        """SeriesNumber=one at the series level: 400."""
        response = get(owner, f"/dicomweb/studies/{uids(SAMPLE)[0]}/series", SeriesNumber="one")
        assert (response.status_code, response.json()) == (
            status.HTTP_400_BAD_REQUEST,
            {"detail": "SeriesNumber: 'one' is not a whole number"},
        )


class TestOwners:
    """Each user searches their own instances only."""

    @pytest.mark.req("P5.DICOM.ACCESS.1")
    def test_another_user_s_studies_are_never_found(
        self, owner: User, other: User, stored: list[Path]
    ) -> None:
        """The other user, with one study of their own, finds only it, by any key."""
        stow(client_for(other), multipart(CT.read_bytes()))
        assert studies(other) == study_of(CT)
        assert studies(other, PatientID="EXAM-0001") == []
        assert get(other, f"/dicomweb/studies/{uids(SAMPLE)[0]}/series").json() == []

    @pytest.mark.req("P5.DICOM.ACCESS.1")
    def test_a_search_without_a_token_answers_401(self, client: Any, db: None) -> None:
        """No Authorization header: 401."""
        assert client.get("/dicomweb/studies").status_code == status.HTTP_401_UNAUTHORIZED
