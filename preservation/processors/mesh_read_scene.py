"""OBJ (+MTL + textures) and glTF/GLB through trimesh, with every referenced file resolved inside one folder.

trimesh parses the geometry (``load_obj``/``load_glb``/``load_gltf`` kwargs, so what the file really holds
is visible: normals only when stored, float32 glTF positions kept as float32); every name the file gives
(MTL, textures, glTF buffers and images) goes through :class:`ModelResolver`, which serves only regular
files inside the model's folder (``ModelFolder``) and notes every refusal. A texture path such as
``../../etc/passwd`` is therefore never opened; the mesh is kept without that texture and the curator reads
why. Remote URLs are never fetched.

Several materials become one MeshData: parts are concatenated, each face keeps the index of its texture
(``face_texture``, the master's ``texnumber``). trimesh triangulates OBJ polygons and splits vertices where
UVs or normals differ (per-vertex UVs); glTF node transforms are applied (float64 then), identity
transforms are not. glTF positions are metres by the specification.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import trimesh
from PIL import Image
from trimesh.exchange import gltf as trimesh_gltf
from trimesh.exchange import obj as trimesh_obj

from preservation.processors.mesh_data import MeshData
from preservation.processors.mesh_header import GLB, MeshHeader, MeshLimits, refusal
from preservation.processors.mesh_read_files import ModelFolder, collect_textures
from preservation.processors.mesh_read_gltf import read_glb_chunks

# What a broken OBJ/glTF can make trimesh raise (it has no error type of its own for bad input).
# ArithmeticError: numpy raises OverflowError for an index such as 99999999999999999999 (found by tests/fuzz).
TRIMESH_ERRORS = (
    ValueError, TypeError, KeyError, IndexError, AttributeError, OSError, EOFError, AssertionError, ArithmeticError,
)  # fmt: skip
_MAP_OPTIONS = {"-blendu": 1, "-blendv": 1, "-bm": 1, "-boost": 1, "-cc": 1, "-clamp": 1, "-imfchan": 1}
_OBJ_VERTEX = re.compile(rb"^[ \t]*v[ \t]+(\S+)[ \t]+(\S+)[ \t]+(\S+)", re.MULTILINE)
_MAP_OPTIONS |= {"-mm": 2, "-texres": 1, "-type": 1, "-o": 3, "-s": 3, "-t": 3}


class ModelResolver(trimesh.resolvers.Resolver):
    """trimesh's door to referenced files: only regular files inside the model's folder, read-only."""

    def __init__(self, folder: ModelFolder, referrer: str, *, percent_encoded: bool = False) -> None:
        self.folder = folder
        self.referrer = referrer
        self.percent_encoded = percent_encoded
        self.found: dict[str, Path] = {}  # reference as written -> file read

    def get(self, key: str) -> bytes:
        reference = unquote(key) if self.percent_encoded else strip_map_options(key)
        lower = reference.lower()
        what = "material library" if lower.endswith(".mtl") else "buffer" if lower.endswith(".bin") else "texture"
        path = self.folder.find(reference, what, self.referrer)
        if path is None:
            raise FileNotFoundError(key)
        self.found[key] = path
        return path.read_bytes()

    def write(self, name: str, data) -> None:
        raise PermissionError("the model's folder is read-only")

    def namespaced(self, namespace: str) -> ModelResolver:
        return self

    def keys(self):
        return iter(())


def strip_map_options(reference: str) -> str:
    """``-s 1 1 1 -bm 0.5 wall.jpg`` -> ``wall.jpg`` (MTL map statement options before the file name)."""
    words = reference.strip().split(" ")
    index = 0
    while index < len(words) and words[index].lower() in _MAP_OPTIONS:
        arguments = _MAP_OPTIONS[words[index].lower()]
        index += 1
        for _ in range(arguments):
            if index < len(words) and (_number(words[index]) or words[index].lower() in ("on", "off")):
                index += 1
    return " ".join(words[index:]).strip() or reference.strip()


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_obj(
    path: Path, name: str, header: MeshHeader, folder: ModelFolder, workdir: Path, limits: MeshLimits
) -> MeshData:
    """Read an OBJ checked by ``mesh_header``; MTL and textures only from ``folder``."""
    resolver = ModelResolver(folder, name)
    data = path.read_bytes()
    if header.faces == 0:  # trimesh returns nothing for an OBJ of vertices only: read it as a point cloud
        found = _OBJ_VERTEX.findall(data)
        try:
            vertices = np.array(found, dtype=np.bytes_).astype(np.float64).reshape(-1, 3)
        except ValueError:
            raise refusal(name, "a 'v' line of the OBJ file is not three numbers") from None
        return MeshData(kind="pointcloud", vertices=vertices, source_format="OBJ (vertices only)")
    try:
        kwargs = trimesh_obj.load_obj(io.BytesIO(data), resolver=resolver, group_material=True)
    except TRIMESH_ERRORS as error:
        raise refusal(name, f"the OBJ file cannot be read (trimesh: {type(error).__name__}: {error})") from None
    notes = list(folder.notes)
    if data.count(b"mtllib") > 1:
        notes.append("only the first mtllib line is read (trimesh); other material libraries are not used")
    parts = []
    for geometry in kwargs.get("geometry", {}).values():
        visual = geometry.get("visual")
        texture, material = None, None
        if visual is not None and getattr(visual, "kind", None) == "texture":
            material = getattr(visual.material, "name", None)
            image = getattr(visual.material, "image", None)
            if image is not None:
                texture = resolver.found.get(image.info.get("file_path", ""))
        colours = geometry.get("vertex_colors")
        if colours is None and visual is not None and getattr(visual, "kind", None) == "vertex":
            colours = visual.vertex_colors
        parts.append(_Part(geometry, None, texture, material, colours))
    mesh = _combine(parts, name, "OBJ", notes, workdir, limits)
    if mesh.faces is not None and mesh.face_count > header.faces:
        notes.append(f"{header.faces} OBJ faces were triangulated by trimesh into {mesh.face_count} triangles")
    if mesh.vertex_count != header.vertices:
        notes.append(
            f"the file's {header.vertices} 'v' lines became {mesh.vertex_count} vertices: a vertex used with several "
            "texture coordinates or normals is split (the master stores them per vertex), unused ones are dropped"
        )
    return mesh


def read_gltf(
    path: Path, name: str, header: MeshHeader, folder: ModelFolder, workdir: Path, limits: MeshLimits
) -> MeshData:
    """Read a glTF 2.0 / GLB checked by ``mesh_header``; external buffers and images only from ``folder``."""
    resolver = ModelResolver(folder, name, percent_encoded=True)
    binary = b""
    if header.fmt == GLB:
        document, offset, length = read_glb_chunks(path, name, path.stat().st_size, limits)
        with path.open("rb") as stream:
            stream.seek(offset)
            binary = stream.read(length)
    else:
        document = json.loads(path.read_bytes())
    try:
        with path.open("rb") as stream:
            loader = trimesh_gltf.load_glb if header.fmt == GLB else trimesh_gltf.load_gltf
            kwargs = loader(stream, resolver=resolver, merge_primitives=False)
    except TRIMESH_ERRORS as error:
        notes = "; ".join(folder.notes)
        raise refusal(
            name,
            f"the glTF file cannot be read (trimesh: {type(error).__name__}: {error})"
            + (f"; {notes}" if notes else ""),
        ) from None
    notes = list(folder.notes)
    images = _GltfImages(document, binary, resolver, workdir, notes)
    transforms = _world_transforms(kwargs.get("graph", []), kwargs.get("base_frame", "world"))
    parts = []
    for geometry_name, geometry in kwargs.get("geometry", {}).items():
        visual = geometry.get("visual")
        texture, material = None, None
        if visual is not None and getattr(visual, "kind", None) == "texture":
            material = getattr(visual.material, "name", None)
            picture = getattr(visual.material, "baseColorTexture", None)
            texture = images.path_of(picture) if picture is not None else None
        for matrix in transforms.get(geometry_name, [np.eye(4)]):
            parts.append(_Part(geometry, matrix, texture, material, geometry.get("vertex_colors")))
    mesh = _combine(parts, name, "glTF 2.0" if header.fmt != GLB else "GLB (glTF 2.0)", notes, workdir, limits)
    mesh.units = "metre"
    return mesh


class _Part:
    """One trimesh geometry (kwargs) placed in the scene."""

    def __init__(self, geometry: dict, matrix, texture: Path | None, material: str | None, colours) -> None:
        self.vertices = np.asarray(geometry["vertices"])
        faces = geometry.get("faces")
        self.faces = (
            None if faces is None or not len(faces) else np.asarray(faces, dtype=np.int64).reshape(len(faces), -1)
        )
        normals = geometry.get("vertex_normals")
        self.normals = None if normals is None else np.asarray(normals, dtype=np.float64)
        visual = geometry.get("visual")
        uv = getattr(visual, "uv", None) if visual is not None and getattr(visual, "kind", None) == "texture" else None
        self.uv = None if uv is None else np.asarray(uv, dtype=np.float64)
        self.colours = None if colours is None else np.asarray(colours, dtype=np.uint8)
        self.texture = texture
        self.material = material
        self.matrix = None if matrix is None or np.array_equal(matrix, np.eye(4)) else np.asarray(matrix, np.float64)

    def placed(self) -> tuple[np.ndarray, np.ndarray | None]:
        if self.matrix is None:
            return self.vertices, self.normals
        vertices = self.vertices.astype(np.float64) @ self.matrix[:3, :3].T + self.matrix[:3, 3]
        normals = None
        if self.normals is not None:
            normals = self.normals @ np.linalg.inv(self.matrix[:3, :3]).T
            normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-30)
        return vertices, normals


def _combine(parts: list[_Part], name: str, source_format: str, notes: list[str], workdir: Path, limits) -> MeshData:
    meshes = [p for p in parts if p.faces is not None]
    if meshes and len(meshes) < len(parts):
        notes.append(f"{len(parts) - len(meshes)} point-only parts are not carried (the model has faces)")
    parts = meshes or parts
    if not parts or not sum(len(p.vertices) for p in parts):
        raise refusal(name, f"trimesh read no geometry from the {source_format} file (empty result)")
    placed = [p.placed() for p in parts]
    exact = all(v.dtype == np.float32 for v, _ in placed)
    if any(p.matrix is not None for p in parts):
        notes.append("scene node transforms were applied to the vertices (held as float64)")
    vertices = np.concatenate([v for v, _ in placed]).astype(np.float32 if exact else np.float64)
    counts = [len(p.vertices) for p in parts]
    offsets = np.cumsum([0, *counts])
    kind = "mesh" if meshes else "pointcloud"
    faces = None
    if kind == "mesh":
        widths = {p.faces.shape[1] for p in parts}
        if len(widths) > 1:
            raise refusal(name, "parts of the model have faces of different sizes")
        faces = np.concatenate([p.faces + offset for p, offset in zip(parts, offsets, strict=False)])
    textures = [p.texture for p in parts if p.texture is not None]
    unique = list(dict.fromkeys(textures))
    copied = collect_textures(unique, workdir, limits, name) if unique else []
    face_texture = None
    if kind == "mesh" and unique and (len(unique) > 1 or any(p.texture is None for p in parts)):
        face_texture = np.concatenate(
            [np.full(len(p.faces), unique.index(p.texture) if p.texture else -1, np.int32) for p in parts]
        )
    mesh = MeshData(
        kind=kind,
        vertices=vertices,
        faces=faces,
        vertex_colors=_joined([p.colours for p in parts], counts, "colours", notes),
        vertex_normals=_joined([n for _, n in placed], counts, "normals", notes, np.float32),
        uv=_joined([p.uv for p in parts], counts, "texture coordinates", notes, np.float32, fill=bool(unique)),
        textures=copied,
        materials=list(dict.fromkeys(p.material for p in parts if p.material)),
        source_format=source_format,
        notes=notes,
        face_texture=face_texture,
    )
    if mesh.vertex_colors is not None and mesh.vertex_colors.shape[1] == 4 and (mesh.vertex_colors[:, 3] == 255).all():
        mesh.vertex_colors = np.ascontiguousarray(mesh.vertex_colors[:, :3])  # trimesh adds an opaque alpha
    return mesh


def _joined(
    arrays: list, counts: list[int], what: str, notes: list[str], dtype=None, *, fill: bool = False
) -> np.ndarray | None:
    """One array from the parts' arrays; parts without one get zeros when ``fill``, else nothing is kept."""
    present = [a for a in arrays if a is not None]
    if not present:
        return None
    width = present[0].shape[1]
    if any(a.shape[1] != width for a in present):
        notes.append(f"{what} are not carried: the parts of the model store them differently")
        return None
    if len(present) < len(arrays):
        if not fill:
            notes.append(f"{what} are not carried: only some parts of the model have them")
            return None
        notes.append(f"{what} of the parts without a texture are written as 0")
    joined = np.concatenate(
        [a if a is not None else np.zeros((n, width), present[0].dtype) for a, n in zip(arrays, counts, strict=True)]
    )
    return joined.astype(dtype) if dtype is not None else joined


class _GltfImages:
    """The glTF's images as files (bytes as stored, never re-encoded here) and their mapping to materials."""

    def __init__(self, document: dict, binary: bytes, resolver: ModelResolver, workdir: Path, notes: list[str]) -> None:
        self.document, self.binary, self.resolver, self.notes = document, binary, resolver, notes
        self.folder = workdir / "gltf-images"
        self.files: list[Path | None] = []
        self._pixels: dict[int, np.ndarray] = {}
        for index, image in enumerate(document.get("images", [])):
            self.files.append(self._extract(index, image))

    def _extract(self, index: int, image: dict) -> Path | None:
        try:
            data = self._bytes(image)
        except (KeyError, IndexError, ValueError, TypeError, OSError, OverflowError):
            data = None
        if not data:
            self.notes.append(f"image {index} of the glTF could not be read; it is not carried into the master")
            return None
        suffix = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}.get(image.get("mimeType", ""), "")
        suffix = suffix or (".png" if data[:4] == b"\x89PNG" else ".jpg" if data[:2] == b"\xff\xd8" else ".img")
        self.folder.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9_-]+", "_", str(image.get("name") or "image"))[:40].strip("_") or "image"
        target = self.folder / f"{stem}_{index}{suffix}"
        target.write_bytes(data)
        return target

    def _bytes(self, image: dict) -> bytes | None:
        if "uri" in image:
            return self._uri(image["uri"])
        view = self.document["bufferViews"][int(image["bufferView"])]
        buffer = self._buffer(int(view["buffer"]))
        start = int(view.get("byteOffset", 0))
        return buffer[start : start + int(view["byteLength"])] if buffer is not None else None

    def _buffer(self, index: int) -> bytes | None:
        buffer = self.document["buffers"][index]
        return self._uri(buffer["uri"]) if "uri" in buffer else self.binary

    def _uri(self, uri: str) -> bytes | None:
        if uri.startswith("data:"):
            return base64.b64decode(uri.split(",", 1)[1])
        try:
            return self.resolver.get(uri)
        except FileNotFoundError:
            return None

    def path_of(self, picture: Image.Image) -> Path | None:
        """Which stored image trimesh decoded into ``picture`` (pixels compared; one image: that one)."""
        candidates = [(i, f) for i, f in enumerate(self.files) if f is not None]
        if len(candidates) == 1:
            return candidates[0][1]
        wanted = np.asarray(picture)
        for index, path in candidates:
            if index not in self._pixels:
                with Image.open(path) as opened:
                    self._pixels[index] = np.asarray(opened)
            if self._pixels[index].shape == wanted.shape and np.array_equal(self._pixels[index], wanted):
                return path
        return None


def _world_transforms(edges, base: str) -> dict[str, list[np.ndarray]]:
    """geometry name -> the world matrices of the nodes that place it (trimesh's scene graph edges)."""
    parent: dict[str, tuple[str, np.ndarray]] = {}
    placing: dict[str, list[str]] = {}
    for edge in edges:
        frame_to = edge["frame_to"]
        parent[frame_to] = (edge["frame_from"], np.asarray(edge.get("matrix", np.eye(4)), dtype=np.float64))
        if edge.get("geometry") is not None:
            placing.setdefault(edge["geometry"], []).append(frame_to)
    result: dict[str, list[np.ndarray]] = {}
    for geometry, nodes in placing.items():
        for node in nodes:
            matrix, current, depth = np.eye(4), node, 0
            while current in parent and current != base and depth < 1000:
                frame_from, local = parent[current]
                matrix = local @ matrix
                current, depth = frame_from, depth + 1
            result.setdefault(geometry, []).append(matrix)
    return result
