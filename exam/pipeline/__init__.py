"""Part 5: the distributed DICOM processing pipeline (ingest, Celery workers, results)."""
