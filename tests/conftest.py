"""Shared fixtures: every test gets its own media folders and two local OCFL stores; unit tests run
Celery tasks eagerly, tests marked ``services`` talk to real servers instead."""

from __future__ import annotations

import pytest

from tests.factories import Personas, make_personas

pytest_plugins = [
    "tests.fixtures.s3",
    "tests.fixtures.services",
    "tests.fixtures.private_services",
    "tests.fixtures.faulty_s3",
    "tests.fixtures.tiny_disk",
]


@pytest.fixture(autouse=True)
def archive_folders(request, tmp_path, settings):
    """Isolated staging, quarantine and stores per test (never the developer's media/)."""
    from config import celery_app
    from preservation.stores import registry

    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    settings.STAGING_ROOT = media / "staging"
    settings.QUARANTINE_ROOT = media / "quarantine"
    settings.ARCHIVE_STAGING_RESERVE_BYTES = 0
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ARCHIVE_ANONYMOUS_CACHE_SECONDS = 0  # tests change data between requests; one test turns it on
    settings.ARCHIVE_STORES = [
        {
            "name": name,
            "backend": "preservation.stores.local.LocalStore",
            "options": {"root": str(media / "stores" / name), "create": True},
            "jurisdiction": jurisdiction,
            "access_levels": ["public", "community", "restricted"],
        }
        for name, jurisdiction in (("local-a", "FR"), ("local-b", "CA"))
    ]
    registry.reset()
    eager = request.node.get_closest_marker("services") is None
    if eager:
        settings.ARCHIVE_TASK_MAX_RETRIES = 0
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    celery_app.conf.task_eager_propagates = True
    yield media
    celery_app.conf.task_always_eager = previous
    registry.reset()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix) -> None:
    """PostgreSQL test databases named per session (test_heritage_<pid>): two runs on one server (CI and a
    developer, parallel engineers) never drop each other's database mid-run."""
    import os

    from django.conf import settings

    for database in settings.DATABASES.values():
        if "postgresql" in database["ENGINE"]:
            test = database.setdefault("TEST", {})
            test["NAME"] = f"{test.get('NAME') or 'test_' + database['NAME']}_{os.getpid()}"


@pytest.fixture
def personas(db) -> Personas:
    return make_personas()
