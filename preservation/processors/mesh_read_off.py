"""OFF (Object File Format, Geomview): header checks and a reader into MeshData.

Supported: OFF, COFF (vertex colours: 0-255 integers or 0-1 floats), NOFF (normals), STOFF (texture
coordinates) and their combinations, ASCII only ("OFF BINARY", 4OFF and nOFF of another dimension are
refused). Vertex order per line: x y z [nx ny nz] [r g b [a]] [s t]. Face lines "k i1 ... ik [colour]": face
colours are not carried (noted); faces of several sizes are fan-triangulated. Coordinates parsed from text
are float64. Reading keeps the whole text in memory: OFF files are small in practice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np

from preservation.processors.mesh_data import MeshData, fan_triangulate
from preservation.processors.mesh_header import (
    OFF,
    MeshHeader,
    MeshLimits,
    check_counts,
    count_lines,
    read_head,
    refusal,
)

OFF_KEYWORD = re.compile(r"^(ST)?(C)?(N)?(4)?(n)?OFF$")


@dataclass(frozen=True)
class OffHeader:
    keyword: str
    vertices: int
    faces: int
    edges: int
    dimension: int
    data_line: int  # 0-based index (in the comment-free line list) of the first vertex line


def parse_off_header(lines: list[str]) -> OffHeader:
    """``lines``: the file's lines without comments and blank lines. Raises ValueError when malformed."""
    if not lines:
        raise ValueError("the file is empty")
    words = lines[0].split()
    keyword = words[0]
    match = OFF_KEYWORD.match(keyword)
    if match is None:
        raise ValueError(f"the first word is {keyword[:20]!r}, not OFF")
    if len(words) > 1 and words[1].upper() == "BINARY":
        raise ValueError("binary OFF is not supported")
    rest, index = words[1:], 1
    dimension = 3
    if match.group(5):  # nOFF: the dimension comes first
        if not rest:
            rest, index = lines[1].split(), 2
        dimension, rest = int(rest[0]), rest[1:]
    if match.group(4) or dimension != 3:
        raise ValueError("only 3D OFF files are supported (4OFF/nOFF with another dimension are not)")
    if len(rest) < 3:
        if len(lines) <= index:
            raise ValueError("the counts line is missing")
        rest, index = lines[index].split(), index + 1
    if len(rest) < 2 or not all(w.isdigit() for w in rest[:3]):
        raise ValueError(f"the counts line is not 'vertices faces edges': {' '.join(rest)[:80]!r}")
    vertices, faces = int(rest[0]), int(rest[1])
    edges = int(rest[2]) if len(rest) > 2 else 0
    return OffHeader(keyword, vertices, faces, edges, dimension, index)


def inspect_off(path: Path, name: str, size: int, limits: MeshLimits, fmt: str = OFF) -> MeshHeader:
    """Header checks (see ``mesh_header``); called through ``mesh_header.inspect``."""
    head = read_head(path, min(size, limits.max_header_bytes))
    lines = list(islice(content_lines(head.decode("latin-1")), 4))
    try:
        header = parse_off_header(lines)
    except (ValueError, IndexError) as error:
        raise refusal(name, f"the OFF header is malformed ({error})") from None
    kind = "mesh" if header.faces else "pointcloud"
    check_counts(name, kind, header.vertices, header.faces, limits, unit="vertices")
    rows = header.vertices + header.faces
    lines_found = count_lines(path, 0, stop_after=rows + header.data_line + 1)
    if lines_found < rows + header.data_line:
        raise refusal(
            name,
            f"the header announces {header.vertices} vertices and {header.faces} faces ({rows} lines) but the file "
            f"holds only {lines_found} lines: the file is truncated or its header is wrong",
        )
    return MeshHeader(OFF, kind, header.vertices, header.faces, "ascii", {"keyword": header.keyword})


def content_lines(text: str) -> Iterator[str]:
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            yield line


def read_off(path: Path, name: str, limits: MeshLimits) -> MeshData:
    """Read an OFF file already checked by ``inspect_off``. Raises ProcessingError naming ``name``."""
    lines = list(content_lines(path.read_bytes().decode("latin-1")))
    try:
        header = parse_off_header(lines[:4])
    except (ValueError, IndexError) as error:
        raise refusal(name, f"the OFF header is malformed ({error})") from None
    match = OFF_KEYWORD.match(header.keyword)
    has_uv, has_colour, has_normal = bool(match.group(1)), bool(match.group(2)), bool(match.group(3))
    start = header.data_line
    vertex_lines = lines[start : start + header.vertices]
    face_lines = lines[start + header.vertices : start + header.vertices + header.faces]
    if len(vertex_lines) < header.vertices or len(face_lines) < header.faces:
        raise refusal(name, "the file holds fewer vertex or face lines than its header announces: it is truncated")
    try:
        table = np.array([line.split() for line in vertex_lines], dtype=np.float64)
    except ValueError:
        raise refusal(name, "a vertex line is not a row of numbers (or the rows differ in length)") from None
    if table.ndim != 2 or table.shape[1] < 3:
        raise refusal(name, "vertex lines must hold at least x, y and z")
    notes: list[str] = []
    column = 3
    normals = colours = uv = None
    if has_normal:
        normals, column = table[:, column : column + 3].astype(np.float32), column + 3
    if has_colour:
        width = table.shape[1] - column - (2 if has_uv else 0)
        if width not in (3, 4):
            raise refusal(name, f"a COFF vertex line needs 3 or 4 colour values, not {width}")
        colours, column = _colours(table[:, column : column + width], notes), column + width
    if has_uv:
        uv, column = table[:, column : column + 2].astype(np.float32), column + 2
    if table.shape[1] != column:
        notes.append(f"{table.shape[1] - column} extra values per vertex line are not carried into the master")
    faces = _faces(face_lines, name, notes)
    return MeshData(
        kind="mesh" if faces is not None else "pointcloud",
        vertices=np.ascontiguousarray(table[:, :3]),
        faces=faces,
        vertex_colors=colours,
        vertex_normals=normals,
        uv=uv,
        source_format=f"OFF ({header.keyword})",
        notes=notes,
    )


def _colours(values: np.ndarray, notes: list[str]) -> np.ndarray:
    if values.size and values.max() <= 1.0 and not np.array_equal(values, np.rint(values)):
        notes.append("colours written as floats in [0, 1] were scaled to 8-bit")
        return np.rint(np.clip(values, 0, 1) * 255).astype(np.uint8)
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _faces(face_lines: list[str], name: str, notes: list[str]) -> np.ndarray | None:
    if not face_lines:
        return None
    polygons = []
    extra = 0
    for number, line in enumerate(face_lines):
        words = line.split()
        try:
            size = int(words[0])
            polygon = np.array(words[1 : 1 + size], dtype=np.int64)
        except (ValueError, IndexError, OverflowError):  # OverflowError: an index beyond int64 (found by tests/fuzz)
            raise refusal(name, f"face {number} is not 'count index ...': {line[:60]!r}") from None
        if len(polygon) != size or size < 3:
            raise refusal(name, f"face {number} announces {size} vertices but lists {len(polygon)} (3 or more needed)")
        extra += len(words) > size + 1
        polygons.append(polygon)
    if extra:
        notes.append(f"{extra} face colours are not carried into the master")
    sizes = {len(p) for p in polygons}
    if len(sizes) == 1:
        return np.stack(polygons)
    triangles, _ = fan_triangulate(polygons)
    notes.append(
        f"faces of {min(sizes)} to {max(sizes)} vertices were fan-triangulated into {len(triangles)} triangles "
        "(the original keeps the polygons)"
    )
    return triangles
