"""Hostile and broken files are refused with a message a curator understands, before any harm is done."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFile

from preservation.processors.base import Limits, ProcessingError
from preservation.processors.image import ImageProcessor
from tests.preservation import imagegen


def refusal(path, tmp_path, limits=None) -> ProcessingError:
    with pytest.raises(ProcessingError) as caught:
        ImageProcessor().process(path, tmp_path / "work", limits or Limits())
    return caught.value


def test_a_decompression_bomb_is_refused_from_its_header_before_any_decoding(tmp_path, monkeypatch):
    path = imagegen.bomb_png(tmp_path / "bomb.png")
    assert path.stat().st_size < 100

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoding started")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    error = refusal(path, tmp_path)
    assert error.permanent
    assert error.message == (
        "bomb.png: 100000 x 100000 pixels is above the 200 Mpx limit; the original is kept in quarantine"
    )
    assert not (tmp_path / "work" / "master.tif").exists()


def test_the_pixel_limit_is_ours_not_pillows(tmp_path):
    image = imagegen.make_jpeg(tmp_path / "wall.jpg", size=(40, 30))
    error = refusal(image, tmp_path, Limits(max_pixels=1000))
    assert error.message == "wall.jpg: 40 x 30 pixels is above the 0.001 Mpx limit; the original is kept in quarantine"


def test_pillows_default_guard_does_not_refuse_what_our_limit_allows(tmp_path):
    """100 Mpx is above Pillow's default warning (89 Mpx) but within our 200 Mpx: no bomb message; this
    header-only file then fails honestly at decoding."""
    error = refusal(imagegen.bomb_png(tmp_path / "large.png", 10_000, 10_000), tmp_path)
    assert error.permanent
    assert "Mpx limit" not in error.message
    assert "cannot be decoded completely" in error.message


def test_a_side_above_the_dimension_limit_is_refused(tmp_path):
    image = imagegen.make_jpeg(tmp_path / "strip.jpg", size=(400, 2))
    error = refusal(image, tmp_path, Limits(max_dimension=300))
    assert "strip.jpg: 400 x 2 pixels: a side above 300 pixels is not accepted" in error.message


def test_a_file_above_the_byte_limit_is_refused(tmp_path):
    image = imagegen.make_jpeg(tmp_path / "big.jpg", size=(64, 64))
    error = refusal(image, tmp_path, Limits(max_bytes=100))
    assert "above the limit of 100 bytes" in error.message and error.permanent


def test_an_empty_file_is_refused_clearly(tmp_path):
    error = refusal(imagegen.write(tmp_path / "empty.jpg", b""), tmp_path)
    assert error.permanent
    assert error.message == "empty.jpg: the file is empty (0 bytes); the original is kept in quarantine"


def test_a_file_that_is_not_an_image_is_refused(tmp_path):
    path = imagegen.write(tmp_path / "photo.jpg", b"field notes\n" * 20)
    error = refusal(path, tmp_path)
    assert error.message == (
        "photo.jpg: the content is not a JPEG, PNG, TIFF or WebP image; the original is kept in quarantine"
    )


@pytest.mark.parametrize("cut", [0.5, 0.97])
def test_a_truncated_jpeg_is_refused_never_patched_up(tmp_path, cut):
    data = imagegen.make_jpeg(tmp_path / "whole.jpg", size=(256, 192), quality=90).read_bytes()
    path = imagegen.write(tmp_path / "cut.jpg", data[: int(len(data) * cut)])
    error = refusal(path, tmp_path)
    assert error.permanent
    assert error.message.startswith("cut.jpg: the JPEG data cannot be decoded completely (the file is truncated")
    assert error.message.endswith("; the original is kept in quarantine")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_the_process_wide_truncated_images_switch_is_never_trusted(tmp_path, monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    error = refusal(imagegen.make_jpeg(tmp_path / "fine.jpg"), tmp_path)
    assert not error.permanent and "LOAD_TRUNCATED_IMAGES" in error.message


def test_a_truncated_16_bit_png_is_refused(tmp_path):
    data = imagegen.make_png16(tmp_path / "whole.png", imagegen.odd16((64, 64, 3))).read_bytes()
    error = refusal(imagegen.write(tmp_path / "deep.png", data[: len(data) - 200]), tmp_path)
    assert error.permanent and error.message.startswith("deep.png: the PNG data cannot be decoded completely")


def test_a_png_with_a_corrupt_checksum_is_refused(tmp_path):
    data = bytearray(imagegen.make_png(tmp_path / "whole.png", Image.fromarray(imagegen.rgb8(64, 64))).read_bytes())
    data[len(data) // 2] ^= 0xFF
    error = refusal(imagegen.write(tmp_path / "flipped.png", bytes(data)), tmp_path)
    assert error.permanent and "flipped.png: the PNG data cannot be decoded completely" in error.message


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_a_truncated_16_bit_tiff_is_refused(tmp_path, compression):
    whole = imagegen.make_tiff(tmp_path / "whole.tif", imagegen.odd16((64, 64, 3)), compression=compression)
    data = whole.read_bytes()
    error = refusal(imagegen.write(tmp_path / "deep.tif", data[: len(data) * 2 // 3]), tmp_path)
    assert error.permanent and error.message.startswith("deep.tif: the TIFF data cannot be decoded completely")


def test_a_truncated_8_bit_tiff_is_refused(tmp_path):
    data = imagegen.make_tiff(tmp_path / "whole.tif", imagegen.rgb8(64, 64)).read_bytes()
    error = refusal(imagegen.write(tmp_path / "cut.tif", data[: len(data) // 2]), tmp_path)
    assert error.permanent and "cut.tif: the TIFF data cannot be decoded completely" in error.message


def test_unsupported_sample_formats_are_refused_with_the_reason(tmp_path):
    path = imagegen.make_tiff(tmp_path / "float.tif", np.zeros((8, 8), np.float32))
    error = refusal(path, tmp_path)
    assert error.permanent and "float.tif: 32-bit samples of this kind (float32) are not supported yet" in error.message
