"""The local working area: files received but not yet safe in two stores, and quarantine.

Every way in (tus uploads, the REST API, bulk ingest) refuses a file that would eat into
ARCHIVE_STAGING_RESERVE_BYTES before writing a byte of it, and treats a disk that fills while the bytes
arrive (ENOSPC, EDQUOT) the same way: the partial file is removed and the sender told, nothing is half
accepted.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext


def staging_root() -> Path:
    return Path(settings.STAGING_ROOT)


def upload_part_path(upload_id) -> Path:
    """Where a tus upload accumulates its bytes."""
    return staging_root() / "uploads" / f"{upload_id}.part"


def asset_dir(original_id) -> Path:
    """The folder of one original and the files derived from it, until they are replicated."""
    return staging_root() / "assets" / str(original_id)


def quarantine_path(asset_id) -> Path:
    return Path(settings.QUARANTINE_ROOT) / str(asset_id)


def free_bytes(path: Path) -> int:
    path.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(path).free


def staging_full_message(length: int, free: int) -> str:
    """What the sender reads when the staging disk has no room (the same words for every way in)."""
    return gettext(
        "Not enough space to receive this file (%(length)s bytes; %(free)s free on the staging disk). "
        "Nothing was accepted; try again later or tell an administrator."
    ) % {"length": length, "free": free}


class StagingFull(OSError):
    """The staging disk has no room for a file: refused before writing, or filled while writing (the
    partial file is gone). ``str()`` is the message for the sender."""

    def __init__(self, length: int, free: int, name: str = "") -> None:
        message = staging_full_message(length, free)
        super().__init__(f"{name}: {message}" if name else message)
        self.length = length
        self.free = free


def check_staging_space(length: int, path: Path | None = None, name: str = "") -> None:
    """Raise StagingFull when ``length`` more bytes would leave less than ARCHIVE_STAGING_RESERVE_BYTES free."""
    free = free_bytes(path or staging_root())
    if length + settings.ARCHIVE_STAGING_RESERVE_BYTES > free:
        raise StagingFull(length, free, name)


def disk_full(error: BaseException) -> bool:
    """Is this the disk (or the user's quota) being full, rather than any other I/O error?"""
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def remove_tree(path: Path) -> None:
    """Remove a working folder; a missing folder is fine (the work is idempotent)."""
    shutil.rmtree(path, ignore_errors=True)
