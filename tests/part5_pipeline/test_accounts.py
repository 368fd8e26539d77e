"""``python -m exam createuser`` and ``token``: the accounts that own uploads, from the shell."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from .conftest import database_url

pytestmark = [pytest.mark.slow]


@pytest.fixture
def env(transactional_db: None, settings: Any) -> dict[str, str]:
    """The commands' environment: the test database, no password given.

    The commands hash with Argon2 (the production settings); this process
    learns to check such hashes too.
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "exam.api.settings",
        "DATABASE_URL": database_url(),
    }
    environment.pop("EXAM_PASSWORD", None)
    return environment


def exam(env: dict[str, str], *arguments: str, **options: Any) -> subprocess.CompletedProcess[str]:
    """Run ``python -m exam ARGUMENTS`` to its end."""
    return subprocess.run(
        [sys.executable, "-m", "exam", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **options,
    )


def at_a_terminal(env: dict[str, str], typed: bytes, *arguments: str) -> tuple[int, str]:
    """Run ``python -m exam ARGUMENTS`` on a terminal of its own, typing ``typed`` at its prompt.

    Returns the exit status and everything the terminal showed.
    """
    pid, terminal = pty.fork()
    if pid == 0:  # pragma: no cover - the child becomes the command
        os.execve(sys.executable, [sys.executable, "-m", "exam", *arguments], env)
    shown = b""
    deadline = time.monotonic() + 120
    while b"Password for" not in shown:
        assert time.monotonic() < deadline, f"no prompt; the terminal showed {shown!r}"
        shown += os.read(terminal, 1024)
    os.write(terminal, typed)
    while True:
        try:
            output = os.read(terminal, 1024)
        except OSError:  # the command ended and closed the terminal
            break
        if not output:
            break
        shown += output
    os.close(terminal)
    _, code = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(code), shown.decode()


class TestCreateUser:
    """python -m exam createuser NAME [--staff]."""

    @pytest.mark.req("P5.PIPE.ACCOUNTS.1")
    def test_the_password_comes_from_exam_password(self, env: dict[str, str]) -> None:
        """EXAM_PASSWORD set: the account is made with it, not staff; nothing is printed."""
        done = exam(env | {"EXAM_PASSWORD": "correct horse"}, "createuser", "alice")
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
        user = User.objects.get(username="alice")
        assert (user.check_password("correct horse"), user.is_staff) == (True, False)
        assert user.password.startswith("argon2$")

    @pytest.mark.req("P5.PIPE.ACCOUNTS.1")
    def test_without_exam_password_the_password_is_typed_at_a_prompt_unechoed(
        self, env: dict[str, str]
    ) -> None:
        """At a terminal the command asks for the password and does not show what is typed."""
        code, shown = at_a_terminal(env, b"typed secret\n", "createuser", "bob")
        assert code == 0
        assert shown.strip() == "Password for bob:"
        assert User.objects.get(username="bob").check_password("typed secret")

    @pytest.mark.req("P5.PIPE.ACCOUNTS.1")
    def test_an_existing_account_gets_the_new_password(self, env: dict[str, str]) -> None:
        """Run twice: still one account, and only the second password works."""
        exam(env | {"EXAM_PASSWORD": "first one"}, "createuser", "alice")
        again = exam(env | {"EXAM_PASSWORD": "second one"}, "createuser", "alice")
        assert again.returncode == 0
        (user,) = User.objects.filter(username="alice")
        assert (user.check_password("second one"), user.check_password("first one")) == (
            True,
            False,
        )

    @pytest.mark.req("P5.PIPE.ACCOUNTS.1")
    def test_staff_makes_a_staff_account_that_a_password_reset_keeps(
        self, env: dict[str, str]
    ) -> None:
        """--staff makes it staff; running again without --staff changes the password only."""
        exam(env | {"EXAM_PASSWORD": "first one"}, "createuser", "carol", "--staff")
        assert User.objects.get(username="carol").is_staff
        exam(env | {"EXAM_PASSWORD": "second one"}, "createuser", "carol")
        user = User.objects.get(username="carol")
        assert (user.is_staff, user.check_password("second one")) == (True, True)

    @pytest.mark.req("P5.PIPE.ACCOUNTS.1")
    def test_no_password_at_all_fails_with_an_error(self, env: dict[str, str]) -> None:
        """No EXAM_PASSWORD and no terminal, standard input empty: exit 1, no account."""
        done = exam(env, "createuser", "dave", stdin=subprocess.DEVNULL)
        assert done.returncode == 1
        # getpass prompts on stderr when there is no terminal; the error follows.
        assert done.stderr.endswith(
            "ERROR: an empty password is not allowed (set EXAM_PASSWORD or type one)\n"
        )
        assert not User.objects.filter(username="dave").exists()


class TestToken:
    """python -m exam token NAME."""

    @pytest.mark.req("P5.PIPE.ACCOUNTS.1")
    def test_the_token_is_the_last_line_and_the_same_each_time(self, env: dict[str, str]) -> None:
        """The account's API token is printed as the last line; a second call prints it again."""
        User.objects.create_user("alice", password="correct horse")
        first = exam(env, "token", "alice")
        second = exam(env, "token", "alice")
        assert (first.returncode, second.returncode) == (0, 0)
        token = Token.objects.get(user__username="alice").key
        assert first.stdout.splitlines()[-1] == second.stdout.splitlines()[-1] == token

    @pytest.mark.req("P5.PIPE.ACCOUNTS.1")
    def test_an_unknown_account_fails_with_a_logged_error(self, env: dict[str, str]) -> None:
        """No such account: exit 1, nothing on stdout, the error on stderr, no token made."""
        done = exam(env, "token", "nobody")
        assert (done.returncode, done.stdout) == (1, "")
        assert done.stderr.splitlines() == [
            "ERROR: no account named 'nobody' (create it with python -m exam createuser)"
        ]
        assert not Token.objects.exists()
