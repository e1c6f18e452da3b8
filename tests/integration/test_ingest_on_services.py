"""The whole path on real services: tus upload -> Redis -> Celery worker process -> PostgreSQL ->
two rclone S3 servers holding verified OCFL objects."""

from __future__ import annotations

import hashlib
import threading

import pytest

from archive.models import Asset, Upload
from preservation.models import ProcessingJob, Replica
from preservation.stores import registry
from tests.factories import make_object
from tests.fixtures.services import wait_for
from tests.integration.tusclient import login, upload
from tests.preservation import imagegen
from tests.preservation.ocfl_validation import validate_s3_root

pytestmark = [pytest.mark.services, pytest.mark.timeout(300)]


def use_s3_stores(settings, servers) -> None:
    settings.ARCHIVE_STORES = [
        servers[0].store_config("s3-a", jurisdiction="FR"),
        servers[1].store_config("s3-b", jurisdiction="CA"),
    ]
    registry.reset()


def preserved(asset: Asset) -> bool:
    job = ProcessingJob.objects.filter(asset=asset).first()
    return bool(job and job.state in (ProcessingJob.State.DONE, ProcessingJob.State.FAILED))


def photo(tmp_path, name="field-photo.jpg"):
    """A small real JPEG; its size depends on the name so different names give different bytes."""
    width = 600 + sum(map(ord, name)) % 97
    return imagegen.make_jpeg(
        tmp_path / name, size=(width, 480), exif=imagegen.make_exif(orientation=6), icc=imagegen.srgb_icc()
    )


def test_a_tus_upload_reaches_both_s3_stores_verified_and_ocfl_valid(
    settings, two_s3_servers, start_worker, live_server, personas, tmp_path
):
    use_s3_stores(settings, two_s3_servers)
    start_worker()
    obj = make_object(personas.collection, "Carved door", published=False)
    source = photo(tmp_path)
    headers = login(live_server.url, "curator")
    upload(live_server.url, headers, source, obj.identifier)

    original = wait_for(lambda: Asset.objects.filter(object=obj, role="original").first(), 30, what="asset")
    wait_for(lambda: preserved(original), 120, what="processing and replication")
    original.refresh_from_db()
    assert original.status == Asset.State.READY
    assert original.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    family = Asset.objects.filter(object=obj).exclude(role="metadata")
    assert {a.role for a in family} == {"original", "master", "access", "thumbnail"}
    for asset in family:
        replicas = asset.replicas.select_related("store")
        assert {r.store.name for r in replicas if r.state == Replica.State.OK} == {"s3-a", "s3-b"}
        copies = []
        for server, replica in zip(two_s3_servers, sorted(replicas, key=lambda r: r.store.name), strict=True):
            data = server.path_of(replica.key).read_bytes()
            assert hashlib.sha256(data).hexdigest() == asset.sha256
            copies.append(data)
        assert copies[0] == copies[1]
    assert two_s3_servers[0].path_of(original.replicas.first().key).read_bytes() == source.read_bytes()
    original.refresh_from_db()
    assert original.local_path == ""  # staging released only after two verified copies
    for server in two_s3_servers:
        validate_s3_root(server)


def test_a_store_down_past_the_retry_window_is_healed_by_the_sweeper(
    settings, two_s3_servers, start_worker, live_server, personas, tmp_path
):
    settings.ARCHIVE_TASK_MAX_RETRIES = 1
    settings.ARCHIVE_TASK_RETRY_BACKOFF_MAX = 2
    settings.CELERY_BEAT_SCHEDULE = {"sweep-under-replicated": {"task": "preservation.sweep", "schedule": 2.0}}
    use_s3_stores(settings, two_s3_servers)
    first, second = two_s3_servers
    second.stop()
    start_worker()
    obj = make_object(personas.collection, "Manuscript page", published=False)
    source = photo(tmp_path, "page.jpg")
    upload(live_server.url, login(live_server.url, "curator"), source, obj.identifier)
    original = wait_for(lambda: Asset.objects.filter(object=obj, role="original").first(), 30, what="asset")
    wait_for(
        lambda: Replica.objects.filter(asset=original, store__name="s3-a", state="ok").exists(),
        120,
        what="first store copy",
    )
    # Retries run out while the second store stays down: the object is under-replicated, not lost.
    wait_for(
        lambda: obj.store_states.filter(store__name="s3-b", attempts__gte=2).exists(),
        60,
        what="retries against the stopped store",
    )
    original.refresh_from_db()
    assert original.local_path, "staging must be kept while only one verified copy exists"
    assert not Replica.objects.filter(asset__object=obj, store__name="s3-b", state="ok").exists()
    second.start()
    wait_for(lambda: preserved(original), 120, what="the sweeper to heal the second store")
    for asset in Asset.objects.filter(object=obj):
        replica = asset.replicas.get(store__name="s3-b")
        assert replica.state == Replica.State.OK
        assert hashlib.sha256(second.path_of(replica.key).read_bytes()).hexdigest() == asset.sha256
    validate_s3_root(second)


def test_bad_files_are_quarantined_and_the_good_one_still_goes_through(
    settings, two_s3_servers, start_worker, live_server, personas, tmp_path
):
    use_s3_stores(settings, two_s3_servers)
    start_worker()
    obj = make_object(personas.collection, "Mixed batch", published=False)
    good = photo(tmp_path, "good.jpg")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    not_image = tmp_path / "notes.jpg"
    not_image.write_text("these are field notes, not a photograph\n" * 20)
    bomb = imagegen.bomb_png(tmp_path / "bomb.png")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    traversal = tmp_path / "traversal.jpg"
    traversal.write_bytes(imagegen.jpeg_bytes(quality=80))
    headers = login(live_server.url, "curator")
    for path, name in [
        (good, None),
        (truncated, None),
        (not_image, None),
        (bomb, None),
        (empty, None),
        (traversal, "../../etc/evil.jpg"),
    ]:
        upload(live_server.url, headers, path, obj.identifier, name=name)
    wait_for(lambda: Asset.objects.filter(object=obj, role="original").count() == 6, 30, what="six assets")

    def originals():
        return Asset.objects.filter(object=obj, role="original")

    wait_for(lambda: all(preserved(a) for a in originals()), 120, what="all six final")
    by_name = {a.original_name: a for a in originals()}
    assert by_name["good.jpg"].status == Asset.State.READY
    expected = {
        "truncated.jpg": "truncated",
        "notes.jpg": "",
        "bomb.png": "pixels",
        "empty.jpg": "empty",
        "../../etc/evil.jpg": "..",
    }
    for name, words in expected.items():
        asset = by_name[name]
        assert asset.status == Asset.State.QUARANTINED, (name, asset.status, asset.status_message)
        assert words in asset.status_message.lower(), (name, asset.status_message)
        assert not asset.replicas.exists(), f"{name} must never reach a store"
    assert "Traceback" not in "".join(a.status_message for a in originals())


def test_concurrent_uploads_of_the_same_bytes_make_one_asset(live_server, personas, tmp_path, settings):
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        pytest.skip("concurrency is proven on PostgreSQL")
    obj = make_object(personas.collection, "Duplicate race", published=False)
    source = photo(tmp_path, "same.jpg")
    headers = login(live_server.url, "curator")
    errors = []

    def send():
        try:
            upload(live_server.url, headers, source, obj.identifier)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert Asset.objects.filter(object=obj, role="original").count() == 1
    assert Upload.objects.filter(object=obj, completed_at__isnull=False).count() == 6
    assert Upload.objects.filter(object=obj, duplicate=False).count() == 1


def test_bulk_ingest_with_workers_waits_for_them_and_is_idempotent(
    settings, two_s3_servers, start_worker, personas, tmp_path, capsys
):
    from django.core.management import call_command

    use_s3_stores(settings, two_s3_servers)
    start_worker()
    batch = tmp_path / "field-trip"
    (batch / "mosaic").mkdir(parents=True)
    photo(batch / "mosaic", "north.jpg")
    photo(batch / "mosaic", "south.jpg")
    photo(batch, "loose.jpg")
    args = [str(batch), "--collection", personas.collection.slug, "--workers", "--timeout", "180"]
    call_command("ingest", *args, verbosity=0)
    out = capsys.readouterr().out
    assert "files ingested: 3; duplicates: 0; rejected: 0" in out
    for asset in Asset.objects.filter(role="original"):
        assert asset.replicas.filter(state="ok").count() == 2
    call_command("ingest", *args, verbosity=0)
    assert "files ingested: 0; duplicates: 3; rejected: 0" in capsys.readouterr().out
    assert Asset.objects.filter(role="original").count() == 3


def test_3d_scans_go_through_the_heavy_queue_and_hostile_ones_leave_the_worker_unharmed(
    settings, two_s3_servers, start_worker, live_server, personas, tmp_path
):
    import numpy as np

    from tests.preservation import meshgen

    use_s3_stores(settings, two_s3_servers)
    start_worker()
    obj = make_object(personas.collection, "Scanned altar", published=False)
    sphere = meshgen.sphere(3)
    good = meshgen.write_ply(tmp_path / "altar.ply", sphere.vertices.astype(np.float32), sphere.faces)
    lying = tmp_path / "lying.ply"
    lying.write_bytes(
        b"ply\nformat binary_little_endian 1.0\nelement vertex 1000000000000\n"
        b"property float x\nproperty float y\nproperty float z\nend_header\n"
    )
    headers = login(live_server.url, "curator")
    upload(live_server.url, headers, lying, obj.identifier)
    upload(live_server.url, headers, good, obj.identifier)

    def originals():
        return Asset.objects.filter(object=obj, role="original")

    wait_for(lambda: originals().count() == 2 and all(preserved(a) for a in originals()), 180, what="both final")
    by_name = {a.original_name: a for a in originals()}
    assert by_name["lying.ply"].status == Asset.State.QUARANTINED
    assert "1000000000000" in by_name["lying.ply"].status_message
    assert by_name["altar.ply"].status == Asset.State.READY, by_name["altar.ply"].status_message
    roles = set(Asset.objects.filter(object=obj, derived_from=by_name["altar.ply"]).values_list("role", flat=True))
    assert roles == {"master", "access", "preview", "thumbnail"}
    for asset in Asset.objects.filter(object=obj).exclude(status=Asset.State.QUARANTINED):
        assert asset.replicas.filter(state="ok").count() == 2
