"""What a 3D file's header declares, checked against limits and the file size BEFORE anything is loaded.

Why: Open3D returns an empty mesh without an error for a PLY whose header lies and allocates whatever an
ASCII header announces (2e9 vertices: out of memory); plyfile allocates ``count`` rows before it reads one;
trimesh truncates silently (DESIGN section 10). Every reader therefore goes through :func:`inspect` first.
It reads the header only (at most ``MeshLimits.max_header_bytes``) and, for text formats, streams the body
once in fixed-size chunks to count lines, so a 50-byte file announcing 10^12 vertices is refused at once,
and no array is sized from a declared count before that count is known to fit the limits and the file.

Checks per format (``fmt`` is a format id from ``preservation.formats.sniff_3d``); each format's parser
lives with its reader in ``mesh_read_<format>.py``:

* ``ply``: element/property lines parsed; the limits apply to the ``vertex`` and ``face`` counts; binary:
  the bytes implied by the declared counts and fixed-size properties (list properties: their count field
  at least) must fit in the file; ASCII: at least 2 bytes per declared value and one line per element.
* ``stl-binary``: 84 + 50 x triangles == file size. ``stl-ascii``: "facet normal" and "endfacet" counted.
* ``off``: the counts line, then one line per vertex and face. ``pcd``: POINTS == WIDTH x HEIGHT and the
  DATA section's size (ascii: lines; binary: POINTS x point size; binary_compressed: its two size fields).
* ``obj``: ``v``/``f`` lines counted (streaming, stops at the limit); ``xyz``/``pts``: lines counted.
* ``glb``/``gltf``: container lengths, then accessor counts and byte ranges from the JSON (no buffer read).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from preservation.processors.base import Limits, ProcessingError

# Format ids shared with preservation.formats (identification) and the readers.
PLY, STL_BINARY, STL_ASCII, OBJ, OFF, GLTF, GLB, PCD, XYZ, PTS, ZIP, MTL = (
    "ply",
    "stl-binary",
    "stl-ascii",
    "obj",
    "off",
    "gltf",
    "glb",
    "pcd",
    "xyz",
    "pts",
    "zip",
    "mtl",
)
MODEL_FORMATS = (PLY, STL_BINARY, STL_ASCII, OBJ, OFF, GLTF, GLB, PCD, XYZ, PTS)
HEADED = (PLY, STL_BINARY, OFF, GLTF, GLB, PCD)  # formats that declare their counts (others are counted)

_CHUNK = 4 << 20  # streaming read size for line counts


@dataclass(frozen=True)
class MeshLimits:
    """Bounds for 3D files, all checked from headers (or one streaming pass) before loading.

    A separate dataclass rather than fields on ``base.Limits`` so the image limits stay as they are; build
    one with :meth:`from_limits` to inherit ``max_bytes`` from the pipeline's limits. STL stores three
    vertices per triangle: only its triangle count is held to ``max_faces``.
    """

    max_bytes: int = 8 * 1024**3
    max_vertices: int = 50_000_000
    max_faces: int = 50_000_000
    max_points: int = 200_000_000
    max_header_bytes: int = 1 << 20  # PLY/PCD/OFF header; a longer one is refused
    max_json_bytes: int = 256 << 20  # glTF JSON (data: URIs inflate it) and a GLB's JSON chunk
    max_zip_members: int = 10_000
    max_zip_bytes: int | None = None  # total uncompressed size of a zip; None: max_bytes
    max_textures: int = 64
    max_texture_pixels: int = 200_000_000

    @classmethod
    def from_limits(cls, limits: Limits, **overrides: int) -> MeshLimits:
        return replace(cls(max_bytes=limits.max_bytes), **overrides)

    @property
    def zip_bytes(self) -> int:
        return self.max_zip_bytes if self.max_zip_bytes is not None else self.max_bytes


@dataclass
class MeshHeader:
    """What the header declares (checked). ``vertices`` counts points for a point cloud."""

    fmt: str
    kind: str  # "mesh" or "pointcloud"
    vertices: int
    faces: int
    encoding: str = ""  # "ascii", "binary_little_endian", "binary", "binary_compressed", "json", ...
    details: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # oddities found but accepted (trailing bytes ...)
    checks: list[str] = field(default_factory=list)  # what was verified, for the validation event

    def summary(self) -> str:
        if self.kind == "pointcloud":
            return f"{self.vertices} points"
        return f"{self.vertices} vertices and {self.faces} faces"


def refusal(name: str, problem: str) -> ProcessingError:
    """The curator-facing refusal every 3D check raises (the file is at fault: permanent)."""
    return ProcessingError(f"{name}: {problem}; the original is kept in quarantine", permanent=True)


# ---------------------------------------------------------------------------------------------------- STL


def _inspect_stl_binary(path: Path, name: str, size: int, limits: MeshLimits, fmt: str) -> MeshHeader:
    head = read_head(path, 84)
    if len(head) < 84:
        raise refusal(name, f"a binary STL has an 84-byte header, but the file holds only {size} bytes")
    (triangles,) = struct.unpack_from("<I", head, 80)
    check_counts(name, "mesh", 0, triangles, limits, unit="vertices")
    needed = 84 + 50 * triangles
    if needed != size:
        problem = "is truncated or its header is wrong" if needed > size else "has bytes its header does not declare"
        raise refusal(
            name,
            f"the binary STL header announces {triangles} triangles, which take {needed} bytes, but the file holds "
            f"{size} bytes: the file {problem}",
        )
    return MeshHeader(STL_BINARY, "mesh", 3 * triangles, triangles, "binary", {"header": _stl_label(head)})


def _stl_label(head: bytes) -> str:
    return head[:80].split(b"\0", 1)[0].decode("ascii", errors="replace").strip()


def _inspect_stl_ascii(path: Path, name: str, size: int, limits: MeshLimits, fmt: str) -> MeshHeader:
    facets, ends = count_patterns(path, (b"facet normal", b"endfacet"), stop_at=(limits.max_faces, None))
    if facets > limits.max_faces:
        raise refusal(name, f"the file holds more than {limits.max_faces} triangles (the limit)")
    if facets == 0:
        raise refusal(name, "the ASCII STL holds no facet")
    if facets != ends:
        raise refusal(name, f"the ASCII STL opens {facets} facets but closes {ends}: the file is truncated")
    return MeshHeader(STL_ASCII, "mesh", 3 * facets, facets, "ascii")


# ---------------------------------------------------------------------------------------------------- OBJ


def _inspect_obj(path: Path, name: str, size: int, limits: MeshLimits, fmt: str) -> MeshHeader:
    patterns = (b"\nv ", b"\nv\t", b"\nf ", b"\nf\t")
    stops = (limits.max_vertices, limits.max_vertices, limits.max_faces, limits.max_faces)
    v1, v2, f1, f2 = count_patterns(path, patterns, stop_at=stops, prefix=b"\n")
    vertices, faces = v1 + v2, f1 + f2
    if vertices > limits.max_vertices:
        raise refusal(name, f"the file holds more than {limits.max_vertices} vertices (the limit)")
    if faces > limits.max_faces:
        raise refusal(name, f"the file holds more than {limits.max_faces} faces (the limit)")
    if vertices == 0:
        raise refusal(name, "the OBJ file holds no vertex ('v' line)")
    return MeshHeader(OBJ, "mesh" if faces else "pointcloud", vertices, faces, "ascii")


# ------------------------------------------------------------------------------------------------ shared


def inspect(path: Path, fmt: str, limits: MeshLimits, name: str | None = None) -> MeshHeader:
    """Check ``path`` (format id ``fmt``) against ``limits`` and its own size; raise ProcessingError if not.

    ``name`` is the file name shown to the curator (default: the path's name).
    """
    path = Path(path)
    name = name or path.name
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise refusal(name, f"the file is {size} bytes; the limit is {limits.max_bytes} bytes")
    if size == 0:
        raise refusal(name, "the file is empty")
    # Per-format parsers live with their readers (imported here, not at the top: they import this module).
    from preservation.processors import mesh_read_gltf, mesh_read_off, mesh_read_ply, mesh_read_points

    inspector = {
        PLY: mesh_read_ply.inspect_ply,
        STL_BINARY: _inspect_stl_binary,
        STL_ASCII: _inspect_stl_ascii,
        OFF: mesh_read_off.inspect_off,
        PCD: mesh_read_points.inspect_pcd,
        XYZ: mesh_read_points.inspect_points,
        PTS: mesh_read_points.inspect_points,
        OBJ: _inspect_obj,
        GLTF: mesh_read_gltf.inspect_gltf,
        GLB: mesh_read_gltf.inspect_glb,
    }.get(fmt)
    if inspector is None:
        raise refusal(name, f"{fmt!r} is not a 3D model format the archive reads")
    header = inspector(path, name, size, limits, fmt)
    bound = (
        f"{limits.max_points} points"
        if header.kind == "pointcloud"
        else f"{limits.max_vertices} vertices, {limits.max_faces} faces"
    )
    header.checks.append(
        f"{size} bytes; the {'header' if fmt in HEADED else 'file'} declares {header.summary()}, within the limits "
        f"({bound}) and consistent with the file size, checked before loading"
    )
    return header


def check_counts(name: str, kind: str, vertices: int, faces: int, limits: MeshLimits, *, unit: str) -> None:
    if kind == "pointcloud":
        if vertices > limits.max_points:
            what = "points" if unit == "points" else f"{unit} (points of a point cloud)"
            raise refusal(name, f"the header announces {vertices} {what}; the limit is {limits.max_points} points")
        return
    if vertices > limits.max_vertices:
        raise refusal(name, f"the header announces {vertices} {unit}; the limit is {limits.max_vertices}")
    if faces > limits.max_faces:
        raise refusal(name, f"the header announces {faces} faces; the limit is {limits.max_faces}")


def read_head(path: Path, limit: int) -> bytes:
    with path.open("rb") as stream:
        return stream.read(limit)


def chunks(path: Path, offset: int) -> Iterator[bytes]:
    with path.open("rb") as stream:
        stream.seek(offset)
        while chunk := stream.read(_CHUNK):
            yield chunk


def count_lines(path: Path, offset: int = 0, *, stop_after: int | None = None, nonblank: bool = False) -> int:
    """Lines from ``offset`` to the end (a last line without newline counts), stopping once past ``stop_after``.

    ``nonblank`` skips empty and whitespace-only lines (slower: used for XYZ/PTS, where blank lines occur).
    """
    lines = 0
    partial = b""  # nonblank: the unfinished last line (collapsed to a marker when it grows long)
    last = b"\n"
    for chunk in chunks(path, offset):
        if nonblank:
            parts = (partial + chunk).split(b"\n")
            partial = parts.pop()
            lines += sum(1 for part in parts if part.strip())
            if len(partial) > _CHUNK:
                partial = b"x" if partial.strip() else b""
        else:
            lines += chunk.count(b"\n")
            last = chunk[-1:]
        if stop_after is not None and lines > stop_after:
            return lines
    if nonblank:
        return lines + (1 if partial.strip() else 0)
    return lines + (0 if last == b"\n" else 1)


def count_patterns(
    path: Path, patterns: tuple[bytes, ...], *, stop_at: tuple[int | None, ...], prefix: bytes = b""
) -> list[int]:
    """Occurrences of each pattern, streaming (a pattern cut by a chunk boundary is still found, once).

    ``prefix`` is put before the file's first byte (b"\\n" makes "\\nv " match a first line "v ...").
    Stops early once any count passes its ``stop_at`` bound.
    """
    counts = [0] * len(patterns)
    carry = prefix
    keep = max(len(p) for p in patterns) - 1
    for chunk in chunks(path, 0):
        for i, pattern in enumerate(patterns):
            overlap = len(pattern) - 1  # only a match that ends inside the new chunk is counted
            counts[i] += ((carry[-overlap:] if overlap else b"") + chunk).count(pattern)
        carry = (carry + chunk[-keep:])[-keep:] if keep else b""
        if any(bound is not None and count > bound for count, bound in zip(counts, stop_at, strict=True)):
            break
    return counts
