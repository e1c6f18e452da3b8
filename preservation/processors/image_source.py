"""Reading an original image safely: limits checked on header values, then one complete decode at full depth.

Which decoder gives the source pixels (the reference every later check compares with):

* JPEG, WebP, and PNG/TIFF up to 8 bits per sample: Pillow (its values are exact at this depth).
* 16-bit PNG: libpng through ``imagecodecs.png_decode``; 16-bit TIFF: ``tifffile``. Pillow would hand back
  8-bit RGB for these without a word (DESIGN section 11).

Interpretation, recorded in ``SourceImage.notes``: a palette image becomes RGB, or RGBA when it has
transparency (exact colours); a single transparent colour (PNG tRNS) becomes an alpha channel; a
multi-frame file (multi-page TIFF, animated PNG/WebP, MPO) contributes its first frame only, and the
remaining frames stay in the original, which is always kept.

Pillow's own decompression-bomb guard (MAX_IMAGE_PIXELS, a warning at ~89 Mpx and an error at ~179 Mpx
by default) is set to our ``Limits.max_pixels`` while we decode, with its warning raised as an error:
our header check runs first and gives the curator the precise message, Pillow's stays as a backstop.
"""

from __future__ import annotations

import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import imagecodecs
import numpy as np
import tifffile
from PIL import Image, ImageFile, JpegImagePlugin, PngImagePlugin, TiffImagePlugin, WebPImagePlugin

from preservation.processors.base import Limits, ProcessingError
from preservation.processors.image_metadata import gather_metadata
from preservation.processors.image_tags import ORIENTATION, CarriedTags
from preservation.processors.image_trailing import note_trailing_data

_PLUGINS = (JpegImagePlugin, PngImagePlugin, TiffImagePlugin, WebPImagePlugin)  # registers the openers

# What a decoder may raise on a corrupt, truncated or hostile file (Pillow raises several kinds).
DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    EOFError,
    ZeroDivisionError,
    OverflowError,  # tifffile: a RowsPerStrip stored as a tiny DOUBLE makes a strip count of infinity (tests/fuzz)
    struct.error,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
    tifffile.TiffFileError,
    RuntimeError,  # every imagecodecs codec error (PngError, DeflateError, LzwError, ...) derives from it
)


@dataclass(frozen=True)
class Layout:
    """How samples are arranged, in Pillow's mode names and the TIFF photometric/extra-sample terms."""

    mode: str
    photometric: str  # tifffile name: "minisblack", "rgb", "separated"
    extrasamples: tuple[str, ...] = ()

    @property
    def alpha(self) -> str | None:
        """ "unassalpha", "assocalpha" or None."""
        kind = self.extrasamples[0] if self.extrasamples else None
        return kind if kind in ("unassalpha", "assocalpha") else None


LAYOUTS = {
    "1": Layout("1", "minisblack"),
    "L": Layout("L", "minisblack"),
    "LA": Layout("LA", "minisblack", ("unassalpha",)),
    "La": Layout("La", "minisblack", ("assocalpha",)),
    "RGB": Layout("RGB", "rgb"),
    "RGBA": Layout("RGBA", "rgb", ("unassalpha",)),
    "RGBa": Layout("RGBa", "rgb", ("assocalpha",)),
    "RGBX": Layout("RGBX", "rgb", ("unspecified",)),
    "CMYK": Layout("CMYK", "separated"),
}
_EXTRA_SAMPLE_NAMES = {0: "X", 1: "a", 2: "A"}
_T = Image.Transpose
# Inverse of the transposition Pillow applies for each EXIF orientation (see ImageOps.exif_transpose).
_UNDO_TRANSPOSE = {
    2: _T.FLIP_LEFT_RIGHT,
    3: _T.ROTATE_180,
    4: _T.FLIP_TOP_BOTTOM,
    5: _T.TRANSPOSE,
    6: _T.ROTATE_90,
    7: _T.TRANSVERSE,
    8: _T.ROTATE_270,
}


@dataclass
class SourceImage:
    """An original, decoded completely: the reference the master is checked against."""

    path: Path
    format: str  # "JPEG", "PNG", "TIFF", "WEBP"
    pixels: np.ndarray  # (height, width) or (height, width, channels); bool, uint8 or uint16
    layout: Layout
    bit_depth: int  # bits per sample in the file (1, 2, 4, 8, 12, 16)
    source_mode: str  # Pillow's mode as opened, or the full-depth decoder's description
    frames: int
    decoder: str
    icc: bytes | None = None
    xmp: bytes | None = None
    exif_block: bytes | None = None  # the EXIF block as found in a JPEG, PNG or WebP (None for TIFF)
    tags: CarriedTags = field(default_factory=CarriedTags)
    notes: list[str] = field(default_factory=list)  # how pixels were interpreted
    not_carried: list[str] = field(default_factory=list)  # metadata the master cannot hold

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def channels(self) -> int:
        return 1 if self.pixels.ndim == 2 else int(self.pixels.shape[2])

    @property
    def orientation(self) -> int:
        value = self.tags.value("ifd0", ORIENTATION)
        return value[0] if isinstance(value, tuple) and value and 1 <= value[0] <= 8 else 1


def refused(name: str, problem: str) -> ProcessingError:
    """A permanent error in the words a curator reads."""
    return ProcessingError(f"{name}: {problem}; the original is kept in quarantine", permanent=True)


_PILLOW_LOCK = threading.RLock()


@contextmanager
def pillow_guard(limits: Limits) -> Iterator[None]:
    """Pillow's bomb guard at our pixel limit, its warning as an error (process-wide, hence the lock)."""
    with _PILLOW_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        warnings.filterwarnings("ignore", "Corrupt EXIF data", UserWarning)  # reported by our own reader
        warnings.filterwarnings("ignore", "Tag data larger than file", UserWarning)  # likewise
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = limits.max_pixels
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = previous


def _sniff(prefix: bytes) -> str | None:
    if prefix.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if prefix.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if prefix[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if prefix[:4] == b"RIFF" and prefix[8:12] == b"WEBP":
        return "WEBP"
    return None


def check_size(name: str, width: int, height: int, limits: Limits) -> None:
    """Refuse on header values alone, before anything is allocated or decoded."""
    if width <= 0 or height <= 0:
        raise refused(name, f"the header announces {width} x {height} pixels, which is not an image")
    if width * height > limits.max_pixels:
        raise refused(name, f"{width} x {height} pixels is above the {limits.max_pixels / 1e6:g} Mpx limit")
    if max(width, height) > limits.max_dimension:
        raise refused(name, f"{width} x {height} pixels: a side above {limits.max_dimension} pixels is not accepted")


def read_source(path: Path, limits: Limits) -> SourceImage:
    """Check ``path`` against ``limits``, decode it completely at full depth, gather its metadata.

    Raises ProcessingError: permanent for anything wrong with the file, transient for lack of memory.
    """
    name = path.name
    size = path.stat().st_size
    if size == 0:
        raise refused(name, "the file is empty (0 bytes)")
    if size > limits.max_bytes:
        raise refused(name, f"the file has {size} bytes, above the limit of {limits.max_bytes} bytes")
    with path.open("rb") as stream:
        prefix = stream.read(32)
    kind = _sniff(prefix)
    if kind is None:
        raise refused(name, "the content is not a JPEG, PNG, TIFF or WebP image")
    if ImageFile.LOAD_TRUNCATED_IMAGES:  # someone set it in this process: we would accept broken files
        raise ProcessingError("Pillow's LOAD_TRUNCATED_IMAGES is set in this process", permanent=False)
    try:
        with pillow_guard(limits):
            if kind == "TIFF":
                return _read_tiff(path, limits)
            bit_depth = prefix[24] if kind == "PNG" and prefix[12:16] == b"IHDR" else 8
            source = _read_with_pillow(path, kind, limits, bit_depth)
            note_trailing_data(source, kind)
            return source
    except MemoryError as error:
        raise ProcessingError(f"{name}: not enough memory to decode the image ({error})", permanent=False) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise refused(name, f"the image is larger than the {limits.max_pixels / 1e6:g} Mpx limit ({error})") from None
    except DECODE_ERRORS as error:
        raise refused(name, f"the {kind} data cannot be decoded completely ({_describe(error)})") from None


def _describe(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    if "truncated" in text.lower() or isinstance(error, EOFError):
        return f"the file is truncated: {text}"
    if "MAX_TEXT_CHUNK" in text:
        return (
            "a compressed chunk (an ICC profile or a text chunk) inflates beyond Pillow's safety limit of "
            f"{PngImagePlugin.MAX_TEXT_CHUNK // 1024**2} MB: a decompression bomb, or metadata too large to read safely"
        )
    if len(text) < 4 or text.strip("'\"-").isdigit():  # KeyError(0), IndexError(12) and the like say nothing
        return f"{type(error).__name__} {text} while reading the structure: the file is damaged"
    return text


def _open_header(path: Path, kind: str) -> ImageFile.ImageFile:
    """Pillow's lazy open for one format, without its built-in bomb check (ours runs on the result)."""
    factory, _accept = Image.OPEN[kind]
    return factory(str(path))


def _read_with_pillow(
    path: Path, kind: str, limits: Limits, bit_depth: int, stored_size: tuple[int, int] | None = None
) -> SourceImage:
    """``stored_size``: (width, height) as stored, for TIFF, whose upright size Pillow reports instead."""
    name = path.name
    with _open_header(path, kind) as image:
        width, height = stored_size or image.size
        check_size(name, width, height, limits)
        frames = getattr(image, "n_frames", 1)
        source_mode = image.mode
        if kind == "PNG" and bit_depth == 16:
            pixels = imagecodecs.png_decode(path.read_bytes())
            layout = LAYOUTS[{1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[1 if pixels.ndim == 2 else pixels.shape[2]]]
            decoder = f"libpng (imagecodecs {imagecodecs.__version__})"
            source_mode = f"{layout.mode};16"  # Pillow would say "RGB" and mean 8 bits
            notes = ["16-bit samples decoded with libpng"]
            if "transparency" in image.info:
                notes.append("the transparent colour (tRNS) became an alpha channel")
        else:
            orientation = image.getexif().get(ORIENTATION, 1) if kind == "TIFF" else 1
            image.load()
            loaded: Image.Image = image
            if orientation in _UNDO_TRANSPOSE and ORIENTATION not in image.getexif():
                # Pillow turned the TIFF upright while loading (and dropped the tag): go back to the
                # stored order, since the master carries the Orientation tag as every other format does.
                loaded = image.transpose(_UNDO_TRANSPOSE[orientation])
            pixels, layout, notes = _pixels_from_pillow(name, loaded)
            decoder = f"Pillow {Image.__version__}"
        info = dict(image.info)  # after load(): PNG chunks after the image data are included
        applist = list(getattr(image, "applist", []))
    if pixels.shape[:2] != (height, width):
        raise refused(name, f"decoded {pixels.shape[1]} x {pixels.shape[0]} pixels, the header said otherwise")
    source = SourceImage(
        path=path,
        format=kind,
        pixels=pixels,
        layout=layout,
        bit_depth=bit_depth,
        source_mode=source_mode,
        frames=frames,
        decoder=decoder,
        notes=notes,
    )
    text_keys = [key for key, value in info.items() if isinstance(value, str) and key != "XML:com.adobe.xmp"]
    gather_metadata(source, info, text_keys if kind == "PNG" else [], applist)
    return source


def _pixels_from_pillow(name: str, image: Image.Image) -> tuple[np.ndarray, Layout, list[str]]:
    notes = []
    mode = image.mode
    transparency = image.info.get("transparency")
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or transparency is not None or (image.palette and image.palette.mode == "RGBA")
        target = "RGBA" if has_alpha else "RGB"
        image = image.convert(target)
        notes.append(f"palette expanded to {target} (exact colours)")
        mode = target
    elif mode in ("1", "L", "RGB") and transparency is not None:
        target = "RGBA" if mode == "RGB" else "LA"
        image = image.convert(target)
        notes.append(f"the transparent colour (tRNS) became an alpha channel ({target})")
        mode = target
    if mode not in LAYOUTS:
        raise refused(name, f"the colour model {mode!r} is not supported for normalization yet")
    return np.asarray(image), LAYOUTS[mode], notes


def _read_tiff(path: Path, limits: Limits) -> SourceImage:
    """TIFF: header and page count from tifffile; up to 8 bits Pillow decodes, above that tifffile does."""
    name = path.name
    with tifffile.TiffFile(path) as tiff:
        if not len(tiff.pages):
            raise refused(name, "the TIFF holds no readable image directory (IFD): the file is damaged or not a TIFF")
        page = tiff.pages.first
        stored_size = int(page.imagewidth), int(page.imagelength)
        check_size(name, *stored_size, limits)
        frames = len(tiff.pages)
        bits = int(page.bitspersample)
        if bits <= 8:
            pixels = None
        else:
            pixels, layout = _tiff_full_depth(name, page)
    if pixels is None:
        source = _read_with_pillow(path, "TIFF", limits, bits, stored_size)
    else:
        source = SourceImage(
            path=path,
            format="TIFF",
            pixels=pixels,
            layout=layout,
            bit_depth=bits,
            source_mode=f"{layout.mode};{bits}",
            frames=frames,
            decoder=f"tifffile {tifffile.__version__}",
            notes=[f"{bits}-bit samples decoded with tifffile"],
        )
        gather_metadata(source, {}, [], [])
    return source


def _tiff_full_depth(name: str, page: tifffile.TiffPage) -> tuple[np.ndarray, Layout]:
    photometric = int(page.photometric)
    if int(page.sampleformat) != 1 or page.dtype != np.uint16:
        raise refused(name, f"{page.bitspersample}-bit samples of this kind ({page.dtype}) are not supported yet")
    base = {1: "L", 2: "RGB", 5: "CMYK"}.get(photometric)
    if base is None or (base == "CMYK" and page.samplesperpixel - len(page.extrasamples) != 4):
        raise refused(name, f"16-bit TIFF with photometric interpretation {photometric} is not supported yet")
    extra = "".join(_EXTRA_SAMPLE_NAMES.get(int(kind), "X") for kind in page.extrasamples)
    mode = base + extra
    if mode not in LAYOUTS:
        raise refused(name, f"16-bit TIFF with samples {mode!r} is not supported yet")
    pixels = page.asarray()
    if page.planarconfig == tifffile.PLANARCONFIG.SEPARATE and pixels.ndim == 3:
        pixels = np.moveaxis(pixels, 0, -1)
    return np.ascontiguousarray(pixels), LAYOUTS[mode]
