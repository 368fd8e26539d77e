"""A 300 MB upload streams through the serving process: its memory does not grow with the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from rest_framework import status

from exam.pipeline.models import Instance

from .bodies import FRAMES, MIB, SAMPLE, large_dicom, sha256_of, status_field
from .served import Web, served_web  # noqa: F401 - the fixture "web"

pytestmark = [pytest.mark.slow]


def post_file(web: Web, user: User, path: Path) -> tuple[int, dict[str, object]]:
    """Upload ``path`` with its length, streamed from disk in 1 MiB blocks."""
    client = web.connection(timeout=300)
    client.blocksize = MIB
    headers = {
        "Authorization": f"Token {user.auth_token.key}",
        "Content-Type": "application/dicom",
        "Content-Length": str(path.stat().st_size),
    }
    try:
        with path.open("rb") as body:
            client.request("POST", "/api/instances/", body, headers)
            response = client.getresponse()
            return response.status, json.loads(response.read())
    finally:
        client.close()


@pytest.mark.req("P5.PIPE.INGEST.7")
def test_a_300_mb_upload_grows_the_serving_process_by_less_than_50_mb(
    web: Web, alice: User, storage_dir: Path, tmp_path: Path
) -> None:
    """The worker's peak resident memory during a 300 MB upload stays within 50 MB of before."""
    path = large_dicom(tmp_path / "large.dcm")
    assert path.stat().st_size > 300_000_000
    (worker,) = web.workers()
    # A small upload first, so that the code paths are imported before measuring.
    assert post_file(web, alice, SAMPLE)[0] == status.HTTP_202_ACCEPTED
    # Writing 5 to clear_refs resets the peak (VmHWM) to the current size.
    Path(f"/proc/{worker}/clear_refs").write_text("5")
    before = status_field(worker, "VmRSS")

    code, body = post_file(web, alice, path)

    peak = status_field(worker, "VmHWM")
    assert (code, body["queue"]) == (status.HTTP_202_ACCEPTED, "l")
    assert peak - before < 50 * MIB, f"grew by {(peak - before) / MIB:.1f} MiB"
    instance = Instance.objects.get(pk=Instance.objects.get(jobs__pk=body["id"]).pk)
    assert (instance.size, instance.frames) == (path.stat().st_size, FRAMES)
    assert instance.sha256 == sha256_of(path) == sha256_of(storage_dir / instance.storage_key)
