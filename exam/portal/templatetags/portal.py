"""Template filters of the portal: numbers, durations and the status icons."""

from __future__ import annotations

from django import template

from exam.pipeline.models import Job

register = template.Library()

#: Each state's icon, drawn in a 16x16 box: always beside the state's name, never alone.
STATUS_ICONS = {
    "queued": "M8 2a6 6 0 1 0 0 12A6 6 0 0 0 8 2zm0 2v4l3 2",
    "running": "M4 2l10 6-10 6z",
    "retrying": "M13 8a5 5 0 1 1-1.5-3.5M13 2v3h-3",
    "succeeded": "M2 8l4 4 8-8",
    "failed": "M3 3l10 10M13 3L3 13",
    "quarantined": "M8 2l7 12H1zM8 6v4m0 2v1",
}


@register.filter
def number(value: float) -> str:
    """A statistic with six significant digits: 1234.57, -1024, 0.5."""
    return f"{value:.6g}"


@register.filter
def duration(job: Job) -> str:
    """Seconds from upload to the end once finished (``"2.4 s"``), else ``"not yet"``."""
    if job.finished_at is None:
        return "not yet"
    return f"{(job.finished_at - job.created_at).total_seconds():.1f} s"


@register.filter
def status_icon(state: str) -> str:
    """The SVG path of ``state``'s icon."""
    return STATUS_ICONS[state]
