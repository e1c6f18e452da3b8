"""3D scans through the whole pipeline on the embedded default: masters, web copies, OCFL, quarantine."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import trimesh
from django.test import Client

from archive import actions
from archive.models import Asset, HeritageObject
from preservation import pipeline
from preservation.models import PreservationEvent
from tests.factories import make_object
from tests.preservation import meshgen
from tests.preservation.ocfl_validation import validate_local_root


def receive(obj: HeritageObject, path: Path, name: str | None = None) -> Asset:
    staged = path.parent / f"staged-{path.name}"
    shutil.copyfile(path, staged)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    asset, _ = actions.receive_file(obj, staged, name or path.name, digest, len(data), enqueue=False)
    return asset


@pytest.fixture
def obj(personas):
    return make_object(personas.collection, "Carved capital (scan)")


def roles(obj: HeritageObject) -> dict[str, list[Asset]]:
    found: dict[str, list[Asset]] = {}
    for asset in Asset.objects.filter(object=obj):
        found.setdefault(asset.role, []).append(asset)
    return found


def test_a_coloured_ply_mesh_gets_a_verified_master_a_web_glb_and_a_thumbnail(obj, tmp_path, settings):
    sphere = meshgen.sphere(3)
    path = meshgen.write_ply(
        tmp_path / "capital.ply",
        sphere.vertices.astype(np.float32),
        sphere.faces,
        colours=np.asarray(sphere.visual.vertex_colors)[:, :3],
        normals=sphere.vertex_normals.astype(np.float32),
    )
    original = pipeline.run_in_process(receive(obj, path))
    assert original.status == Asset.State.READY, original.status_message
    assert original.technical["faces"] == len(sphere.faces) and original.technical["watertight"] is True
    found = roles(obj)
    assert {r: len(a) for r, a in found.items()} == {
        "original": 1,
        "master": 1,
        "access": 1,
        "preview": 1,
        "thumbnail": 1,
        "metadata": 3,  # object.json, dc.xml, premis.xml
    }
    assert found["access"][0].mime == "model/gltf-binary"
    for asset in Asset.objects.filter(object=obj):
        assert asset.replicas.filter(state="ok").count() == 2
    kinds = list(PreservationEvent.objects.filter(asset=original).values_list("event_type", "outcome"))
    assert ("normalization", "success") in kinds and ("validation", "success") in kinds
    for root in (Path(s["options"]["root"]) for s in settings.ARCHIVE_STORES):
        validate_local_root(root)


def test_an_obj_uploaded_with_its_mtl_and_texture_keeps_the_texture(obj, tmp_path):
    model = meshgen.write_textured_obj(tmp_path / "scan")
    for name in ("scan.mtl", "wall.png"):
        receive(obj, tmp_path / "scan" / name)
    original = pipeline.run_in_process(receive(obj, model))
    assert original.status == Asset.State.READY, original.status_message
    masters = [a for a in roles(obj)["master"] if a.derived_from_id == original.id]
    assert sorted(Path(a.filename).suffix for a in masters) == [".ply", ".png"]
    assert original.technical["textures"] and original.technical["has_uv"] is True


def test_a_zip_of_an_obj_with_its_companions_is_one_asset(obj, tmp_path):
    meshgen.write_textured_obj(tmp_path / "scan")
    bundle = meshgen.zip_folder(tmp_path / "scan", tmp_path / "scan.zip")
    original = pipeline.run_in_process(receive(obj, bundle))
    assert original.status == Asset.State.READY, original.status_message
    assert any(a.filename.endswith(".png") for a in roles(obj)["master"])


def test_a_point_cloud_is_preserved_and_downsampled(obj, tmp_path):
    points = meshgen.cloud(5000)
    path = meshgen.write_pcd(tmp_path / "survey.pcd", points)
    original = pipeline.run_in_process(receive(obj, path))
    assert original.status == Asset.State.READY, original.status_message
    assert original.format_key == "pointcloud" and original.technical["points"] == 5000
    glb = roles(obj)["access"][0]
    with open(glb.local_path or "/nonexistent", "rb") if glb.local_path else _from_store(glb) as handle:
        loaded = trimesh.load(handle, file_type="glb", force="scene")
    assert sum(len(g.vertices) for g in loaded.geometry.values()) <= 5000


def _from_store(asset: Asset):
    from preservation.replication import asset_source

    return asset_source(asset)


@pytest.mark.parametrize(
    "case,words",
    [
        ("lying_header", "announces"),
        ("truncated", "holds"),
        ("nan", "nan"),
        ("index", "index"),
        ("zip_slip", ".."),
    ],
)
def test_hostile_3d_files_are_quarantined_with_a_clear_message(obj, tmp_path, case, words):
    if case == "lying_header":
        path = tmp_path / "lying.ply"
        path.write_bytes(
            b"ply\nformat binary_little_endian 1.0\nelement vertex 1000000000000\n"
            b"property float x\nproperty float y\nproperty float z\nend_header\n"
        )
    elif case == "truncated":
        sphere = meshgen.sphere(2)
        full = meshgen.write_ply(tmp_path / "full.ply", sphere.vertices.astype(np.float32), sphere.faces)
        path = tmp_path / "truncated.ply"
        path.write_bytes(full.read_bytes()[:-500])
    elif case == "nan":
        vertices = np.array([[0, 0, 0], [1, 0, 0], [np.nan, 1, 0]], dtype=np.float32)
        path = meshgen.write_ply(tmp_path / "nan.ply", vertices, np.array([[0, 1, 2]]))
    elif case == "index":
        vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=np.float32)
        path = meshgen.write_ply(tmp_path / "index.ply", vertices, np.array([[0, 1, 7]]))
    else:
        path = meshgen.zip_with(tmp_path / "slip.zip", {"../../evil.obj": b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"})
    asset = pipeline.run_in_process(receive(obj, path))
    assert asset.status == Asset.State.QUARANTINED
    assert words in asset.status_message.lower(), asset.status_message
    assert not asset.replicas.exists()


def test_an_obj_whose_texture_path_climbs_out_never_reads_that_file(obj, tmp_path):
    model = meshgen.write_textured_obj(tmp_path / "scan", texture_ref="../../etc/passwd")
    receive(obj, tmp_path / "scan" / "scan.mtl")
    original = pipeline.run_in_process(receive(obj, model))
    assert original.status == Asset.State.READY
    assert not any("passwd" in a.filename for a in Asset.objects.filter(object=obj))
    warning = PreservationEvent.objects.filter(asset=original, outcome="warning").first()
    assert warning and "passwd" in warning.detail


def test_3d_work_goes_to_the_heavy_queue(obj, tmp_path):
    sphere = meshgen.sphere(1)
    path = meshgen.write_ply(tmp_path / "q.ply", sphere.vertices.astype(np.float32), sphere.faces)
    asset = receive(obj, path)
    pipeline.ingest_asset(asset)
    assert pipeline.processing_queue(asset) == "heavy"


def test_the_viewer_loads_the_glb_for_the_public_and_refuses_a_restricted_one(personas, tmp_path):
    sphere = meshgen.sphere(2)
    path = meshgen.write_ply(tmp_path / "v.ply", sphere.vertices.astype(np.float32), sphere.faces)
    public = make_object(personas.collection, "Public scan")
    restricted = make_object(personas.collection, "Restricted scan", access="restricted")
    for target in (public, restricted):
        pipeline.run_in_process(receive(target, path))
    page = Client().get(public.get_absolute_url()).content.decode()
    glb = Asset.objects.get(object=public, role="access")
    assert "<model-viewer" in page and glb.get_download_url() in page
    response = Client().get(glb.get_download_url())
    assert response.status_code == 200 and b"".join(response.streaming_content)[:4] == b"glTF"
    hidden = Asset.objects.get(object=restricted, role="access")
    assert Client().get(hidden.get_download_url()).status_code == 404
    assert Client().get(restricted.get_absolute_url()).status_code == 404
