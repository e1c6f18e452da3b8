"""Writing PREMIS-style events: every preservation action leaves one."""

from __future__ import annotations

import platform
from functools import cache

from preservation.models import PreservationEvent

Outcome = PreservationEvent.Outcome
EventType = PreservationEvent.Type


@cache
def archive_agent() -> str:
    """Our own software as a PREMIS agent: name, version and the Python it runs on."""
    import django

    return f"Heritage Archive 0.1.0; Django {django.get_version()}; Python {platform.python_version()}"


def record(
    event_type: str,
    outcome: str,
    detail: str,
    *,
    agent: str | None = None,
    obj=None,
    asset=None,
    store=None,
) -> PreservationEvent:
    """Store one event. ``obj`` defaults to the asset's object so every event is findable per object."""
    if obj is None and asset is not None:
        obj = asset.object
    return PreservationEvent.objects.create(
        event_type=event_type,
        outcome=outcome,
        detail=detail,
        agent=agent or archive_agent(),
        object=obj,
        asset=asset,
        store=store,
    )
