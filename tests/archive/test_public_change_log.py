"""The public change log: what OAI-PMH and the change feed tell harvesters."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from archive import actions, changes
from archive.models import AccessLevel, PublicChange
from tests.factories import make_object


def verbs(obj) -> list[str]:
    return list(obj.public_changes.order_by("at", "id").values_list("verb", flat=True))


def test_a_draft_is_not_logged_and_publication_logs_a_creation(personas):
    obj = make_object(personas.collection, published=False)
    assert verbs(obj) == []
    actions.publish(obj)
    assert verbs(obj) == ["create"]


def test_edits_while_public_coalesce_into_one_update(personas):
    obj = make_object(personas.collection)
    later = timezone.now() + timedelta(minutes=5)
    changes.record_public_changes([obj.pk], at=later)
    for _ in range(3):
        changes.record_public_changes([obj.pk], at=later + timedelta(seconds=1))
    assert verbs(obj) == ["create", "update"]


def test_restricting_unpublishing_or_deleting_a_public_object_logs_a_deletion(personas):
    restricted = make_object(personas.collection, "restricted later")
    restricted.access_level = AccessLevel.RESTRICTED
    restricted.save()
    assert verbs(restricted) == ["create", "delete"]
    deleted = make_object(personas.collection, "deleted later")
    actions.delete_object(deleted, "duplicate record", personas.curator)
    assert verbs(deleted)[-1] == "delete"


def test_objects_never_public_never_appear(personas):
    obj = make_object(personas.collection, access=AccessLevel.COMMUNITY)
    obj.save()
    actions.delete_object(obj, "mistake", personas.curator)
    assert verbs(obj) == []


def test_an_ended_embargo_is_logged_as_a_creation(personas):
    obj = make_object(personas.collection, embargo_days=3)
    assert verbs(obj) == []
    type(obj).objects.filter(pk=obj.pk).update(embargo_until=timezone.localdate())
    assert changes.record_due_embargoes() == 1
    assert changes.record_due_embargoes() == 0
    assert verbs(obj) == ["create"]


def test_a_rolled_back_change_leaves_no_entry(personas):
    obj = make_object(personas.collection, published=False)
    try:
        with transaction.atomic():
            actions.publish(obj)
            raise RuntimeError("stop")
    except RuntimeError:
        pass
    assert PublicChange.objects.filter(object=obj).count() == 0
