"""Communities and collections: their public names and descriptions, and how many of their objects the
caller may see (never hidden ones, never member lists).

Listed: communities with at least one object the caller may see, and the caller's own; collections with
at least one such object, and those the caller curates (``can_add_objects``: where to POST new objects).
A community or collection outside that list answers 404.
"""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view, inline_serializer
from rest_framework import serializers, viewsets

from archive.access import curated_collections, visible_to
from archive.models import AccessLevel, Collection, Community

from .links import api_path
from .schema import READ_ERRORS, SLUG
from .serializers import CommunityRefSerializer, LinkField

# --- shapes ------------------------------------------------------------------------------------------------------


class CommunitySerializer(serializers.ModelSerializer):
    """A community's public face: its name and description (never its members)."""

    url = LinkField(lambda community: api_path("community-detail", slug=community.slug))
    portal_url = LinkField(lambda community: reverse("portal:community", args=[community.slug]), canonical=True)
    collections_url = LinkField(lambda community: api_path("collection-list") + f"?community={community.slug}")
    objects_url = LinkField(lambda community: api_path("object-list") + f"?community={community.slug}")
    object_count = serializers.IntegerField(read_only=True, help_text="Objects of this community you may see.")

    class Meta:
        model = Community
        fields = ["slug", "name", "description", "url", "portal_url", "collections_url", "objects_url", "object_count"]
        read_only_fields = fields


class CollectionSerializer(serializers.ModelSerializer):
    url = LinkField(lambda collection: api_path("collection-detail", slug=collection.slug))
    portal_url = LinkField(lambda collection: reverse("portal:collection", args=[collection.slug]), canonical=True)
    objects_url = LinkField(lambda collection: api_path("object-list") + f"?collection={collection.slug}")
    community = CommunityRefSerializer(read_only=True)
    object_count = serializers.IntegerField(read_only=True, help_text="Objects of this collection you may see.")
    can_add_objects = serializers.SerializerMethodField(help_text="You curate this collection: POST objects to it.")
    default_access_level = serializers.SerializerMethodField(help_text="Curators only: new objects' access level.")

    class Meta:
        model = Collection
        fields = [
            "slug",
            "title",
            "description",
            "community",
            "url",
            "portal_url",
            "objects_url",
            "object_count",
            "can_add_objects",
            "default_access_level",
        ]
        read_only_fields = fields

    def get_can_add_objects(self, collection: Collection) -> bool:
        return collection.pk in self.context.get("curated_collection_ids", ())

    @extend_schema_field(serializers.ChoiceField(choices=AccessLevel.choices, allow_null=True))
    def get_default_access_level(self, collection: Collection) -> str | None:
        return collection.default_access_level if self.get_can_add_objects(collection) else None


# --- endpoints ---------------------------------------------------------------------------------------------------


def _member_community_ids(user) -> list[int]:
    if not getattr(user, "is_authenticated", False):
        return []
    return list(user.memberships.values_list("community_id", flat=True))


@extend_schema_view(
    list=extend_schema(summary="List communities", responses={200: CommunitySerializer, **READ_ERRORS}),
    retrieve=extend_schema(
        summary="One community", parameters=[SLUG], responses={200: CommunitySerializer, **READ_ERRORS}
    ),
)
class CommunityViewSet(viewsets.ReadOnlyModelViewSet):
    """Communities with at least one object you may see, and your own. Names and descriptions only."""

    serializer_class = CommunitySerializer
    lookup_field = "slug"

    def get_queryset(self) -> QuerySet[Community]:
        visible = visible_to(self.request.user).values("pk")
        return (
            Community.objects.annotate(
                object_count=Count(
                    "collections__heritage_objects",
                    filter=Q(collections__heritage_objects__in=visible),
                    distinct=True,
                )
            )
            .filter(Q(object_count__gt=0) | Q(pk__in=_member_community_ids(self.request.user)))
            .order_by("name", "pk")
        )


@extend_schema_view(
    list=extend_schema(
        summary="List collections",
        parameters=[
            inline_serializer(
                "CollectionFilters", {"community": serializers.SlugField(required=False, help_text="Community slug.")}
            )
        ],
        responses={200: CollectionSerializer, **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One collection", parameters=[SLUG], responses={200: CollectionSerializer, **READ_ERRORS}
    ),
)
class CollectionViewSet(viewsets.ReadOnlyModelViewSet):
    """Collections with at least one object you may see, and those you curate (``can_add_objects``)."""

    serializer_class = CollectionSerializer
    lookup_field = "slug"

    def curated_ids(self) -> frozenset[int]:
        if not hasattr(self, "_curated_ids"):
            self._curated_ids = frozenset(curated_collections(self.request.user).values_list("pk", flat=True))
        return self._curated_ids

    def get_queryset(self) -> QuerySet[Collection]:
        visible = visible_to(self.request.user).values("pk")
        collections = (
            Collection.objects.select_related("community")
            .annotate(object_count=Count("heritage_objects", filter=Q(heritage_objects__in=visible), distinct=True))
            .filter(Q(object_count__gt=0) | Q(pk__in=self.curated_ids()))
        )
        community = self.request.query_params.get("community")
        if community and self.action == "list":
            collections = collections.filter(community__slug=community)
        return collections.order_by("title", "pk")

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["curated_collection_ids"] = self.curated_ids()
        return context
