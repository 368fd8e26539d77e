"""Mutation testing of the core modules with mutmut, and the score per module.

``tox -e mutation`` (or ``python tools/mutation.py [MODULE ...]``) runs mutmut
on the modules named (default: every module of :data:`CORE`) and prints each
module's score: the share of its mutants that a test kills (a timeout counts
as killed), leaving out the mutants listed in ``tests/mutation_equivalents.toml``
with the reason each cannot be killed.  It exits 1 when a module scores below
:data:`TARGET`, or when a listed mutant is killed after all (the list is stale).

mutmut runs each mutant against only the tests that call the mutated function,
which it learns from one run of the suite (``[mutmut]`` in ``setup.cfg``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "tests" / "mutation_equivalents.toml"
CORE = (
    "exam.files",
    "exam.dicom_io",
    "exam.records",
    "exam.elements",
    "exam.threads",
    "exam.api.services",
    "exam.api.serializers",
)
TARGET = 0.85
#: mutmut's exit codes that mean a test (or the type checker) caught the mutant.
CAUGHT = {
    1: "killed",
    3: "killed",
    36: "timeout",
    -24: "timeout",
    24: "timeout",
    152: "timeout",
    255: "timeout",
    -11: "segfault",
    -9: "segfault",
    37: "type check",
}


def equivalents() -> dict[str, str]:
    """The mutants listed as equivalent: name -> why no test can tell them apart."""
    table = tomllib.loads(EQUIVALENTS.read_text(encoding="utf-8"))
    return {entry["mutant"]: entry["reason"] for entry in table.get("equivalent", [])}


def results(module: str) -> dict[str, int | None]:
    """Each mutant of ``module`` -> mutmut's exit code (None: not run)."""
    meta = ROOT / "mutants" / (module.replace(".", "/") + ".py.meta")
    exit_codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    return exit_codes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", default=list(CORE), help="dotted module names")
    parser.add_argument("--report-only", action="store_true", help="score the last run only")
    args = parser.parse_args(argv)
    if not args.report_only:
        patterns = [f"{module}.*" for module in args.modules]
        subprocess.run([sys.executable, "-m", "mutmut", "run", *patterns], cwd=ROOT, check=True)
    listed = equivalents()
    ok = True
    print(f"{'module':<24} {'mutants':>7} {'killed':>6} {'equivalent':>10} {'survived':>8} score")
    for module in args.modules:
        codes = results(module)
        outcome = Counter(
            "equivalent"
            if name in listed and code not in CAUGHT
            else "caught"
            if code in CAUGHT
            else "survived"
            for name, code in codes.items()
        )
        stale = sorted(name for name in listed if name in codes and codes[name] in CAUGHT)
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
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
