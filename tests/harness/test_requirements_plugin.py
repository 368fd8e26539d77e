"""The requirement-traceability plugin (tests/plugins/requirements.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

REQUIREMENTS = """
[[requirement]]
id = "R.1"
text = "first | with a pipe"

[[requirement]]
id = "R.2"
text = "second"
"""

PASSING_BOTH = """
import pytest

@pytest.mark.req("R.1")
def test_one():
    assert True

@pytest.mark.req("R.2")
def test_two():
    assert True
"""


#: The inner sessions load only the plugin under test: no Django, no browser fixtures
#: (pytest-playwright's soft assertions refuse to nest in a session inside a session).
ISOLATED = ("-p", "no:django", "-p", "no:playwright", "-p", "no:base_url")


@pytest.fixture
def run(pytester: pytest.Pytester):
    """Run an inner pytest session with the plugin and a two-requirement list."""
    requirements = pytester.path / "requirements.toml"
    requirements.write_text(REQUIREMENTS, encoding="utf-8")

    def _run(source: str, *args: str) -> pytest.RunResult:
        pytester.makepyfile(test_inner=source)
        return pytester.runpytest_inprocess(
            *ISOLATED,
            "-p",
            "tests.plugins.requirements",
            f"--requirements-file={requirements}",
            "--requirements-report=report.md",
            *args,
        )

    return _run


def report_of(pytester: pytest.Pytester) -> str:
    return (pytester.path / "report.md").read_text(encoding="utf-8")


@pytest.mark.req("H.REQ.1")
def test_unknown_requirement_id_stops_the_run_naming_it(run) -> None:
    """A test naming an unlisted ID is a usage error that names the ID and the test."""
    result = run('import pytest\n@pytest.mark.req("R.9")\ndef test_x():\n    pass\n')
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*tests name unknown requirement IDs:*", "*R.9: test_inner.py::test_x*"]
    )


@pytest.mark.req("H.REQ.2")
def test_check_passes_when_every_requirement_has_a_passing_test(run) -> None:
    """With --requirements-check a run verifying every requirement exits 0."""
    result = run(PASSING_BOTH, "--requirements-check")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["2 of 2 requirements verified"])


@pytest.mark.req("H.REQ.2")
def test_check_fails_when_a_requirement_has_no_test(run) -> None:
    """A listed requirement no test names fails the run, and the summary names it."""
    result = run(
        'import pytest\n@pytest.mark.req("R.1")\ndef test_one():\n    pass\n',
        "--requirements-check",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["1 of 2 requirements verified", "NOT VERIFIED R.2 (untested): second"]
    )


@pytest.mark.req("H.REQ.2")
def test_check_fails_when_the_only_test_of_a_requirement_is_skipped(run) -> None:
    """A skipped test verifies nothing."""
    source = PASSING_BOTH.replace(
        "def test_two():", '@pytest.mark.skip(reason="x")\ndef test_two():'
    )
    result = run(source, "--requirements-check")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["NOT VERIFIED R.2 (not run): second"])


@pytest.mark.req("H.REQ.2")
def test_check_fails_when_one_of_several_tests_fails(run) -> None:
    """One failing test marks its requirement FAILED even if another test of it passed."""
    source = PASSING_BOTH + '\n@pytest.mark.req("R.2")\ndef test_three():\n    assert False\n'
    result = run(source, "--requirements-check")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["NOT VERIFIED R.2 (FAILED): second"])


@pytest.mark.req("H.REQ.2")
def test_without_check_an_untested_requirement_does_not_fail_a_partial_run(run) -> None:
    """Running a subset of the suite without --requirements-check is not a failure."""
    result = run('import pytest\n@pytest.mark.req("R.1")\ndef test_one():\n    pass\n')
    assert result.ret == pytest.ExitCode.OK


@pytest.mark.req("H.REQ.2")
def test_a_requirement_listed_twice_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """Duplicate IDs in the requirement list stop the run."""
    requirements = pytester.path / "requirements.toml"
    requirements.write_text(REQUIREMENTS + '\n[[requirement]]\nid = "R.1"\ntext = "again"\n')
    pytester.makepyfile(test_inner="def test_x():\n    pass\n")
    result = pytester.runpytest_inprocess(
        *ISOLATED, "-p", "tests.plugins.requirements", f"--requirements-file={requirements}"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*requirement R.1 is listed twice in {requirements}*"])


@pytest.mark.req("H.REQ.3")
def test_report_lists_each_requirement_with_its_tests_and_outcome(
    run, pytester: pytest.Pytester
) -> None:
    """The Markdown report has one row per requirement, pipes escaped, tests with outcomes."""
    source = PASSING_BOTH + '\n@pytest.mark.req("R.2")\ndef test_three():\n    assert False\n'
    run(source)
    assert report_of(pytester) == (
        "# Requirements report\n"
        "\n"
        "1 of 2 requirements verified.\n"
        "\n"
        "| ID | Requirement | Status | Tests |\n"
        "| --- | --- | --- | --- |\n"
        "| R.1 | first \\| with a pipe | verified | `test_inner.py::test_one` passed |\n"
        "| R.2 | second | FAILED | `test_inner.py::test_three` failed<br>"
        "`test_inner.py::test_two` passed |\n"
    )


@pytest.mark.req("H.REQ.3")
def test_report_marks_a_requirement_without_tests_untested(run, pytester: pytest.Pytester) -> None:
    """A requirement no test names is reported as untested with no tests."""
    run('import pytest\n@pytest.mark.req("R.1")\ndef test_one():\n    pass\n')
    assert report_of(pytester).splitlines()[-1] == "| R.2 | second | untested | - |"


@pytest.mark.req("H.REQ.3")
def test_a_failing_fixture_counts_as_a_failed_test(run, pytester: pytest.Pytester) -> None:
    """An error in setup marks the test failed in the report."""
    source = (
        "import pytest\n"
        "@pytest.fixture\ndef broken():\n    raise RuntimeError('x')\n"
        '@pytest.mark.req("R.1")\ndef test_one(broken):\n    pass\n'
    )
    run(source)
    assert "| R.1 | first \\| with a pipe | FAILED | `test_inner.py::test_one` failed |" in (
        report_of(pytester)
    )


def test_every_listed_requirement_has_an_id_and_text() -> None:
    """The project's own requirement list loads: IDs unique, texts non-empty."""
    from tests.plugins.requirements import DEFAULT_REQUIREMENTS, load_requirements

    requirements = load_requirements(Path(DEFAULT_REQUIREMENTS))
    assert requirements
    assert all(r.id and r.text.strip() for r in requirements)


NEEDS_CHROMIUM = """
[[requirement]]
id = "R.1"
text = "rendered in a browser"
needs = "Chromium"
"""
SKIPPED_FOR_WANT_OF_CHROMIUM = (
    "import pytest\n"
    '@pytest.mark.req("R.1")\n'
    "def test_render():\n"
    '    pytest.skip("no Chromium here")\n'
)


@pytest.fixture
def run_needing_chromium(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """Run an inner session whose one requirement needs Chromium and whose test skips."""
    requirements = pytester.path / "requirements.toml"
    requirements.write_text(NEEDS_CHROMIUM, encoding="utf-8")
    pytester.makepyfile(test_inner=SKIPPED_FOR_WANT_OF_CHROMIUM)

    def _run(ci: str | None) -> pytest.RunResult:
        if ci is None:
            monkeypatch.delenv("CI", raising=False)
        else:
            monkeypatch.setenv("CI", ci)
        return pytester.runpytest_inprocess(
            *ISOLATED,
            "-p",
            "tests.plugins.requirements",
            f"--requirements-file={requirements}",
            "--requirements-report=report.md",
            "--requirements-check",
        )

    return _run


@pytest.mark.req("H.REQ.4")
def test_a_requirement_whose_need_is_missing_is_not_run_here_and_passes_the_check(
    run_needing_chromium, pytester: pytest.Pytester
) -> None:
    """Outside CI, skipped tests of a requirement with needs report 'not run here' and pass."""
    result = run_needing_chromium(None)
    assert result.ret == pytest.ExitCode.OK
    assert report_of(pytester).splitlines()[-1] == (
        "| R.1 | rendered in a browser | not run here (needs Chromium) "
        "| `test_inner.py::test_render` skipped |"
    )


@pytest.mark.req("H.REQ.4")
def test_in_ci_a_requirement_whose_tests_skipped_fails_the_check_whatever_it_needs(
    run_needing_chromium, pytester: pytest.Pytester
) -> None:
    """With CI set, the same skipped requirement is 'not run' and fails the check."""
    result = run_needing_chromium("true")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "| R.1 | rendered in a browser | not run |" in report_of(pytester)


WORDED_AT_WARNING = """
[[requirement]]
id = "R.1"
text = "A text column is logged at WARNING and the API answers 404."
"""


@pytest.fixture
def run_worded(pytester: pytest.Pytester):
    """Run an inner checked session whose one requirement names WARNING and 404."""
    requirements = pytester.path / "requirements.toml"
    requirements.write_text(WORDED_AT_WARNING, encoding="utf-8")

    def _run(source: str) -> pytest.RunResult:
        pytester.makepyfile(test_inner=source)
        return pytester.runpytest_inprocess(
            *ISOLATED,
            "-p",
            "tests.plugins.requirements",
            f"--requirements-file={requirements}",
            "--requirements-report=report.md",
            "--requirements-check",
        )

    return _run


@pytest.mark.req("H.REQ.5")
def test_a_level_or_status_the_wording_names_but_no_test_mentions_fails_the_check(
    run_worded,
) -> None:
    """Tests checking INFO for a requirement worded WARNING and 404 fail the run as drift."""
    source = (
        'import pytest\n@pytest.mark.req("R.1")\ndef test_logged():\n    assert "INFO" == "INFO"\n'
    )
    result = run_worded(source)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["DRIFT R.1: its wording names WARNING, 404, which none of its tests mention"]
    )


@pytest.mark.req("H.REQ.5")
def test_tests_that_mention_every_named_level_and_status_pass_the_check(run_worded) -> None:
    """Tests whose source names WARNING and 404 (here in a parametrize table) are no drift."""
    source = (
        "import pytest\n"
        '@pytest.mark.req("R.1")\n'
        '@pytest.mark.parametrize("expected", [("WARNING", 404)])\n'
        "def test_logged(expected):\n"
        "    assert expected\n"
    )
    assert run_worded(source).ret == pytest.ExitCode.OK


@pytest.mark.req("H.REQ.5")
def test_a_level_checked_in_a_helper_the_test_calls_is_no_drift(run_worded) -> None:
    """WARNING and 404 asserted inside a module helper the test calls count as mentioned."""
    source = (
        "import pytest\n"
        "def assert_logged_as_expected():\n"
        '    assert ("WARNING", 404) == ("WARNING", 404)\n'
        '@pytest.mark.req("R.1")\n'
        "def test_logged():\n"
        "    assert_logged_as_expected()\n"
    )
    assert run_worded(source).ret == pytest.ExitCode.OK
