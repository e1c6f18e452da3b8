"""python manage.py withdraw_copy ID --store NAME --reason TEXT: remove a copy a store may no longer hold."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from archive.models import HeritageObject
from preservation.replication import withdraw_from_store
from preservation.stores.base import StoreError


class Command(BaseCommand):
    help = (
        "Delete one object's OCFL copy from a store that is no longer allowed to hold it (the audit reports "
        "such copies as misplaced; it never deletes them itself). Needs a reason; records a deletion event. "
        "Refused for stores still allowed for the object."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("identifier", help="The object identifier.")
        parser.add_argument("--store", required=True, help="The store to remove the copy from.")
        parser.add_argument("--reason", required=True, help="Why (kept in the deletion event).")

    def handle(self, *args, identifier, store, reason, **options) -> None:
        try:
            obj = HeritageObject.objects.get(identifier=identifier.upper())
        except HeritageObject.DoesNotExist as missing:
            raise CommandError(f"no object {identifier}") from missing
        try:
            count = withdraw_from_store(obj, store, reason, user="manage.py withdraw_copy")
        except (ValueError, StoreError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"{obj.identifier}: {count} files withdrawn from {store}."))
