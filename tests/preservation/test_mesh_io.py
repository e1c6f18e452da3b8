"""Reading 3D files: every input format round-trips into a verified master; hostile files are refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from preservation.processors.base import ProcessingError
from preservation.processors.mesh_header import MeshLimits
from preservation.processors.mesh_io import read_mesh
from preservation.processors.mesh_master import verify_master, write_master
from tests.preservation import meshgen

LIMITS = MeshLimits()
DATA = Path(__file__).resolve().parents[1] / "data" / "meshes"
CUBE = meshgen.quad_cube()


def _round_trip(path: Path, work: Path, name: str | None = None, companions: dict | None = None):
    data = read_mesh(path, work, LIMITS, original_name=name or path.name, companions=companions)
    master = work / "master.ply"
    textures = write_master(data, master)
    detail = verify_master(data, master)
    assert detail.startswith("re-read with plyfile: ")
    assert data.checks and "checked before loading" in data.checks[0]
    return data, textures, detail


def _refused(path: Path, tmp_path: Path, name: str | None = None, **kwargs) -> str:
    with pytest.raises(ProcessingError) as caught:
        read_mesh(path, tmp_path / "work", LIMITS, original_name=name or path.name, **kwargs)
    assert caught.value.permanent
    assert caught.value.message.endswith("the original is kept in quarantine")
    return caught.value.message


@pytest.mark.parametrize("encoding", ["binary_little_endian", "ascii", "binary_big_endian"])
def test_a_ply_round_trips_with_colours_normals_uvs_and_extra_values(tmp_path, encoding):
    quality = np.linspace(0, 1, 24).astype(np.float32)
    path = meshgen.write_ply(
        tmp_path / "cube.ply",
        CUBE["vertices"],
        CUBE["faces"],
        encoding=encoding,
        normals=CUBE["normals"],
        colours=CUBE["colours"],
        uv=CUBE["uv"],
        extra={"quality": quality},
    )
    data, _, detail = _round_trip(path, tmp_path / "work")
    assert data.vertices.dtype == np.float32 and np.array_equal(data.vertices, CUBE["vertices"])
    assert np.array_equal(data.faces, CUBE["faces"]) and data.polygon_size == 4
    assert np.array_equal(data.vertex_colors, CUBE["colours"])
    assert np.array_equal(data.vertex_normals, CUBE["normals"]) and np.array_equal(data.uv, CUBE["uv"])
    assert np.array_equal(data.vertex_attributes["quality"], quality)
    assert "24 vertices (float32 x/y/z bitwise equal)" in detail and "6 faces of 4 vertices" in detail


def test_double_precision_coordinates_stay_double(tmp_path):
    vertices = CUBE["vertices"].astype(np.float64) + 1e-9
    path = meshgen.write_ply(tmp_path / "fine.ply", vertices, CUBE["faces"])
    data, _, detail = _round_trip(path, tmp_path / "work")
    assert data.vertices.dtype == np.float64 and np.array_equal(data.vertices, vertices)
    assert "float64 x/y/z bitwise equal" in detail


def test_a_ply_point_cloud_round_trips(tmp_path):
    points = meshgen.cloud(200)
    path = meshgen.write_ply(tmp_path / "cloud.ply", points, colours=np.full((200, 3), 7, np.uint8))
    data, _, detail = _round_trip(path, tmp_path / "work")
    assert data.kind == "pointcloud" and data.faces is None and np.array_equal(data.vertices, points)
    assert "200 points" in detail


def test_a_meshlab_textured_ply_gets_its_texture_and_per_vertex_uvs(tmp_path):
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    vertices = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], np.float32)
    records = np.empty(2, dtype=[("vertex_indices", "i4", (3,)), ("texcoord", "f4", (6,))])
    records["vertex_indices"] = faces
    records["texcoord"] = [[0, 0, 1, 0, 1, 1], [0.5, 0.5, 1, 1, 0, 1]]  # vertex 0 has two UVs
    from plyfile import PlyData, PlyElement

    vertex = np.array([tuple(v) for v in vertices], dtype=[("x", "f4"), ("y", "f4"), ("z", "f4")])
    elements = [PlyElement.describe(vertex, "vertex"), PlyElement.describe(records, "face")]
    folder = tmp_path / "upload"
    folder.mkdir()
    PlyData(elements, byte_order="<", comments=["TextureFile skin.png"]).write(str(folder / "quad.ply"))
    meshgen.texture_png(folder / "skin.png")
    data, textures, detail = _round_trip(
        folder / "quad.ply", tmp_path / "work", companions={"skin.png": folder / "skin.png"}
    )
    assert data.vertex_count == 5 and data.uv is not None
    corner_uv = data.uv[data.faces].reshape(2, 6)
    assert np.array_equal(corner_uv, records["texcoord"])
    assert np.array_equal(data.vertices[data.faces], vertices[faces])
    assert [t.name for t in textures] == ["master_skin.png"] and "pixels equal" in detail
    assert any("per-corner texture coordinates moved to the vertices" in n for n in data.notes)


@pytest.mark.parametrize("kind", ["binary", "ascii"])
def test_an_stl_round_trips_with_shared_vertices(tmp_path, kind):
    sphere = meshgen.sphere(1)
    triangles = sphere.vertices[sphere.faces].astype(np.float32)
    if kind == "binary":
        path = meshgen.write_stl_binary(tmp_path / "s.stl", triangles, label=b"solid but binary")
    else:
        path = meshgen.write_stl_ascii(tmp_path / "s.stl", triangles.astype(np.float64))
    data, _, _ = _round_trip(path, tmp_path / "work")
    assert data.vertices.dtype == (np.float32 if kind == "binary" else np.float64)
    assert np.array_equal(data.vertices[data.faces], triangles.astype(data.vertices.dtype))
    assert data.vertex_count == len(sphere.vertices)


def test_an_off_with_colours_round_trips(tmp_path):
    path = meshgen.write_off(tmp_path / "c.off", CUBE["vertices"].astype(np.float64), CUBE["faces"], CUBE["colours"])
    data, _, _ = _round_trip(path, tmp_path / "work")
    assert np.array_equal(data.vertices, CUBE["vertices"].astype(np.float64))
    assert np.array_equal(data.vertex_colors, CUBE["colours"]) and np.array_equal(data.faces, CUBE["faces"])


def _check_textured_cube(data, textures, detail, folder: Path) -> None:
    assert data.source_format == "OBJ" and data.materials == ["stone"]
    assert np.array_equal(np.sort(data.vertices, axis=0), np.sort(CUBE["vertices"].astype(np.float64), axis=0))
    assert data.uv is not None and data.vertex_normals is not None
    assert [t.name for t in textures] == ["master_wall.png"]
    assert np.array_equal(np.asarray(Image.open(textures[0])), np.asarray(Image.open(folder / "wall.png")))
    assert "comment TextureFile master_wall.png" in (textures[0].parent / "master.ply").read_bytes()[:2000].decode(
        "ascii", "replace"
    )
    assert "pixels equal" in detail


def test_an_obj_uploaded_with_its_mtl_and_texture_as_separate_files(tmp_path):
    folder = tmp_path / "uploads"
    obj = meshgen.write_textured_obj(folder)
    staged = tmp_path / "staged-7f3a"  # the pipeline's staged name says nothing
    shutil.copy(obj, staged)
    companions = {"scan.mtl": folder / "scan.mtl", "wall.png": folder / "wall.png"}
    data, textures, detail = _round_trip(staged, tmp_path / "work", "scan.obj", companions)
    _check_textured_cube(data, textures, detail, folder)


def test_an_obj_in_a_zip_with_its_mtl_and_texture(tmp_path):
    folder = tmp_path / "set"
    meshgen.write_textured_obj(folder)
    archive = meshgen.zip_folder(folder, tmp_path / "scan.zip", prefix="scan/")
    data, textures, detail = _round_trip(archive, tmp_path / "work")
    _check_textured_cube(data, textures, detail, folder)


def test_a_texture_path_leaving_the_upload_is_never_read(tmp_path):
    secret = tmp_path / "secret.png"
    meshgen.texture_png(secret, seed=9)
    folder = tmp_path / "deep" / "upload"
    obj = meshgen.write_textured_obj(folder, texture_ref="../../secret.png")
    (folder / "scan.mtl").write_text((folder / "scan.mtl").read_text() + "newmtl other\nmap_Kd ../../etc/passwd\n")
    data = read_mesh(obj, tmp_path / "work", LIMITS, companions={"scan.mtl": folder / "scan.mtl"})
    assert data.textures == [] and not (tmp_path / "work" / "textures" / "secret.png").exists()
    notes = " ".join(data.notes)
    assert "the texture path '../../secret.png' points outside the uploaded files; it was not read" in notes


def test_an_obj_naming_etc_passwd_as_its_texture_keeps_the_mesh_and_says_why(tmp_path):
    folder = tmp_path / "upload"
    obj = meshgen.write_textured_obj(folder, texture_ref="../../etc/passwd")
    data = read_mesh(obj, tmp_path / "work", LIMITS, companions={"scan.mtl": folder / "scan.mtl"})
    assert data.face_count == 6 and data.textures == []
    assert any("'../../etc/passwd' points outside the uploaded files; it was not read" in n for n in data.notes)


def test_an_absolute_windows_texture_path_is_looked_up_among_the_uploaded_files_only(tmp_path):
    folder = tmp_path / "upload"
    obj = meshgen.write_textured_obj(folder, texture_ref="C:\\Users\\field\\scans\\wall.png")
    companions = {"scan.mtl": folder / "scan.mtl", "wall.png": folder / "wall.png"}
    data = read_mesh(obj, tmp_path / "work", LIMITS, companions=companions)
    assert [t.name for t in data.textures] == ["wall.png"]
    assert any("is absolute; the uploaded file 'wall.png' was used" in n for n in data.notes)


def test_a_symlinked_companion_is_refused(tmp_path):
    folder = tmp_path / "upload"
    obj = meshgen.write_textured_obj(folder)
    (folder / "link.png").symlink_to("/etc/passwd")
    message = _refused(obj, tmp_path, companions={"wall.png": folder / "link.png"})
    assert "the companion file 'wall.png' is missing or not a regular file" in message


def test_a_companion_name_climbing_out_is_refused(tmp_path):
    obj = meshgen.write_textured_obj(tmp_path / "upload")
    message = _refused(obj, tmp_path, companions={"../scan.mtl": tmp_path / "upload" / "scan.mtl"})
    assert "the companion file name '../scan.mtl' climbs out of its folder" in message


@pytest.mark.parametrize(
    ("member", "problem"),
    [
        ("../evil.obj", "climbs out of its folder ('..')"),
        ("scan/../../evil.obj", "climbs out of its folder ('..')"),
        ("/etc/evil.obj", "is an absolute path"),
        ("C:/evil.obj", "names a drive"),
        ("..\\evil.obj", "contains a backslash"),
        ("scan\x01.obj", "contains a control character"),
    ],
)
def test_a_zip_with_a_hostile_member_name_is_refused_before_extracting(tmp_path, member, problem):
    path = meshgen.zip_with(tmp_path / "hostile.zip", {"scan.obj": b"v 0 0 0\n", member: b"v 1 1 1\n"})
    message = _refused(path, tmp_path)
    assert problem in message and "nothing was extracted" in message
    assert not (tmp_path / "work" / "unzipped").exists()
    assert not (tmp_path / "evil.obj").exists()


def test_a_zip_member_name_with_nul_is_refused_although_zipfile_truncates_it(tmp_path):
    path = meshgen.zip_with(tmp_path / "nul.zip", {"scan.objX../../x.obj": b"v 0 0 0\n"})
    path.write_bytes(path.read_bytes().replace(b"scan.objX", b"scan.obj\x00"))
    assert "contains a control character" in _refused(path, tmp_path)


def test_a_zip_with_a_symlink_member_is_refused(tmp_path):
    path = meshgen.zip_with(tmp_path / "link.zip", {"scan.obj": b"v 0 0 0\n"}, symlinks={"wall.png": "/etc/passwd"})
    assert "the zip member 'wall.png' is a symbolic link" in _refused(path, tmp_path)


def test_a_zip_with_too_many_members_is_refused(tmp_path):
    members = {f"part{i}.txt": b"" for i in range(12)} | {"scan.obj": b"v 0 0 0\n"}
    path = meshgen.zip_with(tmp_path / "many.zip", members)
    with pytest.raises(ProcessingError) as caught:
        read_mesh(path, tmp_path / "work", MeshLimits(max_zip_members=10))
    assert "the zip declares 13 members; the limit is 10" in caught.value.message


def test_a_zip_bomb_is_stopped_while_extracting(tmp_path):
    path = meshgen.zip_bomb(tmp_path / "bomb.zip", actual=20 * 1024 * 1024, declared=1000)
    message = _refused(path, tmp_path)
    assert "a zip bomb; extraction was stopped" in message
    written = sum(p.stat().st_size for p in (tmp_path / "work").rglob("*") if p.is_file())
    assert written <= 2 * 1024 * 1024


def test_a_zip_declaring_more_than_the_bound_is_refused_before_extracting(tmp_path):
    path = meshgen.zip_with(tmp_path / "big.zip", {"scan.obj": b"v 0 0 0\n" * 100})
    with pytest.raises(ProcessingError) as caught:
        read_mesh(path, tmp_path / "work", MeshLimits(max_zip_bytes=100))
    assert "the zip declares 800 bytes once extracted; the limit is 100" in caught.value.message


def test_a_zip_with_two_models_or_none_is_refused(tmp_path):
    two = meshgen.zip_with(tmp_path / "two.zip", {"a.obj": b"v 0 0 0\n", "b.ply": b"ply\n"})
    assert "the zip holds 2 model files (a.obj, b.ply); upload one model per zip" in _refused(two, tmp_path)
    none = meshgen.zip_with(tmp_path / "none.zip", {"a.obj.txt": b"v 0 0 0\n"})
    assert "the content is not a 3D model format" in _refused(none, tmp_path)


def test_nan_coordinates_are_refused(tmp_path):
    vertices = CUBE["vertices"].copy()
    vertices[5, 1] = np.nan
    vertices[9, 0] = np.inf
    path = meshgen.write_ply(tmp_path / "nan.ply", vertices, CUBE["faces"])
    assert "nan.ply: 2 vertices have NaN or infinite coordinates (the first is number 5)" in _refused(path, tmp_path)


def test_nan_in_a_point_cloud_text_file_is_refused(tmp_path):
    path = tmp_path / "nan.xyz"
    path.write_text("1 2 3\nnan 2 3\n")
    assert "1 points have NaN or infinite coordinates" in _refused(path, tmp_path)


def test_a_face_index_out_of_range_is_refused(tmp_path):
    faces = CUBE["faces"].copy()
    faces[3, 2] = 24
    path = meshgen.write_ply(tmp_path / "index.ply", CUBE["vertices"], faces)
    message = _refused(path, tmp_path)
    assert "face 3 refers to vertex 24, but the file has only 24 vertices (indices 0 to 23)" in message


def test_an_obj_face_index_out_of_range_is_refused(tmp_path):
    path = tmp_path / "bad.obj"
    path.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n")
    with pytest.raises(ProcessingError) as caught:
        read_mesh(path, tmp_path / "work", LIMITS)
    assert caught.value.permanent and caught.value.message.startswith("bad.obj: ")


def test_an_empty_model_is_refused(tmp_path):
    path = meshgen.write_ply(tmp_path / "empty.ply", np.zeros((0, 3), np.float32))
    assert "holds no vertex or point" in _refused(path, tmp_path)


def test_a_truncated_binary_ply_is_refused_at_read(tmp_path):
    path = meshgen.write_ply(tmp_path / "cut.ply", CUBE["vertices"], CUBE["faces"])
    path.write_bytes(path.read_bytes()[:-30])
    assert "the file is truncated or its header is wrong" in _refused(path, tmp_path)


def test_gltf_and_glb_round_trip_with_texture_and_float32_positions(tmp_path):
    cube = trimesh.Trimesh(
        CUBE["vertices"], np.vstack([CUBE["faces"][:, [0, 1, 2]], CUBE["faces"][:, [0, 2, 3]]]), process=False
    )
    picture = Image.fromarray(np.random.default_rng(4).integers(0, 256, (6, 8, 3), dtype=np.uint8))
    cube.visual = trimesh.visual.TextureVisuals(uv=CUBE["uv"], image=picture)
    (tmp_path / "c.glb").write_bytes(cube.export(file_type="glb"))
    files = trimesh.exchange.gltf.export_gltf(cube)  # model.gltf + external buffer and image files
    folder = tmp_path / "gltf"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    companions = {name: folder / name for name in files if name != "model.gltf"}
    for path, extra in ((tmp_path / "c.glb", None), (folder / "model.gltf", companions)):
        data, textures, detail = _round_trip(path, tmp_path / f"work-{path.suffix}", companions=extra)
        assert data.vertices.dtype == np.float32 and data.units == "metre"
        assert np.array_equal(np.sort(data.vertices, axis=0), np.sort(CUBE["vertices"], axis=0))
        assert data.face_count == 12 and len(textures) == 1
        assert np.array_equal(np.asarray(Image.open(textures[0])), np.asarray(picture))


def test_a_gltf_without_its_external_buffer_is_refused(tmp_path):
    files = trimesh.exchange.gltf.export_gltf(meshgen.sphere(1))
    path = tmp_path / "model.gltf"
    path.write_bytes(files["model.gltf"])
    message = _refused(path, tmp_path)
    assert message.startswith("model.gltf: the glTF file cannot be read")
    assert "was not among the uploaded files" in message


@pytest.mark.parametrize("data", ["ascii", "binary"])
def test_a_pcd_round_trips(tmp_path, data):
    points = meshgen.cloud(80)
    colours = np.random.default_rng(2).integers(0, 256, (80, 3)).astype(np.uint8)
    path = meshgen.write_pcd(tmp_path / "c.pcd", points, data=data, colours=colours)
    loaded, _, _ = _round_trip(path, tmp_path / "work")
    assert loaded.vertices.dtype == np.float32 and np.array_equal(loaded.vertices, points)
    assert np.array_equal(loaded.vertex_colors, colours)


def test_xyz_and_pts_round_trip(tmp_path):
    points = meshgen.cloud(30).astype(np.float64)
    xyz = tmp_path / "c.xyz"
    xyz.write_text("\n".join(",".join(repr(v) for v in row) for row in points.tolist()) + "\n")
    data, _, _ = _round_trip(xyz, tmp_path / "work-xyz")
    assert np.array_equal(data.vertices, points)
    pts = tmp_path / "c.pts"
    rows = [" ".join([*(repr(v) for v in row), "-120", "10", "20", "30"]) for row in points.tolist()]
    pts.write_text("30\n" + "\n".join(rows) + "\n")
    data, _, detail = _round_trip(pts, tmp_path / "work-pts")
    assert np.array_equal(data.vertices, points) and (data.vertex_colors == [10, 20, 30]).all()
    assert (data.vertex_attributes["intensity"] == -120).all() and "(intensity) equal" in detail


def test_real_scans_round_trip(tmp_path):
    if not (DATA / "bone.ply").exists():
        pytest.skip("sample scans not present")
    data, _, detail = _round_trip(DATA / "bone.ply", tmp_path / "bone")
    assert (data.vertex_count, data.face_count) == (1872, 3022) and data.vertex_colors.shape == (1872, 4)
    assert "flags" in data.vertex_attributes


def test_an_obj_of_vertices_only_is_a_point_cloud(tmp_path):
    path = tmp_path / "survey.obj"
    path.write_text("# total station points\nv 0.5 1 2\nv 3 4 5.25\n")
    data, _, _ = _round_trip(path, tmp_path / "work")
    assert data.kind == "pointcloud" and data.vertices.tolist() == [[0.5, 1, 2], [3, 4, 5.25]]


def test_a_point_only_glb_is_a_point_cloud(tmp_path):
    points = meshgen.cloud(10)
    path = tmp_path / "cloud.glb"
    path.write_bytes(trimesh.Scene(trimesh.PointCloud(points)).export(file_type="glb"))
    data, _, _ = _round_trip(path, tmp_path / "work")
    assert data.kind == "pointcloud" and np.array_equal(data.vertices, points)
