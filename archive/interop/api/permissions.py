"""Who may do what through the API.

Reading: anyone, but every queryset starts from ``archive.access.visible_to`` (objects) or
``visible_assets`` (files), so a caller only ever meets what the portal would show them; an object they
may not see answers 404, never 403 (existence is not disclosed).

Preservation detail (events, replicas, technical metadata, processing state): the object's curators and
staff only. For anybody else the events and replicas of an object answer 404, as if they did not exist,
and the curator-only blocks of objects and files are ``null``.

Writing: an authenticated curator. Creating needs at least one collection the caller curates; changing,
uploading to, submitting or publishing an object needs ``can_curate`` on it: a caller who can see the
object but not curate it gets 403, one who cannot see it gets 404.
"""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from archive.access import can_curate, get_object_for_viewer
from archive.models import HeritageObject

NOT_A_CURATOR = _(
    "You are not a curator of any community yet. A community's curators or the archive's staff can add you."
)
NOT_THIS_OBJECTS_CURATOR = _("Only the curators of this object's community may change it.")


class ReadOrCuratorWrites(BasePermission):
    """Reads for everyone; writes for authenticated callers (the views then ask ``can_curate``)."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_authenticated)


def object_for_curator(user, identifier: str, message=NOT_THIS_OBJECTS_CURATOR) -> HeritageObject:
    """The object if ``user`` curates it; 404 if they cannot see it, 403 if they see but do not curate it."""
    obj = get_object_for_viewer(user, identifier)
    if not can_curate(user, obj):
        raise PermissionDenied(message)
    return obj


def object_for_preservation_view(user, identifier: str) -> HeritageObject:
    """The object whose preservation record (events, replicas) ``user`` may read: 404 for everyone else."""
    obj = get_object_for_viewer(user, identifier)
    if not can_curate(user, obj):
        raise Http404("No such object")
    return obj
