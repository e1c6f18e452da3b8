"""The pipeline in one process on the embedded default: two local OCFL stores, eager tasks."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from archive import actions
from archive.models import Asset, HeritageObject
from preservation import pipeline, sweeper
from preservation.models import PreservationEvent, Replica, StoreObject
from preservation.packaging import ocfl
from preservation.stores import registry
from tests.factories import make_object
from tests.preservation import imagegen
from tests.preservation.ocfl_validation import validate_local_root


def receive(obj: HeritageObject, path: Path, name: str | None = None) -> Asset:
    """Hand a file to the catalogue the way the tus endpoint and bulk ingest do."""
    staged = path.parent / f"staged-{path.name}"
    shutil.copyfile(path, staged)
    data = path.read_bytes()
    asset, _ = actions.receive_file(
        obj, staged, name or path.name, hashlib.sha256(data).hexdigest(), len(data), enqueue=False
    )
    return asset


@pytest.fixture
def obj(personas):
    return make_object(personas.collection, "Painted ceiling", published=False)


@pytest.fixture
def jpeg(tmp_path):
    return imagegen.make_jpeg(
        tmp_path / "ceiling.jpg",
        size=(300, 200),
        exif=imagegen.make_exif(orientation=6),
        icc=imagegen.srgb_icc(),
    )


def store_roots(settings) -> list[Path]:
    return [Path(s["options"]["root"]) for s in settings.ARCHIVE_STORES]


def test_a_photo_becomes_a_verified_ocfl_object_on_both_local_stores(obj, jpeg, settings):
    original = pipeline.run_in_process(receive(obj, jpeg))
    assert original.status == Asset.State.READY
    family = {a.role: a for a in Asset.objects.filter(object=obj).exclude(role="metadata")}
    assert set(family) == {"original", "master", "access", "thumbnail"}
    records = Asset.objects.filter(object=obj, role="metadata")
    assert sorted(records.values_list("filename", flat=True)) == ["dc.xml", "object.json", "premis.xml"]
    for record in records:
        assert record.replicas.filter(state=Replica.State.OK).count() == 2 and record.local_path == ""
    assert family["master"].mime == "image/tiff"
    for asset in family.values():
        assert asset.replicas.filter(state=Replica.State.OK).count() == 2
        assert asset.local_path == ""  # staging released after two verified copies
        for replica in asset.replicas.all():
            stored = Path(registry.get_store(replica.store.name).root) / replica.key
            assert hashlib.sha256(stored.read_bytes()).hexdigest() == asset.sha256
    key = original.replicas.first().key
    assert (store_roots(settings)[0] / key).read_bytes() == jpeg.read_bytes()  # the original, bit for bit
    for root in store_roots(settings):
        validate_local_root(root)
    kinds = set(PreservationEvent.objects.filter(object=obj).values_list("event_type", flat=True))
    assert {
        "ingestion",
        "message digest calculation",
        "format identification",
        "normalization",
        "replication",
    } <= kinds


def test_files_added_later_make_a_new_version_identical_on_every_store(obj, jpeg, tmp_path, settings):
    pipeline.run_in_process(receive(obj, jpeg))
    second = imagegen.make_png(tmp_path / "detail.png", imagegen.Image.fromarray(imagegen.rgb8(50, 40)))
    pipeline.run_in_process(receive(obj, second))
    assert list(obj.versions.values_list("number", flat=True)) == [1, 2]
    root = ocfl.object_root(obj.ocfl_id)
    inventories = [(r / root / "inventory.json").read_bytes() for r in store_roots(settings)]
    assert inventories[0] == inventories[1]
    assert b'"head": "v2"' in inventories[0]
    for r in store_roots(settings):
        assert (r / root / "v1" / "inventory.json").exists()
        validate_local_root(r)


def test_running_each_step_twice_changes_nothing(obj, jpeg):
    original = pipeline.run_in_process(receive(obj, jpeg))
    counts = (Asset.objects.count(), Replica.objects.count(), obj.versions.count())
    assert pipeline.process_asset(original) is True
    assert pipeline.package_object(obj) is None
    pipeline.run_in_process(original)
    assert (Asset.objects.count(), Replica.objects.count(), obj.versions.count()) == counts


def test_a_store_that_is_down_leaves_the_object_under_replicated_until_the_sweeper_heals_it(obj, jpeg, settings):
    healthy = settings.ARCHIVE_STORES[1]["options"]["root"]
    blocker = Path(healthy).parent / "not-a-disk"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file where the store's disk should be")
    settings.ARCHIVE_STORES[1]["options"]["root"] = str(blocker / "store")  # a disk that is not there
    registry.reset()
    original = pipeline.run_in_process(receive(obj, jpeg))
    assert Replica.objects.filter(asset=original, store__name="local-a", state="ok").exists()
    assert not Replica.objects.filter(asset=original, store__name="local-b", state="ok").exists()
    original.refresh_from_db()
    assert original.local_path and Path(original.local_path).exists(), "staging kept: one copy only"
    settings.ARCHIVE_STORES[1]["options"]["root"] = healthy  # the disk is back
    registry.reset()
    StoreObject.objects.update(last_attempt_at=None)
    counts = sweeper.sweep()
    assert counts["replicate"] == 1
    for asset in Asset.objects.filter(object=obj):
        assert asset.replicas.filter(state=Replica.State.OK).count() == 2
    original.refresh_from_db()
    assert original.local_path == ""
    validate_local_root(Path(healthy))


@pytest.mark.parametrize(
    "case,expected",
    [
        ("truncated", "truncated"),
        ("not_an_image", ".jpg"),
        ("bomb", "pixels"),
        ("empty", "empty"),
        ("traversal", ".."),
    ],
)
def test_bad_input_is_quarantined_with_a_clear_message_and_never_stored(obj, jpeg, tmp_path, case, expected):
    name = None
    if case == "truncated":
        path = tmp_path / "truncated.jpg"
        path.write_bytes(jpeg.read_bytes()[:-400])
    elif case == "not_an_image":
        path = tmp_path / "notes.jpg"
        path.write_text("field notes, not a photograph\n" * 10)
    elif case == "bomb":
        path = imagegen.bomb_png(tmp_path / "bomb.png")
    elif case == "empty":
        path = tmp_path / "empty.jpg"
        path.write_bytes(b"")
    else:
        path, name = jpeg, "../../etc/passwd.jpg"
    asset = pipeline.run_in_process(receive(obj, path, name))
    assert asset.status == Asset.State.QUARANTINED
    assert expected in asset.status_message.lower()
    assert not Replica.objects.exists()
    assert Path(asset.local_path).exists() and Path(asset.local_path).parent.name == "quarantine"
    assert PreservationEvent.objects.filter(asset=asset, event_type="quarantine").exists()


def test_a_good_file_still_goes_through_beside_a_bad_one(obj, jpeg, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(jpeg.read_bytes()[:100])
    assert pipeline.run_in_process(receive(obj, bad)).status == Asset.State.QUARANTINED
    assert pipeline.run_in_process(receive(obj, jpeg)).status == Asset.State.READY


def test_a_file_without_normalization_policy_is_kept_as_received(obj, tmp_path):
    path = tmp_path / "notes.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    asset = pipeline.run_in_process(receive(obj, path))
    assert asset.status == Asset.State.READY
    assert "no normalization policy" in asset.status_message.lower()
    assert asset.replicas.filter(state="ok").count() == 2
    assert not asset.derivatives.exists()


def test_discarding_a_quarantined_file_needs_a_reason_and_leaves_a_tombstone(obj, tmp_path, personas):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    asset = pipeline.run_in_process(receive(obj, path))
    with pytest.raises(ValueError):
        actions.discard_quarantined(asset, "  ", personas.curator)
    quarantined = Path(asset.local_path)
    actions.discard_quarantined(asset, "empty test file", personas.curator)
    asset.refresh_from_db()
    assert asset.status == Asset.State.DISCARDED and not quarantined.exists()
    assert PreservationEvent.objects.filter(asset=asset, event_type="deletion", detail__contains="empty test").exists()


def test_the_eager_task_chain_runs_from_receipt_to_replication(obj, jpeg, django_capture_on_commit_callbacks):
    staged = jpeg.parent / "staged.jpg"
    shutil.copyfile(jpeg, staged)
    data = jpeg.read_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        asset, _ = actions.receive_file(obj, staged, "ceiling.jpg", hashlib.sha256(data).hexdigest(), len(data))
    asset.refresh_from_db()
    assert asset.status == Asset.State.READY
    assert asset.job.state == "done" and asset.job.progress == 100
    assert asset.replicas.filter(state="ok").count() == 2


def test_bulk_ingest_is_idempotent(personas, tmp_path, jpeg):
    batch = tmp_path / "batch"
    (batch / "door").mkdir(parents=True)
    shutil.copy(jpeg, batch / "door" / "front.jpg")
    imagegen.make_png(batch / "door" / "back.png", imagegen.Image.fromarray(imagegen.rgb8(30, 20)))
    shutil.copy(jpeg, batch / "loose.jpg")
    (batch / "empty.jpg").write_bytes(b"")
    with pytest.raises(SystemExit):  # one rejected file: exit code 2
        call_command("ingest", str(batch), "--collection", personas.collection.slug, "--publish", verbosity=0)
    objects = HeritageObject.objects.filter(collection=personas.collection)
    assert objects.count() == 3
    assert all(o.status == "published" for o in objects)
    door = objects.get(source_reference="door/")
    assert door.originals().count() == 2
    before = (HeritageObject.objects.count(), Asset.objects.count(), PreservationEvent.objects.count())
    call_command("ingest", str(batch), "--collection", personas.collection.slug, verbosity=0)
    assert (HeritageObject.objects.count(), Asset.objects.count()) == before[:2]


def test_a_store_restored_empty_is_rewritten_from_the_other_copies(obj, jpeg, settings):
    from preservation.replication import replicate_object

    pipeline.run_in_process(receive(obj, jpeg))
    wiped = store_roots(settings)[1]
    shutil.rmtree(wiped)
    assert replicate_object(obj, "local-b") == 1  # staging is gone: the bytes come from local-a
    validate_local_root(wiped)
    for asset in Asset.objects.filter(object=obj):
        replica = asset.replicas.get(store__name="local-b")
        assert hashlib.sha256((wiped / replica.key).read_bytes()).hexdigest() == asset.sha256
