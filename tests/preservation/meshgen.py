"""3D test files made in code: small meshes with colours, normals and UVs, textured OBJ sets, point clouds,
and the hostile variants (lying headers, NaN, traversal paths, zip bombs) the 3D tests need."""

from __future__ import annotations

import io
import stat
import struct
import zipfile
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image
from plyfile import PlyData, PlyElement

# A unit cube as 6 quads with their own corners (24 vertices), so each corner has one normal and one UV.
_QUAD_UV = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)
_SIDES = [  # normal, four corners counter-clockwise seen from outside
    ((0, 0, -1), [(0, 0, 0), (0, 1, 0), (1, 1, 0), (1, 0, 0)]),
    ((0, 0, 1), [(0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)]),
    ((0, -1, 0), [(0, 0, 0), (1, 0, 0), (1, 0, 1), (0, 0, 1)]),
    ((0, 1, 0), [(0, 1, 0), (0, 1, 1), (1, 1, 1), (1, 1, 0)]),
    ((-1, 0, 0), [(0, 0, 0), (0, 0, 1), (0, 1, 1), (0, 1, 0)]),
    ((1, 0, 0), [(1, 0, 0), (1, 1, 0), (1, 1, 1), (1, 0, 1)]),
]


def quad_cube(scale: float = 0.25, offset: tuple = (0.1, -0.3, 2.7)) -> dict:
    """Arrays of a coloured quad cube: vertices float32 (non-round values), normals, colours, uv, faces (6, 4)."""
    vertices = np.array([c for _, corners in _SIDES for c in corners], dtype=np.float64) * scale + offset
    normals = np.repeat(np.array([n for n, _ in _SIDES], dtype=np.float32), 4, axis=0)
    colours = (np.arange(24 * 3).reshape(24, 3) * 7 % 256).astype(np.uint8)
    uv = np.tile(_QUAD_UV, (6, 1)) * 0.5 + 0.25
    faces = np.arange(24).reshape(6, 4)
    return {
        "vertices": vertices.astype(np.float32),
        "normals": normals,
        "colours": colours,
        "uv": uv.astype(np.float32),
        "faces": faces,
    }


def sphere(subdivisions: int = 2) -> trimesh.Trimesh:
    """An icosphere with per-vertex colours (a closed, watertight surface)."""
    mesh = trimesh.creation.icosphere(subdivisions=subdivisions, radius=1.5)
    colours = np.column_stack([np.arange(len(mesh.vertices)) % 256] * 3).astype(np.uint8)
    mesh.visual.vertex_colors = np.column_stack([colours, np.full(len(colours), 255, np.uint8)])
    return mesh


def write_ply(
    path: Path,
    vertices: np.ndarray,
    faces: np.ndarray | None = None,
    *,
    encoding: str = "binary_little_endian",
    normals: np.ndarray | None = None,
    colours: np.ndarray | None = None,
    uv: np.ndarray | None = None,
    extra: dict[str, np.ndarray] | None = None,
    comments: list[str] | None = None,
) -> Path:
    """A PLY written by plyfile (an independent writer, not the archive's)."""
    kind = vertices.dtype.str[1:]
    fields = [(a, kind) for a in "xyz"]
    fields += [("nx", "f4"), ("ny", "f4"), ("nz", "f4")] if normals is not None else []
    fields += [(c, "u1") for c in ("red", "green", "blue", "alpha")[: colours.shape[1]]] if colours is not None else []
    fields += [("s", "f4"), ("t", "f4")] if uv is not None else []
    fields += [(n, v.dtype.str[1:]) for n, v in (extra or {}).items()]
    records = np.empty(len(vertices), dtype=fields)
    for i, axis in enumerate("xyz"):
        records[axis] = vertices[:, i]
    for group, array in ((("nx", "ny", "nz"), normals), (("red", "green", "blue", "alpha"), colours), (("s", "t"), uv)):
        if array is not None:
            for i in range(array.shape[1]):
                records[group[i]] = array[:, i]
    for name, values in (extra or {}).items():
        records[name] = values
    elements = [PlyElement.describe(records, "vertex")]
    if faces is not None:
        face = np.empty(len(faces), dtype=[("vertex_indices", "i4", (faces.shape[1],))])
        face["vertex_indices"] = faces
        elements.append(PlyElement.describe(face, "face"))
    byte_order = ">" if encoding == "binary_big_endian" else "<"
    PlyData(elements, text=encoding == "ascii", byte_order=byte_order, comments=comments or []).write(str(path))
    return path


def write_stl_binary(path: Path, triangles: np.ndarray, *, count: int | None = None, label: bytes = b"") -> Path:
    """Binary STL of (t, 3, 3) float32 corners; ``count`` overrides the declared triangle count."""
    records = np.zeros(len(triangles), dtype=[("n", "<f4", (3,)), ("v", "<f4", (3, 3)), ("a", "<u2")])
    records["v"] = triangles
    header = label.ljust(80, b" ")[:80] + struct.pack("<I", len(triangles) if count is None else count)
    path.write_bytes(header + records.tobytes())
    return path


def write_stl_ascii(path: Path, triangles: np.ndarray) -> Path:
    lines = ["solid test"]
    for triangle in triangles:
        lines += ["  facet normal 0 0 0", "    outer loop"]
        lines += [f"      vertex {x!r} {y!r} {z!r}" for x, y, z in triangle.tolist()]
        lines += ["    endloop", "  endfacet"]
    path.write_text("\n".join(lines + ["endsolid test", ""]))
    return path


def write_off(path: Path, vertices: np.ndarray, faces: np.ndarray, colours: np.ndarray | None = None) -> Path:
    keyword = "COFF" if colours is not None else "OFF"
    lines = [keyword, "# made by meshgen", f"{len(vertices)} {len(faces)} 0"]
    for i, vertex in enumerate(vertices.tolist()):
        values = [repr(v) for v in vertex] + ([str(c) for c in colours[i]] if colours is not None else [])
        lines.append(" ".join(values))
    lines += [" ".join(str(v) for v in [len(face), *face]) for face in faces.tolist()]
    path.write_text("\n".join(lines) + "\n")
    return path


def texture_png(path: Path, size: tuple[int, int] = (8, 6), seed: int = 1) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def write_textured_obj(folder: Path, *, texture_ref: str = "wall.png", name: str = "scan") -> Path:
    """scan.obj + scan.mtl + wall.png in ``folder`` (a quad cube with UVs and normals); returns the OBJ."""
    folder.mkdir(parents=True, exist_ok=True)
    cube = quad_cube()
    texture_png(folder / "wall.png")
    (folder / f"{name}.mtl").write_text(f"newmtl stone\nKa 1 1 1\nKd 1 1 1\nmap_Kd {texture_ref}\n")
    lines = [f"mtllib {name}.mtl", "o cube"]
    lines += [f"v {x!r} {y!r} {z!r}" for x, y, z in cube["vertices"].astype(np.float64).tolist()]
    lines += [f"vt {u!r} {v!r}" for u, v in cube["uv"].astype(np.float64).tolist()]
    lines += [f"vn {x} {y} {z}" for x, y, z in cube["normals"].tolist()]
    lines.append("usemtl stone")
    lines += ["f " + " ".join(f"{i + 1}/{i + 1}/{i + 1}" for i in face) for face in cube["faces"].tolist()]
    path = folder / f"{name}.obj"
    path.write_text("\n".join(lines) + "\n")
    return path


def zip_folder(folder: Path, path: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, prefix + file.name)
    return path


def zip_with(path: Path, members: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> Path:
    """A zip with exactly these members (names not sanitised) and optional symlink members."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return path


def zip_bomb(path: Path, *, actual: int = 50 * 1024 * 1024, declared: int = 1000) -> Path:
    """A zip whose member declares ``declared`` bytes but inflates to ``actual`` (patched header sizes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("scan.obj", b"v 0 0 0\n" * (actual // 8))
    data = bytearray(buffer.getvalue())
    # patch the uncompressed size in the local header (offset 22) and the central directory entry (offset 24)
    struct.pack_into("<I", data, 22, declared)
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, declared)
    path.write_bytes(bytes(data))
    return path


def write_pcd(path: Path, points: np.ndarray, *, data: str = "ascii", colours: np.ndarray | None = None) -> Path:
    """A PCD v0.7 file (x y z [rgb]) written by hand, float32 fields."""
    fields = "x y z" + (" rgb" if colours is not None else "")
    count = 3 + (colours is not None)
    types = " ".join(["F"] * 3 + (["U"] if colours is not None else []))
    header = (
        "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\n"
        f"FIELDS {fields}\nSIZE {' '.join(['4'] * count)}\nTYPE {types}\n"
        f"COUNT {' '.join(['1'] * count)}\nWIDTH {len(points)}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\n"
        f"POINTS {len(points)}\nDATA {data}\n"
    )
    packed = None
    if colours is not None:
        packed = (colours[:, 0].astype(np.uint32) << 16) | (colours[:, 1].astype(np.uint32) << 8) | colours[:, 2]
    if data == "ascii":
        rows = []
        for i, point in enumerate(points.astype(np.float32).tolist()):
            values = [repr(np.float32(v).item()) for v in point] + ([str(int(packed[i]))] if packed is not None else [])
            rows.append(" ".join(values))
        path.write_bytes(header.encode() + ("\n".join(rows) + "\n").encode())
    else:
        dtype = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")] + ([("rgb", "<u4")] if packed is not None else [])
        records = np.empty(len(points), dtype=dtype)
        for i, axis in enumerate("xyz"):
            records[axis] = points[:, i]
        if packed is not None:
            records["rgb"] = packed
        path.write_bytes(header.encode() + records.tobytes())
    return path


def cloud(n: int = 50, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 3)).astype(np.float32)


def glb_parts(data: bytes) -> tuple[dict, bytes]:
    """The JSON document and BIN chunk of a GLB."""
    import json

    (json_length,) = struct.unpack_from("<I", data, 12)
    document = json.loads(data[20 : 20 + json_length])
    start = 20 + json_length
    (bin_length,) = struct.unpack_from("<I", data, start)
    return document, data[start + 8 : start + 8 + bin_length]


def glb(document: dict, binary: bytes) -> bytes:
    """A GLB assembled from a (possibly edited, possibly lying) document and BIN chunk."""
    import json

    text = json.dumps(document).encode()
    text += b" " * (-len(text) % 4)
    binary += b"\0" * (-len(binary) % 4)
    body = struct.pack("<II", len(text), 0x4E4F534A) + text + struct.pack("<II", len(binary), 0x004E4942) + binary
    return b"glTF" + struct.pack("<II", 2, 12 + len(body)) + body
