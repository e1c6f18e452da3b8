"""Curator pages for CSV metadata: download the records of a collection (or of every collection one curates)
and import a CSV back, with a check-only mode. The rules live in ``archive/curation/csv_io.py``."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext_lazy

from archive.access import curated_collections, visible_to
from archive.curation import csv_io
from archive.models import Collection, Status


class CsvImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file"))
    collection = forms.ModelChoiceField(
        queryset=Collection.objects.none(),
        required=False,
        label=gettext_lazy("Collection for rows without one"),
        empty_label="—",
    )
    dry_run = forms.BooleanField(
        required=False, label=gettext_lazy("Check only: report what would change, change nothing")
    )

    def __init__(self, *args, collections=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["collection"].queryset = collections if collections is not None else Collection.objects.none()
        self.fields["file"].widget.attrs["accept"] = ".csv,text/csv"


def _may_use_csv(request: HttpRequest, collections) -> bool:
    return request.user.is_staff or collections.exists()


@login_required
def csv_export(request: HttpRequest) -> HttpResponse:
    """The records of one collection (``?collection=<slug>``) or of every collection the user curates."""
    collections = curated_collections(request.user)
    if not _may_use_csv(request, collections):
        return render(request, "curation/not_curator.html", status=403)
    slug = request.GET.get("collection", "").strip()
    name = "all"
    if slug:
        collection = get_object_or_404(collections, slug=slug)
        collections = collections.filter(pk=collection.pk)
        name = collection.slug
    objects = visible_to(request.user).filter(collection__in=collections).exclude(status=Status.DELETED)
    response = StreamingHttpResponse(csv_io.iter_csv(objects), content_type="text/csv; charset=utf-8")
    filename = f"heritage-archive-{name}-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def csv_import(request: HttpRequest) -> HttpResponse:
    """Upload a CSV, see every bad row with its line and column; good rows are saved unless checking only."""
    collections = curated_collections(request.user)
    if not _may_use_csv(request, collections):
        return render(request, "curation/not_curator.html", status=403)
    form = CsvImportForm(request.POST or None, request.FILES or None, collections=collections)
    report = None
    if request.method == "POST" and form.is_valid():
        report = csv_io.import_csv(
            form.cleaned_data["file"],
            user=request.user,
            default_collection=form.cleaned_data["collection"],
            dry_run=form.cleaned_data["dry_run"],
        )
    return render(
        request,
        "curation/csv_import.html",
        {
            "form": form,
            "report": report,
            "collections": collections,
            "max_bytes": csv_io.max_bytes(),
            "max_rows": csv_io.MAX_ROWS,
        },
    )
