"""PLY: header parsing and checks, then reading with plyfile into MeshData (dtypes kept as stored).

What is carried: x/y/z as stored (float32 or float64; integer coordinates become float64, exactly), colours
(red/green/blue[/alpha], r/g/b[/a] or diffuse_*: uchar as is, floats in [0, 1] scaled to uchar), normals
(nx/ny/nz or normal_x/...), texture coordinates (s/t, u/v, texture_u/texture_v, texture_s/texture_t) or
MeshLab's per-face-corner ``texcoord`` lists (vertices are then split where a corner's UV differs), faces
(``vertex_indices``/``vertex_index`` lists of any size; mixed sizes are fan-triangulated), ``texnumber``,
``comment TextureFile`` textures, and every other scalar vertex property (intensity, confidence ...) under
its own name. Other elements (edges, cameras, range grids) and face properties are listed in the notes:
the original keeps them.

Speed: a binary face list is memory-mapped when every face has the size of the first one (plyfile's
``known_list_len``); otherwise plyfile reads face by face (about 1-2 s per million faces). ASCII PLY is
parsed line by line by plyfile (several seconds per million lines).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from plyfile import PlyData, PlyParseError

from preservation.processors.mesh_data import MeshData, fan_triangulate
from preservation.processors.mesh_header import (
    PLY,
    MeshHeader,
    MeshLimits,
    check_counts,
    count_lines,
    read_head,
    refusal,
)
from preservation.processors.mesh_read_files import ModelFolder, collect_textures

PLY_TYPES = {
    "char": "i1",
    "int8": "i1",
    "uchar": "u1",
    "uint8": "u1",
    "short": "i2",
    "int16": "i2",
    "ushort": "u2",
    "uint16": "u2",
    "int": "i4",
    "int32": "i4",
    "uint": "u4",
    "uint32": "u4",
    "float": "f4",
    "float32": "f4",
    "double": "f8",
    "float64": "f8",
}
PLY_ENCODINGS = ("ascii", "binary_little_endian", "binary_big_endian")


@dataclass(frozen=True)
class PlyProperty:
    name: str
    dtype: str  # numpy kind+size, e.g. "f4"; for a list, the item type
    list_count: str | None = None  # numpy type of a list's length field, None for a scalar

    @property
    def min_items(self) -> int:
        """A face's vertex index list needs 3 entries; other lists may be empty."""
        return 3 if self.list_count and self.name in ("vertex_indices", "vertex_index") else 0

    @property
    def min_size(self) -> int:
        if self.list_count:
            return int(self.list_count[1]) + self.min_items * int(self.dtype[1])
        return int(self.dtype[1])


@dataclass(frozen=True)
class PlyElement:
    name: str
    count: int
    properties: tuple[PlyProperty, ...]

    @property
    def has_lists(self) -> bool:
        return any(p.list_count for p in self.properties)

    @property
    def min_row_bytes(self) -> int:
        return sum(p.min_size for p in self.properties)


@dataclass(frozen=True)
class PlyHeader:
    encoding: str
    elements: tuple[PlyElement, ...]
    comments: tuple[str, ...]
    length: int  # bytes up to and including the end_header line

    def element(self, name: str) -> PlyElement | None:
        return next((e for e in self.elements if e.name == name), None)

    @property
    def kind(self) -> str:
        face = self.element("face")
        return "mesh" if face is not None and face.count > 0 else "pointcloud"

    @property
    def texture_files(self) -> list[str]:
        return [c.split(None, 1)[1].strip() for c in self.comments if c.startswith("TextureFile ") and c[12:].strip()]


class PlyHeaderError(ValueError):
    """The PLY header is malformed (or, with ``incomplete``, not finished within the bytes given)."""

    def __init__(self, message: str, *, incomplete: bool = False) -> None:
        super().__init__(message)
        self.incomplete = incomplete


_PLY_END = re.compile(rb"end_header[ \t]*(\r\n|\n|\r)")


def parse_ply_header(head: bytes) -> PlyHeader:
    """Parse the header at the start of ``head``. Raises PlyHeaderError (``incomplete`` if no end_header)."""
    end = _PLY_END.search(head)
    if end is None:
        raise PlyHeaderError("the header has no end_header line", incomplete=True)
    text = head[: end.start()].decode("ascii", errors="replace")
    lines = [line.strip() for line in re.split(r"\r\n|\n|\r", text)]
    if not lines or lines[0] != "ply":
        raise PlyHeaderError("the file does not start with 'ply'")
    encoding = ""
    elements: list[tuple[str, int, list[PlyProperty]]] = []
    comments: list[str] = []
    for number, line in enumerate(lines[1:], start=2):
        words = line.split()
        if not words:
            continue
        keyword = words[0]
        if keyword in ("comment", "obj_info"):
            comments.append(line[len(keyword) :].strip())
        elif keyword == "format":
            if len(words) != 3 or words[1] not in PLY_ENCODINGS or encoding:
                raise PlyHeaderError(f"header line {number} is not a valid format line: {line[:80]!r}")
            encoding = words[1]
        elif keyword == "element":
            if len(words) != 3 or not words[2].isdigit():
                raise PlyHeaderError(f"header line {number} is not a valid element line: {line[:80]!r}")
            elements.append((words[1], int(words[2]), []))
        elif keyword == "property" and elements:
            elements[-1][2].append(_ply_property(words, line, number))
        else:
            raise PlyHeaderError(f"header line {number} is not understood: {line[:80]!r}")
    if not encoding:
        raise PlyHeaderError("the header has no format line")
    names = [name for name, _, _ in elements]
    if len(set(names)) != len(names):
        raise PlyHeaderError(f"the header declares an element twice ({', '.join(names)})")
    built = tuple(PlyElement(name, count, tuple(props)) for name, count, props in elements)
    return PlyHeader(encoding, built, tuple(comments), end.end())


def _ply_property(words: list[str], line: str, number: int) -> PlyProperty:
    if len(words) == 5 and words[1] == "list" and words[2] in PLY_TYPES and words[3] in PLY_TYPES:
        count_type = PLY_TYPES[words[2]]
        if count_type[0] == "f":
            raise PlyHeaderError(f"header line {number}: a list length cannot be a float: {line[:80]!r}")
        return PlyProperty(words[4], PLY_TYPES[words[3]], count_type)
    if len(words) == 3 and words[1] in PLY_TYPES:
        return PlyProperty(words[2], PLY_TYPES[words[1]])
    raise PlyHeaderError(f"header line {number} is not a valid property line: {line[:80]!r}")


def inspect_ply(path: Path, name: str, size: int, limits: MeshLimits, fmt: str = PLY) -> MeshHeader:
    """Header checks (see ``mesh_header``); called through ``mesh_header.inspect``."""
    head = read_head(path, limits.max_header_bytes)
    try:
        header = parse_ply_header(head)
    except PlyHeaderError as error:
        if error.incomplete and len(head) >= limits.max_header_bytes:
            raise refusal(name, f"the PLY header is longer than {limits.max_header_bytes} bytes") from None
        raise refusal(name, f"the PLY header is malformed ({error})") from None
    vertex = header.element("vertex")
    face = header.element("face")
    if vertex is None:
        raise refusal(name, "the PLY header declares no vertex element")
    xyz = {p.name for p in vertex.properties if not p.list_count}
    if not {"x", "y", "z"} <= xyz:
        raise refusal(name, "the PLY vertex element has no x, y and z properties")
    kind = header.kind
    faces = face.count if face is not None else 0
    check_counts(name, kind, vertex.count, faces, limits, unit="vertices")
    body = size - header.length
    notes: list[str] = []
    if header.encoding == "ascii":
        _check_ascii_body(path, name, header, body, limits)
    else:
        needed = sum(e.count * e.min_row_bytes for e in header.elements)
        exact = not any(e.has_lists for e in header.elements)
        if needed > body:
            raise refusal(
                name,
                f"the header announces {_counts(header)}, which need {'' if exact else 'at least '}{needed} bytes, "
                f"but the file holds only {body} bytes after its header: the file is truncated or its header is "
                "wrong",
            )
        if exact and body > needed:
            notes.append(f"{body - needed} bytes after the last declared element are ignored")
    details = {
        "elements": {e.name: e.count for e in header.elements},
        "vertex_properties": [p.name for p in vertex.properties],
        "texture_files": header.texture_files,
    }
    return MeshHeader(PLY, kind, vertex.count, faces, header.encoding, details, notes)


def _counts(header: PlyHeader) -> str:
    return " and ".join(f"{e.count} {e.name} elements" for e in header.elements if e.count)


def _check_ascii_body(path: Path, name: str, header: PlyHeader, body: int, limits: MeshLimits) -> None:
    """Each ASCII value takes at least 2 bytes (a digit and a separator) and each element a line of its own."""
    rows = sum(e.count for e in header.elements)
    least = sum(e.count * 2 * sum(1 + p.min_items for p in e.properties) for e in header.elements)
    if least > body:
        raise refusal(
            name,
            f"the header announces {_counts(header)}, which need at least {least} bytes as text, but the file "
            f"holds only {body} bytes after its header: the file is truncated or its header is wrong",
        )
    lines = count_lines(path, header.length, stop_after=rows)
    if lines < rows:
        raise refusal(
            name,
            f"the header announces {_counts(header)} ({rows} lines of data) but the file holds only {lines} lines "
            "after its header: the file is truncated or its header is wrong",
        )


# ------------------------------------------------------------------------------------------------ reading

_COLOUR_NAMES = (
    ("red", "green", "blue", "alpha"),
    ("r", "g", "b", "a"),
    ("diffuse_red", "diffuse_green", "diffuse_blue", "diffuse_alpha"),
)
_NORMAL_NAMES = (("nx", "ny", "nz"), ("normal_x", "normal_y", "normal_z"))
_UV_NAMES = (("s", "t"), ("u", "v"), ("texture_u", "texture_v"), ("texture_s", "texture_t"))
_FACE_LISTS = ("vertex_indices", "vertex_index")
_PLY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class _Faces:
    faces: np.ndarray | None
    texture: np.ndarray | None
    corner_uv: np.ndarray | None  # (m, k, 2) MeshLab per-corner texcoords


def read_ply(path: Path, name: str, folder: ModelFolder | None, workdir: Path, limits: MeshLimits) -> MeshData:
    """Read a PLY already checked by ``inspect_ply``. Raises ProcessingError (permanent) naming ``name``."""
    header = parse_ply_header(read_head(path, limits.max_header_bytes))
    known = _known_list_lengths(path, header)
    try:
        try:
            ply = PlyData.read(str(path), known_list_len=known)
        except PlyParseError:
            if not known:
                raise
            ply = PlyData.read(str(path))  # faces of several sizes (or a damaged file): plyfile's face-by-face path
    except OverflowError as error:  # an ASCII value outside its declared type: 200 for a char (found by tests/fuzz)
        raise refusal(name, f"the PLY data cannot be read: a value does not fit its declared type ({error})") from None
    except (PlyParseError, ValueError, TypeError, OSError, EOFError, struct.error) as error:
        raise refusal(name, f"the PLY data cannot be read ({error})") from None
    notes: list[str] = []
    vertex = ply["vertex"].data
    used: set[str] = set()
    vertices = _coordinates(vertex, notes)
    used.update("xyz")
    colours = _colours(vertex, used, notes)
    normals = _float_triple(vertex, _NORMAL_NAMES, used, notes, "normals")
    uv = _float_triple(vertex, _UV_NAMES, used, notes, "texture coordinates")
    attributes = {}
    for field_name in vertex.dtype.names:
        if field_name in used:
            continue
        column = vertex[field_name]
        if column.dtype.kind == "O" or column.ndim != 1 or not _PLY_NAME.match(field_name):
            notes.append(f"the vertex list property {field_name!r} is not carried into the master")
            continue
        attributes[field_name] = np.ascontiguousarray(column, dtype=column.dtype.newbyteorder("="))
    faces = _faces(ply, name, notes) if "face" in ply and ply["face"].count else _Faces(None, None, None)
    dropped = [f"{e.name} ({e.count})" for e in ply.elements if e.name not in ("vertex", "face")]
    if dropped:
        notes.append("elements not carried into the master: " + ", ".join(dropped))
    data = MeshData(
        kind="mesh" if faces.faces is not None else "pointcloud",
        vertices=vertices,
        faces=faces.faces,
        vertex_colors=colours,
        vertex_normals=normals,
        uv=uv,
        source_format=f"PLY ({header.encoding})",
        notes=notes,
        face_texture=faces.texture,
        vertex_attributes=attributes,
    )
    if faces.corner_uv is not None:
        if uv is None:
            _split_corners(data, faces.corner_uv)
        else:
            notes.append("per-corner texcoord lists ignored: the vertices carry their own texture coordinates")
    if header.texture_files:
        if folder is None:
            notes.append(
                "texture files named in the header were not uploaded with the file: " + ", ".join(header.texture_files)
            )
        else:
            found = [folder.find(t, "texture", name) for t in header.texture_files]
            data.textures = collect_textures([p for p in found if p is not None], workdir, limits, name)
            notes.extend(folder.notes)
    return data


def _known_list_lengths(path: Path, header: PlyHeader) -> dict:
    """For binary files: the face lists' sizes in the first face, so plyfile can memory-map the faces."""
    if header.encoding == "ascii":
        return {}
    offset = header.length
    for element in header.elements:
        if element.name == "face":
            break
        if element.has_lists:
            return {}
        offset += element.count * element.min_row_bytes
    else:
        return {}
    face = header.element("face")
    if face is None or not face.count or not face.has_lists:
        return {}
    order = "<" if header.encoding == "binary_little_endian" else ">"
    lengths = {}
    with path.open("rb") as stream:
        stream.seek(offset)
        row = stream.read(4096)
    position = 0
    for prop in face.properties:
        if prop.list_count is None:
            position += int(prop.dtype[1])
            continue
        size = int(prop.list_count[1])
        if position + size > len(row):
            return {}
        (count,) = struct.unpack_from(order + {1: "B", 2: "H", 4: "I"}[size], row, position)
        if prop.list_count[0] == "i" and count >= 1 << (8 * size - 1):
            return {}
        lengths[prop.name] = count
        position += size + count * int(prop.dtype[1])
    return {"face": lengths}


def _native(column: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(column, dtype=column.dtype.newbyteorder("="))


def _coordinates(vertex: np.ndarray, notes: list[str]) -> np.ndarray:
    kinds = {vertex[c].dtype.newbyteorder("=").str[1:] for c in "xyz"}
    if kinds <= {"f4"}:
        target = np.float32
    else:
        target = np.float64
        if not kinds <= {"f8"}:
            notes.append(f"coordinates stored as {'/'.join(sorted(kinds))} are held as float64 (exactly)")
    vertices = np.empty((len(vertex), 3), dtype=target)
    for axis, column in enumerate("xyz"):
        vertices[:, axis] = vertex[column]
    return vertices


def _colours(vertex: np.ndarray, used: set[str], notes: list[str]) -> np.ndarray | None:
    names = vertex.dtype.names
    for group in _COLOUR_NAMES:
        if not all(c in names for c in group[:3]):
            continue
        channels = list(group[:3]) + ([group[3]] if group[3] in names else [])
        kinds = {vertex[c].dtype.kind + str(vertex[c].dtype.itemsize) for c in channels}
        if kinds == {"u1"}:
            used.update(channels)
            return np.column_stack([vertex[c] for c in channels]).astype(np.uint8)
        if kinds <= {"f4", "f8"}:
            values = np.column_stack([vertex[c] for c in channels]).astype(np.float64)
            if np.isfinite(values).all() and values.min(initial=0) >= 0 and values.max(initial=0) <= 1:
                used.update(channels)
                notes.append("colours stored as floats in [0, 1] were scaled to 8-bit")
                return np.rint(values * 255).astype(np.uint8)
        notes.append(f"colour properties {', '.join(channels)} ({', '.join(sorted(kinds))}) are carried as they are")
        return None
    return None


def _float_triple(vertex: np.ndarray, groups: tuple, used: set[str], notes: list[str], what: str) -> np.ndarray | None:
    names = vertex.dtype.names
    for group in groups:
        if all(c in names for c in group):
            kinds = {vertex[c].dtype.kind + str(vertex[c].dtype.itemsize) for c in group}
            if kinds - {"f4", "f8"}:
                continue  # not floats: carried as plain vertex attributes
            if kinds != {"f4"}:
                notes.append(f"{what} stored as double precision are held as float32")
            used.update(group)
            return np.column_stack([vertex[c] for c in group]).astype(np.float32)
    return None


def _faces(ply: PlyData, name: str, notes: list[str]) -> _Faces:
    face = ply["face"].data
    names = face.dtype.names
    key = next((n for n in _FACE_LISTS if n in names), None)
    if key is None:
        raise refusal(name, "the PLY face element has no vertex_indices list")
    lists = face[key]
    texture = None
    if "texnumber" in names and face["texnumber"].dtype.kind in "iu":
        texture = face["texnumber"].astype(np.int32)
    corner = face["texcoord"] if "texcoord" in names else None
    dropped = [n for n in names if n not in (key, "texnumber", "texcoord")]
    if dropped:
        notes.append("face properties not carried into the master: " + ", ".join(dropped))
    if lists.dtype != object:  # memory-mapped: every face has the same size
        faces = np.asarray(lists, dtype=np.int64)
        corner_uv = None
        if corner is not None and corner.dtype != object and corner.shape[1] == 2 * faces.shape[1]:
            corner_uv = np.asarray(corner, dtype=np.float32).reshape(len(faces), faces.shape[1], 2)
        return _Faces(faces, texture, corner_uv)
    sizes = np.fromiter((len(f) for f in lists), dtype=np.int64, count=len(lists))
    keep = sizes >= 3
    if not keep.all():
        notes.append(f"{int((~keep).sum())} faces with fewer than 3 vertices are not carried into the master")
        lists, sizes = lists[keep], sizes[keep]
        texture = texture[keep] if texture is not None else None
        corner = corner[keep] if corner is not None else None
    if not len(lists):
        return _Faces(None, None, None)
    if (sizes == sizes[0]).all():
        faces = np.stack(lists).astype(np.int64)
        corner_uv = None
        if corner is not None and all(len(c) == 2 * sizes[0] for c in corner):
            corner_uv = np.stack(corner).astype(np.float32).reshape(len(faces), int(sizes[0]), 2)
        return _Faces(faces, texture, corner_uv)
    triangles, owner = fan_triangulate(list(lists))
    notes.append(
        f"faces of {int(sizes.min())} to {int(sizes.max())} vertices were fan-triangulated into {len(owner)} triangles "
        "(the original keeps the polygons)"
    )
    if corner is not None:
        notes.append("per-corner texcoord lists of mixed polygons are not carried into the master")
    return _Faces(triangles, texture[owner] if texture is not None else None, None)


def _split_corners(data: MeshData, corner_uv: np.ndarray) -> None:
    """MeshLab stores UVs per face corner; the master stores them per vertex: split vertices where they differ."""
    faces = data.faces
    k = faces.shape[1]
    keys = np.empty(faces.size, dtype=[("v", "<i8"), ("u", "<f4"), ("w", "<f4")])
    keys["v"] = faces.reshape(-1)
    keys["u"] = corner_uv.reshape(-1, 2)[:, 0]
    keys["w"] = corner_uv.reshape(-1, 2)[:, 1]
    unique, inverse = np.unique(keys, return_inverse=True)
    before = data.vertex_count
    unused = np.setdiff1d(np.arange(before), unique["v"])  # vertices no face uses keep UV (0, 0)
    source = np.concatenate([unique["v"], unused])
    u = np.concatenate([unique["u"], np.zeros(len(unused), np.float32)])
    w = np.concatenate([unique["w"], np.zeros(len(unused), np.float32)])
    data.vertices = data.vertices[source]
    data.vertex_colors = data.vertex_colors[source] if data.vertex_colors is not None else None
    data.vertex_normals = data.vertex_normals[source] if data.vertex_normals is not None else None
    data.vertex_attributes = {n: a[source] for n, a in data.vertex_attributes.items()}
    data.uv = np.column_stack([u, w]).astype(np.float32)
    data.faces = inverse.reshape(-1, k).astype(np.int64)
    data.notes.append(
        f"per-corner texture coordinates moved to the vertices: {before} vertices became {data.vertex_count} "
        "(a vertex is split where its corners have different UVs)"
    )
