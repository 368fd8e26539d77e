"""Fixtures of the portal tests: users, logged-in clients, jobs processed for real.

The portal reads through a second database alias (``portal``) that logs in
as the portal's own role, on a connection of its own: it cannot see what a
test's open transaction wrote, so every test here works in autocommit, as
production does, and the tables are emptied after it -- with DELETE in one
transaction whose foreign keys are checked at commit, several times quicker
than the TRUNCATE and post-migrate of pytest-django's ``transactional_db``.
That fixture is pytest-django's ``db``, overridden here: by that name
pytest-django knows to set the test database up for the test.
Jobs are processed by the
worker's own code, in-process (:func:`exam.pipeline.tasks.run_job`), on the
test's storage folder; the browser tests start real processes instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.db import connection, connections, transaction
from django.test import Client
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from exam.pipeline.models import AuditEvent, Instance, Job, JobState, Result
from exam.pipeline.tasks import run_job
from exam.portal.rls import ALIAS
from tests.part5_pipeline.conftest import (  # noqa: F401 - fixtures used by these tests
    broker_url,
    faults_dir,
    processes,
    redis_broker,
    storage_dir,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_1 = ROOT / "fixtures" / "sample-01-dicom.dcm"
SAMPLE_2 = ROOT / "fixtures" / "sample-02-dicom.dcm"
UPLOAD_URL = "/jobs/upload/"

#: Tables of reference data that migrations fill and tests never change.
KEPT_TABLES = frozenset({"django_content_type", "auth_permission"})


@pytest.fixture
def db(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Both aliases in autocommit; afterwards every table but :data:`KEPT_TABLES` is emptied."""
    with django_db_blocker.unblock():
        yield
        empty_tables()


def empty_tables() -> None:
    """Delete every row but those of :data:`KEPT_TABLES` in one transaction, on a test database."""
    assert connection.settings_dict["NAME"].startswith("test_"), "not the test database"
    tables = {
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    } - KEPT_TABLES
    with transaction.atomic(), connection.cursor() as cursor:
        # Django's foreign keys are DEFERRABLE: checked at commit, when all are gone.
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table in sorted(tables):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")
    # Nothing else closes it, and an open session keeps the test database from being dropped.
    connections[ALIAS].close()


@pytest.fixture
def alice(db: None) -> User:
    """A user."""
    return User.objects.create_user("alice", password="correct horse")


@pytest.fixture
def bob(db: None) -> User:
    """Another user."""
    return User.objects.create_user("bob", password="battery staple")


@pytest.fixture
def carol(db: None) -> User:
    """A staff user."""
    return User.objects.create_user("carol", password="staff only", is_staff=True)


def logged_in(user: User) -> Client:
    """A test client with ``user``'s session."""
    client = Client()
    client.force_login(user)
    return client


def upload(client: Client, path: Path, name: str | None = None, **extra: Any) -> Any:
    """Send the file at ``path`` as the portal's page does: raw body, file name in X-Filename."""
    return client.generic(
        "POST",
        UPLOAD_URL,
        path.read_bytes(),
        content_type="application/dicom",
        headers={"X-Filename": name or path.name},
        **extra,
    )


def finished_job(
    owner: User,
    *,
    state: str = JobState.SUCCEEDED,
    instance_fields: dict[str, Any] | None = None,
    **fields: Any,
) -> Job:
    """A job of ``owner`` written straight to the tables, with its instance, result and audit row.

    ``instance_fields`` and ``fields`` override the instance's and the job's columns.

    For tests of who may read what; what a result holds is tested on jobs
    the worker's code processed (:func:`uploaded`).
    """
    uid = generate_uid()
    columns = {
        "owner": owner,
        "sop_instance_uid": uid,
        "sop_class_uid": SecondaryCaptureImageStorage,
        "study_instance_uid": generate_uid(),
        "series_instance_uid": generate_uid(),
        "transfer_syntax_uid": ExplicitVRLittleEndian,
        "sha256": "0" * 64,
        "size": 1,
        "storage_key": f"originals/{uid}.dcm",
        "filename": f"{owner.username}.dcm",
        "patient_id": f"P-{owner.username}",
        "rows": 1,
        "columns": 1,
        "frames": 1,
        "size_class": "s",
        **(instance_fields or {}),
    }
    instance = Instance.objects.create(**columns)
    job = Job.objects.create(
        instance=instance,
        owner=owner,
        pipeline_version="1",
        queue="s",
        **{"state": state, "attempt": 1, "correlation_id": "test", **fields},
    )
    if state == JobState.SUCCEEDED:
        Result.objects.create(
            job=job,
            attempt=1,
            frames=[{"min": 0.0, "max": 1.0, "mean": 0.5, "std": 0.5}],
            histogram={"bin_edges": [0.0, 0.5, 1.0], "counts": [1, 1]},
            record={"text": "Patient ID: unknown"},
            preview_key=f"derived/{job.pk}/attempt-1/preview.png",
            preview_sha256="0" * 64,
        )
    AuditEvent.objects.create(
        actor=owner, owner=owner, action="upload", object_type="job", object_id=job.pk
    )
    return job


@pytest.fixture
def uploaded(storage_dir: Path, db: None) -> Callable[..., Job]:  # noqa: F811 - the fixture
    """Return ``make(user, path=SAMPLE_1, *, process=True) -> Job``: uploaded through the portal.

    With ``process`` the worker's code runs the job to its end in-process.
    """

    def make(user: User, path: Path = SAMPLE_1, *, process: bool = True) -> Job:
        response = upload(logged_in(user), path)
        assert response.status_code in (200, 202), response.content
        job_id = response.json()["job"]
        if process:
            run_job(job_id, lease_owner="portal-test")
        return Job.objects.select_related("instance").get(pk=job_id)

    return make
