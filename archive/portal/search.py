"""Full-text search and facets over what one viewer may see.

Everything starts from ``visible_to(user)``: results, facet values and facet counts never include an
object the viewer may not see (a facet that counts hidden objects leaks their existence).

PostgreSQL: ``search_vector @@ websearch_to_tsquery('simple', q)``, where ``search_vector`` is a stored
generated column ``to_tsvector('simple', search_text)`` with a GIN index (migration 0006), ranked with
``ts_rank`` on the stored vector; the 'simple' configuration does no stemming,
since the catalogue mixes languages. SQLite (embedded mode): every word must occur in the search text
(case-insensitive substring), newest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _

from archive.models import Asset, HeritageObject, ThreatType

MAX_QUERY_LENGTH = 200
FACET_SIZE = 20


@dataclass(frozen=True)
class Facet:
    """One facet: its URL parameter, its label, and how it filters and groups."""

    param: str
    label: str
    field: str = ""  # a model field path to group on; empty for computed facets (media)
    label_field: str = ""


FACETS = [
    Facet("community", _("Community"), "collection__community__slug", "collection__community__name"),
    Facet("collection", _("Collection"), "collection__slug", "collection__title"),
    Facet("type", _("Object type"), "object_type"),
    Facet("threat", _("Threat"), "threat_type"),
    Facet("period", _("Period"), "period_label"),
    Facet("place", _("Place"), "place_name"),
    Facet("media", _("Media")),
    Facet("licence", _("Licence"), "licence"),
]
FACETS_BY_PARAM = {facet.param: facet for facet in FACETS}
MEDIA = {"image": _("Photographs"), "3d": _("3D models"), "none": _("No files yet")}


@dataclass
class Query:
    text: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params) -> Query:
        text = " ".join((params.get("q") or "").split())[:MAX_QUERY_LENGTH]
        filters = {}
        for facet in FACETS:
            values = [v for v in params.getlist(facet.param) if v][:10]
            if values:
                filters[facet.param] = values
        return cls(text=text, filters=filters)

    def params(self, **change: list[str]) -> str:
        """The query string of this query with some facets replaced (for facet and page links)."""
        items: list[tuple[str, str]] = [("q", self.text)] if self.text else []
        merged = {**self.filters, **change}
        for facet in FACETS:
            items += [(facet.param, value) for value in merged.get(facet.param, [])]
        return urlencode(items)

    def toggled(self, param: str, value: str) -> str:
        current = self.filters.get(param, [])
        values = [v for v in current if v != value] if value in current else [*current, value]
        return self.params(**{param: values})

    @property
    def is_empty(self) -> bool:
        return not self.text and not self.filters


def _has_access(mime_condition: Q):
    return Exists(
        Asset.objects.filter(mime_condition, object=OuterRef("pk"), role=Asset.Role.ACCESS, status=Asset.State.READY)
    )


def with_media(objects: QuerySet[HeritageObject]) -> QuerySet[HeritageObject]:
    return objects.annotate(
        has_image=_has_access(Q(mime__startswith="image/")), has_3d=_has_access(Q(mime="model/gltf-binary"))
    )


def _media_filter(values: list[str]) -> Q:
    rule = Q()
    for value in values:
        if value == "image":
            rule |= Q(has_image=True)
        elif value == "3d":
            rule |= Q(has_3d=True)
        elif value == "none":
            rule |= Q(has_image=False, has_3d=False)
    return rule


def filter_facets(objects: QuerySet[HeritageObject], query: Query, skip: str = "") -> QuerySet[HeritageObject]:
    """Apply every facet filter except ``skip`` (values of one facet are alternatives: OR)."""
    for param, values in query.filters.items():
        if param == skip:
            continue
        facet = FACETS_BY_PARAM[param]
        if param == "media":
            objects = objects.filter(_media_filter(values))
        else:
            objects = objects.filter(**{f"{facet.field}__in": values})
    return objects


def match_text(objects: QuerySet[HeritageObject], text: str) -> QuerySet[HeritageObject]:
    if not text:
        return objects
    if connection.vendor == "postgresql":
        table = HeritageObject._meta.db_table
        vector = f'"{table}"."search_vector"'  # stored generated column (migration 0006), GIN-indexed
        return objects.annotate(rank=RawSQL(f"ts_rank({vector}, websearch_to_tsquery('simple', %s))", (text,))).extra(
            where=[f"{vector} @@ websearch_to_tsquery('simple', %s)"], params=[text]
        )
    for word in text.split():
        objects = objects.filter(search_text__icontains=word)
    return objects


def search(visible: QuerySet[HeritageObject], query: Query) -> QuerySet[HeritageObject]:
    """The results, best first: rank (PostgreSQL), then featured, then newest."""
    objects = match_text(with_media(visible), query.text)
    objects = filter_facets(objects, query)
    order = ["-featured", "-created"]
    if query.text and connection.vendor == "postgresql":
        order = ["-rank", *order]
    return objects.order_by(*order)


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool
    link: str


def facet_counts(visible: QuerySet[HeritageObject], query: Query) -> list[tuple[Facet, list[FacetValue]]]:
    """For each facet, its values and counts within the other filters (so alternatives stay visible)."""
    base = match_text(with_media(visible), query.text)
    result = []
    for facet in FACETS:
        scoped = filter_facets(base, query, skip=facet.param).order_by()
        selected = set(query.filters.get(facet.param, []))
        values: list[FacetValue] = []
        if facet.param == "media":
            for key, label in MEDIA.items():
                count = scoped.filter(_media_filter([key])).count()
                if count or key in selected:
                    values.append(FacetValue(key, str(label), count, key in selected, query.toggled("media", key)))
        else:
            fields = [facet.field] + ([facet.label_field] if facet.label_field else [])
            rows = (
                scoped.exclude(**{facet.field: ""})
                .values(*fields)
                .annotate(n=Count("pk"))
                .order_by("-n", facet.field)[:FACET_SIZE]
            )
            for row in rows:
                value = row[facet.field]
                label = row.get(facet.label_field) or value
                if facet.param == "threat":
                    if value == ThreatType.NONE:
                        continue
                    label = str(ThreatType(value).label)
                values.append(FacetValue(value, label, row["n"], value in selected, query.toggled(facet.param, value)))
        if values:
            result.append((facet, values))
    return result


def cards(objects: QuerySet[HeritageObject]) -> QuerySet[HeritageObject]:
    """What a result card needs, in three queries however many cards: texts and the first thumbnail."""
    thumbnails = Asset.objects.filter(role=Asset.Role.THUMBNAIL, status=Asset.State.READY).order_by("created")
    return objects.select_related("collection__community").prefetch_related(
        "texts", Prefetch("assets", queryset=thumbnails, to_attr="thumbnails")
    )
