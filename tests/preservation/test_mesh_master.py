"""The PLY master holds the source geometry bit for bit, and its verification catches any difference."""

from __future__ import annotations

import imagecodecs
import numpy as np
import pytest
from plyfile import PlyData

from preservation.processors.base import ProcessingError
from preservation.processors.mesh_data import MeshData
from preservation.processors.mesh_header import MeshLimits
from preservation.processors.mesh_io import read_mesh
from preservation.processors.mesh_master import verify_master, write_master
from preservation.processors.mesh_metadata import technical
from tests.preservation import meshgen

CUBE = meshgen.quad_cube()


def _cube_data(**extra) -> MeshData:
    return MeshData(
        kind="mesh",
        vertices=CUBE["vertices"].copy(),
        faces=CUBE["faces"].copy(),
        vertex_colors=CUBE["colours"].copy(),
        vertex_normals=CUBE["normals"].copy(),
        uv=CUBE["uv"].copy(),
        source_format="test",
        **extra,
    )


def test_the_master_is_binary_little_endian_with_the_standard_property_names(tmp_path):
    write_master(_cube_data(), tmp_path / "m.ply")
    ply = PlyData.read(str(tmp_path / "m.ply"))
    assert not ply.text and ply.byte_order == "<"
    assert ply["vertex"].data.dtype.names == ("x", "y", "z", "nx", "ny", "nz", "red", "green", "blue", "s", "t")
    assert str(ply["face"].properties[0]) == "property list uchar int vertex_indices"


def test_a_changed_coordinate_in_the_master_is_caught(tmp_path):
    data = _cube_data()
    path = tmp_path / "m.ply"
    write_master(data, path)
    raw = bytearray(path.read_bytes())
    header_end = raw.index(b"end_header\n") + len(b"end_header\n")
    raw[header_end + 1] ^= 0x01  # the low bits of vertex 0's x
    path.write_bytes(bytes(raw))
    with pytest.raises(ProcessingError) as caught:
        verify_master(data, path)
    assert caught.value.permanent
    assert "coordinates differ" in caught.value.message
    assert "a fault in the archive's conversion, not in the file" in caught.value.message


def test_a_master_missing_its_normals_is_caught(tmp_path):
    data = _cube_data()
    write_master(MeshData(kind="mesh", vertices=data.vertices, faces=data.faces), tmp_path / "m.ply")
    with pytest.raises(ProcessingError, match="lacks the source's normals"):
        verify_master(data, tmp_path / "m.ply")


def test_several_textures_are_numbered_per_face_and_16_bit_texture_depth_is_kept(tmp_path):
    deep = np.arange(6 * 8 * 3, dtype=np.uint16).reshape(6, 8, 3) * 300
    (tmp_path / "deep.png").write_bytes(imagecodecs.png_encode(deep))
    meshgen.texture_png(tmp_path / "flat.png")
    data = _cube_data(textures=[tmp_path / "deep.png", tmp_path / "flat.png"])
    data.face_texture = np.array([0, 0, 1, 1, -1, 0], dtype=np.int32)
    path = tmp_path / "out" / "m.ply"
    textures = write_master(data, path)
    assert [t.name for t in textures] == ["m_deep.png", "m_flat.png"]
    detail = verify_master(data, path)
    assert "2 textures (m_deep.png, m_flat.png) re-encoded losslessly" in detail
    written = imagecodecs.png_decode(textures[0].read_bytes())
    assert written.dtype == np.uint16 and np.array_equal(written, deep)
    ply = PlyData.read(str(path))
    assert ply.comments[:2] == ["TextureFile m_deep.png", "TextureFile m_flat.png"]
    assert ply["face"]["texnumber"].tolist() == [0, 0, 1, 1, -1, 0]


def test_mixed_polygons_are_fan_triangulated_and_say_so(tmp_path):
    from plyfile import PlyElement

    vertices = np.array(
        [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (2, 0, 0)], dtype=[("x", "f4"), ("y", "f4"), ("z", "f4")]
    )
    faces = np.empty(2, dtype=[("vertex_indices", "O")])
    faces["vertex_indices"] = [np.array([0, 1, 2, 3], np.int32), np.array([1, 4, 2], np.int32)]
    PlyData([PlyElement.describe(vertices, "vertex"), PlyElement.describe(faces, "face")]).write(
        str(tmp_path / "mix.ply")
    )
    data = read_mesh(tmp_path / "mix.ply", tmp_path / "work", MeshLimits())
    assert data.faces.tolist() == [[0, 1, 2], [0, 2, 3], [1, 4, 2]]
    assert any("fan-triangulated into 3 triangles" in note for note in data.notes)
    write_master(data, tmp_path / "m.ply")
    assert "3 faces of 3 vertices" in verify_master(data, tmp_path / "m.ply")


def test_metadata_of_a_closed_cube(tmp_path):
    meta = technical(_cube_data(materials=["stone"]))
    assert meta["kind"] == "mesh" and (meta["vertices"], meta["faces"], meta["points"]) == (24, 6, 0)
    assert meta["watertight"] is True and meta["volume"] == pytest.approx(0.25**3, rel=1e-6)
    assert meta["surface_area"] == pytest.approx(6 * 0.25**2, rel=1e-6)
    assert meta["dimensions"] == pytest.approx([0.25, 0.25, 0.25])
    assert meta["polygon_size"] == 4 and meta["has_uv"] and meta["has_normals"] and meta["has_colors"]
    assert meta["materials"] == ["stone"] and meta["units"] is None


def test_metadata_of_an_open_mesh_has_no_volume_and_a_point_cloud_counts_points():
    open_box = MeshData(kind="mesh", vertices=CUBE["vertices"], faces=CUBE["faces"][:5])
    meta = technical(open_box)
    assert meta["watertight"] is False and meta["volume"] is None
    cloud = technical(MeshData(kind="pointcloud", vertices=meshgen.cloud(40)))
    assert (cloud["points"], cloud["faces"], cloud["surface_area"], cloud["polygon_size"]) == (40, 0, None, None)


def test_metadata_skips_watertightness_above_the_face_bound():
    meta = technical(_cube_data(), watertight_face_limit=5)
    assert meta["watertight"] is None and meta["volume"] is None and meta["surface_area"] > 0


def test_metadata_is_plain_json():
    import json

    json.dumps(technical(_cube_data()))
