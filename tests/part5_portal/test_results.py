"""The result page, its preview and downloads: what they show, who may see them, the audit."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.db import DatabaseError
from django.utils import timezone
from PIL import Image
from pydicom import dcmread
from pydicom.pixels.processing import apply_rescale
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from exam.pipeline.models import AuditEvent, Job
from exam.records import StudyRecord

from .conftest import SAMPLE_1, SAMPLE_2, finished_job, logged_in
from .pages import page, table_rows, text

#: Each of a result's URLs, and the audit action its view writes.
URLS = {
    "/results/{job}/": "result_view",
    "/results/{job}/preview.png": "preview_view",
    "/results/{job}/result.json": "result_download",
    "/results/{job}/original.dcm": "original_download",
}


def frames_of(path: Any) -> list[np.ndarray]:
    """Each frame's rescaled pixel values, read with pydicom."""
    dataset = dcmread(path)
    pixels = apply_rescale(dataset.pixel_array, dataset).astype(np.float64)
    return list(pixels) if int(dataset.get("NumberOfFrames") or 1) > 1 else [pixels]


@pytest.fixture
def alices(alice: User, uploaded: Callable[..., Job]) -> Job:
    """Alice's upload of sample 1, processed by the worker's code."""
    return uploaded(alice)


class TestResultPage:
    """Tests for what the result page shows."""

    @pytest.mark.req("P5.PORTAL.RESULT.1")
    @pytest.mark.parametrize("sample", [SAMPLE_1, SAMPLE_2], ids=["sample-01", "sample-02"])
    def test_the_page_shows_the_study_record_and_numpy_s_frame_statistics(
        self, alice: User, uploaded: Callable[..., Job], sample: Any
    ) -> None:
        """The record reads as StudyRecord prints it; each frame's statistics equal numpy's."""
        job = uploaded(alice, sample)
        soup = page(logged_in(alice).get(f"/results/{job.pk}/"))
        expected = [
            [
                str(number),
                *(format(value, ".6g") for value in (f.min(), f.max(), f.mean(), f.std())),
            ]
            for number, f in enumerate(frames_of(sample), start=1)
        ]
        assert soup.select_one("pre.record").get_text() == str(StudyRecord.from_dicom(sample))
        assert table_rows(soup, "table.frames") == expected

    @pytest.mark.req("P5.PORTAL.RESULT.1")
    def test_the_histogram_is_svg_with_a_bar_per_bin_proportional_to_its_count(
        self, alice: User, alices: Job
    ) -> None:
        """64 bars; each bar's height is 200 times its count over the largest count."""
        pixels = np.concatenate([frame.ravel() for frame in frames_of(SAMPLE_1)])
        counts, edges = np.histogram(pixels, bins=np.linspace(pixels.min(), pixels.max(), 65))
        soup = page(logged_in(alice).get(f"/results/{alices.pk}/"))
        svg = soup.select_one("svg.histogram")
        bars = svg.select("rect.bar")
        assert (svg["role"], len(bars)) == ("img", 64)
        assert [float(bar["height"]) for bar in bars] == [
            round(200 * count / counts.max(), 3) for count in counts
        ]
        assert [text(bar.title) for bar in bars] == [
            f"{low:.6g} to {high:.6g}: {count} pixels"
            for low, high, count in zip(edges, edges[1:], counts, strict=False)
        ]

    @pytest.mark.req("P5.PORTAL.RESULT.1")
    def test_the_preview_is_the_stored_png(self, alice: User, alices: Job) -> None:
        """The page's image is the preview URL, which streams the stored PNG, image/png."""
        client = logged_in(alice)
        image = page(client.get(f"/results/{alices.pk}/")).select_one("img.preview")
        response = client.get(image["src"])
        body = b"".join(response.streaming_content)
        with default_storage.open(alices.result.preview_key, "rb") as stored:
            assert body == stored.read()
        assert (response["Content-Type"], Image.open(io.BytesIO(body)).size) == (
            "image/png",
            (alices.instance.columns, alices.instance.rows),
        )

    @pytest.mark.req("P5.PORTAL.RESULT.1")
    def test_the_result_downloads_as_the_api_shows_it(self, alice: User, alices: Job) -> None:
        """The JSON download is an attachment holding exactly the API's result body."""
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=alice).key}")
        response = logged_in(alice).get(f"/results/{alices.pk}/result.json")
        assert response["Content-Disposition"] == f'attachment; filename="result-{alices.pk}.json"'
        assert json.loads(response.content) == api.get(f"/api/results/{alices.pk}/").json()

    @pytest.mark.req("P5.PORTAL.RESULT.1")
    def test_the_original_downloads_byte_for_byte(self, alice: User, alices: Job) -> None:
        """The original download is the uploaded file, under its own name."""
        response = logged_in(alice).get(f"/results/{alices.pk}/original.dcm")
        assert (
            b"".join(response.streaming_content),
            response["Content-Type"],
            response["Content-Disposition"],
        ) == (
            SAMPLE_1.read_bytes(),
            "application/dicom",
            'attachment; filename="sample-01-dicom.dcm"',
        )

    @pytest.mark.req("P5.PORTAL.RESULT.1")
    def test_the_owner_sees_both_downloads(self, alice: User, alices: Job) -> None:
        """The result page offers its owner the JSON and the original."""
        soup = page(logged_in(alice).get(f"/results/{alices.pk}/"))
        links = [(text(a), a["href"]) for a in soup.select(".downloads a")]
        assert links == [
            ("Download the result (JSON)", f"/results/{alices.pk}/result.json"),
            ("Download the original file (DICOM)", f"/results/{alices.pk}/original.dcm"),
        ]

    @pytest.mark.req("P5.PORTAL.RESULT.1")
    def test_storage_unavailable_answers_503(self, alice: User, alices: Job) -> None:
        """A preview whose object cannot be read answers 503 with a plain page."""
        default_storage.delete(alices.result.preview_key)
        response = logged_in(alice).get(f"/results/{alices.pk}/preview.png")
        assert (response.status_code, text(page(response).h1)) == (
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
        )


class TestAccess:
    """Tests for who may reach a result."""

    @pytest.mark.req("P5.PORTAL.RESULT.2")
    @pytest.mark.parametrize("url", list(URLS))
    def test_another_user_gets_404_never_403(
        self, alice: User, bob: User, url: str, alices: Job
    ) -> None:
        """Every URL of alice's result answers bob 404 with the not-found page."""
        response = logged_in(bob).get(url.format(job=alices.pk))
        assert (response.status_code, text(page(response).h1)) == (
            status.HTTP_404_NOT_FOUND,
            "Not found",
        )

    @pytest.mark.req("P5.PORTAL.RESULT.2")
    @pytest.mark.parametrize(
        ("url", "code"),
        [
            ("/results/{job}/", status.HTTP_200_OK),
            ("/results/{job}/preview.png", status.HTTP_200_OK),
            ("/results/{job}/result.json", status.HTTP_404_NOT_FOUND),
            ("/results/{job}/original.dcm", status.HTTP_404_NOT_FOUND),
        ],
        ids=["page", "preview", "json", "original"],
    )
    def test_staff_see_any_result_but_download_only_their_own(
        self, alice: User, carol: User, url: str, code: int, alices: Job
    ) -> None:
        """Staff open alice's result page and preview; her downloads answer them 404."""
        assert logged_in(carol).get(url.format(job=alices.pk)).status_code == code

    @pytest.mark.req("P5.PORTAL.RESULT.2")
    def test_staff_are_not_offered_another_user_s_downloads(self, carol: User, alices: Job) -> None:
        """The result page shows staff no download links for another user's job."""
        soup = page(logged_in(carol).get(f"/results/{alices.pk}/"))
        assert soup.select(".downloads a") == []

    @pytest.mark.req("P5.PORTAL.RESULT.2")
    @pytest.mark.parametrize("url", list(URLS)[:3])
    def test_a_job_without_a_result_answers_404(self, alice: User, url: str) -> None:
        """A job still running has no result page, preview or result download yet."""
        job = finished_job(alice, state="running")
        assert logged_in(alice).get(url.format(job=job.pk)).status_code == status.HTTP_404_NOT_FOUND

    @pytest.mark.req("P5.PORTAL.RESULT.2")
    @pytest.mark.parametrize("url", list(URLS))
    def test_a_job_that_does_not_exist_answers_404(self, carol: User, url: str) -> None:
        """An id no job has answers 404, to staff too."""
        assert (
            logged_in(carol).get(url.format(job=999_999)).status_code == status.HTTP_404_NOT_FOUND
        )


class TestAudit:
    """Tests for the audit rows the result's views write."""

    @pytest.mark.req("P5.PORTAL.AUDIT.1")
    @pytest.mark.parametrize(("url", "action"), URLS.items(), ids=list(URLS.values()))
    def test_each_view_and_download_writes_one_audit_row(
        self, alice: User, url: str, action: str, alices: Job
    ) -> None:
        """Who, what, which job, when, from where and the request's X-Request-ID are recorded."""
        before = timezone.now()
        logged_in(alice).get(
            url.format(job=alices.pk),
            headers={"X-Request-ID": "req-audit-1"},
            REMOTE_ADDR="127.0.0.9",
        )
        [event] = AuditEvent.objects.filter(action=action)
        assert (
            event.actor,
            event.owner,
            event.object_type,
            event.object_id,
            event.client_address,
            event.correlation_id,
            before <= event.at <= timezone.now(),
        ) == (alice, alice, "job", alices.pk, "127.0.0.9", "req-audit-1", True)

    @pytest.mark.req("P5.PORTAL.AUDIT.1")
    def test_a_staff_view_names_the_staff_user_and_the_owner(
        self, alice: User, carol: User, alices: Job
    ) -> None:
        """Staff opening alice's result are the actor; alice stays the owner."""
        logged_in(carol).get(f"/results/{alices.pk}/")
        event = AuditEvent.objects.get(action="result_view")
        assert (event.actor, event.owner) == (carol, alice)

    @pytest.mark.req("P5.PORTAL.AUDIT.1")
    def test_a_refused_request_sends_nothing_and_records_nothing(
        self, bob: User, alices: Job
    ) -> None:
        """Bob's 404s leave no audit row of a view or download."""
        for url in URLS:
            logged_in(bob).get(url.format(job=alices.pk))
        assert AuditEvent.objects.exclude(action="upload").count() == 0

    @pytest.mark.req("P5.PORTAL.AUDIT.1")
    def test_no_audit_row_no_data(
        self, alice: User, alices: Job, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When the audit row cannot be written, the original is not sent: 500."""

        def broken(*args: Any, **kwargs: Any) -> None:
            raise DatabaseError("audit table unavailable")

        monkeypatch.setattr("exam.portal.views._audit", broken)
        response = logged_in(alice).get(f"/results/{alices.pk}/original.dcm")
        assert (response.status_code, response.json()) == (
            status.HTTP_500_INTERNAL_SERVER_ERROR,
            {"detail": "Internal server error."},
        )
