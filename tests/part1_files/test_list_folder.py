"""Part 1, item 1: ``list_folder`` counts, prints and returns a folder's entries."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import pytest

from exam.files import list_folder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder holding files and sub-folders whose names sort differently by case."""
    root = tmp_path / "scans"
    root.mkdir()
    for name in ("b.csv", "A.dcm", ".hidden", "c.json"):
        (root / name).write_text("x", encoding="utf-8")
    for name in ("Zeta", "alpha"):
        (root / name).mkdir()
    return root


class TestListFolder:
    """Tests for list_folder() on folders that can be read."""

    @pytest.mark.req("P1.LS.1")
    def test_list_folder_prints_the_count_then_sorted_names_with_folders_marked(
        self, folder: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The count comes first, then each name on its own line, folders ending in /."""
        list_folder(folder)

        assert capsys.readouterr().out == (
            f"6 entries in {folder}\n  .hidden\n  A.dcm\n  alpha/\n  b.csv\n  c.json\n  Zeta/\n"
        )

    @pytest.mark.req("P1.LS.2")
    def test_list_folder_returns_the_names_in_printed_order_without_marks(
        self, folder: Path
    ) -> None:
        """The returned names are the entries' real names, sorted as printed."""
        assert list_folder(folder) == [".hidden", "A.dcm", "alpha", "b.csv", "c.json", "Zeta"]

    @pytest.mark.req("P1.LS.1")
    def test_list_folder_says_entry_for_a_single_entry(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """One entry is counted in the singular."""
        (tmp_path / "only.csv").write_text("x", encoding="utf-8")

        list_folder(tmp_path)

        assert capsys.readouterr().out == f"1 entry in {tmp_path}\n  only.csv\n"

    @pytest.mark.req("P1.LS.1", "P1.LS.2")
    def test_list_folder_counts_zero_entries_in_an_empty_folder(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An empty folder is not an error: zero entries, an empty list."""
        assert list_folder(tmp_path) == []
        assert capsys.readouterr().out == f"0 entries in {tmp_path}\n"

    @pytest.mark.req("P1.LS.1")
    def test_list_folder_marks_a_link_to_a_folder_as_a_folder(
        self, folder: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A symbolic link to a folder is listed like the folder it points to."""
        (folder / "latest").symlink_to(folder / "alpha", target_is_directory=True)

        list_folder(folder)

        assert capsys.readouterr().out == (
            f"7 entries in {folder}\n  .hidden\n  A.dcm\n  alpha/\n  b.csv\n  c.json\n"
            "  latest/\n  Zeta/\n"
        )

    @pytest.mark.req("P1.LS.2")
    def test_list_folder_accepts_the_path_as_a_string(self, folder: Path) -> None:
        """A str path lists the entries just as a Path does."""
        assert list_folder(str(folder)) == [".hidden", "A.dcm", "alpha", "b.csv", "c.json", "Zeta"]

    @pytest.mark.req("P1.LS.1")
    def test_list_folder_logs_nothing_on_success(
        self, folder: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Listing a readable folder logs no warning or error."""
        caplog.set_level(logging.INFO, logger="exam")

        list_folder(folder)

        assert caplog.records == []


class TestListFolderErrors:
    """Tests for list_folder() when the path cannot be listed."""

    @pytest.mark.req("P1.LS.3")
    def test_list_folder_logs_an_error_and_returns_none_for_a_missing_path(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A path that does not exist is reported as no such folder."""
        missing = tmp_path / "missing"

        assert list_folder(missing) is None
        assert caplog.record_tuples == [("exam.files", logging.ERROR, f"{missing}: no such folder")]
        assert capsys.readouterr().out == ""

    @pytest.mark.req("P1.LS.3")
    def test_list_folder_logs_an_error_and_returns_none_for_a_file(
        self, folder: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A file given instead of a folder is reported as not a folder."""
        file = folder / "b.csv"

        assert list_folder(file) is None
        assert caplog.record_tuples == [("exam.files", logging.ERROR, f"{file}: not a folder")]
        assert capsys.readouterr().out == ""

    @pytest.mark.req("P1.LS.3")
    def test_list_folder_logs_an_error_and_returns_none_without_permission(
        self,
        folder: Path,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A folder the operating system refuses to open is reported as permission denied."""

        # The tests run as root, whom chmod cannot lock out: the refusal is injected.
        def refuse(path: object) -> None:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))

        monkeypatch.setattr(os, "scandir", refuse)

        assert list_folder(folder) is None
        assert caplog.record_tuples == [
            ("exam.files", logging.ERROR, f"{folder}: permission denied")
        ]
        assert capsys.readouterr().out == ""

    @pytest.mark.req("P1.LS.3")
    def test_list_folder_logs_the_system_reason_for_any_other_os_error(
        self,
        folder: Path,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """Any other operating-system failure is logged with the system's own reason."""

        def fail(path: object) -> None:
            raise OSError(errno.EIO, "Input/output error", str(path))

        monkeypatch.setattr(os, "scandir", fail)

        assert list_folder(folder) is None
        assert caplog.record_tuples == [
            ("exam.files", logging.ERROR, f"{folder}: Input/output error")
        ]

    @pytest.mark.req("P1.LS.3")
    def test_list_folder_logs_an_error_and_returns_none_for_a_nul_byte_in_the_path(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """No folder name can hold a NUL byte: the path is refused with that reason."""
        path = f"{tmp_path}/sc\x00ans"

        assert list_folder(path) is None
        assert caplog.record_tuples == [
            ("exam.files", logging.ERROR, f"{path}: the path contains a NUL byte")
        ]
        assert capsys.readouterr().out == ""


class TestListFolderLinks:
    """Tests for list_folder() on symbolic links that lead nowhere."""

    @pytest.mark.req("P1.LS.4")
    def test_list_folder_marks_a_dangling_link_and_lists_the_rest(
        self, folder: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A link to a missing target is listed, marked as broken, between the other entries."""
        (folder / "b-old").symlink_to(folder / "deleted.csv")

        assert list_folder(folder) == [
            ".hidden",
            "A.dcm",
            "alpha",
            "b-old",
            "b.csv",
            "c.json",
            "Zeta",
        ]
        assert capsys.readouterr().out == (
            f"7 entries in {folder}\n  .hidden\n  A.dcm\n  alpha/\n  b-old (broken link)\n"
            "  b.csv\n  c.json\n  Zeta/\n"
        )

    @pytest.mark.req("P1.LS.4")
    def test_list_folder_marks_links_in_a_loop(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
    ) -> None:
        """Links that lead to each other, or to themselves, are broken links, not an error."""
        (tmp_path / "ping").symlink_to(tmp_path / "pong")
        (tmp_path / "pong").symlink_to(tmp_path / "ping")
        (tmp_path / "self").symlink_to(tmp_path / "self")
        (tmp_path / "data.csv").write_text("x", encoding="utf-8")

        assert list_folder(tmp_path) == ["data.csv", "ping", "pong", "self"]
        assert capsys.readouterr().out == (
            f"4 entries in {tmp_path}\n  data.csv\n  ping (broken link)\n"
            "  pong (broken link)\n  self (broken link)\n"
        )
        assert caplog.records == []

    @pytest.mark.req("P1.LS.1")
    def test_list_folder_lists_a_link_to_a_file_as_a_file(
        self, folder: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A working link to a file has no mark, like the file it points to."""
        (folder / "latest.csv").symlink_to(folder / "b.csv")

        list_folder(folder)

        assert "\n  latest.csv\n" in capsys.readouterr().out


class TestListFolderNames:
    """Tests for names that hold control characters."""

    @pytest.mark.req("P1.LS.5")
    @pytest.mark.parametrize(
        ("name", "printed"),
        [
            ("two\nlines.csv", "two\\nlines.csv"),
            ("tab\there", "tab\\there"),
            ("\x1b[31mred", "\\x1b[31mred"),
            ("bell\x07", "bell\\x07"),
        ],
        ids=["line break", "tab", "terminal escape", "bell"],
    )
    def test_list_folder_escapes_control_characters_in_printed_names(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, printed: str
    ) -> None:
        """A name cannot break the listing's lines or drive a terminal; it is returned as is."""
        (tmp_path / name).write_text("x", encoding="utf-8")

        assert list_folder(tmp_path) == [name]
        assert capsys.readouterr().out == f"1 entry in {tmp_path}\n  {printed}\n"

    @pytest.mark.req("P1.LS.5")
    def test_list_folder_escapes_control_characters_in_the_folder_path(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The count line shows the folder's path escaped too."""
        folder = tmp_path / "new\nline"
        folder.mkdir()

        assert list_folder(folder) == []
        assert capsys.readouterr().out == f"0 entries in {tmp_path}/new\\nline\n"
