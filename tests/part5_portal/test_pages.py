"""Every page's structure for assistive technology, and assets served by the project itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth.models import User
from django.test import Client
from rest_framework import status

from exam.pipeline.models import Job

from .conftest import finished_job, logged_in
from .pages import page

#: The pages of a logged-in staff user (and of nobody: the log-in page), by name.
PAGES = {
    "log-in": (None, "/"),
    "jobs": ("carol", "/jobs/"),
    "jobs-filtered-wrongly": ("carol", "/jobs/?status=bogus"),
    "result": ("carol", "/results/{job}/"),
    "operations": ("carol", "/operations/"),
    "not-found": ("carol", "/results/0/"),
}


@pytest.fixture
def rendered(carol: User, uploaded: Callable[..., Job]) -> Callable[[str], BeautifulSoup]:
    """Return ``render(name) -> soup`` of each of :data:`PAGES`, with a failed job and a result."""
    job = uploaded(carol)
    finished_job(carol, state="failed", error="bad pixels")

    def render(name: str) -> BeautifulSoup:
        user, path = PAGES[name]
        client = logged_in(carol) if user else Client()
        return page(client.get(path.format(job=job.pk)))

    return render


@pytest.mark.req("P5.PORTAL.A11Y.1")
@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_has_landmarks_a_skip_link_and_one_h1(
    rendered: Callable[[str], BeautifulSoup], name: str
) -> None:
    """Banner, main (the skip link's target) and, when logged in, a named navigation; one h1."""
    soup = rendered(name)
    skip = soup.find("a")
    navigation = [nav["aria-label"] for nav in soup.find_all("nav")]
    assert (skip["href"], soup.select_one(skip["href"]).name) == ("#main", "main")
    assert (len(soup.find_all("header")), len(soup.find_all("main")), len(soup.find_all("h1"))) == (
        1,
        1,
        1,
    )
    assert navigation == ([] if name == "log-in" else ["Main"])
    assert soup.html["lang"] == "en"


@pytest.mark.req("P5.PORTAL.A11Y.1")
@pytest.mark.parametrize("name", list(PAGES))
def test_every_form_control_has_a_label(
    rendered: Callable[[str], BeautifulSoup], name: str
) -> None:
    """Each visible input and select has a <label for> (or aria-label); each button has text."""
    soup = rendered(name)
    labelled = {label["for"] for label in soup.find_all("label")}
    controls = [
        control
        for control in soup.find_all(["input", "select", "textarea"])
        if control.get("type") != "hidden"
    ]
    unnamed = [
        str(control)
        for control in controls
        if control.get("id") not in labelled and not control.get("aria-label")
    ]
    assert (unnamed, [str(b) for b in soup.find_all("button") if not b.get_text(strip=True)]) == (
        [],
        [],
    )


@pytest.mark.req("P5.PORTAL.A11Y.1")
def test_status_icons_are_hidden_beside_their_text(
    rendered: Callable[[str], BeautifulSoup],
) -> None:
    """Every status icon is aria-hidden and unfocusable; its state is written beside it."""
    soup = rendered("jobs")
    statuses = soup.select(".status")
    assert [
        (s.svg["aria-hidden"], s.svg["focusable"], s.get_text(strip=True)) for s in statuses
    ] == [
        ("true", "false", "failed"),
        ("true", "false", "succeeded"),
    ]


def assets(soup: BeautifulSoup) -> list[str]:
    """Every URL a page loads by itself: scripts, stylesheets, images."""
    return sorted(
        {tag["src"] for tag in soup.find_all(["script", "img"]) if tag.get("src")}
        | {tag["href"] for tag in soup.find_all("link") if tag.get("href")}
    )


@pytest.mark.req("P5.PORTAL.A11Y.1")
@pytest.mark.parametrize("name", list(PAGES))
def test_every_asset_comes_from_the_project(
    rendered: Callable[[str], BeautifulSoup], name: str, carol: User
) -> None:
    """Every script, stylesheet and image is a path on this server, and it answers 200."""
    urls = assets(rendered(name))
    client = logged_in(carol)
    answers = {url: client.get(url) for url in urls}
    assert [url for url in urls if not url.startswith("/") or url.startswith("//")] == []
    assert {url: response.status_code for url, response in answers.items()} == {
        url: status.HTTP_200_OK for url in urls
    }
    assert {"/static/portal/portal.css", "/static/portal/portal.js"} <= set(urls)


@pytest.mark.req("P5.PORTAL.A11Y.1")
def test_static_files_are_served_by_whitenoise(db: None) -> None:
    """The stylesheet comes with WhiteNoise's caching headers, not through a view."""
    response: Any = Client().get("/static/portal/portal.css")
    assert (
        response.status_code,
        response["Content-Type"].split(";")[0],
        "max-age" in response["Cache-Control"],
    ) == (
        status.HTTP_200_OK,
        "text/css",
        True,
    )
