"""python manage.py audit: re-hash every replica, report, and with --repair heal from good copies."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from preservation.fixity import audit, replicas_to_audit


class Command(BaseCommand):
    help = (
        "Fixity audit: stream every selected replica from its store, compare its SHA-256 with the recorded "
        "digest and record a fixity event per replica. --repair rewrites missing or corrupt replicas from a "
        "copy verified good in the same audit. Exit code 1 when damage remains (a file with no good copy, "
        "or a bad replica left unrepaired), 3 when a store could not be reached."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--store", help="Audit only this store.")
        parser.add_argument("--object", dest="identifier", help="Audit only this object identifier.")
        parser.add_argument("--repair", action="store_true", help="Rewrite bad replicas from good copies.")
        parser.add_argument(
            "--since", type=float, metavar="DAYS", help="Skip replicas verified within the last DAYS (resume)."
        )
        parser.add_argument("--mb-per-s", type=float, help="Read at most this many MB/s (default: no limit).")

    def handle(self, *args, store, identifier, repair, since, mb_per_s, verbosity, **options) -> None:
        total = replicas_to_audit(store, identifier, since).count()
        with tqdm(total=total, unit="replica", desc="audit", disable=verbosity == 0) as bar:
            report = audit(
                store=store,
                identifier=identifier,
                repair=repair,
                since_days=since,
                mb_per_s=mb_per_s,
                progress=bar.update,
            )
        out = self.stdout
        out.write(
            f"Checked {report.checked} replicas ({report.bytes_read / 1e6:.1f} MB): {report.ok} ok, "
            f"{len(report.corrupt)} corrupt, {len(report.missing)} missing, {len(report.repaired)} repaired, "
            f"{len(report.unreachable)} unreachable, {len(report.damaged)} damaged object(s)."
        )
        for store_name, key in report.corrupt:
            out.write(self.style.WARNING(f"  corrupt  {store_name}  {key}"))
        for store_name, key in report.missing:
            out.write(self.style.WARNING(f"  missing  {store_name}  {key}"))
        for store_name, key in report.repaired:
            out.write(self.style.SUCCESS(f"  repaired {store_name}  {key}"))
        for identifier_ in report.damaged:
            out.write(self.style.ERROR(f"  DAMAGED  {identifier_}: a file has no good copy in any store"))
        if report.damaged or (set(report.corrupt) | set(report.missing)) - set(report.repaired):
            raise SystemExit(1)
        if report.unreachable:
            raise SystemExit(3)
