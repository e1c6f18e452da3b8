"""Object identifiers: short, opaque, safe in paths and URLs, never reused.

Ten characters of Crockford base32 (no I, L, O, U) carry 50 random bits: collisions are checked
against the catalogue (which never deletes a row, only tombstones it), so an identifier is never
handed out twice.
"""

from __future__ import annotations

import re
import secrets

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
IDENTIFIER_LENGTH = 10
IDENTIFIER_RE = re.compile(rf"^[{CROCKFORD}]{{{IDENTIFIER_LENGTH}}}$")


def new_identifier() -> str:
    """A fresh random identifier (the caller checks uniqueness against the catalogue)."""
    return "".join(secrets.choice(CROCKFORD) for _ in range(IDENTIFIER_LENGTH))


def normalize_identifier(text: str) -> str | None:
    """Read an identifier the way Crockford base32 intends: case-insensitive, O->0, I/L->1, hyphens
    ignored. Returns None when it cannot be an identifier."""
    cleaned = text.strip().upper().replace("-", "").replace("O", "0").replace("I", "1").replace("L", "1")
    return cleaned if IDENTIFIER_RE.match(cleaned) else None
