"""What we know about each copy, each preservation action and each piece of work in flight."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Store(models.Model):
    """A replica store as the catalogue knows it; its configuration comes from settings.ARCHIVE_STORES."""

    name = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(max_length=32)
    location = models.CharField(max_length=500, blank=True)
    jurisdiction = models.CharField(max_length=64, blank=True)
    access_levels = models.JSONField(default=list)
    active = models.BooleanField(default=True, help_text=_("Still configured in settings."))
    last_ok_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Replica(models.Model):
    """One asset's copy in one store. ``ok`` only after its bytes were read back and hashed."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        OK = "ok", _("Verified")
        MISSING = "missing", _("Missing")
        CORRUPT = "corrupt", _("Corrupt")
        FAILED = "failed", _("Write failed")
        UNVERIFIED = "unverified", _("Found on the store, not yet read")

    asset = models.ForeignKey("archive.Asset", on_delete=models.PROTECT, related_name="replicas")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="replicas")
    key = models.CharField(max_length=1000)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    observed_sha256 = models.CharField(max_length=64, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["asset", "store"], name="one_replica_per_store")]
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"{self.asset_id}@{self.store.name}: {self.state}"


class StoreObject(models.Model):
    """How far one object's OCFL versions have reached one store, and who is writing it now.

    The lease (an atomic compare-and-set on ``lease_until``) keeps two workers from writing the same
    object to the same store at once, on SQLite and PostgreSQL alike, and expires if a worker dies.
    """

    object = models.ForeignKey("archive.HeritageObject", on_delete=models.CASCADE, related_name="store_states")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="object_states")
    head_version = models.PositiveIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a replicate task was last queued (a task queued after the last attempt is waiting, not stuck).",
    )
    last_error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["object", "store"], name="one_state_per_store")]

    def __str__(self) -> str:
        return f"{self.object_id}@{self.store_id}: v{self.head_version}"


class ObjectAudit(models.Model):
    """When an object's copies were last audited, and whether an audit is queued or running now.

    Scheduled audits queue one task per due object; ``requested_at`` keeps the scheduler from queueing
    it twice, and the lease fields keep two workers from auditing the same object at once.
    """

    object = models.OneToOneField("archive.HeritageObject", on_delete=models.CASCADE, related_name="audit")
    requested_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True, db_index=True)
    healthy = models.BooleanField(null=True)
    summary = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"audit of {self.object_id}: {self.finished_at or 'never finished'}"


class PreservationEvent(models.Model):
    """A PREMIS event: what was done to which object, asset or replica, by which software, with what result."""

    class Type(models.TextChoices):
        INGESTION = "ingestion", _("Ingestion")
        MESSAGE_DIGEST = "message digest calculation", _("Message digest calculation")
        FORMAT_IDENTIFICATION = "format identification", _("Format identification")
        VALIDATION = "validation", _("Validation")
        NORMALIZATION = "normalization", _("Normalization")
        CREATION = "creation", _("Creation")
        METADATA_EXTRACTION = "metadata extraction", _("Metadata extraction")
        REPLICATION = "replication", _("Replication")
        FIXITY_CHECK = "fixity check", _("Fixity check")
        REPAIR = "repair", _("Repair")
        QUARANTINE = "quarantine", _("Quarantine")
        DELETION = "deletion", _("Deletion")
        METADATA_MODIFICATION = "metadata modification", _("Metadata modification")
        ACCESSION = "accession", _("Accession")
        PUBLICATION = "publication", _("Publication")
        DISSEMINATION = "dissemination", _("Dissemination")

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("Success")
        WARNING = "warning", _("Warning")
        FAILURE = "failure", _("Failure")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=40, choices=Type.choices)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    agent = models.CharField(max_length=300)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    detail = models.TextField(blank=True)
    object = models.ForeignKey(
        "archive.HeritageObject", null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    asset = models.ForeignKey("archive.Asset", null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="events")

    class Meta:
        ordering = ["occurred_at"]

    def __str__(self) -> str:
        return f"{self.event_type}: {self.outcome}"


class ProcessingJob(models.Model):
    """Progress of one piece of work (an ingest of one file, a bulk run) for status pages and the sweeper."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, default="ingest")
    object = models.ForeignKey(
        "archive.HeritageObject", null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    asset = models.OneToOneField("archive.Asset", null=True, blank=True, on_delete=models.CASCADE, related_name="job")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    stage = models.CharField(max_length=64, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.TextField(blank=True)
    # Processing runs started and not ended: only a run whose worker process died stays counted (poison.py).
    unfinished_runs = models.PositiveSmallIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["state", "updated"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.state} {self.stage} {self.progress}%"

    def advance(self, stage: str, progress: int, state: str | None = None, message: str = "") -> None:
        self.stage = stage
        self.progress = progress
        self.state = state or self.State.RUNNING
        if message:
            self.message = message
        if self.state in (self.State.DONE, self.State.FAILED):
            self.finished_at = timezone.now()
        self.save(update_fields=["stage", "progress", "state", "message", "finished_at", "updated"])
