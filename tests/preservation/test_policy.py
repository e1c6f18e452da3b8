"""The threat- and jurisdiction-aware policy: where an object may live and how safe it must be."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from preservation import policy
from preservation.fixity import audit
from preservation.models import PreservationEvent, Replica, StoreObject
from preservation.stores import registry
from tests.factories import make_object, preserve_file
from tests.preservation import imagegen


def local_store(media: Path, name: str, jurisdiction: str, levels=("public", "community", "restricted")) -> dict:
    return {
        "name": name,
        "backend": "preservation.stores.local.LocalStore",
        "options": {"root": str(media / "stores" / name), "create": True},
        "jurisdiction": jurisdiction,
        "access_levels": list(levels),
    }


@pytest.fixture
def three_stores(settings, archive_folders):
    """Two stores at home (FR), one partner abroad (CA) that accepts public material only."""
    settings.ARCHIVE_STORES = [
        local_store(archive_folders, "home-a", "FR"),
        local_store(archive_folders, "home-b", "FR"),
        local_store(archive_folders, "partner-ca", "CA", levels=["public"]),
    ]
    registry.reset()
    return settings.ARCHIVE_STORES


def ingest(obj, tmp_path: Path):
    return preserve_file(obj, imagegen.make_jpeg(tmp_path / f"{obj.identifier}.jpg", size=(64, 48)), tmp_path)


def holders(obj) -> set[str]:
    return set(StoreObject.objects.filter(object=obj, head_version__gt=0).values_list("store__name", flat=True))


def test_higher_threat_asks_for_more_copies_jurisdictions_and_audits(settings):
    low, critical = policy.policy_for_level(0), policy.policy_for_level(4)
    assert critical.copies >= low.copies and critical.jurisdictions > low.jurisdictions
    assert critical.audit_every_days < low.audit_every_days
    settings.ARCHIVE_POLICY = {0: {"copies": 2, "jurisdictions": 1, "audit_every_days": 90}}
    assert policy.policy_for_level(3).copies == 2  # a level not configured falls back to the nearest lower


def test_restricted_material_never_reaches_a_store_not_allowed_for_it(three_stores, personas, tmp_path):
    obj = make_object(personas.collection, "Initiation song", access="restricted", threat_level=3)
    ingest(obj, tmp_path)
    assert holders(obj) == {"home-a", "home-b"}
    assert not Replica.objects.filter(store__name="partner-ca").exists()
    assert not any(Path(three_stores[2]["options"]["root"]).rglob("*.jpg"))
    status = policy.evaluate(obj)
    assert not status.met  # threat 3 wants two jurisdictions; only FR may hold restricted material
    assert any("cannot meet this policy" in problem for problem in status.problems)
    assert audit(repair=True).policy_gaps[obj.identifier] == status.problems


def test_a_threatened_public_object_gets_two_jurisdictions(three_stores, personas, tmp_path):
    obj = make_object(personas.collection, "Minaret survey", threat_level=4)
    ingest(obj, tmp_path)
    assert holders(obj) == {"home-a", "home-b", "partner-ca"}
    status = policy.evaluate(obj)
    assert status.met, status.problems
    assert status.jurisdictions == ["CA", "FR"]


def test_a_community_chooses_where_its_material_lives(three_stores, personas, tmp_path):
    personas.community.allowed_stores = ["home-a"]
    personas.community.save()
    members_only = make_object(personas.collection, "Family portraits", access="community")
    public = make_object(personas.collection, "Harbour view")
    ingest(members_only, tmp_path)
    ingest(public, tmp_path)
    assert holders(members_only) == {"home-a"}  # the community's list, however many stores could take it
    assert holders(public) == {"home-a", "home-b", "partner-ca"}  # public material is not restricted by it


def test_the_audit_reports_a_store_gap_and_repairs_it(three_stores, personas, tmp_path, settings):
    obj = make_object(personas.collection, "Bridge drawings", threat_level=4)
    settings.ARCHIVE_STORES = three_stores[:2]  # the partner is not configured yet: one jurisdiction only
    registry.reset()
    ingest(obj, tmp_path)
    report = audit()
    assert any("jurisdiction" in problem for problem in report.policy_gaps[obj.identifier])
    settings.ARCHIVE_STORES = three_stores  # the partner joins: the audit completes the placement
    registry.reset()
    repaired = audit(repair=True)
    assert ("partner-ca", obj.identifier) in repaired.replicated
    assert obj.identifier not in repaired.policy_gaps
    assert policy.evaluate(obj).met


def test_a_copy_in_a_store_no_longer_allowed_is_reported(three_stores, personas, tmp_path):
    obj = make_object(personas.collection, "Ceremony site", threat_level=4)
    ingest(obj, tmp_path)
    assert "partner-ca" in holders(obj)
    obj.access_level = "restricted"  # the community restricts it after it was shared abroad
    obj.save()
    status = policy.evaluate(obj)
    assert status.misplaced == ["partner-ca"]
    assert any("partner-ca holds a copy but is not allowed" in p for p in audit().policy_gaps[obj.identifier])
    assert audit(repair=True).policy_gaps  # repair never deletes: withdrawing the copy is a deliberate act

    with pytest.raises(CommandError, match="reason"):
        call_command("withdraw_copy", obj.identifier, store="partner-ca", reason=" ")
    out = StringIO()
    call_command("withdraw_copy", obj.identifier, store="partner-ca", reason="Restricted by the community", stdout=out)
    assert "withdrawn" in out.getvalue()
    assert not any(Path(three_stores[2]["options"]["root"]).rglob("*.jpg"))
    assert not Replica.objects.filter(store__name="partner-ca").exists()
    assert PreservationEvent.objects.filter(object=obj, event_type="deletion", store__name="partner-ca").exists()
    assert policy.evaluate(obj).misplaced == []
    with pytest.raises(CommandError, match="allowed"):
        call_command("withdraw_copy", obj.identifier, store="home-a", reason="oops")
