"""Access copies: what the portal shows. Small, 8-bit, upright, and free of EXIF, XMP and GPS.

The picture is built from the full-depth source pixels (16-bit samples are scaled to 8 bits with
rounding, not truncated by Pillow), turned upright with the EXIF orientation *before* resizing, flattened
on white when the output has no alpha, then bounded on its long side. No EXIF, XMP or comment is written,
because they can carry the GPS position of a threatened site; the ICC profile is kept when it matches the
output's colour model, and CMYK is converted to sRGB (with the embedded profile when there is one).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps

from preservation.processors.image_source import SourceImage
from preservation.processors.image_tags import ORIENTATION

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_COLOUR_SPACES = {"L": "GRAY", "LA": "GRAY", "RGB": "RGB", "RGBA": "RGB", "CMYK": "CMYK"}
FORMATS = {"jpeg": ("JPEG", ".jpg", "image/jpeg"), "webp": ("WEBP", ".webp", "image/webp")}


@dataclass
class Picture:
    """An 8-bit upright picture ready for encoding, with the ICC profile to embed (if any)."""

    image: Image.Image
    icc: bytes | None
    colour: str  # what happened to colour and alpha, for the event detail


def to_8bit(pixels: np.ndarray) -> np.ndarray:
    """uint16 -> uint8 by rounding (0 -> 0, 65535 -> 255); bool -> 0/255; uint8 unchanged."""
    if pixels.dtype == np.uint16:
        return ((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if pixels.dtype == bool:
        return pixels.astype(np.uint8) * 255
    return pixels


def profile_colour_space(icc: bytes | None) -> str | None:
    if not icc:
        return None
    try:
        return ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile.xcolor_space.strip()
    except (OSError, ImageCms.PyCMSError, TypeError, ValueError):
        return None


def picture(source: SourceImage, *, keep_alpha: bool, rgb_only: bool = False) -> Picture:
    """The source as a viewer shows it: 8-bit and upright; alpha flattened on white unless ``keep_alpha``.

    ``rgb_only``: make grey pictures RGB too (WebP has no grey mode).
    """
    mode = "L" if source.layout.mode == "1" else source.layout.mode
    pixels = np.ascontiguousarray(to_8bit(source.pixels))
    image = Image.frombytes(mode, (source.width, source.height), pixels.tobytes())
    if mode in ("La", "RGBa"):
        image = image.convert(mode.upper())  # un-premultiply associated alpha
    elif mode == "RGBX":
        image = image.convert("RGB")
    icc = source.icc
    steps = []
    if image.mode == "CMYK":
        image, icc, step = _cmyk_to_srgb(image, icc)
        steps.append(step)
    if rgb_only and image.mode in ("L", "LA"):
        image = image.convert("RGBA" if image.mode == "LA" else "RGB")
    if image.mode in ("LA", "RGBA") and not keep_alpha:
        base = image.mode[:-1]
        flat = Image.new(base, image.size, 255 if base == "L" else (255, 255, 255))
        flat.paste(image.convert(base), mask=image.getchannel("A"))
        image = flat
        steps.append("alpha flattened on white")
    if icc and profile_colour_space(icc) != _COLOUR_SPACES.get(image.mode):
        icc = None
        steps.append("ICC profile left out (it does not fit the output colour model)")
    elif icc and source.layout.mode != "CMYK":
        steps.append("ICC profile kept")
    elif not icc:
        steps.append("no ICC profile")
    image.getexif()[ORIENTATION] = source.orientation
    image = ImageOps.exif_transpose(image)
    image.info.clear()  # nothing from the source's metadata may reach an access copy
    return Picture(image, icc, "; ".join(steps))


def _cmyk_to_srgb(image: Image.Image, icc: bytes | None) -> tuple[Image.Image, bytes | None, str]:
    if profile_colour_space(icc) == "CMYK":
        try:
            source_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, source_profile, _SRGB, outputMode="RGB")
            return converted, _SRGB.tobytes(), "CMYK converted to sRGB with the embedded profile"
        except (OSError, ImageCms.PyCMSError) as error:
            return image.convert("RGB"), None, f"CMYK converted to RGB without colour management ({error})"
    return image.convert("RGB"), None, "CMYK converted to RGB without colour management (no CMYK profile)"


def bounded(image: Image.Image, long_side: int) -> Image.Image:
    """A copy no larger than ``long_side`` on its long side (never enlarged)."""
    copy = image.copy()
    copy.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    return copy


def save(image: Image.Image, icc: bytes | None, path: Path, *, fmt: str, quality: int) -> None:
    """Encode with no metadata but the ICC profile: no EXIF, no XMP, no comment."""
    pillow_format = FORMATS[fmt][0]
    options: dict = {"quality": quality}
    if icc:
        options["icc_profile"] = icc
    if pillow_format == "JPEG":
        options["optimize"] = True
        if image.mode not in ("L", "RGB"):
            image = image.convert("RGB")
    else:
        options["method"] = 4
    image.save(path, pillow_format, **options)
