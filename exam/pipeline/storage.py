"""Object storage: Django's storage API, a local folder by default, S3 by configuration.

Originals are stored exactly as received, under ``originals/<sha256>``;
derived objects under a key holding the attempt that wrote them.  Storage
backends report failures with their own exception types; :data:`STORAGE_ERRORS`
gathers those of the backends this project configures, so callers can tell a
storage outage (retry later) from a bug.
"""

from __future__ import annotations

STORAGE_ERRORS: tuple[type[Exception], ...] = (OSError,)
try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass
else:  # pragma: no cover - only with boto3 installed, for django-storages' S3 backend
    STORAGE_ERRORS += (BotoCoreError, ClientError)
