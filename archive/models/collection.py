from django.db import models

from .community import Community
from .vocabularies import AccessLevel


class Collection(models.Model):
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="collections")
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    default_access_level = models.CharField(max_length=16, choices=AccessLevel.choices, default=AccessLevel.PUBLIC)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title
