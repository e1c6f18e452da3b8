"""Metadata carried tag for tag, byte for byte, from a source image into its TIFF preservation master.

EXIF is a TIFF structure: descriptive tags in IFD0 plus Exif, GPS and Interoperability sub-IFDs reached
through pointer tags. ``CarriedTags`` holds the raw entries (tag, type, count, value bytes) in the
source's byte order; the master is written in the same byte order, so every value lands in the master
unchanged and can be compared byte for byte afterwards.

Why not a library: tifffile cannot write the Exif/GPS pointer tags (it filters 34665/34853 from
``extratags``), and Pillow's TIFF writer cannot hold 16-bit RGB pixels, while its compressed (libtiff)
path refuses sub-IFD dictionaries. So tifffile writes pixels and IFD0 tags, with a LONG placeholder tag
next to where each pointer belongs (34664 sorts where 34665 goes, 34852 where 34853 goes); then
``append_sub_ifds`` appends the sub-IFDs at the end of the file and turns each placeholder into the real
pointer (two bytes of tag code, four bytes of offset). The rest of the file is tifffile's.

Limits: MakerNote bytes are copied exactly, but some makers' notes hold offsets relative to the original
EXIF block, which no general tool can relocate; the EXIF thumbnail (IFD1) is not carried (it is a
preview, not a description).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

EXIF_IFD = 0x8769
GPS_IFD = 0x8825
INTEROP_IFD = 0xA005
ICC_PROFILE = 34675
XMP = 700
PHOTOSHOP = 34377
ORIENTATION = 274

# Placeholders written by tifffile, renamed to the real pointer tags afterwards (see module docstring).
EXIF_PLACEHOLDER = EXIF_IFD - 1
GPS_PLACEHOLDER = GPS_IFD - 1

TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_TYPE_FORMATS = {3: "H", 4: "I", 5: "I", 8: "h", 9: "i", 10: "i", 11: "f", 12: "d", 13: "I"}

# IFD0 tags that describe the pixel layout, point into the file, or are written by the master writer
# itself (resolution goes through tifffile's own arguments). Everything else in IFD0 is carried.
LAYOUT_TAGS = frozenset(
    {
        254, 255, 256, 257, 258, 259, 262, 263, 264, 265, 266, 273, 277, 278, 279, 280, 281, 282, 283,
        284, 288, 289, 290, 291, 292, 293, 296, 301, 317, 318, 319, 320, 321, 322, 323, 324, 325, 330,
        332, 333, 334, 336, 337, 338, 339, 340, 341, 343, 347, 351, 400, 512, 513, 514, 515, 517, 518,
        519, 520, 521, 529, 530, 531, 532, 32995, 32996, 32997, 32998,
        EXIF_IFD, GPS_IFD, INTEROP_IFD, EXIF_PLACEHOLDER, GPS_PLACEHOLDER,
    }
)  # fmt: skip
_MAX_ENTRIES = 4096
_MAX_VALUE_BYTES = 256 * 1024 * 1024


class TagError(ValueError):
    """The metadata structure is malformed (bad offsets, loops, impossible counts)."""


@dataclass(frozen=True)
class RawTag:
    tag: int
    type: int
    count: int
    data: bytes  # the value bytes exactly as stored, in the container's byte order


@dataclass
class CarriedTags:
    """The tags a master must carry, with the byte order their values are stored in."""

    byteorder: str = "<"
    ifd0: dict[int, RawTag] = field(default_factory=dict)
    exif: dict[int, RawTag] = field(default_factory=dict)
    gps: dict[int, RawTag] = field(default_factory=dict)
    interop: dict[int, RawTag] = field(default_factory=dict)
    resolution: tuple[Fraction, Fraction, int] | None = None  # XResolution, YResolution, ResolutionUnit
    not_carried: list[str] = field(default_factory=list)  # lost although it mattered: a warning
    omitted: list[str] = field(default_factory=list)  # left out by design (previews), said in the detail

    @property
    def has_exif(self) -> bool:
        exif_ifd0 = set(self.ifd0) - {ICC_PROFILE, XMP, PHOTOSHOP}
        return bool(self.exif or self.gps or exif_ifd0)

    def value(self, group: str, tag: int) -> str | bytes | tuple | None:
        """Decoded value (str for ASCII, bytes for BYTE/UNDEFINED, tuple of numbers otherwise)."""
        raw = getattr(self, group).get(tag)
        return None if raw is None else decode(raw, self.byteorder)

    def counts(self) -> str:
        return f"{len(self.ifd0)} IFD0, {len(self.exif)} Exif, {len(self.gps)} GPS, {len(self.interop)} Interop"


def decode(raw: RawTag, byteorder: str) -> str | bytes | tuple:
    if raw.type == 2:
        return raw.data.split(b"\x00", 1)[0].decode("utf-8", "replace").strip()
    if raw.type in (1, 6, 7):
        return raw.data
    fmt = _TYPE_FORMATS.get(raw.type)
    if fmt is None:
        return raw.data
    values = struct.unpack(f"{byteorder}{len(raw.data) // struct.calcsize(fmt)}{fmt}", raw.data)
    if raw.type in (5, 10):
        return tuple(Fraction(n, d) if d else None for n, d in zip(values[::2], values[1::2], strict=True))
    return values


class _Reader:
    """Reads IFD entries from a seekable TIFF-structured stream (classic or BigTIFF), bounds-checked."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self.stream = stream
        self.size = size
        head = self._read(0, 8)
        if head[:2] == b"II":
            self.byteorder = "<"
        elif head[:2] == b"MM":
            self.byteorder = ">"
        else:
            raise TagError("no TIFF header")
        magic = struct.unpack(self.byteorder + "H", head[2:4])[0]
        if magic == 42:
            self.big = False
            self.first = struct.unpack(self.byteorder + "I", head[4:8])[0]
        elif magic == 43:
            self.big = True
            self.first = struct.unpack(self.byteorder + "Q", self._read(8, 8))[0]
        else:
            raise TagError("bad TIFF magic number")
        self.positions: dict[int, tuple[int, int]] = {}  # tag -> (entry offset, value field offset), last IFD
        self.skipped: list[tuple[int, str]] = []

    def _read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise TagError(f"offset {offset}+{length} is outside the {self.size}-byte structure")
        self.stream.seek(offset)
        data = self.stream.read(length)
        if len(data) != length:
            raise TagError("short read")
        return data

    def ifd(self, offset: int) -> tuple[dict[int, RawTag], int]:
        """Entries of the IFD at ``offset`` and the offset of the next IFD (0 if none)."""
        order = self.byteorder
        count_format, entry_size, inline, offset_format = ("Q", 20, 8, "Q") if self.big else ("H", 12, 4, "I")
        count_size = struct.calcsize(count_format)
        count = struct.unpack(order + count_format, self._read(offset, count_size))[0]
        if count > _MAX_ENTRIES:
            raise TagError(f"an IFD claims {count} entries")
        table = self._read(offset + count_size, count * entry_size + inline)
        entries: dict[int, RawTag] = {}
        self.positions = {}
        for index in range(count):
            entry = table[index * entry_size : (index + 1) * entry_size]
            tag, kind = struct.unpack(order + "HH", entry[:4])
            number = struct.unpack(order + offset_format, entry[4 : 4 + inline])[0]
            value_field = entry[4 + inline :]
            entry_offset = offset + count_size + index * entry_size
            self.positions[tag] = (entry_offset, entry_offset + 4 + inline)
            size = TYPE_SIZES.get(kind)
            if size is None:
                self.skipped.append((tag, f"tag {tag} (type {kind}, which a classic TIFF cannot hold)"))
                continue
            length = size * number
            try:
                if length > _MAX_VALUE_BYTES:
                    raise TagError(f"{length} bytes")
                if length <= inline:
                    data = value_field[:length]
                else:
                    data = self._read(struct.unpack(order + offset_format, value_field)[0], length)
            except TagError as error:
                self.skipped.append((tag, f"tag {tag} (its value is unreadable: {error})"))
                continue
            entries[tag] = RawTag(tag, kind, number, data)
        next_offset = struct.unpack(order + offset_format, table[count * entry_size :])[0]
        return entries, next_offset

    def pointer(self, entries: dict[int, RawTag], tag: int) -> int | None:
        raw = entries.get(tag)
        if raw is None or raw.type not in (4, 13) or raw.count < 1:
            return None
        return struct.unpack(self.byteorder + "I", raw.data[:4])[0]


def read_tags(stream: BinaryIO, size: int, *, exif_block: bool = False) -> CarriedTags:
    """Carried tags of the first IFD of a TIFF structure (a TIFF file or an EXIF block) and its sub-IFDs.

    Pixel-layout tags of IFD0 are left out (the master describes its own layout). A tag whose value
    cannot be read, or a sub-IFD that cannot be read, is skipped and listed in ``not_carried``; a broken
    IFD0 raises TagError.
    """
    reader = _Reader(stream, size)
    ifd0, next_offset = reader.ifd(reader.first)
    tags = CarriedTags(byteorder=reader.byteorder)
    if next_offset and exif_block:
        tags.omitted.append("the EXIF thumbnail (IFD1), a preview")
    seen = {reader.first}
    for group, parent, tag in (
        ("exif", ifd0, EXIF_IFD),
        ("gps", ifd0, GPS_IFD),
        ("interop", None, INTEROP_IFD),
    ):
        offset = reader.pointer(tags.exif if parent is None else parent, tag)
        if offset is None or offset in seen:
            continue
        seen.add(offset)
        try:
            setattr(tags, group, reader.ifd(offset)[0])
        except TagError as error:  # one broken sub-IFD does not cost the others
            tags.not_carried.append(f"the {group.capitalize()} sub-IFD (unreadable: {error})")
    tags.exif.pop(INTEROP_IFD, None)
    tags.resolution = _resolution(ifd0, reader.byteorder)
    if 330 in ifd0:
        tags.omitted.append("SubIFDs (reduced-resolution or preview images inside the TIFF)")
    tags.ifd0 = {tag: raw for tag, raw in ifd0.items() if tag not in LAYOUT_TAGS}
    tags.not_carried.extend(note for tag, note in reader.skipped if tag not in LAYOUT_TAGS)
    return tags


def read_exif_block(payload: bytes) -> CarriedTags:
    """Carried tags of an EXIF block from JPEG APP1, PNG eXIf or WebP EXIF (with or without 'Exif\\0\\0')."""
    if payload.startswith(b"Exif\x00\x00"):
        payload = payload[6:]
    return read_tags(io.BytesIO(payload), len(payload), exif_block=True)


def read_tiff_file(path: Path) -> CarriedTags:
    with path.open("rb") as stream:
        return read_tags(stream, path.stat().st_size)


def _resolution(ifd0: dict[int, RawTag], order: str) -> tuple[Fraction, Fraction, int] | None:
    x, y = ifd0.get(282), ifd0.get(283)
    if x is None or y is None or x.type != 5 or y.type != 5:
        return None
    xs, ys = decode(x, order), decode(y, order)
    if not xs or not ys or xs[0] is None or ys[0] is None or xs[0] <= 0 or ys[0] <= 0:
        return None
    unit = ifd0.get(296)
    return xs[0], ys[0], (decode(unit, order)[0] if unit is not None and unit.type == 3 else 2)


def ifd0_extratags(tags: CarriedTags) -> list[tuple[int, int, int, bytes, bool]]:
    """IFD0 tags as tifffile ``extratags`` (raw bytes in the file's byte order), plus pointer placeholders."""
    extratags = [(raw.tag, raw.type, raw.count, raw.data, True) for raw in sorted(tags.ifd0.values(), key=_tag)]
    if tags.exif or tags.interop:
        extratags.append((EXIF_PLACEHOLDER, 4, 1, b"\x00\x00\x00\x00", True))
    if tags.gps:
        extratags.append((GPS_PLACEHOLDER, 4, 1, b"\x00\x00\x00\x00", True))
    return extratags


def _tag(raw: RawTag) -> int:
    return raw.tag


def serialize_ifd(entries: dict[int, RawTag], offset: int, order: str, pointers: dict[int, int]) -> bytes:
    """One classic-TIFF IFD placed at ``offset``: entries sorted, long values after it, word aligned."""
    all_entries = dict(entries)
    for tag, target in pointers.items():
        all_entries[tag] = RawTag(tag, 4, 1, struct.pack(order + "I", target))
    table_size = 2 + 12 * len(all_entries) + 4
    table = [struct.pack(order + "H", len(all_entries))]
    values = b""
    for raw in sorted(all_entries.values(), key=_tag):
        head = struct.pack(order + "HHI", raw.tag, raw.type, raw.count)
        if len(raw.data) <= 4:
            table.append(head + raw.data.ljust(4, b"\x00"))
        else:
            table.append(head + struct.pack(order + "I", offset + table_size + len(values)))
            values += raw.data + b"\x00" * (len(raw.data) % 2)
    table.append(b"\x00\x00\x00\x00")
    return b"".join(table) + values


def append_sub_ifds(path: Path, tags: CarriedTags) -> None:
    """Append the Exif (+Interop) and GPS sub-IFDs to a master written with ``ifd0_extratags``."""
    if not (tags.exif or tags.interop or tags.gps):
        return
    order = tags.byteorder
    with path.open("r+b") as stream:
        stream.seek(0, 2)
        reader = _Reader(stream, stream.tell())
        if reader.big or reader.byteorder != order:
            raise TagError("the master is not a classic TIFF in the expected byte order")
        reader.ifd(reader.first)
        positions = reader.positions
        end = reader.size + reader.size % 2
        blob = b""
        patches: list[tuple[int, int]] = []  # (placeholder tag, offset of its sub-IFD)
        if tags.exif or tags.interop:
            exif_at = end
            size = len(serialize_ifd(tags.exif, exif_at, order, {INTEROP_IFD: 0} if tags.interop else {}))
            pointers = {}
            interop = b""
            if tags.interop:
                pointers[INTEROP_IFD] = exif_at + size + size % 2
                interop = serialize_ifd(tags.interop, pointers[INTEROP_IFD], order, {})
            exif = serialize_ifd(tags.exif, exif_at, order, pointers)
            blob += exif + b"\x00" * (size % 2) + interop
            patches.append((EXIF_PLACEHOLDER, exif_at))
        if tags.gps:
            blob += b"\x00" * (len(blob) % 2)
            gps_at = end + len(blob)
            blob += serialize_ifd(tags.gps, gps_at, order, {})
            patches.append((GPS_PLACEHOLDER, gps_at))
        if end + len(blob) >= 2**32:
            raise TagError("the master would exceed the 4 GiB classic TIFF limit")
        stream.seek(reader.size)
        stream.write(b"\x00" * (end - reader.size) + blob)
        for placeholder, target in patches:
            entry_offset, value_offset = positions[placeholder]
            stream.seek(entry_offset)
            stream.write(struct.pack(order + "H", placeholder + 1))
            stream.seek(value_offset)
            stream.write(struct.pack(order + "I", target))


def _canonical(raw: RawTag, order: str) -> tuple[int, int, bytes]:
    """Type, count and big-endian value bytes: equal for equal values whatever the file's byte order.

    ASCII is compared without trailing NULs: tifffile terminates an IFD0 string that lacked its NUL.
    """
    if raw.type == 2:
        return 2, 0, raw.data.rstrip(b"\x00")
    fmt = _TYPE_FORMATS.get(raw.type)
    if fmt is None or order == ">":
        return raw.type, raw.count, raw.data
    number = len(raw.data) // struct.calcsize(fmt)
    return raw.type, raw.count, struct.pack(f">{number}{fmt}", *struct.unpack(f"<{number}{fmt}", raw.data))


def differences(source: CarriedTags, master: CarriedTags) -> list[str]:
    """Tags of ``source`` that are missing or different in ``master`` (an empty list means all equal)."""
    problems = []
    for group in ("ifd0", "exif", "gps", "interop"):
        theirs = getattr(master, group)
        for tag, raw in getattr(source, group).items():
            if tag not in theirs:
                problems.append(f"{group} tag {tag} missing")
            elif _canonical(raw, source.byteorder) != _canonical(theirs[tag], master.byteorder):
                problems.append(f"{group} tag {tag} differs")
    if source.resolution is not None and source.resolution != master.resolution:
        problems.append(f"resolution {source.resolution} became {master.resolution}")
    return problems


def gps_position(tags: CarriedTags) -> tuple[float, float, float | None] | None:
    """Latitude, longitude (decimal degrees, south and west negative) and altitude in metres."""

    def degrees(ref_tag: int, value_tag: int, negative: str) -> float | None:
        value = tags.value("gps", value_tag)
        if not isinstance(value, tuple) or len(value) != 3 or any(part is None for part in value):
            return None
        decimal = float(value[0] + value[1] / 60 + value[2] / 3600)
        ref = tags.value("gps", ref_tag)
        return -decimal if isinstance(ref, str) and ref.upper().startswith(negative) else decimal

    latitude, longitude = degrees(1, 2, "S"), degrees(3, 4, "W")
    if latitude is None or longitude is None or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    altitude = tags.value("gps", 6)
    metres = float(altitude[0]) if isinstance(altitude, tuple) and altitude and altitude[0] is not None else None
    below = tags.value("gps", 5)
    if metres is not None and isinstance(below, bytes) and below[:1] == b"\x01":
        metres = -metres
    return round(latitude, 7), round(longitude, 7), metres
