"""The read-only site. Every object and file comes through archive.access."""

from __future__ import annotations

from django.db.models import prefetch_related_objects
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from archive.access import (
    can_curate,
    get_asset_for_viewer,
    get_object_for_viewer,
    public_coordinates,
    visible_assets,
)
from archive.models import Asset, LocalContextsLabel
from archive.sharing import log_use, share_grants
from preservation.policy import describe, evaluate
from preservation.replication import asset_source
from preservation.stores.base import StoreError


@require_safe
def object_detail(request: HttpRequest, identifier: str) -> HttpResponse:
    obj = get_object_for_viewer(request.user, identifier, shared=share_grants(request))
    prefetch_related_objects([obj], "texts")  # the title, the texts and the cards all read them
    share = log_use(request, obj)  # the share link this visit comes through, if any (logged)
    curator = can_curate(request.user, obj)
    files = list(visible_assets(request.user, obj).order_by("created"))
    thumbnails = {a.derived_from_id: a for a in files if a.role == Asset.Role.THUMBNAIL}
    images = [a for a in files if a.role == Asset.Role.ACCESS and a.mime.startswith("image/")]
    models = [
        {"glb": a, "poster": thumbnails.get(a.derived_from_id)}
        for a in files
        if a.role == Asset.Role.ACCESS and a.mime == "model/gltf-binary"
    ]
    context = {
        "obj": obj,
        "texts": obj.texts.all(),
        "curator": curator,
        "share": share,
        "access_copies": images,
        "models": models,
        "coordinates": public_coordinates(request.user, obj),
        "files": files if curator else [],
        "labels": [(code, LocalContextsLabel(code).label) for code in obj.labels if code in LocalContextsLabel.values],
    }
    if obj.versions.exists():
        # What the archive promises for this object and whether it holds; store names stay internal.
        context["preservation"] = evaluate(obj)
        context["policy_text"] = describe(obj.threat_level)
    return render(request, "portal/object.html", context)


@require_safe
def file_download(request: HttpRequest, asset_id, filename: str) -> FileResponse:
    """Serve one file after the access check; never from a guessable public path."""
    asset = get_asset_for_viewer(request.user, asset_id, shared=share_grants(request))
    if filename != asset.filename:
        raise Http404("No such file")
    shared = log_use(request, asset.object)  # logged when it comes through a share link
    try:
        handle = asset_source(asset)
    except StoreError as error:
        return HttpResponse(
            _("This file is safe in the archive but no copy is reachable right now (%(error)s). Try again later.")
            % {"error": error},
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    inline = asset.role in (Asset.Role.ACCESS, Asset.Role.THUMBNAIL)
    response = FileResponse(handle, as_attachment=not inline, filename=asset.filename, content_type=asset.mime or None)
    response["Content-Length"] = str(asset.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600" if inline and not shared else "private, no-store"
    return response
