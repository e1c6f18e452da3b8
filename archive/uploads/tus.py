"""The server side of the tus 1.0.0 resumable upload protocol (core, creation, termination).

Bytes stream from the request to a staging file in 1 MiB chunks, hashed as they pass; the offset and
the SHA-256 state are checkpointed together every few MiB, so a dropped connection resumes at the
last checkpoint and nothing is read twice. A finished upload becomes an Asset exactly once.
Reference: https://tus.io/protocols/resumable-upload
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext
from django.views.decorators.csrf import csrf_exempt

from archive.access import can_curate, curated_collections, visible_to
from archive.actions import object_for_upload
from archive.filenames import storable_name
from archive.identifiers import normalize_identifier
from archive.models import Upload
from archive.uploads.digest import ResumableSha256
from archive.uploads.handoff import finish, finish_received
from preservation.staging import disk_full, free_bytes, staging_full_message, staging_root, upload_part_path

log = logging.getLogger(__name__)
TUS_VERSION = "1.0.0"
CHUNK = 1024 * 1024
CHECKPOINT_EVERY = 16 * CHUNK
LOCK_SECONDS = 120


def _response(status: int, message: str = "", **headers: str) -> HttpResponse:
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    response["Tus-Resumable"] = TUS_VERSION
    response["Cache-Control"] = "no-store"
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def parse_metadata(header: str) -> dict[str, str]:
    """Decode ``Upload-Metadata``: comma-separated ``key base64value`` pairs."""
    metadata = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, value = pair.partition(" ")
        try:
            # storable_name: a NUL in a name would fail on PostgreSQL; the pipeline quarantines such names
            metadata[key] = storable_name(base64.b64decode(value, validate=True).decode("utf-8")) if value else ""
        except (binascii.Error, UnicodeDecodeError) as error:
            raise ValueError(f"Upload-Metadata value of {key!r} is not base64 UTF-8") from error
    return metadata


def _reserve_bytes() -> int:
    return settings.ARCHIVE_STAGING_RESERVE_BYTES


@csrf_exempt
def tus_collection(request: HttpRequest) -> HttpResponse:
    """OPTIONS (capabilities) and POST (create an upload) on /uploads/."""
    if request.method == "OPTIONS":
        return _response(
            204,
            Tus_Version=TUS_VERSION,
            Tus_Extension="creation,termination",
            Tus_Max_Size=str(settings.ARCHIVE_MAX_UPLOAD_BYTES),
        )
    if request.method != "POST":
        return _response(405, gettext("Use POST to create an upload."))
    rejected = _check_csrf(request)
    if rejected:
        return rejected
    if not request.user.is_authenticated:
        return _response(401, gettext("Log in to upload."))
    try:
        length = int(request.headers.get("Upload-Length", ""))
        metadata = parse_metadata(request.headers.get("Upload-Metadata", ""))
    except ValueError as error:
        return _response(400, gettext("Bad upload request: %(error)s") % {"error": error})
    if length < 0:
        return _response(400, gettext("Upload-Length must not be negative."))
    if length > settings.ARCHIVE_MAX_UPLOAD_BYTES:
        return _response(
            413,
            gettext("The file is %(length)s bytes; the limit is %(limit)s bytes.")
            % {"length": length, "limit": settings.ARCHIVE_MAX_UPLOAD_BYTES},
        )
    free = free_bytes(staging_root())
    if length + _reserve_bytes() > free:
        return _response(
            507,
            gettext(
                "Not enough space to receive this file (%(length)s bytes; %(free)s free on the staging disk). "
                "Nothing was accepted; try again later or tell an administrator."
            )
            % {"length": length, "free": free},
        )
    filename = metadata.get("filename") or metadata.get("name") or "unnamed"
    if metadata.get("collection") and not metadata.get("object"):
        # Batch upload into a collection: files that share a name (before the extension) make one object.
        collection = curated_collections(request.user).filter(slug=metadata["collection"]).first()
        if collection is None:
            return _response(403, gettext("You may not add objects to that collection."))
        obj = object_for_upload(
            collection, metadata.get("group") or filename, user=request.user, language=get_language() or "en"
        )
    else:
        identifier = normalize_identifier(metadata.get("object", ""))
        obj = visible_to(request.user).filter(identifier=identifier).first() if identifier else None
        if obj is None or not can_curate(request.user, obj):
            return _response(403, gettext("You may not add files to that object."))
    upload = Upload.objects.create(object=obj, user=request.user, original_name=filename[:1024], length=length)
    part = upload_part_path(upload.id)
    part.parent.mkdir(parents=True, exist_ok=True)
    part.touch()
    upload.staged_path = str(part)
    upload.save(update_fields=["staged_path"])
    location = request.build_absolute_uri(reverse("uploads:tus-upload", args=[upload.id]))
    if length == 0:
        finish(upload, ResumableSha256())
    return _response(201, Location=location, Upload_Offset="0")


def _check_csrf(request: HttpRequest) -> HttpResponse | None:
    """Session-authenticated writes need the CSRF token (sent by the browser client as a header)."""
    from django.middleware.csrf import CsrfViewMiddleware

    reason = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
    if reason is not None:
        return _response(403, gettext("CSRF check failed: reload the page and try again."))
    return None


@csrf_exempt
def tus_upload(request: HttpRequest, upload_id) -> HttpResponse:
    """HEAD (where are we), PATCH (append bytes), DELETE (abandon) on /uploads/<id>."""
    if request.method == "OPTIONS":
        return _response(204, Tus_Version=TUS_VERSION, Tus_Extension="creation,termination")
    if not request.user.is_authenticated:
        return _response(401, gettext("Log in to upload."))
    upload = Upload.objects.filter(pk=upload_id, user=request.user).select_related("object").first()
    if upload is None:
        return _response(404, gettext("No such upload."))
    if request.method == "HEAD":
        # Every byte is here but the hand-off to the catalogue failed (a database outage): finish it now, since
        # a client that sees the full offset will not send another PATCH.
        finish_received(upload)
        return _response(200, Upload_Offset=str(upload.offset), Upload_Length=str(upload.length))
    rejected = _check_csrf(request)
    if rejected:
        return rejected
    if request.method == "DELETE":
        if upload.is_complete:
            return _response(409, gettext("This upload is complete; delete the file from the object instead."))
        upload_part_path(upload.id).unlink(missing_ok=True)
        upload.delete()
        return _response(204)
    if request.method != "PATCH":
        return _response(405, gettext("Use HEAD, PATCH or DELETE."))
    return _patch(request, upload)


def _patch(request: HttpRequest, upload: Upload) -> HttpResponse:
    if request.content_type != "application/offset+octet-stream":
        return _response(415, gettext("PATCH needs Content-Type: application/offset+octet-stream."))
    try:
        client_offset = int(request.headers.get("Upload-Offset", ""))
    except ValueError:
        return _response(400, gettext("Upload-Offset is missing or not a number."))
    if upload.is_complete:
        return _response(204, Upload_Offset=str(upload.offset))
    if client_offset != upload.offset:
        return _response(
            409,
            gettext("Upload-Offset %(client)s does not match the server's %(server)s.")
            % {"client": client_offset, "server": upload.offset},
        )
    now = timezone.now()
    claimed = (
        Upload.objects.filter(pk=upload.pk, offset=client_offset)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + timedelta(seconds=LOCK_SECONDS))
    )
    if not claimed:
        return _response(423, gettext("Another request is writing this upload; retry shortly."))
    try:
        return _append(request, upload)
    finally:
        Upload.objects.filter(pk=upload.pk).update(locked_until=None)


def _append(request: HttpRequest, upload: Upload) -> HttpResponse:
    part = upload_part_path(upload.id)
    digest = ResumableSha256.from_state(upload.digest_state, prefix=part, length=upload.offset)
    declared = request.headers.get("Content-Length")
    remaining = int(declared) if declared and declared.isdigit() else None
    if remaining is not None and upload.offset + remaining > upload.length:
        return _response(413, gettext("The request carries more bytes than the upload's declared length."))
    handle = open(part, "r+b")  # noqa: SIM115 - closed below, whatever a full disk does to close()
    try:
        refused = _receive(request, upload, handle, digest, remaining)
    except OSError as error:
        if not disk_full(error):
            raise
        return _staging_filled(request, upload, remaining, error)
    finally:
        with contextlib.suppress(OSError):  # a full disk fails the final flush again: already handled
            handle.close()
    if refused is not None:
        return refused
    if upload.offset == upload.length:
        try:
            finish(upload, digest)
        except OSError as error:  # no room left for the asset's folder
            if not disk_full(error):
                raise
            return _staging_filled(request, upload, 0, error)
    return _response(204, Upload_Offset=str(upload.offset))


def _receive(
    request: HttpRequest, upload: Upload, handle, digest: ResumableSha256, remaining: int | None
) -> HttpResponse | None:
    """Append the request's bytes at the upload's offset, checkpointing as they come; a refusal or None.

    A client that goes away keeps what arrived (up to the last checkpoint); errors of the staging disk
    itself (OSError from write, flush or fsync) propagate to the caller."""
    offset = upload.offset
    unsaved = 0
    handle.truncate(offset)  # bytes past the last checkpoint came from an interrupted request
    handle.seek(offset)
    while remaining is None or remaining > 0:
        want = CHUNK if remaining is None else min(CHUNK, remaining)
        try:
            chunk = request.read(want)
        except OSError as error:  # the client went away mid-request: keep what arrived
            log.info("upload %s interrupted at %s bytes: %s", upload.id, offset, error)
            break
        if not chunk:
            break
        if offset + len(chunk) > upload.length:
            return _response(413, gettext("More bytes than the upload's declared length."))
        handle.write(chunk)
        digest.update(chunk)
        offset += len(chunk)
        unsaved += len(chunk)
        if remaining is not None:
            remaining -= len(chunk)
        if unsaved >= CHECKPOINT_EVERY:
            _checkpoint(handle, upload, offset, digest)
            unsaved = 0
    _checkpoint(handle, upload, offset, digest)
    return None


DRAIN_LIMIT = 16 * CHUNK


def _staging_filled(request: HttpRequest, upload: Upload, remaining: int | None, error: OSError) -> HttpResponse:
    """The staging disk filled while this upload arrived: remove it (partial file and row), answer 507.

    Nothing is half accepted: the client starts again once space is free (creating an upload checks the
    free space first). A moderate rest of the request body is read and dropped so the client reads this
    answer rather than a reset connection."""
    log.error(
        "staging disk full while receiving upload %s (%s, %s bytes declared): the upload was removed; %s",
        upload.id,
        upload.original_name,
        upload.length,
        error,
    )
    upload_part_path(upload.id).unlink(missing_ok=True)
    Upload.objects.filter(pk=upload.pk, asset__isnull=True).delete()
    if remaining is not None and remaining <= DRAIN_LIMIT:
        with contextlib.suppress(OSError):
            while request.read(CHUNK):
                pass
    return _response(507, staging_full_message(upload.length, free_bytes(staging_root())))


def _checkpoint(handle, upload: Upload, offset: int, digest: ResumableSha256) -> None:
    """Make the bytes durable, then record offset and digest state together."""
    handle.flush()
    os.fsync(handle.fileno())
    upload.offset = offset
    upload.digest_state = digest.state()
    Upload.objects.filter(pk=upload.pk).update(offset=offset, digest_state=upload.digest_state)
