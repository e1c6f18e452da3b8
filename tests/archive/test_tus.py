"""The tus 1.0 endpoint: creation, chunked PATCH with hashing while receiving, resume, refusals."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest
from django.test import Client

from archive.models import Asset, Upload
from archive.uploads.digest import ResumableSha256
from tests.factories import make_object

TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def create(client: Client, obj, length: int, name: str = "photo.jpg"):
    return client.post(
        "/uploads/",
        HTTP_UPLOAD_LENGTH=str(length),
        HTTP_UPLOAD_METADATA=metadata(filename=name, object=obj.identifier),
        **TUS,
    )


def patch(client: Client, location: str, offset: int, data: bytes, content_length: int | None = None):
    extra = {"HTTP_UPLOAD_OFFSET": str(offset), **TUS}
    if content_length is not None:
        extra["CONTENT_LENGTH"] = str(content_length)
    return client.generic("PATCH", location, data, content_type="application/offset+octet-stream", **extra)


@pytest.fixture
def curator_client(personas):
    client = Client()
    client.force_login(personas.curator)
    return client


@pytest.fixture
def obj(personas):
    return make_object(personas.collection, "Upload target", published=False)


def test_options_announces_the_protocol(client):
    response = client.options("/uploads/")
    assert response.status_code == 204
    assert response["Tus-Version"] == "1.0.0"
    assert "creation" in response["Tus-Extension"]


def test_an_upload_in_three_chunks_becomes_one_asset_with_its_sha256(
    curator_client, obj, django_capture_on_commit_callbacks
):
    data = os.urandom(3 * 1024 * 1024 + 17)
    response = create(curator_client, obj, len(data))
    assert response.status_code == 201
    location = response["Location"]
    offset = 0
    for piece in (data[:1_000_000], data[1_000_000:2_500_000], data[2_500_000:]):
        with django_capture_on_commit_callbacks(execute=False):
            response = patch(curator_client, location, offset, piece)
        assert response.status_code == 204
        offset = int(response["Upload-Offset"])
    assert offset == len(data)
    upload = Upload.objects.get()
    assert upload.is_complete and upload.sha256 == hashlib.sha256(data).hexdigest()
    asset = Asset.objects.get(pk=upload.asset_id)
    assert asset.sha256 == hashlib.sha256(data).hexdigest() and asset.size == len(data)
    assert Path(asset.local_path).read_bytes() == data
    assert {e.event_type for e in asset.events.all()} >= {"ingestion", "message digest calculation"}


class DroppedConnection:
    """A request body whose connection resets after ``limit`` bytes, as a phone losing signal does."""

    def __init__(self, data: bytes, limit: int) -> None:
        self.data, self.limit, self.sent = data, limit, 0

    def read(self, size: int = -1) -> bytes:
        if self.sent >= self.limit:
            raise ConnectionResetError("connection reset by peer")
        chunk = self.data[self.sent : min(self.sent + size, self.limit)]
        self.sent += len(chunk)
        return chunk


def test_an_interrupted_patch_resumes_from_the_last_checkpoint(personas, curator_client, obj):
    from django.test import RequestFactory

    from archive.uploads.tus import tus_upload

    data = os.urandom(2 * 1024 * 1024)
    location = create(curator_client, obj, len(data))["Location"]
    upload = Upload.objects.get()
    request = RequestFactory().generic(
        "PATCH",
        location,
        b"x",
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0",
        **TUS,
    )
    request.META["CONTENT_LENGTH"] = str(len(data))
    request._stream = DroppedConnection(data, 1_500_000)
    request.user = personas.curator
    request._dont_enforce_csrf_checks = True
    assert tus_upload(request, upload.id).status_code == 204
    head = curator_client.head(location, **TUS)
    assert head["Upload-Offset"] == "1500000"  # every byte that arrived is kept, hashed once
    assert patch(curator_client, location, 0, data).status_code == 409  # a wrong offset is refused
    assert patch(curator_client, location, 1_500_000, data[1_500_000:]).status_code == 204
    upload.refresh_from_db()
    assert upload.sha256 == hashlib.sha256(data).hexdigest()
    assert Path(Asset.objects.get(pk=upload.asset_id).local_path).read_bytes() == data


def test_the_digest_state_survives_a_round_trip_through_the_database():
    first = ResumableSha256()
    first.update(b"heritage ")
    resumed = ResumableSha256.from_state(first.state())
    resumed.update(b"archive")
    assert resumed.hexdigest() == hashlib.sha256(b"heritage archive").hexdigest()


def test_the_same_bytes_uploaded_twice_make_one_asset(curator_client, obj):
    data = b"same bytes twice" * 1000
    for _ in range(2):
        location = create(curator_client, obj, len(data))["Location"]
        assert patch(curator_client, location, 0, data).status_code == 204
    assert Asset.objects.filter(object=obj, role="original").count() == 1
    assert [u.duplicate for u in Upload.objects.order_by("created")] == [False, True]


def test_an_upload_larger_than_the_limit_is_refused_before_any_byte(curator_client, obj, settings):
    settings.ARCHIVE_MAX_UPLOAD_BYTES = 1000
    response = create(curator_client, obj, 1001)
    assert response.status_code == 413
    assert Upload.objects.count() == 0


def test_an_upload_is_refused_when_the_staging_disk_would_fill(curator_client, obj, monkeypatch):
    monkeypatch.setattr("archive.uploads.tus.free_bytes", lambda _path: 10_000)
    response = create(curator_client, obj, 50_000)
    assert response.status_code == 507
    assert "Not enough space" in response.content.decode()
    assert Upload.objects.count() == 0


def test_more_bytes_than_declared_are_refused(curator_client, obj):
    location = create(curator_client, obj, 10)["Location"]
    assert patch(curator_client, location, 0, b"x" * 11).status_code == 413


@pytest.mark.parametrize("persona,status", [("visitor", 401), ("outsider", 403), ("member", 403)])
def test_only_curators_may_upload(personas, obj, persona, status):
    client = Client()
    user = personas.users()[persona]
    if user:
        client.force_login(user)
    assert create(client, obj, 10).status_code == status


def test_another_users_upload_is_not_found(personas, curator_client, obj):
    location = create(curator_client, obj, 10)["Location"]
    other = Client()
    other.force_login(personas.staff)
    assert other.head(location, **TUS).status_code == 404


def test_patch_without_csrf_token_is_refused_for_session_users(personas, obj):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.curator)
    assert create(client, obj, 10).status_code == 403


def test_termination_removes_the_partial_file(curator_client, obj):
    location = create(curator_client, obj, 100)["Location"]
    patch(curator_client, location, 0, b"x" * 10)
    upload = Upload.objects.get()
    assert curator_client.delete(location, **TUS).status_code == 204
    assert not os.path.exists(upload.staged_path)


def create_in_collection(client: Client, collection, length: int, name: str):
    return client.post(
        "/uploads/",
        HTTP_UPLOAD_LENGTH=str(length),
        HTTP_UPLOAD_METADATA=metadata(filename=name, collection=collection.slug, group=name),
        **TUS,
    )


def test_a_batch_into_a_collection_makes_one_draft_object_per_file_name(personas, curator_client):
    from archive.models import HeritageObject

    collection = personas.collection
    for name in ("jar-01.jpg", "jar-01.dng", "Jar-02.jpg", "jar-01.jpg"):
        assert create_in_collection(curator_client, collection, 10, name).status_code == 201
    objects = HeritageObject.objects.filter(collection=collection, source_reference__startswith="upload:")
    assert sorted(o.source_reference for o in objects) == ["upload:jar-01", "upload:jar-02"]
    jar = objects.get(source_reference="upload:jar-01")
    assert jar.status == "draft" and jar.access_level == collection.default_access_level
    assert jar.title == "jar-01"
    assert Upload.objects.filter(object=jar).count() == 3


@pytest.mark.parametrize("persona", ["member", "outsider"])
def test_only_the_collections_curators_may_batch_upload(personas, persona):
    client = Client()
    client.force_login(getattr(personas, persona))
    assert create_in_collection(client, personas.collection, 10, "x.jpg").status_code == 403
    assert client.get(f"/curate/collections/{personas.collection.slug}/upload/").status_code == 404


def test_the_batch_page_follows_what_was_uploaded_from_it(personas, curator_client, django_capture_on_commit_callbacks):
    page = curator_client.get(f"/curate/collections/{personas.collection.slug}/upload/")
    assert page.status_code == 200 and 'data-collection="riverside-photos"' in page.content.decode()
    since = page.context["since"]
    data = b"not really a photo"
    location = create_in_collection(curator_client, personas.collection, len(data), "basket.jpg")["Location"]
    with django_capture_on_commit_callbacks(execute=True):
        patch(curator_client, location, 0, data)
    status = curator_client.get(f"/curate/collections/{personas.collection.slug}/status.json", {"since": since}).json()
    assert [row["filename"] for row in status["assets"]] == ["basket.jpg"]
    assert status["assets"][0]["object_title"] == "basket" and status["assets"][0]["done"]  # quarantined: done


def test_a_hand_off_cut_by_a_database_failure_is_finished_by_the_next_head_and_loses_nothing(personas, curator_client):
    """Every byte arrived, then the database failed while the file was handed to the catalogue: nothing is
    marked complete, the bytes stay at the upload's name, and the client's next HEAD finishes it, once."""
    from unittest import mock

    from django.db import OperationalError

    from archive.uploads import handoff

    obj = make_object(personas.collection, "Cut hand-off", published=False)
    data = b"field recording " * 1000
    location = create(curator_client, obj, len(data), "take.wav")["Location"]
    real = handoff.actions.receive_file

    def lost_commit(*args, **kwargs):
        real(*args, **kwargs)  # the asset row is written, then the connection goes
        raise OperationalError("server closed the connection unexpectedly")

    with mock.patch.object(handoff.actions, "receive_file", lost_commit):
        assert patch(curator_client, location, 0, data).status_code == 503
    upload = Upload.objects.get()
    assert not upload.is_complete and not Asset.objects.filter(object=obj).exists()
    head = curator_client.head(location, **TUS)
    assert head["Upload-Offset"] == str(len(data))
    asset = Asset.objects.get(object=obj, role=Asset.Role.ORIGINAL)
    assert asset.sha256 == hashlib.sha256(data).hexdigest()
    assert Upload.objects.get().asset_id == asset.id
    curator_client.head(location, **TUS)
    assert Asset.objects.filter(object=obj, role=Asset.Role.ORIGINAL).count() == 1
