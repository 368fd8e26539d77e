"""Reference answer to a five-part Python developer test about medical data.

Part 1 :mod:`exam.files` and :mod:`exam.dicom_io`; Part 2 :mod:`exam.records`;
Part 3 :mod:`exam.threads` and :mod:`exam.elements`; Part 4 :mod:`exam.api`.
Logging for all of them is configured in :mod:`exam.logs`.
"""

__version__ = "0.1.0"
