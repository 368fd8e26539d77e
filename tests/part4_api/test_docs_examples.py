"""docs/part4-api.md's curl examples, run verbatim against a served API."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

import pytest
from django.db import connection

from .paths import ROOT
from .served import database_url, environment, served_api

pytestmark = pytest.mark.django_db(transaction=True)

DOCS_API = "http://127.0.0.1:8000"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


@dataclass(frozen=True)
class Example:
    """One ```console block: a command and the output the page shows for it."""

    command: str
    output: str


def readme_examples() -> list[Example]:
    """The console blocks of docs/part4-api.md, in order."""
    section = (ROOT / "docs" / "part4-api.md").read_text(encoding="utf-8")
    examples = []
    for block in re.findall(r"```console\n(.*?)```", section, flags=re.DOTALL):
        command, _, output = block.partition("\n")
        examples.append(Example(command.removeprefix("$ "), output))
    return examples


def comparable(text: str) -> str:
    """``text`` with the parts that change from run to run (timestamps) masked."""
    return TIMESTAMP.sub("<timestamp>", text)


def endpoint(command: str) -> tuple[str, str]:
    """The method and the route a curl command calls, ids shown as ``<id>``."""
    method = re.search(r"-X (\w+)", command)
    path = re.search(r'"\$API(/[^"?]*)', command)
    assert path is not None, command
    route = re.sub(r"^/api/elements/[^/]+/$", "/api/elements/<id>/", path.group(1))
    return (method.group(1) if method else "GET", route)


@pytest.mark.req("P4.CLI.3")
def test_the_readme_has_a_curl_example_for_every_endpoint() -> None:
    """Every verb of both endpoints, the schema and the docs have an example."""
    commands = [example.command for example in readme_examples()]

    assert all(command.startswith("curl ") for command in commands)
    assert {endpoint(command) for command in commands} == {
        ("POST", "/api/elements/"),
        ("GET", "/api/elements/"),
        ("GET", "/api/elements/<id>/"),
        ("PUT", "/api/elements/<id>/"),
        ("PATCH", "/api/elements/<id>/"),
        ("DELETE", "/api/elements/<id>/"),
        ("GET", "/api/schema/"),
        ("GET", "/api/docs/"),
    }


@pytest.mark.slow
@pytest.mark.req("P4.CLI.3", "P4.CLI.1")
def test_the_readme_curl_examples_give_the_output_the_readme_shows() -> None:
    """Each example, run in order against a fresh server, prints what the page shows."""
    curl = shutil.which("curl")
    assert curl is not None, "curl is needed (.ci/run installs it)"
    env = environment(DATABASE_URL=database_url(connection.settings_dict))
    examples = readme_examples()

    with served_api(env) as served:
        outputs = [
            subprocess.run(
                ["bash", "-c", example.command],
                cwd=ROOT,
                env=env | {"API": served.url},
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout.replace(served.url, DOCS_API)
            for example in examples
        ]
        code = served.stop()

    assert code == 0
    assert [comparable(output) for output in outputs] == [
        comparable(example.output) for example in examples
    ]
