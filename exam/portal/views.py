"""The portal's pages: thin views over the pipeline's services and the portal's selectors.

Every read of jobs, results, originals and the audit happens in
:func:`exam.portal.rls.scoped` (the portal's role, row-level security), and
every view and download of a result or an original writes an audit row
there, before anything is sent.  Uploads and retries go through the
pipeline's own services (:func:`exam.pipeline.ingest.ingest`,
:func:`exam.pipeline.jobs.rerun`), as the API's do.  What a user may not
see answers 404, never 403, which would confirm that it exists.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from rest_framework import status

from exam.pipeline import jobs
from exam.pipeline.api import (
    DICOM_MEDIA_TYPE,
    RETRY_AFTER_SECONDS,
    ResultSerializer,
    receive_upload,
)
from exam.pipeline.models import AuditEvent, Job, Result
from exam.pipeline.storage import STORAGE_ERRORS
from exam.pipeline.tasks import app
from exam.portal import charts, events, operations, selectors
from exam.portal.forms import AuditSearchForm, JobFilterForm
from exam.portal.rls import scoped


@login_required
@require_GET
def jobs_page(request: HttpRequest) -> HttpResponse:
    """ "My jobs": the upload form and the user's jobs, filtered, updated live."""
    user = _user(request)
    form = JobFilterForm(request.GET or None)
    with scoped(user) as alias:
        shown = list(
            selectors.filtered(selectors.own_jobs(user, alias), form.wanted())[
                : settings.EXAM_PORTAL_PAGE_SIZE
            ]
        )
    context = {
        "form": form,
        "jobs": shown,
        "cursor": events.now_cursor(),
        "poll_seconds": settings.EXAM_PORTAL_POLL_SECONDS,
        "nav": "jobs",
    }
    code = status.HTTP_400_BAD_REQUEST if form.errors else status.HTTP_200_OK
    return render(request, "portal/jobs.html", context, status=code)


@login_required
@require_GET
def job_events(request: HttpRequest) -> StreamingHttpResponse:
    """The server-sent event stream of the user's jobs (:func:`exam.portal.events.stream`)."""
    since = events.parse_cursor(request.headers.get("Last-Event-ID") or request.GET.get("since"))
    wanted = JobFilterForm(request.GET).wanted()
    response = StreamingHttpResponse(
        events.stream(request, _user(request), wanted, since), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    # nginx and its kind would otherwise hold the events back in a buffer.
    response["X-Accel-Buffering"] = "no"
    return response


@login_required
@require_GET
def job_updates(request: HttpRequest) -> JsonResponse:
    """The poll while the stream is down: the rows changed since ``?since=``, and a new cursor."""
    wanted = JobFilterForm(request.GET).wanted()
    cursor, rows = events.updates(
        request, _user(request), wanted, since=events.parse_cursor(request.GET.get("since"))
    )
    return JsonResponse({"cursor": str(cursor), "rows": rows})


@login_required
@require_POST
def upload(request: HttpRequest) -> JsonResponse:
    """One DICOM file as the body (``application/dicom``): its outcome in plain words.

    The file goes through the same ingest as the API's uploads, streamed
    (the request-log middleware leaves DICOM bodies unread).
    """
    upload = receive_upload(request, _user(request))
    code = upload.status
    if upload.job is not None:
        outcome = "accepted" if code == status.HTTP_202_ACCEPTED else "already uploaded"
        return _outcome(code, outcome, upload.message, job=upload.job.pk)
    if code == status.HTTP_503_SERVICE_UNAVAILABLE:
        response = _outcome(code, "not stored", upload.message)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return _outcome(code, "rejected", _sentence(upload.message))


@login_required
@require_POST
def retry(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Queue a failed job of the user's again ("Retry"); htmx gets the job's new row."""
    found = _audited(request, pk, "retry", owner_only=True, result=False)
    if found is None:
        return not_found(request)
    queued = jobs.rerun(pk)
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect("portal:jobs")
    user = _user(request)
    with scoped(user) as alias:
        job = selectors.own_jobs(user, alias).get(pk=pk)
    code = status.HTTP_200_OK if queued else status.HTTP_409_CONFLICT
    return render(request, "portal/_job_row.html", {"job": job}, status=code)


@login_required
@require_GET
def result_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A succeeded job's result: study record, frame statistics, histogram, preview."""
    found = _audited(request, pk, "result_view")
    if found is None:
        return not_found(request)
    job, result = found
    context = {
        "job": job,
        "result": result,
        "histogram": charts.histogram(result.histogram["bin_edges"], result.histogram["counts"]),
        "downloads": job.owner_id == request.user.pk,
        "nav": "jobs",
    }
    return render(request, "portal/result.html", context)


@login_required
@require_GET
def preview(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The result's PNG preview, streamed from storage."""
    found = _audited(request, pk, "preview_view")
    if found is None:
        return not_found(request)
    return _stored(request, found[1].preview_key, content_type="image/png")


@login_required
@require_GET
def result_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The result as a JSON file, as the API shows it (the owner only)."""
    found = _audited(request, pk, "result_download", owner_only=True)
    if found is None:
        return not_found(request)
    body = ResultSerializer(found[1], context={"request": request}).data
    response = JsonResponse(body, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="result-{pk}.json"'
    return response


@login_required
@require_GET
def original_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The original DICOM file exactly as uploaded (the owner only)."""
    found = _audited(request, pk, "original_download", owner_only=True, result=False)
    if found is None:
        return not_found(request)
    job = found[0]
    name = job.instance.filename or f"job-{job.pk}.dcm"
    return _stored(
        request, job.instance.storage_key, content_type=DICOM_MEDIA_TYPE, attachment=name
    )


@login_required
@require_GET
def operations_page(request: HttpRequest) -> HttpResponse:
    """Staff only: outbox backlog, recent failures and the audit log, searchable."""
    user = _user(request)
    if not user.is_staff:
        return not_found(request)
    form = AuditSearchForm(request.GET)
    with scoped(user) as alias:
        context: dict[str, Any] = {
            "audit": selectors.audit_log(alias, form.query()),
            "form": form,
            "nav": "operations",
        }
        if not request.htmx:  # type: ignore[attr-defined]
            context["backlog"] = selectors.outbox_backlog(alias)
            context["failures"] = selectors.recent_failures(alias)
    template = "portal/_audit_rows.html" if request.htmx else "portal/operations.html"  # type: ignore[attr-defined]
    code = status.HTTP_400_BAD_REQUEST if form.errors else status.HTTP_200_OK
    return render(request, template, context, status=code)


@login_required
@require_GET
def workers_panel(request: HttpRequest) -> HttpResponse:
    """Staff only: the workers answering now and the queues' depths (htmx fills it in)."""
    if not _user(request).is_staff:
        return not_found(request)
    queues = operations.queue_depths(app)
    context = {
        "queues": queues,
        # Without a broker no worker can answer: not asked, rather than waited for.
        "workers": (
            operations.workers(app, timeout=settings.EXAM_PORTAL_INSPECT_SECONDS)
            if queues is not None
            else None
        ),
    }
    return render(request, "portal/_workers.html", context)


def not_found(request: HttpRequest) -> HttpResponse:
    """The portal's 404 page: the same for what does not exist and what is someone else's."""
    return render(request, "portal/404.html", status=status.HTTP_404_NOT_FOUND)


def _stored(
    request: HttpRequest, key: str, *, content_type: str, attachment: str | None = None
) -> HttpResponseBase:
    try:
        stored = default_storage.open(key, "rb")
    except STORAGE_ERRORS:
        return render(
            request, "portal/unavailable.html", status=status.HTTP_503_SERVICE_UNAVAILABLE
        )
    return FileResponse(
        stored,
        content_type=content_type,
        as_attachment=attachment is not None,
        filename=attachment or "",
    )


def _audited(
    request: HttpRequest, pk: int, action: str, *, owner_only: bool = False, result: bool = True
) -> tuple[Job, Result] | None:
    """Job ``pk`` and its result, if the user may see them, once the audit row is written.

    ``owner_only``: the user's own job even for staff (downloads, retry);
    ``result=False``: the job need not have a result (the result returned
    is then ``None`` too, and is not read).  ``None`` means answer 404.
    """
    user = _user(request)
    with scoped(user) as alias:
        if owner_only:
            job = selectors.own_jobs(user, alias).filter(pk=pk).first()
        else:
            job = selectors.visible_job(user, alias, pk)
        found = selectors.result_of(job, alias) if job is not None and result else None
        if job is None or (result and found is None):
            return None
        _audit(request, alias, action, job)
    return job, found  # type: ignore[return-value]


def _audit(request: HttpRequest, alias: str, action: str, job: Job) -> None:
    """Record that the request's user did ``action`` to ``job`` (as the portal's role)."""
    AuditEvent.objects.using(alias).create(
        actor_id=_user(request).pk,
        owner_id=job.owner_id,
        action=action,
        object_type="job",
        object_id=job.pk,
        client_address=request.META.get("REMOTE_ADDR", ""),
        correlation_id=_request_id(request),
    )


def _sentence(reason: str) -> str:
    """``reason`` as a sentence: capitalised, with a full stop."""
    text = f"{reason[:1].upper()}{reason[1:]}"
    return text if text.endswith(".") else f"{text}."


def _outcome(code: int, outcome: str, message: str, **fields: Any) -> JsonResponse:
    return JsonResponse({"outcome": outcome, "message": message, **fields}, status=code)


def _user(request: HttpRequest) -> User:
    """The logged-in user (every view here requires one)."""
    assert isinstance(request.user, User)
    return request.user


def _request_id(request: HttpRequest) -> str:
    return str(getattr(request, "request_id", ""))
