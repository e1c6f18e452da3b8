"""Access copies of 3D data: a standard GLB the web viewer can load, small enough for a phone.

Meshes above the triangle budget are decimated by quadric edge collapse with ``fast-simplification``
(1M triangles to 500k in 0.7 s here, 5M in 4.8 s; Open3D's ``simplify_quadric_decimation`` took 6.7 s
for 1M to 500k and 12.7 s for 1M to 50k, see DESIGN §10; peak memory about 2 GB for 5M triangles).
fast-simplification moves geometry only, so its collapse history is replayed to carry vertex colours and
UV coordinates onto the surviving vertices. A textured mesh is decimated with its borders (UV seams)
pinned; if that cannot reach the budget the texture is baked into vertex colours instead, and the returned
notes say so. Point clouds are averaged on a voxel grid whose size is searched so the count fits the
budget. Every GLB is written by trimesh and read back with pygltflib and trimesh before it is accepted.

glTF stores vertex colours as linear light (three.js and model-viewer read them so), while scans store
sRGB: colours are converted on the way out, textures stay sRGB as the format requires. UVs follow the
OBJ/trimesh convention (origin bottom left); trimesh flips them to glTF's on export.
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from preservation.processors.base import ProcessingError
from preservation.processors.mesh_data import MeshData

WEB_MAX_TRIANGLES = 500_000
WEB_MAX_POINTS = 2_000_000
THUMB_MAX_TRIANGLES = 50_000
THUMB_MAX_POINTS = 200_000
WEB_TEXTURE_PIXELS = 4096  # longest side of a texture in the web GLB
THUMB_TEXTURE_PIXELS = 1024
_MAX_PASSES = 4  # fast-simplification passes before the fallbacks (bake the texture, finish with Open3D)
_VOXEL_BITS = 21  # per axis, so a voxel key packs into one int64

_SRGB_TO_LINEAR = np.round(
    255 * np.where((s := np.arange(256) / 255) <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4)
).astype(np.uint8)


def srgb_to_linear_u8(colors: np.ndarray) -> np.ndarray:
    """sRGB uint8 colours -> linear uint8 (alpha unchanged), as glTF's COLOR_0 requires."""
    out = _SRGB_TO_LINEAR[colors]
    if colors.shape[1] == 4:
        out[:, 3] = colors[:, 3]
    return out


@dataclass
class Decimated:
    """A triangle mesh after decimation, with the attributes carried across and what was done."""

    vertices: np.ndarray
    faces: np.ndarray
    colors: np.ndarray | None = None
    uv: np.ndarray | None = None
    passes: int = 0
    notes: list[str] = field(default_factory=list)


def decimate(
    vertices: np.ndarray,
    triangles: np.ndarray,
    max_triangles: int,
    *,
    colors: np.ndarray | None = None,
    uv: np.ndarray | None = None,
    keep_borders: bool = False,
) -> Decimated:
    """Quadric decimation to at most ``max_triangles`` (if reachable), carrying colours and UVs.

    Coincident vertices (same position, and same UV when there are UVs) are merged and faces that then
    repeat a vertex are dropped first: both stall the decimation (a UV sphere's poles stopped it 6% above
    target). Each surviving vertex gets the mean colour/UV of the source vertices collapsed into it. If
    fast-simplification still stops above the budget, Open3D finishes the job (colours kept, UVs not).
    The result stays above the budget only with UVs or ``keep_borders``: the caller checks and decides.
    """
    import fast_simplification

    mapping, points, faces = weld(vertices, triangles, uv)
    result = Decimated(points.astype(np.float64), faces)
    if len(points) < len(vertices):
        result.notes.append(f"{len(vertices) - len(points)} coincident vertices merged")
    while result.passes < _MAX_PASSES and len(result.faces) > max_triangles:
        # a pass that stalls gets a lower target next time, and collapses more aggressively
        target = max(1, max_triangles - (len(result.faces) - max_triangles) * result.passes)
        new_points, new_faces, collapses = fast_simplification.simplify(
            result.vertices,
            result.faces.astype(np.int32),  # its int32 path is ~1.8x faster than int64 at 5M triangles
            target_count=target,
            agg=7.0 if result.passes == 0 else 9.0,
            return_collapses=True,
            preserve_border=keep_borders,
        )
        step = _collapse_mapping(result.vertices, result.faces, collapses, len(new_points))
        mapping = np.where(mapping >= 0, step[np.maximum(mapping, 0)], -1)
        result.vertices, result.faces = new_points, new_faces.astype(np.int64)
        result.passes += 1
    if result.passes:
        result.notes.append(f"quadric decimation (fast-simplification), {result.passes} pass(es)")
    changed = result.passes or len(points) < len(vertices) or len(faces) < len(triangles)
    if not changed:
        result.colors, result.uv = colors, uv
        return result
    result.colors = None if colors is None else _group_mean(colors, mapping, len(result.vertices), np.uint8)
    result.uv = None if uv is None else _group_mean(uv, mapping, len(result.vertices), np.float32)
    if len(result.faces) > max_triangles and uv is None and not keep_borders:
        _finish_with_open3d(result, max_triangles)
    return result


def _finish_with_open3d(result: Decimated, max_triangles: int) -> None:
    """Open3D's quadric decimation on an already reduced mesh (slow on big ones, fine on these)."""
    import open3d as o3d

    mesh = o3d.geometry.TriangleMesh(
        o3d.utility.Vector3dVector(result.vertices), o3d.utility.Vector3iVector(result.faces.astype(np.int32))
    )
    if result.colors is not None:
        mesh.vertex_colors = o3d.utility.Vector3dVector(result.colors[:, :3] / 255.0)
    reduced = mesh.simplify_quadric_decimation(max_triangles)
    result.vertices, result.faces = np.asarray(reduced.vertices), np.asarray(reduced.triangles, dtype=np.int64)
    if result.colors is not None:
        rgb = np.round(np.asarray(reduced.vertex_colors) * 255).clip(0, 255).astype(np.uint8)
        result.colors = np.concatenate([rgb, np.full((len(rgb), 1), 255, np.uint8)], axis=1)
    result.notes.append(f"finished by Open3D's quadric decimation ({len(result.faces)} triangles)")


def _collapse_mapping(points: np.ndarray, faces: np.ndarray, collapses: np.ndarray, n_out: int) -> np.ndarray:
    """Source vertex -> output vertex index (-1 when dropped), from fast-simplification's collapse history.

    ``collapses[i] = (keep, gone)``; the survivors are compacted in source order. Checked against the
    output size, with the library's own (slower) replay as the fallback.
    """
    parent = np.arange(len(points))
    if len(collapses):
        parent[collapses[:, 1]] = collapses[:, 0]
        while not np.array_equal(nxt := parent[parent], parent):  # pointer jumping to each chain's root
            parent = nxt
    used = np.zeros(len(points), dtype=bool)
    used[parent[faces].ravel()] = True
    roots = np.flatnonzero(used)
    if len(roots) != n_out:
        import fast_simplification

        _, _, replayed = fast_simplification.replay_simplification(
            points.astype(np.float32), faces.astype(np.int32), collapses
        )
        return np.asarray(replayed, dtype=np.int64)
    rank = np.full(len(points), -1, dtype=np.int64)
    rank[roots] = np.arange(len(roots))
    return rank[parent]


def _group_mean(values: np.ndarray, mapping: np.ndarray, n_out: int, dtype: type) -> np.ndarray:
    keep = mapping >= 0
    index, source = mapping[keep], values[keep].astype(np.float64)
    counts = np.maximum(np.bincount(index, minlength=n_out), 1)
    means = np.stack([np.bincount(index, weights=source[:, c], minlength=n_out) for c in range(values.shape[1])], 1)
    means /= counts[:, None]
    return np.round(means).astype(dtype) if np.issubdtype(dtype, np.integer) else means.astype(dtype)


def weld(
    vertices: np.ndarray, triangles: np.ndarray, uv: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge vertices with exactly the same position (and UV); drop faces that then repeat a vertex.

    Returns (source vertex -> merged index, merged vertices, faces). Rows are grouped by a hash of their
    bits (one int64 sort, about 0.3 s per 2.5M vertices) and checked exactly; a collision falls back to
    comparing whole rows.
    """
    columns = [np.asarray(vertices, dtype=np.float64)]
    if uv is not None:
        columns.append(np.asarray(uv, dtype=np.float64))
    rows = np.ascontiguousarray(np.concatenate(columns, axis=1) + 0.0)  # + 0.0 turns -0.0 into 0.0
    digest = np.zeros(len(rows), dtype=np.uint64)
    for column in rows.view(np.uint64).T:  # splitmix64 mixing: float32 data leaves the low bits all zero
        digest = _mix64(digest ^ _mix64(column))
    ordered = np.sort(digest)
    if not np.any(ordered[1:] == ordered[:-1]):  # the usual case: no two rows alike, nothing to merge
        inverse = np.arange(len(rows))
        return inverse, np.asarray(vertices), _proper(np.asarray(triangles, dtype=np.int64))
    _, first, inverse = np.unique(digest, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    if not np.array_equal(rows[first][inverse], rows):  # a hash collision: compare whole rows instead
        rows_void = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
        _, first, inverse = np.unique(rows_void, return_index=True, return_inverse=True)
        inverse = inverse.ravel()
    keep_order = np.argsort(first)  # number merged vertices in source order: decimation runs cache-friendly
    rank = np.empty_like(keep_order)
    rank[keep_order] = np.arange(len(keep_order))
    return rank[inverse], np.asarray(vertices)[first[keep_order]], _proper(rank[inverse][triangles])


def _mix64(x: np.ndarray) -> np.ndarray:
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _proper(faces: np.ndarray) -> np.ndarray:
    """Faces whose three corners are distinct vertices (the others have no area and block decimation)."""
    keep = (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])
    return faces if keep.all() else faces[keep]


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals (trimesh's own needs scipy for speed)."""
    v = vertices.astype(np.float64)
    face_n = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    normals = np.stack(
        [np.bincount(faces.ravel(), weights=np.repeat(face_n[:, c], 3), minlength=len(v)) for c in range(3)], 1
    )
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return (normals / np.where(length > 0, length, 1)).astype(np.float32)


def voxel_downsample(
    points: np.ndarray, max_points: int, colors: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None, float]:
    """Voxel-grid averaging to at most ``max_points``; returns points, colours and the voxel size used.

    The voxel size is found by a log-space secant/bisection on the occupied-voxel count (each count is one
    sort of int64 keys, about 0.3 s per 10M points; Open3D's ``voxel_down_sample`` took 9-24 s for the
    same final step here, so the averaging is done in numpy too).
    """
    if len(points) <= max_points:
        return points, colors, 0.0
    low, extent = points.min(axis=0).astype(np.float64), np.ptp(points, axis=0).astype(np.float64)
    finest = max(float(extent.max()) / (2**_VOXEL_BITS - 2), 1e-12)
    dims = np.maximum(extent, extent.max() * 1e-3)
    size = max(float(np.prod(dims) / max_points) ** (1 / 3), finest)  # exact for a filled volume
    tried: dict[float, int] = {}

    def count(voxel: float) -> int:
        if voxel not in tried:
            keys = np.sort(_voxel_keys(points, low, voxel))
            tried[voxel] = 1 + int(np.count_nonzero(keys[1:] != keys[:-1]))
        return tried[voxel]

    while count(size) > max_points:
        size *= 2
    coarse, fine = size, size / 2  # coarse fits the budget; walk `fine` down until it does not
    while fine > finest and count(fine) <= max_points:
        coarse, fine = fine, fine / 2
    for _ in range(12):
        if count(coarse) >= 0.9 * max_points or fine <= finest:
            break
        n_c, n_f = count(coarse), count(fine)
        slope = np.log(n_f / n_c) / np.log(coarse / fine) if n_f > n_c else 2.0
        guess = coarse * (n_c / (0.95 * max_points)) ** (1 / slope)
        middle = guess if fine < guess < coarse else (coarse * fine) ** 0.5
        middle = min(max(middle, fine + (coarse - fine) * 0.05), coarse - (coarse - fine) * 0.05)
        if count(middle) <= max_points:
            coarse = middle
        else:
            fine = middle
    keys = _voxel_keys(points, low, coarse)
    _, inverse = np.unique(keys, return_inverse=True)
    n_out = int(inverse.max()) + 1
    averaged = _group_mean(points, inverse, n_out, points.dtype)
    averaged_colors = None if colors is None else _group_mean(colors, inverse, n_out, np.uint8)
    return averaged, averaged_colors, float(coarse)


def _voxel_keys(points: np.ndarray, low: np.ndarray, voxel: float) -> np.ndarray:
    cells = ((points - low) / voxel).astype(np.int64)
    return (cells[:, 0] << (2 * _VOXEL_BITS)) | (cells[:, 1] << _VOXEL_BITS) | cells[:, 2]


def reduce_for_access(
    data: MeshData, max_triangles: int = WEB_MAX_TRIANGLES, max_points: int = WEB_MAX_POINTS
) -> MeshData:
    """``data`` within the budgets (itself when already within), its ``notes`` saying what changed.

    Make the web level once and pass it to make_thumbnail_glb and render_thumbnail: reducing 5M triangles
    takes about 5 s (and 2 GB), reducing the 500k web level again under a second. Raises ProcessingError if the data
    is empty or cannot be brought within the triangle budget.
    """
    if data.vertex_count == 0:
        raise ProcessingError("the 3D data has no vertices, there is nothing to show")
    if data.kind == "pointcloud" or data.face_count == 0:
        if data.vertex_count <= max_points:
            return data
        points, colors, voxel = voxel_downsample(data.vertices, max_points, data.vertex_colors)
        notes = [f"{data.vertex_count} points voxel-averaged on a {voxel:.6g} grid to {len(points)}"]
        return MeshData("pointcloud", points, vertex_colors=colors, units=data.units, notes=notes)
    triangles = data.triangles()
    if len(triangles) <= max_triangles:
        return data
    textured = data.uv is not None and len(data.textures) == 1
    uv = data.uv if textured else None
    colors = data.vertex_colors
    result = decimate(data.vertices, triangles, max_triangles, colors=colors, uv=uv, keep_borders=textured)
    notes = []
    if len(result.faces) > max_triangles and textured:
        texture = _texture(data, WEB_TEXTURE_PIXELS, [])
        notes.append(
            "UV seams could not be kept within the budget: "
            + ("texture baked into vertex colours" if texture is not None else "texture unreadable, dropped")
        )
        colors = _bake(texture, data.uv) if texture is not None else colors
        result, textured = decimate(data.vertices, triangles, max_triangles, colors=colors), False
    notes.extend(result.notes)
    if len(result.faces) > max_triangles:
        raise ProcessingError(
            f"quadric decimation stopped at {len(result.faces)} triangles, above the {max_triangles} budget; "
            "the original and master are kept, only the access copy is missing",
            permanent=False,
        )
    return MeshData(
        "mesh",
        result.vertices.astype(np.float32),
        result.faces,
        vertex_colors=result.colors,
        uv=result.uv if textured else None,
        textures=list(data.textures) if textured else [],
        materials=list(data.materials),
        source_format=data.source_format,
        units=data.units,
        notes=notes,
    )


def make_web_glb(
    data: MeshData, path: Path, max_triangles: int = WEB_MAX_TRIANGLES, max_points: int = WEB_MAX_POINTS
) -> dict:
    """Write the viewer's GLB (mesh decimated to ``max_triangles``, cloud reduced to ``max_points``).

    Returns triangles/points in and out, ratio, seconds, bytes and notes for the derivation event;
    raises ProcessingError if the data is empty or the written GLB does not read back as written.
    """
    return _make_glb(data, path, max_triangles, max_points, WEB_TEXTURE_PIXELS)


def make_thumbnail_glb(
    data: MeshData, path: Path, max_triangles: int = THUMB_MAX_TRIANGLES, max_points: int = THUMB_MAX_POINTS
) -> dict:
    """The small level (as Smithsonian Voyager's "thumb" derivative): loads fast in lists and previews."""
    return _make_glb(data, path, max_triangles, max_points, THUMB_TEXTURE_PIXELS)


def _make_glb(data: MeshData, path: Path, max_triangles: int, max_points: int, texture_pixels: int) -> dict:
    import trimesh

    started = time.perf_counter()
    try:
        level = reduce_for_access(data, max_triangles, max_points)
    except ProcessingError as error:
        raise ProcessingError(f"{path.name}: {error.message}", permanent=error.permanent) from error
    notes = list(level.notes) if level is not data else []
    if level.kind == "pointcloud" or level.face_count == 0:
        unit, count_in, count_out = "points", data.vertex_count, level.vertex_count
        geometry = trimesh.PointCloud(level.vertices.astype(np.float32), colors=_linear(_rgba(level.vertex_colors)))
        blob = geometry.export(file_type="glb")
        report = {"kind": "pointcloud"}
    else:
        unit, count_in, count_out = "triangles", len(data.triangles()), len(level.triangles())
        geometry, report = _mesh(level, texture_pixels, notes)
        blob = geometry.export(file_type="glb", include_normals=True)
    _write_atomically(path, blob)
    found = inspect_glb(path)
    if found[unit] != count_out or found[f"trimesh_{unit}"] != count_out:
        raise ProcessingError(f"{path.name}: the GLB reads back with {found} but {count_out} {unit} were written")
    report.update({f"{unit}_in": count_in, f"{unit}_out": count_out, "ratio": round(count_out / count_in, 6)})
    report.update(seconds=round(time.perf_counter() - started, 3), bytes=len(blob), notes=notes)
    return report


def _mesh(level: MeshData, texture_pixels: int, notes: list[str]) -> tuple:
    """A trimesh Trimesh for the GLB (PBR material, normals, texture or linear vertex colours) and its report."""
    import trimesh

    faces = level.triangles().astype(np.int64)
    texture = _texture(level, texture_pixels, notes)
    colors = _rgba(level.vertex_colors)
    if texture is not None and colors is not None:
        notes.append("vertex colours not written: the texture is the object's colour (glTF would multiply them)")
        colors = None
    normals = level.vertex_normals
    if normals is None or len(normals) != level.vertex_count:
        normals = vertex_normals(level.vertices, faces)
    mesh = trimesh.Trimesh(level.vertices.astype(np.float32), faces, vertex_normals=normals, process=False)
    material = trimesh.visual.material.PBRMaterial(
        baseColorFactor=[255, 255, 255, 255],
        metallicFactor=0.0,
        roughnessFactor=0.85,
        doubleSided=True,  # scans are often open surfaces: their inside must not vanish
        baseColorTexture=texture,
    )
    visual = trimesh.visual.TextureVisuals(uv=level.uv if texture is not None else None, material=material)
    if colors is not None:
        visual.vertex_attributes["color"] = _linear(colors)
    mesh.visual = visual
    report = {"kind": "mesh", "vertices_out": level.vertex_count, "colors": colors is not None}
    report["texture"] = texture is not None
    return mesh, report


def _texture(data: MeshData, max_pixels: int, notes: list[str]) -> Image.Image | None:
    """The one texture the GLB can carry, bounded on its long side; None (with a note) otherwise."""
    if data.uv is None or not data.textures:
        if data.textures:
            notes.append("textures not written: the mesh has no texture coordinates")
        return None
    if len(data.textures) > 1:
        notes.append(f"{len(data.textures)} textures without a per-face material: colours/geometry only")
        return None
    try:
        with Image.open(data.textures[0]) as source:
            source.draft("RGB", (max_pixels, max_pixels))  # JPEG: decode at a reduced scale when possible
            image = source.convert("RGBA" if "A" in source.getbands() or "transparency" in source.info else "RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        notes.append(f"texture {data.textures[0].name} not readable ({error}): colours/geometry only")
        return None
    if max(image.size) > max_pixels:
        notes.append(f"texture reduced from {image.size[0]}x{image.size[1]} to at most {max_pixels} px")
        image.thumbnail((max_pixels, max_pixels), Image.Resampling.LANCZOS)
    if image.mode == "RGB":
        image.format = "JPEG"  # trimesh then embeds JPEG (its default quality) instead of a large PNG
        notes.append("texture embedded as JPEG")
    return image


def _bake(texture: Image.Image, uv: np.ndarray) -> np.ndarray:
    """Texture colour at each vertex's UV (nearest texel), as RGBA uint8."""
    pixels = np.asarray(texture.convert("RGBA"))
    h, w = pixels.shape[:2]
    u = np.clip((uv[:, 0] % 1.0) * (w - 1), 0, w - 1).round().astype(np.int64)
    v = np.clip((1 - uv[:, 1] % 1.0) * (h - 1), 0, h - 1).round().astype(np.int64)
    return pixels[v, u]


def _rgba(colors: np.ndarray | None) -> np.ndarray | None:
    if colors is None:
        return None
    if colors.shape[1] == 3:
        return np.concatenate([colors, np.full((len(colors), 1), 255, np.uint8)], axis=1)
    return colors


def _linear(colors: np.ndarray | None) -> np.ndarray | None:
    return None if colors is None else srgb_to_linear_u8(colors.astype(np.uint8))


def _write_atomically(path: Path, blob: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(blob)
    os.replace(partial, path)


def inspect_glb(path: Path) -> dict:
    """Counts read back by two independent readers: pygltflib (the accessors) and trimesh (the geometry).

    Raises ProcessingError if either cannot read the file.
    """
    import pygltflib
    import trimesh

    try:
        gltf = pygltflib.GLTF2().load_binary(str(path))
        scene = trimesh.load(io.BytesIO(path.read_bytes()), file_type="glb", force="scene")
    except Exception as error:  # any reader failure means the copy is unusable
        raise ProcessingError(f"{path.name}: the GLB does not load back ({error})", permanent=False) from error
    found = {"triangles": 0, "points": 0, "vertices": 0, "colors": False, "texture": bool(gltf.images)}
    for mesh in gltf.meshes:
        for primitive in mesh.primitives:
            count = gltf.accessors[primitive.attributes.POSITION].count
            found["vertices"] += count
            found["colors"] |= primitive.attributes.COLOR_0 is not None
            if primitive.mode == pygltflib.POINTS:
                found["points"] += count
            elif primitive.indices is not None:
                found["triangles"] += gltf.accessors[primitive.indices].count // 3
    found["trimesh_triangles"] = sum(len(g.faces) for g in scene.geometry.values() if hasattr(g, "faces"))
    found["trimesh_points"] = sum(len(g.vertices) for g in scene.geometry.values() if isinstance(g, trimesh.PointCloud))
    return found
