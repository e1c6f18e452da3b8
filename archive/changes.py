"""Keep the public change log (archive.models.PublicChange) true, whoever changes an object.

Every save of an object, its texts or its files (archive/signals.py) compares whether the object is
public now (the anonymous access rule, archive.access) with what the log last said, and appends create /
update / delete in the same transaction (a rollback takes the row with it). Bursts are coalesced: an
update within COALESCE_SECONDS of the object's last entry, with the same public state, moves that entry's
time forward instead of adding a row, so processing twenty files makes one update, not forty. Embargoes
end without any save: ``record_due_embargoes`` (beat, hourly) catches them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from archive.access import visible_to
from archive.models import HeritageObject, PublicChange

COALESCE_SECONDS = 60


def public_objects():
    """What a visitor may see: the only set that OAI-PMH, the feed and the public API expose."""
    return visible_to(AnonymousUser())


def _last_changes(object_ids: Iterable[int]) -> dict[int, PublicChange | None]:
    """Each object's latest log entry (None if it was never public); objects that no longer exist are left out."""
    ids = list(object_ids)
    latest = PublicChange.objects.filter(object=OuterRef("pk")).order_by("-at", "-id").values("pk")[:1]
    last_ids = dict(HeritageObject.objects.filter(pk__in=ids).annotate(last=Subquery(latest)).values_list("pk", "last"))
    rows = PublicChange.objects.in_bulk([pk for pk in last_ids.values() if pk is not None])
    return {obj: rows.get(change) for obj, change in last_ids.items()}


def record_public_changes(object_ids: Iterable[int], at=None) -> list[PublicChange]:
    """Append what changed for these objects, as seen by a visitor. Returns the new rows."""
    ids = set(object_ids)
    if not ids:
        return []
    now_public = set(public_objects().filter(pk__in=ids).values_list("pk", flat=True))
    at = at or timezone.now()
    rows = []
    for pk, last in sorted(_last_changes(ids).items()):
        was_public = last is not None and last.verb != PublicChange.Verb.DELETE
        if pk in now_public and was_public and at - last.at < timedelta(seconds=COALESCE_SECONDS):
            PublicChange.objects.filter(pk=last.pk).update(at=max(at, last.at))
            continue
        if pk in now_public:
            verb = PublicChange.Verb.UPDATE if was_public else PublicChange.Verb.CREATE
        elif was_public:
            verb = PublicChange.Verb.DELETE
        else:
            continue
        rows.append(PublicChange(object_id=pk, verb=verb, at=at))
    return PublicChange.objects.bulk_create(rows)


def object_touched(object_id: int | None) -> None:
    """Log what this object's change means to the public (called by archive/signals.py)."""
    if object_id is not None:
        record_public_changes([object_id])


def record_due_embargoes() -> int:
    """Objects whose embargo ended since the log last saw them become public: log their creation."""
    today = timezone.localdate()
    candidates = public_objects().filter(embargo_until__isnull=False, embargo_until__lte=today)
    last = _last_changes(candidates.values_list("pk", flat=True))
    due = [pk for pk, change in last.items() if change is None or change.verb == PublicChange.Verb.DELETE]
    return len(record_public_changes(due))
