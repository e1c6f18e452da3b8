"""The API's read and write endpoints (permissions: see permissions.py; shapes: serializers.py).

Every object comes from ``archive.access.visible_to(request.user)`` or ``get_object_for_viewer``; files
from ``visible_assets``. Share links do not apply here: they are for one researcher in a browser.
"""

from __future__ import annotations

from django.db import IntegrityError
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from archive import actions
from archive.access import can_curate, curated_collections, get_object_for_viewer, visible_assets, visible_to
from archive.models import Asset, HeritageObject, Status
from archive.portal.search import cards
from archive.review import blocking_problems, checklist
from preservation.models import PreservationEvent, Replica

from . import edits
from .filters import ObjectFilters, filter_objects
from .links import absolute, api_path
from .permissions import NOT_A_CURATOR, object_for_curator, object_for_preservation_view
from .schema import CONFLICT, IDENTIFIER, READ_ERRORS, VALIDATION_ERROR, WRITE_ERRORS
from .serializers import (
    AssetSerializer,
    EventSerializer,
    ObjectSerializer,
    ReplicaSerializer,
)

ReviewSerializer = inline_serializer(
    "Review",
    {
        "id": serializers.CharField(),
        "status": serializers.CharField(),
        "publishable": serializers.BooleanField(help_text="Awaiting review and no blocking problem."),
        "checks": inline_serializer(
            "ReviewCheck",
            {
                "ok": serializers.BooleanField(),
                "message": serializers.CharField(),
                "blocking": serializers.BooleanField(),
            },
            many=True,
        ),
    },
)


def review_of(obj: HeritageObject) -> dict:
    checks = checklist(obj)
    blocked = any(check.blocking and not check.ok for check in checks)
    return {
        "id": obj.identifier,
        "status": obj.status,
        "publishable": obj.status == Status.REVIEW and not blocked,
        "checks": [{"ok": c.ok, "message": str(c.message), "blocking": c.blocking} for c in checks],
    }


@extend_schema_view(
    list=extend_schema(
        summary="List objects",
        description="The objects you may see (public ones for anonymous callers), filtered and ordered.",
        parameters=[ObjectFilters],
        responses={200: ObjectSerializer, 400: VALIDATION_ERROR, **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One object", parameters=[IDENTIFIER], responses={200: ObjectSerializer, **READ_ERRORS}
    ),
    create=extend_schema(
        summary="Create an object (curators)",
        description="A new draft in a collection you curate. With `source_reference` set, sending the same "
        "record twice answers 409 with the first object's id instead of making a second object.",
        request=edits.ObjectWrite,
        responses={201: ObjectSerializer, 409: CONFLICT, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change an object (curators)",
        description="Only the fields sent change; texts are merged by language. Records a PREMIS "
        "metadata-modification event and packages the new record.",
        parameters=[IDENTIFIER],
        request=edits.ObjectUpdate,
        responses={200: ObjectSerializer, 409: CONFLICT, **WRITE_ERRORS},
    ),
)
class ObjectViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Catalogue records: read by anyone (as archive.access allows), written by curators."""

    serializer_class = ObjectSerializer
    lookup_field = "identifier"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[HeritageObject]:
        return cards(visible_to(self.request.user)).select_related("created_by")

    def get_serializer_class(self):
        if self.action == "create":
            return edits.ObjectWrite
        if self.action == "partial_update":
            return edits.ObjectUpdate
        return ObjectSerializer

    def get_object(self) -> HeritageObject:
        obj = get_object_for_viewer(self.request.user, self.kwargs["identifier"])
        return cards(HeritageObject.objects.filter(pk=obj.pk)).select_related("created_by").get()

    def filter_queryset(self, queryset: QuerySet[HeritageObject]) -> QuerySet[HeritageObject]:
        filters = ObjectFilters(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return filter_objects(queryset, filters.validated_data)

    def _read(self, obj: HeritageObject, code: int = status.HTTP_200_OK, **kwargs) -> Response:
        fresh = cards(HeritageObject.objects.filter(pk=obj.pk)).select_related("created_by").get()
        return Response(ObjectSerializer(fresh, context=self.get_serializer_context()).data, status=code, **kwargs)

    def create(self, request, *args, **kwargs) -> Response:
        if not curated_collections(request.user).exists():
            raise PermissionDenied(NOT_A_CURATOR)
        writer = edits.ObjectWrite(data=request.data, context=self.get_serializer_context())
        writer.is_valid(raise_exception=True)
        data = writer.validated_data
        taken = self._holder_of(data["collection"], data.get("source_reference"))
        if taken is not None:
            return self._source_taken(taken)
        try:
            obj = edits.create(data, request.user)
        except IntegrityError:  # a concurrent request took the same source reference first
            return self._source_taken(self._holder_of(data["collection"], data["source_reference"]))
        return self._read(obj, status.HTTP_201_CREATED, headers={"Location": self._link(obj)})

    def partial_update(self, request, *args, **kwargs) -> Response:
        obj = object_for_curator(request.user, self.kwargs["identifier"])
        writer = edits.ObjectUpdate(obj, data=request.data, partial=True, context=self.get_serializer_context())
        writer.is_valid(raise_exception=True)
        try:
            edits.update(obj, writer.validated_data, request.user)
        except IntegrityError:  # moved to a collection where its source reference is already taken
            return self._source_taken(self._holder_of(writer.validated_data["collection"], obj.source_reference))
        return self._read(obj)

    @staticmethod
    def _holder_of(collection, reference: str | None) -> HeritageObject | None:
        if not reference:
            return None
        return HeritageObject.objects.filter(collection=collection, source_reference=reference).first()

    def _link(self, obj: HeritageObject) -> str:
        return absolute(api_path("object-detail", identifier=obj.identifier), self.request)

    def _source_taken(self, holder: HeritageObject) -> Response:
        detail = _("This collection already has an object with this source reference.")
        body = {"detail": detail, "id": holder.identifier, "url": self._link(holder)}
        return Response(body, status=status.HTTP_409_CONFLICT)

    @extend_schema(
        summary="The review checklist (curators)",
        description="What the reviewer confirms before publication; blocking problems prevent it.",
        parameters=[IDENTIFIER],
        responses={200: ReviewSerializer, **READ_ERRORS},
    )
    @action(detail=True, methods=["get"])
    def review(self, request, identifier: str) -> Response:
        return Response(review_of(object_for_preservation_view(request.user, identifier)))

    @extend_schema(
        summary="Submit a draft for review (curators)",
        parameters=[IDENTIFIER],
        request=None,
        responses={200: ReviewSerializer, 409: CONFLICT, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, identifier: str) -> Response:
        obj = object_for_curator(request.user, identifier)
        try:
            actions.submit_for_review(obj, request.user)
        except ValueError as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return Response(review_of(obj))

    @extend_schema(
        summary="Publish an object awaiting review (curators)",
        description="Follows the review rules of the curation pages: only from `review` status, never with a "
        "blocking problem (409 lists them). Publishing a published object changes nothing.",
        parameters=[IDENTIFIER],
        request=None,
        responses={200: ObjectSerializer, 409: CONFLICT, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def publish(self, request, identifier: str) -> Response:
        obj = object_for_curator(request.user, identifier)
        if obj.status != Status.PUBLISHED:
            if obj.status != Status.REVIEW:
                message = _("Submit the object for review first; it is published from the review.")
                return Response({"detail": message}, status=status.HTTP_409_CONFLICT)
            problems = [str(problem) for problem in blocking_problems(obj)]
            if problems:
                detail = _("Not published: %(problems)s") % {"problems": " ".join(problems)}
                return Response({"detail": detail, "problems": problems}, status=status.HTTP_409_CONFLICT)
            actions.publish(obj, request.user)
        return self._read(obj)


# --- one object's files and preservation record ------------------------------------------------------------


class _OfOneObject:
    """A list or item under /objects/<identifier>/: the object is fetched once, through archive.access."""

    curators_only = False

    def parent(self) -> HeritageObject:
        if not hasattr(self, "_parent"):
            user, identifier = self.request.user, self.kwargs["identifier"]
            if self.curators_only:
                self._parent = object_for_preservation_view(user, identifier)
            else:
                self._parent = get_object_for_viewer(user, identifier)
        return self._parent

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["curator"] = can_curate(self.request.user, self.parent())
        return context


def _assets_of(view) -> QuerySet[Asset]:
    if getattr(view, "swagger_fake_view", False):
        return Asset.objects.none()
    obj = view.parent()
    return (
        visible_assets(view.request.user, obj)
        .select_related("object", "job")
        .annotate(verified_copies=Count("replicas", filter=Q(replicas__state=Replica.State.OK)))
        .order_by("created", "pk")
    )


@extend_schema_view(
    get=extend_schema(
        summary="An object's files", parameters=[IDENTIFIER], responses={200: AssetSerializer, **READ_ERRORS}
    )
)
class ObjectAssetList(_OfOneObject, generics.ListAPIView):
    """The files you may download: everything for curators, finished access copies and thumbnails otherwise."""

    serializer_class = AssetSerializer

    def get_queryset(self) -> QuerySet[Asset]:
        return _assets_of(self)


@extend_schema_view(
    get=extend_schema(
        summary="One file of an object",
        description="Also the status URL of an upload: curators see `preservation.processing`.",
        parameters=[IDENTIFIER],
        responses={200: AssetSerializer, **READ_ERRORS},
    )
)
class ObjectAssetDetail(_OfOneObject, generics.RetrieveAPIView):
    serializer_class = AssetSerializer
    lookup_field = "pk"
    lookup_url_kwarg = "asset_id"

    def get_queryset(self) -> QuerySet[Asset]:
        return _assets_of(self)


@extend_schema_view(
    get=extend_schema(
        summary="An object's PREMIS events (curators)",
        description="Every preservation event of the object and its files, oldest first. 404 for anyone who "
        "does not curate the object.",
        parameters=[IDENTIFIER],
        responses={200: EventSerializer, **READ_ERRORS},
    )
)
class ObjectEventList(_OfOneObject, generics.ListAPIView):
    serializer_class = EventSerializer
    curators_only = True

    def get_queryset(self) -> QuerySet[PreservationEvent]:
        if getattr(self, "swagger_fake_view", False):
            return PreservationEvent.objects.none()
        events = PreservationEvent.objects.filter(object=self.parent()).select_related("store")
        return events.order_by("occurred_at", "pk")


@extend_schema_view(
    get=extend_schema(
        summary="An object's replicas (curators)",
        description="Each file's copy in each store and its last verification. 404 for anyone who does not "
        "curate the object.",
        parameters=[IDENTIFIER],
        responses={200: ReplicaSerializer, **READ_ERRORS},
    )
)
class ObjectReplicaList(_OfOneObject, generics.ListAPIView):
    serializer_class = ReplicaSerializer
    curators_only = True

    def get_queryset(self) -> QuerySet[Replica]:
        if getattr(self, "swagger_fake_view", False):
            return Replica.objects.none()
        replicas = Replica.objects.filter(asset__object=self.parent()).select_related("asset", "store")
        return replicas.order_by("asset__created", "asset_id", "store__name")
