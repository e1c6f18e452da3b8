"""Filenames from the outside world: what is refused, and the safe form we store and serve."""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_LENGTH = 150
# A file system allows 255 bytes per name (ext4, XFS, APFS); 150 Arabic or CJK characters take 300-450 bytes
# in UTF-8. The stored name stays under 200 bytes so that prefixes ("thumbnail-", "-preview.glb") still fit.
MAX_NAME_BYTES = 200
_UNSAFE_CHARS = re.compile(r"[^\w.\-+() ]", re.UNICODE)
# PostgreSQL text cannot hold NUL: a received name keeps a visible stand-in instead (see storable_name).
NUL_STAND_IN = "\u2400"  # SYMBOL FOR NULL
# Bidirectional embeddings, overrides and isolates: invisible, they reorder what a reader sees, so that
# "invoice\u202egpj.exe" shows as "invoiceexe.jpg". The marks (U+200E, U+200F, U+061C) stay allowed.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def storable_name(name: str) -> str:
    """``name`` as the catalogue can store it: NUL replaced by a visible stand-in (U+2400), nothing else
    changed, so that :func:`hostile_filename_reason` still sees and reports it."""
    return name.replace("\x00", NUL_STAND_IN)


def display_name(name: str) -> str:
    """``name`` for messages and logs: control and bidirectional-override characters shown as escapes
    (``\\x0a``, ``\\u202e``), so that a name can neither break a line nor reverse the text after it."""
    return "".join(
        (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        if ch in BIDI_CONTROLS or unicodedata.category(ch) == "Cc"
        else ch
        for ch in name
    )


def hostile_filename_reason(name: str) -> str | None:
    """Why a client-supplied name is hostile (path traversal, control characters, absurd length), or None.

    Such files are not silently renamed: they go to quarantine with this reason, because a client that
    sends them is broken or probing, and a curator should see it.
    """
    if not name or not name.strip():
        return "the file has no name"
    if NUL_STAND_IN in name or any(unicodedata.category(ch) == "Cc" for ch in name):
        return "its name contains control characters"
    bidi = sorted({f"U+{ord(ch):04X}" for ch in name if ch in BIDI_CONTROLS})
    if bidi:
        return (
            f"its name contains invisible right-to-left/left-to-right override characters ({', '.join(bidi)}), "
            "which can disguise the real extension"
        )
    parts = re.split(r"[/\\]", name)
    if ".." in parts:
        return f"its name {name[:80]!r} tries to climb out of its folder ('..')"
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[/\\]", name):
        return f"its name {name[:80]!r} is an absolute path"
    if len(name) > 255:
        return f"its name is {len(name)} characters long (limit 255)"
    return None


def sanitize_filename(name: str, fallback: str = "file") -> str:
    """A name safe in paths, URLs and OCFL content paths: last path segment, NFC, no odd characters, at
    most MAX_NAME_LENGTH characters and MAX_NAME_BYTES bytes in UTF-8 (the extension is kept)."""
    base = re.split(r"[/\\]", name)[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _UNSAFE_CHARS.sub("_", base).strip(" .")
    if not base:
        base = fallback
    if len(base) > MAX_NAME_LENGTH or len(base.encode("utf-8")) > MAX_NAME_BYTES:
        stem, dot, ext = base.rpartition(".")
        if not (dot and stem and len(ext) <= 10 and ext.isascii()):
            stem, ext = base, ""
        suffix = f".{ext}" if ext else ""
        stem = _cut(stem, MAX_NAME_LENGTH - len(suffix), MAX_NAME_BYTES - len(suffix.encode("utf-8")))
        base = (stem.rstrip(" .") or fallback) + suffix
    return base


def _cut(text: str, characters: int, size: int) -> str:
    """The longest prefix of ``text`` within ``characters`` characters and ``size`` UTF-8 bytes."""
    return text[:characters].encode("utf-8")[:size].decode("utf-8", "ignore")
