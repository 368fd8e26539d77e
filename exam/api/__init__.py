"""Part 4: a REST API for processing results, Django + DRF on PostgreSQL.

One Django project and app in one package: :mod:`exam.api.settings` reads the
environment, :mod:`exam.api.models` holds one row per JSON element,
:mod:`exam.api.services` writes and :mod:`exam.api.selectors` reads, and the
thin views in :mod:`exam.api.views` tie them to HTTP.  The computed fields come
from Part 3's :func:`exam.elements.summarize_element`.
"""
