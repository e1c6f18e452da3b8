"""Access copies are small, upright, 8-bit, and carry no EXIF, XMP or GPS: a site's position stays private."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from preservation.processors.base import Limits
from preservation.processors.image import ImageProcessor
from tests.preservation import imagegen


def copies(path, tmp_path, **options):
    result = ImageProcessor(**options).process(path, tmp_path / "work", Limits())
    by_role = {d.role: d for d in result.derivatives}
    return by_role["access"], by_role["thumbnail"], result


@pytest.fixture
def field_photo(tmp_path):
    """40 x 20 as stored, orientation 6 (the camera was turned): shown 20 wide and 40 high."""
    return imagegen.make_jpeg(
        tmp_path / "field.jpg",
        size=(40, 20),
        exif=imagegen.make_exif(orientation=6),
        icc=imagegen.srgb_icc(),
        xmp=imagegen.XMP,
    )


def test_access_copies_have_no_exif_no_gps_and_no_xmp(tmp_path, field_photo):
    access, thumbnail, _ = copies(field_photo, tmp_path)
    for derivative in (access, thumbnail):
        data = derivative.path.read_bytes()
        assert b"Exif\x00\x00" not in data and b"http://ns.adobe.com/xap/1.0/" not in data
        assert b"TestCam" not in data and b"MAKERNOTE" not in data
        with Image.open(derivative.path) as image:
            assert len(image.getexif()) == 0
            assert "exif" not in image.info and "xmp" not in image.info
            assert image.getexif().get_ifd(0x8825) == {}


def test_access_copies_keep_the_icc_profile(tmp_path, field_photo):
    access, thumbnail, _ = copies(field_photo, tmp_path)
    for derivative in (access, thumbnail):
        with Image.open(derivative.path) as image:
            assert image.info["icc_profile"] == imagegen.srgb_icc()


def test_orientation_is_applied_so_the_copy_stands_upright(tmp_path):
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :20] = (255, 0, 0)  # left half red, as stored
    path = tmp_path / "turned.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=imagegen.make_exif(orientation=6))
    access, thumbnail, _ = copies(path, tmp_path)
    with Image.open(access.path) as image:
        assert image.size == (20, 40)
        shown = np.asarray(image.convert("RGB")).astype(int)
    # orientation 6: rotate 90 degrees clockwise to display, so the stored left half ends on top
    assert shown[5, 10, 0] > 200 and shown[5, 10, 1] < 60
    assert shown[35, 10, 0] < 60
    assert (access.technical["width"], access.technical["height"]) == (20, 40)
    assert Image.open(thumbnail.path).size == (20, 40)


def test_sizes_are_bounded_on_the_long_side(tmp_path):
    path = imagegen.make_jpeg(tmp_path / "panorama.jpg", size=(3000, 1000), quality=80)
    access, thumbnail, _ = copies(path, tmp_path)
    assert Image.open(access.path).size == (2048, 683)
    assert Image.open(thumbnail.path).size == (256, 85)


def test_small_images_are_never_enlarged(tmp_path):
    access, thumbnail, _ = copies(imagegen.make_jpeg(tmp_path / "tiny.jpg", size=(40, 30)), tmp_path)
    assert Image.open(access.path).size == Image.open(thumbnail.path).size == (40, 30)


def test_the_bounds_are_parameters(tmp_path):
    path = imagegen.make_jpeg(tmp_path / "wall.jpg", size=(400, 300))
    access, thumbnail, _ = copies(path, tmp_path, access_long_side=200, thumbnail_long_side=50)
    assert Image.open(access.path).size == (200, 150) and Image.open(thumbnail.path).size == (50, 38)


def test_alpha_is_flattened_on_white_in_a_jpeg(tmp_path):
    pixels = imagegen.rgba8(64, 64)
    pixels[:, :32, 3] = 0  # left half fully transparent, whatever its colour
    pixels[:, 32:, :] = (0, 0, 255, 255)
    path = imagegen.make_png(tmp_path / "cutout.png", imagegen.from_array(pixels, "RGBA"))
    access, _, result = copies(path, tmp_path)
    with Image.open(access.path) as image:
        assert image.mode == "RGB"
        shown = np.asarray(image).astype(int)
    assert shown[:, :28].min() > 240
    assert shown[:, 36:, 2].min() > 200 and shown[:, 36:, 0].max() < 50
    assert "alpha flattened on white" in next(e.detail for e in result.events if e.event_type == "creation")


def test_a_webp_access_copy_keeps_alpha(tmp_path):
    path = imagegen.make_png(tmp_path / "cutout.png", imagegen.from_array(imagegen.rgba8(64, 64), "RGBA"))
    access, thumbnail, _ = copies(path, tmp_path, access_format="webp")
    with Image.open(access.path) as image:
        assert image.format == "WEBP" and image.mode == "RGBA"
    assert access.mime == "image/webp" and access.puid.startswith("fmt/56")
    assert thumbnail.filename == "cutout-thumbnail.webp"


def test_16_bit_samples_are_scaled_to_8_bits_with_rounding(tmp_path):
    grey = np.full((32, 32), 0x8080, np.uint16)
    grey[:, 16:] = 65535
    access, _, _ = copies(imagegen.make_png16(tmp_path / "deep.png", grey), tmp_path)
    with Image.open(access.path) as image:
        assert image.mode == "L"
        shown = np.asarray(image).astype(int)
    assert abs(shown[16, 4] - 128) <= 1 and shown[16, 28] >= 254


def test_a_cmyk_jpeg_gets_an_rgb_access_copy(tmp_path):
    access, _, result = copies(imagegen.make_jpeg(tmp_path / "print.jpg", mode="CMYK"), tmp_path)
    with Image.open(access.path) as image:
        assert image.mode == "RGB"
    assert "CMYK converted to RGB" in next(e.detail for e in result.events if e.event_type == "creation")


def test_derivatives_are_identified_as_what_they_claim(tmp_path, field_photo):
    access, thumbnail, _ = copies(field_photo, tmp_path)
    assert (access.puid, access.mime) == ("fmt/43", "image/jpeg")
    assert (thumbnail.puid, thumbnail.mime) == ("fmt/43", "image/jpeg")
    assert access.filename == "field-access.jpg" and thumbnail.filename == "field-thumbnail.jpg"
    assert access.technical == {
        "format": "JPEG",
        "width": 20,
        "height": 40,
        "mode": "RGB",
        "bit_depth": 8,
        "quality": 88,
        "icc_profile": True,
    }
