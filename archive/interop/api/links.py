"""Absolute URLs the API hands out, of two kinds.

Links for the client to follow (API records, pages, files, status URLs) are built on the address the
client used, like DRF's pagination links, so a field office reaching the archive by its intranet address
gets links that work from there. Identities meant to be cited or harvested (the portal page, the IIIF
manifest) start with settings.SITE_URL, the archive's public address, like every citation and IIIF id.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse


def absolute(path: str, request=None) -> str:
    """``path`` on the host of ``request`` (on SITE_URL without a request)."""
    return request.build_absolute_uri(path) if request is not None else settings.SITE_URL + path


def canonical(path: str) -> str:
    return settings.SITE_URL + path


def api_path(name: str, **kwargs) -> str:
    return reverse(f"api:{name}", kwargs=kwargs)


def iiif_manifest_url(identifier: str) -> str:
    """The object's IIIF Presentation 3 manifest (served by archive/interop/iiif)."""
    return canonical(f"/iiif/{identifier}/manifest")
