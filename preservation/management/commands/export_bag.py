"""python manage.py export_bag OBJECT_ID DEST_DIR [--all-versions] [--zip]: an object as a BagIt 1.0 bag."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from archive.identifiers import normalize_identifier
from archive.models import HeritageObject
from preservation.management.progress import bar_callback
from preservation.packaging import bags


class Command(BaseCommand):
    help = (
        "Export an object as a BagIt 1.0 bag (sha256 and sha512 manifests) in a new folder under DEST_DIR: "
        "the files of its latest OCFL version (or, with --all-versions, every version's content under "
        "data/v1/, data/v2/, ...) read from the stores with each SHA-256 verified, and data/metadata/ with "
        "mets.xml, premis.xml, dc.xml and object.json. Records an event on the object."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("identifier", metavar="OBJECT_ID", help="The object identifier (or its OCFL id).")
        parser.add_argument("dest", metavar="DEST_DIR", type=Path, help="Folder to write the bag into.")
        parser.add_argument(
            "--all-versions", action="store_true", help="Every OCFL version's content, not only the latest state."
        )
        parser.add_argument("--zip", action="store_true", help="Write DEST_DIR/<bag>.zip instead of a folder.")

    def handle(self, *args, identifier: str, dest: Path, all_versions: bool, zip: bool, verbosity: int, **options):
        normalized = normalize_identifier(identifier.rsplit(":", 1)[-1])
        obj = HeritageObject.objects.filter(identifier=normalized).first() if normalized else None
        if obj is None:
            raise CommandError(f"No object {identifier!r}.")
        with tqdm(unit="file", desc="export", disable=verbosity == 0) as bar:
            progress = bar_callback(bar)

            try:
                if zip:
                    target = self._zipped(obj, dest, all_versions, progress)
                else:
                    target = bags.export_bag(obj, dest, all_versions=all_versions, progress=progress)
            except bags.BagExportError as error:
                raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"Bag of {obj.identifier} written to {target}"))

    def _zipped(self, obj: HeritageObject, dest: Path, all_versions: bool, progress) -> Path:
        import shutil
        import tempfile

        dest.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".export-", dir=dest))
        try:
            bag_dir = bags.export_bag(obj, work, all_versions=all_versions, progress=progress)
            target = dest / f"{bag_dir.name}.zip"
            if target.exists():
                raise CommandError(f"{target} already exists: move it away or choose another destination.")
            partial = work / target.name
            bags.zip_bag(bag_dir, partial)
            partial.rename(target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return target
