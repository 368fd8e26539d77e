"""``python -m exam sweeper``: one sweep from the shell, and what it did as its last line."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from exam.pipeline.models import JobState, Outbox

from .bodies import make_job
from .conftest import database_url

pytestmark = [pytest.mark.slow]


@pytest.mark.req("P5.PIPE.SWEEP.1")
def test_the_sweeper_command_requeues_a_stuck_job_and_deletes_an_orphan(
    broker_url: str, storage_dir: Path, transactional_db: None
) -> None:
    """A running job whose lease ended and an old unreferenced object: both handled, reported."""
    job = make_job(
        User.objects.create_user("alice"),
        JobState.RUNNING,
        attempt=1,
        lease_owner="gone@host:1",
        lease_expires_at=timezone.now() - datetime.timedelta(seconds=1),
    )
    orphan = storage_dir / "originals" / "ab" / ("ab" + "0" * 62 + ".dcm")
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"an original no instance names")
    old = time.time() - 7200
    os.utime(orphan, (old, old))
    done = subprocess.run(
        [sys.executable, "-m", "exam", "sweeper"],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "exam.api.settings",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker_url,
            "EXAM_STORAGE_DIR": str(storage_dir),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "requeued 1 job(s), deleted 1 orphaned object(s)"
    assert list(Outbox.objects.values_list("job_id", flat=True)) == [job.pk]
    assert not orphan.exists()
