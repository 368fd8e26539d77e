"""The pipeline's throughput and latency: N uploads through ``python -m exam stack``.

For each worker count (1, then 2) a fresh stack -- embedded PostgreSQL and
broker, web server, relay, workers -- runs in a folder of its own.  Concurrent
clients upload N distinct generated DICOM files (CPU-bound: several frames of
random 16-bit pixels each, so a task is statistics, a histogram and a PNG, not
overhead), then the script waits until every job has succeeded and reads the
jobs' server-side timestamps back.  It prints throughput (instances per second
from the first upload to the last finish), and the median and 95th percentile
of upload-to-succeeded latency; the ratio of the two throughputs is the
scaling.  On 2 cores the web server, PostgreSQL and the relay take CPU from
the workers while uploads arrive, so two more runs measure the workers alone:
the relay is held (its fault point, ``exam.pipeline.faults``) until every
upload is in, then released, and the queue's drain rate -- jobs started after
the release, divided by the time from the release to the last finish -- is
the workers' throughput.  A last run with 2 workers paces the uploads at a
fixed rate (``--rate``, 20/s) to give the latency of a system that keeps up.

    python benchmarks/bench_pipeline.py [--uploads 500] [--clients 8] [--rate 20]
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from harness import table, verdict  # benchmarks/harness.py
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

URL_LINE = re.compile(r"the stack's API: (http://\S+)/api/")
PASSWORD = "bench-password"


@dataclass(frozen=True)
class Outcome:
    """One stack run: how many workers, uploads, throughput and latencies."""

    label: str
    uploads: int
    seconds: float
    latencies: list[float]
    drain: bool = False

    @property
    def throughput(self) -> float:
        """Instances per second, first upload to last finish."""
        return self.uploads / self.seconds

    def percentile(self, q: float) -> float:
        """A latency percentile in seconds."""
        return float(np.percentile(self.latencies, q))


def make_files(folder: Path, count: int, size: int, frames: int) -> list[Path]:
    """``count`` distinct DICOM files of ``frames`` frames of ``size`` x ``size`` 16-bit pixels."""
    rng = np.random.default_rng(5)
    paths = []
    for number in range(count):
        dataset = Dataset()
        dataset.file_meta = FileMetaDataset()
        dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        dataset.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
        dataset.SOPClassUID = SecondaryCaptureImageStorage
        dataset.SOPInstanceUID = generate_uid(entropy_srcs=["bench", str(number)])
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        dataset.StudyInstanceUID = generate_uid(entropy_srcs=["bench-study"])
        dataset.SeriesInstanceUID = generate_uid(entropy_srcs=["bench-series"])
        dataset.PatientID = f"BENCH-{number % 10}"
        dataset.Modality = "OT"
        pixels = rng.integers(0, 4096, size=(frames, size, size), dtype=np.uint16)
        dataset.set_pixel_data(pixels, "MONOCHROME2", 12, generate_instance_uid=False)
        path = folder / f"bench-{number:05d}.dcm"
        dataset.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


class Stack:
    """A running ``python -m exam stack`` in a folder of its own."""

    def __init__(self, folder: Path, workers: int, faults: Path | None = None) -> None:
        self.env = (
            {
                key: value
                for key, value in os.environ.items()
                if key not in {"DATABASE_URL", "CELERY_BROKER_URL"} and not key.startswith("EXAM_")
            }
            | {
                "EXAM_PGDATA": str(folder / "pgdata"),
                "EXAM_BROKER_DIR": str(folder / "broker"),
                "EXAM_STORAGE_DIR": str(folder / "storage"),
                "EXAM_PASSWORD": PASSWORD,
            }
            | ({"EXAM_FAULTS_DIR": str(faults)} if faults is not None else {})
        )
        self.err = (folder / "stack.err").open("w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "exam", "stack", "--port", "0", "--workers", str(workers)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.err,
            start_new_session=True,
        )
        deadline = time.monotonic() + 180
        while not (match := URL_LINE.search(Path(self.err.name).read_text())):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the stack did not start: {Path(self.err.name).read_text()}")
            time.sleep(0.2)
        self.url = urlsplit(match.group(1))
        self._exam("createuser", "bench")
        self.token = self._exam("token", "bench").splitlines()[-1]

    def _exam(self, *arguments: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "exam", *arguments],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, dict]:
        connection = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=60)
        headers = {"Authorization": f"Token {self.token}"}
        if body is not None:
            headers["Content-Type"] = "application/dicom"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        answer = json.loads(response.read() or b"{}")
        connection.close()
        return response.status, answer

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(timeout=60)


def run(
    files: list[Path],
    *,
    workers: int,
    clients: int,
    rate: float | None,
    label: str,
    drain: bool = False,
) -> Outcome:
    """Upload ``files`` through a fresh stack with ``workers`` workers; wait; measure.

    ``drain``: hold the relay after its first publish until every upload is
    in, then measure how fast the workers empty the queue.
    """
    folder = Path(tempfile.mkdtemp(prefix="exam-bench-"))
    folder.chmod(0o755)
    faults = folder / "faults" if drain else None
    if faults is not None:
        faults.mkdir()
        (faults / "relay.published.pause").touch()
    stack = Stack(folder, workers, faults)
    try:
        started = time.monotonic()

        def upload(index_path: tuple[int, Path]) -> int:
            index, path = index_path
            if rate is not None:
                time.sleep(max(0.0, started + index / rate - time.monotonic()))
            code, body = stack.request("POST", "/api/instances/", path.read_bytes())
            assert code == 202, (code, body)
            return int(body["id"])

        with ThreadPoolExecutor(clients) as pool:
            ids = list(pool.map(upload, enumerate(files)))
        released = datetime.datetime.now(datetime.UTC)
        if faults is not None:
            (faults / "relay.published.go").touch()
        jobs = _wait(stack, len(ids))
        if drain:
            later = [job for job in jobs if _time(job["started_at"]) >= released]
            seconds = (max(_time(job["finished_at"]) for job in later) - released).total_seconds()
            return Outcome(label, len(later), seconds, [], drain=True)
        created = [_time(job["created_at"]) for job in jobs]
        finished = [_time(job["finished_at"]) for job in jobs]
        seconds = (max(finished) - min(created)).total_seconds()
        latencies = [
            (end - start).total_seconds() for start, end in zip(created, finished, strict=True)
        ]
        return Outcome(label, len(ids), seconds, latencies)
    finally:
        stack.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _wait(stack: Stack, count: int) -> list[dict]:
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        _, page = stack.request("GET", "/api/jobs/?status=succeeded&limit=1000")
        if page.get("count") == count:
            return page["results"]
        time.sleep(0.5)
    raise RuntimeError("the jobs did not all succeed in 30 minutes")


def _time(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rate", type=float, default=20.0, help="paced uploads per second")
    parser.add_argument("--size", type=int, default=256, help="rows and columns of a frame")
    parser.add_argument("--frames", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        files = make_files(Path(folder), args.uploads, args.size, args.frames)
        one = run(files, workers=1, clients=args.clients, rate=None, label="1 worker")
        two = run(files, workers=2, clients=args.clients, rate=None, label="2 workers")
        one_drain, two_drain = (
            run(
                files,
                workers=count,
                clients=args.clients,
                rate=None,
                label=f"{count} worker{'s' * (count > 1)}, drain",
                drain=True,
            )
            for count in (1, 2)
        )
        paced = run(
            files,
            workers=2,
            clients=args.clients,
            rate=args.rate,
            label=f"2 workers, {args.rate:g}/s",
        )
    print(
        f"Pipeline: {args.uploads} uploads of {args.frames} x {args.size}x{args.size} 16-bit "
        f"frames, {args.clients} concurrent clients; {os.cpu_count()} CPU cores"
    )
    runs = (one, two, one_drain, two_drain, paced)
    rows = [["", *(o.label for o in runs)]]
    rows.append(["throughput (instances/s)", *(f"{o.throughput:.1f}" for o in runs)])
    for q in (50, 95):
        rows.append(
            [f"latency p{q} (s)", *("-" if o.drain else f"{o.percentile(q):.2f}" for o in runs)]
        )
    print(table(rows))
    for what, low, high in (
        ("uploads arriving", one, two),
        ("queue drained", one_drain, two_drain),
    ):
        scaling = high.throughput / low.throughput
        met = "met" if scaling >= 1.7 else "MISSED"
        print(f"scaling, 2 workers / 1 worker, {what}: {scaling:.2f}  target >= 1.7 {met}")
    p95 = paced.percentile(95)
    print(f"p95 latency at {args.rate:g} uploads/s: {p95:.2f} s  {verdict(p95, 2.0)}")


if __name__ == "__main__":
    main()
