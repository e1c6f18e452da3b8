"""Thin Celery tasks: ids in, reload, call one pipeline step, enqueue the next.

Every task is acknowledged late (settings: CELERY_TASK_ACKS_LATE, CELERY_TASK_REJECT_ON_WORKER_LOST, and
``acks_late=True`` here too): a worker killed mid-task leaves the message to be delivered again, and the
pipeline's steps are idempotent, so the second run finishes the work or finds it done.

Transient failures (a store down, a staged file on a slow disk, the database restarting) retry with
exponential backoff up to ARCHIVE_TASK_MAX_RETRIES; after that the database-driven sweeper picks the work
up again, however long the outage lasts. Permanent failures (a bad file) are quarantined by the pipeline
and never retried. A broker that cannot take the next step's message is not an error of this step: the
sweeper queues that step from the catalogue once the broker is back.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerUnavailable

from archive.models import Asset, HeritageObject
from preservation import pipeline
from preservation.processors.base import ProcessingError
from preservation.stores.base import StoreError

log = logging.getLogger(__name__)
# OperationalError: the database restarted, failed over or dropped the connection (also deadlocks and
# serialization failures); InterfaceError: the connection was already closed. The next attempt reconnects.
DATABASE_DOWN = (OperationalError, InterfaceError)
TRANSIENT = (StoreError, ProcessingError, OSError, *DATABASE_DOWN)


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


@contextlib.contextmanager
def retrying(task) -> Iterator[None]:
    """Run a task body; a transient error retries the task (or, retries spent, leaves it to the sweeper)."""
    try:
        yield
    except TRANSIENT as error:
        if _permanent(error):
            raise
        _retry(task, error)


def enqueue(task, args: tuple, queue: str | None = None) -> bool:
    """Queue the next step. The broker being unreachable (after the publish retry policy) is logged, not
    raised: the step before is done and recorded, and the sweeper queues this one from the catalogue."""
    try:
        task.apply_async(args, queue=queue)
    except BrokerUnavailable as error:
        log.warning("could not queue %s%s: %s (the sweeper will queue it)", task.name, args, error)
        return False
    return True


@shared_task(bind=True, name="preservation.ingest", acks_late=True)
def ingest(self, asset_id: str) -> None:
    """Identify a received original, then hand it to the media queue."""
    with retrying(self):
        asset = Asset.objects.select_related("object").get(pk=asset_id)
        if pipeline.ingest_asset(asset):
            enqueue(process, (asset_id,), queue=pipeline.processing_queue(asset))


@shared_task(bind=True, name="preservation.process", acks_late=True)
def process(self, asset_id: str) -> None:
    """Validate and normalize one original (CPU heavy: queue "media", or "heavy" for 3D), then package it."""
    from preservation.poison import counted_run

    with retrying(self):
        asset = Asset.objects.select_related("object").get(pk=asset_id)
        with counted_run(asset) as allowed:
            ready = allowed and pipeline.process_asset(asset)
        if ready:
            enqueue(package, (asset.object_id,))


@shared_task(bind=True, name="preservation.package", acks_late=True)
def package(self, object_id: int) -> None:
    """Make the next OCFL version from processed files, then replicate it to every allowed store."""
    from preservation.replication import mark_queued, store_names_for

    with retrying(self):
        obj = HeritageObject.objects.get(pk=object_id)
        pipeline.package_object(obj)
        names = store_names_for(obj)
        mark_queued(object_id, names)
        for name in names:
            enqueue(replicate, (object_id, name))


@shared_task(bind=True, name="preservation.replicate", acks_late=True)
def replicate(self, object_id: int, store_name: str) -> None:
    """Bring one store up to the object's latest version, verifying every byte written."""
    from preservation.replication import replicate_object

    with retrying(self):
        obj = HeritageObject.objects.get(pk=object_id)
        replicate_object(obj, store_name, owner=self.request.id)
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
) -> dict | None:
    """Audit one object's copies (throttled per worker), repair, and hold it to its policy.

    A redelivered or retried task keeps its id, so it takes its own lease back at once and resumes."""
    from preservation import fixity
    from preservation.policy import policy_for

    with retrying(self):
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
    return None
