"""Batch upload into a collection: many photos and scans at once, one draft object per file name."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from archive.access import curated_collections
from archive.models import Asset, Collection
from preservation.models import ProcessingJob, Replica


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
        job = jobs.get(asset.id)
        thumb = asset.derivatives.filter(role=Asset.Role.THUMBNAIL).first()
        rows.append(
            {
                "id": str(asset.id),
                "filename": asset.filename,
                "object": asset.object.identifier,
                "object_title": asset.object.title,
                "object_url": f"/curate/o/{asset.object.identifier}/",
                "status": asset.status,
                "status_label": asset.get_status_display(),
                "message": asset.status_message,
                "stage": job.stage if job else "",
                "progress": job.progress if job else 0,
                "done": bool(job and job.state in (ProcessingJob.State.DONE, ProcessingJob.State.FAILED))
                or asset.status == Asset.State.QUARANTINED,
                "copies": asset.replicas.filter(state=Replica.State.OK).count(),
                "thumbnail": thumb.get_download_url() if thumb else None,
            }
        )
    return JsonResponse({"collection": collection.slug, "assets": rows, "missing_stores": []})
