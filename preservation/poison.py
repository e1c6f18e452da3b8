"""Files that kill the worker processing them.

With ``acks_late`` and ``task_reject_on_worker_lost`` a task whose worker dies is delivered again, which is
right for a worker killed by a restart, and wrong for a file that kills every worker that opens it (memory
exhausted by a hostile 3D scan, a crash inside a decoding library): it would be redelivered for ever. Each
processing run is counted when it starts and uncounted when it ends, however it ends; only runs whose process
died stay counted. After ARCHIVE_MAX_KILLED_RUNS of those the original is quarantined with a message instead
of being handed to another worker.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError
from django.db.models import F

from archive.models import Asset
from preservation.models import ProcessingJob


@contextlib.contextmanager
def counted_run(asset: Asset) -> Iterator[bool]:
    """Yield True if this run may go ahead, False when the original was quarantined as a worker killer."""
    job, _ = ProcessingJob.objects.get_or_create(asset=asset, defaults={"object": asset.object})
    killed = job.unfinished_runs
    if killed >= settings.ARCHIVE_MAX_KILLED_RUNS and asset.status == Asset.State.PROCESSING:
        from preservation.pipeline import quarantine, refusal

        quarantine(
            asset,
            refusal(
                asset,
                f"processing it stopped the worker {killed} times without finishing (memory exhausted, or a "
                "crash inside a decoding library)",
            ),
        )
        yield False
        return
    ProcessingJob.objects.filter(pk=job.pk).update(unfinished_runs=F("unfinished_runs") + 1)
    try:
        yield True
    finally:
        # When the database itself failed the run stays counted; it takes several such runs to quarantine.
        with contextlib.suppress(DatabaseError):
            ProcessingJob.objects.filter(pk=job.pk, unfinished_runs__gt=0).update(
                unfinished_runs=F("unfinished_runs") - 1
            )
