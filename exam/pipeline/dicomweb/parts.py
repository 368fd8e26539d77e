"""A multipart/related body split into its parts while it streams in, one part at a time.

defnull's ``multipart`` parser (:class:`multipart.PushMultipartParser`) is
sans-I/O: fed chunks, it yields each part's headers, then its body in pieces,
then ``None`` at the part's end, keeping no more than a chunk and a boundary.
Its one rule for form data (every part needs ``Content-Disposition``) lives
in ``_create_segment``, the hook it documents for other multipart types;
:class:`RelatedParser` drops that rule.  :func:`parts` hands out each part as
a stream (:class:`Part`) that ingest reads like a file, so memory holds one
chunk whatever the size of the body or of a part.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from multipart import (  # type: ignore[import-untyped]
    MultipartError,
    MultipartSegment,
    PushMultipartParser,
)

from exam.pipeline.ingest import CHUNK_BYTES, Readable


class BodyError(ValueError):
    """The body is not well-formed multipart: no part after this can be read."""


class RelatedParser(PushMultipartParser):  # type: ignore[misc]
    """The push parser for multipart/related: parts need no Content-Disposition."""

    def _create_segment(self, headerlist: list[tuple[str, str]]) -> MultipartSegment:
        return MultipartSegment(headerlist)


class Part:
    """One part's body as a stream; ``media_type``: its Content-Type, lower-cased, no parameters."""

    def __init__(self, segment: MultipartSegment, events: Iterator[Any]) -> None:
        self.media_type: str = segment.content_type or ""
        self._events = events
        self._buffer = bytearray()
        self._ended = False

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes of the part (all that is left when negative); ``b""`` at its end.

        Raises
        ------
        BodyError
            When the body breaks off or turns malformed inside this part.
        """
        while not self._ended and (size < 0 or len(self._buffer) < size):
            # No event left: the body failed while being read (a client gone), and the
            # reader saw the error; the part ends there.
            event = next(self._events, None)
            if event is None:
                self._ended = True
            else:
                self._buffer += event
        count = len(self._buffer) if size < 0 else size
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    def drain(self) -> None:
        """Read and drop what is left of the part."""
        while self.read(CHUNK_BYTES):
            pass


def parts(body: Readable, boundary: str, length: int | None) -> Iterator[Part]:
    """The parts of the multipart ``body``, each to be read (or not) before the next is asked for.

    Raises
    ------
    BodyError
        The body is malformed, or ends before its closing boundary.
    """
    parser = RelatedParser(boundary, content_length=-1 if length is None else length)
    events = _events(body, parser)
    for segment in events:
        part = Part(segment, events)
        yield part
        part.drain()


def _events(body: Readable, parser: PushMultipartParser) -> Iterator[Any]:
    try:
        while chunk := body.read(CHUNK_BYTES):
            yield from parser.parse(chunk)
    except MultipartError as error:
        raise BodyError(f"the multipart body is malformed ({error})") from None
    try:
        yield from parser.parse(b"")
    except MultipartError:
        raise BodyError("the body ends before the multipart closing boundary") from None
