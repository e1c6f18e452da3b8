"""Keep each object's search text current, whoever changes it (forms, admin, CSV import, rebuild)."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from archive.models import HeritageObject, ObjectText


@receiver(post_save, sender=HeritageObject)
def _object_saved(sender, instance: HeritageObject, raw: bool = False, **kwargs) -> None:
    if not raw:
        instance.update_search_text()


@receiver([post_save, post_delete], sender=ObjectText)
def _text_changed(sender, instance: ObjectText, raw: bool = False, **kwargs) -> None:
    if raw:
        return
    obj = HeritageObject.objects.filter(pk=instance.object_id).first()
    if obj is not None:
        obj.update_search_text()
