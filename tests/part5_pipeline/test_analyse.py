"""The worker's computation (exam.pipeline.processing.analyse) on files built in memory."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from exam.pipeline.processing import InstanceRefused, analyse

from .conftest import UNPROCESSABLE

#: A 16 x 16 frame of the values 0, 4, 8 ... 1020.
PIXELS = np.arange(0, 1024, 4, dtype=np.uint16).reshape(16, 16)


class TestAnalyse:
    """Tests for analyse()."""

    @pytest.mark.req("P5.PIPE.WORK.1")
    @pytest.mark.parametrize(
        ("window", "low", "high"),
        [
            ({}, 0, 1020),
            ({"WindowCenter": 200, "WindowWidth": 400}, 0, 400),
            ({"WindowCenter": [500, 200], "WindowWidth": [200, 400]}, 400, 600),
        ],
        ids=["no-window", "one-window", "first-of-two-windows"],
    )
    def test_the_preview_maps_the_header_s_first_window_or_the_value_range_to_0_255(
        self,
        make_dicom: Callable[..., Path],
        window: dict[str, Any],
        low: int,
        high: int,
    ) -> None:
        """Values at or below the window's low end are black, at or above its high end white."""
        path = make_dicom(pixels=PIXELS, PatientID="P1", **window)
        preview = np.asarray(Image.open(io.BytesIO(analyse(path).png)))
        scaled = (PIXELS.astype(np.float64) - low) / (high - low)
        expected = np.rint(np.clip(scaled, 0, 1) * 255).astype(np.uint8)
        np.testing.assert_array_equal(preview, expected)

    @pytest.mark.req("P5.PIPE.WORK.1")
    def test_the_preview_of_several_frames_is_the_middle_one(
        self, make_dicom: Callable[..., Path]
    ) -> None:
        """Of three frames (as stored, flipped, transposed) the preview shows the flipped one."""
        frames = np.stack([PIXELS, PIXELS[::-1], PIXELS.T])
        path = make_dicom(pixels=frames, PatientID="P1", NumberOfFrames=3)
        analysis = analyse(path)
        preview = np.asarray(Image.open(io.BytesIO(analysis.png)))
        expected = np.rint(PIXELS[::-1] / 1020 * 255).astype(np.uint8)
        np.testing.assert_array_equal(preview, expected)
        assert len(analysis.frames) == 3

    @pytest.mark.req("P5.PIPE.WORK.2")
    @pytest.mark.parametrize(("make", "code", "reason"), UNPROCESSABLE)
    def test_a_file_it_cannot_process_is_refused_with_a_code_and_a_plain_reason(
        self, tmp_path: Path, make: Callable[[Path], Path], code: str, reason: str
    ) -> None:
        """The error names no plugin, file or Python exception: only what is wrong."""
        with pytest.raises(InstanceRefused) as refused:
            analyse(make(tmp_path))
        assert (refused.value.code, refused.value.reason) == (code, reason)
