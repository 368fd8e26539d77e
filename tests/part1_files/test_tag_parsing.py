"""parse_tag() and TagRequest (exam/dicom_io.py): tags in every form a user types."""

from __future__ import annotations

import re

import pytest
from pydicom.tag import BaseTag

from exam.dicom_io import TagParseError, TagRequest, parse_tag

SOP_CLASS_UID = TagRequest(0x0008, 0x0016)


class TestParseTag:
    """Tests for parse_tag()."""

    @pytest.mark.req("P1.DCM.2")
    @pytest.mark.parametrize(
        "spec",
        [
            0x00080016,
            BaseTag(0x00080016),
            (0x0008, 0x0016),
            "(0008,0016)",
            "0008,0016",
            "00080016",
            "0x0008,0x0016",
            "0x00080016",
            "(0x0008,0x0016)",
            " ( 0008 , 0016 ) ",
            "8,16",
            "0x80016",
            "(00008,0016)",
            ("0008", "0016"),
            "SOPClassUID",
        ],
    )
    def test_parse_tag_reads_every_form_of_a_tag(self, spec: int | tuple[int, int] | str) -> None:
        """Each form a user may type for SOP Class UID gives (0008,0016)."""
        assert parse_tag(spec) == SOP_CLASS_UID

    @pytest.mark.req("P1.DCM.2")
    @pytest.mark.parametrize("spec", ["(7fe0,0010)", "7fe00010", "0X7Fe00010", "0x7FE0,0x0010"])
    def test_parse_tag_reads_hex_digits_in_either_case(self, spec: str) -> None:
        """Upper and lower case hex digits (and prefix) are the same tag."""
        assert parse_tag(spec) == TagRequest(0x7FE0, 0x0010)

    @pytest.mark.req("P1.DCM.2")
    @pytest.mark.parametrize(
        ("keyword", "expected"),
        [
            ("PatientName", TagRequest(0x0010, 0x0010)),
            ("PixelData", TagRequest(0x7FE0, 0x0010)),
            ("SequenceDelimitationItem", TagRequest(0xFFFE, 0xE0DD)),
        ],
    )
    def test_parse_tag_looks_keywords_up_in_the_dicom_dictionary(
        self, keyword: str, expected: TagRequest
    ) -> None:
        """A keyword gives its tag."""
        assert parse_tag(keyword) == expected

    @pytest.mark.req("P1.DCM.3")
    @pytest.mark.parametrize(
        ("spec", "group"),
        [(0x0008, 0x0008), (0, 0x0000), (0xFFFF, 0xFFFF), ("0x0008", 0x0008), ("0008", 0x0008)],
    )
    def test_parse_tag_reads_a_lone_16_bit_number_as_a_group(
        self, spec: int | str, group: int
    ) -> None:
        """A number that fits in 16 bits asks for every element of that group."""
        assert parse_tag(spec) == TagRequest(group, None)

    @pytest.mark.req("P1.DCM.2")
    @pytest.mark.parametrize(
        ("spec", "expected"),
        [(0x10000, TagRequest(0x0001, 0x0000)), (0xFFFFFFFF, TagRequest(0xFFFF, 0xFFFF))],
    )
    def test_parse_tag_reads_an_int_above_16_bits_as_a_tag(
        self, spec: int, expected: TagRequest
    ) -> None:
        """From 0x10000 up, an int is a whole tag: group in the high 16 bits."""
        assert parse_tag(spec) == expected

    @pytest.mark.req("P1.DCM.3")
    @pytest.mark.parametrize(("spec", "group"), [("0x8", 0x0008), ("0x7fe0", 0x7FE0)])
    def test_parse_tag_reads_up_to_four_prefixed_digits_as_a_group(
        self, spec: str, group: int
    ) -> None:
        """With a 0x prefix, up to four hex digits are a group."""
        assert parse_tag(spec) == TagRequest(group, None)

    @pytest.mark.req("P1.DCM.2")
    @pytest.mark.parametrize(
        ("spec", "expected"),
        [("12345", TagRequest(0x0001, 0x2345)), ("0x123456", TagRequest(0x0012, 0x3456))],
    )
    def test_parse_tag_reads_other_hex_numbers_as_pydicoms_tag_does(
        self, spec: str, expected: TagRequest
    ) -> None:
        """Hex text that is not a group is a 32-bit tag, as pydicom's Tag() reads it."""
        assert parse_tag(spec) == expected

    @pytest.mark.req("P1.DCM.2")
    @pytest.mark.parametrize("spec", ["00000010", "0x00000010", "(0000,0010)"])
    def test_parse_tag_reads_eight_digits_as_an_element_even_in_group_0000(self, spec: str) -> None:
        """In text the digit count decides: eight digits are (group, element) even when small."""
        assert parse_tag(spec) == TagRequest(0x0000, 0x0010)

    @pytest.mark.req("P1.DCM.4")
    @pytest.mark.parametrize(
        ("spec", "message"),
        [
            ("SOPClassUld", "cannot parse tag 'SOPClassUld': unknown DICOM keyword"),
            (
                "0x123456789",
                "cannot parse tag '0x123456789': expected a keyword such as SOPClassUID or a hex "
                "tag such as (0008,0016), 0008,0016, 00080016 or 0x00080016",
            ),
            (
                "   ",
                "cannot parse tag '   ': expected a keyword such as SOPClassUID or a hex tag "
                "such as (0008,0016), 0008,0016, 00080016 or 0x00080016",
            ),
            (
                "0008,0016,0018",
                "cannot parse tag '0008,0016,0018': expected a keyword such as SOPClassUID or a "
                "hex tag such as (0008,0016), 0008,0016, 00080016 or 0x00080016",
            ),
            (
                "Patient Name",
                "cannot parse tag 'Patient Name': expected a keyword such as SOPClassUID or a "
                "hex tag such as (0008,0016), 0008,0016, 00080016 or 0x00080016",
            ),
            ("sopclassuid", "cannot parse tag 'sopclassuid': unknown DICOM keyword"),
            (
                "",
                "cannot parse tag '': expected a keyword such as SOPClassUID or a hex tag "
                "such as (0008,0016), 0008,0016, 00080016 or 0x00080016",
            ),
            (
                "(0008,0016",
                "cannot parse tag '(0008,0016': expected a keyword such as SOPClassUID or a hex "
                "tag such as (0008,0016), 0008,0016, 00080016 or 0x00080016",
            ),
            (
                "0008-0016",
                "cannot parse tag '0008-0016': expected a keyword such as SOPClassUID or a hex "
                "tag such as (0008,0016), 0008,0016, 00080016 or 0x00080016",
            ),
            (-1, "cannot parse tag -1: a tag is a number from 0 to 0xFFFFFFFF"),
            (0x100000000, "cannot parse tag 4294967296: a tag is a number from 0 to 0xFFFFFFFF"),
            (
                True,
                "cannot parse tag True: expected an int, a (group, element) tuple or a string, "
                "not bool",
            ),
            (
                (0x0008, 0x0016, 0),
                "cannot parse tag (8, 22, 0): expected (group, element), "
                "two numbers from 0 to 0xFFFF",
            ),
            (
                (0x10000, 0),
                "cannot parse tag (65536, 0): expected (group, element), "
                "two numbers from 0 to 0xFFFF",
            ),
            (
                ("0008", 0x0016),
                "cannot parse tag ('0008', 22): expected (group, element), "
                "two numbers from 0 to 0xFFFF",
            ),
            (
                (0x0008, -1),
                "cannot parse tag (8, -1): expected (group, element), two numbers from 0 to 0xFFFF",
            ),
            (
                1.5,
                "cannot parse tag 1.5: expected an int, a (group, element) tuple or a string, "
                "not float",
            ),
            (
                None,
                "cannot parse tag None: expected an int, a (group, element) tuple or a string, "
                "not NoneType",
            ),
        ],
    )
    def test_parse_tag_rejects_what_is_not_a_tag_with_a_clear_message(
        self, spec: object, message: str
    ) -> None:
        """Anything else raises TagParseError naming the input and what was expected."""
        with pytest.raises(TagParseError, match=f"^{re.escape(message)}$"):
            parse_tag(spec)  # type: ignore[arg-type]

    @pytest.mark.req("P1.DCM.4")
    def test_tag_parse_error_is_a_value_error(self) -> None:
        """Callers may catch the usual ValueError."""
        assert issubclass(TagParseError, ValueError)


class TestTagRequest:
    """Tests for TagRequest."""

    @pytest.mark.req("P1.DCM.5")
    @pytest.mark.parametrize(
        ("request_", "text"),
        [
            (TagRequest(0x0008, 0x0016), "(0008,0016)"),
            (TagRequest(0x7FE0, 0x0010), "(7FE0,0010)"),
            (TagRequest(0x0009, None), "(0009,xxxx)"),
        ],
    )
    def test_tag_request_prints_as_a_dicom_tag(self, request_: TagRequest, text: str) -> None:
        """A request prints as (gggg,eeee) in upper case hex, a group with xxxx."""
        assert str(request_) == text

    @pytest.mark.req("P1.DCM.3")
    @pytest.mark.parametrize(
        ("request_", "tag", "covered"),
        [
            (TagRequest(0x0008, 0x0016), 0x00080016, True),
            (TagRequest(0x0008, 0x0016), 0x00080018, False),
            (TagRequest(0x0008, None), 0x00080018, True),
            (TagRequest(0x0008, None), 0x00090018, False),
        ],
    )
    def test_covers_matches_the_tag_or_every_tag_of_the_group(
        self, request_: TagRequest, tag: int, covered: bool
    ) -> None:
        """An element request covers its tag; a group request covers all of its group."""
        assert request_.covers(tag) is covered

    @pytest.mark.req("P1.DCM.7")
    @pytest.mark.parametrize(
        ("request_", "reaches"),
        [
            (TagRequest(0x0028, 0x0010), False),
            (TagRequest(0x7FE0, 0x0001), False),
            (TagRequest(0x7FDF, None), False),
            (TagRequest(0x7FE0, 0x0008), True),
            (TagRequest(0x7FE0, 0x0010), True),
            (TagRequest(0x7FE0, None), True),
            (TagRequest(0xFFFC, 0xFFFC), True),
        ],
    )
    def test_reaches_pixel_data_only_for_tags_at_or_after_the_first_pixel_tag(
        self, request_: TagRequest, reaches: bool
    ) -> None:
        """Only requests at or after (7FE0,0008) need the file read past its header."""
        assert request_.reaches_pixel_data is reaches
