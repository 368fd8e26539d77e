"""What a worker computes, checked against an independent numpy computation.

Files go the whole way: uploaded through the API, published by the relay,
processed by a real ``python -m exam worker`` process.  The expected
statistics are computed here from pydicom's ``pixel_array`` with the
rescale applied by hand, never by the worker's code.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from PIL import Image
from pydicom import dcmread
from pydicom.data import get_testdata_file

from exam.pipeline.models import Job, JobState, Outbox, Result
from exam.pipeline.processing import HISTOGRAM_BINS
from exam.pipeline.relay import declare_queues, relay_once
from exam.records import StudyRecord

from .conftest import (
    FIXTURES,
    UNPROCESSABLE,
    Processes,
    client_for,
    upload,
    wait_for,
)

pytestmark = [pytest.mark.slow]

FILES = [
    *sorted(FIXTURES.glob("*.dcm")),
    *(
        Path(str(get_testdata_file(name, download=False)))
        for name in ("CT_small.dcm", "MR_small.dcm")
    ),
]


def finished(job_ids: list[int]) -> list[Job]:
    """Wait until every job has left queued/running/retrying; return them in order."""
    done = ("succeeded", "failed", "quarantined")
    wait_for(
        lambda: Job.objects.filter(pk__in=job_ids, state__in=done).count() == len(job_ids),
        what=f"jobs {job_ids} to finish",
    )
    return [Job.objects.get(pk=job_id) for job_id in job_ids]


def expected_values(path: Path) -> tuple[Any, Any]:
    """The rescaled pixel values of ``path``, one array per frame, and its dataset."""
    dataset = dcmread(path)
    frames = int(dataset.get("NumberOfFrames") or 1)
    pixels = dataset.pixel_array.astype(np.float64).reshape(frames, dataset.Rows, dataset.Columns)
    slope = float(dataset.get("RescaleSlope", 1))
    intercept = float(dataset.get("RescaleIntercept", 0))
    return pixels * slope + intercept, dataset


def expected_preview(frame: Any, dataset: Any) -> Any:
    """The 8-bit preview of ``frame``: its window (first Window Center/Width) or min to max."""
    if "WindowCenter" in dataset:
        center = float(np.atleast_1d(dataset.WindowCenter)[0])
        width = float(np.atleast_1d(dataset.WindowWidth)[0])
        low, high = center - width / 2, center + width / 2
    else:
        low, high = frame.min(), frame.max()
    return np.rint(np.clip((frame - low) / (high - low), 0, 1) * 255).astype(np.uint8)


@pytest.mark.req("P5.PIPE.WORK.1")
def test_every_fixture_goes_through_a_worker_to_results_equal_to_numpy_s(
    alice: User, processes: Processes, storage_dir: Path
) -> None:
    """Each file ends succeeded with numpy's frame statistics and histogram and a PNG preview."""
    client = client_for(alice)
    job_ids = [upload(client, path).json()["id"] for path in FILES]
    processes.worker("w1")
    declare_queues()
    assert relay_once() == len(FILES)
    for path, job in zip(FILES, finished(job_ids), strict=True):
        assert (job.state, job.attempt, job.error) == (JobState.SUCCEEDED, 1, ""), path.name
        result = Result.objects.get(job=job)
        values, dataset = expected_values(path)
        assert result.frames == [
            {
                "min": pytest.approx(frame.min()),
                "max": pytest.approx(frame.max()),
                "mean": pytest.approx(frame.mean()),
                "std": pytest.approx(frame.std()),
            }
            for frame in values
        ], path.name
        low, high = values.min(), values.max()
        counts, edges = np.histogram(
            values, bins=HISTOGRAM_BINS, range=(low, high if high > low else low + 1)
        )
        assert result.histogram == {
            "bin_edges": pytest.approx(edges.tolist()),
            "counts": counts.tolist(),
        }, path.name
        preview = (storage_dir / result.preview_key).read_bytes()
        assert result.preview_key == f"derived/{job.pk}/attempt-1/preview.png"
        assert result.preview_sha256 == hashlib.sha256(preview).hexdigest()
        image = Image.open(io.BytesIO(preview))
        assert (image.format, image.mode, image.size) == (
            "PNG",
            "L",
            (dataset.Columns, dataset.Rows),
        )
        middle = values[len(values) // 2]
        np.testing.assert_array_equal(np.asarray(image), expected_preview(middle, dataset))
        assert result.record == {"text": str(StudyRecord.from_dicom(path))}


@pytest.mark.req("P5.PIPE.WORK.2")
@pytest.mark.parametrize(("make", "code", "reason"), UNPROCESSABLE)
def test_a_file_the_worker_cannot_process_fails_at_once_with_a_plain_reason(
    alice: User, processes: Processes, tmp_path: Path, make: Any, code: str, reason: str
) -> None:
    """The job fails at its first attempt with an error code and the reason; nothing is retried."""
    job_id = upload(client_for(alice), make(tmp_path)).json()["id"]
    processes.worker("w1")
    declare_queues()
    relay_once()
    [job] = finished([job_id])
    assert (job.state, job.attempt, job.error_code, job.error) == (
        JobState.FAILED,
        1,
        code,
        reason,
    )
    assert not Result.objects.filter(job=job).exists()
    assert not Outbox.objects.filter(job=job).exists()
    [done] = wait_for(lambda: processes.events("w1", "task.done", job_id=job_id))
    assert done["outcome"] == "failed"
    assert len(processes.events("w1", "job.claimed", job_id=job_id)) == 1
