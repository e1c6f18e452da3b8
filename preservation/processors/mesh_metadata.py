"""Technical metadata of a 3D model (JSON types only), stored on the original's Asset.

Keys: kind ("mesh"/"pointcloud"), source_format, vertices, faces, points (point clouds: the point count;
meshes: 0), bbox_min, bbox_max, dimensions (bbox extent, in the file's units), units (when the source says:
glTF is metres; otherwise None), surface_area (meshes), volume (only when the mesh is watertight with a
consistent winding; else None), watertight (None when not computed), has_colors, has_normals, has_uv,
textures (file names), materials, polygon_size (3 triangles, 4 quads ...; None for point clouds),
vertex_values (names of other per-vertex values carried).

Cost: the surface area is numpy (about 0.1 s per million triangles). Watertightness and volume go through
trimesh on a copy whose vertices are merged by position (UV seams and STL corners would otherwise open
edges); above ``WATERTIGHT_FACE_LIMIT`` triangles they are skipped (None) to keep the worker's time and
memory bounded: trimesh's edge grouping holds several arrays of 3 x faces rows.
"""

from __future__ import annotations

import numpy as np

from preservation.processors.mesh_data import MeshData

WATERTIGHT_FACE_LIMIT = 5_000_000


def technical(data: MeshData, *, watertight_face_limit: int = WATERTIGHT_FACE_LIMIT) -> dict:
    """The metadata dict for ``data`` (see the module docstring)."""
    low, high = data.bounding_box()
    mesh = data.kind == "mesh" and data.faces is not None
    result = {
        "kind": data.kind,
        "source_format": data.source_format,
        "vertices": data.vertex_count,
        "faces": data.face_count,
        "points": 0 if mesh else data.vertex_count,
        "bbox_min": low,
        "bbox_max": high,
        "dimensions": [h - lo for lo, h in zip(low, high, strict=True)],
        "units": data.units,
        "surface_area": None,
        "volume": None,
        "watertight": None,
        "has_colors": data.vertex_colors is not None,
        "has_normals": data.vertex_normals is not None,
        "has_uv": data.uv is not None,
        "textures": [t.name for t in data.textures],
        "materials": list(data.materials),
        "polygon_size": data.polygon_size if mesh else None,
        "vertex_values": list(data.vertex_attributes),
    }
    if not mesh:
        return result
    triangles = data.triangles()
    result["surface_area"] = surface_area(data.vertices, triangles)
    if len(triangles) <= watertight_face_limit:
        watertight, volume = watertight_volume(data.vertices, triangles)
        result["watertight"], result["volume"] = watertight, volume
    return result


def surface_area(vertices: np.ndarray, triangles: np.ndarray) -> float:
    corners = vertices.astype(np.float64, copy=False)[triangles]
    cross = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    return float(0.5 * np.linalg.norm(cross, axis=1).sum())


def watertight_volume(vertices: np.ndarray, triangles: np.ndarray) -> tuple[bool, float | None]:
    """(watertight, enclosed volume or None): trimesh on position-merged vertices."""
    import trimesh  # imported on use: only meshes need it

    shape = trimesh.Trimesh(vertices.astype(np.float64), triangles, process=False, validate=False)
    shape.merge_vertices(merge_tex=True, merge_norm=True)
    watertight = bool(shape.is_watertight)
    if not watertight or not shape.is_winding_consistent:
        return watertight, None
    return watertight, float(abs(shape.volume))
