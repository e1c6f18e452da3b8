from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .vocabularies import Role


class Community(models.Model):
    """A source community or custodian institution. It owns the access protocols of its material."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    allowed_stores = models.JSONField(
        default=list,
        blank=True,
        help_text=_(
            "Names of the stores this community allows to hold its community and restricted material. "
            "Empty: every store configured for that access level."
        ),
    )
    shares_with = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="shared_by",
        help_text=_("Members of these communities may also see this community's community-level material."),
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="communities")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = _("communities")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "community"], name="one_membership_per_user")]

    def __str__(self) -> str:
        return f"{self.user} — {self.community} ({self.role})"
