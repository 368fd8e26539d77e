"""QIDO-RS (PS3.18 10.6): studies, a study's series, a series' instances, from the stored rows.

Matching keys are DICOM keywords or tags (``PatientID`` or ``00100020``);
each level takes its own keys and those of the levels above (:data:`KEYS`).
Values match as the standard says: a UID list (``a,b``), single values with
``*`` and ``?`` wildcards, dates and date ranges (``YYYYMMDD``,
``YYYYMMDD-YYYYMMDD``, ``-YYYYMMDD``, ``YYYYMMDD-``), an empty value matches
everything.  Anything else -- a name that is no attribute, an attribute that
is no matching key here, a malformed value -- is a :class:`QueryError`.

Answers are built from what ingest stored: the indexed columns to match on,
and each instance's header as DICOM JSON for the attributes returned (a
study's or series' attributes come from its first stored instance).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count, Min, Q
from django.http import QueryDict
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.valuerep import DA

from exam.pipeline.models import Instance

#: The most results one answer holds (a larger ``limit`` is cut to it).
MAX_RESULTS = 1000
TAG_PATTERN = re.compile(r"[0-9A-Fa-f]{8}")
DATE_PATTERN = re.compile(r"\d{8}")


class QueryError(ValueError):
    """A search the server cannot run; the message says why."""


def _uids(field: str, value: str) -> Q:
    return Q(**{f"{field}__in": [uid.strip() for uid in re.split(r"[,\\]", value)]})


def _text(field: str, value: str) -> Q:
    if "*" not in value and "?" not in value:
        return Q(**{field: value})
    pattern = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in value
    )
    return Q(**{f"{field}__regex": f"^{pattern}$"})


def _number(field: str, value: str) -> Q:
    try:
        return Q(**{field: int(value)})
    except ValueError:
        raise QueryError(f"{value!r} is not a whole number") from None


def _dates(field: str, value: str) -> Q:
    start, dash, end = (part.strip() for part in value.partition("-"))
    if not dash:
        return Q(**{field: _date(value)})
    if not start and not end:
        raise QueryError("a date range needs a start, an end or both")
    lower, upper = (_date(start) if start else None), (_date(end) if end else None)
    if lower is not None and upper is not None and lower > upper:
        raise QueryError(f"the date range {value!r} ends before it starts")
    query = Q()
    if lower is not None:
        query &= Q(**{f"{field}__gte": lower})
    if upper is not None:
        query &= Q(**{f"{field}__lte": upper})
    return query


def _date(text: str) -> datetime.date:
    try:
        if DATE_PATTERN.fullmatch(text):
            value = DA(text)
            assert isinstance(value, datetime.date)
            return value
    except ValueError:
        pass
    raise QueryError(f"{text!r} is not a date (YYYYMMDD)")


@dataclass(frozen=True)
class Key:
    """A matching key: the column (or path into the stored header) it matches, and how."""

    field: str
    match: Callable[[str, str], Q]

    def query(self, value: str) -> Q:
        """The filter for ``value``; an empty value matches everything."""
        return Q() if value == "" else self.match(self.field, value)


STUDY_KEYS = {
    "StudyInstanceUID": Key("study_instance_uid", _uids),
    "PatientID": Key("patient_id", _text),
    "PatientName": Key("header__00100010__Value__0__Alphabetic", _text),
    "StudyDate": Key("study_date", _dates),
    "AccessionNumber": Key("accession_number", _text),
    "ModalitiesInStudy": Key("modality", _uids),
}
SERIES_KEYS = {
    "SeriesInstanceUID": Key("series_instance_uid", _uids),
    "Modality": Key("modality", _uids),
    "SeriesNumber": Key("series_number", _number),
}
INSTANCE_KEYS = {
    "SOPInstanceUID": Key("sop_instance_uid", _uids),
    "SOPClassUID": Key("sop_class_uid", _uids),
    "InstanceNumber": Key("instance_number", _number),
}
#: The matching keys of each level: its own and those of the levels above.
KEYS = {
    "study": STUDY_KEYS,
    "series": STUDY_KEYS | SERIES_KEYS,
    "instance": STUDY_KEYS | SERIES_KEYS | INSTANCE_KEYS,
}
#: The attributes each level returns (PS3.18 Tables 10.6.3-3 to -5), before ``includefield``.
RETURNED = {
    "study": (
        "SpecificCharacterSet",
        "StudyDate",
        "StudyTime",
        "AccessionNumber",
        "ReferringPhysicianName",
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "StudyInstanceUID",
        "StudyID",
    ),
    "series": (
        "SpecificCharacterSet",
        "Modality",
        "SeriesDescription",
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SeriesNumber",
        "PerformedProcedureStepStartDate",
        "PerformedProcedureStepStartTime",
    ),
    "instance": (
        "SpecificCharacterSet",
        "SOPClassUID",
        "SOPInstanceUID",
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "InstanceNumber",
        "Rows",
        "Columns",
        "BitsAllocated",
        "NumberOfFrames",
    ),
}
GROUPED_BY = {"study": "study_instance_uid", "series": "series_instance_uid", "instance": "pk"}


@dataclass(frozen=True)
class Query:
    """A parsed search: the filter, the page and the extra attributes asked for."""

    filter: Q
    limit: int
    offset: int
    include: frozenset[str]
    include_all: bool


def parse(params: QueryDict, level: str) -> Query:
    """The search ``params`` ask for at ``level`` ("study", "series" or "instance").

    Raises
    ------
    QueryError
        An unknown attribute, one that is no matching key at this level, or a malformed value.
    """
    matching, include, include_all = Q(), set(), False
    limit, offset = MAX_RESULTS, 0
    for name, values in params.lists():
        if name == "limit":
            limit = min(_count(name, values[-1]), MAX_RESULTS)
        elif name == "offset":
            offset = _count(name, values[-1])
        elif name == "includefield":
            items = [item.strip() for value in values for item in value.split(",")]
            include_all = include_all or "all" in items
            include |= {_keyword(item) for item in items if item != "all"}
        else:
            keyword = _keyword(name)
            key = KEYS[level].get(keyword)
            if key is None:
                raise QueryError(
                    f"{keyword} is not a matching key for {level} searches here; "
                    f"use {', '.join(KEYS[level])}"
                )
            try:
                matching &= key.query(",".join(values))
            except QueryError as error:
                raise QueryError(f"{keyword}: {error}") from None
    return Query(matching, limit, offset, frozenset(include), include_all)


def search(
    *, owner: User, level: str, query: Query, within: dict[str, str], url: Callable[..., str]
) -> list[dict[str, Any]]:
    """The owner's matching studies, series or instances as DICOM JSON, first uploaded first.

    ``within`` narrows to a study (and series) by UID; ``url(instance)`` is an
    instance's Retrieve URL at the level searched.
    """
    mine = Instance.objects.filter(owner=owner, **within)
    group = GROUPED_BY[level]
    matched = mine.filter(query.filter).values(group)
    rows = (
        mine.filter(**{f"{group}__in": matched})
        .values(group)
        .annotate(
            first=Min("pk"),
            series=Count("series_instance_uid", distinct=True),
            instances=Count("pk"),
            modalities=ArrayAgg("modality", distinct=True, default=[]),
        )
        .order_by("first")[query.offset : query.offset + query.limit]
    )
    rows = list(rows)
    firsts = Instance.objects.in_bulk([row["first"] for row in rows])
    return [_result(level, query, firsts[row["first"]], row, url) for row in rows]


def _result(
    level: str,
    query: Query,
    first: Instance,
    row: dict[str, Any],
    url: Callable[..., str],
) -> dict[str, Any]:
    header: dict[str, Any] = first.header
    wanted = [*RETURNED[level], *query.include]
    result = dict(header) if query.include_all else {}
    for keyword in wanted:
        tag = tag_for_keyword(keyword)
        assert tag is not None
        key = f"{tag:08X}"
        # An attribute the header lacks is returned empty (zero length).
        result[key] = header.get(key, {"vr": dictionary_VR(tag).split(" or ")[0]})
    computed = {
        "study": {
            "00080061": _values(
                "CS", sorted(modality for modality in row["modalities"] if modality)
            ),
            "00201206": _values("IS", [row["series"]]),
            "00201208": _values("IS", [row["instances"]]),
        },
        "series": {"00201209": _values("IS", [row["instances"]])},
        "instance": {"00080056": _values("CS", ["ONLINE"])},
    }[level]
    result |= computed | {"00081190": _values("UR", [url(first)])}
    return dict(sorted(result.items()))


def _values(vr: str, values: Iterable[object]) -> dict[str, Any]:
    listed = list(values)
    return {"vr": vr, "Value": listed} if listed else {"vr": vr}


def _count(name: str, value: str) -> int:
    if not value.isdigit():
        raise QueryError(f"{name} must be a whole number of at least 0, got {value!r}")
    return int(value)


def _keyword(name: str) -> str:
    """The keyword of the attribute ``name`` (a keyword, or a tag as 8 hex digits)."""
    if TAG_PATTERN.fullmatch(name):
        keyword = keyword_for_tag(int(name, 16))
    else:
        keyword = name if tag_for_keyword(name) is not None else ""
    if not keyword:
        raise QueryError(f"{name!r} is not a DICOM attribute (a keyword or a tag such as 00100020)")
    return keyword
