"""Browsing the portal: home, search with facets, communities and collections.

Every list starts from ``visible_to(request.user)``, so a page, a count or a facet never reveals an
object the visitor may not see.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import get_language
from django.views.decorators.http import require_safe

from archive.access import visible_to
from archive.models import Collection, Community, Status
from archive.portal.search import Query, cards, facet_counts
from archive.portal.search import search as run_search

PAGE_SIZE = 24


def _page(request: HttpRequest, objects):
    return Paginator(cards(objects), PAGE_SIZE).get_page(request.GET.get("page"))


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    visible = visible_to(request.user)
    featured = list(cards(visible.filter(featured=True, status=Status.PUBLISHED).order_by("-published_at"))[:8])
    recent = list(
        cards(
            visible.filter(status=Status.PUBLISHED).exclude(pk__in=[o.pk for o in featured]).order_by("-published_at")
        )[:12]
    )

    def counts():
        communities = (
            Community.objects.filter(collections__heritage_objects__in=visible)
            .annotate(n=Count("collections__heritage_objects", distinct=True))
            .order_by("name")
        )
        return list(communities), visible.count()

    communities, total = _for_everyone(request, "home", counts)
    context = {"featured": featured, "recent": recent, "communities": communities, "total": total}
    return render(request, "portal/home.html", context)


def _for_everyone(request: HttpRequest, key: str, compute):
    """What every anonymous visitor sees alike (facet counts, community counts) is computed once a
    minute (ARCHIVE_ANONYMOUS_CACHE_SECONDS); signed-in visitors always get fresh figures."""
    seconds = settings.ARCHIVE_ANONYMOUS_CACHE_SECONDS
    if request.user.is_authenticated or not seconds:
        return compute()
    full_key = "portal:" + hashlib.sha256(f"{get_language()}|{key}".encode()).hexdigest()
    value = cache.get(full_key)
    if value is None:
        value = compute()
        cache.set(full_key, value, seconds)
    return value


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    query = Query.from_params(request.GET)
    visible = visible_to(request.user)
    results = run_search(visible, query)
    page = _page(request, results)
    context = {
        "query": query,
        "page": page,
        "facets": _for_everyone(request, "facets|" + query.params(), lambda: facet_counts(visible, query)),
        "page_params": query.params(),
    }
    return render(request, "portal/search.html", context)


@require_safe
def community_list(request: HttpRequest) -> HttpResponse:
    visible = visible_to(request.user)
    communities = (
        Community.objects.annotate(
            n=Count("collections__heritage_objects", filter=Q(collections__heritage_objects__in=visible), distinct=True)
        )
        .filter(n__gt=0)
        .order_by("name")
    )
    return render(request, "portal/communities.html", {"communities": communities})


@require_safe
def community_detail(request: HttpRequest, slug: str) -> HttpResponse:
    community = get_object_or_404(Community, slug=slug)
    visible = visible_to(request.user).filter(collection__community=community)
    collections = (
        Collection.objects.filter(community=community)
        .annotate(n=Count("heritage_objects", filter=Q(heritage_objects__in=visible), distinct=True))
        .order_by("title")
    )
    context = {
        "community": community,
        "collections": [c for c in collections if c.n],
        "page": _page(request, visible.order_by("-featured", "-created")),
        "total": visible.count(),
    }
    return render(request, "portal/community.html", context)


@require_safe
def collection_detail(request: HttpRequest, slug: str) -> HttpResponse:
    collection = get_object_or_404(Collection.objects.select_related("community"), slug=slug)
    visible = visible_to(request.user).filter(collection=collection)
    context = {
        "collection": collection,
        "page": _page(request, visible.order_by("-featured", "-created")),
        "total": visible.count(),
    }
    return render(request, "portal/collection.html", context)
