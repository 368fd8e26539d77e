"""GET /api/jobs/, /api/jobs/<id>/ and /api/results/<id>/: each caller's own jobs, staff all."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework import status
from rest_framework.authtoken.models import Token

from exam.pipeline.models import Job, JobState, Result

from .bodies import SAMPLE, job_body, make_job, timestamp
from .conftest import client_for, upload

pytestmark = pytest.mark.usefixtures("storage_dir")

NOT_FOUND = {"detail": "Not found."}


def account(name: str, *, staff: bool = False) -> User:
    """A user with an API token."""
    user = User.objects.create_user(name, is_staff=staff)
    Token.objects.create(user=user)
    return user


@pytest.fixture
def alice(db: None) -> User:
    """The caller."""
    return account("alice")


@pytest.fixture
def bob(db: None) -> User:
    """Another user."""
    return account("bob")


def succeeded_job(owner: User, *, number: int = 1) -> Job:
    """A job that ran once and succeeded, with its result."""
    started = timezone.now()
    job = make_job(owner, JobState.SUCCEEDED, number=number, attempt=1, started_at=started)
    job.finished_at = job.created_at + datetime.timedelta(seconds=2.5)
    job.save()
    Result.objects.create(
        job=job,
        attempt=1,
        frames=[{"min": 0.0, "max": 255.0, "mean": 127.5, "std": 10.0}],
        histogram={"bin_edges": [0.0, 255.0], "counts": [256]},
        record={"text": "Study ..."},
        preview_key=f"derived/{job.pk}/attempt-1/preview.png",
        preview_sha256="f" * 64,
    )
    return job


def list_body(*jobs: Job, count: int | None = None, **links: str | None) -> dict[str, Any]:
    """A page of the list as the API shows it."""
    return {
        "count": len(jobs) if count is None else count,
        "next": links.get("next"),
        "previous": links.get("previous"),
        "results": [job_body(job) for job in jobs],
    }


class TestJobList:
    """GET /api/jobs/."""

    @pytest.mark.req("P5.PIPE.JOBS.1")
    def test_the_list_needs_a_token(self, client: Any, db: None) -> None:
        """No token: 401."""
        response = client.get("/api/jobs/")
        assert response.status_code == status.HTTP_401_UNAUTHORIZED
        assert response.json() == {"detail": "Authentication credentials were not provided."}

    @pytest.mark.req("P5.PIPE.JOBS.1", "P5.PIPE.JOBS.2")
    def test_the_list_holds_the_caller_s_jobs_newest_first(self, alice: User, bob: User) -> None:
        """Alice's three jobs, the newest first; Bob's job is not in her list."""
        jobs = [make_job(alice, number=number) for number in (1, 2, 3)]
        make_job(bob, number=4)
        response = client_for(alice).get("/api/jobs/")
        assert response.status_code == status.HTTP_200_OK
        assert response.json() == list_body(*reversed(jobs))

    @pytest.mark.req("P5.PIPE.JOBS.1")
    def test_the_list_is_paginated_by_limit_and_offset(self, alice: User) -> None:
        """``?limit=2`` gives the two newest and a link to the rest; the next page the oldest."""
        first, second, third = (make_job(alice, number=number) for number in (1, 2, 3))
        client = client_for(alice)
        page = client.get("/api/jobs/", {"limit": 2})
        assert page.json() == list_body(
            third, second, count=3, next="http://testserver/api/jobs/?limit=2&offset=2"
        )
        rest = client.get(page.json()["next"])
        assert rest.json() == list_body(
            first, count=3, previous="http://testserver/api/jobs/?limit=2"
        )

    @pytest.mark.req("P5.PIPE.JOBS.1")
    @pytest.mark.parametrize("state", [JobState.QUEUED, JobState.SUCCEEDED, JobState.FAILED])
    def test_status_filters_the_list(self, alice: User, state: str) -> None:
        """``?status=`` keeps only the jobs in that state."""
        jobs = {
            JobState.QUEUED: make_job(alice, number=1),
            JobState.SUCCEEDED: succeeded_job(alice, number=2),
            JobState.FAILED: make_job(alice, JobState.FAILED, number=3),
        }
        response = client_for(alice).get("/api/jobs/", {"status": state})
        assert response.status_code == status.HTTP_200_OK
        assert response.json() == list_body(jobs[state])

    @pytest.mark.req("P5.PIPE.JOBS.1")
    def test_a_status_with_no_job_gives_an_empty_list(self, alice: User) -> None:
        """``?status=running`` with no running job: 200 and no results."""
        make_job(alice)
        response = client_for(alice).get("/api/jobs/", {"status": "running"})
        assert response.json() == list_body()

    @pytest.mark.req("P5.PIPE.JOBS.1")
    @pytest.mark.parametrize("value", ["done", "", "QUEUED"])
    def test_an_unknown_status_is_refused_with_400(self, alice: User, value: str) -> None:
        """A status that is not a job state: 400 listing the states."""
        response = client_for(alice).get("/api/jobs/", {"status": value})
        assert response.status_code == status.HTTP_400_BAD_REQUEST
        assert response.json() == {
            "detail": "Invalid input.",
            "errors": {
                "status": ["Use one of queued, running, retrying, succeeded, failed, quarantined."]
            },
        }

    @pytest.mark.req("P5.PIPE.JOBS.2")
    def test_staff_see_every_user_s_jobs(self, alice: User, bob: User) -> None:
        """A staff account's list holds everyone's jobs, newest first."""
        staff = account("carol", staff=True)
        jobs = [make_job(alice, number=1), make_job(bob, number=2)]
        response = client_for(staff).get("/api/jobs/")
        assert response.json() == list_body(*reversed(jobs))

    @pytest.mark.req("P5.PIPE.JOBS.1")
    def test_post_to_the_list_is_not_allowed(self, alice: User) -> None:
        """Jobs are made by uploads: POST /api/jobs/ answers 405."""
        response = client_for(alice).post("/api/jobs/", {}, format="json")
        assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
        assert response.json() == {"detail": 'Method "POST" not allowed.'}


class TestJobDetail:
    """GET /api/jobs/<id>/."""

    @pytest.mark.req("P5.PIPE.JOBS.1")
    def test_a_queued_job_shows_no_timings_past_its_creation_and_no_result(
        self, alice: User
    ) -> None:
        """A queued job: attempt 0, not started or finished, no duration, no result_url."""
        job = make_job(alice)
        response = client_for(alice).get(f"/api/jobs/{job.pk}/")
        assert response.status_code == status.HTTP_200_OK
        assert response.json() == {
            "id": job.pk,
            "status": "queued",
            "attempt": 0,
            "queue": "s",
            "filename": "file-1.dcm",
            "patient_id": "PAT-1",
            "modality": "MR",
            "study_date": "2024-01-01",
            "created_at": timestamp(job.created_at),
            "started_at": None,
            "finished_at": None,
            "duration_s": None,
            "error_code": "",
            "error": "",
            "correlation_id": "request-1",
            "job_url": f"http://testserver/api/jobs/{job.pk}/",
            "result_url": None,
        }

    @pytest.mark.req("P5.PIPE.JOBS.1")
    def test_a_succeeded_job_shows_its_timings_and_result_url(self, alice: User) -> None:
        """Succeeded: start and end times, the duration from upload to end, and the result's URL."""
        job = succeeded_job(alice)
        response = client_for(alice).get(f"/api/jobs/{job.pk}/")
        assert response.json() == job_body(
            job,
            status="succeeded",
            attempt=1,
            duration_s=2.5,
            result_url=f"http://testserver/api/results/{job.pk}/",
        )
        assert response.json()["started_at"] == timestamp(job.started_at)
        assert response.json()["finished_at"] == timestamp(job.finished_at)

    @pytest.mark.req("P5.PIPE.JOBS.1")
    def test_a_failed_job_shows_its_error_code_and_error(self, alice: User) -> None:
        """Failed: the error code and message, and no result_url."""
        job = make_job(
            alice,
            JobState.FAILED,
            attempt=1,
            error_code="undecodable",
            error="The pixel data could not be decoded: ValueError.",
            finished_at=timezone.now(),
        )
        body = client_for(alice).get(f"/api/jobs/{job.pk}/").json()
        assert (body["status"], body["error_code"], body["error"], body["result_url"]) == (
            "failed",
            "undecodable",
            "The pixel data could not be decoded: ValueError.",
            None,
        )

    @pytest.mark.req("P5.PIPE.JOBS.1")
    def test_the_correlation_id_is_the_upload_request_s_id(self, alice: User) -> None:
        """The X-Request-ID the upload was sent with is the job's correlation_id."""
        client = client_for(alice)
        job_id = upload(client, SAMPLE, HTTP_X_REQUEST_ID="trace-7f3a").json()["id"]
        response = client.get(f"/api/jobs/{job_id}/", HTTP_X_REQUEST_ID="another-request")
        assert response.json()["correlation_id"] == "trace-7f3a"

    @pytest.mark.req("P5.PIPE.JOBS.2")
    def test_another_user_s_job_is_404_like_one_that_does_not_exist(
        self, alice: User, bob: User
    ) -> None:
        """Bob's job is a 404 for Alice, the same answer as an id no job has (never 403)."""
        job = make_job(bob)
        client = client_for(alice)
        response = client.get(f"/api/jobs/{job.pk}/")
        missing = client.get(f"/api/jobs/{job.pk + 1000}/")
        assert (response.status_code, response.json()) == (status.HTTP_404_NOT_FOUND, NOT_FOUND)
        assert (missing.status_code, missing.json()) == (status.HTTP_404_NOT_FOUND, NOT_FOUND)

    @pytest.mark.req("P5.PIPE.JOBS.2")
    def test_staff_see_another_user_s_job(self, bob: User) -> None:
        """A staff account gets any job: 200 with the whole job."""
        job = make_job(bob)
        response = client_for(account("carol", staff=True)).get(f"/api/jobs/{job.pk}/")
        assert (response.status_code, response.json()) == (status.HTTP_200_OK, job_body(job))


class TestResult:
    """GET /api/results/<job id>/."""

    @pytest.mark.req("P5.PIPE.JOBS.1")
    def test_the_result_of_a_succeeded_job_is_shown_whole(self, alice: User) -> None:
        """Statistics, histogram, record, preview hash, the attempt that wrote it, the job's URL."""
        job = succeeded_job(alice)
        response = client_for(alice).get(f"/api/results/{job.pk}/")
        assert response.status_code == status.HTTP_200_OK
        assert response.json() == {
            "job": job.pk,
            "attempt": 1,
            "frames": [{"min": 0.0, "max": 255.0, "mean": 127.5, "std": 10.0}],
            "histogram": {"bin_edges": [0.0, 255.0], "counts": [256]},
            "record": {"text": "Study ..."},
            "preview_sha256": "f" * 64,
            "job_url": f"http://testserver/api/jobs/{job.pk}/",
            "created_at": timestamp(job.result.created_at),
        }

    @pytest.mark.req("P5.PIPE.JOBS.1")
    def test_a_job_without_a_result_yet_is_404(self, alice: User) -> None:
        """A queued job of the caller's own has no result: 404."""
        job = make_job(alice)
        response = client_for(alice).get(f"/api/results/{job.pk}/")
        assert (response.status_code, response.json()) == (status.HTTP_404_NOT_FOUND, NOT_FOUND)

    @pytest.mark.req("P5.PIPE.JOBS.2")
    def test_another_user_s_result_is_404(self, alice: User, bob: User) -> None:
        """Bob's result is a 404 for Alice, never a 403."""
        job = succeeded_job(bob)
        response = client_for(alice).get(f"/api/results/{job.pk}/")
        assert (response.status_code, response.json()) == (status.HTTP_404_NOT_FOUND, NOT_FOUND)

    @pytest.mark.req("P5.PIPE.JOBS.2")
    def test_staff_see_another_user_s_result(self, bob: User) -> None:
        """A staff account gets any result: 200."""
        job = succeeded_job(bob)
        response = client_for(account("carol", staff=True)).get(f"/api/results/{job.pk}/")
        assert (response.status_code, response.json()["job"]) == (status.HTTP_200_OK, job.pk)

    @pytest.mark.req("P5.PIPE.JOBS.1")
    def test_the_result_needs_a_token(self, client: Any, alice: User) -> None:
        """No token: 401, whoever's result it is."""
        job = succeeded_job(alice)
        response = client.get(f"/api/results/{job.pk}/")
        assert response.status_code == status.HTTP_401_UNAUTHORIZED
