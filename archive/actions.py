"""Changes to the catalogue: each one records its event and enqueues the preservation work it needs.

Views, the tus endpoint and management commands call these; they never change rows themselves.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from archive.filenames import sanitize_filename, storable_name
from archive.models import Asset, HeritageObject, ObjectText, Status
from preservation import events
from preservation.models import ProcessingJob
from preservation.staging import asset_dir

log = logging.getLogger(__name__)


def create_object(
    collection, texts: dict[str, tuple[str, str]], *, original_language: str, user=None, **fields
) -> HeritageObject:
    """A new draft object with its texts ({language: (title, description)})."""
    fields.setdefault("access_level", collection.default_access_level)
    with transaction.atomic():
        obj = HeritageObject.objects.create(collection=collection, created_by=user, **fields)
        for language, (title, description) in texts.items():
            ObjectText.objects.create(
                object=obj,
                language=language,
                title=title,
                description=description,
                is_original=(language == original_language),
            )
        events.record(
            events.EventType.ACCESSION,
            events.Outcome.SUCCESS,
            f"Object {obj.identifier} catalogued in collection {collection.slug} by {user or 'the system'}.",
            obj=obj,
        )
    return obj


def receive_file(
    obj: HeritageObject,
    staged: Path,
    original_name: str,
    sha256: str,
    size: int,
    *,
    user=None,
    via: str = "upload",
    enqueue: bool = True,
) -> tuple[Asset, bool]:
    """Take a fully received file (already hashed while it streamed in) as an original of ``obj``.

    The same bytes sent twice to one object give one asset (a unique constraint decides, however
    the uploads race): the second copy is deleted and ``(existing, False)`` returned.
    """
    original_name = storable_name(original_name)  # a NUL would fail on PostgreSQL; the pipeline refuses it
    asset_id = uuid.uuid4()
    # Moved into place before the row is written: if the database fails meanwhile, the bytes stay where a
    # committed row would look for them (its commit may have succeeded unseen); an orphan folder, left when
    # it did not, is removed by the sweeper a day later.
    folder = asset_dir(asset_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / sanitize_filename(original_name, fallback="original")
    os.replace(staged, target)
    try:
        with transaction.atomic():
            asset = Asset.objects.create(
                id=asset_id,
                object=obj,
                role=Asset.Role.ORIGINAL,
                original_name=original_name[:1024],
                filename=sanitize_filename(original_name, fallback="original"),
                size=size,
                sha256=sha256,
                local_path=str(target),
                uploaded_by=user if getattr(user, "is_authenticated", False) else None,
            )
            ProcessingJob.objects.create(object=obj, asset=asset, stage="received", progress=5)
            events.record(
                events.EventType.INGESTION,
                events.Outcome.SUCCESS,
                f"Received {size} bytes via {via} as {asset.filename!r} "
                f"(sent as {original_name[:200]!r}) by {user or 'the system'}.",
                asset=asset,
            )
            events.record(
                events.EventType.MESSAGE_DIGEST,
                events.Outcome.SUCCESS,
                f"SHA-256 {sha256}, computed while the bytes streamed to disk.",
                asset=asset,
            )
    except IntegrityError:
        target.unlink(missing_ok=True)
        folder.rmdir()
        existing = Asset.objects.get(object=obj, sha256=sha256, role=Asset.Role.ORIGINAL, status__in=_LIVE_STATES)
        return existing, False
    if enqueue:
        from preservation import tasks

        # The file is safe and recorded: a broker that is down now must not fail the upload. enqueue() logs
        # it, and the sweeper queues the ingest of an original left "received" once the broker is back.
        transaction.on_commit(lambda: tasks.enqueue(tasks.ingest, (str(asset.id),)))
    return asset, True


_LIVE_STATES = [s for s in Asset.State.values if s != Asset.State.DISCARDED]


def find_duplicate(obj: HeritageObject, sha256: str) -> Asset | None:
    return obj.assets.filter(sha256=sha256, role=Asset.Role.ORIGINAL, status__in=_LIVE_STATES).first()


def submit_for_review(obj: HeritageObject, user=None) -> None:
    """A draft goes to review: another look before anyone outside the curators sees it."""
    if obj.status != Status.DRAFT:
        raise ValueError(_("only drafts can be submitted for review"))
    obj.status = Status.REVIEW
    obj.save(update_fields=["status", "updated"])
    log.info("object %s submitted for review by %s", obj.identifier, user)


def return_to_draft(obj: HeritageObject, user=None, note: str = "") -> None:
    if obj.status not in (Status.REVIEW, Status.PUBLISHED):
        raise ValueError(_("only objects in review or published can go back to draft"))
    was_published = obj.status == Status.PUBLISHED
    obj.status = Status.DRAFT
    obj.save(update_fields=["status", "updated"])
    if was_published:
        events.record(
            events.EventType.PUBLICATION,
            events.Outcome.SUCCESS,
            f"Withdrawn from the portal by {user or 'the system'}{': ' + note if note else ''}.",
            obj=obj,
        )
        record_changed(obj)
    log.info("object %s returned to draft by %s %s", obj.identifier, user, note)


def publish(obj: HeritageObject, user=None) -> None:
    """Make a draft visible according to its access level and embargo."""
    if obj.status == Status.PUBLISHED:
        return
    obj.status = Status.PUBLISHED
    obj.published_at = timezone.now()
    obj.save(update_fields=["status", "published_at", "updated"])
    events.record(
        events.EventType.PUBLICATION, events.Outcome.SUCCESS, f"Published by {user or 'the system'}.", obj=obj
    )
    record_changed(obj)


def discard_quarantined(asset: Asset, reason: str, user) -> None:
    """Delete a quarantined file deliberately: the row stays as a tombstone with the reason."""
    if asset.status != Asset.State.QUARANTINED:
        raise ValueError(_("only quarantined files can be discarded"))
    if not reason.strip():
        raise ValueError(_("a reason is required to delete a quarantined file"))
    if asset.local_path:
        Path(asset.local_path).unlink(missing_ok=True)
    asset.status = Asset.State.DISCARDED
    asset.local_path = ""
    asset.status_message = f"{asset.status_message}\nDiscarded by {user}: {reason.strip()}"
    asset.save(update_fields=["status", "local_path", "status_message", "updated"])
    events.record(
        events.EventType.DELETION,
        events.Outcome.SUCCESS,
        f"Quarantined file {asset.filename!r} deleted by {user}: {reason.strip()}",
        asset=asset,
    )


def record_changed(obj: HeritageObject) -> None:
    """The catalogue record changed: once the transaction commits, package it as a new OCFL version
    (only for objects already packaged; a draft without files gets its record with its first files)."""
    _enqueue_package(obj)


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValueError(_("a reason is required to delete from the archive"))
    return reason


def delete_asset(asset: Asset, reason: str, user) -> list[Asset]:
    """Deliberately remove an original and the files made from it.

    The rows stay as tombstones with the reason; the next OCFL version drops them from the object's
    state on every store (earlier versions keep their bytes: OCFL never rewrites history); a deletion
    event is recorded per file. Processing and repair never call this.
    """
    reason = _check_reason(reason)
    if asset.role != Asset.Role.ORIGINAL:
        raise ValueError(_("delete the original: the files made from it go with it"))
    if asset.status in (Asset.State.DELETED, Asset.State.DISCARDED):
        raise ValueError(_("%(name)s is already deleted") % {"name": asset.filename})
    if asset.status in (Asset.State.RECEIVED, Asset.State.PROCESSING):
        raise ValueError(_("%(name)s is still being processed; delete it once it is done") % {"name": asset.filename})
    if asset.status == Asset.State.QUARANTINED:
        discard_quarantined(asset, reason, user)
        return [asset]
    now = timezone.now()
    family = list(Asset.objects.filter(models_q_family(asset)).exclude(status=Asset.State.DELETED))
    with transaction.atomic():
        for member in family:
            member.status = Asset.State.DELETED
            member.deletion_reason = reason
            member.deleted_at = now
            member.deleted_by = str(user or "the system")[:200]
            member.save(update_fields=["status", "deletion_reason", "deleted_at", "deleted_by", "updated"])
            events.record(
                events.EventType.DELETION,
                events.Outcome.SUCCESS,
                f"{member.get_role_display()} {member.filename!r} deleted by {user or 'the system'}: {reason}. "
                "Removed from the object's current OCFL state; kept as a tombstone.",
                asset=member,
            )
        _enqueue_package(asset.object)
    return family


def models_q_family(asset: Asset) -> Q:
    return Q(pk=asset.pk) | Q(derived_from=asset)


def delete_object(obj: HeritageObject, reason: str, user) -> None:
    """Deliberately remove an object: every file is deleted as above, the object becomes a tombstone
    (its identifier is never reused and still answers, with the reason, to its curators)."""
    reason = _check_reason(reason)
    if obj.status == Status.DELETED:
        raise ValueError(_("%(name)s is already deleted") % {"name": obj.identifier})
    busy = obj.assets.filter(status__in=[Asset.State.RECEIVED, Asset.State.PROCESSING])
    if busy.exists():
        raise ValueError(_("files of this object are still being processed; delete it once they are done"))
    with transaction.atomic():
        for original in obj.assets.filter(role=Asset.Role.ORIGINAL).exclude(
            status__in=[Asset.State.DELETED, Asset.State.DISCARDED]
        ):
            delete_asset(original, reason, user)
        obj.status = Status.DELETED
        obj.deletion_reason = reason
        obj.deleted_at = timezone.now()
        obj.deleted_by = str(user or "the system")[:200]
        obj.save(update_fields=["status", "deletion_reason", "deleted_at", "deleted_by", "updated"])
        events.record(
            events.EventType.DELETION,
            events.Outcome.SUCCESS,
            f"Object {obj.identifier} deleted by {user or 'the system'}: {reason}. Kept as a tombstone.",
            obj=obj,
        )
        _enqueue_package(obj)


def _enqueue_package(obj: HeritageObject) -> None:
    from preservation import tasks

    if obj.versions.exists():
        transaction.on_commit(lambda: tasks.package.delay(obj.pk))


def upload_group(filename: str) -> str:
    """The object a file of a batch belongs to: its name without the extension(s), case-folded, so
    ``jar-01.jpg`` and ``jar-01.dng`` land together while ``jar-02.jpg`` makes another object."""
    stem = Path(filename.replace("\\", "/")).name
    while "." in stem.strip("."):
        stem = stem.rsplit(".", 1)[0]
    return " ".join(stem.split()).casefold()[:400] or "unnamed"


def object_for_upload(collection, name: str, *, user=None, language: str = "en") -> HeritageObject:
    """The draft object a batch upload into ``collection`` puts this file in: found again by its group
    (so a resumed or repeated batch never makes duplicates, however the uploads race), else created
    with a title from the file name for the curator to describe later."""
    group = upload_group(name)
    reference = f"upload:{group}"
    existing = HeritageObject.objects.filter(collection=collection, source_reference=reference).first()
    if existing is not None:
        return existing
    title = Path(name.replace("\\", "/")).name.rsplit(".", 1)[0].replace("_", " ").strip() or group
    try:
        with transaction.atomic():
            return create_object(
                collection,
                {language.split("-")[0]: (title[:500], "")},
                original_language=language.split("-")[0],
                user=user,
                source_reference=reference,
            )
    except IntegrityError:  # another upload of the same group created it first
        return HeritageObject.objects.get(collection=collection, source_reference=reference)
