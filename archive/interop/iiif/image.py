"""IIIF Image API 3.0 (compliance level 2): parse an image request, describe an image, render with Pillow.

Pure functions, no Django: the views fetch the asset through archive.access, read its bytes through the
replication layer and call these. Requests are parsed against the source's size *before* any pixel is
decoded, so a hostile URL is refused (400) without work, and the output is never larger than the source:
``maxWidth``/``maxHeight``/``maxArea`` are the source's own width, height and area, so a request can
allocate at most as many pixels as the access copy already has (``^`` upscales a region, never beyond that).

What is served (info.json advertises the same):
- region: ``full``, ``square``, ``x,y,w,h``, ``pct:x,y,w,h``;
- size: ``max``, ``w,``, ``,h``, ``w,h``, ``!w,h``, ``pct:n``, each with ``^`` for upscaling;
- rotation: ``0``, ``90``, ``180``, ``270``, each mirrored with ``!`` (other angles are refused);
- quality: ``default``, ``color``, ``gray``, ``bitonal``; format: ``jpg``, ``png``, ``webp``.
Errors are ``IIIFError``: 400 for a malformed, out-of-bounds, oversized or unsupported request (§4.1-4.5
ask for 400 in every such case, unsupported rotations and formats included), with a message that says
which parameter is wrong and what would be accepted.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image

IMAGE_CONTEXT = "http://iiif.io/api/image/3/context.json"
PROFILE = "level2"
PROFILE_URI = "http://iiif.io/api/image/3/level2.json"
TILE_SIZE = 512
FORMATS = {"jpg": ("JPEG", "image/jpeg"), "png": ("PNG", "image/png"), "webp": ("WEBP", "image/webp")}
QUALITIES = ("default", "color", "gray", "bitonal")
MAX_PARAMETER_LENGTH = 64  # no IIIF parameter needs more; longer ones are refused before any parsing

_INT = r"(\d{1,9})"
_NUMBER = r"(\d{1,9}(?:\.\d{1,9})?|\.\d{1,9})"
_REGION_PX = re.compile(rf"^{_INT},{_INT},{_INT},{_INT}$")
_REGION_PCT = re.compile(rf"^pct:{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}$")
_SIZE_W = re.compile(rf"^{_INT},$")
_SIZE_H = re.compile(rf"^,{_INT}$")
_SIZE_WH = re.compile(rf"^(!?){_INT},{_INT}$")
_SIZE_PCT = re.compile(rf"^pct:{_NUMBER}$")
_ROTATION = re.compile(rf"^(!?){_NUMBER}$")
_QUALITY_FORMAT = re.compile(r"^([a-z]+)\.([a-z0-9]+)$")


class IIIFError(Exception):
    """A request the image service refuses: ``status`` is the HTTP status, the message says why."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    """The largest image the service returns for one source (the spec's maxWidth, maxHeight, maxArea)."""

    width: int
    height: int
    area: int

    @classmethod
    def of(cls, width: int, height: int) -> Limits:
        return cls(width, height, width * height)


@dataclass(frozen=True)
class ImageRequest:
    """A parsed, validated request in source pixels: what to cut, how big to make it, how to turn it."""

    source: tuple[int, int]  # width, height of the source image
    region: tuple[int, int, int, int]  # x, y, w, h, clipped to the source
    size: tuple[int, int]  # output width, height (before rotation)
    mirror: bool
    rotation: int  # 0, 90, 180 or 270, clockwise
    quality: str
    format: str

    @property
    def upscaled(self) -> bool:
        return self.size[0] > self.region[2] or self.size[1] > self.region[3]

    @property
    def media_type(self) -> str:
        return FORMATS[self.format][1]

    @property
    def canonical(self) -> str:
        """The request's canonical form (Image API 3.0 §4.7): one name for one picture, used as the
        cache key and in the ``Link: rel="canonical"`` header."""
        x, y, w, h = self.region
        region = "full" if self.region == (0, 0, *self.source) else f"{x},{y},{w},{h}"
        limits = Limits.of(*self.source)
        if self.upscaled:
            upscaled_max = self.size == _fit((w, h), limits, upscale=True)
            size = "^max" if upscaled_max else f"^{self.size[0]},{self.size[1]}"
        elif self.size == _fit((w, h), limits, upscale=False):
            size = "max"
        else:
            size = f"{self.size[0]},{self.size[1]}"
        rotation = f"{'!' if self.mirror else ''}{self.rotation}"
        return f"{region}/{size}/{rotation}/{self.quality}.{self.format}"


# --- parsing ------------------------------------------------------------------------------------------


def parse(region: str, size: str, rotation: str, quality_format: str, source: tuple[int, int]) -> ImageRequest:
    """Validate the four path parameters against a ``source`` of (width, height) pixels.

    Raises IIIFError (400) naming the parameter at fault."""
    for name, value in (("region", region), ("size", size), ("rotation", rotation), ("quality.format", quality_format)):
        if len(value) > MAX_PARAMETER_LENGTH:
            raise IIIFError(f"The {name} parameter is longer than {MAX_PARAMETER_LENGTH} characters.")
    box = parse_region(region, source)
    output = parse_size(size, box[2:], Limits.of(*source))
    mirror, degrees = parse_rotation(rotation)
    quality, fmt = parse_quality_format(quality_format)
    return ImageRequest(source, box, output, mirror, degrees, quality, fmt)


def parse_region(text: str, source: tuple[int, int]) -> tuple[int, int, int, int]:
    """``full``, ``square``, ``x,y,w,h`` or ``pct:x,y,w,h`` -> (x, y, w, h) clipped to the image.

    A region of zero width or height, or one entirely outside the image, is a 400 (§4.1)."""
    width, height = source
    if text == "full":
        return (0, 0, width, height)
    if text == "square":
        side = min(width, height)
        return ((width - side) // 2, (height - side) // 2, side, side)
    if match := _REGION_PX.match(text):
        x, y, w, h = (int(group) for group in match.groups())
    elif match := _REGION_PCT.match(text):
        px, py, pw, ph = (float(group) for group in match.groups())
        x, y = round(px * width / 100), round(py * height / 100)
        w, h = round(pw * width / 100), round(ph * height / 100)
    else:
        raise IIIFError(f"Invalid region {text!r}: use full, square, x,y,w,h (pixels) or pct:x,y,w,h (percentages).")
    if w <= 0 or h <= 0:
        raise IIIFError(f"Invalid region {text!r}: its width and height must be greater than zero.")
    if x >= width or y >= height:
        raise IIIFError(f"Invalid region {text!r}: it lies outside the image ({width} x {height} pixels).")
    return (x, y, min(w, width - x), min(h, height - y))


def parse_size(text: str, region: tuple[int, int], limits: Limits) -> tuple[int, int]:
    """The output (width, height) for a region of ``region`` pixels (§4.2).

    Without ``^`` the output may not be larger than the region; with or without it, never larger than
    ``limits``. A zero dimension is a 400."""
    rw, rh = region
    upscale = text.startswith("^")
    body = text[1:] if upscale else text
    if body == "max":
        return _fit(region, limits, upscale=upscale)
    if match := _SIZE_W.match(body):
        w = int(match.group(1))
        output = (w, max(1, round(rh * w / rw)) if w else 0)
    elif match := _SIZE_H.match(body):
        h = int(match.group(1))
        output = (max(1, round(rw * h / rh)) if h else 0, h)
    elif match := _SIZE_PCT.match(body):
        percent = float(match.group(1))
        if percent > 100 and not upscale:
            raise IIIFError(f"Invalid size {text!r}: above 100 percent needs the ^ prefix (upscaling).")
        output = (round(rw * percent / 100), round(rh * percent / 100))
    elif match := _SIZE_WH.match(body):
        confined, w, h = match.group(1) == "!", int(match.group(2)), int(match.group(3))
        if confined and w and h:
            scale = min(w / rw, h / rh)
            if not upscale:
                scale = min(scale, 1.0)
            output = (max(1, min(w, round(rw * scale))), max(1, min(h, round(rh * scale))))
        else:
            output = (w, h)
    else:
        raise IIIFError(f"Invalid size {text!r}: use max, w, ,h, w,h, !w,h or pct:n, optionally with a ^ prefix.")
    w, h = output
    if w <= 0 or h <= 0:
        raise IIIFError(f"Invalid size {text!r}: the resulting image would have no pixels.")
    if not upscale and (w > rw or h > rh):
        raise IIIFError(
            f"Invalid size {text!r}: {w} x {h} is larger than the region ({rw} x {rh}); upscaling needs the ^ prefix."
        )
    if w > limits.width or h > limits.height or w * h > limits.area:
        raise IIIFError(
            f"Invalid size {text!r}: {w} x {h} is above the largest size served for this image "
            f"(maxWidth {limits.width}, maxHeight {limits.height}, maxArea {limits.area})."
        )
    return (w, h)


def _fit(region: tuple[int, int], limits: Limits, *, upscale: bool) -> tuple[int, int]:
    """The largest size with the region's aspect ratio within ``limits`` (``max`` and ``^max``)."""
    rw, rh = region
    scale = min(limits.width / rw, limits.height / rh, math.sqrt(limits.area / (rw * rh)))
    if not upscale:
        scale = min(scale, 1.0)
    w, h = max(1, math.floor(rw * scale + 1e-9)), max(1, math.floor(rh * scale + 1e-9))
    return (w, h)


def parse_rotation(text: str) -> tuple[bool, int]:
    """``n`` or ``!n`` (mirrored first) -> (mirror, degrees). Multiples of 90 only (others: 400)."""
    match = _ROTATION.match(text)
    if not match:
        raise IIIFError(f"Invalid rotation {text!r}: use a number of degrees from 0 to 360, optionally after !.")
    mirror, degrees = match.group(1) == "!", float(match.group(2))
    if degrees > 360:
        raise IIIFError(f"Invalid rotation {text!r}: the angle must be between 0 and 360 degrees.")
    if degrees % 90:
        raise IIIFError(f"Rotation {text!r} is not supported: use 0, 90, 180 or 270 degrees (optionally after !).")
    return mirror, int(degrees) % 360


def parse_quality_format(text: str) -> tuple[str, str]:
    """``quality.format`` -> (quality, format); anything else (tif, gif, jp2, pdf included) is a 400."""
    match = _QUALITY_FORMAT.match(text)
    if not match:
        raise IIIFError(f"Invalid quality and format {text!r}: expected quality.format, such as default.jpg.")
    quality, fmt = match.groups()
    if quality not in QUALITIES:
        raise IIIFError(f"Invalid quality {quality!r}: use one of {', '.join(QUALITIES)}.")
    if fmt not in FORMATS:
        raise IIIFError(f"Format {fmt!r} is not supported: use one of {', '.join(FORMATS)}.")
    return quality, fmt


# --- describing -----------------------------------------------------------------------------------------


def scale_factors(width: int, height: int, tile: int = TILE_SIZE) -> list[int]:
    """Powers of two down to the level where the whole image fits in one tile (what deep-zoom viewers walk)."""
    factors = [1]
    while math.ceil(max(width, height) / factors[-1]) > tile:
        factors.append(factors[-1] * 2)
    return factors


def info(service_id: str, width: int, height: int, *, rights: str | None = None) -> dict:
    """The Image Information document (info.json) of one image service."""
    limits = Limits.of(width, height)
    factors = scale_factors(width, height)
    document = {
        "@context": IMAGE_CONTEXT,
        "id": service_id,
        "type": "ImageService3",
        "protocol": "http://iiif.io/api/image",
        "profile": PROFILE,
        "width": width,
        "height": height,
        "maxWidth": limits.width,
        "maxHeight": limits.height,
        "maxArea": limits.area,
        "sizes": [
            {"width": math.ceil(width / factor), "height": math.ceil(height / factor)} for factor in reversed(factors)
        ],
        "tiles": [{"width": TILE_SIZE, "height": TILE_SIZE, "scaleFactors": factors}],
        "preferredFormats": ["jpg"],
        "extraFormats": ["webp"],
        "extraQualities": ["bitonal"],
        "extraFeatures": ["mirroring", "sizeUpscaling", "profileLinkHeader", "canonicalLinkHeader"],
    }
    if rights:
        document["rights"] = rights
    return document


# --- rendering ------------------------------------------------------------------------------------------


def render(source: BinaryIO, request: ImageRequest, *, max_pixels: int) -> bytes:
    """The encoded picture for ``request`` from the readable image ``source``.

    JPEG sources are decoded at 1/2, 1/4 or 1/8 scale when the output is that much smaller (a tile of
    a zoomed-out level never decodes every pixel). Raises IIIFError(500) when the source is not the
    size the request was parsed for or is above ``max_pixels`` (a file that should never be an access
    copy), OSError when it cannot be decoded."""
    with Image.open(source) as image:
        if image.size != request.source:
            raise IIIFError(
                f"The source is {image.width} x {image.height} pixels, not the recorded "
                f"{request.source[0]} x {request.source[1]}.",
                status=500,
            )
        if image.width * image.height > max_pixels:
            raise IIIFError(f"The source has more than {max_pixels} pixels.", status=500)
        x, y, w, h = request.region
        out_w, out_h = request.size
        scale = 1.0
        if image.format == "JPEG" and not request.upscaled:
            wanted = (max(1, math.ceil(image.width * out_w / w)), max(1, math.ceil(image.height * out_h / h)))
            drafted = image.draft(image.mode, wanted)
            if drafted:  # (mode, (0, 0, width / s, height / s)): decoded at 1/s
                scale = request.source[0] / drafted[1][2]
        icc = image.info.get("icc_profile")
        picture = _colour_mode(image)
        box = (x / scale, y / scale, (x + w) / scale, (y + h) / scale)
        picture = picture.resize((out_w, out_h), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
    if request.mirror:
        picture = picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if request.rotation:
        # Pillow's ROTATE_n turns counter-clockwise; IIIF turns clockwise.
        turn = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}
        picture = picture.transpose(turn[request.rotation])
    if request.quality == "gray":
        picture, icc = _flatten(picture).convert("L"), None
    elif request.quality == "bitonal":
        picture, icc = _flatten(picture).convert("L").convert("1", dither=Image.Dither.NONE), None
    elif request.quality == "color" and picture.mode in ("L", "LA"):
        picture = picture.convert("RGBA" if picture.mode == "LA" else "RGB")
    return _encode(picture, request.format, icc)


def _colour_mode(image: Image.Image) -> Image.Image:
    """The image in a mode every later step handles: 1/L/LA/RGB/RGBA (palettes and CMYK converted)."""
    if image.mode in ("1", "L", "LA", "RGB", "RGBA"):
        return image
    has_alpha = image.mode in ("PA", "RGBa", "La") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _flatten(picture: Image.Image) -> Image.Image:
    """Alpha composed on white, as the access copies are (formats and qualities without alpha)."""
    if picture.mode not in ("LA", "RGBA"):
        return picture
    background = Image.new("RGB", picture.size, (255, 255, 255))
    background.paste(picture.convert("RGBA"), mask=picture.getchannel("A"))
    return background if picture.mode == "RGBA" else background.convert("L")


def _encode(picture: Image.Image, fmt: str, icc: bytes | None) -> bytes:
    pillow_format, _media_type = FORMATS[fmt]
    options: dict = {}
    if fmt == "jpg":
        picture = _flatten(picture)
        if picture.mode == "1":
            picture = picture.convert("L")
        options = {"quality": 85}
    elif fmt == "webp":
        if picture.mode in ("1", "L", "LA"):
            picture = picture.convert("RGBA" if picture.mode == "LA" else "RGB")
        options = {"quality": 85}
    if icc and picture.mode in ("RGB", "RGBA"):
        options["icc_profile"] = icc
    buffer = io.BytesIO()
    picture.save(buffer, pillow_format, **options)
    return buffer.getvalue()
