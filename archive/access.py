"""The one access rule. Every page, list, thumbnail, file URL (and later search, IIIF, OAI-PMH, API)
fetches objects through ``visible_to`` or ``get_object_for_viewer``; nothing else queries objects for
a viewer. A view that calls ``HeritageObject.objects.get`` for a visitor is a leak waiting to happen.

Who sees what (DESIGN §6):
- anyone: published, public, not embargoed;
- a member of a community: also its published ``community`` objects once their embargo has passed, and
  those of every community that shares with it (``Community.shares_with``);
- a curator of a community: everything of that community (drafts, embargoed, restricted);
- staff: everything.
Curators and staff also see technical metadata, events, replicas, originals and masters; everybody
else sees descriptive metadata, rights and access copies only.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from archive.identifiers import normalize_identifier
from archive.models import AccessLevel, Asset, HeritageObject, Role, Status

PUBLIC_ROLES = {Asset.Role.ACCESS, Asset.Role.THUMBNAIL, Asset.Role.PREVIEW}


def _community_ids(user, role: str | None = None) -> list[int]:
    if not getattr(user, "is_authenticated", False):
        return []
    memberships = user.memberships.all()
    if role:
        memberships = memberships.filter(role=role)
    return list(memberships.values_list("community_id", flat=True))


def _seen_by(member_of: list[int]) -> list[int]:
    """Communities whose community-level material these memberships open: their own, and every
    community that shares with one of them."""
    from archive.models import Community

    shared = Community.objects.filter(shares_with__in=member_of).values_list("id", flat=True)
    return sorted(set(member_of) | set(shared))


def visible_to(user, shared: Iterable[int] = ()) -> QuerySet[HeritageObject]:
    """Objects this user may see: the only source for pages, lists, feeds, APIs and file URLs.

    ``shared`` holds ids of objects opened to this visitor by an active share link (see
    archive/sharing.py): those are visible too, whatever their access level, unless deleted."""
    objects = HeritageObject.objects.select_related("collection__community")
    if getattr(user, "is_staff", False) and user.is_active:
        return objects.all()
    today = timezone.localdate()
    released = Q(status=Status.PUBLISHED) & (Q(embargo_until__isnull=True) | Q(embargo_until__lte=today))
    rule = released & Q(access_level=AccessLevel.PUBLIC)
    member_of = _community_ids(user)
    if member_of:
        rule |= released & Q(access_level=AccessLevel.COMMUNITY, collection__community_id__in=_seen_by(member_of))
    curator_of = _community_ids(user, Role.CURATOR)
    if curator_of:
        rule |= Q(collection__community_id__in=curator_of)
    shared = list(shared)
    if shared:
        rule |= Q(pk__in=shared) & ~Q(status=Status.DELETED)
    return objects.filter(rule)


def get_object_for_viewer(user, identifier: str, shared: Iterable[int] = ()) -> HeritageObject:
    """The object if this user may see it; otherwise 404 (never 403: existence itself is not disclosed)."""
    normalized = normalize_identifier(identifier)
    if normalized is None:
        raise Http404("No such object")
    try:
        return visible_to(user, shared).get(identifier=normalized)
    except HeritageObject.DoesNotExist as missing:
        raise Http404("No such object") from missing


def can_curate(user, obj: HeritageObject) -> bool:
    """Curators of the object's community and staff may edit it and see its technical side."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_staff:
        return True
    # Remembered on the user object, which lives for one request: a map or list asking for hundreds of
    # objects costs one query, not one per object.
    return obj.collection.community_id in curated_community_ids(user)


def curated_collections(user):
    """Collections this user may add objects to."""
    from archive.models import Collection

    if not getattr(user, "is_authenticated", False):
        return Collection.objects.none()
    if user.is_staff:
        return Collection.objects.all()
    return Collection.objects.filter(community_id__in=_community_ids(user, Role.CURATOR))


def visible_assets(user, obj: HeritageObject) -> QuerySet[Asset]:
    """The files of a visible object this user may download: all of them for its curators; only
    finished access copies and thumbnails for everyone else."""
    assets = obj.assets.exclude(status__in=[Asset.State.DISCARDED, Asset.State.DELETED])
    if can_curate(user, obj):
        return assets
    return assets.filter(role__in=PUBLIC_ROLES, status=Asset.State.READY)


def get_asset_for_viewer(user, asset_id, shared: Iterable[int] = ()) -> Asset:
    """An asset whose object is visible to the user and whose role the user may download, else 404."""
    try:
        asset = Asset.objects.select_related("object").get(pk=asset_id)
    except (Asset.DoesNotExist, ValueError, TypeError) as missing:
        raise Http404("No such file") from missing
    obj = get_object_for_viewer(user, asset.object.identifier, shared)
    if not visible_assets(user, obj).filter(pk=asset.pk).exists():
        raise Http404("No such file")
    return asset


GENERALIZED_DECIMALS = 1  # 0.1 degree: about 11 km, enough for a map, not enough to find a site


def public_coordinates(user, obj: HeritageObject) -> tuple[float, float, bool] | None:
    """(latitude, longitude, exact) this user may see: exact for curators and staff, and for places
    that are not sensitive; otherwise rounded to 0.1 degree (``exact`` False)."""
    if obj.latitude is None or obj.longitude is None:
        return None
    exact_allowed = not obj.sensitive_location or can_curate(user, obj)
    return shown_coordinates(obj.latitude, obj.longitude, exact_allowed)


def shown_coordinates(latitude: float, longitude: float, exact_allowed: bool) -> tuple[float, float, bool]:
    """The point to show: exact, or rounded to 0.1 degree (for lists built without model instances)."""
    if exact_allowed:
        return (latitude, longitude, True)
    return (round(latitude, GENERALIZED_DECIMALS) + 0.0, round(longitude, GENERALIZED_DECIMALS) + 0.0, False)


def curated_community_ids(user) -> frozenset[int]:
    """Communities this user curates (all of them for staff: None means every community)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    curated = getattr(user, "_curated_community_ids", None)
    if curated is None:
        curated = frozenset(_community_ids(user, Role.CURATOR))
        user._curated_community_ids = curated
    return curated
