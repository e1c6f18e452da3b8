"""python manage.py rebuild_catalogue --from-store NAME: the catalogue back from one store's OCFL objects."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from archive.models import HeritageObject
from preservation.rebuild import rebuild
from preservation.stores.base import StoreError
from preservation.stores.registry import UnknownStore, get_store


class Command(BaseCommand):
    help = (
        "Recreate the catalogue (communities, collections, objects, texts, versions, files, events, and this "
        "store's replicas) from the OCFL objects of one store alone, reading and hashing every file. Meant for "
        "an empty database after a disaster; objects already catalogued are skipped. Run `manage.py audit "
        "--repair` afterwards to re-link and verify the other stores. Exit code 1 when an object could not be "
        "rebuilt or a file was missing or corrupt on the store."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--from-store", required=True, metavar="NAME", help="The store to read (ARCHIVE_STORES).")
        parser.add_argument(
            "--merge",
            action="store_true",
            help="Allow a database that already holds objects (only the missing ones are added).",
        )
        parser.add_argument(
            "--no-verify",
            action="store_true",
            help="Do not read the content files (replicas are recorded as unverified; the next audit reads them).",
        )

    def handle(self, *args, from_store, merge, no_verify, verbosity, **options) -> None:
        try:
            store = get_store(from_store)
            store.ping()
        except UnknownStore as error:
            raise CommandError(str(error)) from error
        except StoreError as error:
            raise CommandError(f"store {from_store} cannot be reached: {error}") from error
        if HeritageObject.objects.exists() and not merge:
            raise CommandError(
                f"the catalogue already holds {HeritageObject.objects.count()} objects; rebuild into an empty "
                "database (manage.py migrate on a new one), or pass --merge to add only the missing objects"
            )
        with tqdm(unit="object", desc=f"rebuild from {from_store}", disable=verbosity == 0) as bar:
            report = rebuild(store, verify=not no_verify, progress=lambda _id: bar.update(1))
        self.stdout.write(
            f"Rebuilt {len(report.objects)} objects, {report.files} files ({report.bytes_read / 1e6:.1f} MB read); "
            f"{len(report.skipped)} skipped, {len(report.failed)} failed, {len(report.bad_files)} bad files."
        )
        for ocfl_id, why in report.failed:
            self.stdout.write(self.style.ERROR(f"  FAILED  {ocfl_id}: {why}"))
        for key, state in report.bad_files:
            self.stdout.write(self.style.WARNING(f"  {state:8} {key}"))
        if report.failed or report.bad_files:
            raise SystemExit(1)
