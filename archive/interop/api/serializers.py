"""What the API returns: objects, their texts and files, communities, collections, and (for curators)
preservation events and replicas.

Serializers never decide visibility: the views hand them only what archive.access lets the caller see.
They do decide detail: the blocks marked curator-only (``curation`` on objects, ``preservation`` on files,
a collection's ``default_access_level``) are ``null`` unless the caller curates the object's community,
and coordinates of a sensitive place are rounded by ``public_coordinates``.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from archive.access import can_curate, public_coordinates
from archive.models import Asset, HeritageObject, ObjectText
from archive.models.heritage_object import choose_text
from preservation.models import PreservationEvent, ProcessingJob, Replica

from .links import absolute, api_path, canonical, iiif_manifest_url


@extend_schema_field(OpenApiTypes.URI)
class LinkField(serializers.Field):
    """A read-only absolute URL of the path ``build(instance)`` returns: on the host the client used, or on
    SITE_URL when ``canonical`` (citable identities; see links.py)."""

    def __init__(self, build, canonical: bool = False, **kwargs) -> None:
        self.build = build
        self.canonical = canonical
        kwargs.update(source="*", read_only=True)
        super().__init__(**kwargs)

    def to_representation(self, instance) -> str | None:
        path = self.build(instance)
        if path is None or path.startswith("http"):
            return path
        return canonical(path) if self.canonical else absolute(path, self.context.get("request"))


class OptionalURLField(serializers.URLField):
    """A URL that may be absent: an empty value is ``null`` (not an empty string, which is no URL)."""

    def __init__(self, **kwargs) -> None:
        kwargs.update(read_only=True, allow_null=True)
        super().__init__(**kwargs)

    def to_representation(self, value) -> str | None:
        return value or None


def _user(serializer: serializers.Field):
    request = serializer.context.get("request")
    return getattr(request, "user", None)


def _curates(serializer: serializers.Field, obj: HeritageObject) -> bool:
    """Whether the caller curates ``obj`` (views that serve one object pass the answer in the context)."""
    if "curator" in serializer.context:
        return bool(serializer.context["curator"])
    return can_curate(_user(serializer), obj)


class CuratorOnly(serializers.Serializer):
    """A nested block (``source="*"``) shown only to the curators of the object it belongs to; else null."""

    def object_of(self, instance) -> HeritageObject:
        return instance

    def to_representation(self, instance):
        if not _curates(self, self.object_of(instance)):
            return None
        return super().to_representation(instance)


# --- objects ----------------------------------------------------------------------------------------------


class TextSerializer(serializers.ModelSerializer):
    direction = serializers.CharField(read_only=True, help_text="Writing direction of this language: ltr or rtl.")

    class Meta:
        model = ObjectText
        fields = ["language", "title", "description", "is_original", "direction"]


class CommunityRefSerializer(serializers.Serializer):
    slug = serializers.SlugField(read_only=True)
    name = serializers.CharField(read_only=True)
    url = LinkField(lambda community: api_path("community-detail", slug=community.slug))


class CollectionRefSerializer(serializers.Serializer):
    slug = serializers.SlugField(read_only=True)
    title = serializers.CharField(read_only=True)
    url = LinkField(lambda collection: api_path("collection-detail", slug=collection.slug))


class PlaceSerializer(serializers.Serializer):
    """Where the object is from. Coordinates of a sensitive place are rounded to 0.1 degree for everyone
    but its curators (``exact`` false)."""

    name = serializers.CharField(read_only=True)
    latitude = serializers.FloatField(read_only=True, allow_null=True)
    longitude = serializers.FloatField(read_only=True, allow_null=True)
    exact = serializers.BooleanField(read_only=True, allow_null=True, help_text="False when the point is rounded.")

    def to_representation(self, obj: HeritageObject) -> dict:
        point = public_coordinates(_user(self), obj)
        latitude, longitude, exact = point if point else (None, None, None)
        return {"name": obj.place_name, "latitude": latitude, "longitude": longitude, "exact": exact}


class ObjectCurationSerializer(CuratorOnly):
    """Curator-only facts about an object."""

    events_url = LinkField(lambda obj: api_path("object-events", identifier=obj.identifier))
    replicas_url = LinkField(lambda obj: api_path("object-replicas", identifier=obj.identifier))
    review_url = LinkField(lambda obj: api_path("object-review", identifier=obj.identifier))
    sensitive_location = serializers.BooleanField(read_only=True)
    source_reference = serializers.CharField(read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True, default=None)
    damaged = serializers.BooleanField(read_only=True)
    damage_detail = serializers.CharField(read_only=True)
    deletion_reason = serializers.CharField(read_only=True)
    deleted_at = serializers.DateTimeField(read_only=True, allow_null=True)


class ObjectSerializer(serializers.ModelSerializer):
    """One catalogue record as the caller may see it."""

    id = serializers.CharField(source="identifier", read_only=True, help_text="The object's stable identifier.")
    url = LinkField(lambda obj: api_path("object-detail", identifier=obj.identifier))
    portal_url = LinkField(
        lambda obj: obj.get_absolute_url(), canonical=True, help_text="The object's page on the portal (citable)."
    )
    iiif_manifest = LinkField(
        lambda obj: iiif_manifest_url(obj.identifier), help_text="Its IIIF Presentation 3 manifest."
    )
    assets_url = LinkField(lambda obj: api_path("object-assets", identifier=obj.identifier))
    thumbnail = LinkField(
        lambda obj: _thumbnail_url(obj), allow_null=True, help_text="Download URL of its first thumbnail, if any."
    )
    title = serializers.SerializerMethodField(help_text="The title in the request's language (Accept-Language).")
    description = serializers.SerializerMethodField()
    language = serializers.SerializerMethodField(help_text="Language of `title` and `description`.")
    texts = TextSerializer(many=True, read_only=True, help_text="Title and description in every language given.")
    community = CommunityRefSerializer(source="collection.community", read_only=True)
    collection = CollectionRefSerializer(read_only=True)
    place = PlaceSerializer(source="*", read_only=True)
    keywords = serializers.ListField(child=serializers.CharField(), read_only=True)
    labels = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Local Contexts TK/BC labels (localcontexts.org)."
    )
    rights_statement = OptionalURLField(help_text="A rightsstatements.org URI.")
    curation = ObjectCurationSerializer(source="*", read_only=True, allow_null=True)

    class Meta:
        model = HeritageObject
        fields = [
            "id",
            "url",
            "portal_url",
            "iiif_manifest",
            "assets_url",
            "thumbnail",
            "title",
            "description",
            "language",
            "texts",
            "community",
            "collection",
            "object_type",
            "culture",
            "period_label",
            "year_start",
            "year_end",
            "place",
            "threat_type",
            "threat_level",
            "keywords",
            "labels",
            "rights_statement",
            "licence",
            "provenance",
            "access_level",
            "status",
            "embargo_until",
            "published_at",
            "created",
            "updated",
            "curation",
        ]
        read_only_fields = fields

    def _text(self, obj: HeritageObject) -> ObjectText | None:
        return choose_text(obj.texts.all())

    def get_title(self, obj: HeritageObject) -> str:
        text = self._text(obj)
        return text.title if text else obj.identifier

    def get_description(self, obj: HeritageObject) -> str:
        text = self._text(obj)
        return text.description if text else ""

    def get_language(self, obj: HeritageObject) -> str | None:
        text = self._text(obj)
        return text.language if text else None


def _thumbnail_url(obj: HeritageObject) -> str | None:
    thumbnails = getattr(obj, "thumbnails", None)  # prefetched by the views (archive.portal.search.cards)
    first = thumbnails[0] if thumbnails else (obj.thumbnail() if thumbnails is None else None)
    return first.get_download_url() if first else None


# --- files --------------------------------------------------------------------------------------------------


class ProcessingSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=ProcessingJob.State.choices, read_only=True)
    stage = serializers.CharField(read_only=True)
    progress = serializers.IntegerField(read_only=True, help_text="Per cent.")
    message = serializers.CharField(read_only=True)
    done = serializers.BooleanField(read_only=True, help_text="Processing finished (successfully or not).")


class AssetPreservationSerializer(CuratorOnly):
    """Curator-only facts about a file: its state, identification, technical metadata and processing."""

    status = serializers.ChoiceField(choices=Asset.State.choices, read_only=True)
    status_message = serializers.CharField(read_only=True)
    original_name = serializers.CharField(read_only=True, help_text="The name as the uploader sent it.")
    puid = serializers.CharField(read_only=True, help_text="PRONOM format identifier.")
    format_name = serializers.CharField(read_only=True)
    technical = serializers.JSONField(read_only=True)
    verified_copies = serializers.SerializerMethodField(help_text="Replicas whose bytes were read back and verified.")
    processing = serializers.SerializerMethodField()

    def object_of(self, asset: Asset) -> HeritageObject:
        return asset.object

    def get_verified_copies(self, asset: Asset) -> int:
        counted = getattr(asset, "verified_copies", None)
        return counted if counted is not None else asset.replicas.filter(state=Replica.State.OK).count()

    @extend_schema_field(ProcessingSerializer(allow_null=True))
    def get_processing(self, asset: Asset) -> dict | None:
        try:
            job = asset.job  # selected with the asset by the views
        except ProcessingJob.DoesNotExist:
            return None
        done = job.state in (ProcessingJob.State.DONE, ProcessingJob.State.FAILED)
        return {"state": job.state, "stage": job.stage, "progress": job.progress, "message": job.message, "done": done}


class AssetSerializer(serializers.ModelSerializer):
    """One file of an object. Visitors and members see finished access copies and thumbnails only."""

    url = LinkField(lambda asset: api_path("object-asset", identifier=asset.object.identifier, asset_id=asset.pk))
    download_url = LinkField(lambda asset: asset.get_download_url())
    preservation = AssetPreservationSerializer(source="*", read_only=True, allow_null=True)

    class Meta:
        model = Asset
        fields = [
            "id",
            "url",
            "role",
            "filename",
            "mime",
            "size",
            "sha256",
            "derived_from",
            "download_url",
            "created",
            "preservation",
        ]
        read_only_fields = fields


class UploadReceiptSerializer(AssetSerializer):
    """What an upload answers: the new file (or the one already holding these bytes) and where to follow it."""

    duplicate = serializers.BooleanField(
        read_only=True, help_text="These bytes were already an original of this object: nothing new was stored."
    )
    status_url = LinkField(
        lambda asset: api_path("object-asset", identifier=asset.object.identifier, asset_id=asset.pk)
    )

    class Meta(AssetSerializer.Meta):
        fields = [*AssetSerializer.Meta.fields, "duplicate", "status_url"]
        read_only_fields = fields


# --- preservation (curators) -------------------------------------------------------------------------------


class EventSerializer(serializers.ModelSerializer):
    """A PREMIS event recorded for the object or one of its files."""

    asset = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    store = serializers.SlugRelatedField(read_only=True, slug_field="name", allow_null=True)

    class Meta:
        model = PreservationEvent
        fields = ["id", "event_type", "occurred_at", "outcome", "agent", "detail", "asset", "store"]
        read_only_fields = fields


class ReplicaSerializer(serializers.ModelSerializer):
    """One file's copy in one store, as last verified."""

    asset = serializers.PrimaryKeyRelatedField(read_only=True)
    filename = serializers.CharField(source="asset.filename", read_only=True)
    role = serializers.ChoiceField(source="asset.role", choices=Asset.Role.choices, read_only=True)
    store = serializers.SlugRelatedField(read_only=True, slug_field="name")
    jurisdiction = serializers.CharField(source="store.jurisdiction", read_only=True)

    class Meta:
        model = Replica
        fields = [
            "asset",
            "filename",
            "role",
            "store",
            "jurisdiction",
            "state",
            "observed_sha256",
            "verified_at",
            "attempts",
            "last_error",
            "updated",
        ]
        read_only_fields = fields
