"""The sweeper finds unfinished work in the database, not in the broker."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from unittest import mock

from django.utils import timezone

from archive import actions
from archive.models import Asset, Upload
from preservation import sweeper
from preservation.staging import upload_part_path
from tests.factories import make_object
from tests.preservation import imagegen


def test_an_original_stuck_before_processing_is_queued_again(personas, tmp_path, settings):
    obj = make_object(personas.collection, "Stuck scan", published=False)
    path = imagegen.make_jpeg(tmp_path / "stuck.jpg", size=(64, 48))
    data = path.read_bytes()
    asset, _ = actions.receive_file(obj, path, "stuck.jpg", hashlib.sha256(data).hexdigest(), len(data), enqueue=False)
    later = timezone.now() + timedelta(seconds=settings.ARCHIVE_STUCK_AFTER_SECONDS + 1)
    with mock.patch("preservation.tasks.ingest.delay") as ingest:
        assert sweeper.sweep(now=timezone.now())["ingest"] == 0  # not stuck yet
        assert sweeper.sweep(now=later)["ingest"] == 1
    ingest.assert_called_once_with(str(asset.id))
    # Eagerly, the re-queued work completes the whole pipeline (the sweep above marked it as retried).
    sweeper.sweep(now=later + timedelta(seconds=settings.ARCHIVE_STUCK_AFTER_SECONDS + 1))
    asset.refresh_from_db()
    assert asset.status == Asset.State.READY
    assert asset.replicas.filter(state="ok").count() == 2


def test_an_abandoned_upload_is_removed_with_its_partial_file(personas, settings):
    obj = make_object(personas.collection, "Abandoned", published=False)
    upload = Upload.objects.create(object=obj, user=personas.curator, original_name="big.tif", length=10)
    part = upload_part_path(upload.id)
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(b"12345")
    Upload.objects.filter(pk=upload.pk).update(updated=timezone.now() - timedelta(days=8))
    assert sweeper.sweep()["expired_uploads"] == 1
    assert not part.exists() and not Upload.objects.exists()


def test_too_few_stores_for_an_access_level_is_reported_at_start_up(settings):
    from preservation.checks import check_stores

    assert check_stores() == []
    settings.ARCHIVE_STORES[1]["access_levels"] = ["public"]
    messages = check_stores()
    assert [m.id for m in messages] == ["preservation.W001", "preservation.W001"]
    assert "'restricted'" in messages[-1].msg


def test_a_partial_api_upload_left_by_a_dead_web_process_is_removed_after_a_day(db):
    import os

    from preservation.staging import staging_root

    folder = staging_root() / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    old, fresh = folder / "api-old.part", folder / "api-fresh.part"
    old.write_bytes(b"half a photo")
    fresh.write_bytes(b"arriving now")
    two_days_ago = (timezone.now() - timedelta(days=2)).timestamp()
    os.utime(old, (two_days_ago, two_days_ago))
    assert sweeper.sweep()["abandoned_api_uploads"] == 1
    assert not old.exists() and fresh.exists()


def test_a_copy_waiting_in_a_backlog_is_not_queued_again_until_it_runs_or_is_lost(personas, tmp_path, settings):
    """The soak saw 11,000 needless replicate tasks: the sweeper re-queued every copy still waiting in the
    queue at each sweep. A queued copy is left alone until it has run (and failed) or the broker lost it."""
    from preservation.models import StoreObject
    from preservation.replication import mark_queued
    from tests.factories import preserve_file

    obj = make_object(personas.collection, "Backlogged jar")
    preserve_file(obj, imagegen.make_jpeg(tmp_path / "jar.jpg", size=(64, 48)), tmp_path)
    StoreObject.objects.filter(object=obj, store__name="local-b").update(head_version=0, last_attempt_at=None)
    mark_queued(obj.pk, ["local-b"])  # package queued it; the task sits in a long queue
    interval = settings.CELERY_BEAT_SCHEDULE["sweep-under-replicated"]["schedule"]
    with mock.patch("preservation.tasks.replicate.delay") as replicate:
        assert sweeper.sweep(now=timezone.now() + timedelta(seconds=interval * 3))["replicate"] == 0
        lost = timezone.now() + timedelta(seconds=settings.ARCHIVE_STUCK_AFTER_SECONDS + 1)
        assert sweeper.sweep(now=lost)["replicate"] == 1  # queued that long ago: the broker lost it
        assert sweeper.sweep(now=lost + timedelta(seconds=1))["replicate"] == 0  # just queued again
        # It ran and failed (the lease stamps the attempt): retried once the sweep interval has passed.
        StoreObject.objects.filter(object=obj, store__name="local-b").update(
            last_attempt_at=lost + timedelta(seconds=2)
        )
        assert sweeper.sweep(now=lost + timedelta(seconds=interval + 3))["replicate"] == 1
    replicate.assert_called_with(obj.pk, "local-b")
