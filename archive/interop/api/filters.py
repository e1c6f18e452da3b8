"""Query parameters of the object list: the portal's search (archive/portal/search.py: words and facets),
a change window for harvesters, and an explicit, stable order.

Everything filters a queryset that already holds only what the caller may see, so a filter can narrow
the answer but never widen it, and a count is never of hidden objects.
"""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import serializers

from archive.models import AccessLevel, HeritageObject, Status, ThreatType
from archive.portal import search

ORDERINGS = {
    "created": ("created", "pk"),
    "-created": ("-created", "-pk"),
    "updated": ("updated", "pk"),
    "-updated": ("-updated", "-pk"),
    "identifier": ("identifier",),
    "-identifier": ("-identifier",),
}
MAX_VALUES = 10  # values per repeated parameter, as on the portal


def _many(help_text: str, child=None) -> serializers.ListField:
    return serializers.ListField(
        child=child or serializers.CharField(max_length=300),
        required=False,
        max_length=MAX_VALUES,
        help_text=help_text + " Repeat the parameter for alternatives (OR).",
    )


class ObjectFilters(serializers.Serializer):
    """The object list's query parameters (validated; unknown parameters are ignored)."""

    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=search.MAX_QUERY_LENGTH,
        help_text="Words that must all occur in a title, description, keyword, culture, place, type or period.",
    )
    community = _many("Community slug.", serializers.SlugField())
    collection = _many("Collection slug.", serializers.SlugField())
    type = _many("Object type, as catalogued.")
    threat = _many("Threat type.", serializers.ChoiceField(choices=ThreatType.choices))
    period = _many("Period label, as catalogued.")
    place = _many("Place name, as catalogued.")
    licence = _many("Licence, as catalogued.")
    media = serializers.MultipleChoiceField(
        choices=list(search.MEDIA.items()),
        required=False,
        help_text="What the object's finished access copies are: image, 3d, or none (no files yet). "
        "Repeat for alternatives.",
    )
    updated_since = serializers.DateTimeField(
        required=False,
        help_text="Only objects whose record changed at or after this time (ISO 8601; for incremental harvests).",
    )
    modified_after = serializers.DateTimeField(required=False, help_text="Same as updated_since.")
    status = serializers.MultipleChoiceField(
        choices=Status.choices,
        required=False,
        help_text="Record status (curators see drafts; everyone else only published objects).",
    )
    access_level = serializers.MultipleChoiceField(choices=AccessLevel.choices, required=False)
    ordering = serializers.ChoiceField(
        choices=list(ORDERINGS),
        required=False,
        default="-created",
        help_text="Sort order; ties are broken by creation order, so pages are stable.",
    )


def filter_objects(objects: QuerySet[HeritageObject], params: dict) -> QuerySet[HeritageObject]:
    """Apply validated ``ObjectFilters`` data to ``objects`` (the caller's visible objects)."""
    facets = {facet.param: [str(v) for v in params.get(facet.param) or []] for facet in search.FACETS}
    query = search.Query(
        text=" ".join((params.get("q") or "").split())[: search.MAX_QUERY_LENGTH],
        filters={param: values for param, values in facets.items() if values},
    )
    if "media" in query.filters:
        objects = search.with_media(objects)
    objects = search.filter_facets(search.match_text(objects, query.text), query)
    since = [moment for moment in (params.get("updated_since"), params.get("modified_after")) if moment]
    if since:
        objects = objects.filter(updated__gte=max(since))
    if params.get("status"):
        objects = objects.filter(status__in=params["status"])
    if params.get("access_level"):
        objects = objects.filter(access_level__in=params["access_level"])
    return objects.order_by(*ORDERINGS[params.get("ordering") or "-created"])
