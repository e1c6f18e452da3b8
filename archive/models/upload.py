"""A tus upload in progress: bytes received so far, and the SHA-256 state over them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Upload(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    object = models.ForeignKey("archive.HeritageObject", on_delete=models.CASCADE, related_name="uploads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    original_name = models.CharField(max_length=1024)
    length = models.BigIntegerField()
    offset = models.BigIntegerField(default=0)
    # The running SHA-256 state after `offset` bytes, so a resumed upload never re-reads what it has.
    digest_state = models.BinaryField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    staged_path = models.CharField(max_length=500)
    asset = models.ForeignKey("archive.Asset", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    duplicate = models.BooleanField(default=False)
    # Only one PATCH at a time may append; a crashed request's claim expires.
    locked_until = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.offset}/{self.length} bytes)"

    @property
    def is_complete(self) -> bool:
        return self.completed_at is not None
