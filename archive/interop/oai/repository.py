"""What the OAI-PMH repository holds, read from the public change log (archive.models.PublicChange).

An item is an object that was ever public, i.e. has a change log entry; anything never public (restricted,
community, draft, embargoed material) does not exist here, not even its identifier. Its datestamp is the
time of its latest entry. It is *deleted* (a header with status="deleted", no metadata) when that entry
says "delete" or when the object is no longer among ``archive.changes.public_objects()``: that queryset
(the anonymous access rule) is the only gate to metadata.

A list is the objects' latest entries ordered by (at, id), so one page is one query that walks the
change log's (at, id) index from the cursor on; the texts and files of a page of records are two more
(prefetch) queries.

Sets are hierarchical: ``community:<slug>`` holds ``community:<slug>:collection:<slug>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Exists, Min, OuterRef, Prefetch, Q, QuerySet, Subquery, prefetch_related_objects
from django.utils import timezone

from archive.access import PUBLIC_ROLES
from archive.changes import public_objects
from archive.models import Asset, Collection, Community, HeritageObject, PublicChange

from .protocol import OAIError

COMMUNITY_SET = "community"
COLLECTION_SET = "collection"


def namespace() -> str:
    """The namespace of our OAI identifiers: ARCHIVE_OAI_NAMESPACE, else the host of SITE_URL."""
    configured = getattr(settings, "ARCHIVE_OAI_NAMESPACE", "")
    return configured or urlsplit(settings.SITE_URL).hostname or "localhost"


def oai_identifier(identifier: str) -> str:
    return f"oai:{namespace()}:{identifier}"


def local_identifier(oai_id: str) -> str | None:
    """The object identifier inside one of our OAI identifiers (exact match, no normalizing), else None."""
    prefix = f"oai:{namespace()}:"
    if not oai_id.startswith(prefix):
        return None
    return oai_id[len(prefix) :] or None


def page_size() -> int:
    return max(1, int(getattr(settings, "ARCHIVE_OAI_PAGE_SIZE", 100)))


@dataclass(frozen=True)
class Record:
    """One item as a harvester sees it."""

    obj: HeritageObject
    change_id: int
    at: datetime
    deleted: bool

    @property
    def identifier(self) -> str:
        return oai_identifier(self.obj.identifier)

    @property
    def set_specs(self) -> list[str]:
        collection = self.obj.collection
        community = community_set(collection.community.slug)
        return [community, collection_set(collection.community.slug, collection.slug)]


def community_set(slug: str) -> str:
    return f"{COMMUNITY_SET}:{slug}"


def collection_set(community_slug: str, collection_slug: str) -> str:
    return f"{COMMUNITY_SET}:{community_slug}:{COLLECTION_SET}:{collection_slug}"


def _latest_changes() -> QuerySet[PublicChange]:
    """Each logged object's latest change (the same order as archive.changes), with ``live``: whether the
    object is public now."""
    latest = PublicChange.objects.filter(object=OuterRef("object")).order_by("-at", "-id").values("pk")[:1]
    return (
        PublicChange.objects.filter(pk=Subquery(latest))
        .annotate(live=Exists(public_objects().filter(pk=OuterRef("object_id"))))
        .select_related("object__collection__community")
    )


def _record(change: PublicChange) -> Record:
    deleted = change.verb == PublicChange.Verb.DELETE or not change.live
    return Record(obj=change.object, change_id=change.pk, at=change.at, deleted=deleted)


def set_filter(spec: str) -> Q:
    """The records of set ``spec``; noRecordsMatch for a set this repository does not have."""
    parts = spec.split(":")
    if len(parts) == 2 and parts[0] == COMMUNITY_SET:
        return Q(object__collection__community__slug=parts[1])
    if len(parts) == 4 and parts[0] == COMMUNITY_SET and parts[2] == COLLECTION_SET:
        return Q(object__collection__community__slug=parts[1], object__collection__slug=parts[3])
    raise OAIError("noRecordsMatch", f"This repository has no set {spec!r}.")


def harvest(start: datetime | None, end: datetime | None, spec: str = "") -> QuerySet[PublicChange]:
    """The latest changes whose time is in [start, end), of set ``spec`` (any set when empty)."""
    changes = _latest_changes()
    if start is not None:
        changes = changes.filter(at__gte=start)
    if end is not None:
        changes = changes.filter(at__lt=end)
    if spec:
        changes = changes.filter(set_filter(spec))
    return changes


def page(changes: QuerySet[PublicChange], after: tuple[datetime, int] | None, limit: int) -> list[Record]:
    """Up to ``limit`` + 1 records after the cursor (the extra one says that another page follows)."""
    if after is not None:
        at, change_id = after
        changes = changes.filter(Q(at__gt=at) | Q(at=at, pk__gt=change_id))
    return [_record(change) for change in changes.order_by("at", "pk")[: limit + 1]]


def find(oai_id: str) -> Record | None:
    """The item with this OAI identifier, or None (also for an object that was never public)."""
    identifier = local_identifier(oai_id)
    if identifier is None:
        return None
    change = _latest_changes().filter(object__identifier=identifier).first()
    return _record(change) if change is not None else None


def public_assets() -> QuerySet[Asset]:
    """The files ``archive.access.visible_assets(AnonymousUser(), obj)`` gives, for a whole page of objects
    in one query (tests/interop/test_oai.py checks that both agree)."""
    return (
        Asset.objects.exclude(status__in=[Asset.State.DISCARDED, Asset.State.DELETED])
        .filter(role__in=PUBLIC_ROLES, status=Asset.State.READY)
        .order_by("created", "id")
    )


def prefetch_metadata(records: list[Record]) -> None:
    """Load the texts and visitor-visible files (``obj.public_assets``) of the records that have metadata."""
    objects = [record.obj for record in records if not record.deleted]
    prefetch_related_objects(objects, "texts", Prefetch("assets", queryset=public_assets(), to_attr="public_assets"))


def earliest_datestamp() -> datetime:
    """A lower bound of every datestamp: the log's first entry (now, while the log is empty)."""
    first = PublicChange.objects.aggregate(first=Min("at"))["first"]
    return first or timezone.now()


@dataclass(frozen=True)
class Set:
    spec: str
    name: str
    description: str


def sets() -> list[Set]:
    """Every community and collection holding an item (an object that was ever public), communities
    first, each followed by its collections, in slug order."""
    logged = PublicChange.objects.filter(object__collection=OuterRef("pk"))
    collections = list(
        Collection.objects.filter(Exists(logged)).select_related("community").order_by("community__slug", "slug")
    )
    community_ids = {collection.community_id for collection in collections}
    communities = Community.objects.filter(pk__in=community_ids).order_by("slug")
    found: list[Set] = []
    for community in communities:
        found.append(Set(community_set(community.slug), community.name, community.description))
        found += [
            Set(collection_set(community.slug, c.slug), c.title, c.description)
            for c in collections
            if c.community_id == community.pk
        ]
    return found
