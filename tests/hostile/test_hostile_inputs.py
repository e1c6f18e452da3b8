"""Every hostile file of the corpus goes through the whole pipeline in this process and ends quarantined with
a message the curator can act on, or is neutralised (kept as received, never unpacked; derivatives made from
decoded pixels only). Nothing raises, nothing escapes its folder, nothing hostile reaches a store.

The corpus is generated in code (``tests/hostile/corpus.py``); each case's expected outcome is here, and
the README's security table lists them. The end-to-end run on real worker processes is in
``tests/integration/test_ingest_on_services.py``.
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata
from pathlib import Path

import pytest
from django.test import Client

from archive import actions
from archive.filenames import BIDI_CONTROLS, MAX_NAME_BYTES
from archive.models import Asset, HeritageObject, Upload
from preservation import pipeline
from preservation.models import PreservationEvent
from preservation.packaging import bags
from preservation.processors.base import ProcessingError
from preservation.processors.mesh_header import MeshLimits
from preservation.processors.mesh_io import read_mesh
from tests.factories import make_object
from tests.hostile import corpus

QUARANTINED, READY = Asset.State.QUARANTINED, Asset.State.READY
KEPT = "Kept as received: no normalization policy for this format."

# case -> (final state, words the curator's message must hold; for READY files: words of the warning event)
EXPECTED = {
    # images: bombs are refused from their headers, broken data when it fails to decode completely
    corpus.png_bomb: (QUARANTINED, ["100000 x 100000 pixels is above the 200 Mpx limit"]),
    corpus.tiff_bomb: (QUARANTINED, ["100000 x 100000 pixels is above the 200 Mpx limit"]),
    corpus.jpeg_bomb: (QUARANTINED, ["65000 x 65000 pixels is above the 200 Mpx limit"]),
    corpus.webp_bomb: (QUARANTINED, ["16384 x 16384 pixels is above the 200 Mpx limit"]),
    corpus.truncated_jpeg: (QUARANTINED, ["JPEG data cannot be decoded completely", "truncated"]),
    corpus.truncated_png: (QUARANTINED, ["PNG data cannot be decoded completely", "truncated"]),
    corpus.truncated_tiff: (QUARANTINED, ["TIFF data cannot be decoded completely", "truncated"]),
    corpus.header_only_png: (QUARANTINED, ["ends in .png", "not a recognised format"]),
    corpus.bitflip_png: (QUARANTINED, ["PNG data cannot be decoded completely"]),
    corpus.bitflip_jpeg_header: (QUARANTINED, ["JPEG data cannot be decoded completely"]),
    corpus.bitflip_jpeg_scan: (READY, []),  # JPEG has no checksum: other pixels, a valid image
    corpus.bitflip_tiff_offsets: (QUARANTINED, ["TIFF data cannot be decoded completely"]),
    corpus.tiff_ifd_loop: (READY, []),  # the first page is read; the loop is not followed
    corpus.tiff_rows_per_strip_double: (QUARANTINED, ["TIFF data cannot be decoded completely", "infinity"]),
    corpus.random_bytes_as_tiff: (QUARANTINED, ["no readable image directory"]),
    corpus.png_huge_chunk_length: (QUARANTINED, ["truncated"]),
    corpus.empty_file: (QUARANTINED, ["empty (0 bytes)"]),
    # polyglots: the original is kept bit for bit and served only as an attachment; derivatives are clean
    corpus.polyglot_jpeg_zip: (READY, ["bytes after the end of the JPEG image data (a zip archive"]),
    corpus.polyglot_jpeg_html: (READY, ["the JPEG comment (COM segment)"]),
    corpus.polyglot_gif_js: (READY, []),  # GIF has no normalization policy: kept as received
    corpus.polyglot_gif_js_as_jpeg: (QUARANTINED, ["ends in .jpg", "Graphics Interchange Format"]),
    corpus.html_named_jpeg: (QUARANTINED, ["ends in .jpg", "Hypertext Markup Language"]),
    corpus.svg_with_script: (READY, []),  # kept as received, never served inline
    # metadata bombs and absurd metadata
    corpus.png_icc_bomb: (QUARANTINED, ["inflates beyond Pillow's safety limit", "decompression bomb"]),
    corpus.png_text_bomb: (QUARANTINED, ["inflates beyond Pillow's safety limit", "decompression bomb"]),
    corpus.jpeg_large_icc: (READY, []),  # a 4 MB profile is legal: carried into the master
    corpus.jpeg_icc_bad_sequence: (READY, ["the ICC profile (its APP2 segments are missing"]),
    corpus.exif_absurd_entry_count: (READY, ["an IFD claims 65535 entries"]),
    corpus.exif_absurd_value_counts: (READY, ["4294967295 bytes", "outside the 74-byte structure"]),
    corpus.exif_bad_types: (READY, []),
    corpus.png_exif_garbage: (READY, ["the EXIF block (it could not be parsed"]),
    # 3D: headers checked against limits and the file size before loading; loaders' results validated
    corpus.ply_ascii_2e9_vertices: (QUARANTINED, ["announces 2000000000 vertices; the limit is 50000000"]),
    corpus.ply_binary_count_beyond_size: (QUARANTINED, ["the file is truncated or its header is wrong"]),
    corpus.ply_negative_count: (QUARANTINED, ["PLY header is malformed", "element vertex -3"]),
    corpus.ply_header_without_end: (QUARANTINED, ["PLY header is longer than"]),
    corpus.ply_nan: (QUARANTINED, ["NaN or infinite coordinates"]),
    corpus.ply_inf: (QUARANTINED, ["NaN or infinite coordinates"]),
    corpus.ply_face_index_out_of_range: (QUARANTINED, ["refers to vertex 2000000000", "out of range"]),
    corpus.ply_negative_face_index: (QUARANTINED, ["refers to vertex -1", "out of range"]),
    corpus.obj_nan: (QUARANTINED, ["NaN or infinite coordinates"]),
    corpus.obj_inf: (QUARANTINED, ["NaN or infinite coordinates"]),
    corpus.obj_face_index_out_of_range: (QUARANTINED, ["cannot be read", "out of bounds"]),
    corpus.obj_only_faces: (QUARANTINED, ["ends in .obj", "not a recognised format"]),
    corpus.stl_binary_2e9_triangles: (QUARANTINED, ["announces 2000000000 faces; the limit is 50000000"]),
    corpus.stl_binary_nan: (QUARANTINED, ["NaN or infinite coordinates"]),
    corpus.stl_ascii_unclosed: (QUARANTINED, ["opens 1 facets but closes 0"]),
    corpus.off_lying_counts: (QUARANTINED, ["announces 2000000000 vertices"]),
    corpus.off_inf: (QUARANTINED, ["NaN or infinite coordinates"]),
    corpus.glb_lying_accessor: (QUARANTINED, ["announces 1000000000 items", "truncated or inconsistent"]),
    # found by tests/fuzz: readers raised OverflowError instead of refusing
    corpus.ply_ascii_value_out_of_type: (QUARANTINED, ["a value does not fit its declared type"]),
    corpus.ply_ascii_list_count_out_of_type: (QUARANTINED, ["a value does not fit its declared type"]),
    corpus.obj_index_beyond_int64: (QUARANTINED, ["the OBJ file cannot be read", "OverflowError"]),
    corpus.off_index_beyond_int64: (QUARANTINED, ["face 0 is not 'count index ...'"]),
    corpus.glb_infinite_count: (QUARANTINED, ["not valid glTF 2.0", "OverflowError"]),
    # archives: every zip member checked before a byte is written; tars are never unpacked
    corpus.zip_slip: (QUARANTINED, ["'../../evil.obj' climbs out of its folder", "nothing was extracted"]),
    corpus.zip_absolute_path: (QUARANTINED, ["'/tmp/evil.obj' is an absolute path", "nothing was extracted"]),
    corpus.zip_backslash_slip: (QUARANTINED, ["contains a backslash", "nothing was extracted"]),
    corpus.zip_drive_letter: (QUARANTINED, ["names a drive", "nothing was extracted"]),
    corpus.zip_symlink: (QUARANTINED, ["'wall.png' is a symbolic link", "nothing was extracted"]),
    corpus.zip_symlinked_folder_then_write: (QUARANTINED, ["'dir' is a symbolic link", "nothing was extracted"]),
    corpus.zip_control_characters: (QUARANTINED, ["contains a control character"]),
    corpus.zip_duplicate_names: (QUARANTINED, ["holds 'scan.obj' twice"]),
    corpus.zip_bomb: (QUARANTINED, ["zip bomb", "extraction was stopped"]),
    corpus.zip_too_many_members: (READY, []),  # too many members to be a model: kept as received, never unpacked
    corpus.zip_encrypted_member: (QUARANTINED, ["is encrypted"]),
    corpus.zip_corrupt_deflate: (QUARANTINED, ["'scan.obj' cannot be extracted", "invalid block type"]),
    corpus.tar_slip: (READY, []),  # no policy for tar: kept as received, never unpacked
    corpus.tar_gz_slip: (READY, []),
    corpus.tar_named_like_a_model: (QUARANTINED, ["ends in .obj", "Tape Archive Format"]),
}
KEPT_AS_RECEIVED = {
    corpus.polyglot_gif_js,
    corpus.svg_with_script,
    corpus.zip_too_many_members,
    corpus.tar_slip,
    corpus.tar_gz_slip,
}
FILE_CASES = corpus.every_file_case()


@pytest.fixture
def obj(personas) -> HeritageObject:
    return make_object(personas.collection, "Hostile inputs", published=False)


def ingest(obj: HeritageObject, name: str, data: bytes, tmp_path: Path) -> Asset:
    """Receive ``data`` as if uploaded under ``name`` and run the whole pipeline here (no exception may escape)."""
    staged = tmp_path / "incoming.part"
    staged.write_bytes(data)
    asset, _ = actions.receive_file(obj, staged, name, hashlib.sha256(data).hexdigest(), len(data), enqueue=False)
    return pipeline.run_in_process(asset)


def tus_create(client: Client, obj, length: str, name: str = "photo.jpg"):
    metadata = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in {"filename": name, "object": obj.identifier}.items()
    )
    return client.post(
        "/uploads/", HTTP_UPLOAD_LENGTH=length, HTTP_UPLOAD_METADATA=metadata, HTTP_TUS_RESUMABLE="1.0.0"
    )


def assert_readable_message(message: str) -> None:
    assert message and "Traceback" not in message
    assert not any(unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS for ch in message), message


def assert_quarantined(asset: Asset, data: bytes, words: list[str]) -> None:
    assert asset.status == QUARANTINED, (asset.status, asset.status_message)
    assert_readable_message(asset.status_message)
    assert "the original is kept in quarantine" in asset.status_message
    for word in words:
        assert word in asset.status_message, (word, asset.status_message)
    assert not asset.replicas.exists(), "a refused file must never reach a store"
    kept = Path(asset.local_path)
    assert kept.parent.name == "quarantine" and kept.read_bytes() == data, "the original is kept bit for bit"
    assert PreservationEvent.objects.filter(asset=asset, event_type="quarantine", outcome="failure").exists()


def test_every_corpus_file_has_an_expected_outcome():
    assert set(FILE_CASES) == set(EXPECTED)
    assert len({case()[0] for case in FILE_CASES}) > 40  # distinct names: each case is its own file


@pytest.mark.parametrize("case", FILE_CASES, ids=[case.__name__ for case in FILE_CASES])
def test_a_hostile_file_is_quarantined_with_a_clear_message_or_neutralised(obj, tmp_path, settings, case):
    name, data = case()
    state, words = EXPECTED[case]
    asset = ingest(obj, name, data, tmp_path)
    if state == QUARANTINED:
        assert_quarantined(asset, data, words)
    else:
        assert asset.status == READY, (asset.status, asset.status_message)
        assert asset.replicas.filter(state="ok").count() == 2
        warnings = " ".join(
            PreservationEvent.objects.filter(asset=asset, outcome="warning").values_list("detail", flat=True)
        )
        assert_readable_message(warnings or "-")
        for word in words:
            assert word in warnings, (word, warnings)
        if case in KEPT_AS_RECEIVED:
            assert asset.status_message == KEPT and not asset.derivatives.exists()
    # Nothing was unpacked anywhere: no member of a zip or tar exists outside the original itself.
    media = Path(settings.MEDIA_ROOT)
    assert not [p for p in media.rglob("*") if p.name in ("evil.obj", "evil-absolute.obj", "passwd.obj")]
    assert not [p for p in media.rglob("*") if p.is_symlink()]


def test_a_polyglot_reaches_the_portal_only_as_clean_pixels_and_the_original_only_as_an_attachment(personas, tmp_path):
    obj = make_object(personas.collection, "Holiday photograph")
    name, data = corpus.polyglot_jpeg_zip()
    asset = ingest(obj, name, data, tmp_path)
    assert asset.status == READY
    curator = Client()
    curator.force_login(personas.curator)
    for derived in asset.derivatives.all():
        body = b"".join(curator.get(derived.get_download_url()).streaming_content)
        assert b"PK\x03\x04" not in body and b"<script>" not in body, derived.role
    response = curator.get(asset.get_download_url())
    assert b"".join(response.streaming_content) == data  # the original, bit for bit, to those who may have it
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff" and response["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize("case", [corpus.polyglot_gif_js, corpus.svg_with_script], ids=["gif-js", "svg-script"])
def test_files_kept_as_received_are_never_served_inline(personas, tmp_path, case):
    obj = make_object(personas.collection, "Kept as received")
    name, data = case()
    asset = ingest(obj, name, data, tmp_path)
    assert asset.status == READY and asset.status_message == KEPT
    curator = Client()
    curator.force_login(personas.curator)
    response = curator.get(asset.get_download_url())  # originals: for those who curate the object
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert not response["Content-Type"].startswith(("text/html", "application/javascript", "text/javascript"))


# --------------------------------------------------------------------------------------------- names

HOSTILE = list(corpus.HOSTILE_NAMES.items())
ODD = list(corpus.ODD_NAMES.items())
REASONS = {
    "traversal": "tries to climb out of its folder",
    "windows-traversal": "tries to climb out of its folder",
    "absolute": "is an absolute path",
    "drive": "is an absolute path",
    "300-characters": "300 characters long (limit 255)",
    "blank": "the file has no name",
    "rtl-override": "override characters (U+202E)",
    "rtl-embedding": "override characters (U+202B)",
    "isolate": "override characters (U+2066, U+2069)",
}


@pytest.mark.parametrize(("key", "name"), HOSTILE, ids=[key for key, _ in HOSTILE])
def test_a_hostile_file_name_is_quarantined_and_never_used_as_a_path(obj, tmp_path, settings, key, name):
    sent_name, data = corpus.named(name)
    asset = ingest(obj, sent_name, data, tmp_path)
    assert_quarantined(asset, data, [REASONS.get(key, "its name contains control characters")])
    staging = Path(settings.STAGING_ROOT).resolve()
    assert Path(asset.local_path).resolve().is_relative_to(Path(settings.QUARANTINE_ROOT).resolve())
    assert not [p for p in staging.rglob("*") if p.is_file()], "nothing is left in staging"
    assert "/" not in asset.filename and "\\" not in asset.filename and asset.filename != ".."


def test_a_right_to_left_override_cannot_reverse_the_curators_pages(personas, obj, tmp_path):
    """The message names the file with the override shown as an escape; the page isolates the name."""
    sent_name, data = corpus.named(corpus.HOSTILE_NAMES["rtl-override"])
    asset = ingest(obj, sent_name, data, tmp_path)
    assert asset.status_message.startswith("invoice\\u202egpj.exe: refused because")
    curator = Client()
    curator.force_login(personas.curator)
    page = curator.get("/curate/quarantine/").content.decode()
    assert "<bdi>invoice\u202egpj.exe</bdi>" in page
    assert f"<bdi>{asset.status_message}</bdi>" in page
    assert (
        f'<bdi class="warn">{asset.status_message}</bdi>'
        in curator.get(f"/curate/o/{obj.identifier}/").content.decode()
    )


@pytest.mark.parametrize(("key", "name"), ODD, ids=[key for key, _ in ODD])
def test_an_odd_but_harmless_name_is_stored_in_a_safe_form(obj, tmp_path, key, name):
    """Markup, very long Arabic or Chinese names (300-450 bytes of UTF-8, above what a file system allows),
    zero-width characters: the file is accepted under a safe name within MAX_NAME_BYTES."""
    sent_name, data = corpus.named(name)
    asset = ingest(obj, sent_name, data, tmp_path)
    assert asset.status == READY, asset.status_message
    assert asset.original_name == name  # what the uploader sent, for the record
    assert len(asset.filename.encode("utf-8")) <= MAX_NAME_BYTES
    assert not set(asset.filename) & set("<>\"'/\\\u200b")
    assert Path(asset.local_path or "").name in ("", f"original-{asset.filename}", asset.filename)


def test_a_nul_in_a_tus_file_name_is_quarantined_instead_of_failing_the_upload(
    personas, obj, django_capture_on_commit_callbacks
):
    """PostgreSQL cannot store NUL in text: the name keeps a visible stand-in (U+2400) and is refused."""
    client = Client()
    client.force_login(personas.curator)
    data = corpus.small_jpeg()
    created = tus_create(client, obj, str(len(data)), "a\x00b.jpg")
    assert created.status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        response = client.generic(
            "PATCH",
            created["Location"],
            data,
            content_type="application/offset+octet-stream",
            HTTP_UPLOAD_OFFSET="0",
            HTTP_TUS_RESUMABLE="1.0.0",
        )
    assert response.status_code == 204
    asset = Asset.objects.get(pk=Upload.objects.get().asset_id)
    assert "\x00" not in asset.original_name and asset.original_name == "a\u2400b.jpg"
    assert asset.status == QUARANTINED and "control characters" in asset.status_message


# --------------------------------------------------------------------------------------------- uploads


@pytest.mark.parametrize(
    ("length", "status", "words"),
    [
        (str(10**30), 413, "the limit is"),
        ("1e30", 400, "Bad upload request"),
        ("-1", 400, "must not be negative"),
        ("", 400, "Bad upload request"),
        ("0x10", 400, "Bad upload request"),
    ],
)
def test_an_absurd_tus_upload_length_is_refused_before_any_byte(personas, obj, settings, length, status, words):
    client = Client()
    client.force_login(personas.curator)
    response = tus_create(client, obj, length)
    assert response.status_code == status and words in response.content.decode()
    assert not Upload.objects.exists()
    assert not list(Path(settings.STAGING_ROOT).rglob("*.part"))


def test_a_zero_byte_tus_upload_is_quarantined_as_empty(personas, obj, django_capture_on_commit_callbacks):
    client = Client()
    client.force_login(personas.curator)
    with django_capture_on_commit_callbacks(execute=True):
        assert tus_create(client, obj, "0", "empty.jpg").status_code == 201
    asset = Asset.objects.get(object=obj)
    assert asset.status == QUARANTINED and "empty (0 bytes)" in asset.status_message


def test_an_api_upload_past_the_limit_stops_at_the_limit_and_leaves_nothing(personas, obj, settings, monkeypatch):
    """A body whose Content-Length passes the first check (it is within the multipart allowance), as a chunked
    request without Content-Length would: the handler stops writing as soon as the file passes the limit."""
    import io

    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from archive.interop.api import files

    settings.ARCHIVE_MAX_UPLOAD_BYTES = 4096
    written = []
    original = files.StagingUploadHandler.receive_data_chunk

    def counting(self, raw_data, start):
        result = original(self, raw_data, start)
        written.append(self._handle.tell() if self._handle else -1)
        return result

    monkeypatch.setattr(files.StagingUploadHandler, "receive_data_chunk", counting)
    monkeypatch.setattr(files.StagingUploadHandler, "chunk_size", 1024)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=personas.curator)[0].key}")
    upload = io.BytesIO(b"x" * 60_000)
    upload.name = "big.tif"
    response = client.post(f"/api/objects/{obj.identifier}/files/", {"file": upload}, format="multipart")
    assert response.status_code == 413 and "4096" in response.json()["detail"]
    assert max(written) <= 4096, "never more than the limit on disk"
    assert not obj.assets.exists() and not list(Path(settings.STAGING_ROOT).rglob("api-*"))


# ------------------------------------------------------------------------------------ archives elsewhere


@pytest.mark.parametrize("case", [corpus.tar_slip, corpus.tar_gz_slip], ids=["tar", "tar.gz"])
def test_a_tar_is_refused_as_a_bag_and_never_unpacked(personas, tmp_path, case):
    name, data = case()
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(bags.BagRefused, match="neither a bag folder nor a zip file"):
        bags.import_bag(path, personas.collection)
    assert not HeritageObject.objects.filter(collection=personas.collection).exists()
    assert not [p for p in tmp_path.rglob("*") if p.name in ("evil.obj", "evil-absolute.obj") or p.is_symlink()]


ZIP_CASES = [
    corpus.zip_slip,
    corpus.zip_absolute_path,
    corpus.zip_backslash_slip,
    corpus.zip_symlink,
    corpus.zip_symlinked_folder_then_write,
    corpus.zip_control_characters,
]


@pytest.mark.parametrize("case", ZIP_CASES, ids=[case.__name__ for case in ZIP_CASES])
def test_the_same_hostile_zips_are_refused_as_bags(personas, tmp_path, case):
    _name, data = case()
    path = tmp_path / "bag.zip"
    path.write_bytes(data)
    with pytest.raises(bags.BagRefused) as refused:
        bags.import_bag(path, personas.collection)
    assert "bag.zip" in str(refused.value)
    assert not [p for p in tmp_path.rglob("*") if p.name == "evil.obj" or p.is_symlink()]


def test_a_zipped_bag_with_a_damaged_compressed_member_is_refused_not_crashed(personas, tmp_path, settings):
    """zipfile lets zlib.error through from a broken deflate stream (found by tests/fuzz)."""
    members = {
        "bag/bagit.txt": b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
        "bag/data/a.txt": b"x" * 500,
    }
    path = tmp_path / "damaged-bag.zip"
    path.write_bytes(corpus.corrupt_deflate(members, "bag/data/a.txt"))
    with pytest.raises(bags.BagRefused, match=r"bag/data/a.txt could not be extracted \(.*invalid block type"):
        bags.import_bag(path, personas.collection)
    assert not HeritageObject.objects.filter(collection=personas.collection).exists()
    assert not list((Path(settings.STAGING_ROOT) / "bags").iterdir())


@pytest.mark.parametrize("case", ZIP_CASES + [corpus.zip_bomb], ids=[c.__name__ for c in [*ZIP_CASES, corpus.zip_bomb]])
def test_the_3d_reader_refuses_hostile_zips_without_writing_outside_its_folder(tmp_path, case):
    name, data = case()
    path = tmp_path / "upload" / name
    path.parent.mkdir()
    path.write_bytes(data)
    with pytest.raises(ProcessingError) as refused:
        read_mesh(path, tmp_path / "work", MeshLimits(max_zip_bytes=1024 * 1024), original_name=name)
    assert refused.value.permanent and refused.value.message.startswith(f"{name}: ")
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_relative_to(tmp_path / "work")]
    assert outside == [path]
