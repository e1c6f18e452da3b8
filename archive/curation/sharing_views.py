"""Curator pages for share links: create one (its URL is shown once), revoke it, read its use log.

Only curators of the object's community and staff reach these pages (``_curated_object``); anyone
else gets the same 404 as for an object they may not see."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from archive import sharing
from archive.curation.forms import ShareLinkForm
from archive.curation.views import _curated_object
from archive.models import ShareLink, Status


def _back_to_links(obj) -> HttpResponse:
    return redirect(reverse("curation:object", args=[obj.identifier]) + "#share-links")


@never_cache
@login_required
def share_create(request: HttpRequest, identifier: str) -> HttpResponse:
    """GET: the form alone. POST: create the link and show its URL once; the plaintext token is in
    this response only (not in messages, the session, the database or a redirect)."""
    obj = _curated_object(request, identifier)
    if obj.status == Status.DELETED:
        messages.error(request, _("A deleted object cannot be shared."))
        return _back_to_links(obj)
    form = ShareLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        link, token = sharing.create_link(obj, **form.cleaned_data, user=request.user)
        url = settings.SITE_URL + reverse("portal:share", args=[token])
        response = render(request, "curation/share_created.html", {"obj": obj, "link": link, "url": url})
        response["Referrer-Policy"] = "no-referrer"
        return response
    return render(request, "curation/share_form.html", {"obj": obj, "form": form})


@login_required
@require_POST
def share_revoke(request: HttpRequest, identifier: str, link_id) -> HttpResponse:
    obj = _curated_object(request, identifier)
    link = get_object_or_404(ShareLink, pk=link_id, object=obj)
    if sharing.revoke(link, request.user):
        messages.success(
            request,
            _("The link for %(researcher)s is revoked; it stops working at once.")
            % {"researcher": link.researcher_name},
        )
    else:
        messages.info(request, _("This link was already revoked."))
    return _back_to_links(obj)


@login_required
def share_detail(request: HttpRequest, identifier: str, link_id) -> HttpResponse:
    """One link and every use of it, refused ones included."""
    obj = _curated_object(request, identifier)
    link = get_object_or_404(ShareLink.objects.select_related("created_by", "revoked_by"), pk=link_id, object=obj)
    context = {"obj": obj, "link": link, "state": sharing.link_state(link), "uses": link.uses.all()[:500]}
    return render(request, "curation/share_link.html", context)
