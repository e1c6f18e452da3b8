"""The hand-off of a completely received tus upload to the catalogue, exactly once, even across a database
outage (used by the tus view, its HEAD, and the sweeper)."""

from __future__ import annotations

import os

from django.db import transaction
from django.utils import timezone

from archive import actions
from archive.models import Upload
from archive.uploads.digest import ResumableSha256
from preservation.staging import upload_part_path


def finish(upload: Upload, digest: ResumableSha256) -> None:
    """Hand the complete file to the catalogue, exactly once.

    The claim, the asset and the upload's record commit together. The catalogue takes the bytes through a
    second name (a hard link), and the upload's own name goes only after the commit: if the database fails
    in between, nothing is marked complete, the bytes are still at the upload's name, and the next HEAD or
    PATCH (or the sweeper) finishes it. The linked copy of a failed attempt is an orphan the sweeper removes.
    """
    part = upload_part_path(upload.id)
    sha256 = digest.hexdigest()
    with transaction.atomic():
        claimed = Upload.objects.filter(pk=upload.pk, completed_at__isnull=True).update(completed_at=timezone.now())
        if not claimed:
            return
        handoff = part.with_name(f"{part.name}.handoff")
        handoff.unlink(missing_ok=True)
        os.link(part, handoff)
        asset, created = actions.receive_file(
            upload.object,
            handoff,
            upload.original_name,
            sha256,
            upload.length,
            user=upload.user,
            via="tus upload",
        )
        Upload.objects.filter(pk=upload.pk).update(sha256=sha256, asset=asset, duplicate=not created)
    part.unlink(missing_ok=True)


def finish_received(upload: Upload) -> None:
    """Finish an upload whose last byte arrived but whose hand-off did not commit (HEAD, the sweeper)."""
    if upload.is_complete or upload.offset != upload.length:
        return
    part = upload_part_path(upload.id)
    if upload.length and not part.exists():
        return
    finish(upload, ResumableSha256.from_state(upload.digest_state, prefix=part, length=upload.offset))
