"""Curators' downloads of an object's preservation packages: METS, PREMIS and a BagIt bag (zip).

Only the object's curators and staff get them; everybody else gets the same 404 as for an object that
does not exist (archive.access). The bag is built under STAGING_ROOT, zipped into an anonymous temporary
file and streamed from disk: never held in memory, gone once the response is closed.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from archive.access import can_curate, get_object_for_viewer
from archive.models import HeritageObject
from preservation import records
from preservation.packaging import bags, mets
from preservation.staging import staging_root


def _curated(request: HttpRequest, identifier: str) -> HeritageObject:
    obj = get_object_for_viewer(request.user, identifier)
    if not can_curate(request.user, obj):
        raise Http404("No such object")
    return obj


def _xml(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@never_cache
def object_mets(request: HttpRequest, identifier: str) -> HttpResponse:
    """The METS document of the object's current state (files at their OCFL logical paths)."""
    obj = _curated(request, identifier)
    return _xml(mets.object_mets(obj), f"{obj.identifier}-mets.xml")


@require_GET
@never_cache
def object_premis(request: HttpRequest, identifier: str) -> HttpResponse:
    """Every packaged file and every preservation event so far, PREMIS 3."""
    obj = _curated(request, identifier)
    return _xml(records.premis_file(obj, []).data, f"{obj.identifier}-premis.xml")


@require_GET
@never_cache
def object_bag(request: HttpRequest, identifier: str) -> HttpResponse:
    """A BagIt bag of the latest version (``?versions=all``: every version) as a zip download."""
    obj = _curated(request, identifier)
    all_versions = request.GET.get("versions") == "all"
    parent = staging_root() / "bags"
    parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="download-", dir=parent))
    try:
        bag_dir = bags.export_bag(obj, work, all_versions=all_versions, user=request.user)
        # No name on disk; FileResponse closes it after the last byte, which removes it.
        archive = tempfile.TemporaryFile(dir=parent)  # noqa: SIM115
        try:
            bags.zip_bag(bag_dir, archive)
        except BaseException:
            archive.close()
            raise
    except bags.BagExportError as error:
        messages.error(request, str(error))
        return redirect("curation:object", identifier=obj.identifier)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    archive.seek(0)
    return FileResponse(archive, as_attachment=True, filename=f"{bag_dir.name}.zip", content_type="application/zip")
