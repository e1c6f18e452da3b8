"""Thin Celery tasks: ids in, reload, call one pipeline step, enqueue the next.

Transient failures (a store down, a staged file on a slow disk) retry with exponential backoff up to
ARCHIVE_TASK_MAX_RETRIES; after that the database-driven sweeper picks the work up again, however long
the outage lasts. Permanent failures (a bad file) are quarantined by the pipeline and never retried.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from archive.models import Asset, HeritageObject
from preservation import pipeline
from preservation.processors.base import ProcessingError
from preservation.stores.base import StoreError

log = logging.getLogger(__name__)
TRANSIENT = (StoreError, ProcessingError, OSError)


def _retry(task, error: Exception):
    """Retry with capped exponential backoff; after the last retry, leave the work to the sweeper."""
    retries = task.request.retries
    if retries >= settings.ARCHIVE_TASK_MAX_RETRIES:
        log.warning("%s gave up after %s retries: %s (the sweeper will retry)", task.name, retries, error)
        return None
    countdown = min(2 ** (retries + 1), settings.ARCHIVE_TASK_RETRY_BACKOFF_MAX)
    raise task.retry(exc=error, countdown=countdown, max_retries=settings.ARCHIVE_TASK_MAX_RETRIES)


def _permanent(error: Exception) -> bool:
    return isinstance(error, ProcessingError) and error.permanent


@shared_task(bind=True, name="preservation.ingest", acks_late=True)
def ingest(self, asset_id: str) -> None:
    """Identify a received original, then hand it to the media queue."""
    asset = Asset.objects.select_related("object").get(pk=asset_id)
    try:
        if pipeline.ingest_asset(asset):
            process.apply_async((asset_id,), queue=pipeline.processing_queue(asset))
    except TRANSIENT as error:
        if _permanent(error):
            raise
        _retry(self, error)


@shared_task(bind=True, name="preservation.process", acks_late=True)
def process(self, asset_id: str) -> None:
    """Validate and normalize one original (CPU heavy: queue "media", or "heavy" for 3D), then package it."""
    asset = Asset.objects.select_related("object").get(pk=asset_id)
    try:
        if pipeline.process_asset(asset):
            package.delay(asset.object_id)
    except TRANSIENT as error:
        if _permanent(error):
            raise
        _retry(self, error)


@shared_task(name="preservation.package", acks_late=True)
def package(object_id: int) -> None:
    """Make the next OCFL version from processed files, then replicate it to every allowed store."""
    from preservation.replication import store_names_for

    obj = HeritageObject.objects.get(pk=object_id)
    pipeline.package_object(obj)
    for name in store_names_for(obj):
        replicate.delay(object_id, name)


@shared_task(bind=True, name="preservation.replicate", acks_late=True)
def replicate(self, object_id: int, store_name: str) -> None:
    """Bring one store up to the object's latest version, verifying every byte written."""
    from preservation.replication import replicate_object

    obj = HeritageObject.objects.get(pk=object_id)
    try:
        replicate_object(obj, store_name)
    except StoreError as error:
        _retry(self, error)
    pipeline.finish_jobs(obj)


@shared_task(name="preservation.sweep")
def sweep() -> dict:
    """Re-queue stuck or unfinished work from the database (beat runs this every minute)."""
    from preservation.sweeper import sweep as run_sweep

    return run_sweep()


@shared_task(name="preservation.audit")
def audit() -> int:
    """Beat: queue an audit task for every object due under its threat level's interval (ARCHIVE_POLICY).

    One task per object, so the work spreads over every worker listening on the replication queue."""
    from preservation.fixity import schedule_due_audits

    return schedule_due_audits(lambda object_id: audit_object.delay(object_id))


@shared_task(bind=True, name="preservation.audit_object", acks_late=True)
def audit_object(
    self, object_id: int, repair: bool = True, store: str | None = None, since_days: float | None = None
) -> dict:
    """Audit one object's copies (throttled per worker), repair, and hold it to its policy."""
    from preservation import fixity
    from preservation.policy import policy_for

    obj = HeritageObject.objects.get(pk=object_id)
    owner = self.request.id or "in-process"
    if not fixity.claim(obj, owner):
        # Another worker audits it now (or died doing so: the lease expires and the sweep re-queues).
        return {"skipped": obj.identifier}
    try:
        if since_days is None and store is None:
            since_days = policy_for(obj).audit_every_days
        report = fixity.audit_object(
            obj,
            fixity.AuditReport(),
            fixity.Throttle(settings.ARCHIVE_AUDIT_MB_PER_S or None),
            store=store,
            repair=repair,
            since_days=since_days,
        )
    finally:
        fixity.release(obj, owner)
    return report.as_dict()
