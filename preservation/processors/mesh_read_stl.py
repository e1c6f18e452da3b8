"""STL (binary and ASCII) into MeshData, after ``mesh_header`` checked the triangle count against the size.

STL stores every triangle's three corners on their own; the reader merges corners whose coordinates are
bitwise equal into shared vertices (first-occurrence order), which loses nothing and gives the access copy
a connected mesh to decimate. Facet normals are not carried (they follow from the vertex order); non-zero
attribute words (some tools put colours there) are noted. Binary coordinates stay float32; ASCII ones are
parsed as float64.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from preservation.processors.mesh_data import MeshData
from preservation.processors.mesh_header import MeshHeader, refusal

_FACET = np.dtype([("normal", "<f4", (3,)), ("corners", "<f4", (3, 3)), ("attribute", "<u2")])
_VERTEX = re.compile(rb"vertex\s+(\S+)\s+(\S+)\s+(\S+)")


def read_stl_binary(path: Path, name: str, header: MeshHeader) -> MeshData:
    facets = np.fromfile(path, dtype=_FACET, count=header.faces, offset=84)
    if len(facets) != header.faces:
        raise refusal(name, f"the file holds {len(facets)} of the {header.faces} triangles it announces")
    notes = []
    if facets["attribute"].any():
        notes.append("non-zero STL attribute words (colours in some tools) are not carried into the master")
    corners = facets["corners"].reshape(-1, 3)
    return _merged(corners, name, "STL (binary)", notes)


def read_stl_ascii(path: Path, name: str, header: MeshHeader) -> MeshData:
    found = _VERTEX.findall(path.read_bytes())
    if len(found) != 3 * header.faces:
        raise refusal(name, f"the ASCII STL holds {len(found)} vertex lines for {header.faces} facets (3 each)")
    try:
        corners = np.array(found, dtype=np.bytes_).astype(np.float64)
    except ValueError:
        raise refusal(name, "a vertex line of the ASCII STL is not three numbers") from None
    return _merged(corners, name, "STL (ASCII)", [])


def _merged(corners: np.ndarray, name: str, source_format: str, notes: list[str]) -> MeshData:
    if not len(corners):
        raise refusal(name, "the STL file holds no triangle")
    keys = np.ascontiguousarray(corners).view(np.dtype((np.void, corners.dtype.itemsize * 3))).reshape(-1)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first)  # keep the order in which vertices first appear
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    vertices = corners[first[order]]
    faces = rank[inverse.reshape(-1)].reshape(-1, 3).astype(np.int64)
    notes.append(
        f"{len(corners)} triangle corners merged into {len(vertices)} shared vertices (bitwise-equal coordinates)"
    )
    return MeshData(
        kind="mesh", vertices=np.ascontiguousarray(vertices), faces=faces, source_format=source_format, notes=notes
    )
