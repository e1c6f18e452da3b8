"""python manage.py import_bag BAG_PATH --collection SLUG [--user USERNAME]: a BagIt bag as a new object."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from archive.access import curated_collections
from archive.models import Collection
from preservation.management.progress import bar_callback
from preservation.packaging import bags


class Command(BaseCommand):
    help = (
        "Import a BagIt bag (a folder or a .zip) as a NEW draft object in a collection. The whole bag is "
        "validated first (every checksum of every manifest, Payload-Oxum, completeness; no links, no paths "
        "out of the bag, sizes within ARCHIVE_MAX_UPLOAD_BYTES): a bad bag is refused and nothing is created. "
        "A bag exported by this archive gives back its description (data/metadata/object.json) and its "
        "originals; any other bag is described from bag-info.txt and every payload file becomes an original. "
        "The originals are processed in this process (like `ingest`), or by Celery workers with --workers."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", metavar="BAG_PATH", type=Path, help="The bag folder or zip file.")
        parser.add_argument("--collection", required=True, metavar="SLUG", help="Slug of the target collection.")
        parser.add_argument("--user", metavar="USERNAME", help="Import as this user (a curator of the collection).")
        parser.add_argument(
            "--workers", action="store_true", help="Enqueue the processing for Celery workers instead of doing it here."
        )

    def handle(
        self, *args, path: Path, collection: str, user: str | None, workers: bool, verbosity: int, **options
    ) -> None:
        try:
            target = Collection.objects.get(slug=collection)
        except Collection.DoesNotExist as missing:
            raise CommandError(f"No collection with slug {collection!r}.") from missing
        account = None
        if user:
            User = get_user_model()
            try:
                account = User.objects.get(**{User.USERNAME_FIELD: user})
            except User.DoesNotExist as missing:
                raise CommandError(f"No user {user!r}.") from missing
            if not curated_collections(account).filter(pk=target.pk).exists():
                raise CommandError(f"{user} does not curate the collection {collection!r}.")
        with tqdm(unit="file", desc="import", disable=verbosity == 0) as bar:
            progress = bar_callback(bar)

            try:
                obj = bags.import_bag(path, target, account, in_process=not workers, progress=progress)
            except bags.BagRefused as error:
                raise CommandError(str(error)) from error
        originals = obj.assets.filter(role="original")
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {path.name} as {obj.identifier} ({obj.title}) in {target.slug}: "
                f"{originals.count()} original(s), {originals.filter(status='ready').count()} processed"
                + (" (the rest is queued for the workers)" if workers else "")
            )
        )
        for asset in originals.filter(status="quarantined"):
            self.stdout.write(self.style.WARNING(f"  quarantined {asset.original_name}: {asset.status_message}"))
