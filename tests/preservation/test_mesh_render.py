"""Thumbnail renders: a lit, centred, right-sized sRGB PNG, whichever renderer drew it."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from PIL import Image

from preservation.processors import mesh_render
from preservation.processors.mesh_data import MeshData
from preservation.processors.mesh_render import BACKGROUND, prepare_scene, render_thumbnail
from tests.preservation.test_mesh_access import checker_png, grid, uv_sphere


def object_pixels(path) -> tuple[np.ndarray, np.ndarray]:
    """The image as an array, and a mask of the pixels that are not background."""
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    return pixels, np.abs(pixels - np.array(BACKGROUND)).sum(axis=2) > 12


def assert_centred_and_shaded(path, size: int, min_cover: float = 0.25) -> None:
    pixels, mask = object_pixels(path)
    assert pixels.shape == (size, size, 3)
    assert min_cover < mask.mean() < 0.9
    rows, cols = np.nonzero(mask)
    assert abs(rows.mean() - size / 2) < size * 0.1 and abs(cols.mean() - size / 2) < size * 0.1
    assert pixels[mask].mean(axis=1).std() > 8  # light and shade, not a flat silhouette


def test_a_plain_sphere_is_drawn_lit_and_centred(tmp_path):
    data = uv_sphere(24, 48)
    data.vertex_colors = None
    report = render_thumbnail(data, tmp_path / "sphere.png", size=256, renderer="software")
    assert report["renderer"] == "software" and report["triangles"] == data.face_count
    assert_centred_and_shaded(tmp_path / "sphere.png", 256, min_cover=0.4)
    with Image.open(tmp_path / "sphere.png") as image:
        assert image.format == "PNG" and image.info.get("icc_profile")  # tagged sRGB


def test_vertex_colours_show_in_the_render(tmp_path):
    data = uv_sphere(24, 48)
    data.vertex_colors = np.tile(np.array([[200, 30, 30]], np.uint8), (data.vertex_count, 1))
    render_thumbnail(data, tmp_path / "red.png", size=128, renderer="software")
    pixels, mask = object_pixels(tmp_path / "red.png")
    red, green, blue = pixels[mask].mean(axis=0)
    assert red > 2 * green and red > 2 * blue


def test_a_texture_shows_in_the_render(tmp_path):
    vertices, faces, uv = grid(12, bumps=False)
    data = MeshData("mesh", vertices, faces, uv=uv, textures=[checker_png(tmp_path)])
    render_thumbnail(data, tmp_path / "quad.png", size=256, renderer="software")
    pixels, mask = object_pixels(tmp_path / "quad.png")
    reddish = (pixels[mask][:, 0] > pixels[mask][:, 1] + 60).mean()
    assert 0.25 < reddish < 0.75  # both checker colours are visible


def test_a_point_cloud_is_drawn_as_points(tmp_path):
    rng = np.random.default_rng(5)
    directions = rng.normal(size=(40_000, 3))
    points = (directions / np.linalg.norm(directions, axis=1, keepdims=True)).astype(np.float32)
    report = render_thumbnail(MeshData("pointcloud", points), tmp_path / "cloud.png", size=200, renderer="software")
    assert report["points"] == 40_000
    assert_centred_and_shaded(tmp_path / "cloud.png", 200, min_cover=0.3)


def test_a_mesh_over_the_render_budget_is_decimated_first(tmp_path, monkeypatch):
    monkeypatch.setattr(mesh_render, "MAX_RENDER_TRIANGLES", 2_000)
    report = render_thumbnail(uv_sphere(60, 120), tmp_path / "big.png", size=64, renderer="software")
    assert report["triangles"] <= 2_000


def test_the_camera_frames_a_z_up_scan_from_above_front(tmp_path):
    scene = prepare_scene(uv_sphere(8, 16), up="z")
    assert scene.eye[2] > scene.target[2] and scene.eye[1] < scene.target[1]  # above, in front (-y)


def test_sizes_above_512_are_refused(tmp_path):
    with pytest.raises(ValueError, match="outside"):
        render_thumbnail(uv_sphere(4, 8), tmp_path / "big.png", size=1024)


def test_a_crashing_open3d_child_falls_back_to_the_software_renderer(tmp_path, monkeypatch):
    def crash(command, **options):
        return subprocess.CompletedProcess(command, -11, b"", b"Segmentation fault (core dumped)")

    monkeypatch.setattr(mesh_render.subprocess, "run", crash)
    report = render_thumbnail(uv_sphere(16, 32), tmp_path / "sphere.png", size=128, renderer="open3d")
    assert report["renderer"] == "software"
    assert "exit code -11" in report["fallback_reason"] and "Segmentation fault" in report["fallback_reason"]
    assert_centred_and_shaded(tmp_path / "sphere.png", 128)


def test_a_hanging_open3d_child_is_stopped_and_replaced(tmp_path, monkeypatch):
    def hang(command, **options):
        raise subprocess.TimeoutExpired(command, options["timeout"])

    monkeypatch.setattr(mesh_render.subprocess, "run", hang)
    report = render_thumbnail(uv_sphere(16, 32), tmp_path / "sphere.png", size=128, renderer="open3d")
    assert report["renderer"] == "software" and "did not finish" in report["fallback_reason"]
