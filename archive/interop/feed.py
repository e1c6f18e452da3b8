"""The public change feed: IIIF Change Discovery API 1.0, an Activity Streams 2.0 ordered collection of
Create / Update / Delete activities, for aggregators that prefer following changes to OAI-PMH harvests.

The source is the public change log (archive.models.PublicChange): only objects a visitor could see ever
appear, and an object that stops being public (unpublished, restricted, embargoed, deleted) gets a Delete.
Pages run oldest to newest; a consumer reads ``last`` and walks ``prev`` until it meets activities older
than its previous visit (the spec's algorithm). An update coalesced into an entry moves that entry to a
later page, never an earlier one, so such a walk misses nothing.
"""

from __future__ import annotations

import math
from datetime import UTC

from django.conf import settings
from django.core.paginator import EmptyPage, Paginator
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import path, reverse
from django.views.decorators.http import require_safe

from archive.models import PublicChange

CONTEXT = ["http://iiif.io/api/discovery/1/context.json", "https://www.w3.org/ns/activitystreams"]
CONTENT_TYPE = 'application/ld+json;profile="https://www.w3.org/ns/activitystreams"'
ACTIVITY_TYPES = {
    PublicChange.Verb.CREATE: "Create",
    PublicChange.Verb.UPDATE: "Update",
    PublicChange.Verb.DELETE: "Delete",
}


def page_size() -> int:
    return int(getattr(settings, "ARCHIVE_FEED_PAGE_SIZE", 100))


def _url(name: str, *args) -> str:
    return settings.SITE_URL + reverse(name, args=args)


def _changes():
    return PublicChange.objects.select_related("object").order_by("at", "id")


def _time(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def activity(change: PublicChange) -> dict:
    """One activity: what happened to which manifest, and when. The object's portal page is its
    ``seeAlso``; a Delete names a manifest that now answers 404."""
    identifier = change.object.identifier
    return {
        "id": _url("feed:activity", change.pk),
        "type": ACTIVITY_TYPES[change.verb],
        "object": {
            "id": f"{settings.SITE_URL}/iiif/{identifier}/manifest",
            "type": "Manifest",
            "seeAlso": [
                {"id": settings.SITE_URL + change.object.get_absolute_url(), "type": "Text", "format": "text/html"}
            ],
        },
        "endTime": _time(change.at),
    }


def collection() -> dict:
    """The ordered collection: how many activities, and where the first and last pages are."""
    total = PublicChange.objects.count()
    pages = max(1, math.ceil(total / page_size()))
    return {
        "@context": CONTEXT,
        "id": _url("feed:collection"),
        "type": "OrderedCollection",
        "totalItems": total,
        "first": {"id": _url("feed:page", 1), "type": "OrderedCollectionPage"},
        "last": {"id": _url("feed:page", pages), "type": "OrderedCollectionPage"},
    }


def page(number: int) -> dict:
    """Page ``number`` (1 = oldest) of the activities, with its neighbours."""
    paginator = Paginator(_changes(), page_size(), allow_empty_first_page=True)
    try:
        current = paginator.page(number)
    except EmptyPage as missing:
        raise Http404("No such page") from missing
    data = {
        "@context": CONTEXT,
        "id": _url("feed:page", number),
        "type": "OrderedCollectionPage",
        "partOf": {"id": _url("feed:collection"), "type": "OrderedCollection"},
        "startIndex": current.start_index() - 1 if current.object_list else 0,
        "orderedItems": [activity(change) for change in current.object_list],
    }
    if current.has_previous():
        data["prev"] = {"id": _url("feed:page", current.previous_page_number()), "type": "OrderedCollectionPage"}
    if current.has_next():
        data["next"] = {"id": _url("feed:page", current.next_page_number()), "type": "OrderedCollectionPage"}
    return data


def _answer(data: dict) -> JsonResponse:
    response = JsonResponse(data, content_type=CONTENT_TYPE, json_dumps_params={"ensure_ascii": False})
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=60"
    return response


@require_safe
def collection_view(request: HttpRequest) -> JsonResponse:
    return _answer(collection())


@require_safe
def page_view(request: HttpRequest, number: int) -> JsonResponse:
    return _answer(page(number))


@require_safe
def activity_view(request: HttpRequest, pk: int) -> JsonResponse:
    try:
        change = _changes().get(pk=pk)
    except PublicChange.DoesNotExist as missing:
        raise Http404("No such activity") from missing
    return _answer({"@context": CONTEXT, **activity(change)})


app_name = "feed"
urlpatterns = [
    path("", collection_view, name="collection"),
    path("page/<int:number>", page_view, name="page"),
    path("activity/<int:pk>", activity_view, name="activity"),
]
