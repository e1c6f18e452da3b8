"""The objects we keep and their files."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from archive.identifiers import new_identifier

from .collection import Collection
from .vocabularies import RTL_LANGUAGES, AccessLevel, Status, ThreatLevel, ThreatType


def choose_text(texts, language: str | None = None):
    """Of an object's texts (anything with ``language`` and ``is_original``), the one to show: the wanted
    language (default: the active one), else English, French, the original, any. One rule for every page."""
    by_language = {t.language: t for t in texts}
    if not by_language:
        return None
    wanted = (language or get_language() or "en").split("-")[0]
    for code in (wanted, "en", "fr"):
        if code in by_language:
            return by_language[code]
    originals = [t for t in by_language.values() if t.is_original]
    return originals[0] if originals else next(iter(by_language.values()))


class HeritageObject(models.Model):
    """One catalogued object, with a stable short identifier that is never reused."""

    identifier = models.CharField(max_length=10, unique=True, editable=False)
    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="heritage_objects")
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    culture = models.CharField(max_length=200, blank=True)
    period_label = models.CharField(_("period"), max_length=200, blank=True)
    year_start = models.IntegerField(null=True, blank=True, help_text=_("Negative for BCE."))
    year_end = models.IntegerField(null=True, blank=True, help_text=_("Negative for BCE."))
    place_name = models.CharField(max_length=300, blank=True)
    latitude = models.FloatField(null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.FloatField(null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)])
    sensitive_location = models.BooleanField(
        default=False, help_text=_("Exact coordinates are shown only to the community's curators and staff.")
    )
    threat_type = models.CharField(max_length=16, choices=ThreatType.choices, default=ThreatType.NONE)
    threat_level = models.PositiveSmallIntegerField(choices=ThreatLevel.choices, default=ThreatLevel.NONE)
    rights_statement = models.URLField(blank=True)
    licence = models.CharField(max_length=100, blank=True)
    access_level = models.CharField(max_length=16, choices=AccessLevel.choices, default=AccessLevel.PUBLIC)
    embargo_until = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    keywords = models.JSONField(default=list, blank=True)
    labels = models.JSONField(
        default=list, blank=True, help_text=_("Local Contexts TK/BC labels the community applies to this object.")
    )
    featured = models.BooleanField(default=False, help_text=_("Shown first on the portal's home page."))
    search_text = models.TextField(
        blank=True, editable=False, help_text=_("Every searchable text, kept up to date by update_search_text().")
    )
    provenance = models.TextField(blank=True)
    source_reference = models.CharField(
        max_length=500,
        blank=True,
        help_text=_("Where a bulk ingest found this object (folder or file name); makes re-runs idempotent."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)
    damaged = models.BooleanField(
        default=False, help_text=_("A fixity audit found a file with no verified good copy in any store.")
    )
    damage_detail = models.TextField(blank=True)
    deletion_reason = models.TextField(blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [
            models.Index(fields=["status", "access_level"]),
            # Browsing order (search without words, community and collection pages) and the home page.
            models.Index(models.F("featured").desc(), models.F("created").desc(), name="object_browse_order"),
            models.Index(
                models.F("published_at").desc(),
                name="object_recently_published",
                condition=models.Q(status="published"),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "source_reference"],
                condition=~models.Q(source_reference=""),
                name="one_object_per_ingest_source",
            ),
            models.CheckConstraint(
                condition=models.Q(year_start__isnull=True)
                | models.Q(year_end__isnull=True)
                | models.Q(year_start__lte=models.F("year_end")),
                name="year_range_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.identifier} {self.title}"

    def save(self, *args, **kwargs) -> None:
        if self.identifier:
            super().save(*args, **kwargs)
            return
        for _attempt in range(10):
            self.identifier = new_identifier()
            try:
                with transaction.atomic():
                    super().save(*args, **kwargs)
                return
            except IntegrityError:
                if not type(self).objects.filter(identifier=self.identifier).exists():
                    raise
        raise IntegrityError("could not find a free identifier after 10 attempts")

    def get_absolute_url(self) -> str:
        return reverse("portal:object", args=[self.identifier])

    # --- identity -------------------------------------------------------------------------------
    @property
    def ocfl_id(self) -> str:
        return f"{settings.ARCHIVE_OCFL_ID_PREFIX}{self.identifier}"

    @property
    def citation_url(self) -> str:
        return settings.SITE_URL + self.get_absolute_url()

    # --- texts ----------------------------------------------------------------------------------
    def text(self, language: str | None = None) -> ObjectText | None:
        """The text in the wanted language, else English, French, the original, any."""
        return choose_text(self.texts.all(), language)

    @property
    def title(self) -> str:
        text = self.text()
        return text.title if text else self.identifier

    @property
    def description(self) -> str:
        text = self.text()
        return text.description if text else ""

    # --- state ----------------------------------------------------------------------------------
    @property
    def is_embargoed(self) -> bool:
        return bool(self.embargo_until and self.embargo_until > timezone.localdate())

    def build_search_text(self) -> str:
        """Titles and descriptions in every language, keywords, culture, place, type and period, one text
        for full-text search (PostgreSQL) or the substring fallback (SQLite)."""
        parts = [self.identifier, self.object_type, self.culture, self.period_label, self.place_name]
        parts += [str(keyword) for keyword in self.keywords or []]
        for text in self.texts.all():
            parts += [text.title, text.description]
        return "\n".join(part for part in parts if part)

    def update_search_text(self) -> None:
        text = self.build_search_text()
        if text != self.search_text:
            self.search_text = text
            type(self).objects.filter(pk=self.pk).update(search_text=text)

    def originals(self) -> models.QuerySet[Asset]:
        return self.assets.filter(role=Asset.Role.ORIGINAL)

    def thumbnail(self) -> Asset | None:
        return self.assets.filter(role=Asset.Role.THUMBNAIL, status=Asset.State.READY).order_by("created").first()


class ObjectText(models.Model):
    """Title and description in one language (BCP 47 code). A language is a row, not a column."""

    object = models.ForeignKey(HeritageObject, on_delete=models.CASCADE, related_name="texts")
    language = models.CharField(max_length=16)
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    is_original = models.BooleanField(default=False, help_text=_("The language the record was written in."))

    class Meta:
        ordering = ["-is_original", "language"]
        constraints = [
            models.UniqueConstraint(fields=["object", "language"], name="one_text_per_language"),
            models.UniqueConstraint(fields=["object"], condition=models.Q(is_original=True), name="one_original_text"),
        ]

    def __str__(self) -> str:
        return f"[{self.language}] {self.title}"

    @property
    def direction(self) -> str:
        return "rtl" if self.language.split("-")[0].lower() in RTL_LANGUAGES else "ltr"


class ObjectVersion(models.Model):
    """One OCFL version of an object: the files added together. Every store replays the same versions."""

    object = models.ForeignKey(HeritageObject, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    created = models.DateTimeField(default=timezone.now)
    message = models.CharField(max_length=500)
    user_name = models.CharField(max_length=200, default="Heritage Archive")

    class Meta:
        ordering = ["object", "number"]
        constraints = [models.UniqueConstraint(fields=["object", "number"], name="one_version_number")]

    def __str__(self) -> str:
        return f"{self.object.identifier} v{self.number}"


class Asset(models.Model):
    """One file of an object: an original as received, or a file derived from it."""

    class Role(models.TextChoices):
        ORIGINAL = "original", _("Original")
        MASTER = "master", _("Preservation master")
        ACCESS = "access", _("Access copy")
        THUMBNAIL = "thumbnail", _("Thumbnail")
        PREVIEW = "preview", _("Small 3D preview")
        METADATA = "metadata", _("Metadata record")

    class State(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSING = "processing", _("Processing")
        READY = "ready", _("Processed")
        QUARANTINED = "quarantined", _("Quarantined")
        DISCARDED = "discarded", _("Discarded from quarantine")
        DELETED = "deleted", _("Deleted (tombstone)")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    object = models.ForeignKey(HeritageObject, on_delete=models.PROTECT, related_name="assets")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ORIGINAL)
    derived_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="derivatives"
    )
    original_name = models.CharField(max_length=1024, help_text=_("The name as the uploader sent it."))
    filename = models.CharField(max_length=200, help_text=_("Sanitized name used in stores and URLs."))
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    puid = models.CharField(max_length=32, blank=True)
    format_name = models.CharField(max_length=200, blank=True)
    mime = models.CharField(max_length=100, blank=True)
    format_key = models.CharField(max_length=32, blank=True)
    technical = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=State.choices, default=State.RECEIVED)
    status_message = models.TextField(blank=True)
    local_path = models.CharField(
        max_length=500, blank=True, help_text=_("Working copy under MEDIA_ROOT (staging or quarantine).")
    )
    version = models.ForeignKey(ObjectVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="assets")
    removed_in = models.ForeignKey(
        ObjectVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="removed_assets",
        help_text=_("The OCFL version whose state no longer holds this file (a deliberate deletion)."),
    )
    deletion_reason = models.TextField(blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.CharField(max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created"]
        constraints = [
            # The same bytes uploaded twice to one object make one asset, however the uploads race.
            models.UniqueConstraint(
                fields=["object", "sha256"],
                condition=models.Q(role="original") & ~models.Q(status__in=["discarded", "deleted"]),
                name="one_original_per_digest",
            ),
            # A 3D master may come with its textures: several masters, one per file name.
            models.UniqueConstraint(
                fields=["derived_from", "role", "filename"],
                condition=models.Q(derived_from__isnull=False),
                name="one_derivative_per_role_and_name",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "updated"]),
            # The media facet asks, per object, whether a ready access copy of a kind exists.
            models.Index(
                fields=["object", "mime"],
                name="asset_ready_access_copies",
                condition=models.Q(role="access", status="ready"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_role_display()})"

    @property
    def is_original(self) -> bool:
        return self.role == self.Role.ORIGINAL

    @property
    def logical_path(self) -> str:
        """Where the file appears in the OCFL object's state: ``<uuid>/<name>``, or ``metadata/<name>``
        for the catalogue records that every version carries (one logical file, replaced per version)."""
        if self.role == self.Role.METADATA:
            return f"metadata/{self.filename}"
        return f"{self.id}/{self.filename}"

    def get_download_url(self) -> str:
        return reverse("portal:file", args=[self.id, self.filename])
