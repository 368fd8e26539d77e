"""docker-compose.yml and the Dockerfile, checked statically (no Docker engine here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from exam.database import resolve_database

from .paths import ROOT

SERVE = ["python", "-m", "exam", "serve", "--host", "0.0.0.0"]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml, parsed."""
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def env_file(path: Path) -> dict[str, str]:
    """The KEY=value lines of an env file (comments and blank lines skipped)."""
    lines = path.read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {key: value for key, value in pairs}


@pytest.mark.req("P4.DOCKER.1")
def test_compose_runs_a_database_and_the_api(compose: dict[str, Any]) -> None:
    """Among the services: db from the postgres:16 image, api built from the Dockerfile here."""
    services = compose["services"]

    assert {"api", "db"} <= services.keys()
    assert services["db"]["image"] == "postgres:16"
    assert services["api"]["build"] == "."
    assert (ROOT / "Dockerfile").is_file()


@pytest.mark.req("P4.DOCKER.1")
def test_the_database_is_checked_with_pg_isready_and_kept_in_a_named_volume(
    compose: dict[str, Any],
) -> None:
    """db reports healthy once pg_isready succeeds; its data lives in the pgdata volume."""
    db = compose["services"]["db"]

    assert db["healthcheck"]["test"][0] == "CMD-SHELL"
    assert db["healthcheck"]["test"][1].startswith("pg_isready ")
    assert db["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert compose["volumes"]["pgdata"] is None


@pytest.mark.req("P4.DOCKER.1")
def test_the_api_starts_after_a_healthy_database_on_port_8000(compose: dict[str, Any]) -> None:
    """api waits for db's healthcheck and publishes the served port."""
    api = compose["services"]["api"]

    assert api["depends_on"]["db"] == {"condition": "service_healthy"}
    assert api["ports"] == ["8000:8000"]


@pytest.mark.req("P4.DOCKER.1")
def test_both_services_read_the_env_file_and_the_api_url_names_the_db_service(
    compose: dict[str, Any],
) -> None:
    """One env file: the role PostgreSQL creates is the one DATABASE_URL logs in with."""
    env = env_file(ROOT / "compose.env")
    database = resolve_database(env["DATABASE_URL"], pgdata=ROOT / "unused").settings

    assert [compose["services"][name]["env_file"] for name in ("api", "db")] == ["compose.env"] * 2
    assert (database["HOST"], database["PORT"]) == ("db", 5432)
    assert (database["NAME"], database["USER"], database["PASSWORD"]) == (
        env["POSTGRES_DB"],
        env["POSTGRES_USER"],
        env["POSTGRES_PASSWORD"],
    )
    assert "api" in env["EXAM_ALLOWED_HOSTS"].split(",")


@pytest.mark.req("P4.DOCKER.1")
def test_the_image_serves_the_api_on_every_interface(compose: dict[str, Any]) -> None:
    """The Dockerfile's CMD is python -m exam serve --host 0.0.0.0, on the exposed port."""
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    cmd = [json.loads(line.removeprefix("CMD ")) for line in lines if line.startswith("CMD ")]

    assert cmd == [SERVE]
    assert "EXPOSE 8000" in lines
    assert "command" not in compose["services"]["api"]
