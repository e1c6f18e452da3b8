"""The public map: a Leaflet page and the GeoJSON of its markers.

Every object comes from ``visible_to`` and every point from ``public_coordinates``: a sensitive location is
sent rounded (``exact: false``) to anyone who may not curate the object, in the GeoJSON and in the page's
no-script list alike. The exact point never leaves the server for them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import urlencode
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_safe

from archive.access import curated_community_ids, public_coordinates, shown_coordinates, visible_to
from archive.models import Asset, HeritageObject, ObjectText, Status
from archive.models.heritage_object import choose_text
from archive.models.vocabularies import RTL_LANGUAGES

# Query filters of the map, as search has them: ?community=<slug>&collection=<slug>, each repeatable
# (values of one filter are alternatives), only ever narrowing what visible_to gives.
FILTERS = {"community": "collection__community__slug", "collection": "collection__slug"}
MAX_FILTER_VALUES = 10
NOSCRIPT_PAGE_SIZE = 100


def _filters(request: HttpRequest) -> dict[str, list[str]]:
    found = {}
    for param in FILTERS:
        values = [value for value in request.GET.getlist(param) if value][:MAX_FILTER_VALUES]
        if values:
            found[param] = values
    return found


def mapped_objects(request: HttpRequest) -> QuerySet[HeritageObject]:
    """Objects this visitor may see that have a location, narrowed by the query filters."""
    objects = (
        visible_to(request.user)
        .filter(latitude__isnull=False, longitude__isnull=False)
        .exclude(status=Status.DELETED)  # tombstones stay on their curators' pages, not on the map
    )
    for param, values in _filters(request).items():
        objects = objects.filter(**{f"{FILTERS[param]}__in": values})
    # Only what a point needs: 100,000 objects' descriptions and search texts stay in the database.
    titles = Prefetch("texts", queryset=ObjectText.objects.only("object_id", "language", "title", "is_original"))
    return (
        objects.defer("search_text", "provenance", "damage_detail", "deletion_reason", "keywords", "labels")
        .prefetch_related(titles)
        .order_by("-created", "pk")
    )


def _thumbnails(ids: Iterable[int] | QuerySet) -> dict[int, Asset]:
    """``obj.thumbnail()`` of many objects in one query: the first ready thumbnail of each."""
    first: dict[int, Asset] = {}
    assets = Asset.objects.filter(object_id__in=ids, role=Asset.Role.THUMBNAIL, status=Asset.State.READY).order_by(
        "created"
    )
    for asset in assets:
        first.setdefault(asset.object_id, asset)
    return first


def _object_url(identifier: str) -> str:
    """``obj.get_absolute_url()`` without a ``reverse()`` per point."""
    return _object_url_pattern().format(identifier)


@cache
def _object_url_pattern() -> str:
    return reverse("portal:object", args=["0000000000"]).replace("0000000000", "{}")


def _place(user, obj: HeritageObject, thumbnails: dict[int, Asset]) -> dict | None:
    """What the map shows of one object, or None when it has no location this user may see."""
    coordinates = public_coordinates(user, obj)
    if coordinates is None:
        return None
    latitude, longitude, exact = coordinates
    text = obj.text()
    thumbnail = thumbnails.get(obj.pk)
    return {
        "identifier": obj.identifier,
        "title": text.title if text else obj.identifier,
        "lang": text.language if text else "",
        "dir": text.direction if text else "",
        "url": _object_url(obj.identifier),
        "thumbnail": thumbnail.get_download_url() if thumbnail else None,
        "exact": exact,
        "latitude": latitude,
        "longitude": longitude,
    }


def places(user, objects: Iterable[HeritageObject], ids: Iterable[int] | QuerySet) -> list[dict]:
    """The map's points for these objects (``ids``: their primary keys, a list or a ``values("pk")`` query)."""
    thumbnails = _thumbnails(ids)
    found = (_place(user, obj, thumbnails) for obj in objects)
    return [place for place in found if place is not None]


def _wrap(longitude: float) -> float:
    """A longitude in [-180, 180] (Leaflet gives more beyond the antimeridian)."""
    return longitude if -180.0 <= longitude <= 180.0 else ((longitude + 180.0) % 360.0) - 180.0


@dataclass(frozen=True)
class Box:
    west: float
    south: float
    east: float
    north: float

    @classmethod
    def parse(cls, value: str | None) -> Box | None:
        """``west,south,east,north`` in degrees (Leaflet's ``toBBoxString()``); None when absent or invalid."""
        try:
            west, south, east, north = (float(part) for part in (value or "").split(","))
        except ValueError:
            return None
        if not all(math.isfinite(v) for v in (west, south, east, north)) or south > north:
            return None
        if east - west >= 360:
            west, east = -180.0, 180.0
        return cls(_wrap(west), max(south, -90.0), _wrap(east), min(north, 90.0))

    def contains(self, latitude: float, longitude: float) -> bool:
        if not self.south <= latitude <= self.north:
            return False
        if self.west <= self.east:
            return self.west <= longitude <= self.east
        return longitude >= self.west or longitude <= self.east  # across the antimeridian

    @property
    def span(self) -> float:
        width = self.east - self.west if self.west <= self.east else 360 - (self.west - self.east)
        return max(width, self.north - self.south, 1e-6)


class _TextRow(NamedTuple):
    language: str
    title: str
    is_original: bool


WORLD = Box(-180.0, -90.0, 180.0, 90.0)
GRID_CELLS = 24  # clusters are cells of 1/24 of the box's larger side


def geojson_features(request: HttpRequest) -> list[dict]:
    """The map's features for the area asked (``bbox``; everything when absent), from plain rows.

    Up to ARCHIVE_MAP_MAX_POINTS objects come as points; more are grouped into grid clusters (a count at
    the middle of its members) with the lone objects of a cell still shown as points. Grouping and the
    area test use the coordinates the visitor may see (0.1° for a sensitive place), so neither a cluster
    nor a shrinking box can reveal an exact location.
    """
    user = request.user
    box = Box.parse(request.GET.get("bbox")) or WORLD
    objects = mapped_objects(request)
    pad = 0.1  # a generalized point may lie up to 0.05° from the exact one: fetch a little more, filter below
    if box is not WORLD:
        objects = objects.filter(latitude__gte=box.south - pad, latitude__lte=box.north + pad)
        if box.west <= box.east:
            objects = objects.filter(longitude__gte=box.west - pad, longitude__lte=box.east + pad)
    staff = getattr(user, "is_staff", False) and user.is_active
    curated = curated_community_ids(user)
    shown = []
    for pk, identifier, latitude, longitude, sensitive, community_id in objects.values_list(
        "pk", "identifier", "latitude", "longitude", "sensitive_location", "collection__community_id"
    ):
        exact_allowed = not sensitive or staff or community_id in curated
        latitude, longitude, exact = shown_coordinates(latitude, longitude, exact_allowed)
        if box.contains(latitude, longitude):
            shown.append((pk, identifier, latitude, longitude, exact))
    if len(shown) <= settings.ARCHIVE_MAP_MAX_POINTS:
        return _points(shown)
    cell = box.span / GRID_CELLS
    cells: dict[tuple[int, int], list] = {}
    for row in shown:
        cells.setdefault((math.floor(row[2] / cell), math.floor(row[3] / cell)), []).append(row)
    singles = [members[0] for members in cells.values() if len(members) == 1]
    features = _points(singles)
    for members in cells.values():
        if len(members) > 1:
            latitude = sum(m[2] for m in members) / len(members)
            longitude = sum(m[3] for m in members) / len(members)
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [round(longitude, 4), round(latitude, 4)]},
                    "properties": {"cluster": True, "count": len(members)},
                }
            )
    return features


def _points(rows: list[tuple]) -> list[dict]:
    """Point features with title (in the visitor's language), link and thumbnail."""
    ids = [row[0] for row in rows]
    texts: dict[int, list] = {}
    thumbnails: dict[int, str] = {}
    for chunk in (ids[i : i + 5000] for i in range(0, len(ids), 5000)):
        for object_id, language, title, original in (
            ObjectText.objects.filter(object_id__in=chunk)
            .order_by("object_id", "language")
            .values_list("object_id", "language", "title", "is_original")
        ):
            texts.setdefault(object_id, []).append(_TextRow(language, title, original))
        for object_id, asset_id, filename in (
            Asset.objects.filter(object_id__in=chunk, role=Asset.Role.THUMBNAIL, status=Asset.State.READY)
            .order_by("created")
            .values_list("object_id", "id", "filename")
        ):
            thumbnails.setdefault(object_id, _file_url(asset_id, filename))
    features = []
    for pk, identifier, latitude, longitude, exact in rows:
        text = choose_text(texts.get(pk, []))
        language = text.language if text else ""
        features.append(
            {
                "type": "Feature",
                "id": identifier,
                "geometry": {"type": "Point", "coordinates": [longitude, latitude]},
                "properties": {
                    "identifier": identifier,
                    "title": text.title if text else identifier,
                    "lang": language,
                    "dir": "rtl" if language.split("-")[0].lower() in RTL_LANGUAGES else ("ltr" if text else ""),
                    "url": _object_url(identifier),
                    "thumbnail": thumbnails.get(pk),
                    "exact": exact,
                },
            }
        )
    return features


@cache
def _file_url_pattern() -> str:
    import uuid

    sample = uuid.UUID(int=0)
    return reverse("portal:file", args=[sample, "NAME"]).replace(str(sample), "{}").replace("NAME", "{}")


def _file_url(asset_id, filename: str) -> str:
    from urllib.parse import quote

    return _file_url_pattern().format(asset_id, quote(filename))


@require_safe
@gzip_page
def map_geojson(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(
        {"type": "FeatureCollection", "features": geojson_features(request)},
        content_type="application/geo+json",
        json_dumps_params={"ensure_ascii": False},
    )
    # What is in it depends on who asks (and in which language): never in a shared cache.
    patch_cache_control(response, private=True, no_cache=True)
    return response


@require_safe
def map_page(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    geojson_url = reverse("portal:map-geojson")
    if filters:
        geojson_url += "?" + urlencode(filters, doseq=True)
    # The no-script list: the same objects and points as the markers, a page at a time.
    page = Paginator(mapped_objects(request), NOSCRIPT_PAGE_SIZE).get_page(request.GET.get("page"))
    shown = list(page.object_list)
    context = {
        "geojson_url": geojson_url,
        "tile_url": settings.ARCHIVE_MAP_TILE_URL,
        "attribution": settings.ARCHIVE_MAP_ATTRIBUTION,
        "page": page,
        "places": places(request.user, shown, [obj.pk for obj in shown]),
        "filter_query": urlencode(filters, doseq=True),
    }
    return render(request, "portal/map.html", context)
