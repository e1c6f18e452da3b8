"""Point clouds: PCD (Point Cloud Library) through Open3D, XYZ and PTS through numpy; header checks first.

PCD: Open3D reads ascii, binary and binary_compressed data (``remove_nan_points=False`` so that NaN points
are seen and refused, not silently dropped); positions stored as 32-bit floats are held as float32 (Open3D
hands back float64, the cast is exact), colours as 8-bit, normals as float32. Other PCD fields (intensity,
label, curvature ...) are not read by Open3D: they are listed in the notes, the original keeps them.

XYZ/PTS: one point per line, whitespace- or comma-separated numbers, the same count on every line; a PTS
file may start with a line holding the point count (Leica). Columns after x y z are interpreted as:
4 -> intensity; 6 -> r g b when all are integers in 0-255, else normals when they have unit length, else
plain values; 7 -> intensity r g b (PTS). Anything else is carried as ``column_4``, ``column_5`` ... values
in the master. Parsed with numpy's C parser (about 1 s per 10 million values).
"""

from __future__ import annotations

import re
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from preservation.processors.mesh_data import MeshData
from preservation.processors.mesh_header import (
    PCD,
    PTS,
    MeshHeader,
    MeshLimits,
    check_counts,
    count_lines,
    read_head,
    refusal,
)

PCD_KEYS = ("VERSION", "FIELDS", "SIZE", "TYPE", "COUNT", "WIDTH", "HEIGHT", "VIEWPOINT", "POINTS", "DATA")


@dataclass(frozen=True)
class PcdHeader:
    fields: tuple[str, ...]
    sizes: tuple[int, ...]
    types: tuple[str, ...]
    counts: tuple[int, ...]
    width: int
    height: int
    points: int
    data: str
    length: int  # bytes up to and including the DATA line

    @property
    def point_size(self) -> int:
        return sum(s * c for s, c in zip(self.sizes, self.counts, strict=True))


def parse_pcd_header(head: bytes) -> PcdHeader:
    """Parse a PCD header (VERSION ... DATA). Raises ValueError when malformed or unfinished."""
    values: dict[str, list[str]] = {}
    offset = 0
    while True:
        end = head.find(b"\n", offset)
        if end < 0:
            raise ValueError("the header has no DATA line")
        line = head[offset:end].decode("ascii", errors="replace").strip()
        offset = end + 1
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if words[0] not in PCD_KEYS:
            raise ValueError(f"unexpected header line {line[:60]!r}")
        values[words[0]] = words[1:]
        if words[0] == "DATA":
            break
    try:
        fields = tuple(values["FIELDS"])
        sizes = tuple(int(v) for v in values["SIZE"])
        types = tuple(values["TYPE"])
        counts = tuple(int(v) for v in values.get("COUNT", ["1"] * len(fields)))
        width, height = int(values["WIDTH"][0]), int(values.get("HEIGHT", ["1"])[0])
        points = int(values["POINTS"][0]) if "POINTS" in values else width * height
        data = values["DATA"][0]
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(f"a required header line is missing or not a number ({error})") from None
    if not len(fields) == len(sizes) == len(types) == len(counts):
        raise ValueError("FIELDS, SIZE, TYPE and COUNT do not have the same number of entries")
    if any(s not in (1, 2, 4, 8) for s in sizes) or any(t not in ("F", "I", "U") for t in types):
        raise ValueError("SIZE must be 1, 2, 4 or 8 and TYPE one of F, I, U")
    if min(counts, default=1) < 1 or min(width, height, points) < 0:
        raise ValueError("COUNT, WIDTH, HEIGHT and POINTS must be positive")
    if data not in ("ascii", "binary", "binary_compressed"):
        raise ValueError(f"DATA {data!r} is not ascii, binary or binary_compressed")
    return PcdHeader(fields, sizes, types, counts, width, height, points, data, offset)


def inspect_pcd(path: Path, name: str, size: int, limits: MeshLimits, fmt: str = PCD) -> MeshHeader:
    """Header checks (see ``mesh_header``); called through ``mesh_header.inspect``."""
    head = read_head(path, limits.max_header_bytes)
    try:
        header = parse_pcd_header(head)
    except ValueError as error:
        raise refusal(name, f"the PCD header is malformed ({error})") from None
    check_counts(name, "pointcloud", header.points, 0, limits, unit="points")
    if header.width * header.height != header.points:
        raise refusal(
            name,
            f"the PCD header is inconsistent: WIDTH x HEIGHT = {header.width} x {header.height} but POINTS "
            f"{header.points}",
        )
    if not {"x", "y", "z"} <= set(header.fields):
        raise refusal(name, "the PCD file has no x, y and z fields")
    body = size - header.length
    if header.data == "binary":
        needed = header.points * header.point_size
        if needed > body:
            raise refusal(name, _short(header.points, "points", needed, body))
    elif header.data == "binary_compressed":
        sizes = read_head(path, header.length + 8)[header.length :]
        if len(sizes) < 8:
            raise refusal(name, "the compressed PCD data has no size fields: the file is truncated")
        compressed, uncompressed = struct.unpack("<II", sizes)
        if uncompressed != header.points * header.point_size:
            raise refusal(
                name,
                f"the header announces {header.points} points ({header.points * header.point_size} bytes) but the "
                f"compressed block says {uncompressed} bytes: the header is wrong",
            )
        if compressed + 8 > body:
            raise refusal(name, _short(header.points, "points", compressed + 8, body))
    else:
        least = header.points * 2 * sum(header.counts)
        if least > body:
            raise refusal(name, _short(header.points, "points", least, body, text=True))
        lines = count_lines(path, header.length, stop_after=header.points)
        if lines < header.points:
            raise refusal(
                name,
                f"the header announces {header.points} points but the file holds only {lines} lines of data: the "
                "file is truncated or its header is wrong",
            )
    details = {"fields": list(header.fields), "width": header.width, "height": header.height}
    return MeshHeader(PCD, "pointcloud", header.points, 0, header.data, details)


def _short(count: int, what: str, needed: int, body: int, *, text: bool = False) -> str:
    return (
        f"the header announces {count} {what}, which need at least {needed} bytes{' as text' if text else ''}, but "
        f"the file holds only {body} bytes after its header: the file is truncated or its header is wrong"
    )


def inspect_points(path: Path, name: str, size: int, limits: MeshLimits, fmt: str) -> MeshHeader:
    """XYZ/PTS: the PTS count line against the limit first, then lines counted (streaming, stops at the limit)."""
    declared = None
    skip = 0
    if fmt == PTS:
        first = read_head(path, 64).split(b"\n", 1)[0].strip()
        if first.isdigit():
            declared, skip = int(first), 1
            check_counts(name, "pointcloud", declared, 0, limits, unit="points")
    stop = limits.max_points + skip + 1
    lines = count_lines(path, 0, stop_after=stop, nonblank=True) - skip
    if lines > limits.max_points:
        raise refusal(name, f"the file holds more than {limits.max_points} points (the limit)")
    if declared is not None and lines < declared:
        raise refusal(
            name,
            f"the first line announces {declared} points but the file holds only {lines} lines of points: the file "
            "is truncated or its count is wrong",
        )
    if lines <= 0:
        raise refusal(name, "the file holds no point")
    notes = (
        [f"the first line announces {declared} points; {lines} lines follow"] if declared not in (None, lines) else []
    )
    return MeshHeader(fmt, "pointcloud", declared or lines, 0, "ascii", {"declared": declared, "lines": lines}, notes)


def read_pcd(path: Path, name: str, header: MeshHeader, limits: MeshLimits) -> MeshData:
    """Read a PCD file already checked by ``inspect_pcd`` (Open3D). Raises ProcessingError naming ``name``."""
    import open3d as o3d  # heavy: imported only when a PCD file arrives

    parsed = parse_pcd_header(read_head(path, limits.max_header_bytes))
    cloud = o3d.io.read_point_cloud(
        str(path), format="pcd", remove_nan_points=False, remove_infinite_points=False, print_progress=False
    )
    points = np.asarray(cloud.points)
    if len(points) == 0:
        raise refusal(name, "Open3D read no point from the file (it returns an empty cloud on a damaged file)")
    if len(points) != parsed.points:
        raise refusal(name, f"Open3D read {len(points)} points but the header announces {parsed.points}")
    sizes = {f: (s, t) for f, s, t in zip(parsed.fields, parsed.sizes, parsed.types, strict=True)}
    single = all(sizes[axis] == (4, "F") for axis in "xyz")
    notes = []
    known = {"x", "y", "z", "rgb", "rgba", "normal_x", "normal_y", "normal_z", "_"}
    dropped = [f for f in parsed.fields if f not in known]
    if dropped:
        notes.append("PCD fields not carried into the master: " + ", ".join(dropped))
    colours = np.rint(np.asarray(cloud.colors) * 255).astype(np.uint8) if cloud.has_colors() else None
    normals = np.asarray(cloud.normals).astype(np.float32) if cloud.has_normals() else None
    return MeshData(
        kind="pointcloud",
        vertices=points.astype(np.float32 if single else np.float64),
        vertex_colors=colours,
        vertex_normals=normals,
        source_format=f"PCD ({parsed.data})",
        notes=notes,
    )


def read_points(path: Path, name: str, header: MeshHeader, fmt: str) -> MeshData:
    """Read XYZ or PTS text already checked by ``inspect_points``. Raises ProcessingError naming ``name``."""
    text = path.read_bytes()
    if fmt == PTS and header.details.get("declared") is not None:
        text = text.split(b"\n", 1)[1] if b"\n" in text else b""
    rows = int(header.details.get("lines") or 0)
    first = text.lstrip().split(b"\n", 1)[0].strip()
    if not rows or not first:
        raise refusal(name, "the file holds no point")
    columns = len(_SEPARATORS.split(first))
    if columns < 3:
        raise refusal(name, f"the first line holds {columns} values; x, y and z are needed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # raised when parsing stops early: checked below
        values = np.fromstring(text.replace(b",", b" "), dtype=np.float64, sep=" ")
    if values.size != rows * columns:
        raise refusal(
            name,
            f"expected {rows} lines of {columns} numbers ({rows * columns} values) but read {values.size}: "
            "a line holds something other than numbers, or the lines differ in length",
        )
    table = values.reshape(rows, columns)
    data = MeshData(kind="pointcloud", vertices=np.ascontiguousarray(table[:, :3]), source_format=fmt.upper())
    _interpret(table[:, 3:], data)
    return data


_SEPARATORS = re.compile(rb"[\s,]+")


def _interpret(extra: np.ndarray, data: MeshData) -> None:
    width = extra.shape[1]
    integral = extra.size == 0 or np.array_equal(extra, np.rint(extra))
    if width == 4 and np.array_equal(extra[:, 1:], np.rint(extra[:, 1:])) and _bytes(extra[:, 1:]):
        data.vertex_attributes["intensity"] = np.ascontiguousarray(extra[:, 0])
        data.vertex_colors = extra[:, 1:].astype(np.uint8)
        data.notes.append("columns 4-7 read as intensity, red, green, blue (PTS)")
    elif width == 1:
        data.vertex_attributes["intensity"] = np.ascontiguousarray(extra[:, 0])
        data.notes.append("column 4 read as intensity")
    elif width == 3 and integral and _bytes(extra):
        data.vertex_colors = extra.astype(np.uint8)
        data.notes.append("columns 4-6 read as red, green, blue")
    elif width == 3 and np.allclose(np.linalg.norm(extra, axis=1), 1.0, atol=1e-3):
        data.vertex_normals = extra.astype(np.float32)
        data.notes.append("columns 4-6 read as normals (unit length); held as float32")
    else:
        for index in range(width):
            data.vertex_attributes[f"column_{index + 4}"] = np.ascontiguousarray(extra[:, index])
        if width:
            data.notes.append(f"columns 4-{width + 3} carried as plain values column_4 ... column_{width + 3}")


def _bytes(values: np.ndarray) -> bool:
    return bool(values.size) and values.min() >= 0 and values.max() <= 255
