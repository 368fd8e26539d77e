"""Paths the Part 4 tests share: the API's URLs and the fixture files."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_04 = ROOT / "fixtures" / "sample-04-json.json"
LIST_URL = "/api/elements/"


def detail_url(element_id: str) -> str:
    """Return the detail URL of the element ``element_id``."""
    return f"/api/elements/{element_id}/"
