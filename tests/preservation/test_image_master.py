"""The preservation master holds exactly the original's pixels, at full depth, and its ICC, XMP and EXIF."""

from __future__ import annotations

from types import SimpleNamespace

import imagecodecs
import numpy as np
import pytest
import tifffile
from PIL import Image, PngImagePlugin

from preservation.processors.base import Limits, ProcessingError
from preservation.processors.image import ImageProcessor
from preservation.processors.image_master import verify_master, write_master
from preservation.processors.image_source import read_source
from preservation.processors.image_tags import GPS_IFD, read_tiff_file
from tests.preservation import imagegen


def master_of(path, tmp_path, **options):
    result = ImageProcessor(**options).process(path, tmp_path / "work", Limits())
    master = next(d for d in result.derivatives if d.role == "master")
    return master, result


class Page(SimpleNamespace):
    """What the tests look at in a master page, read while the file is open (tag values load lazily)."""


def read_master(path):
    with tifffile.TiffFile(path) as tiff:
        assert len(tiff.pages) == 1
        page = tiff.pages.first
        tags = {}
        for tag in page.tags.values():
            tags[tag.code] = tags[tag.name] = tag.value
        info = Page(
            compression=page.compression,
            photometric=page.photometric,
            extrasamples=page.extrasamples,
            tags=tags,
        )
        return page.asarray(), info


ODD_RGB16 = imagegen.odd16((24, 32, 3))
ODD_GREY16 = imagegen.odd16((24, 32), seed=5)
RGBA16 = imagegen.odd16((24, 32, 4), seed=6)
LA16 = imagegen.odd16((24, 32, 2), seed=7)


@pytest.mark.parametrize(
    ("name", "make", "expected"),
    [
        ("rgb8.tif", lambda p: imagegen.make_tiff(p, imagegen.rgb8(32, 24)), imagegen.rgb8(32, 24)),
        ("rgb16.tif", lambda p: imagegen.make_tiff(p, ODD_RGB16), ODD_RGB16),
        ("grey16.tif", lambda p: imagegen.make_tiff(p, ODD_GREY16), ODD_GREY16),
        ("rgb16-be.tif", lambda p: imagegen.make_tiff(p, ODD_RGB16, byteorder=">"), ODD_RGB16),
        ("rgb16-lzw.tif", lambda p: imagegen.make_tiff(p, ODD_RGB16, compression="lzw"), ODD_RGB16),
        (
            "rgb16-planar.tif",
            lambda p: imagegen.make_tiff(p, np.moveaxis(ODD_RGB16, -1, 0), planarconfig="separate"),
            ODD_RGB16,
        ),
        (
            "la16.tif",
            lambda p: imagegen.make_tiff(p, LA16, photometric="minisblack", extrasamples=["unassalpha"]),
            LA16,
        ),
        ("rgb16.png", lambda p: imagegen.make_png16(p, ODD_RGB16), ODD_RGB16),
        ("rgba16.png", lambda p: imagegen.make_png16(p, RGBA16), RGBA16),
        ("grey16.png", lambda p: imagegen.make_png16(p, ODD_GREY16), ODD_GREY16),
        ("la16.png", lambda p: imagegen.make_png16(p, LA16), LA16),
        (
            "rgb8.png",
            lambda p: imagegen.make_png(p, Image.fromarray(imagegen.rgb8(32, 24))),
            imagegen.rgb8(32, 24),
        ),
        (
            "rgba8.png",
            lambda p: imagegen.make_png(p, imagegen.from_array(imagegen.rgba8(32, 24), "RGBA")),
            imagegen.rgba8(32, 24),
        ),
        (
            "la8.png",
            lambda p: imagegen.make_png(p, imagegen.from_array(imagegen.rgba8(32, 24)[..., 2:], "LA")),
            imagegen.rgba8(32, 24)[..., 2:],
        ),
        (
            "lossless.webp",
            lambda p: imagegen.make_webp(
                p, imagegen.from_array(imagegen.rgba8(32, 24), "RGBA"), lossless=True, exact=True
            ),
            imagegen.rgba8(32, 24),
        ),
    ],
)
def test_master_samples_equal_the_original_at_full_depth(tmp_path, name, make, expected):
    master, _ = master_of(make(tmp_path / name), tmp_path)
    pixels, page = read_master(master.path)
    assert pixels.shape == expected.shape
    assert pixels.dtype.kind == "u" and pixels.dtype.itemsize == expected.dtype.itemsize
    assert np.array_equal(pixels, expected)
    assert page.compression == 1  # uncompressed by default
    assert master.technical["bit_depth"] == expected.dtype.itemsize * 8
    assert (master.puid, master.mime) == ("fmt/353", "image/tiff")


def test_the_low_byte_of_16_bit_samples_survives(tmp_path):
    """The trap from DESIGN 11: Pillow reads this PNG as 8-bit RGB, and a Pillow comparison would pass."""
    path = imagegen.make_png16(tmp_path / "deep.png", ODD_RGB16)
    assert Image.open(path).mode == "RGB"
    master, _ = master_of(path, tmp_path)
    pixels, _ = read_master(master.path)
    assert np.array_equal(pixels & 0xFF, ODD_RGB16 & 0xFF) and np.any(pixels & 0xFF != pixels >> 8)


@pytest.mark.parametrize(
    ("name", "make", "reference"),
    [
        ("jpeg.jpg", lambda p: imagegen.make_jpeg(p, size=(40, 20)), "RGB"),
        ("grey.jpg", lambda p: imagegen.make_jpeg(p, size=(40, 20), mode="L"), "L"),
        ("cmyk.jpg", lambda p: imagegen.make_jpeg(p, size=(40, 20), mode="CMYK"), "CMYK"),
        (
            "lossy.webp",
            lambda p: imagegen.make_webp(p, Image.fromarray(imagegen.rgb8(40, 20)), quality=70),
            "RGB",
        ),
        (
            "bilevel.png",
            lambda p: imagegen.make_png(p, Image.fromarray(imagegen.rgb8(40, 20)).convert("1")),
            "1",
        ),
    ],
)
def test_lossy_and_8_bit_sources_are_kept_as_decoded(tmp_path, name, make, reference):
    path = make(tmp_path / name)
    decoded = Image.open(path)
    assert decoded.mode == reference
    master, _ = master_of(path, tmp_path)
    pixels, page = read_master(master.path)
    assert np.array_equal(pixels, np.asarray(decoded))
    assert page.photometric.name.lower() == {"CMYK": "separated", "RGB": "rgb"}.get(reference, "minisblack")


def test_a_palette_png_with_transparency_becomes_exact_rgba(tmp_path):
    path = imagegen.palette_png_with_trns(tmp_path / "palette.png")
    master, result = master_of(path, tmp_path)
    pixels, page = read_master(master.path)
    expected = np.asarray(Image.open(path).convert("RGBA"))
    assert np.array_equal(pixels, expected) and pixels.shape[2] == 4
    assert page.extrasamples == (2,)  # unassociated alpha
    assert np.array_equal(pixels, imagecodecs.png_decode(path.read_bytes()))  # libpng agrees
    assert "palette expanded to RGBA (exact colours)" in result.events[0].detail


def test_a_single_transparent_colour_becomes_an_alpha_channel(tmp_path):
    pixels = imagegen.rgb8(16, 8)
    pixels[0, 0] = (1, 2, 3)
    path = imagegen.make_png(tmp_path / "trns.png", Image.fromarray(pixels), transparency=(1, 2, 3))
    master, _ = master_of(path, tmp_path)
    stored, _ = read_master(master.path)
    assert stored.shape == (8, 16, 4) and stored[0, 0, 3] == 0 and np.array_equal(stored[..., :3], pixels)


def test_icc_xmp_and_exif_with_gps_are_carried_into_a_jpegs_master(tmp_path):
    icc, exif = imagegen.srgb_icc(), imagegen.make_exif(orientation=6)
    path = imagegen.make_jpeg(tmp_path / "stela.jpg", exif=exif, icc=icc, xmp=imagegen.XMP)
    master, result = master_of(path, tmp_path)
    tags = read_master(master.path)[1].tags
    assert tags[34675] == icc
    assert bytes(tags[700]) == imagegen.XMP
    assert tags["Orientation"] == 6 and tags["Make"] == "TestCam"
    assert tags["ExifTag"]["DateTimeOriginal"] == "2024:05:01 10:20:30"
    assert tags["ExifTag"]["MakerNote"] == b"MAKERNOTE\x00\x01\x02"
    assert tags["GPSTag"]["GPSLatitudeRef"] == "N"
    with Image.open(master.path) as reread:
        assert reread.info["icc_profile"] == icc
        assert reread.info["xmp"] == imagegen.XMP
        gps = reread.getexif().get_ifd(GPS_IFD)
        assert gps[1] == "N" and [float(v) for v in gps[2]] == pytest.approx(list(imagegen.GPS_LAT))
    verified = next(e for e in result.events if e.event_type == "normalization").detail
    assert f"ICC profile ({len(icc)} bytes) byte-equal" in verified
    assert f"XMP ({len(imagegen.XMP)} bytes) byte-equal" in verified
    assert "EXIF/TIFF tags byte-equal" in verified and "4 GPS" in verified


def test_a_16_bit_master_carries_icc_xmp_and_exif_too(tmp_path):
    icc = imagegen.srgb_icc()
    path = imagegen.make_png16(tmp_path / "deep.png", ODD_RGB16, icc=icc, xmp=imagegen.XMP, exif=imagegen.make_exif())
    master, result = master_of(path, tmp_path)
    pixels, page = read_master(master.path)
    assert np.array_equal(pixels, ODD_RGB16)
    assert page.tags[34675] == icc and bytes(page.tags[700]) == imagegen.XMP
    assert page.tags["GPSTag"]["GPSLongitudeRef"] == "E"
    assert page.tags["ExifTag"]["OffsetTimeOriginal"] == "+02:00"
    assert not [e for e in result.events if e.outcome == "warning"]


def test_exif_of_a_tiff_original_is_carried_and_its_pixels_stay_in_stored_order(tmp_path):
    """Pillow turns TIFF pixels upright while loading; the master must still hold the stored order."""
    pixels = imagegen.rgb8(30, 20)
    path = imagegen.make_pillow_tiff(
        tmp_path / "scan.tif", Image.fromarray(pixels), exif=imagegen.make_exif(orientation=6), dpi=(300, 300)
    )
    master, result = master_of(path, tmp_path)
    stored, page = read_master(master.path)
    assert np.array_equal(stored, pixels)
    assert page.tags["Orientation"] == 6
    assert page.tags["GPSTag"]["GPSLatitude"][:2] == (48, 1)
    assert page.tags["XResolution"] == (300, 1) and page.tags["ResolutionUnit"] == 2
    assert "resolution 300 x 300 per inch equal" in result.events[2].detail


def test_a_multi_page_tiff_masters_its_first_page_and_says_so(tmp_path):
    master, result = master_of(imagegen.multipage_tiff(tmp_path / "pages.tif", pages=3), tmp_path)
    stored, _ = read_master(master.path)
    assert np.array_equal(stored, imagegen.rgb8(16, 12, seed=10))
    warning = next(e for e in result.events if e.outcome == "warning")
    assert warning.event_type == "normalization"
    assert "first of 3 frames/pages" in warning.detail and "only in the original" in warning.detail
    assert result.technical["frames"] == 3


@pytest.mark.parametrize("kind", ["PNG", "WEBP"])
def test_an_animation_masters_its_first_frame(tmp_path, kind):
    path = imagegen.animated(tmp_path / f"anim.{kind.lower()}", kind, frames=3)
    master, result = master_of(path, tmp_path)
    stored, _ = read_master(master.path)
    with Image.open(path) as first:
        assert np.array_equal(stored, np.asarray(first.convert(first.mode)))
    assert result.technical["frames"] == 3


def test_metadata_a_tiff_cannot_hold_is_reported_as_a_warning(tmp_path):
    image = Image.fromarray(imagegen.rgb8(16, 8))
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", "North wall, bay 3")
    path = imagegen.make_png(tmp_path / "titled.png", image, pnginfo=info)
    _, result = master_of(path, tmp_path)
    warning = next(e for e in result.events if e.outcome == "warning")
    assert "not carried into the master: PNG text chunks Title" in warning.detail


def test_deflate_is_one_argument_away(tmp_path):
    path = imagegen.make_png16(tmp_path / "deep.png", ODD_RGB16)
    master, result = master_of(path, tmp_path, master_compression="zlib")
    pixels, page = read_master(master.path)
    assert page.compression == 8 and np.array_equal(pixels, ODD_RGB16)
    assert "zlib TIFF" in result.events[2].detail


def test_verification_catches_a_changed_sample(tmp_path):
    source = read_source(imagegen.make_tiff(tmp_path / "rgb.tif", imagegen.rgb8(32, 24)), Limits())
    master = tmp_path / "master.tif"
    write_master(source, master)
    data = bytearray(master.read_bytes())
    data[-1] ^= 0x01  # the last sample of the last strip
    master.write_bytes(bytes(data))
    with pytest.raises(ProcessingError) as caught:
        verify_master(source, master)
    assert caught.value.permanent
    assert "rgb.tif: the preservation master failed verification (1 of 2304 samples differ)" in caught.value.message


def test_verification_catches_a_lost_tag(tmp_path):
    path = imagegen.make_jpeg(tmp_path / "stela.jpg", exif=imagegen.make_exif())
    source = read_source(path, Limits())
    master = tmp_path / "master.tif"
    write_master(source, master)
    source.tags.gps[0x9999] = source.tags.gps[1]  # a tag the master never received
    with pytest.raises(ProcessingError, match=r"gps tag 39321 missing"):
        verify_master(source, master)


def test_an_exif_thumbnail_is_left_out_by_design_without_a_warning(tmp_path):
    path = imagegen.make_jpeg(tmp_path / "camera.jpg", exif=imagegen.exif_with_thumbnail_ifd())
    master, result = master_of(path, tmp_path)
    assert read_master(master.path)[1].tags["Make"] == "Cam"
    assert "left out by design: the EXIF thumbnail (IFD1), a preview" in result.events[2].detail
    assert [e.outcome for e in result.events] == ["success"] * len(result.events)


def test_an_unreadable_exif_block_is_a_warning_not_a_rejection(tmp_path):
    broken = b"Exif\x00\x00MM\x00*\x00\x00\xff\xff"  # IFD0 offset far outside the block
    path = imagegen.make_jpeg(tmp_path / "odd.jpg", exif=broken)
    master, result = master_of(path, tmp_path)
    warning = next(e for e in result.events if e.outcome == "warning")
    assert "not carried into the master: the EXIF block (it could not be parsed" in warning.detail
    assert master.path.exists()


def test_a_nested_interoperability_ifd_and_little_endian_exif_are_carried(tmp_path):
    path = imagegen.make_webp(
        tmp_path / "cam.webp", Image.fromarray(imagegen.rgb8(16, 8)), exif=imagegen.exif_with_interop_ifd()
    )
    master, result = master_of(path, tmp_path)
    carried = read_tiff_file(master.path)
    assert carried.byteorder == "<"
    assert carried.value("exif", 0x9003) == "2021:02:03 04:05:06"
    assert carried.value("interop", 0x0001) == "R98"
    assert read_master(master.path)[1].tags["ExifTag"]["DateTimeOriginal"] == "2021:02:03 04:05:06"
    assert "1 Interop" in result.events[2].detail


def test_icc_and_xmp_of_a_tiff_original_are_carried_byte_for_byte(tmp_path):
    icc = imagegen.srgb_icc()
    path = imagegen.make_tiff(tmp_path / "scan.tif", ODD_RGB16, icc=icc, xmp=imagegen.XMP)
    master, _ = master_of(path, tmp_path)
    tags = read_master(master.path)[1].tags
    assert tags[34675] == icc and bytes(tags[700]) == imagegen.XMP
