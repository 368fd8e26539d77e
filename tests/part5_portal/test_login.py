"""Logging in and out: one plain message, throttling, Argon2, CSRF and cookie settings."""

from __future__ import annotations

import datetime
import runpy
from typing import Any

import pytest
from django.conf import global_settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework import status

from exam.api import settings as base_settings
from exam.pipeline.models import Job

from .conftest import finished_job, logged_in
from .pages import button, labelled, page, text

LOGIN_URL = "/"
WRONG = "The username or password is not right."


def production_settings() -> dict[str, Any]:
    """The production settings module run afresh under the current environment."""
    return runpy.run_path(base_settings.__file__)


def log_in(client: Client, username: str, password: str, **extra: Any) -> Any:
    """POST the log-in form."""
    return client.post(LOGIN_URL, {"username": username, "password": password}, **extra)


class TestLogIn:
    """Tests for the log-in page at /."""

    @pytest.mark.req("P5.PORTAL.LOGIN.1")
    def test_the_log_in_page_has_labelled_fields_and_a_button(self, db: None) -> None:
        """An anonymous GET / shows the Username and Password fields and the Log in button."""
        soup = page(Client().get(LOGIN_URL))
        assert (labelled(soup, "Username")["autocomplete"], labelled(soup, "Password")["type"]) == (
            "username",
            "password",
        )
        assert button(soup, "Log in")["type"] == "submit"

    @pytest.mark.req("P5.PORTAL.LOGIN.1")
    def test_the_right_credentials_open_my_jobs(self, alice: User) -> None:
        """The right username and password redirect to My jobs, which greets the user."""
        client = Client()
        response = log_in(client, "alice", "correct horse")
        assert (response.status_code, response["Location"]) == (status.HTTP_302_FOUND, "/jobs/")
        soup = page(client.get("/jobs/"))
        assert text(soup.h1) == "My jobs"

    @pytest.mark.req("P5.PORTAL.LOGIN.1")
    @pytest.mark.parametrize(
        ("username", "password"),
        [("alice", "wrong"), ("nobody", "correct horse"), ("nobody", "wrong"), ("", "")],
        ids=["wrong-password", "unknown-user", "both-wrong", "empty"],
    )
    def test_wrong_credentials_get_one_plain_message(
        self, alice: User, username: str, password: str
    ) -> None:
        """Whatever was wrong, the page answers 200 with the same message and no session."""
        client = Client()
        response = log_in(client, username, password)
        alert = page(response).find(role="alert")
        assert (response.status_code, text(alert), "_auth_user_id" in client.session) == (
            status.HTTP_200_OK,
            WRONG if username else "Enter your username and password.",
            False,
        )

    @pytest.mark.req("P5.PORTAL.LOGIN.1")
    def test_a_logged_in_user_at_the_log_in_page_goes_to_my_jobs(self, alice: User) -> None:
        """GET / with a session redirects to My jobs."""
        response = logged_in(alice).get(LOGIN_URL)
        assert (response.status_code, response["Location"]) == (status.HTTP_302_FOUND, "/jobs/")

    @pytest.mark.req("P5.PORTAL.LOGIN.1")
    @pytest.mark.parametrize(
        "path",
        [
            "/jobs/",
            "/jobs/events/",
            "/jobs/updates/",
            "/results/1/",
            "/results/1/preview.png",
            "/results/1/result.json",
            "/results/1/original.dcm",
            "/operations/",
            "/operations/workers/",
        ],
    )
    def test_every_page_sends_an_anonymous_user_to_log_in(self, db: None, path: str) -> None:
        """Without a session every page redirects to the log-in page, naming itself as next."""
        response = Client().get(path)
        assert (response.status_code, response["Location"]) == (
            status.HTTP_302_FOUND,
            f"/?next={path}",
        )

    @pytest.mark.req("P5.PORTAL.LOGIN.1")
    def test_log_in_returns_to_the_page_asked_for(self, alice: User) -> None:
        """After logging in from a redirect, the user lands on the page they asked for."""
        response = Client().post(
            LOGIN_URL, {"username": "alice", "password": "correct horse", "next": "/operations/"}
        )
        assert response["Location"] == "/operations/"


class TestThrottling:
    """Tests for django-axes' lock-out of repeated failures."""

    @pytest.mark.req("P5.PORTAL.LOGIN.2")
    def test_repeated_failures_lock_the_user_out_even_with_the_right_password(
        self, alice: User, settings: Any
    ) -> None:
        """Five failures, then even the right password answers 429 with a plain message."""
        client = Client()
        codes = [
            log_in(client, "alice", "wrong").status_code
            for _ in range(settings.AXES_FAILURE_LIMIT - 1)
        ]
        last = log_in(client, "alice", "wrong")
        right = log_in(client, "alice", "correct horse")
        assert codes == [status.HTTP_200_OK] * (settings.AXES_FAILURE_LIMIT - 1)
        assert (last.status_code, right.status_code) == (
            status.HTTP_429_TOO_MANY_REQUESTS,
            status.HTTP_429_TOO_MANY_REQUESTS,
        )
        assert text(page(right).find(role="alert")) == (
            "Too many failed log-in attempts. Try again later, "
            "or ask your administrator to unblock the account."
        )
        assert "_auth_user_id" not in client.session

    @pytest.mark.req("P5.PORTAL.LOGIN.2")
    def test_the_lock_out_is_per_user_and_address(
        self, alice: User, bob: User, settings: Any
    ) -> None:
        """With alice locked out from one address, bob logs in there and alice from another."""
        for _ in range(settings.AXES_FAILURE_LIMIT):
            log_in(Client(), "alice", "wrong")
        assert log_in(Client(), "bob", "battery staple").status_code == status.HTTP_302_FOUND
        other = log_in(Client(), "alice", "correct horse", REMOTE_ADDR="127.0.0.2")
        assert other.status_code == status.HTTP_302_FOUND

    @pytest.mark.req("P5.PORTAL.LOGIN.2")
    def test_a_success_before_the_limit_resets_the_count(self, alice: User, settings: Any) -> None:
        """Failures followed by a success count from zero again."""
        client = Client()
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            log_in(client, "alice", "wrong")
        assert log_in(client, "alice", "correct horse").status_code == status.HTTP_302_FOUND
        assert log_in(Client(), "alice", "wrong").status_code == status.HTTP_200_OK


class TestSecurity:
    """Tests for password hashing, CSRF and the cookie and session settings."""

    @pytest.mark.req("P5.PORTAL.LOGIN.3")
    def test_passwords_are_hashed_with_argon2id_in_production(self) -> None:
        """The production settings' first hasher makes argon2id hashes that verify."""
        production = production_settings()
        with override_settings(PASSWORD_HASHERS=production["PASSWORD_HASHERS"]):
            hashed = make_password("correct horse")
            assert (hashed.split("$")[:2], check_password("correct horse", hashed)) == (
                ["argon2", "argon2id"],
                True,
            )

    @pytest.mark.req("P5.PORTAL.LOGIN.3")
    @pytest.mark.parametrize(
        ("debug", "secure"), [("", True), ("1", False)], ids=["production", "debug"]
    )
    def test_cookies_are_secure_unless_debugging(
        self, monkeypatch: pytest.MonkeyPatch, debug: str, secure: bool
    ) -> None:
        """Without EXAM_DEBUG both cookies are Secure; both SameSite=Lax, the session HttpOnly."""
        monkeypatch.setenv("EXAM_DEBUG", debug)
        values = production_settings()
        names = (
            "SESSION_COOKIE_SECURE",
            "CSRF_COOKIE_SECURE",
            "SESSION_COOKIE_HTTPONLY",
            "SESSION_COOKIE_SAMESITE",
            "CSRF_COOKIE_SAMESITE",
        )
        assert [values.get(name, getattr(global_settings, name)) for name in names] == [
            secure,
            secure,
            True,
            "Lax",
            "Lax",
        ]

    @pytest.mark.req("P5.PORTAL.LOGIN.3")
    def test_the_session_cookie_carries_the_production_flags(
        self, alice: User, settings: Any
    ) -> None:
        """The session cookie a log-in sets is Secure, HttpOnly and SameSite=Lax."""
        settings.SESSION_COOKIE_SECURE = True
        response = log_in(Client(), "alice", "correct horse")
        cookie = response.cookies[settings.SESSION_COOKIE_NAME]
        assert (cookie["secure"], cookie["httponly"], cookie["samesite"]) == (True, True, "Lax")

    @pytest.mark.req("P5.PORTAL.LOGIN.3")
    def test_a_session_ends_after_the_idle_time(self, alice: User, settings: Any) -> None:
        """Each request moves the expiry EXAM_PORTAL_IDLE_SECONDS ahead; once past, log in again."""
        client = logged_in(alice)
        before = timezone.now()
        client.get("/jobs/")
        session = Session.objects.get()
        idle = datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)
        assert before + idle <= session.expire_date <= timezone.now() + idle
        Session.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
        assert client.get("/jobs/")["Location"] == "/?next=/jobs/"

    @pytest.mark.req("P5.PORTAL.LOGIN.3")
    def test_the_idle_time_comes_from_the_environment(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """EXAM_PORTAL_IDLE_SECONDS sets the session's lifetime without requests."""
        monkeypatch.setenv("EXAM_PORTAL_IDLE_SECONDS", "120")
        assert production_settings()["SESSION_COOKIE_AGE"] == 120

    @pytest.mark.req("P5.PORTAL.LOGIN.3")
    @pytest.mark.parametrize(
        ("path", "body"),
        [
            ("/", {"username": "alice", "password": "correct horse"}),
            ("/logout/", {}),
            ("/jobs/upload/", b"DICM"),
            ("/jobs/{job}/retry/", {}),
        ],
        ids=["log-in", "log-out", "upload", "retry"],
    )
    def test_a_post_without_the_csrf_token_is_refused(
        self, alice: User, path: str, body: Any
    ) -> None:
        """Every form's POST without Django's CSRF token answers 403 and changes nothing."""
        job = finished_job(alice, state="failed")
        client = Client(enforce_csrf_checks=True)
        client.force_login(alice)
        url = path.format(job=job.pk)
        if isinstance(body, bytes):
            response = client.generic("POST", url, body, content_type="application/dicom")
        else:
            response = client.post(url, body)
        assert response.status_code == status.HTTP_403_FORBIDDEN
        assert (
            Job.objects.count(),
            Job.objects.get().state,
            "_auth_user_id" in client.session,
        ) == (
            1,
            "failed",
            True,
        )

    @pytest.mark.req("P5.PORTAL.LOGIN.3")
    def test_a_post_with_the_page_s_csrf_token_is_accepted(self, alice: User) -> None:
        """The token the page carries lets the same POST through."""
        client = Client(enforce_csrf_checks=True)
        token = page(client.get(LOGIN_URL)).find("input", attrs={"name": "csrfmiddlewaretoken"})
        response = client.post(
            LOGIN_URL,
            {
                "username": "alice",
                "password": "correct horse",
                "csrfmiddlewaretoken": token["value"],
            },
        )
        assert response.status_code == status.HTTP_302_FOUND


class TestLogOut:
    """Tests for the Log out button."""

    @pytest.mark.req("P5.PORTAL.LOGIN.4")
    @pytest.mark.parametrize(
        "path",
        ["/jobs/", "/results/{job}/", "/operations/", "/results/0/"],
        ids=["jobs", "result", "operations", "not-found"],
    )
    def test_every_page_has_a_log_out_button(self, carol: User, path: str) -> None:
        """Each page of a logged-in user has a Log out button posting to /logout/."""
        job = finished_job(carol)
        soup = page(logged_in(carol).get(path.format(job=job.pk)))
        form = button(soup, "Log out").find_parent("form")
        assert (form["method"], form["action"]) == ("post", "/logout/")

    @pytest.mark.req("P5.PORTAL.LOGIN.4")
    def test_logging_out_ends_the_session(self, alice: User) -> None:
        """After POST /logout/ the session is gone and My jobs redirects to log in."""
        client = logged_in(alice)
        response = client.post("/logout/")
        assert (response.status_code, response["Location"]) == (status.HTTP_302_FOUND, "/")
        assert Session.objects.count() == 0
        assert client.get("/jobs/")["Location"] == "/?next=/jobs/"
