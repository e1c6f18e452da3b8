"""Every OCFL version carries the catalogue records; any one store alone rebuilds the catalogue."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.core.management import call_command

from archive import actions
from archive.models import Asset, HeritageObject, ObjectVersion
from preservation import pipeline
from preservation.fixity import audit
from preservation.models import PreservationEvent, Replica
from preservation.packaging import ocfl, premis
from preservation.stores.registry import get_store
from tests.factories import make_object
from tests.factories import preserve_file as receive
from tests.preservation import imagegen
from tests.preservation.ocfl_validation import validate_local_root


@pytest.fixture
def described(personas, tmp_path):
    obj = make_object(
        personas.collection,
        "Stele of the scribes",
        culture="Assyrian",
        place_name="Nimrud",
        latitude=36.0981,
        longitude=43.3292,
        sensitive_location=True,
        threat_type="conflict",
        threat_level=1,
        year_start=-883,
        year_end=-859,
        keywords=["stele", "cuneiform"],
        rights_statement="http://rightsstatements.org/vocab/NoC-OKLR/1.0/",
    )
    receive(obj, imagegen.make_jpeg(tmp_path / "face.jpg", size=(160, 120)), tmp_path)
    return obj


def head_file(obj: HeritageObject, logical: str) -> bytes:
    store = get_store("local-a")
    inventory = ocfl.read_inventory(store, obj.ocfl_id)
    state = inventory["versions"][inventory["head"]]["state"]
    digest = next(d for d, paths in state.items() if logical in paths)
    return store.read_bytes(f"{ocfl.object_root(obj.ocfl_id)}/{inventory['manifest'][digest][0]}")


def store_roots(settings) -> list[Path]:
    return [Path(s["options"]["root"]) for s in settings.ARCHIVE_STORES]


def test_each_version_carries_the_record_dublin_core_and_premis(described, settings):
    record = json.loads(head_file(described, "metadata/object.json"))
    assert record["identifier"] == described.identifier and record["culture"] == "Assyrian"
    assert record["latitude"] == 36.0981  # the preservation copy keeps exact coordinates
    assert {f["role"] for f in record["files"]} == {"original", "master", "access", "thumbnail"}
    dc = ElementTree.fromstring(head_file(described, "metadata/dc.xml"))
    titles = dc.findall("{http://purl.org/dc/elements/1.1/}title")
    assert {t.text for t in titles} >= {"Stele of the scribes"}
    files, event_records = premis.parse_premis(head_file(described, "metadata/premis.xml"))
    assert {"ingestion", "format identification", "normalization"} <= {e.event_type for e in event_records}
    original = described.assets.get(role="original")
    assert any(f.uuid == str(original.id) and f.sha256 == original.sha256 for f in files)
    for root in store_roots(settings):
        validate_local_root(root, objects=1)


def test_a_metadata_edit_makes_a_new_version_on_every_store(described, settings):
    described.culture = "Neo-Assyrian"
    described.save()
    version = pipeline.package_object(described)
    assert version is not None and version.number == 2 and version.message == "Update the catalogue record"
    assert pipeline.package_object(described) is None  # nothing changed since: no empty versions
    for name in ("local-a", "local-b"):
        from preservation.replication import replicate_object

        replicate_object(described, name)
    assert json.loads(head_file(described, "metadata/object.json"))["culture"] == "Neo-Assyrian"
    assert PreservationEvent.objects.filter(object=described, event_type="metadata modification").exists()
    # The original's bytes are not copied again: v2 holds only the new records.
    inventory = ocfl.read_inventory(get_store("local-b"), described.ocfl_id)
    v2 = [p for paths in inventory["manifest"].values() for p in paths if p.startswith("v2/")]
    assert sorted(Path(p).name for p in v2) == ["dc.xml", "object.json", "premis.xml"]
    for root in store_roots(settings):
        validate_local_root(root, objects=1)


def test_deleting_a_file_needs_a_reason_keeps_a_tombstone_and_reaches_every_store(
    described, settings, personas, django_capture_on_commit_callbacks
):
    original = described.assets.get(role="original")
    with pytest.raises(ValueError, match="reason"):
        actions.delete_asset(original, "  ", personas.curator)
    with django_capture_on_commit_callbacks(execute=True):
        family = actions.delete_asset(original, "Sacred: the community asked to withdraw it", personas.curator)
    assert sorted(a.role for a in family) == ["access", "master", "original", "thumbnail"]
    assert all(a.status == Asset.State.DELETED for a in family)
    # Eager tasks packaged and replicated the removal: the head state no longer holds the files.
    for name in ("local-a", "local-b"):
        inventory = ocfl.read_inventory(get_store(name), described.ocfl_id)
        head_state = {p for paths in inventory["versions"][inventory["head"]]["state"].values() for p in paths}
        assert all(not p.startswith(str(a.id)) for a in family for p in head_state)
        assert inventory["head"] == "v2"
    record = json.loads(head_file(described, "metadata/object.json"))
    tomb = next(f for f in record["files"] if f["id"] == str(original.id))
    assert tomb["deletion"]["reason"].startswith("Sacred") and tomb["removed_in"] == 2
    assert PreservationEvent.objects.filter(asset=original, event_type="deletion").exists()
    from django.test import Client

    assert Client().get(family[-1].get_download_url()).status_code == 404
    # Nothing was deleted from the stores: OCFL history keeps v1, and the audit still finds it whole.
    assert audit().healthy
    for root in store_roots(settings):
        validate_local_root(root, objects=1)


def test_deleting_an_object_leaves_a_tombstone(described, personas, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        actions.delete_object(described, "Duplicate of another record", personas.curator)
    described.refresh_from_db()
    assert described.status == "deleted" and described.deletion_reason == "Duplicate of another record"
    assert json.loads(head_file(described, "metadata/object.json"))["deletion"]["by"] == "curator"
    from django.test import Client

    assert Client().get(described.get_absolute_url()).status_code == 404


def snapshot() -> dict:
    objects = {
        o.identifier: (o.culture, o.latitude, o.threat_level, o.status, o.access_level, o.collection.slug)
        for o in HeritageObject.objects.all()
    }
    assets = {
        str(a.id): (a.role, a.filename, a.sha256, a.size, a.version.number, a.status, str(a.derived_from_id))
        for a in Asset.objects.exclude(version__isnull=True)
    }
    versions = sorted(ObjectVersion.objects.values_list("object__identifier", "number", "message"))
    return {"objects": objects, "assets": assets, "versions": versions}


def test_one_store_alone_rebuilds_the_catalogue_and_audit_relinks_the_other(described, settings):
    before = snapshot()
    events_before = {str(e.id): (e.event_type, e.detail) for e in PreservationEvent.objects.all()}
    call_command("flush", interactive=False, verbosity=0)
    assert not HeritageObject.objects.exists()

    out = StringIO()
    call_command("rebuild_catalogue", from_store="local-a", stdout=out, verbosity=0)
    assert "Rebuilt 1 objects" in out.getvalue()
    assert snapshot() == before
    restored = {str(e.id): (e.event_type, e.detail) for e in PreservationEvent.objects.all()}
    assert len(set(restored) & set(events_before)) >= 10
    assert all(events_before[i] == restored[i] for i in set(restored) & set(events_before))
    assert set(Replica.objects.values_list("store__name", "state").distinct()) == {("local-a", "ok")}

    obj = HeritageObject.objects.get()
    assert pipeline.package_object(obj) is None  # the record round-trips exactly: nothing to re-package
    report = audit(repair=True)
    assert report.linked == [("local-b", obj.identifier)] and report.healthy
    assert Replica.objects.filter(store__name="local-b", state="ok").count() == Asset.objects.count()
    again = StringIO()
    with pytest.raises(Exception, match="already holds"):
        call_command("rebuild_catalogue", from_store="local-b", stdout=again)
