"""Format identification (PRONOM PUID by signature, MIME by libmagic) and the normalization policy table.

A file's *content* decides its format, never its name: only fido signature (or container) matches count,
so a text file called ``photo.jpg`` is unidentified, and its name is reported as a mismatch. The policy
table maps a PUID to a processor key (see ``preservation.processors.registry``); anything identified but
not in the table is kept as received ("no normalization policy").

fido runs in-process (one instance, created on first use, shared under a lock): its start-up costs
about 0.1-0.3 s, a match about 3-10 ms.
"""

from __future__ import annotations

import contextlib
import io
import threading
from dataclasses import dataclass
from pathlib import Path

import fido
import magic
from fido.versions import get_local_versions

__all__ = [
    "AGENT",
    "FIDO_VERSION",
    "IMAGE_PUIDS",
    "POLICY",
    "PRONOM_VERSION",
    "Identification",
    "identify",
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

# PUID -> processor key. One line per new format family.
POLICY: dict[str, str] = dict.fromkeys(IMAGE_PUIDS, "image")

# Used only when fido has no signature match: libmagic recognises these from content too (for instance
# a truncated JPEG, which fails fido's end-of-file marker pattern, so that it reaches the image
# processor and is refused there with a precise message rather than "unidentified").
_MIME_FAMILY = {"image/jpeg": "JPEG", "image/png": "PNG", "image/tiff": "TIFF", "image/webp": "WebP"}
_MIME_POLICY = dict.fromkeys(_MIME_FAMILY, "image")
_CANONICAL_MIME = {family: mime for mime, family in _MIME_FAMILY.items()}

_EXTENSION_FAMILY = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WebP",
}


@dataclass(frozen=True)
class Identification:
    """What a file is, by content. ``format_key`` None means no normalization policy (or unidentified)."""

    puid: str | None
    format_name: str | None
    mime: str | None
    format_key: str | None
    by_signature: bool  # fido matched a byte signature (or a container signature)
    extension_mismatch: str | None  # the name claims an image type the content does not confirm
    agent: str

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
    claimed = _EXTENSION_FAMILY.get(Path(original_name).suffix.lower())
    if claimed is None or claimed == family:
        return None
    suffix = Path(original_name).suffix
    if family is not None:
        found = f"{family} ({format_name}, {puid})" if puid else f"{family} (libmagic: {mime})"
        return f"the name ends in {suffix} ({claimed} image) but the content is {found}"
    if puid:
        found = f"{format_name} ({puid}), not an image"
        return f"the name ends in {suffix} ({claimed} image) but the content is {found}"
    what = "empty" if mime == "inode/x-empty" else f"not a recognised format (libmagic: {mime or 'unknown'})"
    return f"the name ends in {suffix} ({claimed} image) but the content is {what}"
