"""A full staging disk on every way in (tus, the REST API, `manage.py ingest`): refused with a clear message
before a byte is written, and a disk that fills while the bytes arrive (a real tiny tmpfs) answers 507 too,
with nothing half accepted: no Upload or Asset row, no partial file.

The refusal of a tus upload at creation is proven in test_tus.py
(test_an_upload_is_refused_when_the_staging_disk_would_fill); here the reserve itself is what refuses.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from archive.models import Asset, HeritageObject, Upload
from preservation.models import PreservationEvent
from tests.archive.test_tus import TUS, create, patch
from tests.factories import client_for, make_object

MIB = 1024 * 1024
FULL = "Not enough space to receive this file"


@pytest.fixture
def obj(personas):
    return make_object(personas.collection, "Field recordings", published=False)


def api_as(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def session_api_as(user) -> APIClient:
    """A browser-like session with its CSRF cookie and header: the CSRF check reads the body first."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    secret = "k" * 32
    client.cookies["csrftoken"] = secret
    client.credentials(HTTP_X_CSRFTOKEN=secret)
    return client


def api_upload(client, obj, data: bytes, name: str = "survey.tif"):
    handle = io.BytesIO(data)
    handle.name = name
    return client.post(f"/api/objects/{obj.identifier}/files/", {"file": handle}, format="multipart")


def staged_files(settings) -> list[Path]:
    """Every file under staging/uploads (parts of tus, API and batch uploads)."""
    return sorted(p for p in (Path(settings.STAGING_ROOT) / "uploads").glob("*") if p.is_file())


def reserve_more_than_free(settings) -> None:
    root = Path(settings.STAGING_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    settings.ARCHIVE_STAGING_RESERVE_BYTES = shutil.disk_usage(root).free + MIB


def stage_on(settings, disk) -> None:
    settings.STAGING_ROOT = disk.path / "staging"


# --- refused before a byte is written: the reserve -------------------------------------------------------


@pytest.mark.parametrize("auth", ["token", "session"])
def test_an_api_upload_is_refused_with_507_when_the_reserve_would_be_eaten(personas, obj, settings, auth, monkeypatch):
    from archive.interop.api.files import StagingUploadHandler

    opened = []
    monkeypatch.setattr(StagingUploadHandler, "new_file", lambda self, *args, **kwargs: opened.append(args))
    reserve_more_than_free(settings)
    # With a session, the CSRF check reads the body before the view: the upload handler itself refuses.
    client = api_as(personas.curator) if auth == "token" else session_api_as(personas.curator)
    response = api_upload(client, obj, os.urandom(50_000))
    assert response.status_code == 507, response.content
    assert FULL in response.json()["detail"]
    assert opened == [], "not a byte may be written to staging"
    assert not Asset.objects.filter(object=obj).exists()
    assert staged_files(settings) == []


def test_a_tus_upload_is_refused_by_the_reserve_before_any_row_or_file(personas, obj, settings):
    reserve_more_than_free(settings)
    response = create(client_for(personas.curator), obj, 10_000)
    assert response.status_code == 507 and FULL in response.content.decode()
    assert not Upload.objects.exists() and staged_files(settings) == []


def test_bulk_ingest_stops_with_a_clear_message_and_creates_no_object(personas, settings, tmp_path):
    batch = tmp_path / "field-trip"
    (batch / "mosaic").mkdir(parents=True)
    (batch / "mosaic" / "north.bin").write_bytes(os.urandom(20_000))
    (batch / "loose.bin").write_bytes(os.urandom(20_000))
    reserve_more_than_free(settings)
    with pytest.raises(CommandError, match=FULL) as refused:
        call_command("ingest", str(batch), "--collection", personas.collection.slug, verbosity=0)
    assert "run the same command again" in str(refused.value)
    assert not HeritageObject.objects.filter(source_reference__in=["mosaic/", "loose.bin"]).exists()
    assert not Asset.objects.exists() and staged_files(settings) == []


# --- the disk fills while the bytes arrive: a real 4 MiB tmpfs -------------------------------------------


def test_a_tus_upload_that_fills_the_disk_midway_gets_507_and_leaves_nothing(
    personas, obj, settings, tiny_disk, caplog
):
    disk = tiny_disk(4 * MIB)
    stage_on(settings, disk)
    client = client_for(personas.curator)
    data = os.urandom(3 * MIB)
    response = create(client, obj, len(data))
    assert response.status_code == 201  # 3 MiB fit when the upload was created
    location = response["Location"]
    disk.fill(leave=MIB)  # then another program takes most of the space

    response = patch(client, location, 0, data)
    assert response.status_code == 507, response.content
    assert FULL in response.content.decode()
    assert "staging disk full" in caplog.text
    assert not Upload.objects.exists() and not Asset.objects.exists()
    assert staged_files(settings) == []
    assert client.head(location, **TUS).status_code == 404  # the client starts again, nothing to resume

    disk.unfill()  # space again: the same file goes through from the start
    location = create(client, obj, len(data))["Location"]
    assert patch(client, location, 0, data).status_code == 204
    assert Asset.objects.get(object=obj).size == len(data)


def test_an_api_upload_that_fills_the_disk_midway_gets_507_and_leaves_nothing(
    personas, obj, settings, tiny_disk, monkeypatch
):
    disk = tiny_disk(4 * MIB)
    stage_on(settings, disk)
    disk.fill(leave=MIB)
    # The checks saw room a moment ago (another upload filled the disk right after): let the bytes come.
    monkeypatch.setattr("archive.interop.api.files.free_bytes", lambda _path: 100 * MIB)
    monkeypatch.setattr("archive.interop.api.files.check_staging_space", lambda *args, **kwargs: None)
    response = api_upload(api_as(personas.curator), obj, os.urandom(3 * MIB))
    assert response.status_code == 507, response.content
    assert FULL in response.json()["detail"]
    assert not Asset.objects.exists() and staged_files(settings) == []
    assert not PreservationEvent.objects.filter(event_type="ingestion").exists()


def test_bulk_ingest_that_fills_the_disk_midway_leaves_no_partial_copy(personas, settings, tiny_disk, monkeypatch):
    disk = tiny_disk(4 * MIB)
    stage_on(settings, disk)
    source = disk.path.parent / "big-scan.bin"
    source.write_bytes(os.urandom(3 * MIB))
    disk.fill(leave=MIB)
    monkeypatch.setattr("archive.batch.check_staging_space", lambda *args, **kwargs: None)
    monkeypatch.setattr("archive.management.commands.ingest.check_space_for", lambda source: None)
    with pytest.raises(CommandError, match=FULL):
        call_command("ingest", str(source), "--collection", personas.collection.slug, verbosity=0)
    assert not Asset.objects.exists() and staged_files(settings) == []
