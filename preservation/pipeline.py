"""identify -> validate/normalize -> package -> replicate, as plain functions on catalogue rows.

Tasks call these one step at a time; ``manage.py ingest`` calls ``run_in_process`` to do all of them
in its own process. Each step is idempotent: running it twice (a redelivered task, a sweeper retry)
leaves the same state as running it once. Two runs of one step may even overlap (a task redelivered while
its first run still works, a sweeper re-queue): each run works in its own folder, and a step's results are
committed under a row lock only if no other run committed first, so the first run to finish wins and the
other's files are dropped, never mixed in.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from archive.filenames import display_name, hostile_filename_reason, sanitize_filename
from archive.models import Asset, HeritageObject, ObjectVersion
from preservation import events, formats
from preservation.hashing import sha256_file
from preservation.models import ProcessingJob
from preservation.processors.base import Limits, ProcessingError
from preservation.processors.registry import get_processor
from preservation.staging import asset_dir, quarantine_path
from preservation.stores.base import StoreError

log = logging.getLogger(__name__)


def limits() -> Limits:
    return Limits(max_pixels=settings.ARCHIVE_MAX_IMAGE_PIXELS, max_bytes=settings.ARCHIVE_MAX_UPLOAD_BYTES)


def _job(asset: Asset) -> ProcessingJob:
    job, _ = ProcessingJob.objects.get_or_create(asset=asset, defaults={"object": asset.object})
    return job


def processing_queue(asset: Asset) -> str:
    """3D scans take minutes and gigabytes: they get their own queue so photo ingest is never starved."""
    return "heavy" if asset.format_key in settings.ARCHIVE_HEAVY_FORMATS else "media"


def quarantine(asset: Asset, message: str) -> None:
    """Move a rejected original out of staging into quarantine. It never reaches a store.

    ``message`` is what the curator reads: it names the file, says what is wrong and that the original
    is kept in quarantine (processors write it that way; ``refusal`` builds it for the pipeline's own checks).
    """
    target = quarantine_path(asset.id)
    target.parent.mkdir(parents=True, exist_ok=True)
    source = Path(asset.local_path) if asset.local_path else None
    if source and source.exists():
        shutil.move(str(source), target)
        shutil.rmtree(source.parent, ignore_errors=True)
    asset.status = Asset.State.QUARANTINED
    asset.status_message = message
    asset.local_path = str(target) if target.exists() else ""
    asset.save(update_fields=["status", "status_message", "local_path", "updated"])
    events.record(events.EventType.QUARANTINE, events.Outcome.FAILURE, message, asset=asset)
    _job(asset).advance("quarantined", 100, ProcessingJob.State.FAILED, message)


def refusal(asset: Asset, reason: str) -> str:
    name = display_name(asset.original_name)[:200]  # no raw newline or right-to-left override in a message
    return f"{name}: {reason}; the original is kept in quarantine, not in the archive."


def ingest_asset(asset: Asset) -> bool:
    """Check the name, identify the format by signature. Returns False when the file was quarantined."""
    if asset.status != Asset.State.RECEIVED:
        return asset.status in (Asset.State.PROCESSING, Asset.State.READY)
    job = _job(asset)
    job.advance("identifying", 10)
    path = Path(asset.local_path)
    if not path.is_file():
        raise ProcessingError(f"the staged file of {asset.filename} is missing", permanent=False)
    hostile = hostile_filename_reason(asset.original_name)
    if hostile:
        quarantine(asset, refusal(asset, f"refused because {hostile}"))
        return False
    if asset.size == 0:
        quarantine(asset, refusal(asset, "the file is empty (0 bytes)"))
        return False
    ident = formats.identify(path, asset.original_name)
    with transaction.atomic():
        current = _locked(asset)
        if current.status != Asset.State.RECEIVED:  # another run of this step got here first
            return current.status in (Asset.State.PROCESSING, Asset.State.READY)
        asset.puid = ident.puid or ident.local_key or ""  # a documented local key where PRONOM has no PUID
        asset.format_name = ident.format_name or ""
        asset.mime = ident.mime or ""
        asset.format_key = ident.format_key or ""
        asset.save(update_fields=["puid", "format_name", "mime", "format_key", "updated"])
        if ident.by_signature:
            detail = (
                f"Identified by {'signature' if ident.matched_by != 'archive' else 'structure'} as "
                f"{ident.format_name} ({asset.puid}), MIME {ident.mime}."
            )
            outcome = events.Outcome.SUCCESS
        else:
            detail = f"No signature match (MIME by libmagic: {ident.mime or 'unknown'}); format unidentified."
            outcome = events.Outcome.WARNING
        events.record(events.EventType.FORMAT_IDENTIFICATION, outcome, detail, agent=ident.agent, asset=asset)
        if ident.extension_mismatch and not ident.format_key:
            quarantine(asset, refusal(asset, ident.extension_mismatch))
            return False
        if ident.extension_mismatch:  # a real image under the wrong extension: the signature wins
            events.record(
                events.EventType.VALIDATION,
                events.Outcome.WARNING,
                f"{ident.extension_mismatch}; processed as identified by its signature.",
                agent=ident.agent,
                asset=asset,
            )
        asset.status = Asset.State.PROCESSING
        asset.save(update_fields=["status", "updated"])
    job.advance("identified", 25)
    return True


def _locked(asset: Asset) -> Asset:
    """The asset's row, locked until the end of the current transaction (SQLite: the write lock taken by
    its immediate transactions). Whoever holds it decides; a second run of a step waits, then sees the
    first run's result."""
    return Asset.objects.select_for_update().only("id", "status").get(pk=asset.pk)


def companion_files(asset: Asset, folder: Path) -> dict[str, Path]:
    """The other files uploaded to the same object that a model may refer to (MTL, textures, buffers).

    Each is snapshotted into ``folder`` (a hard link where possible), so a sibling quarantined or released
    meanwhile cannot pull the file away mid-read; files already released from staging are read back from a
    verified replica. Other models are never companions; a sibling that cannot be read is left out (the
    model then notes the missing reference).
    """
    from preservation.replication import asset_source
    from preservation.stores.base import StoreError

    found: dict[str, Path] = {}
    siblings = (
        asset.object.assets.filter(role=Asset.Role.ORIGINAL)
        .exclude(pk=asset.pk)
        .exclude(status__in=[Asset.State.QUARANTINED, Asset.State.DISCARDED])
        .exclude(format_key__in=settings.ARCHIVE_HEAVY_FORMATS)
    )
    for sibling in siblings:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{sibling.id}-{sibling.filename}"
        try:
            if sibling.local_path and Path(sibling.local_path).is_file():
                try:
                    os.link(sibling.local_path, path)
                except OSError:
                    shutil.copyfile(sibling.local_path, path)
            else:
                with asset_source(sibling) as reader, open(path, "wb") as writer:
                    shutil.copyfileobj(reader, writer, 1024 * 1024)
        except (OSError, StoreError) as error:
            log.warning("companion %s of %s unavailable: %s", sibling.filename, asset.filename, error)
            path.unlink(missing_ok=True)
            continue
        for name in {sibling.filename, sibling.original_name}:
            if name and name != asset.filename and not hostile_filename_reason(name):
                found[name] = path
    return found


def process_asset(asset: Asset, *, wait_for_companions: bool = True) -> bool:
    """Validate, make the preservation master and access copies, verify them. Returns True when ready.

    A permanent ProcessingError quarantines the original; a transient one propagates (retry). Each run works
    in a folder of its own (``work-<random>`` beside the original): a run killed midway leaves only that
    folder, which goes with the whole staging folder once the object is safely replicated.
    """
    if asset.status == Asset.State.READY:
        return True
    if asset.status != Asset.State.PROCESSING:
        return False
    job = _job(asset)
    if not asset.format_key:
        with transaction.atomic():
            current = _locked(asset)
            if current.status != Asset.State.PROCESSING:
                return current.status == Asset.State.READY
            asset.status = Asset.State.READY
            asset.status_message = "Kept as received: no normalization policy for this format."
            asset.save(update_fields=["status", "status_message", "updated"])
            events.record(
                events.EventType.NORMALIZATION,
                events.Outcome.WARNING,
                f"No normalization policy for {asset.puid or 'an unidentified format'} "
                f"({asset.mime or 'unknown MIME'}); the original is preserved bit for bit, without derivatives.",
                asset=asset,
            )
        job.advance("processed", 60)
        return True
    job.advance("normalizing", 40)
    source = Path(asset.local_path)
    if not source.is_file():
        raise ProcessingError(f"the staged file of {asset.filename} is missing", permanent=False)
    workdir = source.parent / f"work-{uuid.uuid4().hex}"
    workdir.mkdir(parents=True)
    try:
        processor = get_processor(asset.format_key, **settings.ARCHIVE_PROCESSORS.get(asset.format_key, {}))
        extra = {}
        if getattr(processor, "uses_companions", False):
            age = (timezone.now() - asset.created).total_seconds()
            extra = {
                "original_name": asset.filename,
                "companions": companion_files(asset, workdir / "companions"),
                "wait_for_companions": wait_for_companions and age < settings.ARCHIVE_COMPANION_WAIT_SECONDS,
            }
        try:
            result = processor.process(source, workdir, limits(), **extra)
        except ProcessingError as error:
            if error.permanent:
                return _reject(asset, error.message)
            raise
        ready = _commit_processed(asset, result, source.parent / "derived")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if ready:
        job.advance("processed", 60)
    return ready


def _reject(asset: Asset, message: str) -> bool:
    """Quarantine an original that failed validation, unless another run already settled it."""
    with transaction.atomic():
        current = _locked(asset)
        if current.status != Asset.State.PROCESSING:
            return current.status == Asset.State.READY
        events.record(events.EventType.VALIDATION, events.Outcome.FAILURE, message, asset=asset)
        quarantine(asset, message)
    return False


def _commit_processed(asset: Asset, result, derived_dir: Path) -> bool:
    """Record the verified derivatives and mark the original ready, exactly once.

    The files are hashed where the processor wrote them; under the original's row lock, and only if no
    other run committed first, they are renamed into ``derived/`` and recorded in one transaction. A run
    that comes second drops its files: the derivatives already recorded (perhaps already packaged and
    replicated) are never replaced.
    """
    hashed = [(derivative, *sha256_file(derivative.path)) for derivative in result.derivatives]
    with transaction.atomic():
        current = _locked(asset)
        if current.status != Asset.State.PROCESSING:
            return current.status == Asset.State.READY
        derived_dir.mkdir(exist_ok=True)
        for derivative, digest, size in hashed:
            target = derived_dir / f"{derivative.role}-{sanitize_filename(derivative.filename)}"
            shutil.move(str(derivative.path), target)
            Asset.objects.update_or_create(
                derived_from=asset,
                role=derivative.role,
                filename=sanitize_filename(derivative.filename),
                defaults={
                    "object": asset.object,
                    "original_name": derivative.filename,
                    "size": size,
                    "sha256": digest,
                    "puid": derivative.puid,
                    "mime": derivative.mime,
                    "format_key": asset.format_key,
                    "technical": derivative.technical,
                    "status": Asset.State.READY,
                    "local_path": str(target),
                    "uploaded_by": None,
                },
            )
        for record in result.events:
            events.record(record.event_type, record.outcome, record.detail, agent=record.agent, asset=asset)
        asset.technical = result.technical
        asset.status = Asset.State.READY
        asset.status_message = ""
        asset.save(update_fields=["technical", "status", "status_message", "updated"])
    return True


def package_object(obj: HeritageObject) -> ObjectVersion | None:
    """Make the object's next OCFL version, or return None when nothing changed.

    A version adds every processed file not yet packaged, drops the files deliberately deleted since
    the last one, and carries fresh catalogue records (object.json, dc.xml when they changed, and
    premis.xml): so a metadata edit alone also makes a version.
    """
    from preservation import records

    with transaction.atomic():
        locked = HeritageObject.objects.select_for_update().get(pk=obj.pk)
        pending = Asset.objects.filter(object=locked, version__isnull=True, status=Asset.State.READY).exclude(
            role=Asset.Role.METADATA
        )
        removals = Asset.objects.filter(
            object=locked, status=Asset.State.DELETED, version__isnull=False, removed_in__isnull=True
        )
        latest = records.latest_record_digests(locked)
        files_changed = pending.exists() or removals.exists()
        if not files_changed and not locked.versions.exists():
            return None  # a record alone waits for its object's first files
        if not files_changed and all(
            latest.get(record.filename) == record.sha256 for record in records.descriptive_files(locked)
        ):
            return None
        number = (locked.versions.aggregate(m=Max("number"))["m"] or 0) + 1
        version = ObjectVersion.objects.create(
            object=locked, number=number, message=_version_message(pending, removals)
        )
        pending.update(version=version)
        removals.update(removed_in=version)
        changed = [
            record for record in records.descriptive_files(locked) if latest.get(record.filename) != record.sha256
        ]
        if not files_changed:
            events.record(
                events.EventType.METADATA_MODIFICATION,
                events.Outcome.SUCCESS,
                f"Catalogue record changed; written as version v{number} ({', '.join(r.filename for r in changed)}).",
                obj=locked,
            )
        written = [_metadata_asset(locked, version, record) for record in changed]
        _metadata_asset(locked, version, records.premis_file(locked, written))
    for job in ProcessingJob.objects.filter(object=obj, asset__version=version):
        job.advance("replicating", 70)
    return version


def _version_message(pending, removals) -> str:
    parts = []
    originals = list(pending.filter(role=Asset.Role.ORIGINAL).values_list("filename", flat=True))
    if originals:
        names = ", ".join(originals[:5]) + (" ..." if len(originals) > 5 else "")
        parts.append(f"Add {len(originals)} file(s): {names}")
    elif pending.exists():
        parts.append(f"Add {pending.count()} derived file(s)")
    removed = list(removals.filter(role=Asset.Role.ORIGINAL).values_list("filename", "deletion_reason"))
    if removed:
        names = ", ".join(name for name, _ in removed[:5]) + (" ..." if len(removed) > 5 else "")
        parts.append(f"Remove {len(removed)} file(s): {names} (reason: {removed[0][1]})")
    elif removals.exists():
        parts.append(f"Remove {removals.count()} file(s)")
    return ("; ".join(parts) or "Update the catalogue record")[:500]


def _metadata_asset(obj: HeritageObject, version: ObjectVersion, record) -> Asset:
    """A catalogue record as an asset of the version: replicated, audited and rebuilt like any file."""
    from preservation import records

    asset_id = records.metadata_asset_id(obj.ocfl_id, version.number, record.filename)
    folder = asset_dir(asset_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / record.filename
    target.write_bytes(record.data)
    asset, _ = Asset.objects.update_or_create(
        id=asset_id,
        defaults={
            "object": obj,
            "role": Asset.Role.METADATA,
            "original_name": record.filename,
            "filename": record.filename,
            "size": len(record.data),
            "sha256": record.sha256,
            "mime": records.RECORD_MIME[record.filename],
            "format_name": "JSON" if record.filename.endswith(".json") else "XML",
            "status": Asset.State.READY,
            "local_path": str(target),
            "version": version,
        },
    )
    return asset


def finish_jobs(obj: HeritageObject) -> None:
    """Mark ingest jobs done once their original has its minimum of verified copies."""
    from preservation.replication import verified_copies

    for job in ProcessingJob.objects.filter(object=obj, state=ProcessingJob.State.RUNNING).select_related("asset"):
        asset = job.asset
        if asset is None or asset.version_id is None:
            continue
        copies = verified_copies(asset)
        if copies >= settings.ARCHIVE_MIN_COPIES:
            job.advance("preserved", 100, ProcessingJob.State.DONE, f"{copies} verified copies")


def run_in_process(asset: Asset) -> Asset:
    """The whole pipeline for one original in this process (bulk ingest without workers).

    Stores that are down are skipped: the object stays under-replicated until the sweeper heals it.
    """
    from preservation.replication import replicate_object, store_names_for

    if ingest_asset(asset):
        asset.refresh_from_db()
        process_asset(asset, wait_for_companions=False)
    asset.refresh_from_db()
    obj = asset.object
    package_object(obj)
    for name in store_names_for(obj):
        try:
            replicate_object(obj, name)
        except StoreError as error:
            log.warning("store %s: %s (the sweeper will finish this copy)", name, error)
    finish_jobs(obj)
    asset.refresh_from_db()
    return asset
