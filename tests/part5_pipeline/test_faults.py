"""The fault points the crash tests arm (exam.pipeline.faults)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from exam.pipeline import faults

from .conftest import wait_for

#: Reach fault point "point" with the key given as the first argument.
REACH = "import sys; from exam.pipeline import faults; faults.checkpoint('point', key=sys.argv[1])"


def reach(faults_dir: Path, key: str) -> int:
    """Run a process that reaches fault point ``point`` with ``key``; return its exit status."""
    env = {**os.environ, "EXAM_FAULTS_DIR": str(faults_dir)}
    return subprocess.run([sys.executable, "-c", REACH, key], env=env, timeout=60).returncode


class TestCheckpoint:
    """Tests for checkpoint()."""

    @pytest.mark.req("P5.PIPE.FAULTS.1")
    def test_nothing_happens_without_a_faults_folder(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without EXAM_FAULTS_DIR an armed point is ignored: the files are not even looked at."""
        monkeypatch.delenv("EXAM_FAULTS_DIR", raising=False)
        monkeypatch.chdir(tmp_path)
        (tmp_path / "point.pause").touch()
        faults.checkpoint("point")
        assert sorted(path.name for path in tmp_path.iterdir()) == ["point.pause"]

    @pytest.mark.req("P5.PIPE.FAULTS.1")
    def test_an_armed_pause_holds_exactly_one_process_until_go(self, faults_dir: Path) -> None:
        """The first arrival takes the pause and waits for .go; the next one passes at once."""
        (faults_dir / "point.pause").touch()
        first = threading.Thread(target=faults.checkpoint, args=("point",))
        first.start()
        wait_for(lambda: (faults_dir / f"point.{os.getpid()}.reached").exists(), what="the pause")
        faults.checkpoint("point")
        assert first.is_alive()
        (faults_dir / "point.go").touch()
        first.join(10)
        assert not first.is_alive()

    @pytest.mark.slow
    @pytest.mark.req("P5.PIPE.FAULTS.1")
    @pytest.mark.parametrize(
        ("armed", "key", "status"),
        [("7\n12\n", "12", -9), ("7\n12\n", "1", 0), ("", "1", -9)],
        ids=["listed-key", "other-key", "empty-file-names-all"],
    )
    def test_an_armed_crash_kills_the_processes_it_names(
        self, faults_dir: Path, armed: str, key: str, status: int
    ) -> None:
        """A process arriving with a listed key (with any key, if none is listed) is SIGKILLed."""
        (faults_dir / "point.crash").write_text(armed)
        assert reach(faults_dir, key) == status
