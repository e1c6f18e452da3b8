"""The processor as the pipeline sees it: registry, result shape, events, technical metadata."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from preservation.processors.base import Limits
from preservation.processors.image import ImageProcessor
from preservation.processors.registry import UnknownProcessor, get_processor
from tests.preservation import imagegen


@pytest.fixture
def result(tmp_path):
    path = imagegen.make_jpeg(
        tmp_path / "stela.jpg",
        size=(40, 20),
        exif=imagegen.make_exif(orientation=6),
        icc=imagegen.srgb_icc(),
        xmp=imagegen.XMP,
    )
    return get_processor("image").process(path, tmp_path / "work", Limits())


def test_the_registry_imports_the_image_processor_lazily():
    processor = get_processor("image")
    assert isinstance(processor, ImageProcessor) and processor.key == "image"
    with pytest.raises(UnknownProcessor):
        get_processor("mesh-from-the-future")


def test_one_master_one_access_copy_one_thumbnail_in_the_workdir(result, tmp_path):
    assert [d.role for d in result.derivatives] == ["master", "access", "thumbnail"]
    for derivative in result.derivatives:
        assert derivative.path.parent == tmp_path / "work" and derivative.path.stat().st_size > 0
    assert [d.filename for d in result.derivatives] == [
        "stela.tif",
        "stela-access.jpg",
        "stela-thumbnail.jpg",
    ]


def test_events_say_what_was_checked_and_with_which_software(result):
    kinds = [(e.event_type, e.outcome) for e in result.events]
    assert kinds == [
        ("validation", "success"),
        ("metadata extraction", "success"),
        ("normalization", "success"),
        ("creation", "success"),
        ("creation", "success"),
    ]
    for event in result.events:
        assert f"Pillow {Image.__version__}" in event.agent and "tifffile" in event.agent
    validation, metadata, normalization = (e.detail for e in result.events[:3])
    assert validation.startswith("stela.jpg: JPEG, 40 x 20 pixels, 8-bit RGB") and "decoded completely" in validation
    assert "ICC profile 'sRGB built-in'" in metadata and "with a GPS position" in metadata
    assert "all 2400 samples equal to the Pillow" in normalization
    assert "Pillow 13" in normalization or "reads the same ICC, XMP, Exif and GPS" in normalization


def test_technical_metadata_of_the_original(result):
    technical = result.technical
    assert json.loads(json.dumps(technical)) == technical
    assert technical == {
        "format": "JPEG",
        "width": 40,
        "height": 20,
        "mode": "RGB",
        "source_mode": "RGB",
        "bit_depth": 8,
        "channels": 3,
        "frames": 1,
        "alpha": False,
        "icc_profile": True,
        "icc_description": "sRGB built-in",
        "exif": True,
        "xmp": True,
        "camera_make": "TestCam",
        "camera_model": "X1 Field",
        "date_taken": "2024-05-01T10:20:30+02:00",
        "orientation": 6,
        "gps_latitude": pytest.approx(48.8567, abs=1e-6),
        "gps_longitude": pytest.approx(2.3520833, abs=1e-6),
        "gps_altitude": None,
        "resolution": {"x": 72.0, "y": 72.0, "unit": "inch"},
    }


def test_technical_metadata_of_a_16_bit_png_reports_its_real_depth(tmp_path):
    path = imagegen.make_png16(tmp_path / "deep.png", imagegen.odd16((10, 12, 4)))
    technical = ImageProcessor().process(path, tmp_path / "work", Limits()).technical
    assert (technical["bit_depth"], technical["mode"], technical["channels"], technical["alpha"]) == (
        16,
        "RGBA",
        4,
        True,
    )
    assert technical["exif"] is False and technical["gps_latitude"] is None and technical["camera_make"] is None


def test_southern_and_western_positions_are_negative(tmp_path):
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update({1: "S", 2: (33.0, 51.0, 0.0), 3: "W", 4: (70.0, 30.0, 0.0), 5: b"\x00", 6: 2450.0})
    path = imagegen.make_jpeg(tmp_path / "andes.jpg", exif=exif.tobytes())
    technical = ImageProcessor().process(path, tmp_path / "work", Limits()).technical
    assert technical["gps_latitude"] == pytest.approx(-33.85)
    assert technical["gps_longitude"] == pytest.approx(-70.5)
    assert technical["gps_altitude"] == pytest.approx(2450.0)


def test_running_twice_in_the_same_workdir_gives_the_same_files(tmp_path):
    path = imagegen.make_jpeg(tmp_path / "wall.jpg", exif=imagegen.make_exif())
    first = ImageProcessor().process(path, tmp_path / "work", Limits())
    before = [d.path.read_bytes() for d in first.derivatives]
    second = ImageProcessor().process(path, tmp_path / "work", Limits())
    assert [d.path.read_bytes() for d in second.derivatives] == before
