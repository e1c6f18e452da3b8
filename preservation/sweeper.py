"""The database-driven sweeper: the catalogue, not the broker, says what is unfinished.

Retries run out and a broker restarted without persistence forgets its queue; the sweeper looks at
the rows instead: originals stuck before processing finished, processed files not yet in a version,
objects whose latest version has not reached every allowed store, and abandoned uploads. It re-queues
each at most once per interval, so an outage of any length heals when the store returns.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Max, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from archive.models import Asset, HeritageObject, Upload
from preservation.models import ProcessingJob, StoreObject
from preservation.staging import remove_tree, staging_root, upload_part_path

BATCH = 500  # objects re-queued per store per sweep; the next sweep takes the next batch


def sweep(now=None) -> dict:
    """Queue what is unfinished; return counts per kind (for logs and tests)."""
    from preservation import tasks
    from preservation.replication import ensure_store_rows, store_names_for
    from preservation.stores.registry import store_config

    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=settings.ARCHIVE_STUCK_AFTER_SECONDS)
    counts = {"ingest": 0, "process": 0, "package": 0, "replicate": 0, "finish": 0, "expired_uploads": 0}

    from preservation.pipeline import processing_queue

    for state, kind in ((Asset.State.RECEIVED, "ingest"), (Asset.State.PROCESSING, "process")):
        stuck = Asset.objects.filter(role=Asset.Role.ORIGINAL, status=state, updated__lt=stuck_before)
        for asset in stuck[:BATCH]:
            Asset.objects.filter(pk=asset.pk).update(updated=now)
            if kind == "ingest":
                tasks.ingest.delay(str(asset.pk))
            else:
                tasks.process.apply_async((str(asset.pk),), queue=processing_queue(asset))
            counts[kind] += 1
    unpackaged = Asset.objects.filter(status=Asset.State.READY, version__isnull=True, updated__lt=stuck_before)
    for object_id in unpackaged.values_list("object_id", flat=True).distinct()[:BATCH]:
        tasks.package.delay(object_id)
        counts["package"] += 1

    interval = float(settings.CELERY_BEAT_SCHEDULE["sweep-under-replicated"]["schedule"])
    retry_before = now - timedelta(seconds=interval)
    for name, row in ensure_store_rows().items():
        levels = store_config(name).get("access_levels") or ["public", "community", "restricted"]
        reached = StoreObject.objects.filter(object=OuterRef("pk"), store=row)
        behind = (
            HeritageObject.objects.filter(access_level__in=levels)
            .annotate(
                head=Max("versions__number"),
                stored=Coalesce(Subquery(reached.values("head_version")[:1]), Value(0)),
                lease=Subquery(reached.values("lease_until")[:1]),
                last_attempt=Subquery(reached.values("last_attempt_at")[:1]),
                queued=Subquery(reached.values("queued_at")[:1]),
            )
            .filter(head__isnull=False, stored__lt=F("head"))
            .filter(Q(lease__isnull=True) | Q(lease__lte=now))
            .filter(
                # Never queued, or queued so long ago that the broker must have lost it...
                Q(queued__isnull=True)
                | Q(queued__lte=stuck_before)
                # ...or it ran since it was queued and failed: try again once per sweep interval.
                | (Q(last_attempt__gte=F("queued")) & Q(last_attempt__lte=retry_before))
            )
        )
        for object_id in behind.values_list("pk", flat=True)[:BATCH]:
            StoreObject.objects.update_or_create(object_id=object_id, store=row, defaults={"queued_at": now})
            tasks.replicate.delay(object_id, name)
            counts["replicate"] += 1

    # Ingest jobs still "replicating" although every store has the version: the replicate task that would have
    # finished them died after its copies were verified. One more run writes nothing, releases the staged
    # files and marks the jobs done (or leaves them running if copies are still missing).
    stale_jobs = ProcessingJob.objects.filter(
        state=ProcessingJob.State.RUNNING, stage="replicating", updated__lt=stuck_before
    )
    for object_id in stale_jobs.values_list("object_id", flat=True).distinct()[:BATCH]:
        names = store_names_for(HeritageObject.objects.get(pk=object_id))
        stale_jobs.filter(object_id=object_id).update(updated=now)
        if names:
            tasks.replicate.delay(object_id, names[0])
            counts["finish"] += 1

    # Uploads whose every byte arrived but whose hand-off to the catalogue failed (a database outage at that
    # moment) and whose client never came back: finish them from the bytes and digest state we hold.
    from archive.uploads.handoff import finish_received

    received = Upload.objects.filter(completed_at__isnull=True, offset=F("length"), updated__lt=stuck_before)
    for upload in received.select_related("object", "user")[:BATCH]:
        finish_received(upload)
        counts["finished_uploads"] = counts.get("finished_uploads", 0) + 1
    expired = Upload.objects.filter(
        completed_at__isnull=True, updated__lt=now - timedelta(days=settings.ARCHIVE_UPLOAD_EXPIRY_DAYS)
    )
    for upload in expired[:BATCH]:
        upload_part_path(upload.id).unlink(missing_ok=True)
        upload.delete()
        counts["expired_uploads"] += 1
    counts["abandoned_api_uploads"] = remove_abandoned_api_uploads(now)
    counts["orphaned_staging"] = remove_orphaned_staging(now)
    return counts


def remove_abandoned_api_uploads(now=None) -> int:
    """Partial files of REST API uploads whose web process died mid-request (``uploads/api-*.part``): a
    finished upload is renamed away at once, so one untouched for a day is garbage."""

    now = now or timezone.now()
    cutoff = (now - timedelta(days=1)).timestamp()
    removed = 0
    for path in (staging_root() / "uploads").glob("api-*.part"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def remove_orphaned_staging(now=None) -> int:
    """Staging folders of files whose catalogue row was never written (the database failed while the file was
    being received, after its bytes were moved into place): a day old and with no asset of that id."""
    now = now or timezone.now()
    cutoff = (now - timedelta(days=1)).timestamp()
    root = staging_root() / "assets"
    if not root.is_dir():
        return 0
    removed = 0
    for folder in root.iterdir():
        try:
            asset_id = uuid.UUID(folder.name)
            if folder.stat().st_mtime >= cutoff or Asset.objects.filter(pk=asset_id).exists():
                continue
        except (ValueError, FileNotFoundError):
            continue
        remove_tree(folder)
        removed += 1
    return removed
