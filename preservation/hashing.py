"""Streaming digests: every byte is read once, in bounded memory."""

from __future__ import annotations

import hashlib
from typing import BinaryIO

CHUNK = 1024 * 1024


def sha256_stream(handle: BinaryIO, chunk_size: int = CHUNK) -> tuple[str, int]:
    """Return (sha256 hex digest, byte count) of everything left in ``handle``."""
    digest = hashlib.sha256()
    total = 0
    while True:
        chunk = handle.read(chunk_size)
        if not chunk:
            break
        digest.update(chunk)
        total += len(chunk)
    return digest.hexdigest(), total


def sha256_file(path) -> tuple[str, int]:
    with open(path, "rb") as handle:
        return sha256_stream(handle)
