"""The web GLB: standard (two readers load it), within budget, colours and textures kept where possible."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygltflib
import pytest
import trimesh
from PIL import Image

from preservation.processors.base import ProcessingError
from preservation.processors.mesh_access import (
    inspect_glb,
    make_thumbnail_glb,
    make_web_glb,
    reduce_for_access,
    srgb_to_linear_u8,
    voxel_downsample,
)
from preservation.processors.mesh_data import MeshData


def grid(n: int, bumps: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An n x n vertex height field over [0, 1]^2: vertices, triangles, uv."""
    u, v = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n), indexing="ij")
    height = 0.1 * np.sin(6 * u) * np.cos(5 * v) if bumps else np.zeros_like(u)
    vertices = np.stack([u, height, v], -1).reshape(-1, 3).astype(np.float32)
    i, j = np.meshgrid(np.arange(n - 1), np.arange(n - 1), indexing="ij")
    a, b, c, d = i * n + j, (i + 1) * n + j, (i + 1) * n + j + 1, i * n + j + 1
    faces = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)])
    return vertices, faces.astype(np.int64), np.stack([u, v], -1).reshape(-1, 2).astype(np.float32)


def position_colours(vertices: np.ndarray) -> np.ndarray:
    """Colour as a smooth function of position, so a decimated vertex's colour can be predicted."""
    span = np.ptp(vertices, axis=0) + 1e-9
    return np.round((vertices - vertices.min(axis=0)) / span * 255).astype(np.uint8)


def uv_sphere(rings: int, segments: int) -> MeshData:
    lat, lon = np.meshgrid(np.linspace(0, np.pi, rings + 1), np.linspace(0, 2 * np.pi, segments, endpoint=False))
    lat, lon = lat.T, lon.T
    vertices = np.stack([np.sin(lat) * np.cos(lon), np.cos(lat), np.sin(lat) * np.sin(lon)], -1).reshape(-1, 3)
    i, j = np.meshgrid(np.arange(rings), np.arange(segments), indexing="ij")
    a, b = i * segments + j, (i + 1) * segments + j
    c, d = (i + 1) * segments + (j + 1) % segments, i * segments + (j + 1) % segments
    faces = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)])
    vertices = vertices.astype(np.float32)
    return MeshData("mesh", vertices, faces.astype(np.int64), vertex_colors=position_colours(vertices))


def checker_png(folder: Path) -> Path:
    y, x = np.mgrid[:128, :128]
    pixels = np.where((((x // 16) + (y // 16)) % 2 == 0)[..., None], [200, 30, 30], [240, 240, 240]).astype(np.uint8)
    path = folder / "checker.png"
    Image.fromarray(pixels).save(path)
    return path


def colours_read_back(path: Path) -> np.ndarray:
    scene = trimesh.load(path, force="scene")
    (mesh,) = scene.geometry.values()
    return np.asarray(mesh.visual.vertex_attributes["color"])


def test_a_small_mesh_is_written_unchanged_and_both_readers_agree(tmp_path):
    data = uv_sphere(16, 32)
    report = make_web_glb(data, tmp_path / "web.glb")
    assert report["triangles_in"] == report["triangles_out"] == data.face_count
    assert report["ratio"] == 1.0 and report["notes"] == []
    found = inspect_glb(tmp_path / "web.glb")
    assert found["triangles"] == found["trimesh_triangles"] == data.face_count
    assert found["vertices"] == data.vertex_count and found["colors"]
    gltf = pygltflib.GLTF2().load_binary(str(tmp_path / "web.glb"))
    assert gltf.materials[0].pbrMetallicRoughness.metallicFactor == 0 and gltf.materials[0].doubleSided
    mesh = next(iter(trimesh.load(tmp_path / "web.glb", force="scene").geometry.values()))
    assert np.array_equal(mesh.vertices.astype(np.float32), data.vertices)
    assert np.array_equal(mesh.faces, data.faces)


def test_colours_are_written_as_linear_light_as_gltf_requires(tmp_path):
    data = uv_sphere(8, 16)
    make_web_glb(data, tmp_path / "web.glb")
    colours = colours_read_back(tmp_path / "web.glb")
    assert np.array_equal(colours[:, :3], srgb_to_linear_u8(data.vertex_colors))
    assert srgb_to_linear_u8(np.array([[0, 128, 255]], np.uint8)).tolist() == [[0, 55, 255]]


def test_a_mesh_over_budget_is_decimated_within_it_and_keeps_its_colours(tmp_path):
    data = uv_sphere(100, 200)  # 40k triangles
    report = make_web_glb(data, tmp_path / "web.glb", max_triangles=4_000)
    assert 3_000 <= report["triangles_out"] <= 4_000
    found = inspect_glb(tmp_path / "web.glb")
    assert found["triangles"] == found["trimesh_triangles"] == report["triangles_out"]
    mesh = next(iter(trimesh.load(tmp_path / "web.glb", force="scene").geometry.values()))
    expected = srgb_to_linear_u8(position_colours(mesh.vertices.astype(np.float32)))
    error = np.abs(colours_read_back(tmp_path / "web.glb")[:, :3].astype(int) - expected.astype(int))
    assert error.mean() < 8  # each surviving vertex carries the colour of the surface around it
    assert np.abs(np.linalg.norm(mesh.vertices, axis=1) - 1).max() < 0.05  # still a unit sphere


def test_quads_count_as_two_triangles(tmp_path):
    vertices = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], np.float32)
    data = MeshData("mesh", vertices, np.array([[0, 1, 2, 3]], np.int64))
    assert make_web_glb(data, tmp_path / "quad.glb")["triangles_out"] == 2


def test_a_textured_mesh_keeps_texture_and_uv(tmp_path):
    vertices, faces, uv = grid(10)
    data = MeshData("mesh", vertices, faces, uv=uv, textures=[checker_png(tmp_path)])
    report = make_web_glb(data, tmp_path / "web.glb")
    assert report["texture"] and not report["colors"]
    found = inspect_glb(tmp_path / "web.glb")
    assert found["texture"]
    mesh = next(iter(trimesh.load(tmp_path / "web.glb", force="scene").geometry.values()))
    assert np.allclose(mesh.visual.uv, uv, atol=1e-6)
    assert mesh.visual.material.baseColorTexture.size == (128, 128)


def test_a_textured_mesh_is_decimated_with_its_uvs(tmp_path):
    vertices, faces, uv = grid(80)  # 12.6k triangles
    data = MeshData("mesh", vertices, faces, uv=uv, textures=[checker_png(tmp_path)])
    report = make_web_glb(data, tmp_path / "web.glb", max_triangles=2_000)
    assert report["triangles_out"] <= 2_000 and report["texture"]
    mesh = next(iter(trimesh.load(tmp_path / "web.glb", force="scene").geometry.values()))
    # on this height field uv = (x, z): each surviving vertex's uv still matches where it is
    assert np.abs(mesh.visual.uv - mesh.vertices[:, [0, 2]]).max() < 0.05


def test_textures_without_a_face_assignment_are_reported_not_guessed(tmp_path):
    vertices, faces, uv = grid(6)
    textures = [checker_png(tmp_path), checker_png(tmp_path)]
    data = MeshData("mesh", vertices, faces, uv=uv, textures=textures, vertex_colors=position_colours(vertices))
    report = make_web_glb(data, tmp_path / "web.glb")
    assert not report["texture"] and report["colors"]
    assert any("2 textures" in note for note in report["notes"])


def test_a_triangle_soup_is_welded_before_decimation(tmp_path):
    vertices, faces, _ = grid(60)
    soup = vertices[faces.ravel()]
    data = MeshData("mesh", soup, np.arange(len(soup)).reshape(-1, 3))
    report = make_web_glb(data, tmp_path / "web.glb", max_triangles=1_000)
    assert report["triangles_out"] <= 1_000
    assert any("coincident vertices merged" in note for note in report["notes"])
    assert report["vertices_out"] < 0.7 * report["triangles_out"]  # shared vertices, not a soup


def test_a_point_cloud_is_voxel_downsampled_within_budget(tmp_path):
    rng = np.random.default_rng(7)
    points = rng.normal(size=(120_000, 3)).astype(np.float32)
    data = MeshData("pointcloud", points, vertex_colors=rng.integers(0, 256, (len(points), 3), dtype=np.uint8))
    report = make_web_glb(data, tmp_path / "cloud.glb", max_points=10_000)
    assert 2_500 <= report["points_out"] <= 10_000
    found = inspect_glb(tmp_path / "cloud.glb")
    assert found["points"] == found["trimesh_points"] == report["points_out"] and found["colors"]
    gltf = pygltflib.GLTF2().load_binary(str(tmp_path / "cloud.glb"))
    assert gltf.meshes[0].primitives[0].mode == pygltflib.POINTS


def test_a_flat_scan_reaches_close_to_its_point_budget():
    rng = np.random.default_rng(3)
    points = np.column_stack([rng.random(200_000), rng.random(200_000), np.zeros(200_000)])
    reduced, _, voxel = voxel_downsample(points, 20_000)
    assert 18_000 <= len(reduced) <= 20_000 and voxel > 0


def test_a_small_point_cloud_is_kept_whole(tmp_path):
    points = np.random.default_rng(1).random((500, 3)).astype(np.float32)
    report = make_web_glb(MeshData("pointcloud", points), tmp_path / "cloud.glb")
    assert report["points_out"] == 500 and report["ratio"] == 1.0
    cloud = next(iter(trimesh.load(tmp_path / "cloud.glb", force="scene").geometry.values()))
    assert np.array_equal(np.asarray(cloud.vertices, np.float32), points)


def test_the_thumbnail_level_is_smaller(tmp_path):
    data = uv_sphere(100, 200)
    report = make_thumbnail_glb(data, tmp_path / "thumb.glb", max_triangles=2_000)
    assert report["triangles_out"] <= 2_000
    assert report["bytes"] < make_web_glb(data, tmp_path / "web.glb")["bytes"] / 5


def test_the_web_level_is_made_once_and_reused_for_the_smaller_levels(tmp_path):
    data = uv_sphere(100, 200)
    assert reduce_for_access(data, max_triangles=50_000) is data  # within budget: nothing copied
    web = reduce_for_access(data, max_triangles=8_000)
    assert web.face_count <= 8_000 and web.vertex_colors is not None and web.notes
    report = make_thumbnail_glb(web, tmp_path / "thumb.glb", max_triangles=1_000)
    assert report["triangles_in"] == web.face_count and report["triangles_out"] <= 1_000


def test_empty_data_is_refused_with_a_clear_message(tmp_path):
    with pytest.raises(ProcessingError, match="no vertices"):
        make_web_glb(MeshData("pointcloud", np.zeros((0, 3), np.float32)), tmp_path / "empty.glb")


def test_a_texture_atlas_of_separate_pieces_is_baked_into_colours_when_seams_block_the_budget(tmp_path):
    vertices, faces, _ = grid(40)
    corners = vertices[faces.ravel()]  # every triangle its own UV island: all edges are seams
    uv = np.random.default_rng(2).random((len(corners), 2)).astype(np.float32)
    data = MeshData("mesh", corners, np.arange(len(corners)).reshape(-1, 3), uv=uv, textures=[checker_png(tmp_path)])
    report = make_web_glb(data, tmp_path / "web.glb", max_triangles=500)
    assert report["triangles_out"] <= 500
    assert report["colors"] and not report["texture"]
    assert any("baked into vertex colours" in note for note in report["notes"])


def test_open3d_finishes_a_decimation_that_fast_simplification_cannot(tmp_path, monkeypatch):
    import fast_simplification

    def stalls(points, triangles, **options):
        return points, triangles, np.zeros((0, 2), np.int64)

    monkeypatch.setattr(fast_simplification, "simplify", stalls)
    report = make_web_glb(uv_sphere(40, 80), tmp_path / "web.glb", max_triangles=1_000)
    assert report["triangles_out"] <= 1_000 and report["colors"]
    assert any("Open3D" in note for note in report["notes"])
