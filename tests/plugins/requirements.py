"""pytest plugin: trace every requirement of the test to the tests that verify it.

The requirements live in ``tests/requirements.toml`` as a list of
``[[requirement]]`` tables with an ``id`` and its ``text``.  A test names the
requirements it verifies with ``@pytest.mark.req("P1.CSV.3", ...)``.

* A test naming an ID that is not listed stops the run at collection.
* After the run, ``reports/requirements.md`` shows requirement -> tests -> outcome.
* With ``--requirements-check`` (the tox run uses it) the session fails when a
  listed requirement has no test, or when none of its tests passed (a skipped
  test never counts as verifying anything).
* The check also catches drift between a requirement's wording and its tests:
  every log level (``WARNING``) and HTTP status code (``404``) the wording
  names must appear in the source of at least one of its tests.
* A requirement that needs a program a bare machine lacks (Chromium, a
  broker) says so: ``needs = "Chromium"``.  Where its tests skip for that
  reason it is reported "not run here", and only fails the check in CI
  (``CI`` set), where ``.ci/run`` installs what it needs.
"""

from __future__ import annotations

import inspect
import os
import re
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DEFAULT_REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.toml"
DEFAULT_REPORT = Path("reports") / "requirements.md"
#: What a requirement's wording can name that its tests must mention: log levels, HTTP statuses.
NAMED_VALUES = re.compile(
    r"\b(DEBUG|INFO|WARNING|ERROR|CRITICAL)\b|(?<![\w.,/-])([2-5]\d\d)(?![\w,.-]?\d)"
)


@dataclass(frozen=True)
class Requirement:
    """One requirement of the test: a stable ID and its wording."""

    id: str
    text: str
    needs: str | None = None


@dataclass
class Trace:
    """The tests that name one requirement, how each ended, and their source code."""

    requirement: Requirement
    outcomes: dict[str, str] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    @property
    def drift(self) -> list[str]:
        """Log levels and HTTP statuses the wording names that none of its tests mention."""
        named = [level or code for level, code in NAMED_VALUES.findall(self.requirement.text)]
        return [
            value
            for value in dict.fromkeys(named)
            if not any(value in source for source in self.sources)
        ]

    @property
    def verified(self) -> bool:
        """True when at least one test passed and none failed."""
        values = self.outcomes.values()
        return "passed" in values and "failed" not in values

    @property
    def excused(self) -> bool:
        """True when the requirement's tests all skipped on a machine without what it needs."""
        skipped = bool(self.outcomes) and set(self.outcomes.values()) == {"skipped"}
        return self.requirement.needs is not None and skipped and not os.environ.get("CI")

    @property
    def status(self) -> str:
        """A word or two for the report: verified, FAILED, untested, not run (here)."""
        if not self.outcomes:
            return "untested"
        if "failed" in self.outcomes.values():
            return "FAILED"
        if self.verified:
            return "verified"
        return f"not run here (needs {self.requirement.needs})" if self.excused else "not run"


def load_requirements(path: Path) -> list[Requirement]:
    """Read the requirement list; raise ``pytest.UsageError`` when it is malformed."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise pytest.UsageError(f"cannot read requirements {path}: {error}") from error
    requirements = [
        Requirement(entry["id"], entry["text"], entry.get("needs"))
        for entry in table.get("requirement", [])
    ]
    seen: set[str] = set()
    for requirement in requirements:
        if requirement.id in seen:
            raise pytest.UsageError(f"requirement {requirement.id} is listed twice in {path}")
        seen.add(requirement.id)
    return requirements


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the plugin's command-line options."""
    group = parser.getgroup("requirements", "requirement traceability")
    group.addoption(
        "--requirements-file",
        type=Path,
        default=DEFAULT_REQUIREMENTS,
        help="TOML list of requirements (default: tests/requirements.toml)",
    )
    group.addoption(
        "--requirements-report",
        type=Path,
        default=DEFAULT_REPORT,
        help="where to write the Markdown report (default: reports/requirements.md)",
    )
    group.addoption(
        "--requirements-check",
        action="store_true",
        help="fail the session unless every requirement has a passing test",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Load the requirement list and register the tracer."""
    config.addinivalue_line("markers", "req(*ids): requirement IDs this test verifies")
    requirements = load_requirements(config.getoption("requirements_file"))
    config.pluginmanager.register(_Tracer(requirements), "requirements-tracer")


class _Tracer:
    def __init__(self, requirements: list[Requirement]) -> None:
        self.traces = {r.id: Trace(r) for r in requirements}
        self.ids_by_test: dict[str, list[str]] = {}

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        unknown: dict[str, list[str]] = defaultdict(list)
        for item in items:
            ids = [rid for mark in item.iter_markers("req") for rid in mark.args]
            for rid in ids:
                if rid not in self.traces:
                    unknown[rid].append(item.nodeid)
            self.ids_by_test[item.nodeid] = ids
            if ids:
                source = _source(item)
                for rid in ids:
                    if rid in self.traces:
                        self.traces[rid].sources.append(source)
        if unknown:
            lines = [f"  {rid}: {', '.join(tests)}" for rid, tests in sorted(unknown.items())]
            raise pytest.UsageError("tests name unknown requirement IDs:\n" + "\n".join(lines))
        for nodeid, ids in self.ids_by_test.items():
            for rid in ids:
                self.traces[rid].outcomes.setdefault(nodeid, "not run")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        ids = self.ids_by_test.get(report.nodeid, [])
        if not ids:
            return
        outcome = _outcome(report)
        if outcome is None:
            return
        for rid in ids:
            previous = self.traces[rid].outcomes.get(report.nodeid)
            # A failure in any phase (setup, call, teardown) sticks.
            if previous != "failed":
                self.traces[rid].outcomes[report.nodeid] = outcome

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        config = session.config
        report_path: Path = config.getoption("requirements_report")
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(render_report(list(self.traces.values())), encoding="utf-8")
        if not config.getoption("requirements_check"):
            return
        missing = [t for t in self.traces.values() if not (t.verified or t.excused)]
        drifted = [t for t in self.traces.values() if t.drift]
        if missing or drifted:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self.unverified = missing
        self.drifted = drifted

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        traces = list(self.traces.values())
        verified = sum(t.verified for t in traces)
        terminalreporter.write_sep("-", "requirements")
        terminalreporter.write_line(f"{verified} of {len(traces)} requirements verified")
        for trace in getattr(self, "unverified", []):
            terminalreporter.write_line(
                f"NOT VERIFIED {trace.requirement.id} ({trace.status}): {trace.requirement.text}",
                red=True,
            )
        for trace in getattr(self, "drifted", []):
            terminalreporter.write_line(
                f"DRIFT {trace.requirement.id}: its wording names {', '.join(trace.drift)}, "
                "which none of its tests mention",
                red=True,
            )


def _source(item: pytest.Item) -> str:
    """The test's source (with its class's and decorators), and that of the helpers it calls.

    A test often checks through a helper of its module (``assert_fails(...)``
    comparing the logged level): the helpers called by name are read too, one
    level deep.
    """
    owner = getattr(item, "cls", None) or getattr(item, "obj", None)
    try:
        source = inspect.getsource(owner) if owner is not None else ""
    except (OSError, TypeError):
        return ""
    module = inspect.getmodule(owner)
    helpers = []
    for name in dict.fromkeys(re.findall(r"\b([A-Za-z_]\w*)\(", source)):
        helper = getattr(module, name, None)
        if inspect.isfunction(helper) and (
            helper.__module__ == getattr(module, "__name__", None)
            or helper.__module__.startswith("tests.")
        ):
            try:
                helpers.append(inspect.getsource(helper))
            except OSError:  # made at run time (a factory's product): nothing to read
                continue
    return "\n".join([source, *helpers])


def _outcome(report: pytest.TestReport) -> str | None:
    if report.failed:
        return "failed"
    if report.skipped:
        return "skipped"
    if report.when == "call":
        return "passed"
    return None


def render_report(traces: list[Trace]) -> str:
    """Render the Markdown report: a summary line, then one row per requirement."""
    verified = sum(t.verified for t in traces)
    lines = [
        "# Requirements report",
        "",
        f"{verified} of {len(traces)} requirements verified.",
        "",
        "| ID | Requirement | Status | Tests |",
        "| --- | --- | --- | --- |",
    ]
    for trace in traces:
        tests = "<br>".join(
            f"`{nodeid}` {outcome}" for nodeid, outcome in sorted(trace.outcomes.items())
        )
        text = trace.requirement.text.replace("|", "\\|")
        lines.append(f"| {trace.requirement.id} | {text} | {trace.status} | {tests or '-'} |")
    return "\n".join(lines) + "\n"
