"""Property-based fuzzing of the doors hostile bytes come through: image identification and validation,
3D header checks and readers, the CSV importer, file names.

The property is the same everywhere: whatever the input, the code answers with our typed refusal
(``ProcessingError(permanent=True)`` with a message naming the file, or a reported CSV row error), or
accepts it; it never raises anything else and never runs without end (``cpu_budget``). Inputs are random
bytes, valid small files with mutated headers and bodies, and structured documents with absurd values.

Profiles (``tests/fuzz/conftest.py``): ``ci`` by default (bounded, derandomized), ``long`` with
``HYPOTHESIS_PROFILE=long``. Every crash found becomes a fix plus an ``@example`` here.
"""

from __future__ import annotations

import csv
import functools
import io
import shutil
import struct
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from archive.curation.csv_io import (
    FORMULA_TRIGGERS,
    KNOWN_COLUMNS,
    PLAIN_NUMBER_RE,
    import_csv,
    neutralize,
    unneutralize,
)
from archive.filenames import (
    BIDI_CONTROLS,
    MAX_NAME_BYTES,
    MAX_NAME_LENGTH,
    display_name,
    hostile_filename_reason,
    sanitize_filename,
)
from preservation import formats
from preservation.processors.base import Limits, ProcessingError
from preservation.processors.image import ImageProcessor
from preservation.processors.mesh_header import MeshLimits
from preservation.processors.mesh_io import read_mesh
from tests.fuzz.conftest import FUZZ, cpu_budget
from tests.hostile import corpus

# Small limits keep every example cheap; the checks are the same code at any limit.
IMAGE_LIMITS = Limits(max_pixels=4_000_000, max_dimension=8192, max_bytes=16 * 1024**2)
MESH_LIMITS = MeshLimits(
    max_bytes=16 * 1024**2,
    max_vertices=20_000,
    max_faces=20_000,
    max_points=20_000,
    max_header_bytes=64 * 1024,
    max_json_bytes=1024**2,
    max_zip_members=50,
    max_zip_bytes=4 * 1024**2,
    max_textures=4,
    max_texture_pixels=4_000_000,
)
INTERESTING_INTS = [0, 1, 2, 3, 255, 256, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


# ------------------------------------------------------------------------------------------- mutation


@st.composite
def mutated(draw, seed: bytes, focus: int = 512) -> bytes:
    """``seed`` with 1-8 edits (bit flips, byte sets, inserts, deletes, a cut, an absurd integer), mostly
    within its first ``focus`` bytes, where headers, counts and offsets live."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        end = len(data) if draw(st.integers(0, 4)) == 0 else min(len(data), focus)
        at = draw(st.integers(0, end - 1))
        operation = draw(st.sampled_from(["flip", "set", "insert", "delete", "cut", "integer"]))
        if operation == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif operation == "set":
            data[at] = draw(st.integers(0, 255))
        elif operation == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        elif operation == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif operation == "cut":
            del data[at:]
        else:
            layout = draw(st.sampled_from(["<H", ">H", "<I", ">I"]))
            value = draw(st.sampled_from(INTERESTING_INTS)) & (0xFFFF if layout.endswith("H") else 0xFFFFFFFF)
            if at + struct.calcsize(layout) <= len(data):
                struct.pack_into(layout, data, at, value)
    return bytes(data)


# ---------------------------------------------------------------------------------------------- images


@functools.cache
def image_seeds() -> dict[str, bytes]:
    """Valid small images of each family, with EXIF, ICC and XMP where the format carries them."""
    from PIL import Image

    from tests.preservation import imagegen

    pixels = np.random.default_rng(5).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    picture = Image.fromarray(pixels)
    exif = imagegen.make_exif(orientation=6)
    seeds = {"seed.jpg": corpus.small_jpeg((16, 12), exif=exif, icc_profile=imagegen.srgb_icc())}
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", exif=exif)
    seeds["seed.png"] = buffer.getvalue()
    buffer = io.BytesIO()
    picture.save(buffer, "TIFF", exif=exif, tiffinfo={700: imagegen.XMP})
    seeds["seed.tif"] = buffer.getvalue()
    buffer = io.BytesIO()
    picture.save(buffer, "WEBP", lossless=True, exif=exif)
    seeds["seed.webp"] = buffer.getvalue()
    seeds["seed16.png"] = imagecodecs_png16()
    return seeds


def imagecodecs_png16() -> bytes:
    import imagecodecs

    return imagecodecs.png_encode(np.random.default_rng(6).integers(0, 65536, (6, 8, 3), dtype=np.uint16))


def check_image(data: bytes, name: str, folder: Path) -> None:
    """Identify and process ``data`` as an upload called ``name``: a permanent refusal or a result, nothing else."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    work = folder / "work"
    try:
        with cpu_budget():
            identification = formats.identify(path, name)
            assert identification.agent
            result = ImageProcessor().process(path, work, IMAGE_LIMITS)
        assert result.derivatives and result.technical["width"] > 0
    except ProcessingError as error:
        assert error.permanent, error.message
        assert error.message.startswith(f"{name}: ") and "Traceback" not in error.message, error.message
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.parametrize("seed", ["seed.jpg", "seed.png", "seed.tif", "seed.webp", "seed16.png"])
@FUZZ
@given(data=st.data())
def test_mutated_images_are_processed_or_refused_never_crash(tmp_path, seed, data):
    original = image_seeds()[seed]
    check_image(data.draw(mutated(original), label="bytes"), seed.replace("seed", "mutated"), tmp_path)


@FUZZ
@given(
    prefix=st.sampled_from(
        [b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*", b"RIFF\x00\x00\x00\x00WEBP"]
    ),
    body=st.binary(min_size=0, max_size=600),
    name=st.sampled_from(["random.jpg", "random.png", "random.tif", "random.webp", "random.bin"]),
)
@example(prefix=b"II*\x00", body=bytes(4096), name="random.tif")  # no IFD at all: was "cannot be decoded (0)"
def test_random_bytes_behind_an_image_signature_are_refused_cleanly(tmp_path, prefix, body, name):
    check_image(prefix + body, name, tmp_path)


def test_the_corpus_images_are_processed_or_refused_never_crash(tmp_path):
    """The hand-made hostile images, through the same check as the fuzzed ones (fast, no pipeline)."""
    for case in corpus.IMAGES:
        name, data = case()
        if data:
            check_image(data, name, tmp_path / case.__name__)


# ---------------------------------------------------------------------------------------------- meshes


def check_mesh(data: bytes, name: str, folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    work = folder / "work"
    try:
        with cpu_budget():
            formats.sniff_3d(path, name)
            mesh = read_mesh(path, work, MESH_LIMITS, original_name=name)
        assert len(mesh.vertices) > 0 and np.isfinite(mesh.vertices).all()
        if mesh.faces is not None:
            assert mesh.faces.min() >= 0 and mesh.faces.max() < len(mesh.vertices)
    except ProcessingError as error:
        assert error.permanent, error.message
        assert error.message.startswith(f"{name}") and "Traceback" not in error.message, error.message
    finally:
        shutil.rmtree(work, ignore_errors=True)


@functools.cache
def mesh_seeds() -> dict[str, bytes]:
    from tests.preservation import meshgen

    cube = meshgen.quad_cube()
    folder = Path(__import__("tempfile").mkdtemp(prefix="fuzz-seeds-"))
    try:
        seeds = {}
        for name, encoding in (("seed.ply", "binary_little_endian"), ("seed-ascii.ply", "ascii")):
            path = meshgen.write_ply(
                folder / name,
                cube["vertices"],
                cube["faces"],
                encoding=encoding,
                colours=cube["colours"],
                uv=cube["uv"],
            )
            seeds[name] = path.read_bytes()
        triangles = cube["vertices"][np.array([[0, 1, 2], [0, 2, 3], [4, 5, 6]])]
        seeds["seed.stl"] = meshgen.write_stl_binary(folder / "b.stl", triangles).read_bytes()
        seeds["seed-ascii.stl"] = meshgen.write_stl_ascii(folder / "a.stl", triangles).read_bytes()
        seeds["seed.off"] = meshgen.write_off(folder / "m.off", cube["vertices"], cube["faces"]).read_bytes()
        seeds["seed.obj"] = meshgen.write_textured_obj(folder / "obj").read_bytes()
        seeds["seed.zip"] = meshgen.zip_folder(folder / "obj", folder / "scan.zip", prefix="scan/").read_bytes()
        seeds["seed.pcd"] = meshgen.write_pcd(folder / "p.pcd", meshgen.cloud(20)).read_bytes()
        seeds["seed.glb"] = _glb_seed()
        return seeds
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _glb_seed() -> bytes:
    import trimesh

    return trimesh.creation.box().export(file_type="glb")


@pytest.mark.parametrize(
    "seed",
    [
        "seed.ply",
        "seed-ascii.ply",
        "seed.stl",
        "seed-ascii.stl",
        "seed.off",
        "seed.obj",
        "seed.pcd",
        "seed.glb",
        "seed.zip",
    ],
)
@FUZZ
@given(data=st.data())
def test_mutated_3d_files_are_read_or_refused_never_crash(tmp_path, seed, data):
    original = mesh_seeds()[seed]
    check_mesh(data.draw(mutated(original, focus=400), label="bytes"), seed.replace("seed", "mutated"), tmp_path)


NUMBERS = st.sampled_from(
    [
        "0",
        "1",
        "-1",
        "0.5",
        "1e38",
        "1e39",
        "-1e400",
        "nan",
        "inf",
        "-inf",
        "NaN",
        "3",
        "2147483648",
        "99999999999999999999",
        "",
        "x",
        "1.2.3",
    ]
)
PLY_TYPES = st.sampled_from(["float", "double", "uchar", "int", "uint", "short", "char", "int8", "float64", "bogus"])


@st.composite
def ply_documents(draw) -> bytes:
    """A PLY header with absurd counts and property types, and a body that may or may not match it."""
    encoding = draw(st.sampled_from(["ascii", "binary_little_endian", "binary_big_endian"]))
    lines = ["ply", f"format {encoding} 1.0"]
    vertices = draw(st.sampled_from([0, 1, 3, 4, 2**31 - 1, 2**32, 2 * 10**9, -1]))
    lines.append(f"element vertex {vertices}")
    for axis in draw(st.lists(st.sampled_from(["x", "y", "z", "red", "nx", "s", "intensity"]), min_size=0, max_size=6)):
        lines.append(f"property {draw(PLY_TYPES)} {axis}")
    if draw(st.booleans()):
        lines.append(f"element face {draw(st.sampled_from([0, 1, 2, 10**9, -5]))}")
        count, item = draw(PLY_TYPES), draw(PLY_TYPES)
        lines.append(
            f"property list {count} {item} {draw(st.sampled_from(['vertex_indices', 'vertex_index', 'texcoord']))}"
        )
    lines.append("end_header")
    header = ("\n".join(lines) + "\n").encode()
    if encoding == "ascii":
        rows = draw(st.lists(st.lists(NUMBERS, max_size=8), max_size=12))
        return header + "\n".join(" ".join(row) for row in rows).encode()
    return header + draw(st.binary(max_size=400))


@FUZZ
@given(document=ply_documents())
def test_ply_headers_with_absurd_counts_and_types_are_refused_cleanly(tmp_path, document):
    check_mesh(document, "generated.ply", tmp_path)


OBJ_LINES = st.one_of(
    st.tuples(st.just("v"), st.lists(NUMBERS, min_size=0, max_size=7)),
    st.tuples(st.just("vt"), st.lists(NUMBERS, max_size=3)),
    st.tuples(st.just("vn"), st.lists(NUMBERS, max_size=4)),
    st.tuples(
        st.just("f"),
        st.lists(
            st.sampled_from(
                ["1", "2", "3", "-1", "0", "4", "99999999999999999999", "1/1", "2//2", "3/3/3", "1/x", "-9"]
            ),
            max_size=6,
        ),
    ),
    st.tuples(
        st.sampled_from(["mtllib", "usemtl", "o", "g", "s", "l", "p", "#"]), st.lists(st.text(max_size=8), max_size=2)
    ),
)


@FUZZ
@given(lines=st.lists(OBJ_LINES, min_size=1, max_size=20))
@example(lines=[("v", ["0", "0", "0"]), ("f", ["1", "1", "99999999999999999999"]), ("f", ["1"])])  # OverflowError
def test_obj_files_built_from_random_statements_are_read_or_refused_cleanly(tmp_path, lines):
    text = "\n".join(" ".join([keyword, *values]) for keyword, values in lines) + "\n"
    check_mesh(text.encode("utf-8", "surrogatepass"), "generated.obj", tmp_path)


@FUZZ
@given(
    keyword=st.sampled_from(["OFF", "COFF", "NOFF", "STOFF", "4OFF", "nOFF"]),
    counts=st.lists(NUMBERS, min_size=0, max_size=4),
    rows=st.lists(st.lists(NUMBERS, max_size=8), max_size=10),
)
def test_off_files_with_random_counts_and_rows_are_read_or_refused_cleanly(tmp_path, keyword, counts, rows):
    text = "\n".join([keyword, " ".join(counts), *(" ".join(row) for row in rows)]) + "\n"
    check_mesh(text.encode(), "generated.off", tmp_path)


@FUZZ
@given(count=st.sampled_from(INTERESTING_INTS + [4, 5]), triangles=st.integers(0, 6), extra=st.integers(-30, 30))
def test_binary_stl_whose_count_and_size_disagree_is_refused_cleanly(tmp_path, count, triangles, extra):
    records = (
        np.random.default_rng(triangles).normal(size=(triangles, 50 // 4)).astype("<f4").tobytes()[: 50 * triangles]
    )
    body = (records + bytes(max(0, extra)))[: max(0, len(records) + extra)]
    check_mesh(b"binary".ljust(80, b" ") + struct.pack("<I", count) + body, "generated.stl", tmp_path)


def test_the_corpus_meshes_are_read_or_refused_never_crash(tmp_path):
    for case in [*corpus.MESHES, *corpus.ARCHIVES]:
        name, data = case()
        check_mesh(data, name, tmp_path / case.__name__)


# ------------------------------------------------------------------------------------------------ CSV

COLUMNS = sorted(KNOWN_COLUMNS) + ["title:en", "description:en", "title:ar", "description:ar", "title:", "title:x!"]
CELLS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        corpus.CSV_FORMULAS
        + corpus.XSS_PAYLOADS
        + corpus.HOSTILE_URLS
        + ["", "true", "maybe", "-883", "99999999999999999999", "2024-02-30", "1e400", "nan", "4", "9", "public"]
        + [
            "restricted",
            "riverside-photos",
            "hilltop",
            "tk-attribution; nope",
            "ABCDEFGHJK",
            "\x00",
            "\ufeff",
            "é" * 600,
        ]
        + ["http://rightsstatements.org/vocab/InC/1.0/", "-91", "181", "0", "conflict", "'", "''=x", "\r\n", '"']
    ),
)


@st.composite
def csv_files(draw) -> bytes:
    header = draw(st.lists(st.sampled_from(COLUMNS) | st.text(max_size=10), min_size=1, max_size=8))
    rows = draw(st.lists(st.lists(CELLS, max_size=len(header) + 2), max_size=6))
    buffer = io.StringIO(newline="")
    writer = csv.writer(
        buffer,
        delimiter=draw(st.sampled_from([",", ",", ";", "\t"])),
        lineterminator=draw(st.sampled_from(["\r\n", "\n", "\r"])),
    )
    writer.writerows([header, *rows])
    text = buffer.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252", "raw"]))
    if encoding == "raw":
        return draw(st.binary(max_size=300))
    return text.encode(encoding, errors="replace")


def check_csv(data: bytes | str, user) -> None:
    with cpu_budget():
        report = import_csv(data, user=user, default_collection="riverside-photos", dry_run=True)
    for error in report.errors:
        assert error.line is None or (isinstance(error.line, int) and error.line >= 1)
        assert isinstance(error.column, str) and isinstance(error.message, str) and error.message.strip()
        assert "Traceback" not in error.message
    if not report.refused:
        assert report.created + report.updated + report.unchanged + report.failed == report.rows, report


@FUZZ
@given(data=csv_files())
@example(data=b"\xff\xfe\x00")  # a UTF-16 byte order mark, then nothing
@example(data=b"title:en,description:en,culture\nx,,\x00")
@example(data=b'reference,"title:en",description:en\n"unclosed,x,y\n')
def test_random_csv_files_give_row_errors_never_an_exception(personas, data):
    from archive.models import HeritageObject

    before = HeritageObject.objects.count()
    check_csv(data, personas.curator)
    assert HeritageObject.objects.count() == before  # dry run: nothing written


@FUZZ
@given(data=st.data())
def test_a_mutated_export_gives_row_errors_never_an_exception(personas, data):
    from archive.curation.csv_io import export_csv
    from archive.models import HeritageObject
    from tests.factories import make_object

    if not HeritageObject.objects.exists():
        make_object(personas.collection, "Carved door", culture="Riverside", keywords=["wood"], year_start=-883)
    exported = export_csv(HeritageObject.objects.all()).encode("utf-8")
    check_csv(data.draw(mutated(exported, focus=len(exported)), label="bytes"), personas.curator)


@FUZZ
@given(text=st.text(max_size=60) | st.sampled_from(corpus.CSV_FORMULAS))
def test_neutralised_cells_never_start_a_formula_and_always_come_back(text):
    cell = neutralize(text)
    assert unneutralize(cell) == text
    assert cell[:1] not in FORMULA_TRIGGERS or PLAIN_NUMBER_RE.match(text)


# ---------------------------------------------------------------------------------------------- names


@FUZZ
@given(name=st.text(max_size=400) | st.sampled_from([*corpus.HOSTILE_NAMES.values(), *corpus.ODD_NAMES.values()]))
@example(name="ص" * 240 + ".jpg")  # 480 bytes of UTF-8: "File name too long" before the byte limit
@example(name="invoice\u202egpj.exe")
def test_any_name_becomes_a_safe_file_name_and_a_printable_message(name):
    reason = hostile_filename_reason(name)
    assert reason is None or isinstance(reason, str)
    safe = sanitize_filename(name)
    assert safe and safe not in (".", "..") and not set(safe) & set("/\\\x00")
    assert len(safe) <= MAX_NAME_LENGTH and len(safe.encode("utf-8")) <= MAX_NAME_BYTES
    assert not any(unicodedata.category(ch)[0] == "C" for ch in safe)
    shown = display_name(name)
    assert not any(unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS for ch in shown)
