"""docker-compose.yml and the Dockerfile agree with the project (no Docker engine here).

Nothing here restates the files: each test checks that what one file says
holds in another -- a service's command is one the CLI accepts, the URLs in
compose.env name services and credentials that exist, every reference
resolves.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from exam.cli import build_parser
from exam.database import resolve_database

from .paths import ROOT

pytestmark = pytest.mark.req("P4.DOCKER.1")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml, parsed."""
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    """compose.env's KEY=value lines (comments and blank lines skipped)."""
    lines = (ROOT / "compose.env").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {key: value for key, value in pairs}


def image_command() -> list[str]:
    """The Dockerfile's CMD."""
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    (command,) = [
        json.loads(line.removeprefix("CMD ")) for line in lines if line.startswith("CMD ")
    ]
    return list(command)


def built_services(compose: dict[str, Any]) -> dict[str, list[str]]:
    """Each service built from the Dockerfile, with the command it runs."""
    return {
        name: service.get("command", image_command())
        for name, service in compose["services"].items()
        if service.get("build") == "."
    }


def test_every_built_service_runs_a_command_the_cli_accepts(compose: dict[str, Any]) -> None:
    """Each service's command (or the image's CMD) is python -m exam with valid arguments."""
    commands = built_services(compose)
    assert commands
    for name, command in commands.items():
        assert command[:3] == ["python", "-m", "exam"], name
        build_parser().parse_args(command[3:])


def test_the_served_port_is_the_one_published(compose: dict[str, Any]) -> None:
    """The web service's serve command listens on the port the service publishes."""
    serving = {
        name: command for name, command in built_services(compose).items() if "serve" in command
    }
    for name, command in serving.items():
        port = build_parser().parse_args(command[3:]).port
        assert f"{port}:{port}" in compose["services"][name]["ports"], name


def test_database_url_names_the_db_service_and_the_role_it_creates(env: dict[str, str]) -> None:
    """compose.env's DATABASE_URL logs in to service db as the role POSTGRES_* makes it create."""
    database = resolve_database(env["DATABASE_URL"], pgdata=ROOT / "unused").settings
    assert (database["HOST"], database["PORT"]) == ("db", 5432)
    assert (database["NAME"], database["USER"], database["PASSWORD"]) == (
        env["POSTGRES_DB"],
        env["POSTGRES_USER"],
        env["POSTGRES_PASSWORD"],
    )


def test_broker_url_names_the_rabbitmq_service_and_its_user(
    compose: dict[str, Any], env: dict[str, str]
) -> None:
    """CELERY_BROKER_URL is AMQP to service rabbitmq as the user RABBITMQ_DEFAULT_* creates."""
    url = urlsplit(env["CELERY_BROKER_URL"])
    assert (url.scheme, url.hostname, url.port) == ("amqp", "rabbitmq", 5672)
    assert (url.username, url.password) == (
        env["RABBITMQ_DEFAULT_USER"],
        env["RABBITMQ_DEFAULT_PASS"],
    )
    assert url.hostname in compose["services"]


def test_every_reference_resolves(compose: dict[str, Any]) -> None:
    """Every depends_on names a service, every volume a declared one, every env file exists."""
    services = compose["services"]
    for name, service in services.items():
        assert set(service.get("depends_on", {})) <= set(services), name
        volumes = {mount.split(":")[0] for mount in service.get("volumes", [])}
        assert volumes <= set(compose.get("volumes", {})), name
        assert (ROOT / service["env_file"]).is_file(), name


def test_every_pipeline_process_shares_the_objects_folder(
    compose: dict[str, Any], env: dict[str, str]
) -> None:
    """Each built service mounts one and the same volume at EXAM_STORAGE_DIR."""
    mounts = {
        name: [
            m
            for m in compose["services"][name].get("volumes", [])
            if m.endswith(":" + env["EXAM_STORAGE_DIR"])
        ]
        for name in built_services(compose)
    }
    assert {name: len(found) for name, found in mounts.items()} == dict.fromkeys(mounts, 1)
    assert len({found[0] for found in mounts.values()}) == 1


def test_allowed_hosts_admit_the_web_service_s_name(
    compose: dict[str, Any], env: dict[str, str]
) -> None:
    """Containers reach the API by its service name, which EXAM_ALLOWED_HOSTS must accept."""
    serving = [name for name, command in built_services(compose).items() if "serve" in command]
    assert serving
    assert set(serving) <= set(env["EXAM_ALLOWED_HOSTS"].split(","))
