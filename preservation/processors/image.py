"""Still images (JPEG, PNG, TIFF, WebP): validate, make a verified lossless TIFF master, make access copies.

``ImageProcessor().process(source, workdir, limits)`` follows the Processor contract in ``base.py``. The
steps live in seams of their own: ``image_source`` (limits, then one complete full-depth decode),
``image_metadata`` (what the master must carry; the technical summary), ``image_tags`` (EXIF/ICC/XMP
carried byte for byte), ``image_master`` (write and verify the TIFF master), ``image_access`` (upright,
metadata-free access copy and thumbnail).

Technical metadata of the original (``ProcessResult.technical``; JSON types only). GPS and camera
fields are for curators; hiding them from the public is the caller's job:

    format, width, height, mode (colour model as a Pillow mode name: "1", "L", "LA", "RGB",
    "RGBA", "CMYK", ...), source_mode (Pillow's mode on opening, e.g. "P"; "RGB;16" and the like
    when a full-depth decoder read 16-bit samples), bit_depth (per sample, as stored), channels,
    frames, alpha (bool), icc_profile (bool), icc_description, exif (bool), xmp (bool), camera_make,
    camera_model, date_taken (ISO 8601 from DateTimeOriginal, with OffsetTimeOriginal when present),
    orientation (1-8), gps_latitude, gps_longitude, gps_altitude (decimal degrees / metres, or None),
    resolution ({"x", "y", "unit"} or None).
"""

from __future__ import annotations

from pathlib import Path

import imagecodecs
import numpy as np
import tifffile
from PIL import Image

from preservation import formats
from preservation.processors import image_access
from preservation.processors.base import Derivative, EventRecord, Limits, ProcessingError, ProcessResult
from preservation.processors.image_master import MASTER_MIME, verify_master, write_master
from preservation.processors.image_metadata import icc_description, technical
from preservation.processors.image_source import SourceImage, read_source
from preservation.processors.image_tags import TagError, gps_position

AGENT = (
    f"Pillow {Image.__version__}; tifffile {tifffile.__version__}; imagecodecs {imagecodecs.__version__}; "
    f"numpy {np.__version__}"
)


class ImageProcessor:
    """The "image" format family. Keeps no state between files; safe to reuse."""

    key = "image"

    def __init__(
        self,
        *,
        access_long_side: int = 2048,
        thumbnail_long_side: int = 256,
        access_format: str = "jpeg",
        access_quality: int = 88,
        master_compression: str | None = None,
    ) -> None:
        if access_format not in image_access.FORMATS:
            raise ValueError(f"access_format must be one of {sorted(image_access.FORMATS)}")
        self.access_long_side = access_long_side
        self.thumbnail_long_side = thumbnail_long_side
        self.access_format = access_format
        self.access_quality = access_quality
        self.master_compression = master_compression

    def process(self, source: Path, workdir: Path, limits: Limits) -> ProcessResult:
        """Validate ``source``; write master.tif, access and thumbnail files into ``workdir``.

        Raises ProcessingError: permanent when the file is at fault (or the master failed verification),
        transient for passing conditions (memory, disk).
        """
        source = Path(source)
        workdir.mkdir(parents=True, exist_ok=True)
        image = read_source(source, limits)
        events = [
            EventRecord(
                "validation",
                "success",
                f"{image.name}: {image.format}, {image.width} x {image.height} pixels, {image.bit_depth}-bit "
                f"{image.source_mode.split(';')[0]}, {image.frames} frame(s), within the limits "
                f"({limits.max_pixels / 1e6:g} Mpx, {limits.max_dimension} px a side) and decoded completely "
                f"with {image.decoder}" + (f" ({'; '.join(image.notes)})" if image.notes else ""),
                AGENT,
            ),
            EventRecord("metadata extraction", "success", _metadata_summary(image), AGENT),
        ]
        master, master_event = self._master(image, workdir)
        events.append(master_event)
        if image.not_carried or image.frames > 1:
            events.append(EventRecord("normalization", "warning", _not_carried(image), AGENT))
        derivatives = [master, *self._access_copies(image, workdir, events)]
        return ProcessResult(technical=technical(image), derivatives=derivatives, events=events)

    def _master(self, image: SourceImage, workdir: Path) -> tuple[Derivative, EventRecord]:
        path = workdir / "master.tif"
        try:
            write_master(image, path, compression=self.master_compression)
        except OSError as error:
            raise ProcessingError(f"{image.name}: the master could not be written ({error})", permanent=False) from None
        except (ValueError, TypeError, TagError) as error:
            raise ProcessingError(
                f"{image.name}: the master could not be written ({error}); this is a fault in the archive's "
                "conversion, not in the file; the original is kept in quarantine",
                permanent=True,
            ) from None
        verified = verify_master(image, path)
        codec = self.master_compression or "uncompressed"
        bits = 1 if image.pixels.dtype == bool else image.pixels.dtype.itemsize * 8
        filename = f"{_stem(image)}.tif"
        endian = "big" if image.tags.byteorder == ">" else "little"
        detail = (
            f"Preservation master {filename}: {codec} TIFF, {image.width} x {image.height} "
            f"{image.layout.mode}, {bits}-bit samples, {endian}-endian. Verified: {verified}."
        )
        technical = {
            "format": "TIFF",
            "compression": codec,
            "width": image.width,
            "height": image.height,
            "mode": image.layout.mode,
            "bit_depth": bits,
            "channels": image.channels,
        }
        derivative = Derivative("master", path, filename, MASTER_MIME, _puid(path), technical)
        return derivative, EventRecord("normalization", "success", detail, AGENT)

    def _access_copies(self, image: SourceImage, workdir: Path, events: list[EventRecord]) -> list[Derivative]:
        pillow_format, suffix, mime = image_access.FORMATS[self.access_format]
        webp = pillow_format == "WEBP"
        shown = image_access.picture(image, keep_alpha=webp, rgb_only=webp)
        access = image_access.bounded(shown.image, self.access_long_side)
        derivatives = []
        for role, picture, long_side in (
            ("access", access, self.access_long_side),
            ("thumbnail", image_access.bounded(access, self.thumbnail_long_side), self.thumbnail_long_side),
        ):
            path = workdir / f"{role}{suffix}"
            filename = f"{_stem(image)}-{role}{suffix}"
            try:
                image_access.save(picture, shown.icc, path, fmt=self.access_format, quality=self.access_quality)
            except OSError as error:
                raise ProcessingError(
                    f"{image.name}: the {role} copy could not be written ({error})", permanent=False
                ) from None
            technical = {
                "format": pillow_format,
                "width": picture.width,
                "height": picture.height,
                "mode": picture.mode,
                "bit_depth": 8,
                "quality": self.access_quality,
                "icc_profile": shown.icc is not None,
            }
            derivatives.append(Derivative(role, path, filename, mime, _puid(path), technical))
            detail = (
                f"{role.capitalize()} copy {filename}: {pillow_format} quality {self.access_quality}, "
                f"{picture.width} x {picture.height} (long side at most {long_side}), EXIF orientation "
                f"{image.orientation} applied before resizing, 8-bit; {shown.colour}; "
                "no EXIF, XMP or GPS written."
            )
            events.append(EventRecord("creation", "success", detail, AGENT))
        return derivatives


def _stem(image: SourceImage) -> str:
    return image.path.stem or "image"


def _puid(path: Path) -> str:
    return formats.identify(path, path.name).puid or ""


def _metadata_summary(image: SourceImage) -> str:
    found = []
    if image.icc:
        found.append(f"ICC profile {icc_description(image.icc) or 'without description'!r} ({len(image.icc)} bytes)")
    if image.xmp:
        found.append(f"XMP ({len(image.xmp)} bytes)")
    if image.tags.has_exif:
        gps = " with a GPS position" if gps_position(image.tags) else ""
        found.append(f"EXIF/TIFF tags ({image.tags.counts()}){gps}")
    return f"{image.name}: " + ("; ".join(found) if found else "no ICC profile, XMP or EXIF") + "."


def _not_carried(image: SourceImage) -> str:
    parts = []
    if image.frames > 1:
        parts.append(
            f"the master and access copies hold the first of {image.frames} frames/pages; the others exist "
            "only in the original"
        )
    if image.not_carried:
        parts.append("not carried into the master: " + "; ".join(image.not_carried))
    return f"{image.name}: " + ". ".join(parts) + ". The original keeps everything, bit for bit."
