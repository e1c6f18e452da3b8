"""Recognising 3D models, point clouds, MTL files and model zips from their first 64 KB and their size.

fido has PRONOM signatures for PLY, ASCII STL, OBJ (decimal coordinates only), MTL, glTF and GLB, and none
for binary STL, OFF, PCD, XYZ or PTS; so every 3D format is checked here by its structure, never its name:
PLY magic + format line (and the header's face count: no faces makes a point cloud); binary STL's
84 + 50 x triangles == size; ASCII STL's "solid" + "facet"; OFF's keyword + counts; PCD's header lines;
glTF's ``"asset"`` version; GLB's magic + version; OBJ's line keywords with numeric ``v`` lines; XYZ/PTS lines
of 3 to 16 numbers (PTS: a count line first); a zip listing a model file. ``preservation.formats`` turns the
result into an Identification (PUID or local key, name, MIME, processor key).
"""

from __future__ import annotations

import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from preservation.processors import mesh_header as mh
from preservation.processors.mesh_read_files import MODEL_SUFFIXES, declared_members, ignored_member

_HEAD = 64 * 1024
_PLY_MAGIC = re.compile(rb"\Aply(?:\r\n|\n|\r)format (?:ascii|binary_little_endian|binary_big_endian) 1\.0")
_OBJ_WORDS = {"v", "vt", "vn", "vp", "f", "l", "p", "o", "g", "s", "mtllib", "usemtl", "cstype", "deg", "curv"}
_OBJ_WORDS |= {"curv2", "surf", "parm", "trim", "hole", "end", "bmat", "step", "con", "mg", "lod", "shadow_obj"}
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^[+-]?(?:nan|inf)$", re.IGNORECASE)
_SPLIT = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class Sniffed3D:
    """A 3D format recognised from content. ``certain`` False: routed by name only (a damaged binary STL)."""

    fmt: str  # mesh_header format id
    format_key: str | None  # "mesh", "pointcloud", or None (kept as received); for a local key: see LOCAL_FORMATS
    puid: str  # PRONOM PUID, "" for a local format
    local_key: str | None
    format_name: str  # "" for a local key (its name is in LOCAL_FORMATS)
    certain: bool = True


def sniff_3d(path: Path, original_name: str = "") -> Sniffed3D | None:
    """Recognise a 3D model, point cloud, MTL or model zip from its first 64 KB and size; None otherwise."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as stream:
        head = stream.read(_HEAD)
    if not head:
        return None
    if head[:4] == b"glTF" and len(head) >= 8:
        (version,) = struct.unpack_from("<I", head, 4)
        if version == 2:
            return Sniffed3D(mh.GLB, "mesh", "fmt/1316", None, "GL Transmission Format (Binary) 2.0")
        return _local(mh.GLB, "local/glb1")
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _sniff_zip(path)
    if _PLY_MAGIC.match(head):
        return _sniff_ply(head)
    if head.startswith(b"# .PCD") or re.match(rb"VERSION\s", head) and re.search(rb"^FIELDS\s", head, re.M):
        return _local(mh.PCD, "local/pcd")  # before the binary check: PCD bodies may be binary
    if size >= 84 and 84 + 50 * struct.unpack_from("<I", head, 80)[0] == size:
        return Sniffed3D(mh.STL_BINARY, "mesh", "fmt/865", None, "STL (Standard Tessellation Language) Binary")
    if b"\0" in head[:8192]:
        if Path(original_name).suffix.lower() == ".stl" and size >= 84:  # a damaged binary STL: let it be refused
            name = "STL (Standard Tessellation Language) Binary (size does not match its triangle count)"
            return Sniffed3D(mh.STL_BINARY, "mesh", "fmt/865", None, name, certain=False)
        return None
    text = head.decode("latin-1")
    tail = _tail(path, size) if len(head) == _HEAD else ""
    return _sniff_text(text, complete=len(head) < _HEAD, tail=tail)


def _local(fmt: str, key: str) -> Sniffed3D:
    """A format without PUID: ``preservation.formats.LOCAL_FORMATS`` documents the key, name and policy."""
    return Sniffed3D(fmt, None, "", key, "")


def _sniff_ply(head: bytes) -> Sniffed3D:
    from preservation.processors.mesh_read_ply import PlyHeaderError, parse_ply_header

    encoding = head.split(b"format ", 1)[1].split(b" ", 1)[0].decode("ascii")
    name = f"Polygon File Format ({encoding.replace('_', ' ')})"
    try:
        kind = parse_ply_header(head).kind
    except PlyHeaderError:
        kind = "mesh"  # a damaged header: the processor refuses it with the precise reason
    return Sniffed3D(mh.PLY, kind, "fmt/831", None, name + (", point cloud" if kind == "pointcloud" else ""))


def _sniff_zip(path: Path) -> Sniffed3D | None:
    """A zip holding a model file (by the member's suffix; the processor checks its content)."""
    declared = declared_members(path)
    if declared is None or declared > 10_000:
        return None  # too many members to list cheaply: a plain zip, kept as received
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    models = [n for n in names if PurePosixPath(n).suffix.lower() in MODEL_SUFFIXES and not ignored_member(n)]
    if not models:
        return None
    shown = models[0][:80] + (f" and {len(models) - 1} other model files" if len(models) > 1 else "")
    return Sniffed3D(mh.ZIP, "mesh", "x-fmt/263", None, f"ZIP Format (containing {shown})")


def _tail(path: Path, size: int) -> str:
    with path.open("rb") as stream:
        stream.seek(max(0, size - _HEAD))
        return stream.read().decode("latin-1")


def _sniff_text(text: str, *, complete: bool, tail: str) -> Sniffed3D | None:
    stripped = text.lstrip("\ufeff \t\r\n")
    lines = stripped.splitlines()
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut at 64 KB
    content = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not content:
        return None
    words = content[0].split()
    if re.match(r"solid\b", stripped) and ("facet" in text or "endsolid" in text):
        return Sniffed3D(mh.STL_ASCII, "mesh", "x-fmt/108", None, "STL (Standard Tessellation Language) ASCII")
    if _OFF_KEYWORD.match(words[0]) and _off_counts(content):
        return _local(mh.OFF, "local/off")
    if stripped.startswith("# .PCD") or (
        words[0] in ("VERSION", "FIELDS") and re.search(r"^FIELDS\s", stripped, re.M) and "DATA" in stripped
    ):
        return _local(mh.PCD, "local/pcd")
    if stripped.startswith("{") and '"asset"' in text + tail:
        found = re.search(r'"asset"\s*:\s*\{[^}]*?"version"\s*:\s*"([^"]*)"', text + tail)
        version = found.group(1) if found else ""
        if version.startswith("2."):
            return Sniffed3D(mh.GLTF, "mesh", "fmt/1315", None, "GL Transmission Format (Text) 2.0")
        if version:
            return Sniffed3D(mh.GLTF, None, "fmt/1314", None, f"GL Transmission Format (Text) {version}")
        return None
    if re.search(r"^\s*newmtl\s", text, re.M) and not re.search(r"^\s*[vf]\s", text, re.M):
        return Sniffed3D(mh.MTL, None, "fmt/1211", None, "Wavefront Material Template Library")
    if _looks_obj(content):
        return Sniffed3D(mh.OBJ, "mesh", "fmt/1210", None, "Wavefront OBJ File")
    return _sniff_points(content)


_OFF_KEYWORD = re.compile(r"^(ST)?C?N?4?n?OFF$")


def _off_counts(content: list[str]) -> bool:
    words = content[0].split()[1:] or (content[1].split() if len(content) > 1 else [])
    if words and words[0].upper() == "BINARY":
        return True  # refused by the processor with the reason
    return len(words) >= 2 and all(w.isdigit() for w in words[:3])


def _looks_obj(content: list[str]) -> bool:
    known = vertices = 0
    for line in content:
        words = line.split()
        if words[0] in _OBJ_WORDS:
            known += 1
            if words[0] == "v" and len(words) >= 4 and all(_NUMBER.match(w) for w in words[1:4]):
                vertices += 1
    return vertices > 0 and known >= 0.9 * len(content)


def _sniff_points(content: list[str]) -> Sniffed3D | None:
    first = _SPLIT.split(content[0])
    body = content[1:] if len(first) == 1 and first[0].isdigit() else content
    if not body:
        return None
    widths = set()
    for line in body:
        values = _SPLIT.split(line)
        if not all(_NUMBER.match(v) for v in values):
            return None
        widths.add(len(values))
    if len(widths) != 1 or not 3 <= widths.pop() <= 16:
        return None
    return _local(mh.PTS, "local/pts") if body is not content else _local(mh.XYZ, "local/xyz")
