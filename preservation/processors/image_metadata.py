"""What we read about an original: the metadata its master must carry, and a technical summary for curators.

``gather_metadata`` collects ICC, XMP and EXIF (and a JPEG's Photoshop/IPTC block) as raw TIFF tags for
the master (see ``image_tags``), and lists what a TIFF cannot hold. ``technical`` is the JSON summary
stored with the original (fields listed in ``preservation.processors.image``).
"""

from __future__ import annotations

import io
from fractions import Fraction
from typing import TYPE_CHECKING

from PIL import ImageCms

from preservation.processors.image_tags import (
    ICC_PROFILE,
    PHOTOSHOP,
    XMP,
    RawTag,
    TagError,
    gps_position,
    read_exif_block,
    read_tiff_file,
)

if TYPE_CHECKING:
    from preservation.processors.image_source import SourceImage


def gather_metadata(source: SourceImage, info: dict, text_keys: list[str], applist: list) -> None:
    """ICC, XMP, EXIF (and a JPEG's Photoshop/IPTC block) as raw tags for the master to carry."""
    if source.format == "TIFF":
        try:
            source.tags = read_tiff_file(source.path)
        except TagError as error:
            source.not_carried.append(f"the TIFF tags could not be read ({error})")
        icc, xmp = source.tags.ifd0.get(ICC_PROFILE), source.tags.ifd0.get(XMP)
        source.icc = icc.data if icc else None
        source.xmp = xmp.data if xmp else None
    else:
        source.exif_block = info.get("exif") or None
        if source.exif_block:
            try:
                source.tags = read_exif_block(info["exif"])
            except TagError as error:
                source.not_carried.append(f"the EXIF block (it could not be parsed: {error})")
        source.icc = info.get("icc_profile") or None
        xmp = info.get("xmp") or info.get("XML:com.adobe.xmp")
        source.xmp = xmp.encode("utf-8") if isinstance(xmp, str) else (xmp or None)
        carried = source.tags.ifd0
        if source.icc:
            carried[ICC_PROFILE] = RawTag(ICC_PROFILE, 7, len(source.icc), source.icc)
        if source.xmp:
            carried[XMP] = RawTag(XMP, 1, len(source.xmp), source.xmp)
        photoshop = b"".join(
            data[14:] for marker, data in applist if marker == "APP13" and data.startswith(b"Photoshop 3.0\x00")
        )
        if photoshop:
            carried[PHOTOSHOP] = RawTag(PHOTOSHOP, 1, len(photoshop), photoshop)
        dpi = info.get("dpi")
        if source.tags.resolution is None and dpi and min(dpi) > 0:
            x, y = (Fraction(value).limit_denominator(10_000) for value in dpi[:2])
            source.tags.resolution = (x, y, 2)
        if text_keys:
            source.not_carried.append("PNG text chunks " + ", ".join(sorted(text_keys)[:10]))
        if info.get("comment"):
            source.not_carried.append("the JPEG comment (COM segment)")
        if not source.icc and any(m == "APP2" and d.startswith(b"ICC_PROFILE\x00") for m, d in applist):
            source.not_carried.append(
                "the ICC profile (its APP2 segments are missing or numbered inconsistently: it cannot be reassembled)"
            )
        if any(marker == "APP1" and data.startswith(b"http://ns.adobe.com/xmp/extension/") for marker, data in applist):
            source.not_carried.append("extended XMP (APP1 ExtendedXMP segments beyond the main XMP packet)")
        if not source.icc and ("gamma" in info or "chromaticity" in info):
            source.not_carried.append("PNG gamma/chromaticity (gAMA, cHRM) colour information")
    source.not_carried.extend(source.tags.not_carried)
    if source.frames > 1:
        source.notes.append(f"first of {source.frames} frames or pages normalized")


def icc_description(icc: bytes | None) -> str | None:
    if not icc:
        return None
    try:
        return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip() or None
    except (OSError, ImageCms.PyCMSError, TypeError, ValueError):
        return None


def _text(image: SourceImage, group: str, tag: int) -> str | None:
    value = image.tags.value(group, tag)
    return value if isinstance(value, str) and value else None


def _date_taken(image: SourceImage) -> str | None:
    """DateTimeOriginal as ISO 8601 ("2024-05-01T10:20:30+02:00"); the raw text if it is not a date."""
    raw = _text(image, "exif", 0x9003)
    if raw is None:
        return None
    date, _, time = raw.partition(" ")
    parts = date.split(":")
    if len(parts) != 3 or not all(part.isdigit() for part in parts) or not time:
        return raw
    offset = _text(image, "exif", 0x9011) or ""
    return f"{'-'.join(parts)}T{time}{offset}"


def technical(image: SourceImage) -> dict:
    """Technical metadata of the original (see the module docstring); plain JSON types."""
    position = gps_position(image.tags)
    resolution = None
    if image.tags.resolution is not None:
        x, y, unit = image.tags.resolution
        resolution = {"x": float(x), "y": float(y), "unit": {2: "inch", 3: "cm"}.get(unit)}
    make = _text(image, "ifd0", 0x010F)
    return {
        "format": image.format,
        "width": image.width,
        "height": image.height,
        "mode": image.layout.mode,
        "source_mode": image.source_mode,
        "bit_depth": image.bit_depth,
        "channels": image.channels,
        "frames": image.frames,
        "alpha": image.layout.alpha is not None,
        "icc_profile": image.icc is not None,
        "icc_description": icc_description(image.icc),
        "exif": image.tags.has_exif,
        "xmp": image.xmp is not None,
        "camera_make": make,
        "camera_model": _text(image, "ifd0", 0x0110),
        "date_taken": _date_taken(image),
        "orientation": image.orientation if image.tags.value("ifd0", 0x0112) is not None else None,
        "gps_latitude": position[0] if position else None,
        "gps_longitude": position[1] if position else None,
        "gps_altitude": position[2] if position else None,
        "resolution": resolution,
    }
