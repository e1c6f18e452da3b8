"""One page for harvesters, viewers and scripts: where each machine interface lives."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe


@require_safe
def open_data(request: HttpRequest) -> HttpResponse:
    base = settings.SITE_URL
    return render(
        request,
        "portal/open_data.html",
        {
            "endpoints": {
                "oai": f"{base}/oai",
                "iiif_collection": f"{base}/iiif/collection",
                "feed": f"{base}/activity/",
                "api": f"{base}/api/",
                "schema": f"{base}/api/schema/",
                "docs": f"{base}/api/docs/",
                "sitemap": f"{base}/sitemap.xml",
            }
        },
    )
