"""Curator pages: create and describe objects, upload files, watch processing, handle quarantine."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from archive import actions
from archive.access import can_curate, curated_collections, get_object_for_viewer, visible_to
from archive.curation.forms import DiscardForm, ObjectForm, TextFormSet
from archive.curation.status import processing_row
from archive.models import Asset, HeritageObject, Status
from archive.review import blocking_problems, checklist
from preservation import events
from preservation.health import store_health
from preservation.models import ObjectAudit, ProcessingJob, Replica
from preservation.policy import describe, evaluate
from preservation.replication import store_names_for, under_replicated


def _curated_object(request: HttpRequest, identifier: str) -> HeritageObject:
    obj = get_object_for_viewer(request.user, identifier)
    if not can_curate(request.user, obj):
        raise Http404("No such object")
    return obj


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    collections = curated_collections(request.user)
    if not collections.exists() and not request.user.is_staff:
        return render(request, "curation/not_curator.html", status=403)
    objects = (
        visible_to(request.user)
        .filter(collection__in=collections)
        .prefetch_related("texts")
        .annotate(
            files=Count("assets", filter=Q(assets__role=Asset.Role.ORIGINAL), distinct=True),
            in_progress=Count(
                "assets",
                filter=Q(assets__role=Asset.Role.ORIGINAL)
                & Q(assets__status__in=[Asset.State.RECEIVED, Asset.State.PROCESSING]),
                distinct=True,
            ),
            quarantined=Count("assets", filter=Q(assets__status=Asset.State.QUARANTINED), distinct=True),
        )
        .order_by("-updated")[:200]
    )
    quarantine_count = Asset.objects.filter(object__collection__in=collections, status=Asset.State.QUARANTINED).count()
    return render(
        request,
        "curation/dashboard.html",
        {
            "collections": collections,
            "objects": objects,
            "quarantine_count": quarantine_count,
            "communities": _curated_communities(request.user),
        },
    )


def _curated_communities(user):
    from archive.models import Community, Role

    if user.is_staff:
        return Community.objects.order_by("name")
    return Community.objects.filter(memberships__user=user, memberships__role=Role.CURATOR).order_by("name")


def _save_object(request, form, formset, creating: bool) -> HeritageObject:
    with transaction.atomic():
        obj = form.save(commit=False)
        if creating:
            obj.created_by = request.user
        obj.save()
        formset.instance = obj
        formset.save()
        events.record(
            events.EventType.ACCESSION if creating else events.EventType.METADATA_MODIFICATION,
            events.Outcome.SUCCESS,
            f"Catalogue record {'created' if creating else 'changed'} by {request.user}: "
            f"{', '.join(form.changed_data) or 'texts'}.",
            obj=obj,
        )
        if not creating:
            actions.record_changed(obj)
    return obj


@login_required
def object_create(request: HttpRequest) -> HttpResponse:
    collections = curated_collections(request.user)
    if not collections.exists():
        return render(request, "curation/not_curator.html", status=403)
    form = ObjectForm(request.POST or None, collections=collections, can_feature=request.user.is_staff)
    formset = TextFormSet(
        request.POST or None,
        initial=[{"language": "en", "is_original": True}, {"language": "fr"}],
        prefix="texts",
    )
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        obj = _save_object(request, form, formset, creating=True)
        messages.success(request, _("Object %(id)s created. Add its files below.") % {"id": obj.identifier})
        return redirect("curation:object", obj.identifier)
    return render(request, "curation/object_form.html", {"form": form, "formset": formset, "creating": True})


@login_required
def object_edit(request: HttpRequest, identifier: str) -> HttpResponse:
    obj = _curated_object(request, identifier)
    form = ObjectForm(
        request.POST or None,
        instance=obj,
        collections=curated_collections(request.user),
        can_feature=request.user.is_staff,
    )
    formset = TextFormSet(request.POST or None, instance=obj, prefix="texts")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        _save_object(request, form, formset, creating=False)
        messages.success(request, _("Saved."))
        return redirect("curation:object", obj.identifier)
    return render(
        request,
        "curation/object_form.html",
        {"form": form, "formset": formset, "obj": obj, "creating": False},
    )


@login_required
def object_manage(request: HttpRequest, identifier: str) -> HttpResponse:
    obj = _curated_object(request, identifier)
    originals = obj.assets.filter(role=Asset.Role.ORIGINAL).exclude(status=Asset.State.DISCARDED)
    context = {
        "obj": obj,
        "originals": originals.prefetch_related("derivatives"),
        "events": obj.events.select_related("asset", "store").order_by("-occurred_at")[:100],
        "replicas": Replica.objects.filter(asset__object=obj)
        .select_related("asset", "store")
        .order_by("asset__created", "store__name"),
        "versions": obj.versions.all(),
        "stores": store_names_for(obj),
        "missing_stores": under_replicated(obj),
        "policy": evaluate(obj),
        "policy_text": describe(obj.threat_level),
        "last_audit": ObjectAudit.objects.filter(object=obj).first(),
    }
    return render(request, "curation/object.html", context)


@login_required
@require_POST
def asset_delete(request: HttpRequest, identifier: str, asset_id) -> HttpResponse:
    obj = _curated_object(request, identifier)
    asset = get_object_or_404(Asset, pk=asset_id, object=obj, role=Asset.Role.ORIGINAL)
    form = DiscardForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("A reason is required to delete a file."))
        return redirect("curation:object", obj.identifier)
    try:
        actions.delete_asset(asset, form.cleaned_data["reason"], request.user)
    except ValueError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Deleted; the removal is being written to every store."))
    return redirect("curation:object", obj.identifier)


@login_required
@require_POST
def object_delete(request: HttpRequest, identifier: str) -> HttpResponse:
    obj = _curated_object(request, identifier)
    form = DiscardForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("A reason is required to delete an object."))
        return redirect("curation:object", obj.identifier)
    try:
        actions.delete_object(obj, form.cleaned_data["reason"], request.user)
    except ValueError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Deleted; the object remains as a tombstone with your reason."))
    return redirect("curation:object", obj.identifier)


@login_required
def stores(request: HttpRequest) -> HttpResponse:
    """Staff: every store's health (the same figures as `manage.py stores`)."""
    if not request.user.is_staff:
        raise Http404("No such page")
    return render(request, "curation/stores.html", {"stores": store_health()})


@login_required
@require_POST
def object_publish(request: HttpRequest, identifier: str) -> HttpResponse:
    """Publication is the last step of the review: only from "awaiting review", never with a blocking problem."""
    obj = _curated_object(request, identifier)
    if obj.status != Status.REVIEW:
        messages.error(request, _("Submit the object for review first; it is published from the review."))
        return redirect("curation:object", obj.identifier)
    problems = blocking_problems(obj)
    if problems:
        messages.error(request, _("Not published: %(problems)s") % {"problems": " ".join(problems)})
        return redirect("curation:object-review", obj.identifier)
    actions.publish(obj, request.user)
    messages.success(request, _("Published."))
    return redirect("curation:object", obj.identifier)


@login_required
@require_POST
def object_submit(request: HttpRequest, identifier: str) -> HttpResponse:
    obj = _curated_object(request, identifier)
    try:
        actions.submit_for_review(obj, request.user)
    except ValueError as error:
        messages.error(request, str(error))
        return redirect("curation:object", obj.identifier)
    messages.success(request, _("Submitted for review."))
    return redirect("curation:object-review", obj.identifier)


@login_required
@require_POST
def object_unpublish(request: HttpRequest, identifier: str) -> HttpResponse:
    obj = _curated_object(request, identifier)
    try:
        actions.return_to_draft(obj, request.user, request.POST.get("note", "")[:500])
    except ValueError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Back to draft: no longer visible outside the curators."))
    return redirect("curation:object", obj.identifier)


@login_required
def object_review(request: HttpRequest, identifier: str) -> HttpResponse:
    obj = _curated_object(request, identifier)
    context = {
        "obj": obj,
        "checks": checklist(obj),
        "blocked": bool(blocking_problems(obj)),
        "texts": obj.texts.all(),
        "access_copies": obj.assets.filter(role=Asset.Role.ACCESS, status=Asset.State.READY),
    }
    return render(request, "curation/review.html", context)


@login_required
def object_status(request: HttpRequest, identifier: str) -> JsonResponse:
    """Processing state of every original, polled by the object page while work is under way."""
    obj = _curated_object(request, identifier)
    rows = []
    originals = obj.assets.filter(role=Asset.Role.ORIGINAL).exclude(status=Asset.State.DISCARDED)
    for asset in originals.order_by("created"):
        rows.append(processing_row(asset, ProcessingJob.objects.filter(asset=asset).first()))
    return JsonResponse({"object": obj.identifier, "assets": rows, "missing_stores": under_replicated(obj)})


@login_required
def quarantine_list(request: HttpRequest) -> HttpResponse:
    collections = curated_collections(request.user)
    assets = (
        Asset.objects.filter(object__collection__in=collections, status=Asset.State.QUARANTINED)
        .select_related("object")
        .order_by("-updated")
    )
    return render(request, "curation/quarantine.html", {"assets": assets, "form": DiscardForm()})


@login_required
@require_POST
def quarantine_discard(request: HttpRequest, asset_id) -> HttpResponse:
    asset = get_object_or_404(
        Asset,
        pk=asset_id,
        status=Asset.State.QUARANTINED,
        object__collection__in=curated_collections(request.user),
    )
    form = DiscardForm(request.POST)
    if form.is_valid():
        actions.discard_quarantined(asset, form.cleaned_data["reason"], request.user)
        messages.success(request, _("The quarantined file was deleted; the reason is recorded."))
    else:
        messages.error(request, _("A reason is required to delete a quarantined file."))
    return redirect("curation:quarantine")
