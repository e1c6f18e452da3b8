"""Headers are checked before anything is loaded: limits, and declared sizes against the file's real size."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from preservation.processors.base import Limits, ProcessingError
from preservation.processors.mesh_header import MeshLimits, inspect
from preservation.processors.mesh_io import read_mesh
from tests.preservation import meshgen

LIMITS = MeshLimits()


def _refused(path: Path, fmt: str, limits: MeshLimits = LIMITS) -> str:
    with pytest.raises(ProcessingError) as caught:
        inspect(path, fmt, limits)
    assert caught.value.permanent
    assert caught.value.message.startswith(f"{path.name}: ")
    assert caught.value.message.endswith("; the original is kept in quarantine")
    return caught.value.message


def _cube_ply(path: Path, encoding: str = "binary_little_endian") -> Path:
    cube = meshgen.quad_cube()
    return meshgen.write_ply(path, cube["vertices"], cube["faces"], encoding=encoding, colours=cube["colours"])


def test_a_50_byte_file_announcing_a_trillion_vertices_is_refused_at_once_without_allocating(tmp_path):
    path = tmp_path / "lying.ply"
    path.write_bytes(
        b"ply\nformat ascii 1.0\nelement vertex 1000000000000\nproperty float x\nproperty float y\n"
        b"property float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n"
    )
    tracemalloc.start()
    with pytest.raises(ProcessingError) as caught:
        read_mesh(path, tmp_path / "work", LIMITS)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert caught.value.message.startswith(
        "lying.ply: the header announces 1000000000000 vertices; the limit is 50000000"
    )
    assert peak < 5 * 1024 * 1024


def test_the_same_lie_in_binary_is_refused_as_well(tmp_path):
    path = tmp_path / "lying.ply"
    path.write_bytes(
        b"ply\nformat binary_little_endian 1.0\nelement vertex 1000000000000\nproperty float x\n"
        b"property float y\nproperty float z\nend_header\n" + bytes(12)
    )
    message = _refused(path, "ply")
    assert "1000000000000 vertices (points of a point cloud); the limit is 200000000 points" in message


def test_a_truncated_binary_ply_is_refused_with_the_sizes(tmp_path):
    path = _cube_ply(tmp_path / "cut.ply")
    data = path.read_bytes()
    path.write_bytes(data[:-40])
    message = _refused(path, "ply")
    assert "the header announces 24 vertex elements and 6 face elements" in message
    assert "the file is truncated or its header is wrong" in message


def test_a_binary_ply_header_announcing_more_vertices_than_the_file_holds_is_refused(tmp_path):
    path = _cube_ply(tmp_path / "more.ply")
    path.write_bytes(path.read_bytes().replace(b"element vertex 24", b"element vertex 2400", 1))
    assert "which need at least" in _refused(path, "ply")


def test_an_ascii_ply_announcing_more_lines_than_it_holds_is_refused(tmp_path):
    path = _cube_ply(tmp_path / "ascii.ply", "ascii")
    path.write_bytes(path.read_bytes().replace(b"element vertex 24", b"element vertex 30", 1))
    message = _refused(path, "ply")
    assert "(36 lines of data) but the file holds only 30 lines" in message


def test_a_malformed_ply_header_is_refused_with_the_line(tmp_path):
    path = tmp_path / "odd.ply"
    path.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty quad x\nend_header\n")
    assert "header line 4 is not a valid property line" in _refused(path, "ply")


def test_a_binary_stl_whose_count_disagrees_with_its_size_is_refused(tmp_path):
    triangles = np.zeros((4, 3, 3), np.float32)
    path = meshgen.write_stl_binary(tmp_path / "liar.stl", triangles, count=400)
    message = _refused(path, "stl-binary")
    assert "announces 400 triangles, which take 20084 bytes, but the file holds 284 bytes" in message


def test_an_ascii_stl_cut_in_the_middle_of_a_facet_is_refused(tmp_path):
    path = meshgen.write_stl_ascii(tmp_path / "cut.stl", np.zeros((3, 3, 3)))
    path.write_text(path.read_text()[:-60])
    assert "opens 3 facets but closes 2" in _refused(path, "stl-ascii")


def test_counts_above_configured_limits_are_refused(tmp_path):
    path = _cube_ply(tmp_path / "cube.ply")
    assert "the header announces 6 faces; the limit is 5" in _refused(path, "ply", MeshLimits(max_faces=5))
    big = tmp_path / "big.ply"
    big.write_bytes(b"x" * 100)
    assert "100 bytes; the limit is 99 bytes" in _refused(big, "ply", MeshLimits(max_bytes=99))


def test_mesh_limits_take_the_byte_limit_from_the_pipeline_limits():
    limits = MeshLimits.from_limits(Limits(max_bytes=1234), max_vertices=10)
    assert (limits.max_bytes, limits.max_vertices, limits.zip_bytes) == (1234, 10, 1234)


def test_a_pcd_whose_width_and_height_disagree_with_points_is_refused(tmp_path):
    path = meshgen.write_pcd(tmp_path / "odd.pcd", meshgen.cloud(10))
    path.write_bytes(path.read_bytes().replace(b"WIDTH 10", b"WIDTH 11"))
    assert "WIDTH x HEIGHT = 11 x 1 but POINTS 10" in _refused(path, "pcd")


def test_a_truncated_binary_pcd_is_refused(tmp_path):
    path = meshgen.write_pcd(tmp_path / "cut.pcd", meshgen.cloud(10), data="binary")
    path.write_bytes(path.read_bytes()[:-5])
    assert "announces 10 points, which need at least 120 bytes" in _refused(path, "pcd")


def test_a_pts_count_line_of_a_trillion_is_refused_before_counting(tmp_path):
    path = tmp_path / "lying.pts"
    path.write_text("1000000000000\n1 2 3\n")
    assert "announces 1000000000000 points; the limit is 200000000 points" in _refused(path, "pts")


def test_a_pts_count_larger_than_its_lines_is_refused(tmp_path):
    path = tmp_path / "short.pts"
    path.write_text("5\n1 2 3\n4 5 6\n")
    assert "announces 5 points but the file holds only 2 lines" in _refused(path, "pts")


def test_an_off_header_announcing_more_than_the_file_holds_is_refused(tmp_path):
    cube = meshgen.quad_cube()
    path = meshgen.write_off(tmp_path / "cube.off", cube["vertices"], cube["faces"])
    path.write_text(path.read_text().replace("24 6 0", "24 600 0"))
    assert "announces 24 vertices and 600 faces" in _refused(path, "off")


def test_an_obj_with_more_vertices_than_the_limit_is_refused_while_counting(tmp_path):
    path = tmp_path / "many.obj"
    path.write_text("v 0 0 0\n" * 11 + "f 1 2 3\n")
    assert "more than 10 vertices" in _refused(path, "obj", MeshLimits(max_vertices=10))


def test_a_truncated_glb_is_refused(tmp_path):
    path = tmp_path / "cut.glb"
    path.write_bytes(meshgen.sphere().export(file_type="glb")[:-100])
    assert "it is truncated" in _refused(path, "glb")


def test_a_glb_accessor_announcing_more_than_its_buffer_is_refused(tmp_path):
    document, binary = meshgen.glb_parts(meshgen.sphere().export(file_type="glb"))
    document["accessors"][1]["count"] *= 1000
    path = tmp_path / "liar.glb"
    path.write_bytes(meshgen.glb(document, binary))
    assert "accessor 1 announces" in _refused(path, "glb")


def test_a_gltf_buffer_outside_the_upload_is_refused(tmp_path):
    path = tmp_path / "escape.gltf"
    path.write_text(
        json.dumps({"asset": {"version": "2.0"}, "buffers": [{"uri": "../../etc/passwd", "byteLength": 4}]})
    )
    assert "outside the uploaded files" in _refused(path, "gltf")


def test_a_header_check_records_what_it_verified(tmp_path):
    header = inspect(_cube_ply(tmp_path / "cube.ply"), "ply", LIMITS)
    assert (header.kind, header.vertices, header.faces) == ("mesh", 24, 6)
    assert "the header declares 24 vertices and 6 faces, within the limits" in header.checks[-1]
