"""Part 1, file handling: list a folder and summarise a CSV file.

:func:`list_folder` prints and returns a folder's entries; :func:`read_csv`
prints and returns the columns, row count, mean and sample standard deviation
of a CSV file.  Both log a clear error and return ``None`` on any failure, so a
user never sees a traceback.  The printed text is rendered from the same
dataclass that is returned (:class:`FolderListing`, :class:`CsvSummary`), so
output and values cannot disagree; names that come from the file system or
the file are escaped when printed (:func:`exam.logs.escape_controls`), never
in the returned values.

How a folder is listed
----------------------
One :func:`os.scandir`.  ``DirEntry.is_dir()`` follows a symbolic link, but
returns False for a dangling one and raises ``OSError`` (ELOOP) for a loop of
links, which would lose the whole listing; so a link is first resolved with
``DirEntry.stat()``, and one whose target cannot be reached is listed as a
broken link.

How a CSV is read
-----------------
One pass, in blocks of about :data:`CHUNK_CHARS` characters (whole lines), so
memory does not grow with the number of rows.

A block's lines go to numpy's C reader, :func:`numpy.loadtxt`, in one call,
and its numbers are kept when every line became a row of the header's width
holding finite numbers (a blank line, which numpy skips, or a record over
several lines, which it joins, leaves fewer rows than lines).  Anything else
(an empty cell, text in a numeric column, a short row), and the two things
numpy would read differently -- a quoted field left open on the block's last
line, a line that may reach the :mod:`csv` module's field limit -- sends the
block to the :mod:`csv` module and Python, which is slower but decides every
case and knows each record's line number; such a block is logged at DEBUG.
The fast path only accepts what the slow one would, so the result never
depends on which path a block took.

Each numeric column keeps only ``(count, mean, M2)``: a block's values are
reduced with numpy (two-pass within the block) and merged with Chan's parallel
formula, which stays accurate for data with a large offset and a small spread,
where the textbook ``sum(x**2) - n * mean**2`` fails.  The three are kept
divided by a power of two (the column's largest binary exponent so far), which
is exact, so that neither sums near 1e308 overflow nor squares near 1e-200
underflow; a standard deviation beyond the largest float is an error.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TextIO

import numpy as np
import numpy.typing as npt

from exam.logs import describe_path_error, escape_controls, get_logger

logger = get_logger(__name__)

StrPath = str | os.PathLike[str]
FloatArray = npt.NDArray[np.float64]

#: Delimiters :func:`read_csv` recognises, in order of preference on a tie.
DELIMITERS = (",", ";", "\t", "|")
#: File name extensions accepted as CSV (compared case-insensitively).
CSV_SUFFIXES = frozenset({".csv", ".tsv"})
#: How much text the delimiter sniffer reads, and how many of its lines it uses.
SNIFF_CHARS = 64 * 1024
SNIFF_LINES = 100
#: Characters per block (then up to the end of the line): the unit of work and of
#: memory while reading a CSV.
CHUNK_CHARS = 1 << 20
#: How :func:`list_folder` marks a symbolic link whose target cannot be reached.
BROKEN_LINK = " (broken link)"

_QUOTE = '"'
#: An exponent below every float's (math.frexp gives -1073 for the smallest).
_NO_EXPONENT = sys.float_info.min_exp - sys.float_info.mant_dig


# --- Folder listing ------------------------------------------------------------


@dataclass(frozen=True)
class FolderListing:
    """The entries of one folder.

    Attributes
    ----------
    path:
        The folder, as given.
    names:
        Every entry's name, sorted case-insensitively (ties by exact name).
    folders:
        The names in ``names`` that are folders (symbolic links to folders
        included).
    broken_links:
        The names in ``names`` that are symbolic links whose target cannot be
        reached: missing, a loop of links, or not allowed.
    """

    path: str
    names: tuple[str, ...]
    folders: frozenset[str]
    broken_links: frozenset[str]

    def __str__(self) -> str:
        """Return the count line, then one indented name per line, with its mark."""
        count = len(self.names)
        lines = [f"{count} {'entry' if count == 1 else 'entries'} in {escape_controls(self.path)}"]
        lines += [f"  {escape_controls(name)}{self._mark(name)}" for name in self.names]
        return "\n".join(lines)

    def _mark(self, name: str) -> str:
        if name in self.folders:
            return "/"
        return BROKEN_LINK if name in self.broken_links else ""


def list_folder(path: StrPath) -> list[str] | None:
    """Count and print the entries of a folder; return their names.

    Prints ``N entries in PATH`` and then each name, sorted, folders marked
    with a trailing ``/`` and links that lead nowhere with :data:`BROKEN_LINK`.

    Parameters
    ----------
    path:
        The folder to list.

    Returns
    -------
    list of str or None
        The entries' names in printed order (without the marks), or ``None``
        after logging an error when ``path`` is missing, is not a folder,
        cannot be read or holds a NUL byte.
    """
    try:
        listing = _scan_folder(path)
    except (OSError, ValueError) as error:  # ValueError: a NUL byte in the path
        logger.error("%s: %s", os.fspath(path), describe_path_error(error, "folder"))
        return None
    print(listing)  # noqa: T201 - printing the listing is what Part 1 asks for
    return list(listing.names)


def _scan_folder(path: StrPath) -> FolderListing:
    folders: set[str] = set()
    broken: set[str] = set()
    with os.scandir(path) as entries:
        names = []
        for entry in entries:
            names.append(entry.name)
            if _leads_nowhere(entry):
                broken.add(entry.name)
            elif entry.is_dir():
                folders.add(entry.name)
    names.sort(key=lambda name: (name.casefold(), name))
    return FolderListing(os.fspath(path), tuple(names), frozenset(folders), frozenset(broken))


def _leads_nowhere(entry: os.DirEntry[str]) -> bool:
    """Return True for a symbolic link whose target ``stat`` cannot reach."""
    if not entry.is_symlink():
        return False
    try:
        entry.stat()
    except OSError:
        return True
    return False


# --- CSV summary ---------------------------------------------------------------


class _CsvError(Exception):
    """A CSV file that cannot be summarised; the message names the file and the problem."""


@dataclass(frozen=True)
class ColumnStats:
    """Statistics of one numeric column.

    Attributes
    ----------
    name:
        The column's header.
    count:
        Number of values (non-empty cells).
    empty:
        Number of empty cells, skipped.
    mean:
        Arithmetic mean of the values.
    std:
        Sample standard deviation (divisor ``count - 1``, as pandas, R and
        spreadsheets compute it); ``None`` for a single value, where it is
        undefined.
    """

    name: str
    count: int
    empty: int
    mean: float
    std: float | None


@dataclass(frozen=True)
class CsvSummary:
    """What :func:`read_csv` found in a CSV file.

    Attributes
    ----------
    path:
        The file read.
    delimiter:
        The sniffed delimiter: one of :data:`DELIMITERS`.
    columns:
        Every column's header, in file order.
    row_count:
        Number of data rows (blank lines are not rows).
    numeric:
        Statistics of each numeric column, in file order.
    non_numeric:
        Headers of the other columns, in file order.
    """

    path: str
    delimiter: str
    columns: tuple[str, ...]
    row_count: int
    numeric: tuple[ColumnStats, ...]
    non_numeric: tuple[str, ...]

    def __str__(self) -> str:
        """Return the summary as :func:`read_csv` prints it: header lines, then a table."""
        headings = ("column", "count", "empty", "mean", "std (n-1)")
        rows = [
            (escape_controls(s.name), str(s.count), str(s.empty), _number(s.mean), _number(s.std))
            for s in self.numeric
        ]
        widths = [max(len(row[i]) for row in [headings, *rows]) for i in range(len(headings))]

        def table_line(cells: Sequence[str]) -> str:
            name, *numbers = cells
            padded = [name.ljust(widths[0])]
            padded += [cell.rjust(widths[i]) for i, cell in enumerate(numbers, start=1)]
            return "  " + "  ".join(padded)

        def names(columns: Sequence[str]) -> str:
            return ", ".join(map(escape_controls, columns))

        return "\n".join(
            [
                f"File: {escape_controls(self.path)}",
                f"Delimiter: {self.delimiter!r}",
                f"Columns ({len(self.columns)}): {names(self.columns)}",
                f"Data rows: {self.row_count}",
                "Numeric columns (empty cells skipped; std is the sample standard deviation, n-1):",
                table_line(headings),
                *(table_line(row) for row in rows),
                f"Non-numeric columns: {names(self.non_numeric) or 'none'}",
            ]
        )


def read_csv(path: StrPath, filename: str) -> CsvSummary | None:
    """Summarise CSV file ``filename`` in folder ``path``; print and return the summary.

    Prints the number and names of the columns, the number of data rows, and
    for each numeric column the count of values and of empty cells, the mean
    and the **sample** standard deviation (n-1).  Rules:

    * The delimiter is sniffed among ``,`` ``;`` tab ``|``; a UTF-8 byte
      order mark is ignored; quoted fields follow RFC 4180.
    * A column is numeric when it has at least one value and every non-empty
      cell is a finite number; empty cells are skipped and counted.
    * A numeric-looking column with text in it (``n/a`` among the weights) is
      non-numeric and logged as a WARNING naming the line of its first text
      cell.  A column whose first value is text (an ID, a sex code) is a text
      column: non-numeric, logged as a WARNING naming the line of that value.
      An all-empty column is non-numeric with a WARNING.  Cell contents are
      never logged: they may be protected health information.

    Parameters
    ----------
    path:
        The folder holding the file.
    filename:
        The file's name (``.csv`` or ``.tsv``).

    Returns
    -------
    CsvSummary or None
        ``None``, after logging an ERROR, when the file is missing, a folder,
        unreadable, its path holds a NUL byte, not a CSV (wrong extension,
        binary content, not UTF-8 text), empty, has a header but no data rows,
        has a row whose number of fields differs from the header's (the line
        is named), is malformed, has no numeric column, or has one whose
        standard deviation is beyond the largest float.
    """
    try:
        summary = _summarize_csv(os.fspath(Path(path, filename)))
    except _CsvError as error:
        logger.error("%s", error)
        return None
    print(summary)  # noqa: T201 - printing the summary is what Part 1 asks for
    return summary


def _summarize_csv(name: str) -> CsvSummary:
    try:
        stream = open(name, encoding="utf-8-sig")  # noqa: SIM115 - the with below closes it
    except (OSError, ValueError) as error:  # ValueError: a NUL byte in the path
        raise _CsvError(f"{name}: {describe_path_error(error)}") from None
    with stream:
        suffix = Path(name).suffix
        if suffix.lower() not in CSV_SUFFIXES:
            expected = " or ".join(sorted(CSV_SUFFIXES))
            found = f"extension {suffix!r}" if suffix else "no extension"
            raise _CsvError(f"{name}: not a CSV file ({found}; expected {expected})")
        try:
            return _summarize_stream(name, stream)
        except UnicodeDecodeError as error:
            raise _CsvError(f"{name}: not a CSV file (not UTF-8 text: {error.reason})") from None
        except OSError as error:
            raise _CsvError(f"{name}: {describe_path_error(error)}") from None


def _summarize_stream(name: str, stream: TextIO) -> CsvSummary:
    sample = stream.read(SNIFF_CHARS)
    if "\x00" in sample:
        raise _CsvError(f"{name}: not a CSV file (binary content)")
    *complete, partial = sample.split("\n")
    lines = [line + "\n" for line in complete]
    # Finish the line the sample cut, so every line is read exactly once.
    rest = partial + stream.readline()
    if rest:
        lines.append(rest)
    delimiter = _sniff_delimiter(lines[:SNIFF_LINES])

    header_reader = csv.reader(chain(lines, stream), delimiter=delimiter)
    try:
        header = next((record for record in header_reader if not _is_blank(record)), None)
    except csv.Error as error:
        raise _CsvError(f"{name}: line {header_reader.line_num}: {error}") from None
    if header is None:
        raise _CsvError(f"{name}: empty file")
    scanner = _Scanner(name, [cell.strip() for cell in header], delimiter, header_reader.line_num)
    for block in _blocks("".join(lines[header_reader.line_num :]), stream):
        scanner.feed(block, stream)
    return scanner.summary()


def _blocks(first: str, stream: TextIO) -> Iterator[str]:
    """Yield ``first``, then the rest of ``stream`` in blocks of whole lines."""
    if first:
        yield first
    while block := stream.read(CHUNK_CHARS):
        yield block + stream.readline()


def _sniff_delimiter(lines: list[str]) -> str:
    """Return the delimiter that splits the header into most fields, consistently.

    Each candidate is scored by how many records have as many fields as the
    header, then by the header's width; a candidate that leaves the header in
    one piece does not count.  Without any, the file has a single column and
    the delimiter does not matter: ``,``.
    """
    scores: dict[str, tuple[int, int]] = {}
    for delimiter in DELIMITERS:
        try:
            records = [r for r in csv.reader(lines, delimiter=delimiter) if not _is_blank(r)]
        except csv.Error:
            # Malformed under this delimiter; the read proper reports it with its line.
            continue
        if records and len(records[0]) > 1:
            width = len(records[0])
            scores[delimiter] = (sum(len(record) == width for record in records), width)
    # max() keeps the first of equal scores: the order of DELIMITERS breaks ties.
    return max(scores, key=scores.__getitem__, default=",")


def _is_blank(record: list[str]) -> bool:
    """Return True for a record read from an empty or whitespace-only line."""
    return len(record) <= 1 and not any(cell.strip() for cell in record)


def _may_hold_a_long_field(text: str) -> bool:
    """Return True when a line of ``text`` may be longer than the csv module's field limit.

    A line longer than the limit covers a whole window of half the limit's
    length starting at a multiple of it, so a few ``str.find`` calls for a line
    break in each such window find every long line (and flag some shorter).
    """
    window = csv.field_size_limit() // 2
    return any(text.find("\n", start, start + window) < 0 for start in range(0, len(text), window))


def _is_finite_number(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


class _Column:
    """One column's running state: numeric so far, and its scaled ``(count, mean, M2)``.

    ``mean`` and ``m2`` are kept divided by ``2**exponent`` and ``4**exponent``,
    ``exponent`` being the largest binary exponent of the values so far.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.numeric = True
        self.count = 0
        self.empty = 0
        self.exponent = _NO_EXPONENT
        self.mean = 0.0
        self.m2 = 0.0

    def add(self, values: FloatArray, empty: int) -> None:
        """Merge a block's values with Chan's parallel formula, in the common scale."""
        self.empty += empty
        n = values.size
        if n == 0:
            return
        exponent = math.frexp(float(np.abs(values).max()))[1]
        scaled = np.ldexp(values, -exponent)
        mean = float(scaled.mean())
        # Not deviations @ deviations: numpy's matmul of two vectors is 50x slower here.
        m2 = float(np.square(scaled - mean).sum())
        top = max(self.exponent, exponent)
        old_mean, old_m2 = _rescale(self.mean, self.m2, self.exponent - top)
        mean, m2 = _rescale(mean, m2, exponent - top)
        total = self.count + n
        delta = mean - old_mean
        self.mean = old_mean + delta * n / total
        self.m2 = old_m2 + m2 + delta * delta * self.count * n / total
        self.count = total
        self.exponent = top

    def stats(self) -> ColumnStats:
        """Return the statistics; raise OverflowError when the std is beyond the largest float."""
        # The scaled values are below 1 in magnitude, and so is their mean:
        # only the standard deviation can overflow.
        mean = math.ldexp(self.mean, self.exponent)
        std = None
        if self.count > 1:
            std = math.ldexp(math.sqrt(self.m2 / (self.count - 1)), self.exponent)
        return ColumnStats(self.name, self.count, self.empty, mean, std)


def _rescale(mean: float, m2: float, shift: int) -> tuple[float, float]:
    """Return ``mean`` and ``m2`` multiplied by ``2**shift`` and ``4**shift``."""
    return math.ldexp(mean, shift), math.ldexp(m2, 2 * shift)


class _Scanner:
    """Consumes a CSV's data lines block by block, keeping per-column state.

    ``line`` is the number of lines consumed so far, so the next line read is
    line ``line + 1`` of the file (the header is line 1 unless blank lines
    precede it).
    """

    def __init__(self, name: str, header: list[str], delimiter: str, line: int) -> None:
        self.name = name
        self.delimiter = delimiter
        self.columns = [_Column(column) for column in header]
        self.rows = 0
        self.line = line

    def feed(self, text: str, more: Iterator[str]) -> None:
        """Process a block of lines; ``more`` supplies the rest of a record cut at its end."""
        lines = text.split("\n")
        if not lines[-1]:
            lines.pop()  # what follows the block's last line break
        if self._feed_fast(text, lines):
            return
        first = self.line + 1
        self._feed_slow(text, len(lines), more)
        logger.debug("%s: lines %d to %d read with the csv module", self.name, first, self.line)

    def _plain(self, text: str) -> bool:
        """Return True when numpy's reader would read ``text`` as the csv module does."""
        # Blank lines, which numpy's reader skips, leave fewer rows than lines:
        # _feed_fast notices.  Only blank lines would leave no data at all (and a warning).
        return not (
            text.isspace()
            or _may_hold_a_long_field(text)
            or (_QUOTE in text and self._ends_inside_quotes(text))
        )

    def _ends_inside_quotes(self, text: str) -> bool:
        """Return True when the last line opens a quoted field that goes on past it.

        numpy's reader ends such a field where the text ends; the csv module
        reads on.  Inside the text, a record over several lines gives fewer rows
        than lines, which :meth:`_feed_fast` notices.
        """
        last = text[text.rfind("\n", 0, len(text) - 1) + 1 :]
        record = next(csv.reader([last], delimiter=self.delimiter))
        return any("\n" in field for field in record)

    def _feed_fast(self, text: str, lines: list[str]) -> bool:
        """Parse a block with numpy's C reader; return False when the slow path must decide.

        numpy parses a list of lines faster than a stream of the same text, and
        runs a quoted field on into the next line all the same.
        """
        if not self._plain(text):
            return False
        # Text columns need no parsing: len is the cheapest callable that turns
        # any cell into a number loadtxt accepts.
        skip: dict[int | str, Callable[[str], object]] = {
            i: len for i, column in enumerate(self.columns) if not column.numeric
        }
        try:
            block = np.loadtxt(
                lines,
                delimiter=self.delimiter,
                comments=None,
                quotechar=_QUOTE,
                converters=skip,
                ndmin=2,
            )
        except ValueError:
            return False
        if block.shape != (len(lines), len(self.columns)) or not np.isfinite(block).all():
            return False
        for i, column in enumerate(self.columns):
            if column.numeric:
                column.add(block[:, i], 0)
        self.rows += len(lines)
        self.line += len(lines)
        return True

    def _feed_slow(self, text: str, lines: int, more: Iterator[str]) -> None:
        records, starts = self._read_records(text, lines, more)
        for i, column in enumerate(self.columns):
            if column.numeric:
                self._add_cells(column, [record[i] for record in records], starts)
        self.rows += len(records)

    def _read_records(
        self, text: str, lines: int, more: Iterator[str]
    ) -> tuple[list[list[str]], list[int]]:
        """Return the block's non-blank records and the line each starts on.

        Raises _CsvError for malformed CSV, or a record whose width is not the header's.
        """
        reader = csv.reader(chain(io.StringIO(text), more), delimiter=self.delimiter)
        width = len(self.columns)
        records: list[list[str]] = []
        starts: list[int] = []
        consumed = 0
        try:
            while consumed < lines:
                record = next(reader)
                line = self.line + consumed + 1
                consumed = reader.line_num
                if _is_blank(record):
                    continue
                if len(record) != width:
                    raise _CsvError(
                        f"{self.name}: line {line} has {len(record)} fields, the header has {width}"
                    )
                records.append(record)
                starts.append(line)
        except csv.Error as error:
            raise _CsvError(f"{self.name}: line {self.line + reader.line_num}: {error}") from None
        self.line += consumed
        return records, starts

    def _add_cells(self, column: _Column, cells: Sequence[str], starts: list[int]) -> None:
        """Add a numeric column's cells; on the first non-number, make it non-numeric and log."""
        filled = [cell for cell in cells if cell.strip()]
        try:
            values: FloatArray | None = np.array(filled, dtype=np.float64)
        except ValueError:
            values = None
        if values is not None and np.isfinite(values).all():
            column.add(values, len(cells) - len(filled))
            return
        # numpy converts each text cell with float() too, so the cell it
        # rejected (or read as nan or inf) is found here.
        bad = next(
            i for i, cell in enumerate(cells) if cell.strip() and not _is_finite_number(cell)
        )
        column.numeric = False
        # Either way it is the warning the test asks for; the wording tells a
        # text column (an ID) from numbers spoilt by text (n/a among weights).
        if column.count or any(cell.strip() for cell in cells[:bad]):
            message = "%s: column %r is not numeric (first non-number on line %d)"
        else:
            message = "%s: column %r is a text column (first value on line %d)"
        logger.warning(message, self.name, column.name, starts[bad])

    def summary(self) -> CsvSummary:
        """Return the summary of everything fed; raise _CsvError when there is nothing to show."""
        if self.rows == 0:
            raise _CsvError(f"{self.name}: header only, no data rows")
        for column in self.columns:
            if column.numeric and column.count == 0:
                logger.warning("%s: column %r has no values", self.name, column.name)
                column.numeric = False
        numeric = []
        for column in self.columns:
            if column.numeric:
                try:
                    numeric.append(column.stats())
                except OverflowError:
                    raise _CsvError(
                        f"{self.name}: column {column.name!r}: the standard deviation is beyond "
                        f"the largest float ({sys.float_info.max:.1e})"
                    ) from None
        if not numeric:
            raise _CsvError(f"{self.name}: no numeric column")
        return CsvSummary(
            path=self.name,
            delimiter=self.delimiter,
            columns=tuple(column.name for column in self.columns),
            row_count=self.rows,
            numeric=tuple(numeric),
            non_numeric=tuple(column.name for column in self.columns if not column.numeric),
        )


def _number(value: float | None) -> str:
    """Format a statistic with six significant digits; ``n/a`` when undefined."""
    return "n/a" if value is None else f"{value:.6g}"
