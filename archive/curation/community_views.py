"""A community's own administration by its curators: membership, sharing, stores, collection protocols."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from archive.curation.community_forms import (
    AddMemberForm,
    CollectionProtocolForm,
    MemberRoleForm,
    NewCollectionForm,
    ProtocolsForm,
)
from archive.models import Collection, Community, Membership, Role

log = logging.getLogger(__name__)


def curated_community(request: HttpRequest, slug: str) -> Community:
    """The community if the user curates it (or is staff); 404 otherwise."""
    community = get_object_or_404(Community, slug=slug)
    user = request.user
    if user.is_staff or Membership.objects.filter(user=user, community=community, role=Role.CURATOR).exists():
        return community
    raise Http404("No such community")


@login_required
def community_manage(request: HttpRequest, slug: str) -> HttpResponse:
    community = curated_community(request, slug)
    protocols = ProtocolsForm(request.POST or None, instance=community, prefix="protocols")
    if request.method == "POST" and protocols.is_valid():
        protocols.save()
        log.info("community %s protocols changed by %s", community.slug, request.user)
        messages.success(request, _("Saved."))
        return redirect("curation:community", community.slug)
    context = {
        "community": community,
        "memberships": community.memberships.select_related("user").order_by("role", "user__username"),
        "add_form": AddMemberForm(prefix="add"),
        "protocols": protocols,
        "collections": [
            (c, CollectionProtocolForm(instance=c, prefix=f"c{c.pk}")) for c in community.collections.all()
        ],
        "new_collection": NewCollectionForm(prefix="new"),
        "roles": Role.choices,
    }
    return render(request, "curation/community.html", context)


@login_required
@require_POST
def member_add(request: HttpRequest, slug: str) -> HttpResponse:
    community = curated_community(request, slug)
    form = AddMemberForm(request.POST, prefix="add")
    if form.is_valid():
        user = form.cleaned_data["username"]
        _membership, created = Membership.objects.update_or_create(
            user=user, community=community, defaults={"role": form.cleaned_data["role"]}
        )
        log.info(
            "community %s: %s %s as %s by %s",
            community.slug,
            "added" if created else "changed",
            user,
            form.cleaned_data["role"],
            request.user,
        )
        role = str(Role(form.cleaned_data["role"]).label).lower()  # "curator" in English, translated elsewhere
        messages.success(request, _("%(user)s is now a %(role)s.") % {"user": user, "role": role})
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("curation:community", community.slug)


@login_required
@require_POST
def member_change(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    community = curated_community(request, slug)
    membership = get_object_or_404(Membership, pk=membership_id, community=community)
    if request.POST.get("action") == "remove":
        if _last_curator(membership):
            messages.error(request, _("A community keeps at least one curator."))
        else:
            membership.delete()
            log.info("community %s: %s removed by %s", community.slug, membership.user, request.user)
            messages.success(request, _("Removed."))
        return redirect("curation:community", community.slug)
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        if form.cleaned_data["role"] != Role.CURATOR and _last_curator(membership):
            messages.error(request, _("A community keeps at least one curator."))
        else:
            membership.role = form.cleaned_data["role"]
            membership.save(update_fields=["role"])
            log.info(
                "community %s: %s is now %s (by %s)", community.slug, membership.user, membership.role, request.user
            )
            messages.success(request, _("Saved."))
    return redirect("curation:community", community.slug)


def _last_curator(membership: Membership) -> bool:
    if membership.role != Role.CURATOR:
        return False
    return (
        not Membership.objects.filter(community=membership.community, role=Role.CURATOR)
        .exclude(pk=membership.pk)
        .exists()
    )


@login_required
@require_POST
def collection_save(request: HttpRequest, slug: str, collection_id: int | None = None) -> HttpResponse:
    community = curated_community(request, slug)
    if collection_id is None:
        form = NewCollectionForm(request.POST, prefix="new")
    else:
        collection = get_object_or_404(Collection, pk=collection_id, community=community)
        form = CollectionProtocolForm(request.POST, instance=collection, prefix=f"c{collection.pk}")
    if form.is_valid():
        with transaction.atomic():
            collection = form.save(commit=False)
            collection.community = community
            collection.save()
        messages.success(request, _("Saved."))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("curation:community", community.slug)
