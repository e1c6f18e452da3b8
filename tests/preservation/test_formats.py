"""Format identification: content decides, by signature; the name is only checked against it."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from preservation import formats
from tests.preservation import imagegen


@pytest.mark.parametrize(
    ("name", "make", "puid", "mime"),
    [
        ("jfif.jpg", lambda p: imagegen.make_jpeg(p), "fmt/43", "image/jpeg"),
        ("exif.jpg", lambda p: imagegen.make_jpeg(p, exif=imagegen.make_exif()), "fmt/43", "image/jpeg"),
        ("cmyk.jpg", lambda p: imagegen.make_jpeg(p, mode="CMYK"), "fmt/41", "image/jpeg"),
        ("grey.png", lambda p: imagegen.make_png(p, Image.new("L", (8, 8))), "fmt/11", "image/png"),
        ("deep.png", lambda p: imagegen.make_png16(p, imagegen.odd16((6, 8, 3))), "fmt/11", "image/png"),
        ("anim.png", lambda p: imagegen.animated(p, "PNG"), "fmt/935", "image/png"),
        ("deep.tif", lambda p: imagegen.make_tiff(p, imagegen.odd16((6, 8, 3))), "fmt/353", "image/tiff"),
        ("rgb.tif", lambda p: imagegen.make_tiff(p, imagegen.rgb8(8, 6)), "fmt/353", "image/tiff"),
        (
            "lossy.webp",
            lambda p: imagegen.make_webp(p, Image.fromarray(imagegen.rgb8(8, 6)), quality=80),
            "fmt/566",
            "image/webp",
        ),
        (
            "lossless.webp",
            lambda p: imagegen.make_webp(p, Image.fromarray(imagegen.rgba8(8, 6)), lossless=True),
            "fmt/567",
            "image/webp",
        ),
        (
            "extended.webp",
            lambda p: imagegen.make_webp(p, Image.fromarray(imagegen.rgb8(8, 6)), exif=imagegen.make_exif()),
            "fmt/568",
            "image/webp",
        ),
    ],
)
def test_each_image_format_is_identified_by_signature(tmp_path, name, make, puid, mime):
    path = make(tmp_path / name)
    found = formats.identify(path, name)
    assert (found.puid, found.mime, found.format_key) == (puid, mime, "image")
    assert found.by_signature and found.identified
    assert found.extension_mismatch is None
    assert found.format_name


def test_a_text_file_named_like_a_photo_is_unidentified_and_its_name_is_flagged(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_text("field notes from the survey of the north wall\n" * 10)
    found = formats.identify(path, "photo.jpg")
    assert found.puid is None and found.format_key is None and not found.by_signature
    assert found.mime == "text/plain"
    assert found.extension_mismatch == (
        "the name ends in .jpg (JPEG image) but the content is not a recognised format (libmagic: text/plain)"
    )


def test_an_image_under_another_image_name_is_processed_but_flagged(tmp_path):
    path = imagegen.make_png(tmp_path / "scan.jpg", Image.new("RGB", (8, 8)))
    found = formats.identify(path, "scan.JPG")
    assert found.format_key == "image" and found.puid == "fmt/11"
    assert "name ends in .JPG (JPEG image)" in found.extension_mismatch
    assert "PNG (Portable Network Graphics 1.0, fmt/11)" in found.extension_mismatch


def test_the_name_never_makes_the_format(tmp_path):
    path = imagegen.make_jpeg(tmp_path / "notes.txt")
    found = formats.identify(path, "notes.txt")
    assert found.puid == "fmt/43" and found.extension_mismatch is None


def test_a_known_format_without_policy_is_identified_but_gets_no_processor(tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    found = formats.identify(path, "report.pdf")
    assert found.by_signature and found.puid.startswith("fmt/")
    assert found.format_key is None and found.mime == "application/pdf"


def test_a_truncated_jpeg_fails_fidos_signature_but_reaches_the_image_processor(tmp_path):
    """fido's JPEG patterns need the end-of-image marker; libmagic still sees a JPEG, so the image
    processor gets the file and refuses it with a precise message instead of 'unidentified'."""
    data = imagegen.jpeg_bytes()
    path = imagegen.write(tmp_path / "cut.jpg", data[: len(data) // 2])
    found = formats.identify(path, "cut.jpg")
    assert not found.by_signature and found.puid is None
    assert found.format_key == "image" and found.extension_mismatch is None


def test_an_empty_file_named_jpg_is_flagged(tmp_path):
    path = imagegen.write(tmp_path / "empty.jpg", b"")
    found = formats.identify(path, "empty.jpg")
    assert found.format_key is None
    assert found.extension_mismatch == "the name ends in .jpg (JPEG image) but the content is empty"


def test_a_missing_file_raises_instead_of_being_unidentified(tmp_path):
    with pytest.raises(OSError):
        formats.identify(tmp_path / "gone.jpg", "gone.jpg")


def test_agent_names_fido_pronom_and_libmagic_versions():
    assert re.fullmatch(r"fido \d+\.\d+\.\d+ \(PRONOM signatures v\d+\); libmagic \d+\.\d+", formats.AGENT)
    assert formats.FIDO_VERSION in formats.AGENT


def test_policy_covers_the_image_puids_and_leaves_raw_camera_formats_out():
    for puid in [
        "fmt/41",
        "fmt/43",
        "fmt/645",
        "fmt/11",
        "fmt/13",
        "fmt/353",
        "fmt/566",
        "fmt/567",
        "fmt/568",
    ]:
        assert formats.POLICY[puid] == "image"
    for puid in ["fmt/152", "fmt/730", "fmt/154", "fmt/202", "fmt/18"]:
        assert puid not in formats.POLICY


def test_fido_prints_nothing(tmp_path, capfd):
    formats.identify(imagegen.write(tmp_path / "empty.jpg", b""), "empty.jpg")
    formats.identify(imagegen.make_jpeg(tmp_path / "a.jpg"), "a.jpg")
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def test_concurrent_identifications_do_not_mix_results(tmp_path):
    files = [
        (imagegen.make_jpeg(tmp_path / "a.jpg"), "fmt/43"),
        (imagegen.make_png(tmp_path / "b.png", Image.new("RGB", (4, 4))), "fmt/11"),
        (imagegen.make_tiff(tmp_path / "c.tif", imagegen.rgb8(4, 4)), "fmt/353"),
    ] * 10
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda item: formats.identify(item[0], item[0].name).puid, files))
    assert results == [puid for _, puid in files]
