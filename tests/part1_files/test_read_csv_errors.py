"""Part 1, item 2: every way ``read_csv`` can fail is logged and returns None.

Each bad input has its own test (or parameter row) asserting the exact
logged records, the ``None`` return value and that nothing was printed.
"""

from __future__ import annotations

import errno
import io
import logging
from pathlib import Path

import pytest

from exam import files
from exam.files import read_csv


@pytest.fixture(autouse=True)
def _log_info(caplog: pytest.LogCaptureFixture) -> None:
    """Capture INFO records too, whatever level an earlier test left the logger at."""
    caplog.set_level(logging.INFO, logger="exam")


def write_bytes(folder: Path, data: bytes, name: str = "data.csv") -> Path:
    """Write ``data`` to ``folder/name`` and return the file."""
    path = folder / name
    path.write_bytes(data)
    return path


def assert_fails(
    path: Path,
    message: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """read_csv returns None, logs exactly one ERROR ``message`` and prints nothing."""
    assert read_csv(path.parent, path.name) is None
    assert caplog.record_tuples == [("exam.files", logging.ERROR, message)]
    assert capsys.readouterr().out == ""


class TestFileErrors:
    """Tests for files that cannot be opened."""

    @pytest.mark.req("P1.CSV.9")
    def test_read_csv_logs_an_error_and_returns_none_for_a_missing_file(
        self,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A file that does not exist: no such file."""
        path = tmp_path / "missing.csv"

        assert_fails(path, f"{path}: no such file", caplog, capsys)

    @pytest.mark.req("P1.CSV.9")
    def test_read_csv_logs_an_error_and_returns_none_for_a_folder(
        self,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A folder, even one named like a CSV file, is not a file."""
        path = tmp_path / "folder.csv"
        path.mkdir()

        assert_fails(path, f"{path}: is a folder, not a file", caplog, capsys)

    @pytest.mark.req("P1.CSV.9")
    @pytest.mark.parametrize(
        ("error", "reason"),
        [
            (PermissionError(errno.EACCES, "Permission denied"), "permission denied"),
            (OSError(errno.EIO, "Input/output error"), "Input/output error"),
        ],
        ids=["permission-denied", "other-os-error"],
    )
    def test_read_csv_logs_an_error_and_returns_none_when_the_system_refuses_the_file(
        self,
        error: OSError,
        reason: str,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A file the system refuses to open (permission, I/O) is logged with its reason."""
        path = write_bytes(tmp_path, b"a\n1\n")

        # The tests run as root, whom chmod cannot lock out: the refusal is injected.
        def refuse(file: object, *args: object, **kwargs: object) -> None:
            raise type(error)(error.errno, error.strerror, str(file))

        monkeypatch.setattr(files, "open", refuse, raising=False)

        assert_fails(path, f"{path}: {reason}", caplog, capsys)

    @pytest.mark.req("P1.CSV.9")
    @pytest.mark.parametrize(
        ("folder", "name"),
        [("", "da\x00ta.csv"), ("in\x00box", "data.csv")],
        ids=["in the file name", "in the folder"],
    )
    def test_read_csv_logs_an_error_and_returns_none_for_a_nul_byte_in_the_path(
        self,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
        folder: str,
        name: str,
    ) -> None:
        """No file name can hold a NUL byte: the path is refused with that reason."""
        path = tmp_path / folder / name

        assert_fails(path, f"{path}: the path contains a NUL byte", caplog, capsys)

    @pytest.mark.req("P1.CSV.9")
    def test_read_csv_logs_an_error_and_returns_none_when_a_read_fails(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A file that opens but fails while being read (a bad disk) is logged with the reason."""
        path = write_bytes(tmp_path, b"a\n1\n")

        class FailingDisk(io.RawIOBase):
            def readable(self) -> bool:
                return True

            def readinto(self, buffer: object) -> int:
                raise OSError(errno.EIO, "Input/output error")

        def open_failing(file: object, *args: object, **kwargs: object) -> io.TextIOWrapper:
            return io.TextIOWrapper(io.BufferedReader(FailingDisk()), encoding="utf-8")

        monkeypatch.setattr(files, "open", open_failing, raising=False)

        assert_fails(path, f"{path}: Input/output error", caplog, capsys)


class TestNotACsvFile:
    """Tests for files that exist but are not CSV text."""

    @pytest.mark.req("P1.CSV.10")
    @pytest.mark.parametrize(
        ("name", "reason"),
        [
            ("data.txt", "extension '.txt'"),
            ("data.csv.gz", "extension '.gz'"),
            ("data", "no extension"),
        ],
    )
    def test_read_csv_logs_an_error_and_returns_none_for_a_wrong_extension(
        self,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
        name: str,
        reason: str,
    ) -> None:
        """Only .csv and .tsv files are read, even when the content would do."""
        path = write_bytes(tmp_path, b"a,b\n1,2\n", name=name)

        assert_fails(
            path, f"{path}: not a CSV file ({reason}; expected .csv or .tsv)", caplog, capsys
        )

    @pytest.mark.req("P1.CSV.10")
    def test_read_csv_logs_an_error_and_returns_none_for_binary_content(
        self,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """NUL bytes mark binary content, even in valid UTF-8."""
        path = write_bytes(tmp_path, b"a,b\n\x00\x01\x02,3\n")

        assert_fails(path, f"{path}: not a CSV file (binary content)", caplog, capsys)

    @pytest.mark.req("P1.CSV.10")
    def test_read_csv_logs_an_error_and_returns_none_for_an_image(
        self,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A PNG renamed .csv fails at its first byte, which UTF-8 cannot start with."""
        path = write_bytes(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

        assert_fails(
            path, f"{path}: not a CSV file (not UTF-8 text: invalid start byte)", caplog, capsys
        )

    @pytest.mark.req("P1.CSV.10")
    @pytest.mark.parametrize("padding", [0, 200_000], ids=["at the start", "after 200 kB"])
    def test_read_csv_logs_an_error_and_returns_none_for_text_that_is_not_utf8(
        self,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
        padding: int,
    ) -> None:
        """Latin-1 text (é as the single byte E9) is undecodable, wherever it appears."""
        rows = b"1,2\n" * (padding // 4)
        path = write_bytes(tmp_path, b"name,b\n" + rows + "café,1\n".encode("latin-1"))

        assert_fails(
            path,
            f"{path}: not a CSV file (not UTF-8 text: invalid continuation byte)",
            caplog,
            capsys,
        )


class TestContentErrors:
    """Tests for CSV text that cannot be summarised."""

    @pytest.mark.req("P1.CSV.11")
    @pytest.mark.parametrize(
        "data",
        [b"", b"\xef\xbb\xbf", b"\n\n  \r\n"],
        ids=["zero bytes", "byte order mark only", "blank lines only"],
    )
    def test_read_csv_logs_an_error_and_returns_none_for_an_empty_file(
        self,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
        data: bytes,
    ) -> None:
        """A file without a header is empty."""
        path = write_bytes(tmp_path, data)

        assert_fails(path, f"{path}: empty file", caplog, capsys)

    @pytest.mark.req("P1.CSV.11")
    @pytest.mark.parametrize(
        "data",
        [b"a,b\n", b"a,b", b"a,b\n\n\n"],
        ids=["with newline", "without newline", "then blank lines"],
    )
    def test_read_csv_logs_an_error_and_returns_none_for_a_header_only(
        self,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
        data: bytes,
    ) -> None:
        """A header without data rows has nothing to summarise."""
        path = write_bytes(tmp_path, data)

        assert_fails(path, f"{path}: header only, no data rows", caplog, capsys)

    @pytest.mark.req("P1.CSV.12")
    @pytest.mark.parametrize(
        ("text", "line", "fields"),
        [
            ("a,b,c\n1,2,3\n4,5,6,7\n", 3, 4),
            ("a,b,c\n1,2,3\n4,5\n", 3, 2),
            ("a,b,c\n1,2,3\n4\n", 3, 1),
            ("a,b,c\n1,2\n3,4\n", 2, 2),
            ("\na,b,c\n\n1,2,3\n\n4,5\n", 6, 2),
            ('a,b,c\n"x\ny",2,3\n"p\nq\nr",5,6\n7,8\n', 7, 2),
        ],
        ids=[
            "too many",
            "too few",
            "one",
            "every row short",
            "after blank lines",
            "after quoted line breaks",
        ],
    )
    def test_read_csv_logs_an_error_naming_the_line_of_a_row_with_a_wrong_field_count(
        self,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
        text: str,
        line: int,
        fields: int,
    ) -> None:
        """The error names the row's line in the file and both field counts."""
        path = write_bytes(tmp_path, text.encode())

        assert_fails(
            path, f"{path}: line {line} has {fields} fields, the header has 3", caplog, capsys
        )

    @pytest.mark.req("P1.CSV.12")
    def test_read_csv_names_the_line_of_a_short_row_far_into_the_file(
        self,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A short row after 100,000 good ones is found and named by its line."""
        path = write_bytes(tmp_path, b"a,b\n" + b"1,2\n" * 100_000 + b"3\n4,5\n")

        assert_fails(path, f"{path}: line 100002 has 1 fields, the header has 2", caplog, capsys)

    @pytest.mark.req("P1.CSV.7")
    def test_read_csv_logs_an_error_and_returns_none_without_a_numeric_column(
        self,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """Text columns only: a warning for each, then the ERROR."""
        path = write_bytes(tmp_path, b"id,sex\nP1,F\nP2,M\n")

        assert read_csv(path.parent, path.name) is None
        assert caplog.record_tuples == [
            (
                "exam.files",
                logging.WARNING,
                f"{path}: column 'id' is a text column (first value on line 2)",
            ),
            (
                "exam.files",
                logging.WARNING,
                f"{path}: column 'sex' is a text column (first value on line 2)",
            ),
            ("exam.files", logging.ERROR, f"{path}: no numeric column"),
        ]
        assert capsys.readouterr().out == ""

    @pytest.mark.req("P1.CSV.7")
    def test_read_csv_logs_an_error_and_returns_none_when_numbers_turn_to_text(
        self,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A single column that loses its numbers leaves no numeric column."""
        path = write_bytes(tmp_path, b"dose\n1\nhigh\n")

        assert read_csv(path.parent, path.name) is None
        assert caplog.record_tuples == [
            (
                "exam.files",
                logging.WARNING,
                f"{path}: column 'dose' is not numeric (first non-number on line 3)",
            ),
            ("exam.files", logging.ERROR, f"{path}: no numeric column"),
        ]
        assert capsys.readouterr().out == ""

    @pytest.mark.req("P1.CSV.9")
    @pytest.mark.parametrize(
        ("text", "line"),
        [
            ('a,b\n1,"' + "x" * 200_000 + '"\n', 2),
            ('a,"' + "x" * 200_000 + '"\n1,2\n', 1),
        ],
        ids=["in a row", "in the header"],
    )
    def test_read_csv_logs_an_error_and_returns_none_for_a_field_over_the_csv_limit(
        self,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
        text: str,
        line: int,
    ) -> None:
        """A runaway field (an unbalanced quote, say) is malformed CSV, named by its line."""
        path = write_bytes(tmp_path, text.encode())

        assert_fails(
            path, f"{path}: line {line}: field larger than field limit (131072)", caplog, capsys
        )
