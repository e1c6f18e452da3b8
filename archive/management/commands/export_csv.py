"""python manage.py export_csv [--collection SLUG] [-o FILE]: catalogue records as CSV (see csv_io)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from archive.curation import csv_io
from archive.models import Collection, HeritageObject, Status


class Command(BaseCommand):
    help = (
        "Export catalogue records as CSV, one object per row ordered by identifier, with a title and "
        "description column per language used. Deleted objects are left out. The file imports back with "
        "import_csv unchanged; see archive/curation/csv_io.py for the columns."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--collection", metavar="SLUG", help="Only this collection (default: every one).")
        parser.add_argument(
            "-o", "--output", metavar="FILE", type=Path, help="Write to FILE (with a UTF-8 BOM) instead of stdout."
        )

    def handle(self, *args, collection: str | None, output: Path | None, verbosity: int, **options) -> None:
        objects = HeritageObject.objects.exclude(status=Status.DELETED)
        if collection:
            try:
                target = Collection.objects.get(slug=collection)
            except Collection.DoesNotExist as missing:
                raise CommandError(f"No collection with slug {collection!r}.") from missing
            objects = objects.filter(collection=target)
        total = objects.count()
        with tqdm(total=total, unit="row", desc="export", disable=verbosity == 0) as bar:
            lines = csv_io.iter_csv(objects, bom=output is not None, on_row=lambda: bar.update(1))
            if output is None:
                for line in lines:
                    self.stdout.write(line, ending="")
                self.stdout.flush()
            else:
                with open(output, "w", encoding="utf-8", newline="") as handle:
                    handle.writelines(lines)
        if verbosity:
            summary = f"Exported {total} object(s)" + (f" to {output}." if output else ".")
            (self.stdout if output else self.stderr).write(summary, style_func=lambda text: text)
