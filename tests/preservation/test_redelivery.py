"""Running a step again, or twice at once, never changes what the first run recorded; transient failures
(the database restarting, the broker down) retry or wait for the sweeper instead of failing the work.

Embedded and in one process; the same faults on real services (a worker SIGKILLed, Redis and PostgreSQL
restarted) are in tests/integration/test_worker_faults.py and test_broker_and_database_restarts.py.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.db import OperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from archive import actions
from archive.models import Asset
from preservation import pipeline, sweeper, tasks
from preservation.models import PreservationEvent, ProcessingJob
from preservation.staging import asset_dir
from tests.factories import make_object
from tests.preservation import imagegen


@pytest.fixture
def original(personas, tmp_path) -> Asset:
    obj = make_object(personas.collection, "Carved door", published=False)
    path = imagegen.make_jpeg(tmp_path / "door.jpg", size=(320, 240))
    staged = tmp_path / "staged-door.jpg"
    shutil.copyfile(path, staged)
    data = path.read_bytes()
    asset, _ = actions.receive_file(obj, staged, "door.jpg", hashlib.sha256(data).hexdigest(), len(data), enqueue=False)
    return asset


def derivatives(original: Asset) -> dict[str, tuple[str, str]]:
    return {a.role: (a.sha256, a.local_path) for a in Asset.objects.filter(derived_from=original)}


def test_a_second_run_of_normalization_keeps_what_the_first_recorded(original):
    assert pipeline.ingest_asset(original)
    stale = Asset.objects.get(pk=original.pk)  # a redelivered task loaded the row before the first run ended
    assert pipeline.process_asset(Asset.objects.get(pk=original.pk))
    first = derivatives(original)
    events = PreservationEvent.objects.filter(asset=original).count()

    assert stale.status == Asset.State.PROCESSING
    assert pipeline.process_asset(stale)  # does all the work again, then finds the step done and drops it
    assert derivatives(original) == first
    assert PreservationEvent.objects.filter(asset=original).count() == events
    assert len(first) == 3 and all(Path(path).is_file() for _, path in first.values())
    assert sorted(p.name for p in asset_dir(original.id).iterdir()) == ["derived", "door.jpg"], "no working folder"


def test_a_second_run_of_identification_records_nothing_twice(original):
    stale = Asset.objects.get(pk=original.pk)
    assert pipeline.ingest_asset(Asset.objects.get(pk=original.pk))
    assert pipeline.ingest_asset(stale)
    assert PreservationEvent.objects.filter(asset=original, event_type="format identification").count() == 1


def test_a_task_meeting_a_database_restart_retries_instead_of_failing(original, settings):
    settings.ARCHIVE_TASK_MAX_RETRIES = 3
    calls = []

    def flaky(asset):
        calls.append(asset.pk)
        if len(calls) == 1:
            raise OperationalError("terminating connection due to administrator command")
        return False  # stop the chain here: only the retry is under test

    with mock.patch.object(pipeline, "ingest_asset", side_effect=flaky):
        result = tasks.ingest.apply(args=(str(original.pk),), throw=False)  # retried eagerly, in place
    assert result.successful()
    assert len(calls) == 2


def test_a_task_whose_retries_run_out_leaves_the_work_to_the_sweeper(original, settings):
    settings.ARCHIVE_TASK_MAX_RETRIES = 0
    refused = OperationalError("connection refused")
    with mock.patch.object(pipeline, "ingest_asset", side_effect=refused):
        assert tasks.ingest.apply(args=(str(original.pk),)).successful()
    original.refresh_from_db()
    assert original.status == Asset.State.RECEIVED  # still unfinished in the catalogue: the sweeper's to find


def test_a_broker_that_cannot_take_the_next_step_leaves_it_to_the_sweeper(original, settings):
    with mock.patch.object(tasks.process, "apply_async", side_effect=BrokerUnavailable("Redis is restarting")):
        assert tasks.ingest.apply(args=(str(original.pk),)).successful()
    original.refresh_from_db()
    assert original.status == Asset.State.PROCESSING
    later = timezone.now() + timedelta(seconds=settings.ARCHIVE_STUCK_AFTER_SECONDS + 1)
    assert sweeper.sweep(now=later)["process"] == 1  # eagerly: processed, packaged, replicated
    original.refresh_from_db()
    assert original.status == Asset.State.READY and original.replicas.filter(state="ok").count() == 2


def test_jobs_left_replicating_by_a_lost_task_are_finished_by_the_sweeper(original, settings):
    with mock.patch.object(pipeline, "finish_jobs"):  # the replicate tasks died before finishing the job
        pipeline.run_in_process(original)
    job = ProcessingJob.objects.get(asset=original)
    assert job.state == ProcessingJob.State.RUNNING and job.stage == "replicating"
    later = timezone.now() + timedelta(seconds=settings.ARCHIVE_STUCK_AFTER_SECONDS + 1)
    assert sweeper.sweep(now=later)["finish"] == 1
    job.refresh_from_db()
    assert job.state == ProcessingJob.State.DONE


def test_a_file_received_while_the_database_fails_is_kept_then_its_orphan_folder_removed(personas, tmp_path):
    obj = make_object(personas.collection, "Lost in transit", published=False)
    kept = make_object(personas.collection, "Safe", published=False)
    staged = imagegen.make_jpeg(tmp_path / "staged.jpg", size=(64, 48))
    data = staged.read_bytes()
    with (
        mock.patch.object(Asset.objects, "create", side_effect=OperationalError("server closed the connection")),
        pytest.raises(OperationalError),
    ):
        actions.receive_file(obj, staged, "photo.jpg", hashlib.sha256(data).hexdigest(), len(data), enqueue=False)
    # The commit may have succeeded unseen: the bytes stay where its row would look for them.
    (orphan,) = asset_dir("x").parent.iterdir()
    assert (orphan / "photo.jpg").read_bytes() == data
    assert not Asset.objects.filter(object=obj).exists()
    other = imagegen.make_jpeg(tmp_path / "other.jpg", size=(48, 64))
    safe, _ = actions.receive_file(
        kept, other, "other.jpg", hashlib.sha256(other.read_bytes()).hexdigest(), other.stat().st_size, enqueue=False
    )
    assert sweeper.sweep()["orphaned_staging"] == 0  # not a day old yet
    assert sweeper.sweep(now=timezone.now() + timedelta(days=2))["orphaned_staging"] == 1
    assert not orphan.exists()
    safe.refresh_from_db()  # the same sweep queued the received file: eagerly, it is now preserved
    assert safe.status == Asset.State.READY and safe.replicas.filter(state="ok").count() == 2


def test_a_file_that_killed_the_worker_three_times_is_quarantined_not_redelivered_for_ever(personas, tmp_path):
    """Runs whose worker died stay counted (a normal end, even by an error, uncounts itself); after
    ARCHIVE_MAX_KILLED_RUNS the original is quarantined with a message instead of killing another worker."""
    import hashlib

    from archive import actions
    from archive.models import Asset
    from preservation import pipeline, tasks
    from preservation.models import ProcessingJob
    from tests.factories import make_object
    from tests.preservation import imagegen

    obj = make_object(personas.collection, "Killer scan", published=False)
    path = imagegen.make_jpeg(tmp_path / "killer.jpg", size=(64, 48))
    data = path.read_bytes()
    asset, _ = actions.receive_file(obj, path, "killer.jpg", hashlib.sha256(data).hexdigest(), len(data), enqueue=False)
    assert pipeline.ingest_asset(asset)
    ProcessingJob.objects.filter(asset=asset).update(unfinished_runs=3)  # three workers died on it
    tasks.process.delay(str(asset.id))
    asset.refresh_from_db()
    assert asset.status == Asset.State.QUARANTINED
    assert "stopped the worker 3 times" in asset.status_message


def test_a_normal_processing_run_leaves_no_count_behind(personas, tmp_path):
    import hashlib

    from archive import actions
    from archive.models import Asset
    from preservation import pipeline, tasks
    from preservation.models import ProcessingJob
    from tests.factories import make_object
    from tests.preservation import imagegen

    obj = make_object(personas.collection, "Ordinary photo", published=False)
    path = imagegen.make_jpeg(tmp_path / "ordinary.jpg", size=(64, 48))
    data = path.read_bytes()
    asset, _ = actions.receive_file(
        obj, path, "ordinary.jpg", hashlib.sha256(data).hexdigest(), len(data), enqueue=False
    )
    assert pipeline.ingest_asset(asset)
    tasks.process.delay(str(asset.id))  # eager: processed, packaged, replicated
    asset.refresh_from_db()
    assert asset.status == Asset.State.READY
    assert ProcessingJob.objects.get(asset=asset).unfinished_runs == 0
