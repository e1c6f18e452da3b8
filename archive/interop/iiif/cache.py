"""Disk cache of rendered IIIF images: ``MEDIA_ROOT/iiif-cache/<sha256[:2]>/<sha256>/<canonical>``.

Keyed by the source's SHA-256 (the same bytes render the same pictures, whichever asset holds them) and
the request's canonical form, so two spellings of one request share an entry. Nothing here checks
access: the view does that before it asks the cache. Entries are written to a temporary file in the
same folder, then renamed, so a reader never sees half a file and two workers rendering the same tile
at once both succeed. Entries are never stale (the key names the bytes); the folder can be emptied at
any time to reclaim space (``rm -r MEDIA_ROOT/iiif-cache``).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from django.conf import settings

FOLDER = "iiif-cache"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CANONICAL = re.compile(r"^[0-9a-z,.!^]+(/[0-9a-z,.!^]+){3}$")


def root() -> Path:
    return Path(settings.MEDIA_ROOT) / FOLDER


def path_for(sha256: str, canonical: str) -> Path:
    """Where the picture for ``canonical`` (region/size/rotation/quality.format) of these bytes lives.

    Raises ValueError for a digest or a canonical form that could escape the folder (never expected:
    both come from our own database and parser)."""
    if not _SHA256.match(sha256) or not _CANONICAL.match(canonical) or ".." in canonical:
        raise ValueError(f"not a cache key: {sha256!r} {canonical!r}")
    return root() / sha256[:2] / sha256 / canonical.replace("/", "_")


def read(sha256: str, canonical: str) -> bytes | None:
    """The cached picture, or None."""
    try:
        return path_for(sha256, canonical).read_bytes()
    except FileNotFoundError:
        return None


def write(sha256: str, canonical: str, data: bytes) -> Path:
    """Store ``data`` atomically (temporary file, then rename); returns its path."""
    target = path_for(sha256, canonical)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def prune(max_bytes: int, stale_seconds: float = 3600) -> tuple[int, int]:
    """Keep the cache under ``max_bytes``: remove the oldest entries first (and temporary files left by a
    killed render). Returns (files removed, bytes freed). Run hourly by Celery beat (archive.tasks)."""
    import time

    entries, total, removed, freed = [], 0, 0, 0
    now = time.time()
    for path in root().rglob("*") if root().exists() else ():
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if not path.is_file():
            continue
        if path.name.startswith(".tmp-"):
            if now - info.st_mtime > stale_seconds:
                path.unlink(missing_ok=True)
                removed, freed = removed + 1, freed + info.st_size
            continue
        entries.append((info.st_mtime, info.st_size, path))
        total += info.st_size
    for _mtime, size, path in sorted(entries):
        if total <= max_bytes:
            break
        path.unlink(missing_ok=True)
        total -= size
        removed, freed = removed + 1, freed + size
    return removed, freed
