"""Start-up checks of the store configuration: every access level must have enough stores."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Warning, register


@register("preservation")
def check_stores(app_configs=None, **kwargs) -> list:
    """Each access level needs at least ARCHIVE_MIN_COPIES stores allowed to hold it, or its objects
    could never be fully replicated (their staged files would never be released)."""
    from preservation.stores.registry import ACCESS_LEVELS, store_config

    problems = []
    try:
        names = [entry["name"] for entry in settings.ARCHIVE_STORES]
        levels = {name: store_config(name).get("access_levels") or list(ACCESS_LEVELS) for name in names}
    except Exception as error:  # noqa: BLE001 - any configuration error is reported, not raised
        return [Error(f"ARCHIVE_STORES cannot be read: {error}", id="preservation.E001")]
    for level in ACCESS_LEVELS:
        allowed = [name for name, accepted in levels.items() if level in accepted]
        if len(allowed) < settings.ARCHIVE_MIN_COPIES:
            problems.append(
                Warning(
                    f"Only {len(allowed)} store(s) may hold {level!r} objects ({', '.join(allowed) or 'none'}); "
                    f"ARCHIVE_MIN_COPIES is {settings.ARCHIVE_MIN_COPIES}, so such objects stay under-replicated "
                    "and their staged files are never released.",
                    hint="Add stores to ARCHIVE_STORES or allow this access level on more of them.",
                    id="preservation.W001",
                )
            )
    return problems
