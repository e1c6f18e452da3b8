"""IIIF endpoints: thin views over archive.access and the plain functions of image.py, cache.py and
presentation.py.

Every object and file comes through archive.access (share links included), so what a visitor may not
see is a 404 here too, before any parameter is even read. Responses carry ``Access-Control-Allow-Origin: *``
(IIIF viewers run on other sites) and answer CORS preflights. Caching: ``public`` when an anonymous visitor
could fetch the same thing, ``private`` otherwise, and ``no-store`` when only a share link opens it.
"""

from __future__ import annotations

import json
import logging
from functools import wraps

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from archive.access import get_asset_for_viewer, get_object_for_viewer, visible_assets, visible_to
from archive.models import Asset, Collection, HeritageObject
from archive.sharing import log_use, share_grants
from preservation.replication import asset_source
from preservation.stores.base import StoreError

from . import cache, image, presentation
from .sources import SERVED_ROLES, is_served, max_pixels, source_size

logger = logging.getLogger("archive.iiif")

PRESENTATION_TYPE = 'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"'
IMAGE_INFO_TYPE = 'application/ld+json;profile="http://iiif.io/api/image/3/context.json"'
ALLOWED = ["GET", "HEAD", "OPTIONS"]


def cache_seconds() -> int:
    return int(getattr(settings, "ARCHIVE_IIIF_CACHE_SECONDS", 3600))


def iiif_endpoint(view):
    """GET and HEAD run the view; OPTIONS answers a CORS preflight; every response, errors included, may
    be read from any origin (viewers must see a 400's message too). A 404 is plain text and says nothing
    about whether the object exists."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = ", ".join(ALLOWED)
            response["Access-Control-Allow-Headers"] = "Accept"
            response["Access-Control-Max-Age"] = "86400"
        elif request.method not in ("GET", "HEAD"):
            response = HttpResponseNotAllowed(ALLOWED)
        else:
            try:
                response = view(request, *args, **kwargs)
            except Http404:
                response = _text(_("Not found."), 404)
        response["Access-Control-Allow-Origin"] = "*"
        return response

    return wrapper


def _text(message: str, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _unavailable(error: StoreError) -> HttpResponse:
    return _text(
        _("This file is safe in the archive but no copy is reachable right now (%(error)s). Try again later.")
        % {"error": error},
        503,
    )


def _unreadable(asset: Asset, error: Exception) -> HttpResponse:
    logger.error("IIIF: %s (%s) cannot be rendered: %s", asset.id, asset.filename, error)
    return _text(_("This image could not be read."), 500)


def _json(document: dict, content_type: str) -> HttpResponse:
    return HttpResponse(json.dumps(document, ensure_ascii=False, indent=1), content_type=content_type)


def _set_caching(response: HttpResponse, request: HttpRequest, obj: HeritageObject | None) -> None:
    """public if an anonymous visitor gets the same response; no-store if only a share link opens it."""
    seconds = cache_seconds()
    if obj is None:
        public = not request.user.is_authenticated and not share_grants(request)
    else:
        public = visible_to(AnonymousUser()).filter(pk=obj.pk).exists()
    if public:
        response["Cache-Control"] = f"public, max-age={seconds}"
    elif not request.user.is_authenticated:
        response["Cache-Control"] = "private, no-store"
    else:
        response["Cache-Control"] = f"private, max-age={seconds}"


def _served_asset(request: HttpRequest, asset_id) -> Asset:
    """The asset if the caller may see it and it is an image the service serves (else 404)."""
    asset = get_asset_for_viewer(request.user, asset_id, shared=share_grants(request))
    if not is_served(asset):
        raise Http404("No such image")
    return asset


# --- Image API ------------------------------------------------------------------------------------------


@iiif_endpoint
def image_base(request: HttpRequest, asset_id) -> HttpResponse:
    """The image's base URI redirects to its info.json (303, as the Image API asks)."""
    asset = _served_asset(request, asset_id)
    return HttpResponseRedirect(reverse("iiif:image-info", args=[asset.id]), status=303)


@iiif_endpoint
def image_info(request: HttpRequest, asset_id) -> HttpResponse:
    """info.json: JSON-LD unless the client asks for plain JSON only."""
    asset = _served_asset(request, asset_id)
    try:
        width, height = source_size(asset)
    except StoreError as error:
        return _unavailable(error)
    except OSError as error:
        return _unreadable(asset, error)
    service_id = presentation.image_service_url(asset)
    document = image.info(service_id, width, height, rights=presentation.rights_uri(asset.object))
    accept = request.headers.get("Accept", "")
    plain_json = "application/json" in accept and "application/ld+json" not in accept
    response = _json(document, "application/json" if plain_json else IMAGE_INFO_TYPE)
    response["Link"] = f'<{image.PROFILE_URI}>;rel="profile"'
    patch_vary_headers(response, ["Accept"])
    _set_caching(response, request, asset.object)
    return response


@iiif_endpoint
def image_request(
    request: HttpRequest, asset_id, region: str, size: str, rotation: str, quality: str, format: str
) -> HttpResponse:
    """One rendered picture: from the disk cache, else rendered from the access copy and cached."""
    asset = _served_asset(request, asset_id)
    try:
        parsed = image.parse(region, size, rotation, f"{quality}.{format}", source_size(asset))
    except image.IIIFError as error:
        return _text(str(error), error.status)
    except StoreError as error:
        return _unavailable(error)
    except OSError as error:
        return _unreadable(asset, error)
    data = cache.read(asset.sha256, parsed.canonical)
    if data is None:
        try:
            with asset_source(asset) as handle:
                data = image.render(handle, parsed, max_pixels=max_pixels())
        except StoreError as error:
            return _unavailable(error)
        except (OSError, image.IIIFError) as error:  # IIIFError here: a source unlike its record (500)
            return _unreadable(asset, error)
        try:
            cache.write(asset.sha256, parsed.canonical, data)
        except OSError as error:  # a full or read-only disk costs speed, not the answer
            logger.warning("IIIF cache not written for %s: %s", asset.id, error)
    response = HttpResponse(data, content_type=parsed.media_type)
    canonical = f"{presentation.image_service_url(asset)}/{parsed.canonical}"
    response["Link"] = f'<{image.PROFILE_URI}>;rel="profile", <{canonical}>;rel="canonical"'
    response["X-Content-Type-Options"] = "nosniff"
    _set_caching(response, request, asset.object)
    return response


# --- Presentation API -----------------------------------------------------------------------------------


@iiif_endpoint
def manifest(request: HttpRequest, identifier: str) -> HttpResponse:
    """The object's manifest (404 unless the caller may see the object)."""
    obj = get_object_for_viewer(request.user, identifier, shared=share_grants(request))
    prefetch_related_objects([obj], "texts")
    assets = visible_assets(request.user, obj).filter(role__in=SERVED_ROLES, status=Asset.State.READY)
    try:
        media = presentation.Media.of(assets.order_by("created"), source_size)
    except StoreError as error:
        return _unavailable(error)
    log_use(request, obj)  # logged when it comes through a share link
    response = _json(presentation.manifest(obj, media), PRESENTATION_TYPE)
    _set_caching(response, request, obj)
    return response


@iiif_endpoint
def collection(request: HttpRequest, slug: str) -> HttpResponse:
    """A collection's manifests: only the objects the caller may see (the whole list, not paged)."""
    coll = get_object_or_404(Collection.objects.select_related("community"), slug=slug)
    objects = (
        visible_to(request.user, shared=share_grants(request))
        .filter(collection=coll)
        .order_by("-featured", "-created")
        .prefetch_related("texts")
    )
    response = _json(presentation.collection(coll, objects), PRESENTATION_TYPE)
    _set_caching(response, request, None)
    return response


@iiif_endpoint
def collections(request: HttpRequest) -> HttpResponse:
    """The archive's collections holding at least one object the caller may see."""
    visible = visible_to(request.user, shared=share_grants(request))
    found = Collection.objects.filter(heritage_objects__in=visible).distinct().order_by("title")
    response = _json(presentation.top_collection(found), PRESENTATION_TYPE)
    _set_caching(response, request, None)
    return response
