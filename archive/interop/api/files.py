"""``POST /api/objects/<identifier>/files/``: one file, sent as multipart/form-data, becomes an original of
the object, exactly as a finished tus upload does (archive.actions.receive_file).

The bytes go straight from the request to a staging file under STAGING_ROOT, hashed (SHA-256) as they
pass, never held in memory nor written to the system's temporary folder; a file larger than
ARCHIVE_MAX_UPLOAD_BYTES is refused before a byte is read when Content-Length says so, and cut off as soon
as it goes past the limit otherwise. The name is stored sanitised (archive/filenames.py, by receive_file);
hostile names reach the pipeline, which quarantines them. Processing runs in the background: the answer is
202 with the file's id and a status URL to poll. For files of several gigabytes on unreliable connections,
use the resumable tus endpoint (/uploads/) instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from archive import actions
from archive.models import Asset
from preservation.staging import StagingFull as StagingFullError
from preservation.staging import check_staging_space, disk_full, free_bytes, staging_root

from .links import absolute, api_path
from .permissions import object_for_curator
from .schema import ERROR, IDENTIFIER, VALIDATION_ERROR
from .serializers import UploadReceiptSerializer

log = logging.getLogger(__name__)
CHUNK = 1024 * 1024
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file, allowed on top of the limit


class FileTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "file_too_large"


class StagingFull(APIException):
    status_code = status.HTTP_507_INSUFFICIENT_STORAGE
    default_code = "staging_full"


class StagedFile(UploadedFile):
    """A received file already on the staging disk, with its SHA-256 computed while it arrived."""

    def __init__(self, path: Path, name: str, size: int, sha256: str, content_type: str) -> None:
        super().__init__(file=None, name=name, content_type=content_type, size=size)
        self.path = path
        self.sha256 = sha256


class StagingUploadHandler(FileUploadHandler):
    """Streams the multipart part named ``file`` (only the first) to a staging file while hashing it."""

    chunk_size = CHUNK

    def __init__(self, request, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.path: Path | None = None
        self.too_large = False
        self.staging_full: StagingFullError | None = None  # refused for space, or the disk filled while writing
        self._handle = None
        self._digest = hashlib.sha256()
        self._size = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        """Before the parser reads a byte (whoever triggers it: the view, or a session's CSRF check): refuse
        a body that would eat into the staging reserve. Returning empty data leaves the body unread."""
        try:
            check_staging_space(int(content_length or 0))
        except StagingFullError as error:
            self.staging_full = error
            return QueryDict(encoding=encoding), MultiValueDict()
        return None

    def new_file(self, field_name, file_name, *args, **kwargs) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        if field_name != "file" or self.path is not None:
            raise SkipFile()
        folder = staging_root() / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"api-{uuid.uuid4()}.part"
        self._handle = open(self.path, "wb")  # noqa: SIM115 (closed in file_complete or discard)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self._size += len(raw_data)
        if self._size > self.limit:
            self.too_large = True
            self.discard()
            raise StopUpload(connection_reset=True)
        try:
            self._handle.write(raw_data)
        except OSError as error:
            self._filled(error)
            # Read and drop the rest of the body, so the client gets the answer, not a reset connection.
            raise StopUpload(connection_reset=False) from error
        self._digest.update(raw_data)
        return None

    def file_complete(self, file_size: int) -> StagedFile | None:
        if self._handle is None:
            return None
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
        except OSError as error:
            self._filled(error)
            return None
        self._handle = None
        return StagedFile(self.path, self.file_name, self._size, self._digest.hexdigest(), self.content_type)

    def _filled(self, error: OSError) -> None:
        """The staging disk filled while the file arrived: drop the partial file and remember why."""
        declared = int(self.request.META.get("CONTENT_LENGTH") or 0)
        with contextlib.suppress(OSError):  # closing flushes the buffer into the full disk again
            self._handle.close()
        self._handle = None
        self.discard()
        if not disk_full(error):
            raise error
        log.error("staging disk full while receiving an API upload (%s bytes declared): %s", declared, error)
        self.staging_full = StagingFullError(declared, free_bytes(staging_root()))

    def upload_interrupted(self) -> None:
        self.discard()

    def discard(self) -> None:
        """Remove the staged bytes unless receive_file already took them (safe to call twice)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)


class FileUploadInput(serializers.Serializer):
    file = serializers.FileField(help_text="The file, as a multipart/form-data part named `file`.")


def _too_large_message() -> str:
    return _("The file is larger than %(limit)s bytes; split it into smaller files.") % {
        "limit": settings.ARCHIVE_MAX_UPLOAD_BYTES
    }


class ObjectFileUpload(APIView):
    """Add one file to an object you curate."""

    parser_classes = [MultiPartParser]

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body (the CSRF check of a session does): our handler, not Django's.
        self.staging = StagingUploadHandler(request, settings.ARCHIVE_MAX_UPLOAD_BYTES)
        request.upload_handlers = [self.staging]
        return super().initialize_request(request, *args, **kwargs)

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            # Whatever was staged and not taken (refused, invalid, failed, even by an unexpected error) goes.
            staging = getattr(self, "staging", None)
            if staging is not None:
                staging.discard()

    @extend_schema(
        operation_id="objects_files_create",
        summary="Upload a file to an object",
        description=(
            "Curators of the object's community. One file per request, as the multipart part `file`; at most "
            "ARCHIVE_MAX_UPLOAD_BYTES. Answers 202 with the new file and `status_url` (poll it until "
            "`preservation.processing.done`), or 200 with the existing file when these bytes are already an "
            "original of the object."
        ),
        parameters=[IDENTIFIER],
        request={"multipart/form-data": FileUploadInput},
        responses={
            202: UploadReceiptSerializer,
            200: OpenApiResponse(UploadReceiptSerializer, description="Already there (same SHA-256)."),
            400: VALIDATION_ERROR,
            401: ERROR,
            403: ERROR,
            404: ERROR,
            413: ERROR,
            415: ERROR,
            429: ERROR,
            507: ERROR,
        },
        tags=["objects"],
    )
    def post(self, request, identifier: str) -> Response:
        obj = object_for_curator(request.user, identifier, message=_("You may not add files to that object."))
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > settings.ARCHIVE_MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD:
            raise FileTooLarge(_too_large_message())
        free = free_bytes(staging_root())
        if declared + settings.ARCHIVE_STAGING_RESERVE_BYTES > free:
            raise StagingFull(
                _(
                    "Not enough space to receive this file (%(length)s bytes; %(free)s free on the staging disk). "
                    "Nothing was accepted; try again later or tell an administrator."
                )
                % {"length": declared, "free": free}
            )
        received = request.FILES.get("file")  # reading the body streams the file to staging
        if self.staging.too_large:
            raise FileTooLarge(_too_large_message())
        if self.staging.staging_full is not None:
            raise StagingFull(str(self.staging.staging_full))
        FileUploadInput(data={"file": received} if received else {}).is_valid(raise_exception=True)
        asset, created = actions.receive_file(
            obj, received.path, received.name, received.sha256, received.size, user=request.user, via="REST API"
        )
        asset = Asset.objects.select_related("object", "job").get(pk=asset.pk)
        asset.duplicate = not created
        context = {"request": request, "curator": True}
        return Response(
            UploadReceiptSerializer(asset, context=context).data,
            status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK,
            headers={
                "Location": absolute(api_path("object-asset", identifier=obj.identifier, asset_id=asset.pk), request)
            },
        )
