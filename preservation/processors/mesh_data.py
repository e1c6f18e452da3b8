"""The in-memory form every 3D reader produces and every 3D writer consumes.

Readers (one per input format) turn a file into ``MeshData``; the preservation master, the access GLB,
the thumbnail and the technical metadata are all made from it, so a new input format is one reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class MeshData:
    """A triangle/polygon mesh or a point cloud, as arrays.

    - ``vertices``: (n, 3) float32 or float64, exactly as the source stored them;
    - ``faces``: (m, k) int64 vertex indices (k = 3 for triangles, 4 for quads ...), None for a point cloud;
    - ``vertex_colors``: (n, 3 or 4) uint8; ``vertex_normals``: (n, 3) float32; ``uv``: (n, 2) float32;
    - ``textures``: image files already copied into the work folder under safe names;
    - ``face_texture``: (m,) int32 index into ``textures`` per face (-1: none), None when all faces use
      ``textures[0]`` or there is no texture (written as the PLY face property ``texnumber``);
    - ``materials``: material names (OBJ/MTL, glTF); ``units``: when the source says (glTF: metres);
    - ``vertex_attributes``: other per-vertex scalars the source holds (scan intensity, confidence, quality ...),
      name -> (n,) array in the source's dtype, carried into the master under the same name;
    - ``checks``: what validation established (header within limits, sizes consistent ...), for the event.
    """

    kind: str  # "mesh" or "pointcloud"
    vertices: np.ndarray
    faces: np.ndarray | None = None
    vertex_colors: np.ndarray | None = None
    vertex_normals: np.ndarray | None = None
    uv: np.ndarray | None = None
    textures: list[Path] = field(default_factory=list)
    materials: list[str] = field(default_factory=list)
    source_format: str = ""
    units: str | None = None
    notes: list[str] = field(default_factory=list)  # what the reader changed or dropped, for events
    # Files the model refers to (MTL, textures, buffers) that were not among the uploaded files.
    missing_references: list[str] = field(default_factory=list)
    face_texture: np.ndarray | None = None
    vertex_attributes: dict[str, np.ndarray] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)

    @property
    def vertex_count(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def face_count(self) -> int:
        return 0 if self.faces is None else int(self.faces.shape[0])

    @property
    def polygon_size(self) -> int | None:
        return None if self.faces is None else int(self.faces.shape[1])

    def bounding_box(self) -> tuple[list[float], list[float]]:
        return self.vertices.min(axis=0).tolist(), self.vertices.max(axis=0).tolist()

    def triangles(self) -> np.ndarray:
        """Faces as triangles (fan triangulation of polygons), for renderers and GLB export."""
        if self.faces is None:
            raise ValueError("a point cloud has no faces")
        k = self.faces.shape[1]
        if k == 3:
            return self.faces
        fans = [self.faces[:, [0, i, i + 1]] for i in range(1, k - 1)]
        return np.concatenate(fans, axis=0)


def fan_triangulate(polygons: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Triangles (t, 3) from polygons of several sizes, and each triangle's polygon index (t,).

    For files that mix polygon sizes: ``MeshData.faces`` holds one size per mesh.
    """
    triangles, owners = [], []
    for index, polygon in enumerate(polygons):
        polygon = np.asarray(polygon, dtype=np.int64)
        count = len(polygon) - 2
        triangles.append(np.column_stack([np.repeat(polygon[0], count), polygon[1:-1], polygon[2:]]))
        owners.append(np.full(count, index, dtype=np.int64))
    if not triangles:
        return np.empty((0, 3), np.int64), np.empty(0, np.int64)
    return np.concatenate(triangles), np.concatenate(owners)
