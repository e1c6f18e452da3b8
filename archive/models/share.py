"""Time-limited links that let one named researcher see one object they could not see otherwise."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def hash_token(token: str) -> str:
    """Only the SHA-256 of a token is stored: a database leak does not leak working links."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ShareLink(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    object = models.ForeignKey("archive.HeritageObject", on_delete=models.CASCADE, related_name="share_links")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    researcher_name = models.CharField(_("researcher"), max_length=200)
    researcher_email = models.EmailField(_("researcher's e-mail"), blank=True)
    purpose = models.TextField(_("purpose"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.object_id} for {self.researcher_name} until {self.expires_at:%Y-%m-%d}"

    @classmethod
    def new_token(cls) -> tuple[str, str]:
        token = secrets.token_urlsafe(32)
        return token, hash_token(token)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class ShareLinkUse(models.Model):
    """Every use of a link (who opened what, when, from where): the log curators read."""

    link = models.ForeignKey(ShareLink, on_delete=models.CASCADE, related_name="uses")
    at = models.DateTimeField(auto_now_add=True)
    path = models.CharField(max_length=500)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    allowed = models.BooleanField(default=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.link_id} {self.path} at {self.at:%Y-%m-%d %H:%M}"
