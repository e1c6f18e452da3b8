"""Store names -> store instances, built lazily from ``settings.ARCHIVE_STORES``.

Settings are read on first use, never at import, so worker processes and tests see the configuration
in force when they ask (``override_settings(ARCHIVE_STORES=...)`` resets the cache).
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from preservation.stores.base import ReplicaStore

#: The access levels of the catalogue; a store without ``access_levels`` may hold all of them.
ACCESS_LEVELS = ("public", "community", "restricted")

_instances: dict[str, ReplicaStore] = {}
_lock = threading.Lock()


class UnknownStore(LookupError):
    """No store of that name in ARCHIVE_STORES."""


def _configs() -> list[dict[str, Any]]:
    """Every store's settings dict with defaults filled in, checked once per call (cheap)."""
    raw = getattr(settings, "ARCHIVE_STORES", None) or []
    configs: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not name or not entry.get("backend"):
            raise ImproperlyConfigured(f"ARCHIVE_STORES[{index}] needs a 'name' and a 'backend' (dotted path)")
        if name in seen:
            raise ImproperlyConfigured(f"ARCHIVE_STORES: the store name {name!r} is used twice")
        seen.add(name)
        levels = list(entry.get("access_levels") or ACCESS_LEVELS)
        unknown = set(levels) - set(ACCESS_LEVELS)
        if unknown:
            raise ImproperlyConfigured(
                f"ARCHIVE_STORES: store {name!r} lists unknown access levels {sorted(unknown)}; "
                f"use {list(ACCESS_LEVELS)}"
            )
        configs.append(
            {
                "name": name,
                "backend": entry["backend"],
                "options": dict(entry.get("options") or {}),
                "jurisdiction": entry.get("jurisdiction", ""),
                "access_levels": levels,
            }
        )
    return configs


def store_config(name: str) -> dict[str, Any]:
    """The settings dict of one store (name, backend, options, jurisdiction, access_levels)."""
    for config in _configs():
        if config["name"] == name:
            return config
    known = ", ".join(config["name"] for config in _configs()) or "none"
    raise UnknownStore(f"no store named {name!r} in ARCHIVE_STORES (configured: {known})")


def get_store(name: str) -> ReplicaStore:
    """The one instance of the named store (built on first use; no network access happens here)."""
    store = _instances.get(name)
    if store is not None:
        return store
    config = store_config(name)
    with _lock:
        store = _instances.get(name)
        if store is None:
            try:
                backend = import_string(config["backend"])
            except ImportError as error:
                raise ImproperlyConfigured(
                    f"ARCHIVE_STORES: store {name!r} backend {config['backend']!r} cannot be imported: {error}"
                ) from error
            try:
                store = backend(name=name, **config["options"])
            except TypeError as error:  # a misspelt or missing option
                raise ImproperlyConfigured(f"ARCHIVE_STORES: store {name!r} options: {error}") from error
            _instances[name] = store
    return store


def all_stores() -> list[ReplicaStore]:
    """Every configured store, in settings order."""
    return [get_store(config["name"]) for config in _configs()]


def stores_for_access_level(level: str) -> list[ReplicaStore]:
    """Stores allowed to hold material of this access level (restricted material stays in trusted ones)."""
    if level not in ACCESS_LEVELS:
        raise ValueError(f"unknown access level {level!r}; expected one of {list(ACCESS_LEVELS)}")
    return [get_store(config["name"]) for config in _configs() if level in config["access_levels"]]


def reset() -> None:
    """Forget every built instance; the next call rebuilds from the current settings."""
    with _lock:
        _instances.clear()


@receiver(setting_changed)
def _settings_changed(*, setting: str, **_: Any) -> None:
    if setting == "ARCHIVE_STORES":
        reset()
