"""Bulk ingest from folders: the engine behind ``manage.py ingest`` and the demo loader.

Each file is copied into staging while it is hashed (one read), then handed to the catalogue the same
way a browser upload is. Objects remember where they came from (``source_reference``), and the same
bytes in one object are one asset, so running a batch twice creates nothing new.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from archive import actions
from archive.models import Asset, Collection, HeritageObject
from preservation.staging import StagingFull, check_staging_space, disk_full, free_bytes, staging_root

CHUNK = 1024 * 1024


@dataclass
class SourceObject:
    """One object to create from disk: a folder of files, or a loose file."""

    reference: str
    title: str
    files: list[Path]


@dataclass
class BatchReport:
    objects_created: int = 0
    ingested: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    assets: list[Asset] = field(default_factory=list)


def discover(paths: list[Path]) -> Iterator[SourceObject]:
    """Subfolders become one object each (all files below them); loose files one object each.
    Symbolic links are never followed: a batch cannot be tricked into reading outside its folders."""
    for root in paths:
        if root.is_symlink():
            continue
        if root.is_file():
            yield SourceObject(reference=root.name, title=root.stem, files=[root])
            continue
        for entry in sorted(root.iterdir()):
            if entry.is_symlink() or entry.name.startswith("."):
                continue
            if entry.is_dir():
                files = sorted(
                    p for p in entry.rglob("*") if p.is_file() and not p.is_symlink() and not p.name.startswith(".")
                )
                yield SourceObject(reference=entry.name + "/", title=entry.name, files=files)
            elif entry.is_file():
                yield SourceObject(reference=entry.name, title=entry.stem, files=[entry])


def stage_copy(source: Path) -> tuple[Path, str, int]:
    """Copy a file into staging, hashing it in the same pass.

    Raises StagingFull (and leaves no partial copy) when the file would eat into the staging reserve, or
    when the disk fills while it is copied; any other error removes the partial copy too."""
    size = source.stat().st_size
    root = staging_root() / "uploads"
    check_staging_space(size, root, name=str(source))
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"batch-{uuid.uuid4()}.part"
    digest = hashlib.sha256()
    copied = 0
    try:
        with open(source, "rb") as reader, open(target, "wb") as writer:
            while chunk := reader.read(CHUNK):
                digest.update(chunk)
                writer.write(chunk)
                copied += len(chunk)
            writer.flush()
            os.fsync(writer.fileno())
    except OSError as error:
        target.unlink(missing_ok=True)
        if disk_full(error):
            raise StagingFull(size, free_bytes(root), name=str(source)) from error
        raise
    return target, digest.hexdigest(), copied


def check_space_for(source: SourceObject) -> None:
    """Raise StagingFull before an object is created when its files cannot all be staged."""
    check_staging_space(sum(path.stat().st_size for path in source.files), name=source.reference)


def object_for(source: SourceObject, collection: Collection, access: str, user=None) -> tuple[HeritageObject, bool]:
    existing = HeritageObject.objects.filter(collection=collection, source_reference=source.reference).first()
    if existing:
        return existing, False
    obj = actions.create_object(
        collection,
        {"en": (source.title, "")},
        original_language="en",
        user=user,
        access_level=access,
        source_reference=source.reference,
    )
    return obj, True


def ingest_source(
    source: SourceObject,
    obj: HeritageObject,
    report: BatchReport,
    *,
    user=None,
    in_process: bool = True,
    on_file: Callable[[Path], None] | None = None,
) -> None:
    """Stage and receive every file of one source object; run the pipeline here or enqueue it.

    Raises StagingFull when the staging disk has no room for the next file; the files received before it
    are processed (or enqueued) first, so nothing is left waiting."""
    received = []
    try:
        for path in source.files:  # receive every file first: an OBJ finds its MTL and textures beside it
            staged, sha256, size = stage_copy(path)
            asset, created = actions.receive_file(
                obj, staged, path.name, sha256, size, user=user, via="bulk ingest", enqueue=False
            )
            if created:
                received.append((path, asset))
            else:
                staged.unlink(missing_ok=True)
                report.duplicates.append(str(path))
                if on_file:
                    on_file(path)
    except StagingFull:
        _hand_over(received, report, in_process, on_file)
        raise
    _hand_over(received, report, in_process, on_file)


def _hand_over(received: list, report: BatchReport, in_process: bool, on_file: Callable[[Path], None] | None) -> None:
    from preservation import pipeline, tasks

    for path, asset in received:
        if in_process:
            _classify(pipeline.run_in_process(asset), path, report)
        else:
            tasks.ingest.delay(str(asset.id))
            report.assets.append(asset)
        if on_file:
            on_file(path)


def _classify(asset: Asset, path: Path, report: BatchReport) -> None:
    if asset.status == Asset.State.QUARANTINED:
        report.rejected.append((str(path), asset.status_message))
    else:
        report.ingested.append(str(path))


def collect_results(report: BatchReport) -> None:
    """After workers finish, sort the enqueued assets into ingested and rejected."""
    for asset in report.assets:
        asset.refresh_from_db()
        _classify(asset, Path(asset.original_name), report)
