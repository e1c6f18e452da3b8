"""Test images made in code: every file the image tests use is generated here, nothing is downloaded.

Pixel values are random (seeded) so that a lossy or depth-reducing step cannot pass an equality check by
accident; 16-bit samples have odd low-order bytes for the same reason.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib
from pathlib import Path

import imagecodecs
import numpy as np
import tifffile
from PIL import Image, ImageCms

XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Stela of the test \xc3\xa9'
    b"</dc:title></rdf:Description></rdf:RDF></x:xmpmeta>\n"
    b'<?xpacket end="w"?>'
)
GPS_LAT = (48.0, 51.0, 24.12)  # 48.856700 N
GPS_LON = (2.0, 21.0, 7.5)  # 2.352083 E


@functools.cache
def srgb_icc() -> bytes:
    """A real ICC profile (littlecms' sRGB), so byte-equality of the profile is meaningful.

    Cached: littlecms stamps the creation time into the header, so two calls a second apart differ.
    """
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def make_exif(*, orientation: int = 6, gps: bool = True) -> bytes:
    """EXIF as Pillow writes it for JPEG (big-endian), with an Exif sub-IFD and optionally a GPS sub-IFD."""
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0x0110] = "X1 Field"  # Model
    exif[0x0112] = orientation
    exif[0x0131] = "field-kit 2.0"  # Software
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2024:05:01 10:20:30"  # DateTimeOriginal
    sub[0x9011] = "+02:00"  # OffsetTimeOriginal
    sub[0x927C] = b"MAKERNOTE\x00\x01\x02"
    if gps:
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[1] = "N"
        gps_ifd[2] = GPS_LAT
        gps_ifd[3] = "E"
        gps_ifd[4] = GPS_LON
    return exif.tobytes()


def rgb8(width: int, height: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def odd16(shape: tuple[int, ...], seed: int = 2) -> np.ndarray:
    """uint16 samples like 0x0101*k + 1 mixed with random values: low bytes differ from high bytes."""
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 65536, shape, dtype=np.uint32)
    values.flat[: min(values.size, 200)] = (0x0101 * np.arange(min(values.size, 200)) + 1) % 65536
    return values.astype(np.uint16)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def make_jpeg(
    path: Path,
    *,
    size: tuple[int, int] = (40, 20),
    mode: str = "RGB",
    exif: bytes | None = None,
    icc: bytes | None = None,
    xmp: bytes | None = None,
    quality: int = 95,
) -> Path:
    """A JPEG with smooth content (so it compresses like a photo) and optional EXIF, ICC and XMP."""
    width, height = size
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    rgb = np.stack([x + 0 * y, y + 0 * x, (x + y) / 2], axis=-1).astype(np.uint8)
    image = Image.fromarray(rgb)
    if mode != "RGB":
        image = image.convert(mode)
    options = {"quality": quality}
    if exif is not None:
        options["exif"] = exif
    if icc is not None:
        options["icc_profile"] = icc
    if xmp is not None:
        options["xmp"] = xmp
    image.save(path, "JPEG", **options)
    return path


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def add_png_chunks(png: bytes, chunks: list[bytes]) -> bytes:
    """Insert ready-made chunks right after IHDR (where iCCP must be, and where the others may be)."""
    ihdr_end = 8 + 8 + 13 + 4
    return png[:ihdr_end] + b"".join(chunks) + png[ihdr_end:]


def metadata_chunks(*, icc: bytes | None = None, xmp: bytes | None = None, exif: bytes | None = None) -> list[bytes]:
    chunks = []
    if icc is not None:
        chunks.append(png_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(icc)))
    if xmp is not None:
        chunks.append(png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp))
    if exif is not None:
        chunks.append(png_chunk(b"eXIf", exif.removeprefix(b"Exif\x00\x00")))
    return chunks


def make_png16(path: Path, pixels: np.ndarray, **metadata: bytes | None) -> Path:
    """A 16-bit PNG (grey, grey+alpha, RGB or RGBA by the array's channel count) written by libpng."""
    return write(path, add_png_chunks(imagecodecs.png_encode(pixels), metadata_chunks(**metadata)))


def make_png(path: Path, image: Image.Image, **options) -> Path:
    image.save(path, "PNG", **options)
    return path


def palette_png_with_trns(path: Path, size: tuple[int, int] = (30, 20)) -> Path:
    image = Image.new("P", size)
    rng = np.random.default_rng(3)
    image.putpalette(rng.integers(0, 256, 768, dtype=np.uint8).tobytes())
    image.putdata(rng.integers(0, 16, size[0] * size[1]).tolist())
    alpha = bytes([0, 64, 128, 200] + [255] * 12)
    return make_png(path, image, transparency=alpha)


def make_tiff(path: Path, pixels: np.ndarray, *, photometric: str | None = None, **options) -> Path:
    """A TIFF written by tifffile (any depth); ``xmp=`` goes to tag 700, ``icc=`` to tag 34675."""
    extratags = []
    if (xmp := options.pop("xmp", None)) is not None:
        extratags.append((700, 1, len(xmp), xmp, True))
    if photometric is None:
        photometric = "minisblack" if pixels.ndim == 2 else "rgb"
    tifffile.imwrite(
        path,
        pixels,
        photometric=photometric,
        iccprofile=options.pop("icc", None),
        extratags=extratags,
        metadata=None,
        **options,
    )
    return path


def make_webp(path: Path, image: Image.Image, **options) -> Path:
    image.save(path, "WEBP", **options)
    return path


def rgba8(width: int, height: int, seed: int = 4) -> np.ndarray:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 4), dtype=np.uint8)
    pixels[0, 0, 3] = 0
    pixels[0, 1, 3] = 255
    return pixels


def bomb_png(path: Path, width: int = 100_000, height: int = 100_000) -> Path:
    """A 60-byte PNG whose header announces ``width`` x ``height`` grey pixels (a decompression bomb)."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    return write(
        path,
        b"\x89PNG\r\n\x1a\n" + header + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + png_chunk(b"IEND", b""),
    )


def jpeg_bytes(**options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb8(64, 48)).save(buffer, "JPEG", **options)
    return buffer.getvalue()


def make_pillow_tiff(path: Path, image: Image.Image, **options) -> Path:
    """A TIFF written by Pillow's own writer, which (unlike tifffile) can embed EXIF with sub-IFDs."""
    image.save(path, "TIFF", **options)
    return path


def from_array(pixels: np.ndarray, mode: str) -> Image.Image:
    """A Pillow image of an explicit mode (Image.fromarray guesses, and cannot make "LA" or "CMYK")."""
    height, width = pixels.shape[:2]
    return Image.frombytes(mode, (width, height), np.ascontiguousarray(pixels).tobytes())


def multipage_tiff(path: Path, pages: int = 3) -> Path:
    with tifffile.TiffWriter(path) as tiff:
        for index in range(pages):
            tiff.write(rgb8(16, 12, seed=10 + index), photometric="rgb", metadata=None)
    return path


def animated(path: Path, kind: str, frames: int = 3) -> Path:
    images = [Image.fromarray(rgb8(20, 10, seed=20 + index)) for index in range(frames)]
    images[0].save(path, kind, save_all=True, append_images=images[1:], duration=100)
    return path


def exif_with_thumbnail_ifd() -> bytes:
    """A minimal big-endian EXIF block whose IFD0 (Make) links to an IFD1, as camera thumbnails do."""
    ifd0 = struct.pack(">H", 1) + struct.pack(">HHI4s", 0x010F, 2, 4, b"Cam\x00") + struct.pack(">I", 26)
    ifd1 = struct.pack(">H", 1) + struct.pack(">HHIH2x", 0x0103, 3, 1, 6) + struct.pack(">I", 0)
    return b"Exif\x00\x00" + b"MM\x00*" + struct.pack(">I", 8) + ifd0 + ifd1


def exif_with_interop_ifd() -> bytes:
    """A little-endian EXIF block with an Interoperability sub-IFD inside the Exif sub-IFD (as cameras
    write it; Pillow cannot), so the nested pointer and the other byte order are both exercised."""
    ifd0 = struct.pack("<H", 2) + struct.pack("<HHI4s", 0x010F, 2, 4, b"Cam\x00")
    ifd0 += struct.pack("<HHII", 0x8769, 4, 1, 38) + struct.pack("<I", 0)
    exif = struct.pack("<H", 2) + struct.pack("<HHII", 0x9003, 2, 20, 68) + struct.pack("<HHII", 0xA005, 4, 1, 88)
    exif += struct.pack("<I", 0) + b"2021:02:03 04:05:06\x00"
    interop = struct.pack("<H", 1) + struct.pack("<HHI4s", 0x0001, 2, 4, b"R98\x00") + struct.pack("<I", 0)
    return b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + ifd0 + exif + interop
