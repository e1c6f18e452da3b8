"""The local working area: files received but not yet safe in two stores, and quarantine."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings


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


def remove_tree(path: Path) -> None:
    """Remove a working folder; a missing folder is fine (the work is idempotent)."""
    shutil.rmtree(path, ignore_errors=True)
