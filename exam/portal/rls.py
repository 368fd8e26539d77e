"""Row-level security: every portal read runs as the portal's role, scoped to one user.

The ``portal`` alias (:mod:`exam.portal.backend`) logs in as a role without
BYPASSRLS; the policies of ``exam/pipeline/migrations/0003_row_level_security.py``
show it the rows whose owner is ``exam.owner_id``, every row when
``exam.staff`` is on, and none when neither is set.  :func:`scoped` opens a
transaction on that alias and sets both with ``set_config(..., true)``: local
to the transaction, so they end with it and never reach the next transaction
on the same pooled connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib.auth.models import User
from django.db import connections, transaction

#: The database alias of the portal's role.
ALIAS = "portal"


@contextmanager
def scoped(user: User) -> Iterator[str]:
    """A transaction on the portal's alias in which ``user``'s rows (staff: all) are visible.

    Yields the alias to pass to ``.using()``.
    """
    with transaction.atomic(using=ALIAS):
        with connections[ALIAS].cursor() as cursor:
            cursor.execute(
                "SELECT set_config('exam.owner_id', %s, true), set_config('exam.staff', %s, true)",
                [str(user.pk), "on" if user.is_staff else "off"],
            )
        yield ALIAS
