"""3D identification: content decides (PRONOM PUID where PRONOM has one, a documented local key otherwise)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import trimesh

from preservation import formats
from tests.preservation import meshgen

DATA = Path(__file__).resolve().parents[1] / "data" / "meshes"


def _cube_ply(path: Path, encoding: str = "binary_little_endian") -> Path:
    cube = meshgen.quad_cube()
    return meshgen.write_ply(path, cube["vertices"], cube["faces"], encoding=encoding, colours=cube["colours"])


def _triangles() -> np.ndarray:
    mesh = meshgen.sphere(1)
    return mesh.vertices[mesh.faces].astype(np.float32)


def _points(path: Path, count_line: bool = False) -> Path:
    rows = "\n".join(" ".join(repr(float(v)) for v in row) for row in meshgen.cloud(12))
    path.write_text(("12\n" if count_line else "") + rows + "\n")
    return path


MAKERS = {
    "binary.ply": (lambda p: _cube_ply(p), "fmt/831", None, "mesh", None),
    "ascii.ply": (lambda p: _cube_ply(p, "ascii"), "fmt/831", None, "mesh", None),
    "bigendian.ply": (lambda p: _cube_ply(p, "binary_big_endian"), "fmt/831", None, "mesh", None),
    "cloud.ply": (lambda p: meshgen.write_ply(p, meshgen.cloud()), "fmt/831", None, "pointcloud", None),
    "binary.stl": (lambda p: meshgen.write_stl_binary(p, _triangles()), "fmt/865", None, "mesh", "model/stl"),
    "solid-header.stl": (
        lambda p: meshgen.write_stl_binary(p, _triangles(), label=b"solid exported by a CAD tool"),
        "fmt/865",
        None,
        "mesh",
        "model/stl",
    ),
    "ascii.stl": (lambda p: meshgen.write_stl_ascii(p, _triangles()), "x-fmt/108", None, "mesh", "model/stl"),
    "cube.off": (
        lambda p: meshgen.write_off(p, meshgen.quad_cube()["vertices"], meshgen.quad_cube()["faces"]),
        "",
        "local/off",
        "mesh",
        None,
    ),
    "scan.obj": (lambda p: meshgen.write_textured_obj(p.parent / "objset"), "fmt/1210", None, "mesh", "model/obj"),
    "scan.glb": (lambda p: _write(p, meshgen.sphere().export(file_type="glb")), "fmt/1316", None, "mesh", None),
    "scan.gltf": (
        lambda p: _write(p, trimesh.exchange.gltf.export_gltf(meshgen.sphere(), embed_buffers=True)["model.gltf"]),
        "fmt/1315",
        None,
        "mesh",
        "model/gltf+json",
    ),
    "ascii.pcd": (lambda p: meshgen.write_pcd(p, meshgen.cloud()), "", "local/pcd", "pointcloud", None),
    "binary.pcd": (lambda p: meshgen.write_pcd(p, meshgen.cloud(), data="binary"), "", "local/pcd", "pointcloud", None),
    "cloud.xyz": (lambda p: _points(p), "", "local/xyz", "pointcloud", None),
    "cloud.pts": (lambda p: _points(p, count_line=True), "", "local/pts", "pointcloud", None),
    "model.zip": (
        lambda p: meshgen.zip_folder(p.parent / "zipped", p) if meshgen.write_textured_obj(p.parent / "zipped") else p,
        "x-fmt/263",
        None,
        "mesh",
        "application/zip",
    ),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_each_3d_format_is_identified_from_its_content(tmp_path, name):
    make, puid, local_key, format_key, mime = MAKERS[name]
    path = make(tmp_path / name)
    found = formats.identify(path, "upload.bin")  # the name says nothing: the content decides
    assert (found.puid, found.local_key, found.format_key) == (puid, local_key, format_key)
    assert found.by_signature and found.identified and found.format_name
    assert found.matched_by in ("fido", "archive")
    if local_key:
        assert found.format_name == formats.LOCAL_FORMATS[local_key].name
    if mime:
        assert found.mime == mime
    assert formats.identify(path, path.name).extension_mismatch is None


def test_policy_maps_3d_puids_and_local_keys_to_processors():
    for puid in ("fmt/831", "x-fmt/108", "fmt/865", "fmt/1210", "fmt/1315", "fmt/1316", "local/off"):
        assert formats.POLICY[puid] == "mesh"
    for key in ("local/pcd", "local/xyz", "local/pts"):
        assert formats.POLICY[key] == "pointcloud"
    for puid in ("fmt/1211", "fmt/1314", "fmt/643", "x-fmt/263"):
        assert puid not in formats.POLICY
    for key, local in formats.LOCAL_FORMATS.items():
        assert key.startswith("local/") and local.name and local.recognised_by


def test_a_material_library_is_identified_and_kept_as_received(tmp_path):
    path = tmp_path / "scan.mtl"
    path.write_text("newmtl stone\nmap_Kd wall.png\n")  # no Ka/Kd/Ks: fido's signature misses it
    found = formats.identify(path, "scan.mtl")
    assert (found.puid, found.format_key, found.mime) == ("fmt/1211", None, "model/mtl")
    assert found.extension_mismatch is None


def test_a_zip_without_a_model_is_only_a_zip(tmp_path):
    path = meshgen.zip_with(tmp_path / "photos.zip", {"a.txt": b"notes"})
    found = formats.identify(path, "photos.zip")
    assert found.puid == "x-fmt/263" and found.format_key is None


def test_a_zip_holding_a_model_is_a_mesh_whatever_its_name(tmp_path):
    path = meshgen.zip_with(tmp_path / "bundle.dat", {"scan/model.ply": b"ply\n"})
    found = formats.identify(path, "bundle.dat")
    assert found.format_key == "mesh" and found.model_format == "zip"
    assert "scan/model.ply" in found.format_name


def test_text_named_like_a_model_is_unidentified_and_flagged(tmp_path):
    path = tmp_path / "scan.ply"
    path.write_text("survey notes, north wall\n")
    found = formats.identify(path, "scan.ply")
    assert found.format_key is None and not found.by_signature
    assert found.extension_mismatch.startswith("the name ends in .ply (PLY 3D model) but the content is not")


def test_a_damaged_binary_stl_still_reaches_the_processor_to_be_refused_precisely(tmp_path):
    path = meshgen.write_stl_binary(tmp_path / "cut.stl", _triangles())
    path.write_bytes(path.read_bytes()[:-25])
    found = formats.identify(path, "cut.stl")
    assert found.format_key == "mesh" and found.puid == "fmt/865"
    assert not found.by_signature  # routed by its name only, and said so


def test_glTF_1_is_identified_but_has_no_policy(tmp_path):
    path = tmp_path / "old.gltf"
    path.write_text('{"asset": {"version": "1.0"}, "meshes": {}}')
    found = formats.identify(path, "old.gltf")
    assert (found.puid, found.format_key) == ("fmt/1314", None)


def test_an_image_named_like_a_model_stays_an_image(tmp_path):
    from PIL import Image

    path = tmp_path / "scan.obj"
    Image.new("RGB", (4, 4)).save(path, format="PNG")
    found = formats.identify(path, "scan.obj")
    assert found.format_key == "image"
    assert "the name ends in .obj (OBJ 3D model)" in found.extension_mismatch


def test_a_binary_point_set_named_pts_is_not_taken_for_pts_text():
    path = DATA / "chameleon.pts"
    if not path.exists():
        pytest.skip("sample scans not present")
    found = formats.identify(path, "chameleon.pts")
    assert found.format_key is None and "(PTS point cloud)" in found.extension_mismatch


def test_real_scans_are_identified():
    if not (DATA / "bone.ply").exists():
        pytest.skip("sample scans not present")
    assert formats.identify(DATA / "bone.ply", "bone.ply").format_key == "mesh"


def test_identification_reads_only_the_head_of_a_large_text_model(tmp_path):
    path = tmp_path / "big.xyz"
    with path.open("w") as out:
        for _ in range(200):
            out.write("1.5 2.5 3.5\n" * 1000)
    assert formats.sniff_3d(path).local_key == "local/xyz"
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as archive:
        archive.writestr("a.OBJ", "v 0 0 0\n")
    assert formats.sniff_3d(tmp_path / "z.zip").fmt == "zip"
