"""exam/json_input.py: the strict JSON decoder of every JSON input (elements files, API bodies)."""

from __future__ import annotations

import json
import re

import pytest

from exam.json_input import JsonInputError, loads

DEPTH = 100_000


class TestStandardJson:
    """What JSON allows decodes as the standard library decodes it."""

    @pytest.mark.req("P3.JSON.1")
    @pytest.mark.parametrize(
        "text",
        [
            '{"1": {"id": "aabbcc1", "data": ["54 26", "75 87"], "deviceName": "RX 1"}}',
            '[{"k": 1}, {"k": 2}]',
            '{"a": 1, "A": 2}',
            '{"outer": {"k": 1}, "inner": {"k": 1}}',
            "[1.5e308, -0, 0.1, 12345678901234567890, true, false, null]",
            '"\\u00e9\\n"',
            " \t\r\n[]",
        ],
        ids=[
            "elements",
            "same-key-in-two-objects",
            "keys-differing-by-case",
            "same-key-at-two-depths",
            "numbers-and-literals",
            "escapes",
            "whitespace",
        ],
    )
    def test_valid_json_decodes_as_json_loads_decodes_it(self, text: str) -> None:
        """Objects, arrays, numbers, strings and literals come back as json.loads gives them."""
        assert loads(text) == json.loads(text)

    @pytest.mark.req("P3.JSON.1")
    def test_utf8_bytes_decode_like_text(self) -> None:
        """A body as received, UTF-8 bytes, decodes to the same value as its text."""
        text = '{"deviceName": "IRM \u00e9", "data": ["1 2"]}'
        assert loads(text.encode("utf-8")) == json.loads(text)


class TestRepeatedKeys:
    """A key given twice in one object would silently lose the first value."""

    @pytest.mark.req("P3.JSON.2")
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ('{"a": 1, "a": 2}', "the key 'a' appears twice in one object"),
            ('{"a": 1, "a": 1}', "the key 'a' appears twice in one object"),
            (
                '{"1": {"id": "x", "data": [], "id": "y"}}',
                "the key 'id' appears twice in one object",
            ),
            ('[{"k": 1}, {"k": 2, "k": 3}]', "the key 'k' appears twice in one object"),
        ],
        ids=["different-values", "equal-values", "nested-object", "object-in-array"],
    )
    def test_a_repeated_key_raises_naming_the_key(self, text: str, message: str) -> None:
        """Whatever the values and the depth, the error names the key."""
        with pytest.raises(JsonInputError, match=f"^{re.escape(message)}$"):
            loads(text)


class TestNonStandardNumbers:
    """NaN and Infinity are not JSON, although json.loads accepts them."""

    @pytest.mark.req("P3.JSON.3")
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("[NaN]", "NaN is not a JSON number"),
            ('{"x": Infinity}', "Infinity is not a JSON number"),
            ("-Infinity", "-Infinity is not a JSON number"),
        ],
    )
    def test_nan_and_infinity_raise_naming_the_constant(self, text: str, message: str) -> None:
        """Each constant is refused by name."""
        with pytest.raises(JsonInputError, match=f"^{re.escape(message)}$"):
            loads(text)


class TestDeepNesting:
    """Input nested thousands deep, which makes json.loads raise RecursionError."""

    @pytest.mark.req("P3.JSON.4")
    @pytest.mark.parametrize(
        "text",
        ["[" * DEPTH + "]" * DEPTH, '{"a": ' * DEPTH + "1" + "}" * DEPTH],
        ids=["arrays", "objects"],
    )
    def test_nesting_100000_deep_raises_json_input_error(self, text: str) -> None:
        """The decoder's recursion limit becomes an error saying so."""
        with pytest.raises(JsonInputError, match=r"^nested too deeply to decode$") as raised:
            loads(text)
        assert raised.value.__cause__ is None
        assert raised.value.__suppress_context__


class TestMalformedJson:
    """Text that is not JSON at all."""

    @pytest.mark.req("P3.JSON.5")
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("", "Expecting value at line 1, column 1"),
            ('{"a": 1', "Expecting ',' delimiter at line 1, column 8"),
            ('{"a": 1} 2', "Extra data at line 1, column 10"),
            (
                '{\n  "a": 1,\n}',
                "Expecting property name enclosed in double quotes at line 3, column 1",
            ),
            ("{'a': 1}", "Expecting property name enclosed in double quotes at line 1, column 2"),
            ("\ufeff{}", "Unexpected UTF-8 BOM (decode using utf-8-sig) at line 1, column 1"),
        ],
        ids=["empty", "cut", "extra-data", "trailing-comma", "single-quotes", "bom"],
    )
    def test_malformed_json_raises_with_the_position(self, text: str, message: str) -> None:
        """The error says what was expected and where, without the decoder's traceback."""
        with pytest.raises(JsonInputError, match=f"^{re.escape(message)}$") as raised:
            loads(text)
        assert raised.value.__suppress_context__

    @pytest.mark.req("P3.JSON.5")
    def test_json_input_error_is_a_value_error(self) -> None:
        """Callers that catch ValueError for bad input catch it too."""
        with pytest.raises(ValueError, match=r"^NaN is not a JSON number$"):
            loads("NaN")


class TestValuesNoFileCanHold:
    """Numbers beyond float, integers beyond int(), lone surrogates and non-UTF-8 bytes."""

    @pytest.mark.req("P3.JSON.6")
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("[1e400]", "the number 1e400 is too large for a 64-bit float"),
            ('{"v": -1e400}', "the number -1e400 is too large for a 64-bit float"),
            (
                "[1" + "0" * 4300 + "]",
                "a number is too long: Exceeds the limit (4300 digits) for integer string "
                "conversion: value has 4301 digits; use sys.set_int_max_str_digits() to increase "
                "the limit",
            ),
            ('["a\\ud800b"]', "a string holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)"),
            ('{"k": "\\udfff"}', "a string holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)"),
            (b'["\xff"]', "not UTF-8 text (invalid start byte at byte 2)"),
        ],
        ids=[
            "overflow",
            "negative-overflow",
            "4301-digits",
            "high-surrogate",
            "low-surrogate",
            "bytes",
        ],
    )
    def test_a_value_no_utf8_file_or_float_can_hold_raises(
        self, text: str | bytes, message: str
    ) -> None:
        """Each raises JsonInputError saying what it is, never inf, a ValueError or a bad string."""
        with pytest.raises(JsonInputError, match=f"^{re.escape(message)}$"):
            loads(text)

    @pytest.mark.req("P3.JSON.6")
    def test_a_surrogate_pair_and_the_largest_float_are_fine(self) -> None:
        """An escaped pair makes one character; 1.7976931348623157e308 is a finite float."""
        assert loads('["\\ud83d\\ude00", 1.7976931348623157e308]') == ["😀", 1.7976931348623157e308]
