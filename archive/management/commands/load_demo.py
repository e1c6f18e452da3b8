"""python manage.py load_demo: a small demo community with real photographs, processed and replicated."""

from __future__ import annotations

import json
import os
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from archive import actions
from archive.batch import BatchReport, SourceObject, ingest_source
from archive.models import Collection, Community, HeritageObject, Membership, Role

DEMO_DIR = Path(settings.BASE_DIR) / "demo" / "photos"
DEMO_PASSWORD = os.environ.get("ARCHIVE_DEMO_PASSWORD", "heritage-demo-2026")


class Command(BaseCommand):
    help = "Create the demo community, collection, users and objects from demo/photos (idempotent)."

    def handle(self, *args, verbosity: int, **options) -> None:
        manifest = json.loads((DEMO_DIR / "manifest.json").read_text())
        users = self._users()
        community, _ = Community.objects.get_or_create(
            slug="demo-community",
            defaults={
                "name": "Demo Heritage Community",
                "description": "Sample material to try the archive; photographs with their licences noted.",
            },
        )
        Membership.objects.get_or_create(user=users["curator"], community=community, defaults={"role": Role.CURATOR})
        Membership.objects.get_or_create(user=users["member"], community=community, defaults={"role": Role.MEMBER})
        collection, _ = Collection.objects.get_or_create(
            slug="demo-photographs",
            defaults={"community": community, "title": "Demo photographs"},
        )
        report = BatchReport()
        for entry in manifest:
            obj = self._object(entry, collection, users["curator"])
            source = SourceObject(reference=entry["file"], title=entry["title"]["en"], files=[DEMO_DIR / entry["file"]])
            ingest_source(source, obj, report, user=users["curator"], in_process=True)
            actions.publish(obj, users["curator"])
            if verbosity:
                self.stdout.write(f"  {obj.identifier}  {obj.title}")
        self.stdout.write(
            f"Demo ready: {len(report.ingested)} file(s) processed, {len(report.duplicates)} already there, "
            f"{len(report.rejected)} rejected."
        )
        self.stdout.write(
            f"Logins (password {DEMO_PASSWORD}): curator (curates the demo community), member (community "
            "member), admin (staff)."
        )

    def _users(self) -> dict:
        user_model = get_user_model()
        users = {}
        for name, staff in (("curator", False), ("member", False), ("admin", True)):
            user, created = user_model.objects.get_or_create(
                username=name, defaults={"is_staff": staff, "is_superuser": staff}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            users[name] = user
        return users

    @transaction.atomic
    def _object(self, entry: dict, collection: Collection, user) -> HeritageObject:
        existing = HeritageObject.objects.filter(collection=collection, source_reference=entry["file"]).first()
        if existing:
            return existing
        texts = {lang: (title, entry.get("description", {}).get(lang, "")) for lang, title in entry["title"].items()}
        return actions.create_object(
            collection,
            texts,
            original_language=entry.get("original_language", "en"),
            user=user,
            source_reference=entry["file"],
            object_type=entry.get("object_type", ""),
            culture=entry.get("culture", ""),
            period_label=entry.get("period_label", ""),
            year_start=entry.get("year_start"),
            year_end=entry.get("year_end"),
            place_name=entry.get("place_name", ""),
            latitude=entry.get("latitude"),
            longitude=entry.get("longitude"),
            sensitive_location=entry.get("sensitive_location", False),
            threat_type=entry.get("threat_type", "none"),
            threat_level=entry.get("threat_level", 0),
            rights_statement=entry.get("rights_statement", ""),
            licence=entry.get("licence", ""),
            access_level=entry.get("access_level", "public"),
            keywords=entry.get("keywords", []),
            provenance=entry.get("provenance", ""),
        )
