"""Bytes after the end of an image's own data: a phone's motion-photo video, or a file hidden behind a picture.

A polyglot is a file that two readers take for two different things: a JPEG followed by a zip is a picture to
an image viewer and an archive to unzip (which reads from the end). The archive keeps originals bit for bit,
so such bytes stay in the original; the master and the access copies are made from the decoded pixels and
never carry them. :func:`note_trailing_data` says so in the normalization warning, naming what the bytes
look like, so a curator can decide. Ends are found from the structure: JPEG markers up to the EOI that ends
the first image (entropy-coded data skipped by its marker rule), PNG chunks up to IEND, WebP's RIFF size.
"""

from __future__ import annotations

import mmap
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from preservation.processors.image_source import SourceImage


# In JPEG entropy-coded data, 0xFF is followed by 0x00 (stuffing), 0xD0-0xD7 (restart) or more 0xFF (fill);
# any other byte after 0xFF is the next marker.
_JPEG_MARKER = re.compile(rb"\xff(?=[^\x00\xd0-\xd7\xff])")


def _jpeg_end(data) -> int | None:
    """Offset just after the EOI marker that ends the first image, or None if the structure is not followed."""
    pos, size = 2, len(data)
    while pos + 2 <= size:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
        elif marker == 0xD9:
            return pos + 2
        elif marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pos += 2
        elif pos + 4 > size:
            return None
        else:
            pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
            if marker == 0xDA:  # start of scan: the entropy-coded data runs to the next marker
                found = _JPEG_MARKER.search(data, pos)
                if found is None:
                    return None
                pos = found.start()
    return None


def _png_end(data) -> int | None:
    pos, size = 8, len(data)
    while pos + 12 <= size:
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = bytes(data[pos + 4 : pos + 8])
        pos += 12 + length
        if kind == b"IEND":
            return pos
    return None


def _webp_end(data) -> int | None:
    riff = int.from_bytes(data[4:8], "little") + 8
    return riff + (riff & 1) if riff <= len(data) else None


_ENDS = {"JPEG": _jpeg_end, "PNG": _png_end, "WEBP": _webp_end}
_TRAILING_KINDS = (
    (b"PK\x03\x04", "a zip archive"),
    (b"\xff\xd8\xff", "another JPEG image"),
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"\x00\x00\x00", "an MP4/MOV video or other binary data"),
)


def trailing_bytes(path: Path, kind: str) -> tuple[int, str]:
    """How many bytes follow the end of the image data (JPEG EOI, PNG IEND, WebP RIFF), and what they look like."""
    with path.open("rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
        end = _ENDS[kind](data)
        if end is None or end >= len(data):
            return 0, ""
        head = bytes(data[end : end + 64])
        extra = len(data) - end
    if not head.strip(b"\x00"):
        return extra, "padding (zero bytes)"
    what = next((label for magic, label in _TRAILING_KINDS if head.startswith(magic)), None)
    if what is None and head.lstrip()[:1] == b"<":
        what = "markup (HTML, XML or SVG)"
    return extra, what or "data of unknown kind"


def note_trailing_data(source: SourceImage, kind: str) -> None:
    """Bytes after the image's own end (a motion photo's video, or a file hidden behind a picture: a polyglot)
    stay in the original; the master and access copies are made from the decoded pixels, so they never carry
    them. Said in the normalization warning. An MPO's second picture is expected there (frames > 1)."""
    if source.frames > 1:
        return
    count, what = trailing_bytes(source.path, kind)
    if count and what != "padding (zero bytes)":
        source.not_carried.append(
            f"{count} bytes after the end of the {kind} image data ({what}: a phone's motion photo, or another "
            "file hidden behind the picture); they stay in the original only"
        )
