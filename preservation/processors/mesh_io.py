"""Reading any supported 3D file into a validated MeshData: the one entry point the 3D processor calls.

``read_mesh(source, workdir, limits, original_name=..., companions=...)``:

1. identifies the content (``preservation.formats.sniff_3d``; the name is never trusted);
2. a zip is checked and extracted by ``safe_extract_zip`` and its one model file is read; an OBJ/glTF/PLY
   uploaded with separate companion files (MTL, textures, .bin) gets them through ``companions``
   (name as the model references it -> staged path), all placed in one private folder;
3. ``mesh_header.inspect`` checks the header against the limits and the file size before any loading;
4. the format's reader (``mesh_read_*``) loads it;
5. :func:`validate` refuses what loaders let through: an empty result (Open3D and trimesh return one
   without error), NaN/infinite coordinates, face indices outside [0, n), arrays of inconsistent shapes.

Every refusal is ``ProcessingError(permanent=True)`` with a message naming the file, for the curator.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from preservation import formats
from preservation.processors import mesh_header as mh
from preservation.processors.mesh_data import MeshData
from preservation.processors.mesh_header import MeshHeader, MeshLimits, refusal
from preservation.processors.mesh_read_files import ModelFolder, safe_extract_zip, stage_model

__all__ = ["MeshLimits", "read_mesh", "safe_extract_zip", "validate"]

_WITH_REFERENCES = (mh.OBJ, mh.GLTF, mh.GLB, mh.PLY)


def read_mesh(
    source: Path,
    workdir: Path,
    limits: MeshLimits,
    *,
    original_name: str | None = None,
    companions: dict[str, Path] | None = None,
) -> MeshData:
    """Identify, check, load and validate ``source``; textures are copied into ``workdir/textures``.

    ``original_name`` is the uploaded file name (shown in messages; the staged file may be called
    anything). ``companions`` maps the names a model refers to (``"scan.mtl"``, ``"tex/wall.jpg"``) to the
    staged files uploaded with it. Raises ProcessingError (permanent) when the file is refused.
    """
    source = Path(source)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    name = original_name or source.name
    size = source.stat().st_size
    if size > limits.max_bytes:
        raise refusal(name, f"the file is {size} bytes; the limit is {limits.max_bytes} bytes")
    sniffed = formats.sniff_3d(source, name)
    if sniffed is None or sniffed.fmt == mh.MTL:
        raise refusal(name, "the content is not a 3D model format the archive reads")
    if sniffed.fmt == mh.ZIP:
        root = workdir / "unzipped"
        model = safe_extract_zip(source, root, limits, name)
        relative = model.relative_to(root).as_posix()
        shown = f"{name}: {relative}"
        inner = formats.sniff_3d(model, model.name)
        if inner is None or inner.fmt in (mh.ZIP, mh.MTL):
            raise refusal(shown, "the content is not a 3D model format the archive reads")
        base = Path(relative).parent.as_posix()
        folder = ModelFolder(root, "" if base == "." else base)
        return _read(model, inner.fmt, shown, folder, workdir, limits)
    if sniffed.fmt in _WITH_REFERENCES or companions:
        model = stage_model(source, name, companions, workdir / "model", limits)
        return _read(model, sniffed.fmt, name, ModelFolder(model.parent), workdir, limits)
    return _read(source, sniffed.fmt, name, None, workdir, limits)


def _read(path: Path, fmt: str, name: str, folder: ModelFolder | None, workdir: Path, limits: MeshLimits) -> MeshData:
    header = mh.inspect(path, fmt, limits, name)
    data = _load(path, fmt, name, header, folder, workdir, limits)
    data.notes[:0] = header.notes
    data.checks[:0] = header.checks
    if folder is not None:
        data.missing_references = list(dict.fromkeys(folder.missing))
    validate(data, name, limits)
    return data


def _load(
    path: Path, fmt: str, name: str, header: MeshHeader, folder: ModelFolder | None, workdir: Path, limits: MeshLimits
) -> MeshData:
    # Readers are imported on use: each pulls its own library (plyfile, trimesh, Open3D).
    if fmt == mh.PLY:
        from preservation.processors.mesh_read_ply import read_ply

        return read_ply(path, name, folder, workdir, limits)
    if fmt in (mh.STL_BINARY, mh.STL_ASCII):
        from preservation.processors.mesh_read_stl import read_stl_ascii, read_stl_binary

        return (read_stl_binary if fmt == mh.STL_BINARY else read_stl_ascii)(path, name, header)
    if fmt == mh.OFF:
        from preservation.processors.mesh_read_off import read_off

        return read_off(path, name, limits)
    if fmt == mh.PCD:
        from preservation.processors.mesh_read_points import read_pcd

        return read_pcd(path, name, header, limits)
    if fmt in (mh.XYZ, mh.PTS):
        from preservation.processors.mesh_read_points import read_points

        return read_points(path, name, header, fmt)
    from preservation.processors.mesh_read_scene import read_gltf, read_obj

    folder = folder or ModelFolder(path.parent)
    if fmt == mh.OBJ:
        return read_obj(path, name, header, folder, workdir, limits)
    if fmt in (mh.GLTF, mh.GLB):
        return read_gltf(path, name, header, folder, workdir, limits)
    raise refusal(name, f"{fmt!r} is not a 3D model format the archive reads")


def validate(data: MeshData, name: str, limits: MeshLimits) -> None:
    """Refuse what a loader let through; normalise dtypes (faces int64, colours uint8). Records ``checks``."""
    vertices = data.vertices
    if not isinstance(vertices, np.ndarray) or vertices.ndim != 2 or vertices.shape[1] != 3:
        raise refusal(name, "the reader returned no (n, 3) vertex array; this is a fault in the archive's reader")
    n = len(vertices)
    if n == 0:
        raise refusal(name, "the file holds no vertex or point (the library returned an empty result)")
    if vertices.dtype not in (np.float32, np.float64):
        raise refusal(name, f"coordinates of type {vertices.dtype} are not supported")
    bound = limits.max_points if data.kind == "pointcloud" else limits.max_vertices
    if n > bound:
        raise refusal(name, f"the model holds {n} vertices once read; the limit is {bound}")
    finite = np.isfinite(vertices).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise refusal(
            name,
            f"{len(bad)} {'points' if data.kind == 'pointcloud' else 'vertices'} have NaN or infinite coordinates "
            f"(the first is number {int(bad[0])})",
        )
    if data.faces is not None:
        _validate_faces(data, name, n)
    for label, array, widths in (
        ("colour", data.vertex_colors, (3, 4)),
        ("normal", data.vertex_normals, (3,)),
        ("texture coordinate", data.uv, (2,)),
    ):
        if array is not None and (array.ndim != 2 or len(array) != n or array.shape[1] not in widths):
            raise refusal(
                name, f"the file has {len(array)} {label} entries of shape {array.shape[1:]} for {n} vertices"
            )
    if data.vertex_colors is not None:
        data.vertex_colors = np.ascontiguousarray(data.vertex_colors, dtype=np.uint8)
    if data.uv is not None and not np.isfinite(data.uv).all():
        raise refusal(name, "some texture coordinates are NaN or infinite")
    for attribute, values in data.vertex_attributes.items():
        if values.shape != (n,):
            raise refusal(name, f"the vertex property {attribute!r} has {len(values)} values for {n} vertices")
    _validate_textures(data, name, limits)
    what = f"{n} points" if data.kind == "pointcloud" else f"{n} vertices and {data.face_count} faces"
    data.checks.append(
        f"read {what}: coordinates finite"
        + (", face indices within range" if data.faces is not None else "")
        + ", per-vertex arrays consistent"
    )


def _validate_faces(data: MeshData, name: str, n: int) -> None:
    faces = data.faces
    if faces.ndim != 2 or faces.shape[1] < 3:
        raise refusal(name, f"faces must have at least 3 vertices (got shape {faces.shape})")
    if len(faces) == 0:
        data.faces, data.kind, data.face_texture = None, "pointcloud", None
        data.notes.append("the model has no face: kept as a point cloud")
        return
    data.faces = faces = np.ascontiguousarray(faces, dtype=np.int64)
    low, high = int(faces.min()), int(faces.max())
    if low < 0 or high >= n:
        row = int(np.flatnonzero(((faces < 0) | (faces >= n)).any(axis=1))[0])
        value = low if low < 0 else high
        raise refusal(
            name,
            f"face {row} refers to vertex {value}, but the file has only {n} vertices (indices 0 to {n - 1}): "
            "an index is out of range",
        )
    if data.face_texture is not None:
        texture = data.face_texture
        if texture.shape != (len(faces),) or texture.min() < -1 or texture.max() >= max(len(data.textures), 1):
            data.notes.append("per-face texture numbers do not match the textures found; they are not carried")
            data.face_texture = None


def _validate_textures(data: MeshData, name: str, limits: MeshLimits) -> None:
    """Textures must be images within the pixel limit; an unreadable one is dropped (noted), not fatal."""
    kept = []
    remap = {}
    for index, path in enumerate(data.textures):
        try:
            with Image.open(path) as image:
                width, height = image.size
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            data.notes.append(f"the texture {path.name} is not a readable image ({error}); not carried")
            continue
        if width * height > limits.max_texture_pixels:
            raise refusal(
                name, f"the texture {path.name} is {width} x {height} pixels; the limit is {limits.max_texture_pixels}"
            )
        remap[index] = len(kept)
        kept.append(path)
    if len(kept) != len(data.textures) and data.face_texture is not None:
        lookup = np.array([remap.get(i, -1) for i in range(len(data.textures))] + [-1], dtype=np.int32)
        data.face_texture = lookup[data.face_texture]  # -1 stays -1 (the appended last entry)
    data.textures = kept
