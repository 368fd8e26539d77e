"""DICOMweb in front of the pipeline: STOW-RS, QIDO-RS and WADO-RS at ``/dicomweb/``.

Every stored part goes through the same :func:`exam.pipeline.ingest.ingest`
as the instances API and the DIMSE gateway; searches and metadata answer from
what ingest stored of each header (:mod:`.header`), never re-reading a file;
retrieval streams the stored originals.  :mod:`.status` maps a refusal to its
DICOM status, shared with the DIMSE gateway.
"""
