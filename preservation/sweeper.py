"""The database-driven sweeper: the catalogue, not the broker, says what is unfinished.

Retries run out and a broker restarted without persistence forgets its queue; the sweeper looks at
the rows instead: originals stuck before processing finished, processed files not yet in a version,
objects whose latest version has not reached every allowed store. It re-queues each, at most once
per interval, so an outage of any length heals when the store returns.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from archive.models import Asset, HeritageObject
from preservation.models import StoreObject


def sweep(now=None) -> dict:
    """Queue what is unfinished; return counts per kind (for logs and tests)."""
    from preservation import tasks
    from preservation.replication import ensure_store_rows, store_names_for

    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=settings.ARCHIVE_STUCK_AFTER_SECONDS)
    counts = {"ingest": 0, "process": 0, "package": 0, "replicate": 0}

    for asset_id in Asset.objects.filter(
        role=Asset.Role.ORIGINAL, status=Asset.State.RECEIVED, updated__lt=stuck_before
    ).values_list("id", flat=True):
        Asset.objects.filter(pk=asset_id).update(updated=now)
        tasks.ingest.delay(str(asset_id))
        counts["ingest"] += 1
    for asset_id in Asset.objects.filter(
        role=Asset.Role.ORIGINAL, status=Asset.State.PROCESSING, updated__lt=stuck_before
    ).values_list("id", flat=True):
        Asset.objects.filter(pk=asset_id).update(updated=now)
        tasks.process.delay(str(asset_id))
        counts["process"] += 1
    for object_id in (
        Asset.objects.filter(status=Asset.State.READY, version__isnull=True, updated__lt=stuck_before)
        .values_list("object_id", flat=True)
        .distinct()
    ):
        tasks.package.delay(object_id)
        counts["package"] += 1

    stores = ensure_store_rows()
    retry_before = now - timedelta(seconds=float(settings.CELERY_BEAT_SCHEDULE["sweep-under-replicated"]["schedule"]))
    with_versions = HeritageObject.objects.annotate(head=Max("versions__number")).filter(head__isnull=False)
    for obj in with_versions:
        for name in store_names_for(obj):
            state = StoreObject.objects.filter(object=obj, store=stores[name]).first()
            if state and state.head_version >= obj.head:
                continue
            if state and (
                (state.lease_until and state.lease_until > now)
                or (state.last_attempt_at and state.last_attempt_at > retry_before)
            ):
                continue
            if state:
                StoreObject.objects.filter(pk=state.pk).filter(
                    Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lte=retry_before)
                ).update(last_attempt_at=now)
            tasks.replicate.delay(obj.pk, name)
            counts["replicate"] += 1
    return counts
