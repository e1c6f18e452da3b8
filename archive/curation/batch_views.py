"""Batch upload into a collection: many photos and scans at once, one draft object per file name."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from archive.access import curated_collections
from archive.curation.status import processing_row
from archive.models import Asset, Collection
from preservation.models import ProcessingJob


def _collection(request: HttpRequest, slug: str) -> Collection:
    collection = curated_collections(request.user).filter(slug=slug).select_related("community").first()
    if collection is None:
        raise Http404("No such collection")
    return collection


@login_required
def collection_upload(request: HttpRequest, slug: str) -> HttpResponse:
    collection = _collection(request, slug)
    return render(
        request,
        "curation/collection_upload.html",
        {"collection": collection, "since": timezone.now().isoformat()},
    )


@login_required
def collection_status(request: HttpRequest, slug: str) -> JsonResponse:
    """Originals received in this collection since ``since`` (the page's load time), with their progress."""
    collection = _collection(request, slug)
    since = parse_datetime(request.GET.get("since", "")) or timezone.now()
    if not isinstance(since, datetime) or timezone.is_naive(since):
        since = timezone.now()
    originals = (
        Asset.objects.filter(object__collection=collection, role=Asset.Role.ORIGINAL, created__gte=since)
        .select_related("object")
        .prefetch_related("object__texts")
        .order_by("created")[:1000]
    )
    jobs = {job.asset_id: job for job in ProcessingJob.objects.filter(asset__in=originals)}
    rows = []
    for asset in originals:
        row = processing_row(asset, jobs.get(asset.id))
        row.update(
            {
                "object": asset.object.identifier,
                "object_title": asset.object.title,
                "object_url": reverse("curation:object", args=[asset.object.identifier]),
                # A batch page has no reload to wait for: a quarantined file is finished too.
                "done": row["done"] or asset.status == Asset.State.QUARANTINED,
            }
        )
        rows.append(row)
    return JsonResponse({"collection": collection.slug, "assets": rows, "missing_stores": []})
