"""python manage.py ingest PATH... --collection SLUG: bulk ingest from folders, idempotent."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from archive import actions
from archive.batch import BatchReport, check_space_for, collect_results, discover, ingest_source, object_for
from archive.models import AccessLevel, Asset, Collection
from preservation.staging import StagingFull


class Command(BaseCommand):
    help = (
        "Ingest files from folders into a collection. Each subfolder of a PATH becomes one object with its "
        "files as assets; each loose file becomes its own object. Runs the whole pipeline in this process "
        "unless --workers is given. Running it twice creates nothing new."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="Folders or files to ingest.")
        parser.add_argument("--collection", required=True, help="Slug of the target collection.")
        parser.add_argument(
            "--access",
            choices=AccessLevel.values,
            help="Access level of new objects (default: the collection's).",
        )
        parser.add_argument("--publish", action="store_true", help="Publish new objects at once (else drafts).")
        parser.add_argument(
            "--workers", action="store_true", help="Enqueue the work for Celery workers and wait for them."
        )
        parser.add_argument("--timeout", type=int, default=3600, help="Seconds to wait for workers (--workers).")

    def handle(
        self,
        *args,
        paths: list[Path],
        collection: str,
        access: str | None,
        publish: bool,
        workers: bool,
        timeout: int,
        verbosity: int,
        **options,
    ) -> None:
        try:
            target = Collection.objects.get(slug=collection)
        except Collection.DoesNotExist as missing:
            raise CommandError(f"No collection with slug {collection!r}.") from missing
        for path in paths:
            if not path.exists():
                raise CommandError(f"{path} does not exist.")
        sources = list(discover(paths))
        total = sum(len(s.files) for s in sources)
        report = BatchReport()
        try:
            with tqdm(total=total, unit="file", desc="ingest", disable=verbosity == 0) as bar:
                for source in sources:
                    if not source.files:
                        report.skipped.append((source.reference, "empty folder"))
                        continue
                    check_space_for(source)  # before its object exists: no empty object for want of space
                    obj, created = object_for(source, target, access or target.default_access_level)
                    report.objects_created += int(created)
                    ingest_source(source, obj, report, in_process=not workers, on_file=lambda _p: bar.update(1))
                    if publish and created:
                        actions.publish(obj)
        except StagingFull as full:
            self._summary(report)
            raise CommandError(
                f"Stopped: {full} What was ingested before stays; run the same command again once space is "
                "free (files already in the archive are skipped)."
            ) from full
        if workers and report.assets:
            self._wait(report, timeout, verbosity)
            collect_results(report)
        self._summary(report)
        if report.rejected:
            raise SystemExit(2)

    def _wait(self, report: BatchReport, timeout: int, verbosity: int) -> None:
        from preservation.models import ProcessingJob

        ids = [a.id for a in report.assets]
        deadline = time.monotonic() + timeout
        with tqdm(total=len(ids), unit="file", desc="workers", disable=verbosity == 0) as bar:
            while True:
                finished = ProcessingJob.objects.filter(
                    asset_id__in=ids, state__in=[ProcessingJob.State.DONE, ProcessingJob.State.FAILED]
                ).count()
                bar.update(finished - bar.n)
                if finished == len(ids):
                    return
                if time.monotonic() > deadline:
                    raise CommandError(
                        f"Workers finished {finished} of {len(ids)} files within {timeout}s; the rest continue "
                        "in the background (see the curation pages)."
                    )
                time.sleep(0.5)

    def _summary(self, report: BatchReport) -> None:
        out = self.stdout
        out.write(
            f"Objects created: {report.objects_created}; files ingested: {len(report.ingested)}; "
            f"duplicates: {len(report.duplicates)}; rejected: {len(report.rejected)}"
        )
        for path, reason in report.rejected:
            out.write(self.style.ERROR(f"  rejected {path}: {reason}"))
        for path, reason in report.skipped:
            out.write(self.style.WARNING(f"  skipped {path}: {reason}"))
        pending = [a for a in report.assets if a.status not in (Asset.State.READY, Asset.State.QUARANTINED)]
        if pending:
            out.write(self.style.WARNING(f"  {len(pending)} file(s) still processing"))
