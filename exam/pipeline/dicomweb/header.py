"""What an instance row keeps of its header for DICOMweb: numbers to match on, and DICOM JSON.

The header is kept as DICOM JSON (PS3.18 Annex F) without bulk data: binary
values longer than :data:`BULK_DATA_BYTES` are left out, pixel data is never
read.  QIDO-RS and WADO-RS metadata answer from it.
"""

from __future__ import annotations

from typing import Any

from pydicom import Dataset
from pydicom.dataelem import DataElement

from exam.dicom_io import unchecked_values

#: Binary values (OB, OW, UN ...) longer than this are bulk data, left out of the stored header.
BULK_DATA_BYTES = 1024
#: What pydicom's JSON encoder writes for bulk data here, so that it can be dropped.
_BULK = "bulk-data-left-out"
#: The range of the database's integer columns.
_INT32 = range(-(2**31), 2**31)


def header_fields(header: Dataset) -> dict[str, Any]:
    """The Instance fields taken from ``header``: accession and series/instance numbers, JSON."""
    return {
        "accession_number": str(header.get("AccessionNumber") or "")[:16],
        "series_number": _number(header, "SeriesNumber"),
        "instance_number": _number(header, "InstanceNumber"),
        "header": dicom_json(header),
    }


def dicom_json(header: Dataset) -> dict[str, Any]:
    """``header`` as DICOM JSON, bulk data left out; elements pydicom cannot encode are skipped.

    Element by element, as ``to_json_dict(suppress_invalid_tags=True)`` does,
    but without its ``strict_reading``: that switches pydicom's process-wide
    validation to RAISE, which another thread's reading could then keep (and
    its log line quotes the value).  Values are encoded as found.
    """
    encoded: dict[str, Any] = {}
    with unchecked_values():
        for tag in header.keys():  # noqa: SIM118 -- iterating a Dataset converts its elements
            try:  # converting the raw element can fail too
                encoded[f"{tag:08X}"] = header[tag].to_json_dict(
                    bulk_data_element_handler=_bulk, bulk_data_threshold=BULK_DATA_BYTES
                )
            except Exception:  # any value pydicom cannot encode is left out
                continue
    stored: dict[str, Any] = _without_bulk_data(encoded)
    return stored


def _bulk(element: DataElement) -> str:
    return _BULK


def _without_bulk_data(node: Any) -> Any:
    """Drop the bulk data elements; remove NUL characters, which PostgreSQL's JSON cannot hold."""
    if isinstance(node, dict):
        return {
            key: _without_bulk_data(value)
            for key, value in node.items()
            if not (isinstance(value, dict) and value.get("BulkDataURI") == _BULK)
        }
    if isinstance(node, list):
        return [_without_bulk_data(item) for item in node]
    if isinstance(node, str):
        return node.replace("\x00", "")
    return node


def _number(header: Dataset, keyword: str) -> int | None:
    """The whole number ``keyword`` holds, if it holds one that fits the column."""
    value = header.get(keyword)
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    # pydicom keeps an invalid IS such as "1.5" as its float: not a whole number.
    return number if number == value and number in _INT32 else None
