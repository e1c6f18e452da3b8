"""glTF 2.0 and GLB: container and JSON checks before trimesh reads anything (the reader is mesh_read_scene).

A GLB's 12-byte header and chunk lengths must fit the file; the JSON (at most ``MeshLimits.max_json_bytes``)
is parsed and every accessor's declared count x stride must fit its buffer view, every view its buffer, the
GLB buffer its BIN chunk. Vertex and face counts (summed over the meshes' primitives, times the nodes that
instance them) are held to the limits. Buffers that point outside the upload (absolute, '..', URLs) and
Draco/meshopt compression (which trimesh cannot decode) are refused here with the reason.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from urllib.parse import unquote

from preservation.processors.mesh_header import GLB, GLTF, MeshHeader, MeshLimits, check_counts, refusal

_GLTF_COMPONENT_SIZE = {5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4}
_GLTF_TYPE_COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
UNSUPPORTED_GLTF_EXTENSIONS = {
    "KHR_draco_mesh_compression": "Draco compression",
    "EXT_meshopt_compression": "meshoptimizer compression",
}


def read_glb_chunks(path: Path, name: str, size: int, limits: MeshLimits) -> tuple[dict, int, int]:
    """The JSON of a GLB, plus the offset and length of its BIN chunk (0, 0 when absent). Checked, not loaded."""
    with path.open("rb") as stream:
        head = stream.read(20)
        if len(head) < 20:
            raise refusal(name, f"a GLB file has a 20-byte header, but the file holds only {size} bytes")
        magic, version, length, json_length, json_type = struct.unpack("<4sIIII", head)
        if magic != b"glTF" or version != 2:
            raise refusal(name, f"only GLB version 2 is supported (this file says version {version})")
        if length > size:
            raise refusal(name, f"the GLB header announces {length} bytes but the file holds {size}: it is truncated")
        if json_type != 0x4E4F534A or 20 + json_length > length:
            raise refusal(name, "the GLB's first chunk is not a complete JSON chunk")
        if json_length > limits.max_json_bytes:
            raise refusal(name, f"the GLB's JSON chunk is {json_length} bytes; the limit is {limits.max_json_bytes}")
        document = _json(stream.read(json_length), name)
        bin_offset = bin_length = 0
        position = 20 + json_length + (-json_length % 4)
        if position + 8 <= length:
            stream.seek(position)
            bin_length, bin_type = struct.unpack("<II", stream.read(8))
            if bin_type != 0x004E4942 or position + 8 + bin_length > length:
                raise refusal(name, "the GLB's second chunk is not a complete BIN chunk: the file is truncated")
            bin_offset = position + 8
    return document, bin_offset, bin_length


def _json(data: bytes, name: str) -> dict:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise refusal(name, f"the glTF JSON is not valid ({error})") from None
    if not isinstance(document, dict):
        raise refusal(name, "the glTF JSON is not an object")
    return document


def safe_relative_uri(uri: str) -> str | None:
    """The relative path a glTF/OBJ reference names, or None when it leaves its folder or is not a file path."""
    if uri.startswith("data:"):
        return None
    path = unquote(uri).strip()
    if not path or "\\" in path or "\0" in path or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", path) or path[0] == "/":
        return None
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def check_gltf(document: dict, name: str, limits: MeshLimits, bin_length: int | None) -> MeshHeader:
    """Counts and byte ranges declared by a glTF 2.0 JSON; ``bin_length``: the GLB BIN chunk (None: .gltf)."""
    try:
        return _check_gltf(document, name, limits, bin_length)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError) as error:  # 1e400 is inf
        raise refusal(name, f"the glTF JSON is not valid glTF 2.0 ({type(error).__name__}: {error})") from None


def _check_gltf(document: dict, name: str, limits: MeshLimits, bin_length: int | None) -> MeshHeader:
    version = str(document.get("asset", {}).get("version", ""))
    if not version.startswith("2."):
        raise refusal(name, f"only glTF 2.0 is supported (this file says version {version or 'none'})")
    required = set(document.get("extensionsRequired", []))
    for extension, what in UNSUPPORTED_GLTF_EXTENSIONS.items():
        if extension in required or extension in document.get("extensionsUsed", []):
            raise refusal(name, f"the file uses {what} ({extension}), which the archive cannot decode yet")
    buffers = document.get("buffers", [])
    for index, buffer in enumerate(buffers):
        uri = buffer.get("uri")
        if uri is None:
            if bin_length is None or index != 0:
                raise refusal(name, f"buffer {index} has no URI and there is no GLB binary chunk")
            if int(buffer["byteLength"]) > bin_length:
                raise refusal(name, "the GLB binary chunk is shorter than its buffer declares: the file is truncated")
        elif not uri.startswith("data:") and safe_relative_uri(uri) is None:
            raise refusal(name, f"buffer {index} refers to {uri[:80]!r}, outside the uploaded files; it was not read")
    views = document.get("bufferViews", [])
    for index, view in enumerate(views):
        end = int(view.get("byteOffset", 0)) + int(view["byteLength"])
        if end > int(buffers[int(view["buffer"])]["byteLength"]):
            raise refusal(name, f"buffer view {index} ends beyond its buffer: the file is inconsistent")
    accessors = document.get("accessors", [])
    for index, accessor in enumerate(accessors):
        _check_accessor(index, accessor, views, name)
    uses = [0] * len(document.get("meshes", []))
    for node in document.get("nodes", []):
        if "mesh" in node:
            uses[int(node["mesh"])] += 1
    vertices = faces = points = 0
    for mesh_index, mesh in enumerate(document.get("meshes", [])):
        times = max(uses[mesh_index], 1)
        for primitive in mesh.get("primitives", []):
            count = int(accessors[int(primitive["attributes"]["POSITION"])]["count"])
            mode = int(primitive.get("mode", 4))
            if mode == 0:
                points += count * times
                continue
            vertices += count * times
            indexed = int(accessors[int(primitive["indices"])]["count"]) if "indices" in primitive else count
            if mode == 4:
                faces += indexed // 3 * times
            elif mode in (5, 6):  # strips and fans
                faces += max(indexed - 2, 0) * times
    kind = "mesh" if faces else "pointcloud"
    check_counts(name, kind, vertices if faces else points, faces, limits, unit="vertices")
    details = {"images": len(document.get("images", [])), "materials": len(document.get("materials", []))}
    return MeshHeader(GLB if bin_length is not None else GLTF, kind, vertices or points, faces, "glTF 2.0", details)


def _check_accessor(index: int, accessor: dict, views: list, name: str) -> None:
    count = int(accessor["count"])
    item = _GLTF_COMPONENT_SIZE[int(accessor["componentType"])] * _GLTF_TYPE_COMPONENTS[accessor["type"]]
    if count < 0:
        raise refusal(name, f"accessor {index} has a negative count")
    if "bufferView" not in accessor:
        return  # all zeros (or sparse): no bytes to check
    view = views[int(accessor["bufferView"])]
    stride = int(view.get("byteStride", 0)) or item
    needed = int(accessor.get("byteOffset", 0)) + (stride * (count - 1) + item if count else 0)
    if needed > int(view["byteLength"]):
        raise refusal(
            name,
            f"accessor {index} announces {count} items ({needed} bytes) but its buffer view holds "
            f"{view['byteLength']} bytes: the file is truncated or inconsistent",
        )


def inspect_gltf(path: Path, name: str, size: int, limits: MeshLimits, fmt: str = GLTF) -> MeshHeader:
    """Header checks for a .gltf (see ``mesh_header``); called through ``mesh_header.inspect``."""
    if size > limits.max_json_bytes:
        raise refusal(name, f"the glTF JSON is {size} bytes; the limit is {limits.max_json_bytes}")
    return check_gltf(_json(path.read_bytes(), name), name, limits, None)


def inspect_glb(path: Path, name: str, size: int, limits: MeshLimits, fmt: str = GLB) -> MeshHeader:
    """Header checks for a GLB (see ``mesh_header``); called through ``mesh_header.inspect``."""
    document, _, bin_length = read_glb_chunks(path, name, size, limits)
    return check_gltf(document, name, limits, bin_length)
