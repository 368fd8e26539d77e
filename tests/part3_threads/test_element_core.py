"""The thread-free core of exam/elements.py: parse_data, normalize, summarize_element."""

from __future__ import annotations

import json
import math
import statistics
import sys
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exam import elements
from exam.elements import ElementError, ElementReport, normalize, parse_data, summarize_element
from tests.part3_threads.conftest import FIXTURES, SAMPLE, rows_of

TOKENS = st.one_of(
    st.integers(-3, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1_0", "x", "1e", "\u0661", ".5", "5.", "+7", "-0", "1,5"]),
)
MAX_FLOAT = sys.float_info.max
GAPS = st.sampled_from([" ", "  ", "\t", "\r", "\n", "\u00a0", "\x0b"])


@st.composite
def text_rows(draw: st.DrawFn) -> str:
    """A row of numbers, near-numbers and words, separated by assorted whitespace."""
    tokens = draw(st.lists(TOKENS, max_size=4))
    gaps = draw(st.lists(GAPS, min_size=len(tokens) + 1, max_size=len(tokens) + 1))
    return gaps[0] + "".join(token + gap for token, gap in zip(tokens, gaps[1:], strict=True))


def plain_parse(rows: list[str]) -> list[list[float]] | None:
    """Parse rows the obvious way, with str.split and float; None when they are not valid data."""
    matrix = []
    for row in rows:
        try:
            values = [float(token) for token in row.split()]
        except ValueError:
            return None
        matrix.append(values)
    widths = {len(values) for values in matrix}
    if 0 in widths or len(widths) != 1:
        return None
    flat = [value for values in matrix for value in values]
    if not all(math.isfinite(value) and value >= 0 for value in flat):
        return None
    return matrix


def plain_summary(key: str, element_id: str, device: str, matrix: list[list[float]]) -> dict:
    """The expected report of a valid matrix, computed in plain Python."""
    flat = [value for row in matrix for value in row]
    maximum = max(flat)
    return {
        "key": key,
        "id": element_id,
        "device_name": device,
        "size": len(flat),
        "shape": (len(matrix), len(matrix[0])),
        "average_before": statistics.fmean(flat),
        "average_after": statistics.fmean(v / maximum for v in flat) if maximum else 0.0,
        "maximum": maximum,
    }


def assert_report_matches(report: ElementReport, expected: dict) -> None:
    """Compare a report with a plain computation: exact fields exactly, averages to 1e-9."""
    assert report == ElementReport(
        **{
            **expected,
            "average_before": pytest.approx(expected["average_before"], rel=1e-9, abs=1e-12),
            "average_after": pytest.approx(expected["average_after"], rel=1e-9, abs=1e-12),
        }
    )


class TestParseData:
    """Tests for parse_data()."""

    @pytest.mark.req("P3.EL.8")
    def test_rows_become_a_rows_by_columns_float_array(self) -> None:
        """Each string is a row; its whitespace-separated numbers are the columns."""
        values = parse_data(["1 2 3", "4.5\t5 6e1"])
        assert values.dtype == np.float64
        assert values.tolist() == [[1.0, 2.0, 3.0], [4.5, 5.0, 60.0]]

    @pytest.mark.req("P3.EL.8")
    def test_a_single_value_is_a_one_by_one_array(self) -> None:
        """One row of one number keeps both dimensions."""
        assert parse_data(["7"]).shape == (1, 1)

    @pytest.mark.req("P3.EL.8")
    @pytest.mark.parametrize(
        ("rows", "expected"),
        [
            (["1 2", "3\r4"], [[1.0, 2.0], [3.0, 4.0]]),
            (["1_000 2"], [[1000.0, 2.0]]),
            (["1\u00a02", "3\u20034"], [[1.0, 2.0], [3.0, 4.0]]),
            (["-0 1"], [[0.0, 1.0]]),
        ],
        ids=["line-break-inside-a-row", "underscore", "unicode-spaces", "minus-zero"],
    )
    def test_what_float_reads_is_accepted_even_where_numpy_reader_refuses(
        self, rows: list[str], expected: list[list[float]]
    ) -> None:
        """Rows numpy's text reader cannot read are parsed the checked way, not rejected."""
        assert parse_data(rows).tolist() == expected

    @pytest.mark.req("P3.EL.6", "P3.EL.8")
    @pytest.mark.parametrize(
        ("rows", "message"),
        [
            ("1 2 3", "data must be a non-empty list of strings"),
            ([], "data must be a non-empty list of strings"),
            (["1 2", 3], "data row 2 is not a string"),
            (["1 2", b"3 4"], "data row 2 is not a string"),
            (["1 2", ""], "data row 2 is empty"),
            (["1 2", " \t "], "data row 2 is empty"),
            (["1 2 3", "4 5"], "data row 2 has 2 values, row 1 has 3"),
            (["1 2", "3 4", "5"], "data row 3 has 1 values, row 1 has 2"),
            (["1 2 #3"], "data row 1: '#3' is not a number"),
            (["1 2", "3 abc"], "data row 2: 'abc' is not a number"),
            (["1 2", "3 0x10"], "data row 2: '0x10' is not a number"),
            (["1 -2", "3 4"], r"data contains a negative value \(-2\); values must be >= 0"),
            (["1 nan"], r"data contains a non-finite value \(nan or infinity\)"),
            (["inf 1"], r"data contains a non-finite value \(nan or infinity\)"),
            (["1e999 1"], r"data contains a non-finite value \(nan or infinity\)"),
        ],
        ids=[
            "not-a-list",
            "empty-list",
            "number-row",
            "bytes-row",
            "empty-row",
            "blank-row",
            "ragged",
            "ragged-third-row",
            "comment-sign",
            "word",
            "hex",
            "negative",
            "nan",
            "inf",
            "overflow",
        ],
    )
    def test_invalid_data_raises_naming_the_problem(self, rows: object, message: str) -> None:
        """Each kind of bad data raises ElementError for the data field, with its own message."""
        with pytest.raises(ElementError, match=f"^{message}$") as raised:
            parse_data(rows)
        assert raised.value.field == "data"

    @pytest.mark.req("P3.EL.8")
    @pytest.mark.parametrize("rows", [["-0 -0"], ["-0\u00a0-0.0"]], ids=["fast", "checked"])
    def test_minus_zero_is_read_as_zero(self, rows: list[str]) -> None:
        """'-0' is zero, never -0.0: no average or maximum can print as -0."""
        assert [math.copysign(1, value) for value in parse_data(rows).flat] == [1.0, 1.0]

    @pytest.mark.req("P3.EL.8")
    def test_well_formed_rows_never_reach_the_checked_parse(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """numpy's C reader parses rows it can read; the row-by-row parse is only the fallback."""

        def refuse(rows: list[str]) -> None:
            raise AssertionError(f"checked parse called for {rows}")

        monkeypatch.setattr(elements, "_parse_checked", refuse)
        assert parse_data(["1 2.5", "3e2 4"]).tolist() == [[1.0, 2.5], [300.0, 4.0]]

    @pytest.mark.req("P3.EL.8")
    @settings(max_examples=400)
    @given(st.lists(text_rows(), min_size=1, max_size=4))
    def test_accepts_exactly_what_plain_float_parsing_accepts(self, rows: list[str]) -> None:
        """Valid rows give the values float() reads; invalid rows raise ElementError."""
        expected = plain_parse(rows)
        if expected is None:
            with pytest.raises(ElementError):
                parse_data(rows)
        else:
            assert parse_data(rows).tolist() == expected


class TestNormalize:
    """Tests for normalize()."""

    @pytest.mark.req("P3.EL.4")
    def test_values_are_divided_by_their_maximum(self) -> None:
        """The maximum becomes 1 and every value keeps its proportion."""
        values = np.array([[0.0, 25.0], [50.0, 100.0]])
        assert normalize(values).tolist() == [[0.0, 0.25], [0.5, 1.0]]

    @pytest.mark.req("P3.EL.4")
    def test_all_zero_values_normalise_to_zeros(self) -> None:
        """Data whose maximum is 0 gives zeros, not a division by zero."""
        with np.errstate(all="raise"):
            assert normalize(np.zeros((2, 3))).tolist() == [[0.0] * 3] * 2


class TestSummarizeElement:
    """Tests for summarize_element()."""

    @pytest.mark.req("P3.EL.4")
    @pytest.mark.parametrize("key", ["1", "2"])
    def test_sample_elements_match_a_plain_python_computation(self, key: str) -> None:
        """Size, shape, averages and maximum of the sample file's elements are right."""
        element = json.loads((FIXTURES / SAMPLE).read_text(encoding="utf-8"))[key]
        matrix = [[float(token) for token in row.split()] for row in element["data"]]
        expected = plain_summary(key, element["id"], element["deviceName"], matrix)
        assert_report_matches(summarize_element(key, element), expected)

    @pytest.mark.req("P3.EL.4")
    @given(
        st.integers(1, 6).flatmap(
            lambda columns: st.lists(
                st.lists(
                    st.one_of(st.integers(0, 100).map(float), st.floats(0, 1e6)),
                    min_size=columns,
                    max_size=columns,
                ),
                min_size=1,
                max_size=6,
            )
        )
    )
    def test_generated_elements_match_a_plain_python_computation(
        self, matrix: list[list[float]]
    ) -> None:
        """Any valid matrix gives the size, shape, averages and maximum computed in Python."""
        element = {"id": "gen1", "data": rows_of(matrix), "deviceName": "RX 1"}
        expected = plain_summary("7", "gen1", "RX 1", matrix)
        assert_report_matches(summarize_element("7", element), expected)

    @pytest.mark.req("P3.EL.4")
    def test_values_whose_sum_overflows_still_have_a_finite_average(self) -> None:
        """Near the float maximum the average is the maximum times the normalised average."""
        report = summarize_element("5", {"id": "huge5", "data": ["1e308 1e308", "1e308 5e307"]})
        assert (report.maximum, report.average_after) == (1e308, 0.875)
        assert report.average_before == 1e308 * 0.875

    @pytest.mark.req("P3.EL.4")
    def test_values_whose_sum_overflows_raise_no_overflow_warning(self) -> None:
        """numpy's overflow warning, which the CLI would log, is not raised on the way."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            summarize_element("5", {"id": "huge5", "data": ["1.7e308 1.7e308"]})
        assert [str(warning.message) for warning in caught] == []

    @pytest.mark.req("P3.EL.13")
    @settings(max_examples=100)
    @given(
        st.lists(
            st.one_of(
                st.floats(0, MAX_FLOAT),
                st.floats(1e307, MAX_FLOAT),
                st.sampled_from([0.0, 5e-324, 1.7e308, MAX_FLOAT]),
            ),
            min_size=1,
            max_size=12,
        ),
        st.sampled_from([" ", "\u00a0"]),
    )
    def test_every_figure_is_finite_and_exact_up_to_the_float_maximum(
        self, values: list[float], gap: str
    ) -> None:
        """Near the float maximum, alone or mixed, through either parse: finite, exact figures."""
        element = {"id": "big1", "data": [gap.join(repr(value) for value in values)]}
        report = summarize_element("1", element)
        exact = [Fraction(value) for value in values]
        top = max(exact)
        after = sum(value / top for value in exact) / len(exact) if top else Fraction(0)
        figures = (report.average_before, report.average_after, report.maximum)
        assert all(math.isfinite(figure) for figure in figures)
        assert report.maximum == float(top)
        assert report.average_before == pytest.approx(
            float(sum(exact) / len(exact)), rel=1e-12, abs=1e-320
        )
        assert report.average_after == pytest.approx(float(after), rel=1e-12)

    @pytest.mark.req("P3.EL.1")
    @pytest.mark.parametrize("device", ["", "   ", "RX 1"])
    def test_the_device_name_is_reported_as_given_blank_included(self, device: str) -> None:
        """deviceName is optional free text, not an identifier: a blank one is kept, not refused."""
        report = summarize_element("1", {"id": "e1", "data": ["1 2"], "deviceName": device})
        assert report.device_name == device

    @pytest.mark.req("P3.EL.4")
    def test_all_zero_data_gives_zero_averages_and_a_warning(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Maximum 0 is reported, the averages are 0, and a warning names the element."""
        report = summarize_element("4", {"id": "zero4", "data": ["0 0", "0 0"]})
        assert (report.maximum, report.average_before, report.average_after) == (0.0, 0.0, 0.0)
        assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
            ("WARNING", "element 4 (id zero4): all values are 0, normalised to zeros")
        ]

    @pytest.mark.req("P3.EL.6")
    @pytest.mark.parametrize(
        ("element", "field", "message"),
        [
            (["1 2"], "", "element must be a JSON object"),
            ({"data": ["1 2"]}, "id", "id is missing"),
            ({"id": " ", "data": ["1 2"]}, "id", "id must be a non-empty string"),
            ({"id": 12, "data": ["1 2"]}, "id", "id must be a non-empty string"),
            ({"id": "e1"}, "data", "data is missing"),
            (
                {"id": "e1", "data": ["1"], "deviceName": 3},
                "deviceName",
                "deviceName must be a string",
            ),
        ],
        ids=["not-an-object", "no-id", "blank-id", "number-id", "no-data", "number-device"],
    )
    def test_an_invalid_element_raises_naming_the_field(
        self, element: object, field: str, message: str
    ) -> None:
        """ElementError carries the field at fault for the API to key its errors."""
        with pytest.raises(ElementError, match=f"^{message}$") as raised:
            summarize_element("1", element)
        assert raised.value.field == field
