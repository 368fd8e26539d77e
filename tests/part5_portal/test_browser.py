"""The portal in a real browser: Debian's Chromium, driven by Playwright, against live processes.

A module's worth of tests shares one stack -- ``python -m exam serve`` (gunicorn),
``relay`` and ``worker`` processes on the test database, the embedded Redis
broker and a storage folder -- and each test logs in as a user of its own.
Playwright never downloads a browser here: it launches ``/usr/bin/chromium``
(``.ci/run`` installs it); without it these tests skip, or fail in CI.
Screenshots of each page go to ``reports/screenshots/``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections
from django.test import override_settings
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Route,
    expect,
    sync_playwright,
)

from exam.pipeline.broker import EmbeddedBroker
from tests.part5_pipeline.conftest import Processes, database_url, wait_for
from tests.part5_pipeline.served import Web, served

from .conftest import ROOT, SAMPLE_1, SAMPLE_2, empty_tables

# django_db (no transaction of its own to commit): it has pytest-django set the
# test database up; the module's processes see what the stack fixture committed.
pytestmark = [pytest.mark.slow, pytest.mark.django_db]

CHROMIUM = Path("/usr/bin/chromium")
#: As the machine notes say: headless, no sandbox as root, and nothing that calls home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "reports" / "screenshots"
#: Processing a file end to end takes a second or two; a loaded CI machine, far more.
WAIT_MS = 90_000
USERS = ("alice", "bob", "dave", "erin", "carol")
PASSWORD = "a long enough password"


# pytest-playwright's own fixtures (new_context, its artifacts) run on these three,
# scoped to this module: Playwright's sync API keeps an event loop running in this
# thread, beside which Django's ORM refuses to run, so it must stop with the module.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Playwright, for this module's tests only."""
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium; a skip without it (a failure in CI, which installs it)."""
    if not CHROMIUM.exists():
        reason = f"needs Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def browser_context_args() -> dict[str, Any]:
    """No context options beyond each test's own."""
    return {}


@pytest.fixture(scope="module")
def stack(
    playwright: Playwright,
    django_db_setup: None,
    django_db_blocker: Any,
    redis_broker: EmbeddedBroker,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Web]:
    """The web server, a relay and a worker on the test database, with the module's users.

    It starts after Playwright and stops before it, so that it closes the
    connections the tests opened beside Playwright's loop (Django keeps one per
    context while a loop runs).
    """
    assert connection.settings_dict["NAME"].startswith("test_"), "not the test database"
    storage = tmp_path_factory.mktemp("portal-storage")
    logs = tmp_path_factory.mktemp("portal-logs")
    with django_db_blocker.unblock(), ExitStack() as stack:
        # Playwright's sync API (started first, as a module fixture) runs an event loop
        # in this thread; the ORM calls made around it are synchronous all the same.
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        stack.callback(os.environ.pop, "DJANGO_ALLOW_ASYNC_UNSAFE", None)
        stack.callback(connections.close_all)
        stack.callback(empty_tables)
        ours = sessions()
        stack.callback(
            wait_for, lambda: sessions() <= ours, what="the stack's database sessions to end"
        )
        # The web process checks passwords with the production hashers.
        with override_settings(
            PASSWORD_HASHERS=["django.contrib.auth.hashers.Argon2PasswordHasher"]
        ):
            for name in USERS:
                User.objects.create_user(name, password=PASSWORD, is_staff=name == "carol")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "exam.api.settings",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": redis_broker.url,
            "EXAM_STORAGE_DIR": str(storage),
            "EXAM_PORTAL_POLL_SECONDS": "1",
        }
        processes = Processes(env, logs)
        stack.callback(processes.stop_all)
        processes.relay(sweep_every=5)
        processes.worker("portal")
        yield stack.enter_context(served(env, logs / "web.log", "--log-json"))


def sessions() -> set[int]:
    """The backends on the test database, but the one asking."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {pid for (pid,) in cursor.fetchall()}


def screenshot(page: Page, name: str) -> None:
    """Save the whole page as reports/screenshots/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def log_in(context: BrowserContext, web: Web, username: str) -> Page:
    """A page of ``context`` logged in as ``username`` through the log-in form, on My jobs."""
    page = context.new_page()
    page.goto(f"{web.url}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My jobs", level=1)).to_be_visible()
    return page


def upload(page: Page, *paths: Path) -> None:
    """Choose ``paths`` in the DICOM files field, press Upload, wait for every outcome."""
    page.get_by_label("DICOM files").set_input_files([str(path) for path in paths])
    page.get_by_role("button", name="Upload").click()
    outcomes = page.locator("#upload-list li .outcome")
    expect(outcomes).to_have_count(len(paths))
    for index in range(len(paths)):
        expect(outcomes.nth(index)).not_to_have_text("waiting to send", timeout=WAIT_MS)
        expect(outcomes.nth(index)).not_to_have_text("sending", timeout=WAIT_MS)


def row(page: Page, filename: str) -> Any:
    """The jobs table's row of the file ``filename``."""
    return page.locator("#job-rows tr", has_text=filename)


def status_of(page: Page, filename: str) -> Any:
    """The status cell's label of ``filename``'s row."""
    return row(page, filename).locator(".status")


def mark_loaded(page: Page) -> None:
    """Leave a mark in the page's window: it is gone if the page reloads."""
    page.evaluate("window.loadedOnce = true")


def still_loaded(page: Page) -> bool:
    """Whether the mark :func:`mark_loaded` left is still there (no reload happened)."""
    return bool(page.evaluate("window.loadedOnce === true"))


@pytest.mark.req("P5.PORTAL.E2E.1")
def test_upload_two_files_watch_them_succeed_and_open_a_result(
    stack: Web, new_context: Callable[..., BrowserContext]
) -> None:
    """Two uploads become succeeded live; the result shows its preview and histogram."""
    context = new_context(viewport={"width": 1280, "height": 900})
    anonymous = context.new_page()
    anonymous.goto(f"{stack.url}/")
    screenshot(anonymous, "login")
    anonymous.close()
    page = log_in(context, stack, "alice")
    expect(page.locator("#live-status")).to_have_text("Live updates: on.")
    mark_loaded(page)
    upload(page, SAMPLE_1, SAMPLE_2)
    items = page.locator("#upload-list li")
    assert [items.nth(i).locator(".outcome").inner_text().split(":")[0] for i in range(2)] == [
        "accepted",
        "accepted",
    ]
    progress = page.eval_on_selector_all(
        "#upload-list progress", "bars => bars.map(bar => bar.value === bar.max && bar.max > 0)"
    )
    assert progress == [True, True]
    for sample in (SAMPLE_1, SAMPLE_2):
        expect(status_of(page, sample.name)).to_have_text("succeeded", timeout=WAIT_MS)
    assert still_loaded(page)
    screenshot(page, "jobs")

    page.get_by_role("link", name=f"Open result of {SAMPLE_1.name}").click()
    expect(page.get_by_role("heading", name="Result", level=1)).to_be_visible()
    preview = page.get_by_role("img", name=f"Preview of the middle frame of {SAMPLE_1.name}")
    expect(preview).to_be_visible()
    page.wait_for_function("document.querySelector('img.preview').complete")
    assert preview.evaluate("image => image.naturalWidth") > 0
    histogram = page.get_by_role("img", name="Histogram of pixel values", exact=False)
    expect(histogram).to_be_visible()
    expect(histogram.locator("rect.bar")).to_have_count(64)
    screenshot(page, "result")


@pytest.mark.req("P5.PORTAL.E2E.2")
def test_with_the_event_stream_blocked_polling_reaches_the_final_state(
    stack: Web, new_context: Callable[..., BrowserContext]
) -> None:
    """The stream's requests fail; the page says it polls, and the job still shows succeeded."""
    context = new_context(viewport={"width": 1280, "height": 900})
    blocked: list[str] = []

    def refuse(route: Route) -> None:
        blocked.append(route.request.url)
        route.abort()

    context.route(lambda url: "/jobs/events/" in url, refuse)
    page = log_in(context, stack, "bob")
    expect(page.locator("#live-status")).to_have_text(
        "Live updates interrupted: checking every 1 seconds."
    )
    mark_loaded(page)
    upload(page, SAMPLE_1)
    expect(status_of(page, SAMPLE_1.name)).to_have_text("succeeded", timeout=WAIT_MS)
    assert (still_loaded(page), len(blocked) >= 1) == (True, True)
    screenshot(page, "jobs-polling")


@pytest.mark.req("P5.PORTAL.E2E.3")
def test_another_user_gets_404_for_a_result_url(
    stack: Web, new_context: Callable[..., BrowserContext]
) -> None:
    """Erin opening dave's result URL gets the not-found page, with status 404."""
    page = log_in(new_context(), stack, "dave")
    upload(page, SAMPLE_2)
    expect(status_of(page, SAMPLE_2.name)).to_have_text("succeeded", timeout=WAIT_MS)
    url = page.get_by_role("link", name=f"Open result of {SAMPLE_2.name}").get_attribute("href")
    other = log_in(new_context(), stack, "erin")
    response = other.goto(f"{stack.url}{url}")
    assert response is not None
    assert response.status == 404
    expect(other.get_by_role("heading", name="Not found", level=1)).to_be_visible()
    screenshot(other, "not-found")


@pytest.mark.req("P5.PORTAL.E2E.3", "P5.PORTAL.A11Y.1")
@pytest.mark.parametrize("width", [390, 1280], ids=["phone", "laptop"])
def test_pages_fit_the_width_and_start_with_the_skip_link(
    stack: Web, new_context: Callable[..., BrowserContext], width: int
) -> None:
    """No page scrolls sideways at the width; Tab first reaches the skip link, outlined."""
    page = log_in(new_context(viewport={"width": width, "height": 800}), stack, "carol")
    upload(page, SAMPLE_1)
    expect(status_of(page, SAMPLE_1.name)).to_have_text("succeeded", timeout=WAIT_MS)
    pages = {"jobs": page.url}
    page.get_by_role("link", name=f"Open result of {SAMPLE_1.name}").click()
    pages["result"] = page.url
    pages["operations"] = f"{stack.url}/operations/"
    for name, url in pages.items():
        page.goto(url)
        if name == "operations":
            expect(page.locator("#workers table")).to_be_visible(timeout=WAIT_MS)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert (name, overflow <= 0) == (name, True)
        screenshot(page, f"{name}-{'phone' if width < 600 else 'laptop'}")
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "[document.activeElement.textContent,"
        " getComputedStyle(document.activeElement).outlineStyle]"
    )
    assert focused == ["Skip to main content", "solid"]
