"""Mutation testing of the core modules with mutmut, and the score per module.

``tox -e mutation`` (or ``python tools/mutation.py [MODULE ...]``) mutates each
core module and prints its score: the share of its mutants that a test kills
(a timeout counts as killed), leaving out the mutants listed in
``tests/mutation_equivalents.toml`` with the reason each cannot be killed.  It
exits 1 when a module scores below :data:`TARGET`, or when a listed mutant is
killed after all (the list is stale).

Each module is mutated in a copy of the project of its own
(``.mutation/<module>/``), whose ``[mutmut]`` section mutates only that file
and collects only its part's tests (:data:`CORE`); mutmut then runs each
mutant against the tests of that part that call the mutated function.
``--report-only`` prints the scores of the last run again.
"""

from __future__ import annotations

import argparse
import configparser
import json
import shutil
import signal
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"
EQUIVALENTS = ROOT / "tests" / "mutation_equivalents.toml"
#: Each core module and the test folders of its part.
CORE = {
    "exam.files": ["tests/part1_files"],
    "exam.dicom_io": ["tests/part1_files"],
    "exam.records": ["tests/part2_records"],
    "exam.elements": ["tests/part3_threads"],
    "exam.threads": ["tests/part3_threads"],
    "exam.api.services": ["tests/part4_api"],
    "exam.api.serializers": ["tests/part4_api"],
}
TARGET = 0.85
#: Left out of the copies: environments, caches, data of running services.
NOT_COPIED = (
    ".git",
    ".venv",
    ".tox",
    ".mutation",
    "mutants",
    ".pgdata",
    ".storage",
    ".broker",
    "node_modules",
    "reports",
    "__pycache__",
    ".hypothesis",
    ".mypy_cache",
    ".ruff_cache",
    ".data",
)
#: mutmut's exit codes that mean a test (or the type checker) caught the mutant.
CAUGHT = {1, 3, 36, -24, 24, 152, 255, -11, -9, 37}


def equivalents() -> dict[str, str]:
    """The mutants listed as equivalent: name -> why no test can tell them apart."""
    table = tomllib.loads(EQUIVALENTS.read_text(encoding="utf-8"))
    return {entry["mutant"]: entry["reason"] for entry in table.get("equivalent", [])}


def prepare(module: str) -> Path:
    """A fresh copy of the project for ``module``, configured to mutate it alone."""
    copy = WORK / module
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*NOT_COPIED), symlinks=True)
    config = configparser.ConfigParser(interpolation=None)
    config.read(copy / "setup.cfg")
    config["mutmut"]["only_mutate"] = module.replace(".", "/") + ".py"
    config["mutmut"]["pytest_add_cli_args_test_selection"] = "\n".join(["", *CORE[module]])
    with (copy / "setup.cfg").open("w") as file:
        config.write(file)
    return copy


def run(module: str) -> None:
    """Mutate ``module`` in its copy (SIGINT restored: a background shell ignores it)."""
    subprocess.run(
        [sys.executable, "-m", "mutmut", "run"],
        cwd=prepare(module),
        check=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def results(module: str) -> dict[str, int | None]:
    """Each mutant of ``module`` -> mutmut's exit code (None: not run)."""
    meta = WORK / module / "mutants" / (module.replace(".", "/") + ".py.meta")
    exit_codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    return exit_codes


def report(modules: list[str]) -> bool:
    """Print each module's score and its survivors; True when every module meets the target."""
    listed = equivalents()
    ok = True
    print(f"{'module':<24} {'mutants':>7} {'killed':>6} {'equivalent':>10} {'survived':>8} score")
    for module in modules:
        codes = results(module)
        outcome = Counter(
            "caught" if code in CAUGHT else "equivalent" if name in listed else "survived"
            for name, code in codes.items()
        )
        stale = sorted(name for name in listed if codes.get(name) in CAUGHT)
        counted = len(codes) - outcome["equivalent"]
        score = outcome["caught"] / counted if counted else 1.0
        print(
            f"{module:<24} {len(codes):>7} {outcome['caught']:>6} {outcome['equivalent']:>10} "
            f"{outcome['survived']:>8} {score:6.1%}"
        )
        for name in sorted(n for n, c in codes.items() if c not in CAUGHT and n not in listed):
            print(f"    survived: {name}")
        for name in stale:
            print(f"    listed as equivalent but killed: {name}")
        ok = ok and score >= TARGET and not stale
    return ok


def main(argv: list[str] | None = None) -> int:
    """Run mutmut on the modules asked for (all core modules by default) and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "modules", nargs="*", default=list(CORE), choices=list(CORE), metavar="MODULE"
    )
    parser.add_argument("--report-only", action="store_true", help="score the last run only")
    args = parser.parse_args(argv)
    if not args.report_only:
        for module in args.modules:
            run(module)
    return 0 if report(args.modules) else 1


if __name__ == "__main__":
    sys.exit(main())
