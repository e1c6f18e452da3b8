"""Thumbnail renders of 3D data: a lit, centred PNG for lists and the viewer's poster.

Two renderers draw the same prepared scene (decimated to at most 200k triangles, or 500k points):

- a numpy software rasteriser (z-buffer, Gouraud/Lambert shading with key, fill and ambient light, 2x
  supersampling, sRGB-correct), in process: the default, 0.3-1.3 s for up to 200k triangles here.
- Open3D's ``OffscreenRenderer`` (Filament on Mesa's software Vulkan; needs no display or GPU), the second
  choice, or the first with ``renderer="open3d"``. It works here but is erratic: 1.6-16 s for the same
  scene, and about one render in five or ten never finishes; a second renderer in one process hangs. So it
  always runs in a child process with a timeout (a crash or hang cannot take the worker down), draws at
  512x512 only (128 px took 25 s, 768 px 3 s) and Pillow scales the result.

The camera looks at the bounding box from the front right, 25 degrees above, fitted so the object fills about
80% of the frame. The up axis is glTF's +Y by default, so the thumbnail matches the web viewer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

from preservation.processors.base import ProcessingError
from preservation.processors.mesh_access import decimate, vertex_normals
from preservation.processors.mesh_data import MeshData

MAX_SIZE = 512
MAX_RENDER_TRIANGLES = 200_000
MAX_RENDER_POINTS = 500_000
OPEN3D_SIZE = 512  # the size Open3D renders at quickly here (see module docstring)
OPEN3D_TIMEOUT = 60.0  # a good render takes 2-16 s here; a hung one never ends
BACKGROUND = (226, 226, 222)  # neutral light grey, sRGB
CLAY = (196, 190, 180)  # neutral material when the data has no colour, sRGB
FOV = 30.0  # vertical field of view, degrees
AMBIENT, KEY, FILL = 0.30, 0.75, 0.20
SUPERSAMPLE = 2  # the software renderer draws at 2x and averages: smooth edges
_FRAGMENTS_PER_CHUNK = 1_000_000  # candidate pixels per batch: bounds the rasteriser's memory (~100 MB)
# software first: in process, deterministic, faster here and exact on sRGB colours (see the module docstring)
RENDERER_ORDER = {"auto": ("software", "open3d"), "open3d": ("open3d", "software"), "software": ("software",)}
_SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
_PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Scene:
    """What both renderers draw: geometry, colour and a fitted camera (world space)."""

    vertices: np.ndarray  # (n, 3) float32
    faces: np.ndarray | None  # (m, 3) int64, None for points
    colors: np.ndarray | None  # (n, 3) uint8 sRGB
    normals: np.ndarray | None  # (n, 3) float32
    uv: np.ndarray | None
    texture: Path | None
    eye: np.ndarray
    target: np.ndarray
    up: np.ndarray


def render_thumbnail(data: MeshData, path: Path, size: int = MAX_SIZE, renderer: str = "auto", up: str = "y") -> dict:
    """Write a ``size`` x ``size`` sRGB PNG of the object (16 <= ``size`` <= 512); return what was done.

    ``renderer`` picks the order tried (see RENDERER_ORDER): "auto" is the software rasteriser, then Open3D;
    "open3d" tries Open3D in its child process first; "software" uses only the rasteriser. ``up`` is the
    object's up axis, "y" (glTF, what the web viewer assumes) or "z" (many scanners). The dict holds the
    renderer used, seconds, size, triangles or points drawn, and why earlier renderers failed. Raises
    ProcessingError (not permanent) only if every renderer failed.
    """
    if not 16 <= size <= MAX_SIZE:
        raise ValueError(f"thumbnail size {size} is outside 16..{MAX_SIZE} px")
    started = time.perf_counter()
    scene = prepare_scene(data, up)
    report: dict = {"size": [size, size]}
    report["triangles" if scene.faces is not None else "points"] = (
        len(scene.faces) if scene.faces is not None else len(scene.vertices)
    )
    failures = []
    for name in RENDERER_ORDER[renderer]:
        try:
            image = render_open3d(scene) if name == "open3d" else render_software(scene, size)
        except (RuntimeError, MemoryError, OSError, ValueError) as error:
            failures.append(f"{name}: {error}")
            continue
        report["renderer"] = name
        break
    else:
        raise ProcessingError(f"no renderer could draw the thumbnail ({'; '.join(failures)})", permanent=False)
    report["fallback_reason"] = "; ".join(failures)[-600:] or None
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    image.convert("RGB").save(partial, format="PNG", icc_profile=_SRGB_ICC, optimize=True)
    os.replace(partial, path)
    report["seconds"] = round(time.perf_counter() - started, 3)
    return report


def prepare_scene(data: MeshData, up: str = "y") -> Scene:
    """Reduce the data to what a thumbnail needs and fit the camera to it."""
    colors = None if data.vertex_colors is None else data.vertex_colors[:, :3]
    texture = data.textures[0] if data.uv is not None and len(data.textures) == 1 else None
    if data.kind == "pointcloud" or data.face_count == 0:
        vertices, faces, normals, uv = data.vertices, None, data.vertex_normals, None
        if len(vertices) > MAX_RENDER_POINTS:
            keep = np.sort(np.random.default_rng(0).choice(len(vertices), MAX_RENDER_POINTS, replace=False))
            vertices = vertices[keep]
            colors = None if colors is None else colors[keep]
            normals = None if normals is None else normals[keep]
    else:
        vertices, faces, normals, uv = data.vertices, data.triangles(), data.vertex_normals, data.uv
        if texture is None:
            uv = None
        if len(faces) > MAX_RENDER_TRIANGLES:
            reduced = decimate(vertices, faces, MAX_RENDER_TRIANGLES, colors=colors, uv=uv)
            vertices, faces, colors, uv, normals = reduced.vertices, reduced.faces, reduced.colors, reduced.uv, None
        if normals is None or len(normals) != len(vertices):
            normals = vertex_normals(vertices, faces)
    vertices = np.asarray(vertices, dtype=np.float32)
    eye, target, up_vector = fit_camera(vertices, up)
    return Scene(vertices, faces, colors, normals, uv, texture, eye, target, up_vector)


def fit_camera(vertices: np.ndarray, up: str = "y", fill: float = 0.8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eye, target and up for a 3/4 view from above front that frames the object at ``fill`` of the view."""
    axis = {"y": (np.array([0.0, 1, 0]), np.array([0.0, 0, 1])), "z": (np.array([0.0, 0, 1]), np.array([0.0, -1, 0]))}
    up_vector, front = axis[up]
    right = np.cross(up_vector, front)
    azimuth, elevation = np.radians(35.0), np.radians(25.0)
    towards_eye = (
        np.cos(elevation) * (np.cos(azimuth) * front + np.sin(azimuth) * right) + np.sin(elevation) * up_vector
    )
    forward = -towards_eye
    side = np.cross(forward, up_vector)
    side /= np.linalg.norm(side)
    screen_up = np.cross(side, forward)
    sample = vertices if len(vertices) <= 200_000 else vertices[:: len(vertices) // 200_000 + 1]
    sample = sample.astype(np.float64)
    centre = (sample.min(axis=0) + sample.max(axis=0)) / 2
    x, y = (sample - centre) @ side, (sample - centre) @ screen_up
    target = centre + (x.max() + x.min()) / 2 * side + (y.max() + y.min()) / 2 * screen_up
    relative = sample - target
    x, y, z = relative @ side, relative @ screen_up, relative @ towards_eye
    reach = fill * np.tan(np.radians(FOV) / 2)
    distance = float(np.max(z + np.maximum(np.abs(x), np.abs(y)) / reach))
    distance = max(distance, float(np.ptp(sample, axis=0).max()) * 1e-3, 1e-9)
    return target + distance * towards_eye, target, up_vector


def render_open3d(scene: Scene, timeout: float = OPEN3D_TIMEOUT) -> Image.Image:
    """Render with Open3D in a child process; RuntimeError (with its stderr) if it crashes or times out."""
    with tempfile.TemporaryDirectory(prefix="render3d-") as work:
        folder = Path(work)
        arrays = {"vertices": scene.vertices, "eye": scene.eye, "target": scene.target, "up": scene.up}
        for name in ("faces", "colors", "normals", "uv"):
            if getattr(scene, name) is not None:
                arrays[name] = getattr(scene, name)
        np.savez(folder / "scene.npz", **arrays)
        (folder / "scene.json").write_text(json.dumps({"texture": str(scene.texture) if scene.texture else None}))
        env = dict(
            os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(_PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
        )
        command = [sys.executable, "-m", "preservation.processors.mesh_render", str(folder)]
        try:
            done = subprocess.run(
                command, cwd=_PROJECT_ROOT, env=env, capture_output=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as error:  # run() has killed the child
            raise RuntimeError(f"Open3D render did not finish within {timeout:.0f} s") from error
        output = folder / "render.png"
        if done.returncode != 0 or not output.exists():
            stderr = done.stderr.decode(errors="replace").strip()
            raise RuntimeError(f"Open3D render failed (exit code {done.returncode}): {stderr[-400:]}")
        with Image.open(output) as image:
            return image.convert("RGB")


def _open3d_child(folder: Path) -> None:
    """Child-process side of render_open3d: load the scene, render OPEN3D_SIZE px, write render.png."""
    import open3d as o3d
    from open3d.visualization import rendering

    arrays = np.load(folder / "scene.npz")
    texture = json.loads((folder / "scene.json").read_text())["texture"]
    vertices = o3d.utility.Vector3dVector(arrays["vertices"].astype(np.float64))
    material = rendering.MaterialRecord()
    colors = _linear(arrays["colors"]) if "colors" in arrays else None  # Filament expects linear colours
    if "faces" in arrays:
        geometry = o3d.geometry.TriangleMesh(vertices, o3d.utility.Vector3iVector(arrays["faces"].astype(np.int32)))
        geometry.vertex_normals = o3d.utility.Vector3dVector(arrays["normals"].astype(np.float64))
        material.shader, material.base_roughness, material.base_metallic = "defaultLit", 0.85, 0.0
        if texture and "uv" in arrays:
            corners = arrays["uv"][arrays["faces"].ravel()].astype(np.float64)
            geometry.triangle_uvs = o3d.utility.Vector2dVector(corners)
            geometry.triangle_material_ids = o3d.utility.IntVector(np.zeros(len(arrays["faces"]), np.int32))
            material.albedo_img = o3d.io.read_image(texture)
        elif colors is not None:
            geometry.vertex_colors = o3d.utility.Vector3dVector(colors)
        else:
            material.base_color = [*_linear(np.array(CLAY)), 1.0]
    else:
        geometry = o3d.geometry.PointCloud(vertices)
        material.shader, material.point_size = "defaultUnlit", 2.0 if len(arrays["vertices"]) > 100_000 else 4.0
        depth = (arrays["vertices"] - arrays["eye"]) @ (arrays["target"] - arrays["eye"])
        shade = _depth_cue(depth)[:, None]
        geometry.colors = o3d.utility.Vector3dVector(
            (colors if colors is not None else _linear(np.array([CLAY]))) * shade
        )
    renderer = rendering.OffscreenRenderer(OPEN3D_SIZE, OPEN3D_SIZE)
    renderer.scene.set_background([*(np.array(BACKGROUND) / 255.0), 1.0])
    renderer.scene.add_geometry("object", geometry, material)
    key, _ = _lights(arrays["eye"], arrays["target"], arrays["up"])
    renderer.scene.scene.set_sun_light(-key, [1, 1, 1], 60_000)
    renderer.scene.scene.enable_sun_light(True)
    renderer.scene.scene.set_indirect_light_intensity(20_000)
    renderer.scene.view.set_shadowing(False)  # shadow maps showed acne on smooth surfaces here
    renderer.setup_camera(FOV, arrays["target"], arrays["eye"], arrays["up"])
    o3d.io.write_image(str(folder / "render.png"), renderer.render_to_image())


def render_software(scene: Scene, size: int) -> Image.Image:
    """Pure numpy rasteriser: z-buffered triangles (Gouraud-shaded Lambert, key + fill + ambient) or points."""
    side = size * SUPERSAMPLE
    forward = (scene.target - scene.eye) / np.linalg.norm(scene.target - scene.eye)
    right = np.cross(forward, scene.up)
    right /= np.linalg.norm(right)
    screen_up = np.cross(right, forward)
    relative = scene.vertices.astype(np.float64) - scene.eye
    depth = relative @ forward
    focal = side / 2 / np.tan(np.radians(FOV) / 2)
    safe = np.maximum(depth, 1e-9)
    sx = side / 2 + (relative @ right) / safe * focal
    sy = side / 2 - (relative @ screen_up) / safe * focal
    base = _linear(scene.colors) if scene.colors is not None else np.tile(_linear(np.array([CLAY])), (len(depth), 1))
    if scene.faces is None:
        light = _depth_cue(depth) if scene.normals is None else _lambert(scene.normals, relative, scene)
        layers = _draw_points(sx, sy, depth, base * light[:, None], side)
    else:
        light = _lambert(scene.normals, relative, scene)
        texture = None
        if scene.texture is not None and scene.uv is not None:
            try:
                with Image.open(scene.texture) as image:
                    image.draft("RGB", (2048, 2048))
                    image.thumbnail((2048, 2048))
                    texture = _linear(np.asarray(image.convert("RGB")))
            except (OSError, ValueError, Image.DecompressionBombError):
                texture = None  # the vertex colours (or clay) still show the shape
        layers = _draw_triangles(sx, sy, depth, scene.faces, light, base, scene.uv, texture, side)
    colour, covered = layers
    background = _linear(np.array([BACKGROUND]))[0]
    pixels = np.where(covered[:, None], colour, background).reshape(side, side, 3)
    encoded = _encode_srgb(pixels)
    return Image.fromarray(encoded, "RGB").reduce(SUPERSAMPLE)


def _linear(srgb: np.ndarray) -> np.ndarray:
    s = np.asarray(srgb, dtype=np.float64) / 255.0
    return np.where(s <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4)


def _encode_srgb(linear: np.ndarray) -> np.ndarray:
    c = np.clip(linear, 0.0, 1.0)
    s = np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)
    return np.round(s * 255).astype(np.uint8)


def _lambert(normals: np.ndarray, relative: np.ndarray, scene: Scene) -> np.ndarray:
    """Per-vertex light: ambient + key + fill, two-sided (normals turned towards the camera)."""
    n = normals.astype(np.float64)
    n = n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    n = np.where(np.sum(n * relative, axis=1, keepdims=True) > 0, -n, n)  # seen from behind: light that side
    key, fill = _lights(scene.eye, scene.target, scene.up)
    return AMBIENT + KEY * np.clip(n @ key, 0, None) + FILL * np.clip(n @ fill, 0, None)


def _draw_triangles(sx, sy, depth, faces, light, base, uv, texture, side):
    """Rasterise in batches of triangles whose bounding boxes share a power-of-two size."""
    colour = np.zeros((side * side, 3))
    inv_depth = np.zeros(side * side)  # 0 = background; larger = nearer
    covered = np.zeros(side * side, dtype=bool)
    x, y, z = sx[faces], sy[faces], depth[faces]
    x0, x1 = np.floor(x.min(axis=1)).astype(np.int64), np.ceil(x.max(axis=1)).astype(np.int64)
    y0, y1 = np.floor(y.min(axis=1)).astype(np.int64), np.ceil(y.max(axis=1)).astype(np.int64)
    area = (x[:, 1] - x[:, 0]) * (y[:, 2] - y[:, 0]) - (x[:, 2] - x[:, 0]) * (y[:, 1] - y[:, 0])
    visible = (z.min(axis=1) > 0) & (x1 >= 0) & (y1 >= 0) & (x0 < side) & (y0 < side) & (np.abs(area) > 1e-12)
    x0, y0 = np.clip(x0, 0, side - 1), np.clip(y0, 0, side - 1)
    x1, y1 = np.clip(x1, 0, side - 1), np.clip(y1, 0, side - 1)
    span = np.maximum(x1 - x0, y1 - y0) + 1
    bucket = np.ceil(np.log2(np.maximum(span, 1))).astype(np.int64)
    for level in np.unique(bucket[visible]):
        width = 1 << int(level)
        members = np.flatnonzero(visible & (bucket == level))
        dx, dy = np.meshgrid(np.arange(width), np.arange(width))
        dx, dy = dx.ravel(), dy.ravel()
        step = max(1, _FRAGMENTS_PER_CHUNK // (width * width))
        for start in range(0, len(members), step):
            t = members[start : start + step]
            px, py = x0[t, None] + dx, y0[t, None] + dy
            inside = (px <= x1[t, None]) & (py <= y1[t, None])
            cx, cy = px + 0.5, py + 0.5
            tx, ty = x[t], y[t]
            b0 = (tx[:, 1, None] - cx) * (ty[:, 2, None] - cy) - (tx[:, 2, None] - cx) * (ty[:, 1, None] - cy)
            b1 = (tx[:, 2, None] - cx) * (ty[:, 0, None] - cy) - (tx[:, 0, None] - cx) * (ty[:, 2, None] - cy)
            b0, b1 = b0 / area[t, None], b1 / area[t, None]
            b2 = 1.0 - b0 - b1
            inside &= (b0 >= 0) & (b1 >= 0) & (b2 >= 0)
            rows, cols = np.nonzero(inside)
            if not len(rows):
                continue
            tri = t[rows]
            weights = np.stack([b0[rows, cols], b1[rows, cols], b2[rows, cols]], axis=1) / z[tri]
            pixel = py[rows, cols] * side + px[rows, cols]
            nearness = np.sum(weights, axis=1)  # 1/depth is linear in screen space
            np.maximum.at(inv_depth, pixel, nearness)
            win = nearness >= inv_depth[pixel]
            pixel, tri = pixel[win], tri[win]
            weights = weights[win] / nearness[win, None]  # perspective-correct barycentrics
            corners = faces[tri]
            shade = np.sum(weights * light[corners], axis=1)
            if texture is not None:
                u, v = (np.einsum("fc,fcd->fd", weights, uv[corners]) % 1.0).T
                h, w = texture.shape[:2]
                texel = texture[((1 - v) * (h - 1)).round().astype(np.int64), (u * (w - 1)).round().astype(np.int64)]
                colour[pixel] = texel * shade[:, None]
            else:
                colour[pixel] = np.einsum("fc,fcd->fd", weights, base[corners]) * shade[:, None]
            covered[pixel] = True
    return colour, covered


def _draw_points(sx, sy, depth, shaded, side):
    """Square splats, nearest wins; sized so the visible surface is covered without gaps."""
    colour = np.zeros((side * side, 3))
    inv_depth = np.zeros(side * side)
    covered = np.zeros(side * side, dtype=bool)
    keep = np.flatnonzero((depth > 0) & (sx >= 0) & (sy >= 0) & (sx < side) & (sy < side))
    px, py, near, shaded = sx[keep].astype(np.int64), sy[keep].astype(np.int64), 1.0 / depth[keep], shaded[keep]
    # silhouette area from occupied 8x8 blocks; about half the points face the camera, and random
    # samples need ~5 per pixel to leave no holes
    block = SUPERSAMPLE * 4
    area = len(np.unique((py // block) * side + px // block)) * block * block
    splat = int(np.clip(np.ceil(np.sqrt(10 * area / max(len(keep), 1))), SUPERSAMPLE, 8 * SUPERSAMPLE))
    for ox in range(-(splat // 2), splat - splat // 2):
        for oy in range(-(splat // 2), splat - splat // 2):
            qx, qy = px + ox, py + oy
            inside = (qx >= 0) & (qy >= 0) & (qx < side) & (qy < side)
            pixel, nearness = qy[inside] * side + qx[inside], near[inside]
            np.maximum.at(inv_depth, pixel, nearness)
            win = nearness >= inv_depth[pixel]
            colour[pixel[win]] = shaded[inside][win]
            covered[pixel[win]] = True
    return colour, covered


def _lights(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors towards the key light (above left, in front) and the fill light (right, level)."""
    forward = (target - eye) / np.linalg.norm(target - eye)
    side = np.cross(forward, up)
    side /= np.linalg.norm(side)
    screen_up = np.cross(side, forward)
    key = -0.45 * side + 0.75 * screen_up - 0.5 * forward
    fill = 0.8 * side - 0.1 * screen_up - 0.6 * forward
    return key / np.linalg.norm(key), fill / np.linalg.norm(fill)


def _depth_cue(depth: np.ndarray) -> np.ndarray:
    """Brightness 1.0 for the nearest point down to 0.35 for the farthest: depth for unlit points."""
    span = max(float(np.ptp(depth)), 1e-12)
    return 1.0 - 0.65 * (depth - depth.min()) / span


if __name__ == "__main__":
    _open3d_child(Path(sys.argv[1]))
