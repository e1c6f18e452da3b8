"""What the public could see change: the source of OAI-PMH datestamps and deleted records, and of the
Activity Streams change feed. Rows are written by archive/changes.py, never by hand."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .heritage_object import HeritageObject


class PublicChange(models.Model):
    """An object became public (create), changed while public (update), or stopped being public:
    unpublished, restricted, embargoed or deleted (delete). Kept forever, like a tombstone: harvesters
    that saw the object must learn it is gone."""

    class Verb(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Updated")
        DELETE = "delete", _("Deleted")

    object = models.ForeignKey(HeritageObject, on_delete=models.CASCADE, related_name="public_changes")
    verb = models.CharField(max_length=8, choices=Verb.choices)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["at", "id"], name="public_change_feed_order"),
            models.Index(fields=["object", "-at", "-id"], name="public_change_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.verb} {self.object_id} at {self.at:%Y-%m-%dT%H:%M:%SZ}"
