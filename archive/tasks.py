"""Catalogue-side periodic work (thin wrappers; the logic lives in plain functions)."""

from __future__ import annotations

from celery import shared_task

from archive import changes


@shared_task(name="archive.record_due_embargoes")
def record_due_embargoes() -> int:
    """Objects whose embargo has ended appear in OAI-PMH and the change feed as created."""
    return changes.record_due_embargoes()


@shared_task(name="archive.prune_iiif_cache")
def prune_iiif_cache() -> int:
    """Keep rendered IIIF images under ARCHIVE_IIIF_CACHE_MAX_BYTES (oldest first)."""
    from django.conf import settings

    from archive.interop.iiif import cache

    removed, _freed = cache.prune(settings.ARCHIVE_IIIF_CACHE_MAX_BYTES)
    return removed
