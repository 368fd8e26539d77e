"""WSGI entry point: ``exam.api.wsgi:application`` for any WSGI server.

``python -m exam serve`` runs it with gunicorn after starting the database;
another server must have the database configured (``DATABASE_URL``) and the
migrations applied first.
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exam.api.settings")

application = get_wsgi_application()
