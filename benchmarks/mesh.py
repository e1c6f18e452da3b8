"""3D benchmark: a generated mesh through ``MeshProcessor.process`` next to the bare libraries doing the same work.

    .venv/bin/python benchmarks/mesh.py [--sizes 1000000,5000000] [--json]

For each size, a noisy torus of about that many triangles with vertex colours is written as a binary PLY
(plyfile, ``tests.preservation.meshgen.write_ply``). Each side then runs in its own fresh Python process, so the
peak memory (``VmHWM``) belongs to that side alone:

- **ours**: ``MeshProcessor().process(path, workdir, Limits())`` end to end; the stages are timed by wrapping the
  module functions the processor calls (read, metadata, master write, master verify, reduce, web GLB, preview
  GLB, thumbnail, identification of the derivatives); "other" is the rest (agent versions, events).
- **baseline**: no archive code: plyfile read into numpy, plyfile binary PLY write, the same file read back and
  compared, ``fast_simplification.simplify`` to the web budget (geometry only), trimesh GLB export, a second
  simplification to the preview budget and its GLB, and a 512 px thumbnail: the web level simplified to 200,000
  triangles (as ours renders), projected and drawn back to front as flat-shaded Pillow ``ImageDraw`` polygons.

The table and ``--json`` carry the same figures. Nothing here is a test: no timing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEB_TRIANGLES = 500_000
PREVIEW_TRIANGLES = 50_000
THUMBNAIL = 512
RENDER_TRIANGLES = 200_000  # what mesh_render draws at most
STAGES = [  # key, label, whether the baseline has a counterpart
    ("read", "read: sniff, header checks, load, validate", True),
    ("metadata", "metadata: counts, area, watertight, volume", False),
    ("master_write", "master: write binary PLY", True),
    ("master_verify", "master: read back and compare", True),
    ("reduce", f"reduce to the web budget ({WEB_TRIANGLES:,} triangles)", True),
    ("web_glb", "web GLB", True),
    ("preview_glb", f"preview GLB ({PREVIEW_TRIANGLES:,} triangles)", True),
    ("thumbnail", f"thumbnail {THUMBNAIL} px PNG", True),
    ("identify", "identify the derivatives (fido)", False),
    ("other", "other (agent versions, events)", False),
]


def peak_mib() -> float:
    """This process's peak resident memory (VmHWM, reset by exec) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


# --- the generated mesh ---------------------------------------------------------------------------------------


def generate(path: Path, triangles: int, seed: int = 7) -> int:
    """A closed torus grid with radial noise and vertex colours, about ``triangles`` triangles; returns the count."""
    import numpy as np

    from tests.preservation.meshgen import write_ply

    minor = max(3, round((triangles / 4) ** 0.5))
    major = max(3, round(triangles / (2 * minor)))
    u = np.linspace(0, 2 * np.pi, major, endpoint=False)[:, None]
    v = np.linspace(0, 2 * np.pi, minor, endpoint=False)[None, :]
    rng = np.random.default_rng(seed)
    r = 0.5 + rng.normal(0, 0.002, (major, minor))
    vertices = np.stack(
        [((1.5 + r * np.cos(v)) * np.cos(u)), ((1.5 + r * np.cos(v)) * np.sin(u)), (r * np.sin(v))], axis=-1
    ).reshape(-1, 3)
    i, j = np.meshgrid(np.arange(major), np.arange(minor), indexing="ij")
    a, b = i * minor + j, ((i + 1) % major) * minor + j
    c, d = ((i + 1) % major) * minor + (j + 1) % minor, i * minor + (j + 1) % minor
    faces = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)])
    colours = ((vertices - vertices.min(0)) / np.ptp(vertices, 0) * 255).astype(np.uint8)
    write_ply(path, vertices.astype(np.float32), faces.astype(np.int32), colours=colours)
    return len(faces)


# --- the two sides, each run in a child process ----------------------------------------------------------------


def warm_up(mesh: Path) -> None:
    """Load what a worker has loaded after its first file: the libraries the processor imports on use, fido."""
    import fast_simplification  # noqa: F401
    import open3d  # noqa: F401
    import plyfile  # noqa: F401
    import pygltflib  # noqa: F401
    import trimesh  # noqa: F401

    from preservation import formats

    formats.identify(mesh, mesh.name)


def run_ours(mesh: Path, workdir: Path) -> dict:
    from preservation import formats
    from preservation.processors import mesh_access, mesh_io, mesh_master, mesh_metadata, mesh_render
    from preservation.processors.base import Limits
    from preservation.processors.mesh import MeshProcessor

    warm_up(mesh)
    times = {key: 0.0 for key, _, _ in STAGES}
    active: list[str] = []

    def timed(module, name: str, key: str) -> None:
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            if active:  # called from inside another timed stage (make_web_glb reduces too): counted there
                return original(*args, **kwargs)
            active.append(key)
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                times[key] += time.perf_counter() - started
                active.pop()

        setattr(module, name, wrapper)

    for module, name, key in [
        (mesh_io, "read_mesh", "read"),
        (mesh_metadata, "technical", "metadata"),
        (mesh_master, "write_master", "master_write"),
        (mesh_master, "verify_master", "master_verify"),
        (mesh_access, "reduce_for_access", "reduce"),
        (mesh_access, "make_web_glb", "web_glb"),
        (mesh_access, "make_thumbnail_glb", "preview_glb"),
        (mesh_render, "render_thumbnail", "thumbnail"),
        (formats, "identify", "identify"),
    ]:
        timed(module, name, key)
    started = time.perf_counter()
    result = MeshProcessor().process(mesh, workdir, Limits())
    total = time.perf_counter() - started
    times["other"] = total - sum(times.values())
    renderer = next((e.detail for e in result.events if e.detail.startswith("Thumbnail render")), "")
    return {"total": total, "stages": times, "peak_mib": peak_mib(), "thumbnail": renderer[:200]}


def run_baseline(mesh: Path, workdir: Path) -> dict:
    import fast_simplification
    import numpy as np
    import trimesh
    from PIL import Image, ImageDraw
    from plyfile import PlyData, PlyElement

    times: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(key: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        times[key] = now - clock
        clock = now

    def load(path: Path) -> tuple:
        ply = PlyData.read(str(path), known_list_len={"face": {"vertex_indices": 3}})
        vertex = ply["vertex"].data
        vertices = np.column_stack([vertex[a] for a in "xyz"]).astype(np.float32)
        colours = np.column_stack([vertex[c] for c in ("red", "green", "blue")])
        faces = np.asarray(ply["face"].data["vertex_indices"], dtype=np.int32)
        return vertices, colours, faces

    started = clock
    vertices, colours, faces = load(mesh)
    lap("read")
    master = workdir / "master.ply"
    records = np.empty(len(vertices), [(a, "f4") for a in "xyz"] + [(c, "u1") for c in ("red", "green", "blue")])
    for i, a in enumerate("xyz"):
        records[a] = vertices[:, i]
    for i, c in enumerate(("red", "green", "blue")):
        records[c] = colours[:, i]
    face = np.empty(len(faces), [("vertex_indices", "i4", (3,))])
    face["vertex_indices"] = faces
    PlyData([PlyElement.describe(records, "vertex"), PlyElement.describe(face, "face")]).write(str(master))
    lap("master_write")
    again = load(master)
    if not all(np.array_equal(x, y) for x, y in zip(again, (vertices, colours, faces), strict=True)):
        raise RuntimeError("the baseline's PLY did not read back as written")
    del again
    lap("master_verify")
    web_v, web_f = fast_simplification.simplify(vertices, faces, target_count=min(WEB_TRIANGLES, len(faces)))
    lap("reduce")
    trimesh.Trimesh(web_v, web_f, process=False).export(workdir / "access.glb")
    lap("web_glb")
    small_v, small_f = fast_simplification.simplify(web_v, web_f, target_count=PREVIEW_TRIANGLES)
    trimesh.Trimesh(small_v, small_f, process=False).export(workdir / "preview.glb")
    lap("preview_glb")
    # As ours: the web level reduced to RENDER_TRIANGLES, then an orthographic view from +z, triangles drawn
    # back to front, flat Lambert shading from the face normals.
    render_v, render_f = fast_simplification.simplify(web_v, web_f, target_count=min(RENDER_TRIANGLES, len(web_f)))
    tri = render_v[render_f]
    low, high = render_v.min(0), render_v.max(0)
    scale = 0.9 * THUMBNAIL / max(high[0] - low[0], high[1] - low[1])
    xy = (tri[:, :, :2] - (low[:2] + high[:2]) / 2) * scale + THUMBNAIL / 2
    xy[:, :, 1] = THUMBNAIL - xy[:, :, 1]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-12
    shade = (40 + 215 * np.clip(normal @ np.array([0.3, 0.4, 0.87]), 0, 1)).astype(int)
    order = np.argsort(tri[:, :, 2].mean(1))
    image = Image.new("RGB", (THUMBNAIL, THUMBNAIL), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for k, polygon in zip(order.tolist(), xy[order].reshape(-1, 6).tolist(), strict=True):
        draw.polygon(polygon, fill=(shade[k],) * 3)
    image.save(workdir / "thumbnail.png", optimize=True)
    lap("thumbnail")
    return {"total": clock - started, "stages": times, "peak_mib": peak_mib()}


def child(side: str, mesh: Path, workdir: Path) -> dict:
    """Run one side in a fresh interpreter; its JSON result (stderr passed through on failure)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, __file__, "--child", side, str(mesh), str(workdir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the {side} side failed on {mesh.name}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- report ---------------------------------------------------------------------------------------------------


def measure(sizes: list[int], folder: Path) -> dict:
    runs = []
    for size in sizes:
        mesh = folder / f"torus-{size}.ply"
        triangles = generate(mesh, size)
        sides = {}
        for side in ("baseline", "ours"):
            workdir = folder / f"{side}-{size}"
            workdir.mkdir()
            sides[side] = child(side, mesh, workdir)
            shutil.rmtree(workdir)
        ours, base = sides["ours"], sides["baseline"]
        millions = triangles / 1e6
        stages = []
        for key, label, paired in STAGES:
            o, b = ours["stages"].get(key, 0.0), base["stages"].get(key) if paired else None
            stages.append({"stage": key, "label": label, "ours_s": round(o, 3), "baseline_s": _r(b), "ratio": _q(o, b)})
        runs.append(
            {
                "size": size,
                "triangles": triangles,
                "ply_bytes": mesh.stat().st_size,
                "stages": stages,
                "ours_s": round(ours["total"], 3),
                "baseline_s": round(base["total"], 3),
                "ratio": _q(ours["total"], base["total"]),
                "ours_s_per_mtri": round(ours["total"] / millions, 3),
                "baseline_s_per_mtri": round(base["total"] / millions, 3),
                "ours_peak_mib": round(ours["peak_mib"], 1),
                "baseline_peak_mib": round(base["peak_mib"], 1),
                "peak_ratio": _q(ours["peak_mib"], base["peak_mib"]),
                "ours_thumbnail": ours["thumbnail"],
            }
        )
        mesh.unlink()
    ours_total = sum(r["ours_s"] for r in runs)
    base_total = sum(r["baseline_s"] for r in runs)
    return {
        "benchmark": "mesh",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "runs": runs,
        "ours_s": round(ours_total, 3),
        "baseline_s": round(base_total, 3),
        "ratio": _q(ours_total, base_total),
        "baseline_notes": "geometry only (no colours) in the baseline GLBs; thumbnail: 200k triangles drawn as "
        "Pillow ImageDraw polygons",
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _q(ours: float, base: float | None) -> float | None:
    return round(ours / base, 2) if base else None


def table(report: dict) -> str:
    width = 56
    lines = [
        f"Mesh benchmark: generated noisy torus with vertex colours, binary PLY; {report['machine']['cpus']} CPUs",
        "",
    ]
    head = f"{'size':>10}  {'stage':<{width}}{'ours s':>9}{'base s':>9}{'ratio':>7}"
    lines += [head, "-" * len(head)]
    for run in report["runs"]:
        for row in run["stages"]:
            base = "-" if row["baseline_s"] is None else f"{row['baseline_s']:.3f}"
            ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
            lines.append(f"{run['triangles']:>10,}  {row['label']:<{width}}{row['ours_s']:>9.3f}{base:>9}{ratio:>7}")
        lines.append(
            f"{run['triangles']:>10,}  {'total':<{width}}{run['ours_s']:>9.3f}{run['baseline_s']:>9.3f}"
            f"{run['ratio']:>7.2f}"
        )
        lines.append("-" * len(head))
    lines += [
        "",
        f"{'triangles':>10}  {'s/M tri ours':>12}{'s/M tri base':>13}{'peak MiB ours':>15}{'peak MiB base':>15}",
    ]
    for run in report["runs"]:
        lines.append(
            f"{run['triangles']:>10,}  {run['ours_s_per_mtri']:>12.3f}{run['baseline_s_per_mtri']:>13.3f}"
            f"{run['ours_peak_mib']:>15.0f}{run['baseline_peak_mib']:>15.0f}   (peak ratio {run['peak_ratio']:.2f})"
        )
    lines += [
        "",
        f"overall, ours / baseline: {report['ratio']:.2f} ({report['ours_s']:.1f} s / {report['baseline_s']:.1f} s)",
        f"baseline: {report['baseline_notes']}; '-' = no counterpart in the baseline (counted in ours' total)",
        "each side of each size ran in a fresh process; peak = its VmHWM (interpreter and imports included)",
    ]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        side, mesh, workdir = sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
        result = run_ours(mesh, workdir) if side == "ours" else run_baseline(mesh, workdir)
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,5000000", help="triangle counts, comma separated")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    sys.path.insert(0, str(ROOT))
    folder = Path(tempfile.mkdtemp(prefix="bench-mesh-"))
    try:
        report = measure(sizes, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(report, indent=2) if args.json else table(report))


if __name__ == "__main__":
    main()
