"""The pipeline's HTTP API: upload an instance, follow its job, read its result.

``POST /api/instances/`` takes the raw file (``Content-Type: application/dicom``)
and streams it to :func:`exam.pipeline.ingest.ingest`; ``/api/jobs/`` and
``/api/results/<id>/`` show the caller's own jobs and results (staff see
all).  Every view needs ``Authorization: Token <key>``; another user's job
is a 404, never a 403, which would confirm it exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from rest_framework import generics, serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exam.pipeline.ingest import Busy, Duplicate, TooLarge, Unavailable, ingest, upload_slot
from exam.pipeline.metrics import UPLOADS
from exam.pipeline.models import Job, JobState, Result
from exam.pipeline.processing import InstanceRefused

DICOM_MEDIA_TYPE = "application/dicom"
RETRY_AFTER_SECONDS = 5
#: HTTP status of each reason ingest refuses a file for.
REFUSED_STATUS = {
    "not_dicom": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    "unreadable": status.HTTP_400_BAD_REQUEST,
    "missing_uid": status.HTTP_400_BAD_REQUEST,
    "invalid_uid": status.HTTP_400_BAD_REQUEST,
    "undecodable": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "no_pixels": status.HTTP_422_UNPROCESSABLE_ENTITY,
}


class JobSerializer(serializers.ModelSerializer[Job]):
    """A job as its owner follows it."""

    status = serializers.CharField(source="state")
    filename = serializers.CharField(source="instance.filename")
    patient_id = serializers.CharField(source="instance.patient_id")
    modality = serializers.CharField(source="instance.modality")
    study_date = serializers.DateField(source="instance.study_date")
    duration_s = serializers.SerializerMethodField()
    job_url = serializers.SerializerMethodField()
    result_url = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = (
            "id",
            "status",
            "attempt",
            "queue",
            "filename",
            "patient_id",
            "modality",
            "study_date",
            "created_at",
            "started_at",
            "finished_at",
            "duration_s",
            "error_code",
            "error",
            "correlation_id",
            "job_url",
            "result_url",
        )

    def get_duration_s(self, job: Job) -> float | None:
        """Seconds from upload to the end, once finished."""
        if job.finished_at is None:
            return None
        return round((job.finished_at - job.created_at).total_seconds(), 3)

    def get_job_url(self, job: Job) -> str:
        """This job's own URL."""
        return _absolute(self.context, reverse("job-detail", args=[job.pk]))

    def get_result_url(self, job: Job) -> str | None:
        """The result's URL once the job succeeded."""
        if job.state != JobState.SUCCEEDED:
            return None
        return _absolute(self.context, reverse("result-detail", args=[job.pk]))


class ResultSerializer(serializers.ModelSerializer[Result]):
    """A job's result: statistics, histogram and the study record."""

    job_url = serializers.SerializerMethodField()

    class Meta:
        model = Result
        fields = (
            "job",
            "attempt",
            "frames",
            "histogram",
            "record",
            "preview_sha256",
            "job_url",
            "created_at",
        )

    def get_job_url(self, result: Result) -> str:
        """The job's URL."""
        return _absolute(self.context, reverse("job-detail", args=[result.job_id]))


def visible_jobs(request: Request) -> QuerySet[Job]:
    """The jobs the caller may see: their own, or all for staff."""
    jobs = Job.objects.select_related("instance").order_by("-created_at", "-pk")
    return jobs if request.user.is_staff else jobs.filter(owner=_user(request))


def _user(request: Request) -> User:
    """The authenticated caller (every view here requires one)."""
    assert isinstance(request.user, User)
    return request.user


class InstanceUploadView(APIView):
    """``POST /api/instances/``: one DICOM file as the raw body."""

    authentication_classes = (TokenAuthentication,)
    permission_classes = (IsAuthenticated,)

    parser_classes = ()

    def post(self, request: Request) -> Response:
        """Stream the body into ingest; 202 with the new job, 200 with an existing one."""
        response = self._ingest(request)
        UPLOADS.labels(status=response.status_code).inc()
        return response

    def _ingest(self, request: Request) -> Response:
        upload = receive_upload(request._request, _user(request))
        if upload.job is None:
            response = _error(upload.status, upload.message)
            if upload.status == status.HTTP_503_SERVICE_UNAVAILABLE:
                response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        body = JobSerializer(upload.job, context={"request": request}).data
        return Response(body, status=upload.status, headers={"Location": body["job_url"]})


class JobListView(generics.ListAPIView[Job]):
    """``GET /api/jobs/``: the caller's jobs, newest first, ``?status=`` to filter."""

    authentication_classes = (TokenAuthentication,)
    permission_classes = (IsAuthenticated,)

    serializer_class = JobSerializer

    def get_queryset(self) -> QuerySet[Job]:
        """The visible jobs, of one status when asked."""
        jobs = visible_jobs(self.request)
        wanted = self.request.query_params.get("status")
        if wanted is not None:
            if wanted not in JobState.values:
                raise serializers.ValidationError(
                    {"status": [f"Use one of {', '.join(JobState.values)}."]}
                )
            jobs = jobs.filter(state=wanted)
        return jobs


class JobDetailView(generics.RetrieveAPIView[Job]):
    """``GET /api/jobs/<id>/``: one job."""

    authentication_classes = (TokenAuthentication,)
    permission_classes = (IsAuthenticated,)

    serializer_class = JobSerializer

    def get_queryset(self) -> QuerySet[Job]:
        """The visible jobs."""
        return visible_jobs(self.request)


class ResultDetailView(APIView):
    """``GET /api/results/<job id>/``: the result of a succeeded job."""

    authentication_classes = (TokenAuthentication,)
    permission_classes = (IsAuthenticated,)

    def get(self, request: Request, pk: int) -> Response:
        """The result, or 404 when the job is not visible or has none yet."""
        job = get_object_or_404(visible_jobs(request), pk=pk)
        result = get_object_or_404(Result, job=job)
        return Response(ResultSerializer(result, context={"request": request}).data)


@dataclass(frozen=True)
class Upload:
    """What one upload came to: its HTTP status, a sentence, and the job when stored."""

    status: int
    message: str
    job: Job | None = None


def receive_upload(request: HttpRequest, owner: User) -> Upload:
    """Stream an ``application/dicom`` body into ingest for ``owner``: the API's and portal's.

    The file's name, if sent, is ``X-Filename``, percent-encoded (a browser's
    ``encodeURIComponent``).  A new job answers 202, the same file again 200
    with its job; anything refused answers its status and the reason, with
    nothing stored.
    """
    if request.content_type != DICOM_MEDIA_TYPE:
        return Upload(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"Send the file as the body with Content-Type: {DICOM_MEDIA_TYPE}.",
        )
    stream, length = body_stream(request)
    try:
        with upload_slot():
            done = ingest(
                owner=owner,
                stream=stream,
                declared_length=length,
                filename=unquote(request.headers.get("X-Filename", "")),
                correlation_id=str(getattr(request, "request_id", "")),
                client_address=request.META.get("REMOTE_ADDR", ""),
            )
    except TooLarge as error:
        return Upload(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, str(error))
    except InstanceRefused as error:
        return Upload(REFUSED_STATUS[error.code], error.reason)
    except Duplicate as error:
        return Upload(status.HTTP_409_CONFLICT, str(error))
    except (Busy, Unavailable) as error:
        return Upload(status.HTTP_503_SERVICE_UNAVAILABLE, str(error))
    if done.created:
        return Upload(status.HTTP_202_ACCEPTED, f"Queued as job {done.job.pk}.", done.job)
    return Upload(
        status.HTTP_200_OK,
        f"The same file is job {done.job.pk}; nothing was stored again.",
        done.job,
    )


def body_stream(request: HttpRequest) -> tuple[Any, int | None]:
    """The request body as a stream to read in chunks, and its declared length if any.

    A body sent chunked has no Content-Length, and Django would read it as
    empty: the server's own input stream (gunicorn decodes the chunks) is
    read instead, to its end.
    """
    if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        return request.META["wsgi.input"], None
    length = request.META.get("CONTENT_LENGTH") or ""
    return request, int(length) if length.isdigit() else None


def _error(code: int, detail: str) -> Response:
    return Response({"detail": detail}, status=code)


def _absolute(context: Mapping[str, Any], path: str) -> str:
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path
