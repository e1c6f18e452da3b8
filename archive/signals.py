"""Keep each object's search text and the public change log current, whoever changes it (forms, admin,
CSV import, rebuild)."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from archive.access import PUBLIC_ROLES
from archive.changes import object_touched
from archive.models import Asset, HeritageObject, ObjectText


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


# --- the public change log (OAI-PMH datestamps and deleted records, the Activity Streams feed) ----------


@receiver(post_save, sender=HeritageObject)
def _object_changed_for_the_public(sender, instance: HeritageObject, raw: bool = False, **kwargs) -> None:
    if not raw:
        object_touched(instance.pk)


@receiver([post_save, post_delete], sender=ObjectText)
def _text_changed_for_the_public(sender, instance: ObjectText, raw: bool = False, **kwargs) -> None:
    if not raw:
        object_touched(instance.object_id)


@receiver(post_save, sender=Asset)
def _file_changed_for_the_public(sender, instance: Asset, raw: bool = False, **kwargs) -> None:
    # Only files a visitor can get change what the public sees (a new access copy, a withdrawn one).
    if not raw and instance.role in PUBLIC_ROLES:
        object_touched(instance.object_id)
