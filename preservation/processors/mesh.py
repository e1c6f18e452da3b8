"""3D scans: meshes and point clouds in, a verified PLY master and web copies out.

Policy (README "Format policy"): the original is kept bit for bit; the preservation master is a binary
little-endian PLY with colours, normals and texture coordinates, textures re-encoded losslessly next to
it, re-read and compared with the loaded geometry; the access copies are a GLB decimated to a budget for
the viewer, a small GLB preview and a PNG render. Everything is bounded by limits checked from headers
before any loading (``mesh_header``).
"""

from __future__ import annotations

import time
from importlib.metadata import version
from pathlib import Path

from preservation import formats
from preservation.processors.base import Derivative, EventRecord, Limits, ProcessingError, ProcessResult
from preservation.processors.mesh_data import MeshData

GLB_MIME = "model/gltf-binary"


def _agents() -> dict[str, str]:
    import numpy
    import open3d
    import trimesh

    return {
        "read": f"plyfile {version('plyfile')}; trimesh {trimesh.__version__}; Open3D {open3d.__version__}; "
        f"numpy {numpy.__version__}",
        "glb": f"fast-simplification {version('fast-simplification')}; trimesh {trimesh.__version__}; "
        f"pygltflib {version('pygltflib')}",
        "render": f"Open3D {open3d.__version__} OffscreenRenderer or numpy rasteriser; Pillow {version('pillow')}",
    }


class MeshProcessor:
    """Meshes (PLY, OBJ+MTL+textures, STL, OFF, glTF/GLB, zips of them) and point clouds (PLY, PCD, XYZ/PTS).

    ``uses_companions``: the pipeline passes the other files uploaded to the same object (MTL, textures),
    by name, and says whether it may still wait for missing ones (``wait_for_companions``).
    """

    key = "mesh"
    uses_companions = True

    def __init__(
        self,
        *,
        web_max_triangles: int = 500_000,
        web_max_points: int = 2_000_000,
        preview_max_triangles: int = 50_000,
        preview_max_points: int = 200_000,
        thumbnail_size: int = 512,
        max_vertices: int = 50_000_000,
        max_faces: int = 50_000_000,
        max_points: int = 200_000_000,
    ) -> None:
        self.web_max_triangles = web_max_triangles
        self.web_max_points = web_max_points
        self.preview_max_triangles = preview_max_triangles
        self.preview_max_points = preview_max_points
        self.thumbnail_size = thumbnail_size
        self.count_limits = {"max_vertices": max_vertices, "max_faces": max_faces, "max_points": max_points}

    def process(
        self,
        source: Path,
        workdir: Path,
        limits: Limits,
        *,
        original_name: str | None = None,
        companions: dict[str, Path] | None = None,
        wait_for_companions: bool = False,
    ) -> ProcessResult:
        from preservation.processors.mesh_header import MeshLimits
        from preservation.processors.mesh_io import read_mesh
        from preservation.processors.mesh_metadata import technical

        name = original_name or source.name
        agents = _agents()
        mesh_limits = MeshLimits.from_limits(limits, **self.count_limits)
        started = time.perf_counter()
        data = read_mesh(source, workdir / "read", mesh_limits, original_name=name, companions=companions)
        if data.missing_references and wait_for_companions:
            raise ProcessingError(
                f"{name}: waiting for {', '.join(data.missing_references[:5])} (referred to by the model) to be "
                "uploaded; processing resumes when they arrive or after the waiting time",
                permanent=False,
            )
        events = [
            EventRecord(
                "validation",
                "success",
                f"{name}: {'; '.join(data.checks) or 'read and checked'} ({time.perf_counter() - started:.1f} s).",
                agents["read"],
            )
        ]
        info = technical(data)
        events.append(
            EventRecord("metadata extraction", "success", _summary(info), agents["read"]),
        )
        stem = Path(name).stem or "model"
        derivatives = self._master(data, workdir, stem, events, agents)
        derivatives += self._access(data, workdir, stem, events, agents)
        return ProcessResult(technical=info, derivatives=derivatives, events=events)

    def _master(self, data: MeshData, workdir: Path, stem: str, events: list, agents: dict) -> list[Derivative]:
        from preservation.processors.mesh_master import AGENT, write_master

        master = workdir / "master.ply"
        textures = write_master(data, master)
        from preservation.processors.mesh_master import verify_master

        detail = verify_master(data, master)
        events.append(EventRecord("normalization", "success", f"PLY master verified: {detail}", AGENT))
        if data.notes:
            events.append(
                EventRecord(
                    "normalization",
                    "warning",
                    "Not carried or changed in the master (the original keeps everything): " + "; ".join(data.notes),
                    AGENT,
                )
            )
        made = [self._derivative("master", master, f"{stem}.ply", "application/x-ply")]
        for texture in textures:
            made.append(self._derivative("master", texture, f"{stem}-{texture.name}", _image_mime(texture)))
        return made

    def _access(self, data: MeshData, workdir: Path, stem: str, events: list, agents: dict) -> list[Derivative]:
        from preservation.processors.mesh_access import make_thumbnail_glb, make_web_glb, reduce_for_access
        from preservation.processors.mesh_render import render_thumbnail

        # Reduce once to the web budget; the smaller levels start from there (half the time at 5M triangles).
        level = reduce_for_access(data, self.web_max_triangles, self.web_max_points)
        counts = f"from {data.face_count or data.vertex_count} {'triangles' if data.faces is not None else 'points'}"
        web = workdir / "access.glb"
        report = make_web_glb(level, web, self.web_max_triangles, self.web_max_points)
        events.append(EventRecord("creation", "success", f"Web GLB {counts}: " + _report(report), agents["glb"]))
        preview = workdir / "preview.glb"
        report = make_thumbnail_glb(level, preview, self.preview_max_triangles, self.preview_max_points)
        events.append(EventRecord("creation", "success", "Preview GLB: " + _report(report), agents["glb"]))
        thumbnail = workdir / "thumbnail.png"
        report = render_thumbnail(level, thumbnail, self.thumbnail_size)
        events.append(EventRecord("creation", "success", "Thumbnail render: " + _report(report), agents["render"]))
        return [
            self._derivative("access", web, f"{stem}.glb", GLB_MIME),
            self._derivative("preview", preview, f"{stem}-preview.glb", GLB_MIME),
            self._derivative("thumbnail", thumbnail, f"{stem}-thumbnail.png", "image/png"),
        ]

    @staticmethod
    def _derivative(role: str, path: Path, filename: str, mime: str) -> Derivative:
        found = formats.identify(path, filename)
        return Derivative(role=role, path=path, filename=filename, mime=mime, puid=found.puid or found.local_key or "")


def _image_mime(path: Path) -> str:
    return "image/tiff" if path.suffix.lower() in (".tif", ".tiff") else "image/png"


def _report(report: dict) -> str:
    notes = report.get("notes") or []
    facts = ", ".join(f"{k} {v}" for k, v in report.items() if k != "notes" and v is not None)
    return facts + (f". Notes: {'; '.join(notes)}" if notes else "")


def _summary(info: dict) -> str:
    keys = ("kind", "source_format", "vertices", "faces", "points", "dimensions", "units", "watertight", "textures")
    return "; ".join(f"{k}: {info[k]}" for k in keys if info.get(k) not in (None, [], ""))
