"""The 3D preservation master: binary little-endian PLY (+ lossless textures next to it), written and verified.

Layout (DESIGN section 4):

* ``vertex``: x, y, z in the source's dtype (float32 or float64, bit for bit); nx, ny, nz float32; red,
  green, blue[, alpha] uchar; s, t float32 texture coordinates; then every other per-vertex value the source
  held (intensity, confidence ...) under its own name and type;
* ``face``: ``vertex_indices`` list (uchar count, int32 indices; uint count for polygons of more than 255
  vertices), plus ``texnumber`` int32 when faces use several textures (MeshLab's convention);
* ``comment TextureFile <name>`` per texture, in ``texnumber`` order (MeshLab's convention); the textures
  are re-encoded losslessly next to the master: PNG for 8- and 16-bit images of 1-4 channels, deflate TIFF
  for anything else (float, more channels), decoded at full depth with imagecodecs (Pillow would reduce
  16-bit RGB to 8 bits: DESIGN section 11).

plyfile describes the elements and writes the header; the element bodies are written as packed numpy
records, because plyfile writes list properties one face at a time (minutes for millions of faces).
``verify_master`` re-reads the file with plyfile and compares every array exactly.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import imagecodecs
import numpy as np
import tifffile
from plyfile import PlyData, PlyElement, PlyParseError

from preservation.processors.base import ProcessingError
from preservation.processors.mesh_data import MeshData

MASTER_MIME = "application/octet-stream"  # PLY has no registered MIME type; the PUID fmt/831 identifies it
AGENT = f"plyfile {version('plyfile')}; imagecodecs {imagecodecs.__version__}; numpy {np.__version__}"
_PLY_KINDS = {"i1", "u1", "i2", "u2", "i4", "u4", "f4", "f8"}
_RESERVED = {"x", "y", "z", "nx", "ny", "nz", "red", "green", "blue", "alpha", "s", "t"}


def _fault(path: Path, problem: str) -> ProcessingError:
    return ProcessingError(
        f"{path.name}: {problem}; this is a fault in the archive's conversion, not in the file; the original is kept "
        "in quarantine",
        permanent=True,
    )


def attribute_names(data: MeshData) -> dict[str, str]:
    """Master property name for each extra vertex attribute (prefixed when it would clash with a standard one)."""
    return {name: f"source_{name}" if name in _RESERVED else name for name in data.vertex_attributes}


def write_master(data: MeshData, path: Path) -> list[Path]:
    """Write ``data`` as ``path`` (binary little-endian PLY) and its textures next to it; return the textures.

    Raises ProcessingError: transient for OSError (disk), permanent when the data cannot be represented.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        textures = _write_textures(data, path)
        vertex = _vertex_records(data)
        elements = [PlyElement.describe(vertex, "vertex")]
        face_records = None
        if data.faces is not None:
            face_records, element = _face_records(data)
            elements.append(element)
        comments = [f"TextureFile {t.name}" for t in textures]
        comments.append(f"Heritage Archive preservation master from {data.source_format or 'a 3D file'}")
        header = PlyData(elements, text=False, byte_order="<", comments=comments).header
        with path.open("wb") as out:
            out.write(header.encode("ascii") + b"\n")
            out.write(vertex.tobytes())
            if face_records is not None:
                out.write(face_records.tobytes())
    except OSError as error:
        raise ProcessingError(f"{path.name}: the master could not be written ({error})", permanent=False) from None
    except (ValueError, TypeError) as error:
        raise _fault(path, f"the master could not be written ({error})") from None
    return textures


def _vertex_records(data: MeshData) -> np.ndarray:
    kind = data.vertices.dtype.str[1:]
    fields = [(axis, "<" + kind) for axis in "xyz"]
    if data.vertex_normals is not None:
        fields += [("nx", "<f4"), ("ny", "<f4"), ("nz", "<f4")]
    if data.vertex_colors is not None:
        fields += [(c, "u1") for c in ("red", "green", "blue", "alpha")[: data.vertex_colors.shape[1]]]
    if data.uv is not None:
        fields += [("s", "<f4"), ("t", "<f4")]
    names = attribute_names(data)
    for name, values in data.vertex_attributes.items():
        if values.dtype.str[1:] not in _PLY_KINDS:
            raise ValueError(f"the vertex attribute {name!r} has type {values.dtype}, which PLY cannot hold")
        fields.append((names[name], "<" + values.dtype.str[1:]))
    records = np.empty(data.vertex_count, dtype=np.dtype(fields))
    for axis, column in zip("xyz", data.vertices.T, strict=True):
        records[axis] = column
    if data.vertex_normals is not None:
        for axis, column in zip(("nx", "ny", "nz"), data.vertex_normals.T, strict=True):
            records[axis] = column
    if data.vertex_colors is not None:
        for channel, column in zip(("red", "green", "blue", "alpha"), data.vertex_colors.T, strict=False):
            records[channel] = column
    if data.uv is not None:
        records["s"], records["t"] = data.uv[:, 0], data.uv[:, 1]
    for name, values in data.vertex_attributes.items():
        records[names[name]] = values
    return records


def _face_records(data: MeshData) -> tuple[np.ndarray, PlyElement]:
    faces = data.faces
    if data.vertex_count >= 2**31:
        raise ValueError("more than 2^31 vertices cannot be indexed with int32")
    k = faces.shape[1]
    count_type = "u1" if k <= 255 else "u4"
    fields = [("count", count_type), ("vertex_indices", "<i4", (k,))]
    if data.face_texture is not None:
        fields.append(("texnumber", "<i4"))
    records = np.empty(len(faces), dtype=np.dtype(fields))
    records["count"] = k
    records["vertex_indices"] = faces
    if data.face_texture is not None:
        records["texnumber"] = data.face_texture
    # plyfile describes the element's properties (a fixed-size subarray becomes a list property); the
    # records above are what gets written, so only the properties and the count are taken from it.
    described = PlyElement.describe(
        np.empty(0, dtype=[(n, *rest) for n, *rest in fields if n != "count"]),
        "face",
        len_types={"vertex_indices": count_type},
    )
    return records, PlyElement("face", described.properties, len(faces))


def _write_textures(data: MeshData, path: Path) -> list[Path]:
    written = []
    used: set[str] = set()
    for source in data.textures:
        pixels = decode_texture(source)
        png = pixels.dtype in (np.uint8, np.uint16) and (pixels.ndim == 2 or pixels.shape[-1] <= 4)
        stem = f"{path.stem}_{source.stem}"
        name = f"{stem}{'.png' if png else '.tif'}"
        counter = 1
        while name in used:
            counter += 1
            name = f"{stem}_{counter}{'.png' if png else '.tif'}"
        used.add(name)
        target = path.parent / name
        if png:
            target.write_bytes(imagecodecs.png_encode(pixels, level=6))
        else:
            tifffile.imwrite(target, pixels, compression="zlib")
        written.append(target)
    return written


def decode_texture(path: Path) -> np.ndarray:
    """Pixels at full depth (TIFF through tifffile, the rest through imagecodecs)."""
    if path.suffix.lower() in (".tif", ".tiff"):
        return tifffile.imread(path)
    return np.asarray(imagecodecs.imread(path))


def verify_master(data: MeshData, path: Path) -> str:
    """Re-read ``path`` with plyfile and compare it with ``data``; return a detail line for the event.

    Raises ProcessingError (permanent) on any difference: counts, coordinates (bitwise, in their dtype),
    normals, colours, texture coordinates, extra vertex values, faces, texture numbers, bounding box,
    texture pixels.
    """
    path = Path(path)
    k = data.polygon_size
    known = {"face": {"vertex_indices": k}} if k else {}
    try:
        ply = PlyData.read(str(path), known_list_len=known)
    except (PlyParseError, OSError, ValueError) as error:
        raise _fault(path, f"the master cannot be read back ({error})") from None
    if ply.text or ply.byte_order != "<":
        raise _fault(path, "the master is not binary little-endian")
    vertex = ply["vertex"].data
    if len(vertex) != data.vertex_count:
        raise _fault(path, f"the master holds {len(vertex)} vertices instead of {data.vertex_count}")
    checked = []
    read = np.column_stack([vertex[a] for a in "xyz"])
    if read.dtype != data.vertices.dtype or not np.array_equal(read, data.vertices):
        raise _fault(path, "the master's coordinates differ from the source's")
    checked.append(
        f"{data.vertex_count} {'points' if data.kind == 'pointcloud' else 'vertices'} "
        f"({read.dtype.name} x/y/z bitwise equal)"
    )
    _same(path, vertex, ("nx", "ny", "nz"), data.vertex_normals, "normals", checked)
    _same(
        path,
        vertex,
        ("red", "green", "blue", "alpha")[: _width(data.vertex_colors)],
        data.vertex_colors,
        "colours",
        checked,
    )
    _same(path, vertex, ("s", "t"), data.uv, "texture coordinates", checked)
    for name, master_name in attribute_names(data).items():
        values = data.vertex_attributes[name]
        if master_name not in vertex.dtype.names or not np.array_equal(
            vertex[master_name], values, equal_nan=values.dtype.kind == "f"
        ):
            raise _fault(path, f"the master's vertex values {master_name!r} differ from the source's")
    if data.vertex_attributes:
        checked.append(f"{len(data.vertex_attributes)} other vertex values ({', '.join(data.vertex_attributes)}) equal")
    if data.faces is not None:
        faces = ply["face"].data if "face" in ply else None
        if faces is None or len(faces) != data.face_count or not np.array_equal(faces["vertex_indices"], data.faces):
            raise _fault(path, "the master's faces differ from the source's")
        if data.face_texture is not None and not np.array_equal(faces["texnumber"], data.face_texture):
            raise _fault(path, "the master's face texture numbers differ from the source's")
        checked.append(f"{data.face_count} faces of {k} vertices (indices equal)")
    elif "face" in ply and ply["face"].count:
        raise _fault(path, "the master holds faces the source does not have")
    low, high = read.min(axis=0).tolist(), read.max(axis=0).tolist()
    if (low, high) != data.bounding_box():
        raise _fault(path, "the master's bounding box differs from the source's")
    checked.append(f"bounding box {_fmt(low)} to {_fmt(high)} equal")
    checked.extend(_verify_textures(data, path, ply))
    return f"re-read with plyfile: {'; '.join(checked)}"


def _width(array: np.ndarray | None) -> int:
    return 0 if array is None else array.shape[1]


def _same(path: Path, vertex: np.ndarray, names: tuple, expected: np.ndarray | None, what: str, checked: list) -> None:
    if expected is None:
        if any(n in vertex.dtype.names for n in names[:1]):
            raise _fault(path, f"the master holds {what} the source does not have")
        return
    if not all(n in vertex.dtype.names for n in names):
        raise _fault(path, f"the master lacks the source's {what}")
    read = np.column_stack([vertex[n] for n in names])
    if not np.array_equal(read, expected, equal_nan=expected.dtype.kind == "f"):
        raise _fault(path, f"the master's {what} differ from the source's")
    checked.append(f"{what} equal")


def _verify_textures(data: MeshData, path: Path, ply: PlyData) -> list[str]:
    named = [c.split(None, 1)[1] for c in ply.comments if c.startswith("TextureFile ")]
    if len(named) != len(data.textures):
        raise _fault(path, f"the master names {len(named)} textures instead of {len(data.textures)}")
    for name, source in zip(named, data.textures, strict=True):
        written = path.parent / name
        if not written.is_file():
            raise _fault(path, f"the texture {name} named in the master is missing")
        expected, found = decode_texture(source), decode_texture(written)
        if expected.shape != found.shape or expected.dtype != found.dtype or not np.array_equal(expected, found):
            raise _fault(path, f"the texture {name} does not decode to the pixels of {source.name}")
    if not named:
        return []
    return [f"{len(named)} textures ({', '.join(named)}) re-encoded losslessly, pixels equal at full depth"]


def _fmt(values: list[float]) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in values) + ")"
