"""My jobs: the user's own jobs as a table, filtered, with a reason and Retry for failures."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from pydicom import dcmread
from rest_framework import status

from exam.pipeline.models import AuditEvent, Job, Outbox

from .conftest import SAMPLE_1, finished_job, logged_in
from .pages import button, page, table_rows, text

JOBS_URL = "/jobs/"


def shown(response: Any) -> list[list[str]]:
    """The cells of each row of the jobs table."""
    return table_rows(page(response), "table.jobs")


def when(moment: datetime.datetime) -> str:
    """A time as the table shows it: ISO date and time, UTC."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class TestJobsTable:
    """Tests for the jobs table."""

    @pytest.mark.req("P5.PORTAL.JOBS.1")
    def test_a_processed_upload_shows_its_header_fields(
        self, alice: User, uploaded: Callable[..., Job]
    ) -> None:
        """The row shows the file's name, patient ID, modality and ISO study date as stored."""
        job = uploaded(alice)
        header = dcmread(SAMPLE_1, stop_before_pixels=True)
        study_date = datetime.datetime.strptime(header.StudyDate, "%Y%m%d").date().isoformat()
        duration = (job.finished_at - job.created_at).total_seconds()
        assert shown(logged_in(alice).get(JOBS_URL)) == [
            [
                "sample-01-dicom.dcm",
                header.PatientID,
                header.Modality,
                study_date,
                "succeeded",
                "1",
                when(job.created_at),
                f"{duration:.1f} s",
                "Open result of sample-01-dicom.dcm",
            ]
        ]

    @pytest.mark.req("P5.PORTAL.JOBS.1")
    def test_only_the_user_s_own_jobs_are_listed_newest_first(
        self, alice: User, bob: User, carol: User
    ) -> None:
        """Alice sees her two jobs, the newer first; bob's and the staff user's are not there."""
        older = finished_job(alice, state="queued", instance_fields={"filename": "older.dcm"})
        newer = finished_job(alice, state="queued", instance_fields={"filename": "newer.dcm"})
        finished_job(bob)
        finished_job(carol)
        rows = shown(logged_in(alice).get(JOBS_URL))
        soup = page(logged_in(alice).get(JOBS_URL))
        ids = [row["id"] for row in soup.select("#job-rows tr")]
        assert ([row[0] for row in rows], ids) == (
            ["newer.dcm", "older.dcm"],
            [f"job-{newer.pk}", f"job-{older.pk}"],
        )

    @pytest.mark.req("P5.PORTAL.JOBS.1")
    def test_missing_values_read_unknown_and_unfinished_jobs_not_yet(self, alice: User) -> None:
        """No file name, patient ID, modality or study date shows "unknown"; no end, "not yet"."""
        job = finished_job(
            alice,
            state="running",
            instance_fields={"filename": "", "patient_id": "", "modality": "", "study_date": None},
        )
        assert shown(logged_in(alice).get(JOBS_URL)) == [
            [
                "unknown",
                "unknown",
                "unknown",
                "unknown",
                "running",
                "1",
                when(job.created_at),
                "not yet",
                "",
            ]
        ]

    @pytest.mark.req("P5.PORTAL.JOBS.1")
    @pytest.mark.parametrize(
        "state", ["queued", "running", "retrying", "succeeded", "failed", "quarantined"]
    )
    def test_a_status_is_text_with_an_icon_never_colour_alone(
        self, alice: User, state: str
    ) -> None:
        """Each status shows its name beside an icon hidden from assistive technology."""
        finished_job(alice, state=state, error="why" if state == "failed" else "")
        status_cell = page(logged_in(alice).get(JOBS_URL)).select_one(".status")
        icon = status_cell.find("svg")
        assert (text(status_cell), icon["aria-hidden"], status_cell["class"]) == (
            state,
            "true",
            ["status", f"status-{state}"],
        )

    @pytest.mark.req("P5.PORTAL.JOBS.1")
    def test_the_submitted_time_is_machine_readable_too(self, alice: User) -> None:
        """The submitted cell is a <time> whose datetime is the ISO 8601 instant."""
        job = finished_job(alice)
        cell = page(logged_in(alice).get(JOBS_URL)).select_one("#job-rows time")
        assert datetime.datetime.fromisoformat(cell["datetime"]) == job.created_at


class TestFilter:
    """Tests for the status filter and the patient ID search."""

    @pytest.fixture
    def three(self, alice: User) -> dict[str, Job]:
        """Three jobs of alice: failed P-100, succeeded P-200, succeeded p-1000."""
        return {
            patient: finished_job(
                alice, state=state, instance_fields={"patient_id": patient, "filename": patient}
            )
            for patient, state in [
                ("P-100", "failed"),
                ("P-200", "succeeded"),
                ("p-1000", "succeeded"),
            ]
        }

    @pytest.mark.req("P5.PORTAL.JOBS.1")
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ({"status": "failed"}, ["P-100"]),
            ({"status": "succeeded"}, ["p-1000", "P-200"]),
            ({"patient_id": "P-1"}, ["p-1000", "P-100"]),
            ({"patient_id": "200"}, ["P-200"]),
            ({"status": "succeeded", "patient_id": "p-1"}, ["p-1000"]),
            ({"status": "running"}, []),
            ({"status": "", "patient_id": ""}, ["p-1000", "P-200", "P-100"]),
        ],
        ids=["failed", "succeeded", "part", "digits", "both", "none-running", "empty"],
    )
    def test_jobs_filter_by_status_and_part_of_the_patient_id(
        self, alice: User, three: dict[str, Job], query: dict[str, str], expected: list[str]
    ) -> None:
        """The filter keeps the jobs of the status whose patient ID contains the text, any case."""
        response = logged_in(alice).get(JOBS_URL, query)
        assert (response.status_code, [row[1] for row in shown(response)]) == (
            status.HTTP_200_OK,
            expected,
        )

    @pytest.mark.req("P5.PORTAL.JOBS.1")
    @pytest.mark.parametrize(
        ("query", "error"),
        [
            (
                {"status": "bogus"},
                "Status: Select a valid choice. bogus is not one of the available choices.",
            ),
            ({"patient_id": "P\x00"}, "Patient ID: Null characters are not allowed."),
            (
                {"patient_id": "9" * 65},
                "Patient ID: Ensure this value has at most 64 characters (it has 65).",
            ),
        ],
        ids=["unknown-status", "nul", "too-long"],
    )
    def test_an_invalid_filter_answers_400_with_the_field_s_error(
        self, alice: User, three: dict[str, Job], query: dict[str, str], error: str
    ) -> None:
        """An invalid filter answers 400, says what is wrong, and lists the jobs unfiltered."""
        response = logged_in(alice).get(JOBS_URL, query)
        alert = page(response).select_one("form.filter [role=alert]")
        assert (response.status_code, text(alert), len(shown(response))) == (
            status.HTTP_400_BAD_REQUEST,
            error,
            3,
        )


class TestRetry:
    """Tests for a failed job's reason and its Retry button."""

    @pytest.mark.req("P5.PORTAL.JOBS.2")
    def test_a_failed_job_shows_its_reason_and_a_retry_button(self, alice: User) -> None:
        """The row of a failed job says why in plain words and offers Retry."""
        job = finished_job(
            alice,
            state="failed",
            error_code="undecodable",
            error="the pixel data could not be decoded as JPEG Baseline (Process 1)",
        )
        soup = page(logged_in(alice).get(JOBS_URL))
        row = soup.find(id=f"job-{job.pk}")
        retry = button(soup, "Retry alice.dcm")
        assert text(row.select_one(".reason")) == (
            "Reason: the pixel data could not be decoded as JPEG Baseline (Process 1)"
        )
        assert retry.find_parent("form")["action"] == f"/jobs/{job.pk}/retry/"

    @pytest.mark.req("P5.PORTAL.JOBS.2")
    @pytest.mark.parametrize("state", ["queued", "running", "succeeded", "quarantined"])
    def test_only_a_failed_job_offers_retry(self, alice: User, state: str) -> None:
        """Jobs in any other state have no Retry button."""
        finished_job(alice, state=state)
        soup = page(logged_in(alice).get(JOBS_URL))
        assert [text(tag) for tag in soup.select("#job-rows button")] == []

    @pytest.mark.req("P5.PORTAL.JOBS.2")
    def test_retry_queues_the_job_again_through_the_outbox(self, alice: User) -> None:
        """Retry queues the job at the same attempt with an outbox row and an audit row."""
        job = finished_job(
            alice,
            state="failed",
            attempt=2,
            error_code="unavailable",
            error="storage down",
            finished_at=timezone.now(),
        )
        before = timezone.now()
        response = logged_in(alice).post(
            f"/jobs/{job.pk}/retry/", headers={"HX-Request": "true", "X-Request-ID": "req-retry"}
        )
        job.refresh_from_db()
        outbox = Outbox.objects.get()
        audit = AuditEvent.objects.get(action="retry")
        row = page(response).find("tr")
        assert (response.status_code, row["id"], row["data-state"]) == (
            status.HTTP_200_OK,
            f"job-{job.pk}",
            "queued",
        )
        assert (job.state, job.attempt, job.error, job.finished_at) == ("queued", 2, "", None)
        assert (outbox.job_id, outbox.queue, before <= outbox.not_before <= timezone.now()) == (
            job.pk,
            job.queue,
            True,
        )
        assert (audit.actor, audit.owner, audit.object_id, audit.correlation_id) == (
            alice,
            alice,
            job.pk,
            "req-retry",
        )

    @pytest.mark.req("P5.PORTAL.JOBS.2")
    def test_retry_without_htmx_returns_to_my_jobs(self, alice: User) -> None:
        """The plain form's POST redirects to My jobs after queuing the job."""
        job = finished_job(alice, state="failed")
        response = logged_in(alice).post(f"/jobs/{job.pk}/retry/")
        job.refresh_from_db()
        assert (response.status_code, response["Location"], job.state) == (
            status.HTTP_302_FOUND,
            "/jobs/",
            "queued",
        )

    @pytest.mark.req("P5.PORTAL.JOBS.2")
    @pytest.mark.parametrize(
        ("state", "attempt"),
        [("succeeded", 1), ("running", 1), ("failed", 5)],
        ids=["succeeded", "running", "no-attempt-left"],
    )
    def test_a_job_that_cannot_be_retried_answers_409(
        self, alice: User, state: str, attempt: int
    ) -> None:
        """A job not failed, or out of attempts, answers 409 to Retry and stays as it was."""
        job = finished_job(alice, state=state, attempt=attempt)
        response = logged_in(alice).post(f"/jobs/{job.pk}/retry/", headers={"HX-Request": "true"})
        job.refresh_from_db()
        assert (response.status_code, job.state, job.attempt, Outbox.objects.count()) == (
            status.HTTP_409_CONFLICT,
            state,
            attempt,
            0,
        )

    @pytest.mark.req("P5.PORTAL.JOBS.2", "P5.PORTAL.RESULT.2")
    @pytest.mark.parametrize("who", ["bob", "carol"])
    def test_another_user_s_job_cannot_be_retried(
        self, alice: User, bob: User, carol: User, who: str
    ) -> None:
        """Another user's retry, staff's too, answers 404, never 403; the job stays failed."""
        job = finished_job(alice, state="failed")
        response = logged_in({"bob": bob, "carol": carol}[who]).post(f"/jobs/{job.pk}/retry/")
        job.refresh_from_db()
        assert (response.status_code, job.state, Outbox.objects.count()) == (
            status.HTTP_404_NOT_FOUND,
            "failed",
            0,
        )
        assert text(page(response).h1) == "Not found"
