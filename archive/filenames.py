"""Filenames from the outside world: what is refused, and the safe form we store and serve."""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_LENGTH = 150
_UNSAFE_CHARS = re.compile(r"[^\w.\-+() ]", re.UNICODE)


def hostile_filename_reason(name: str) -> str | None:
    """Why a client-supplied name is hostile (path traversal, control characters, absurd length), or None.

    Such files are not silently renamed: they go to quarantine with this reason, because a client that
    sends them is broken or probing, and a curator should see it.
    """
    if not name or not name.strip():
        return "the file has no name"
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        return "its name contains control characters"
    parts = re.split(r"[/\\]", name)
    if ".." in parts:
        return f"its name {name[:80]!r} tries to climb out of its folder ('..')"
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[/\\]", name):
        return f"its name {name[:80]!r} is an absolute path"
    if len(name) > 255:
        return f"its name is {len(name)} characters long (limit 255)"
    return None


def sanitize_filename(name: str, fallback: str = "file") -> str:
    """A name safe in paths, URLs and OCFL content paths: last path segment, NFC, no odd characters."""
    base = re.split(r"[/\\]", name)[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _UNSAFE_CHARS.sub("_", base).strip(" .")
    if not base:
        base = fallback
    if len(base) > MAX_NAME_LENGTH:
        stem, dot, ext = base.rpartition(".")
        base = stem[: MAX_NAME_LENGTH - len(ext) - 1] + "." + ext if dot and len(ext) <= 10 else base[:MAX_NAME_LENGTH]
    return base
