"""Fixity audits find every bad copy, heal it from a good one, and say loudly when none is left."""

from __future__ import annotations

import hashlib
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from archive import actions
from archive.models import Asset
from preservation import pipeline
from preservation.fixity import audit
from preservation.models import ObjectAudit, PreservationEvent, Replica
from tests.factories import make_object
from tests.preservation import imagegen


@pytest.fixture
def ingested(personas, tmp_path):
    obj = make_object(personas.collection, "Audited jar")
    path = imagegen.make_jpeg(tmp_path / "jar.jpg", size=(120, 80))
    staged = tmp_path / "staged.jpg"
    shutil.copyfile(path, staged)
    data = path.read_bytes()
    asset, _ = actions.receive_file(obj, staged, "jar.jpg", hashlib.sha256(data).hexdigest(), len(data), enqueue=False)
    return pipeline.run_in_process(asset)


def stored(settings, store: str, key: str) -> Path:
    root = next(s["options"]["root"] for s in settings.ARCHIVE_STORES if s["name"] == store)
    return Path(root) / key


def flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_clean_archive_audits_clean(ingested):
    report = audit()
    assert report.checked == 14 and report.ok == 14 and report.healthy  # 4 files + 3 records, 2 stores
    assert PreservationEvent.objects.filter(event_type="fixity check", outcome="success").count() == 14


def test_a_flipped_byte_in_one_store_is_repaired_from_the_other(ingested, settings):
    replica = ingested.replicas.get(store__name="local-b")
    flip_one_byte(stored(settings, "local-b", replica.key))
    report = audit(repair=True)
    assert report.corrupt == [("local-b", replica.key)]
    assert report.repaired == [("local-b", replica.key)]
    assert (
        stored(settings, "local-b", replica.key).read_bytes() == stored(settings, "local-a", replica.key).read_bytes()
    )
    assert PreservationEvent.objects.filter(asset=ingested, event_type="repair", outcome="success").exists()
    assert audit().healthy


def test_a_deleted_replica_is_reported_missing_and_rewritten(ingested, settings):
    replica = ingested.replicas.get(store__name="local-a")
    stored(settings, "local-a", replica.key).unlink()
    report = audit(store="local-a")
    assert report.missing == [("local-a", replica.key)] and not report.repaired
    assert Replica.objects.get(pk=replica.pk).state == Replica.State.MISSING
    report = audit(store="local-a", repair=True)
    assert report.repaired == [("local-a", replica.key)]
    assert hashlib.sha256(stored(settings, "local-a", replica.key).read_bytes()).hexdigest() == ingested.sha256


def test_no_good_copy_anywhere_flags_the_object_damaged_and_overwrites_nothing(ingested, settings):
    paths = [stored(settings, r.store.name, r.key) for r in ingested.replicas.all()]
    for path in paths:
        flip_one_byte(path)
    before = [p.read_bytes() for p in paths]
    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("audit", "--repair", stdout=out, verbosity=0)
    assert exit_info.value.code == 1
    assert "DAMAGED" in out.getvalue() and ingested.object.identifier in out.getvalue()
    assert [p.read_bytes() for p in paths] == before
    ingested.object.refresh_from_db()
    assert ingested.object.damaged and "no verified good copy" in ingested.object.damage_detail


def test_since_skips_what_was_verified_recently(ingested):
    audit()
    assert audit(since_days=1).checked == 0
    assert audit(since_days=0).checked == 14


def test_the_stores_command_prints_one_line_per_store(ingested):
    out = StringIO()
    call_command("stores", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert [line.split()[0] for line in lines] == ["local-a", "local-b"]
    assert all("reachable" in line and "objects=1" in line and "under_replicated=0" in line for line in lines)


def test_assets_are_untouched_by_the_audit(ingested):
    audit(repair=True)
    assert Asset.objects.get(pk=ingested.pk).sha256 == ingested.sha256


def test_the_scheduled_audit_repairs_and_reports(ingested, settings):
    from preservation import tasks

    settings.ARCHIVE_POLICY = {0: {"copies": 2, "jurisdictions": 1, "audit_every_days": 0}}
    replica = ingested.replicas.get(store__name="local-a")
    flip_one_byte(stored(settings, "local-a", replica.key))
    assert tasks.audit.delay().get() == 1  # one object due: one audit task queued (run eagerly here)
    result = ObjectAudit.objects.get(object=ingested.object)
    assert result.summary["corrupt"] == 1 and result.summary["repaired"] == 1 and not result.summary["damaged"]
    assert result.healthy and result.lease_until is None
    assert Replica.objects.get(pk=replica.pk).state == Replica.State.OK
    assert "fixity-audit" in settings.CELERY_BEAT_SCHEDULE
