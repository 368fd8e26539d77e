"""Every Mermaid diagram in design/ renders with Mermaid's own CLI (mermaid-cli in Chromium).

The CLI and its Puppeteer come from ``tools/mermaid`` (``npm ci``, no browser
download) and drive Debian's ``/usr/bin/chromium``; ``.ci/run`` installs
both.  Elsewhere, without them, these tests skip and say why.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.part5_pipeline.markdown import mermaid_blocks

ROOT = Path(__file__).resolve().parents[2]
MERMAID = ROOT / "tools" / "mermaid"
MMDC = MERMAID / "node_modules" / ".bin" / "mmdc"
DOCUMENTS = [doc for doc in sorted((ROOT / "design").rglob("*.md")) if mermaid_blocks(doc)]

pytestmark = [pytest.mark.slow, pytest.mark.req("P5.DESIGN.MERMAID")]


@pytest.fixture(scope="module")
def mmdc() -> Path:
    """Mermaid's CLI, ready to drive Chromium; a skip (a failure in CI) when either is missing."""
    missing = [str(p) for p in (MMDC, Path("/usr/bin/chromium")) if not p.exists()]
    if missing:
        reason = f"needs {' and '.join(missing)} (tools/render-diagrams.sh sets it up)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return MMDC


def render(mmdc: Path, source: Path, output: Path) -> subprocess.CompletedProcess[str]:
    """Render the diagrams of ``source`` (Markdown or one diagram) to SVG under ``output``."""
    return subprocess.run(
        [
            str(mmdc),
            "--puppeteerConfigFile",
            str(MERMAID / "puppeteer.json"),
            "--input",
            str(source),
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("document", DOCUMENTS, ids=[doc.name for doc in DOCUMENTS])
def test_every_diagram_of_the_document_renders(mmdc: Path, document: Path, tmp_path: Path) -> None:
    """Mermaid renders each of the document's diagrams to an SVG without an error."""
    result = render(mmdc, document, tmp_path / "diagram.svg")
    assert result.returncode == 0, result.stderr
    rendered = sorted(path.name for path in tmp_path.glob("diagram-*.svg"))
    count = len(mermaid_blocks(document))
    assert rendered == sorted(f"diagram-{n}.svg" for n in range(1, count + 1))


def test_a_broken_diagram_fails_with_mermaid_s_parse_error(mmdc: Path, tmp_path: Path) -> None:
    """An unquoted label holding brackets is Mermaid's parse error on its line, exit status 1."""
    source = tmp_path / "broken.mmd"
    source.write_text("flowchart LR\n    A[Ingest (ASGI)] --> B\n", encoding="utf-8")
    result = render(mmdc, source, tmp_path / "broken.svg")
    assert result.returncode == 1
    assert "Parse error on line 2:" in result.stderr
    assert not (tmp_path / "broken.svg").exists()
