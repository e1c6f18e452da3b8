"""The processing state of an original as the upload pages poll it (object page and batch page)."""

from __future__ import annotations

from archive.models import Asset
from preservation.models import ProcessingJob, Replica


def processing_row(asset: Asset, job: ProcessingJob | None) -> dict:
    """One row of the live table: state, stage, progress, verified copies and thumbnail of an original."""
    thumb = asset.derivatives.filter(role=Asset.Role.THUMBNAIL).first()
    return {
        "id": str(asset.id),
        "filename": asset.filename,
        "status": asset.status,
        "status_label": asset.get_status_display(),
        "message": asset.status_message,
        "stage": job.stage if job else "",
        "progress": job.progress if job else 0,
        "done": bool(job and job.state in (ProcessingJob.State.DONE, ProcessingJob.State.FAILED)),
        "copies": asset.replicas.filter(state=Replica.State.OK).count(),
        "thumbnail": thumb.get_download_url() if thumb else None,
    }
