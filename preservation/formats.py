"""Format identification (PRONOM PUID by signature, MIME by libmagic) and the normalization policy table.

A file's *content* decides its format, never its name: only fido signature (or container) matches count,
so a text file called ``photo.jpg`` is unidentified, and its name is reported as a mismatch. The policy
table maps a PUID to a processor key (see ``preservation.processors.registry``); anything identified but
not in the table is kept as received ("no normalization policy").

fido runs in-process (one instance, created on first use, shared under a lock): its start-up costs
about 0.1-0.3 s, a match about 3-10 ms.

3D models and point clouds (:func:`sniff_3d`): fido has signatures for PLY, ASCII STL, OBJ (only with
decimal coordinates), MTL, glTF and GLB, none for binary STL, OFF, PCD, XYZ or PTS. So the archive checks
the structure of every 3D format itself (``processors/mesh_read_sniff.py``), from the first 64 KB and the
file size (binary STL: 84 + 50 x the declared triangle count == size), and gives the PRONOM PUID where
PRONOM has one (``MESH_PUIDS``) or a documented local key (``LOCAL_FORMATS``, ``puid`` ""). The format
key also follows the content: a PLY without faces is a "pointcloud", a zip holding a model is a "mesh" (its
processor opens it safely), an MTL file or a glTF 1.0 file is kept as received (format key None).
"""

from __future__ import annotations

import contextlib
import io
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import fido
import magic
from fido.versions import get_local_versions

from preservation.processors import mesh_header as mh
from preservation.processors.mesh_read_sniff import Sniffed3D
from preservation.processors.mesh_read_sniff import sniff_3d as _sniff_3d

__all__ = [
    "AGENT",
    "FIDO_VERSION",
    "IMAGE_PUIDS",
    "LOCAL_FORMATS",
    "MESH_PUIDS",
    "POLICY",
    "PRONOM_VERSION",
    "Identification",
    "identify",
    "sniff_3d",
]

FIDO_VERSION: str = fido.__version__
_VERSIONS = get_local_versions(fido.CONFIG_DIR)
PRONOM_VERSION: str = str(_VERSIONS.pronom_version)


def _libmagic_version() -> str:
    number = magic.version()  # e.g. 544 for 5.44
    return f"{number // 100}.{number % 100:02d}"


AGENT: str = f"fido {FIDO_VERSION} (PRONOM signatures v{PRONOM_VERSION}); libmagic {_libmagic_version()}"

# PRONOM PUIDs of the image family, checked against fido's formats-v109.xml. The TIFF version PUIDs
# fmt/7-fmt/10 carry no signature there (fido reports fmt/353); they are listed for newer signature files.
# Deliberately absent: TIFF/EP (fmt/154), DNG (fmt/152, fmt/730) and other camera raw formats: their
# first image is usually a small preview or undemosaiced sensor data, so they wait for a raw processor.
JPEG_PUIDS = {
    "fmt/41": "JPEG",  # raw JPEG stream (no JFIF/Exif header: e.g. Adobe CMYK JPEGs)
    "fmt/42": "JPEG",  # JFIF 1.00
    "fmt/43": "JPEG",  # JFIF 1.01
    "fmt/44": "JPEG",  # JFIF 1.02
    "fmt/112": "JPEG",  # SPIFF
    "x-fmt/398": "JPEG",  # Exif compressed 2.0
    "x-fmt/390": "JPEG",  # Exif compressed 2.1
    "x-fmt/391": "JPEG",  # Exif compressed 2.2
    "fmt/645": "JPEG",  # Exif compressed 2.2.1
    "fmt/1507": "JPEG",  # Exif compressed 2.3.x
}
PNG_PUIDS = {
    "fmt/11": "PNG",  # 1.0
    "fmt/12": "PNG",  # 1.1
    "fmt/13": "PNG",  # 1.2
    "fmt/935": "PNG",  # APNG: the default image (first frame) is normalized
}
TIFF_PUIDS = {
    "fmt/353": "TIFF",  # generic TIFF
    "fmt/7": "TIFF",  # TIFF 3
    "fmt/8": "TIFF",  # TIFF 4
    "fmt/9": "TIFF",  # TIFF 5
    "fmt/10": "TIFF",  # TIFF 6
    "x-fmt/399": "TIFF",  # Exif uncompressed 2.0
    "x-fmt/388": "TIFF",  # Exif uncompressed 2.1
    "x-fmt/387": "TIFF",  # Exif uncompressed 2.2
    "fmt/155": "TIFF",  # GeoTIFF
}
WEBP_PUIDS = {
    "fmt/566": "WebP",  # lossy (VP8)
    "fmt/567": "WebP",  # lossless (VP8L)
    "fmt/568": "WebP",  # extended (VP8X: alpha, ICC, EXIF, XMP, animation)
}
IMAGE_PUIDS: dict[str, str] = {**JPEG_PUIDS, **PNG_PUIDS, **TIFF_PUIDS, **WEBP_PUIDS}

# 3D PUIDs, checked against fido's formats-v109.xml. Deliberately absent: glTF 1.0 (fmt/1314: trimesh reads
# glTF 2.0 only), E57 (fmt/643) and LAS (fmt/368-370): identified by fido, kept as received until a reader
# exists (pye57, laspy); MTL (fmt/1211) is a companion file, identified but kept as received.
MESH_PUIDS = {
    "fmt/831": "PLY",  # Polygon File Format (ASCII and binary; fido signature)
    "x-fmt/108": "STL",  # STL ASCII (fido signature needs "solid " + "facet normal"; the archive's check is looser)
    "fmt/865": "STL",  # STL Binary: PRONOM has no signature; the archive's size check identifies it
    "fmt/1210": "OBJ",  # Wavefront OBJ (fido's signature needs decimal points; the archive's check does not)
    "fmt/1315": "glTF",  # glTF 2.0, JSON
    "fmt/1316": "glTF",  # GLB (binary glTF 2.0)
}


@dataclass(frozen=True)
class LocalFormat:
    """A format PRONOM has no PUID for: the archive's own key, name, processor key and how it is recognised."""

    key: str
    name: str
    format_key: str | None
    recognised_by: str


# Local format keys (``Identification.local_key``; ``puid`` is ""). Each is recognised from content only.
LOCAL_FORMATS: dict[str, LocalFormat] = {
    f.key: f
    for f in (
        LocalFormat(
            "local/off",
            "Object File Format (OFF)",
            "mesh",
            "first word OFF, COFF, NOFF, STOFF ... (comments skipped), then integer counts",
        ),
        LocalFormat(
            "local/pcd",
            "Point Cloud Data (PCD)",
            "pointcloud",
            "a '# .PCD' comment or a VERSION line, with FIELDS and DATA lines (Point Cloud Library format)",
        ),
        LocalFormat(
            "local/xyz",
            "XYZ point cloud (text)",
            "pointcloud",
            "every line 3 to 16 numbers, whitespace or comma separated, the same count on each line",
        ),
        LocalFormat(
            "local/pts",
            "PTS point cloud (text, with point count)",
            "pointcloud",
            "a first line holding one integer (the point count), then XYZ lines",
        ),
        LocalFormat(
            "local/glb1",
            "Binary glTF 1.0 (KHR_binary_glTF)",
            None,
            "'glTF' magic with version 1; kept as received (no reader for glTF 1.0)",
        ),
    )
}

# PUID (or local key) -> processor key. One line per new format family. For 3D, identify() refines the
# key from the content: a PLY without faces is "pointcloud"; a zip (x-fmt/263) holding a model is "mesh".
POLICY: dict[str, str] = dict.fromkeys(IMAGE_PUIDS, "image")
POLICY |= dict.fromkeys(MESH_PUIDS, "mesh")
POLICY |= {key: f.format_key for key, f in LOCAL_FORMATS.items() if f.format_key}

# Used only when fido has no signature match: libmagic recognises these from content too (for instance
# a truncated JPEG, which fails fido's end-of-file marker pattern, so that it reaches the image
# processor and is refused there with a precise message rather than "unidentified").
_MIME_FAMILY = {"image/jpeg": "JPEG", "image/png": "PNG", "image/tiff": "TIFF", "image/webp": "WebP"}
_MIME_POLICY = dict.fromkeys(_MIME_FAMILY, "image")
_CANONICAL_MIME = {family: mime for mime, family in _MIME_FAMILY.items()}

# Suffix -> (family, what the name claims). A name claiming a family the content does not confirm is flagged.
_EXTENSION_CLAIMS = {
    ".jpg": ("JPEG", "JPEG image"),
    ".jpeg": ("JPEG", "JPEG image"),
    ".png": ("PNG", "PNG image"),
    ".tif": ("TIFF", "TIFF image"),
    ".tiff": ("TIFF", "TIFF image"),
    ".webp": ("WebP", "WebP image"),
    ".ply": ("PLY", "PLY 3D model"),
    ".stl": ("STL", "STL 3D model"),
    ".obj": ("OBJ", "OBJ 3D model"),
    ".mtl": ("MTL", "OBJ material library"),
    ".off": ("OFF", "OFF 3D model"),
    ".gltf": ("glTF", "glTF 3D model"),
    ".glb": ("glTF", "GLB 3D model"),
    ".pcd": ("PCD", "PCD point cloud"),
    ".xyz": ("XYZ", "XYZ point cloud"),
    ".pts": ("XYZ", "PTS point cloud"),
}


@dataclass(frozen=True)
class Identification:
    """What a file is, by content. ``format_key`` None means no normalization policy (or unidentified)."""

    puid: str | None
    format_name: str | None
    mime: str | None
    format_key: str | None
    by_signature: bool  # fido matched a byte signature (or container signature), or the archive's 3D check did
    extension_mismatch: str | None  # the name claims a type the content does not confirm
    agent: str
    local_key: str | None = None  # a LOCAL_FORMATS key when PRONOM has no PUID (puid is then "")
    matched_by: str | None = None  # "fido", "archive" (sniff_3d's structural check) or None
    model_format: str | None = None  # mesh_header format id ("ply", "stl-binary", "zip" ...) for 3D content

    @property
    def identified(self) -> bool:
        return self.puid is not None


@dataclass(frozen=True)
class _Match:
    puid: str
    name: str
    version: str
    mime: str | None
    match_type: str  # "signature" or "container"


class _Fido:
    """One fido instance, loaded on first use; fido keeps per-file state, so calls are serialised."""

    _lock = threading.Lock()
    _instance: fido.fido.Fido | None = None
    _matches: list[_Match]

    def identify(self, path: Path) -> list[_Match]:
        with self._lock:
            self._matches = []
            sink = io.StringIO()  # fido writes CSV lines and notes to stdout/stderr
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                self._load().identify_file(str(path), extension=False)
            return self._matches

    def _load(self) -> fido.fido.Fido:
        if self._instance is None:
            from fido.fido import Fido

            self._instance = Fido(
                quiet=True,
                handle_matches=self._handle,
                format_files=[_VERSIONS.pronom_signature, _VERSIONS.fido_extension_signature],
            )
        return self._instance

    def _handle(self, filename, matches, delta_t, matchtype="") -> None:
        if matchtype not in ("signature", "container"):
            return  # extension matches are ignored on purpose (and disabled anyway)
        for format_element, _signature_name in matches:
            self._matches.append(
                _Match(
                    puid=format_element.findtext("puid") or "",
                    name=(format_element.findtext("name") or "").strip(),
                    version=(format_element.findtext("version") or "").strip(),
                    mime=format_element.findtext("mime"),
                    match_type=matchtype,
                )
            )


_FIDO = _Fido()


def identify(path: Path, original_name: str) -> Identification:
    """Identify ``path`` by its bytes; ``original_name`` is only compared with the result.

    Raises OSError if the file cannot be read.
    """
    path = Path(path)
    with path.open("rb"):
        pass  # fail loudly on a missing or unreadable file: fido would only print a note
    mime = magic.from_file(str(path), mime=True)
    matches = _FIDO.identify(path)
    best = _choose(matches)
    sniffed = sniff_3d(path, original_name)
    if sniffed is not None and not (best is not None and best.puid in IMAGE_PUIDS):
        return _identified_3d(sniffed, matches, mime, original_name)
    if best is not None:
        puid = best.puid
        format_name = best.name if best.version in best.name else f"{best.name} {best.version}".strip()
        format_key = POLICY.get(puid)
        family = IMAGE_PUIDS.get(puid)
        if mime in (None, "", "application/octet-stream") and family:
            mime = best.mime or _CANONICAL_MIME[family]  # fido has no MIME for WebP; libmagic may lack one
        elif not mime:
            mime = best.mime
    else:
        puid = None
        format_name = None
        format_key = _MIME_POLICY.get(mime)
        family = _MIME_FAMILY.get(mime)
    return Identification(
        puid=puid,
        format_name=format_name,
        mime=mime or None,
        format_key=format_key,
        by_signature=best is not None,
        extension_mismatch=_extension_mismatch(original_name, family, format_name, puid, mime),
        agent=AGENT,
        matched_by="fido" if best is not None else None,
    )


def _choose(matches: list[_Match]) -> _Match | None:
    """fido already drops matches outranked by a more specific one; prefer one our policy knows."""
    for match in matches:
        if match.puid in POLICY:
            return match
    return matches[0] if matches else None


def _extension_mismatch(
    original_name: str, family: str | None, format_name: str | None, puid: str | None, mime: str | None
) -> str | None:
    claim = _EXTENSION_CLAIMS.get(Path(original_name).suffix.lower())
    if claim is None or claim[0] == family:
        return None
    claimed, described = claim
    suffix = Path(original_name).suffix
    if family is not None:
        found = f"{family} ({format_name}, {puid})" if puid else f"{family} (libmagic: {mime})"
        return f"the name ends in {suffix} ({described}) but the content is {found}"
    if puid:
        found = f"{format_name} ({puid}), not an image" if described.endswith("image") else f"{format_name} ({puid})"
        return f"the name ends in {suffix} ({described}) but the content is {found}"
    what = "empty" if mime == "inode/x-empty" else f"not a recognised format (libmagic: {mime or 'unknown'})"
    return f"the name ends in {suffix} ({described}) but the content is {what}"


# ------------------------------------------------------------------------------------------------------ 3D

_MESH_MIME = {
    mh.STL_ASCII: "model/stl",
    mh.STL_BINARY: "model/stl",
    mh.OBJ: "model/obj",
    mh.MTL: "model/mtl",
    mh.GLTF: "model/gltf+json",
    mh.GLB: "model/gltf-binary",
    mh.ZIP: "application/zip",
}
_FAMILY_3D = {
    mh.PLY: "PLY",
    mh.STL_ASCII: "STL",
    mh.STL_BINARY: "STL",
    mh.OBJ: "OBJ",
    mh.MTL: "MTL",
    mh.OFF: "OFF",
    mh.GLTF: "glTF",
    mh.GLB: "glTF",
    mh.PCD: "PCD",
    mh.XYZ: "XYZ",
    mh.PTS: "XYZ",
    mh.ZIP: "ZIP",
}


def sniff_3d(path: Path, original_name: str = "") -> Sniffed3D | None:
    """The 3D format of ``path`` from its content (see ``mesh_read_sniff``), local keys resolved; else None."""
    sniffed = _sniff_3d(path, original_name)
    if sniffed is None or not sniffed.local_key:
        return sniffed
    local = LOCAL_FORMATS[sniffed.local_key]
    return replace(sniffed, format_key=local.format_key, format_name=local.name)


def _identified_3d(sniffed: Sniffed3D, matches: list[_Match], mime: str | None, original_name: str) -> Identification:
    fido_agrees = bool(sniffed.puid) and any(m.puid == sniffed.puid for m in matches)
    if mime in (None, "", "application/octet-stream", "text/plain", "application/json") or sniffed.fmt in _MESH_MIME:
        mime = _MESH_MIME.get(sniffed.fmt, mime)
    family = _FAMILY_3D[sniffed.fmt]
    shown_puid = sniffed.puid or sniffed.local_key
    return Identification(
        puid=sniffed.puid,
        format_name=sniffed.format_name,
        mime=mime or None,
        format_key=sniffed.format_key,
        by_signature=fido_agrees or sniffed.certain,
        extension_mismatch=_extension_mismatch(original_name, family, sniffed.format_name, shown_puid, mime),
        agent=AGENT,
        local_key=sniffed.local_key,
        matched_by="fido" if fido_agrees else ("archive" if sniffed.certain else None),
        model_format=sniffed.fmt,
    )
