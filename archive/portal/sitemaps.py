"""sitemap.xml and robots.txt: only what an anonymous visitor may see, so a search engine is never
told that a restricted, community, draft, embargoed or deleted object exists."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps.views import sitemap as sitemap_view
from django.db.models import Max, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape
from django.views.decorators.http import require_safe

from archive.access import visible_to
from archive.models import Collection, Community, HeritageObject


def public_objects() -> QuerySet[HeritageObject]:
    return visible_to(AnonymousUser())


def _reverse(name: str, *args) -> str | None:
    """The path of a route, or None while it does not exist (community and collection pages come later)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


class ArchiveSitemap(Sitemap):
    """Absolute URLs on ARCHIVE_SITE_URL (the base of citable URLs), whatever host the request came in on."""

    def get_protocol(self, protocol=None):
        return urlsplit(settings.SITE_URL).scheme or super().get_protocol(protocol)

    def get_domain(self, site=None):
        return urlsplit(settings.SITE_URL).netloc or super().get_domain(site)


class PagesSitemap(ArchiveSitemap):
    names = ("portal:home", "portal:search", "portal:map")

    def items(self):
        return [name for name in self.names if _reverse(name) is not None]

    def location(self, item):
        return reverse(item)


class ObjectsSitemap(ArchiveSitemap):
    limit = 10_000  # URLs per sitemap page (the protocol allows 50,000; smaller pages stay fast)

    def items(self):
        return public_objects().order_by("pk")

    def lastmod(self, item):
        return item.updated


class _WithPublicObjectsSitemap(ArchiveSitemap):
    """Communities or collections holding at least one publicly visible object, once their page exists.
    ``lastmod`` is the latest change among those public objects."""

    route: str
    objects_path: str  # from this model to HeritageObject

    def queryset(self) -> QuerySet:
        raise NotImplementedError

    def items(self):
        found = list(
            self.queryset()
            .filter(**{f"{self.objects_path}__in": public_objects()})
            .annotate(last_public_change=Max(f"{self.objects_path}__updated"))
            .order_by("slug")
        )
        if not found or _reverse(self.route, found[0].slug) is None:
            return []
        return found

    def location(self, item):
        return reverse(self.route, args=[item.slug])

    def lastmod(self, item):
        return item.last_public_change


class CommunitiesSitemap(_WithPublicObjectsSitemap):
    route = "portal:community"
    objects_path = "collections__heritage_objects"

    def queryset(self):
        return Community.objects.all()


class CollectionsSitemap(_WithPublicObjectsSitemap):
    route = "portal:collection"
    objects_path = "heritage_objects"

    def queryset(self):
        return Collection.objects.all()


SITEMAPS = {
    "pages": PagesSitemap,
    "communities": CommunitiesSitemap,
    "collections": CollectionsSitemap,
    "objects": ObjectsSitemap,
}


@require_safe
def sitemap(request: HttpRequest) -> HttpResponse:
    """The sitemap index: one entry per section and page, so 100,000 objects stay within the protocol."""
    entries = []
    for section, sitemap_class in SITEMAPS.items():
        site = sitemap_class()
        location = f"{settings.SITE_URL}{reverse('portal:sitemap-section', args=[section])}"
        for page in range(1, site.paginator.num_pages + 1):
            entries.append(location if page == 1 else f"{location}?p={page}")
    body = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    body += [f"  <sitemap><loc>{escape(entry)}</loc></sitemap>" for entry in entries]
    body.append("</sitemapindex>")
    return HttpResponse("\n".join(body) + "\n", content_type="application/xml")


@require_safe
def sitemap_section(request: HttpRequest, section: str) -> HttpResponse:
    if section not in SITEMAPS:
        raise Http404("No such sitemap")
    return sitemap_view(request, sitemaps=SITEMAPS, section=section)


ROBOTS_DISALLOW = ("/curate/", "/admin/", "/uploads/", "/files/", "/s/")


@require_safe
def robots_txt(request: HttpRequest) -> HttpResponse:
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in ROBOTS_DISALLOW)]
    lines.append(f"Sitemap: {settings.SITE_URL}{reverse('portal:sitemap')}")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
