"""python manage.py import_csv FILE --user USERNAME [--dry-run]: catalogue records from CSV (see csv_io)."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from archive.curation import csv_io
from preservation.management.progress import bar_callback


class Command(BaseCommand):
    help = (
        "Import catalogue records from a CSV file (the columns of export_csv; see archive/curation/csv_io.py) "
        "with the rights of --user: only collections that user curates. Each row is validated like the edit "
        "form and saved in its own transaction; bad rows are reported with their line number and skipped. "
        "Importing the same file twice changes nothing. Exit code 1 when any row failed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="The CSV file (UTF-8, comma-separated, header row).")
        parser.add_argument("--user", required=True, metavar="USERNAME", help="Import as this user (a curator).")
        parser.add_argument(
            "--collection", metavar="SLUG", help="Collection for new rows whose collection cell is empty."
        )
        parser.add_argument("--dry-run", action="store_true", help="Check every row and count; change nothing.")

    def handle(
        self, *args, file: Path, user: str, collection: str | None, dry_run: bool, verbosity: int, **options
    ) -> None:
        User = get_user_model()
        try:
            account = User.objects.get(**{User.USERNAME_FIELD: user})
        except User.DoesNotExist as missing:
            raise CommandError(f"No user {user!r}.") from missing
        if not file.is_file():
            raise CommandError(f"{file} is not a file.")
        with tqdm(unit="row", desc="import", disable=verbosity == 0) as bar:
            progress = bar_callback(bar)

            with open(file, "rb") as handle:
                report = csv_io.import_csv(
                    handle, user=account, default_collection=collection, dry_run=dry_run, progress=progress
                )
        self._summary(report)
        if report.errors:
            raise SystemExit(1)

    def _summary(self, report: csv_io.ImportReport) -> None:
        verb = "would be " if report.dry_run else ""
        self.stdout.write(
            f"Rows: {report.rows}; {verb}created: {report.created}; {verb}updated: {report.updated}; "
            f"unchanged: {report.unchanged}; failed: {report.failed}"
            + (" (dry run: nothing was written)" if report.dry_run else "")
        )
        if report.refused:
            self.stdout.write(self.style.ERROR("The file was refused as a whole; nothing was imported."))
        for error in report.errors:
            where = f"line {error.line}" if error.line else "file"
            column = f", {error.column}" if error.column else ""
            self.stdout.write(self.style.ERROR(f"  {where}{column}: {error.message}"))
