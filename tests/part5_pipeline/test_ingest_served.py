"""Uploads to served processes: chunked bodies, lengths over the limit, and the upload slots.

gunicorn decodes a chunked body as it arrives and hands the view a stream
with no length; only a real socket shows that the limit is enforced as the
body arrives, and that the slots hold across processes while bodies are
still being sent.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from rest_framework import status

from exam.pipeline.ingest import UPLOAD_SLOTS_LOCK
from exam.pipeline.models import Instance, Job

from .bodies import NOTHING, SAMPLE, SAMPLE_02, counts, stored_files, variant
from .conftest import database_url, wait_for
from .served import Web, served

pytestmark = [pytest.mark.slow]

#: The upload limit of the servers here: two reads of ingest's 1 MiB chunks.
LIMIT = 1 << 20


@pytest.fixture
def web_env(storage_dir: Path, alice: User) -> dict[str, str]:
    """The environment of a served API on the test database and the test's storage."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "exam.api.settings",
        "DATABASE_URL": database_url(),
        "EXAM_STORAGE_DIR": str(storage_dir),
        "EXAM_MAX_UPLOAD_BYTES": str(LIMIT),
        "EXAM_MAX_CONCURRENT_UPLOADS": "2",
    }


@pytest.fixture
def web(web_env: dict[str, str], tmp_path: Path) -> Iterator[Web]:
    """One served API (one process, four threads)."""
    with served(web_env, tmp_path / "web.log", "--workers", "1") as api:
        yield api


def headers(user: User, **more: str) -> dict[str, str]:
    """The headers of an upload by ``user``."""
    return {
        "Authorization": f"Token {user.auth_token.key}",
        "Content-Type": "application/dicom",
        **more,
    }


def chunk(data: bytes) -> bytes:
    """``data`` as one chunk of a chunked body."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def answer(response: Any) -> tuple[int, dict[str, Any]]:
    """A response's status and decoded JSON body."""
    return response.status, json.loads(response.read())


class HeldUpload:
    """An upload whose headers and first bytes are sent, the rest held back until :meth:`finish`."""

    def __init__(self, web: Web, user: User, path: Path, sent: int = 200) -> None:
        self.body = path.read_bytes()
        self.sent = sent
        self.connection = web.connection()
        self.connection.putrequest("POST", "/api/instances/")
        for name, value in headers(user, **{"Content-Length": str(len(self.body))}).items():
            self.connection.putheader(name, value)
        self.connection.endheaders(self.body[:sent])

    def finish(self) -> tuple[int, dict[str, Any]]:
        """Send the rest of the body and return the answer."""
        self.connection.send(self.body[self.sent :])
        try:
            return answer(self.connection.getresponse())
        finally:
            self.connection.close()


def upload_slots_held() -> int:
    """How many upload slots (PostgreSQL advisory locks) web processes hold now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = %s AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())",
            [UPLOAD_SLOTS_LOCK],
        )
        return int(cursor.fetchone()[0])


def post(web: Web, user: User, path: Path) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Upload ``path`` whole; return the status, headers and body."""
    client = web.connection()
    try:
        client.request("POST", "/api/instances/", path.read_bytes(), headers(user))
        response = client.getresponse()
        code, body = answer(response)
        return code, dict(response.getheaders()), body
    finally:
        client.close()


class TestBodyLimit:
    """EXAM_MAX_UPLOAD_BYTES on the wire."""

    @pytest.mark.req("P5.PIPE.INGEST.4")
    def test_a_declared_length_over_the_limit_is_answered_before_any_body_is_sent(
        self, web: Web, alice: User, storage_dir: Path
    ) -> None:
        """Only the headers are sent, announcing LIMIT + 1 bytes: the 413 comes at once."""
        client = web.connection()
        client.putrequest("POST", "/api/instances/")
        for name, value in headers(alice, **{"Content-Length": str(LIMIT + 1)}).items():
            client.putheader(name, value)
        client.endheaders()
        assert answer(client.getresponse()) == (
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            {"detail": f"The body is larger than the limit of {LIMIT} bytes."},
        )
        client.close()
        assert counts() == NOTHING
        assert stored_files(storage_dir) == []

    @pytest.mark.req("P5.PIPE.INGEST.4")
    def test_a_chunked_body_is_refused_once_it_passes_the_limit(
        self, web: Web, alice: User, storage_dir: Path
    ) -> None:
        """Chunks past the limit, the body left unfinished: the 413 comes without its end."""
        client = web.connection()
        client.putrequest("POST", "/api/instances/")
        for name, value in headers(alice, **{"Transfer-Encoding": "chunked"}).items():
            client.putheader(name, value)
        client.endheaders()
        for _ in range(2 * LIMIT // 65536):
            client.send(chunk(bytes(65536)))
        # No terminating chunk: the server answers on what it has read.
        assert answer(client.getresponse()) == (
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            {"detail": f"The body is larger than the limit of {LIMIT} bytes."},
        )
        client.close()
        assert counts() == NOTHING
        assert stored_files(storage_dir) == []

    @pytest.mark.req("P5.PIPE.INGEST.4", "P5.PIPE.INGEST.1")
    def test_a_chunked_body_within_the_limit_is_stored_byte_for_byte(
        self, web: Web, alice: User, storage_dir: Path
    ) -> None:
        """A file sent in 100-byte chunks with no Content-Length: 202, the original as sent."""
        data = SAMPLE.read_bytes()
        client = web.connection()
        client.request(
            "POST",
            "/api/instances/",
            iter([data[start : start + 100] for start in range(0, len(data), 100)]),
            headers(alice, **{"Transfer-Encoding": "chunked"}),
            encode_chunked=True,
        )
        code, body = answer(client.getresponse())
        client.close()
        assert (code, body["status"]) == (status.HTTP_202_ACCEPTED, "queued")
        instance = Instance.objects.get()
        assert (storage_dir / instance.storage_key).read_bytes() == data
        assert instance.size == len(data)


class TestUploadSlots:
    """EXAM_MAX_CONCURRENT_UPLOADS over every web process."""

    @pytest.mark.req("P5.PIPE.PRESSURE.1")
    def test_a_third_upload_while_two_are_held_in_two_processes_is_refused_with_503(
        self, web_env: dict[str, str], tmp_path: Path, alice: User
    ) -> None:
        """Two half-sent uploads, one in each of two servers, hold both slots: a third gets 503."""
        with (
            served(web_env, tmp_path / "web-a.log", "--workers", "1") as first,
            served(web_env, tmp_path / "web-b.log", "--workers", "1") as second,
        ):
            held = [HeldUpload(first, alice, SAMPLE), HeldUpload(second, alice, SAMPLE_02)]
            wait_for(lambda: upload_slots_held() == 2, what="both uploads to hold a slot")
            third = variant(tmp_path, SOPInstanceUID="1.2.3.4.5.6")
            code, response_headers, body = post(first, alice, third)
            assert (code, body) == (
                status.HTTP_503_SERVICE_UNAVAILABLE,
                {"detail": "Too many uploads at once; retry later."},
            )
            assert response_headers["Retry-After"] == "5"
            assert counts() == NOTHING

            assert [upload.finish()[0] for upload in held] == [status.HTTP_202_ACCEPTED] * 2
            wait_for(lambda: upload_slots_held() == 0, what="the slots to be released")
            code, _, body = post(second, alice, third)
            assert code == status.HTTP_202_ACCEPTED
            assert Job.objects.count() == 3
