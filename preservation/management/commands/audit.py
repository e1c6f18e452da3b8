"""python manage.py audit: re-hash every replica, report, and with --repair heal from good copies."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from preservation.fixity import audit, objects_to_audit, replicas_to_audit
from preservation.models import ObjectAudit


class Command(BaseCommand):
    help = (
        "Fixity audit: stream every selected replica from its store, compare its SHA-256 with the recorded "
        "digest and record a fixity event per replica; link copies a store holds that the catalogue does not "
        "know yet; check each object against its threat-level policy. --repair rewrites missing or corrupt "
        "replicas from a copy verified good in the same audit and writes objects to allowed stores that lack "
        "them. --workers spreads the objects over the Celery workers instead of auditing in this process. "
        "Exit code 1 when damage remains (no good copy, a bad replica left unrepaired, a policy not met), "
        "3 when a store could not be reached."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--store", help="Audit only this store.")
        parser.add_argument("--object", dest="identifier", help="Audit only this object identifier.")
        parser.add_argument("--repair", action="store_true", help="Rewrite bad replicas from good copies.")
        parser.add_argument(
            "--since", type=float, metavar="DAYS", help="Skip replicas verified within the last DAYS (resume)."
        )
        parser.add_argument("--mb-per-s", type=float, help="Read at most this many MB/s (default: no limit).")
        parser.add_argument(
            "--workers",
            action="store_true",
            help="Queue one task per object for the Celery workers (parallel; each worker throttles to "
            "ARCHIVE_AUDIT_MB_PER_S) and follow their progress here.",
        )
        parser.add_argument(
            "--timeout", type=float, default=None, metavar="SECONDS", help="With --workers: stop waiting after this."
        )

    def handle(self, *args, store, identifier, repair, since, mb_per_s, workers, timeout, verbosity, **options):
        if workers:
            return self._on_workers(store, identifier, repair, since, timeout, verbosity)
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
            f"Audited {report.objects} objects: {report.checked} replicas ({report.bytes_read / 1e6:.1f} MB), "
            f"{report.ok} ok, {len(report.corrupt)} corrupt, {len(report.missing)} missing, "
            f"{len(report.repaired)} repaired, {len(report.unreachable)} unreachable, "
            f"{len(report.linked)} linked, {len(report.replicated)} written to meet the policy, "
            f"{len(report.damaged)} damaged object(s), {len(report.policy_gaps)} below policy."
        )
        for store_name, key in report.corrupt:
            out.write(self.style.WARNING(f"  corrupt  {store_name}  {key}"))
        for store_name, key in report.missing:
            out.write(self.style.WARNING(f"  missing  {store_name}  {key}"))
        for store_name, key in report.repaired:
            out.write(self.style.SUCCESS(f"  repaired {store_name}  {key}"))
        for store_name, ident in report.linked:
            out.write(f"  linked   {store_name}  {ident}")
        for store_name, ident in report.replicated:
            out.write(self.style.SUCCESS(f"  written  {store_name}  {ident}"))
        for identifier_ in report.damaged:
            out.write(self.style.ERROR(f"  DAMAGED  {identifier_}: a file has no good copy in any store"))
        for identifier_, problems in report.policy_gaps.items():
            out.write(self.style.WARNING(f"  policy   {identifier_}: {' '.join(problems)}"))
        unrepaired = (set(report.corrupt) | set(report.missing)) - set(report.repaired)
        if report.damaged or unrepaired or report.policy_gaps:
            raise SystemExit(1)
        if report.unreachable:
            raise SystemExit(3)

    def _on_workers(self, store, identifier, repair, since, timeout, verbosity) -> None:
        from preservation import tasks

        ids = list(objects_to_audit(store, identifier).values_list("pk", flat=True))
        if not ids:
            raise CommandError("nothing to audit: no packaged object matches")
        started = timezone.now()
        for pk in ids:
            ObjectAudit.objects.update_or_create(object_id=pk, defaults={"requested_at": started})
            tasks.audit_object.delay(pk, repair=repair, store=store, since_days=since if since is not None else 0)
        deadline = time.monotonic() + timeout if timeout else None
        with tqdm(total=len(ids), unit="object", desc="audit (workers)", disable=verbosity == 0) as bar:
            while True:
                done = ObjectAudit.objects.filter(object_id__in=ids, finished_at__gte=started)
                bar.n = done.count()
                bar.refresh()
                if bar.n >= len(ids) or (deadline and time.monotonic() > deadline):
                    break
                time.sleep(1)
        finished = list(
            ObjectAudit.objects.filter(object_id__in=ids, finished_at__gte=started).select_related("object")
        )
        totals: dict[str, int] = {}
        for row in finished:
            for key, value in row.summary.items():
                if isinstance(value, int) and not isinstance(value, bool):
                    totals[key] = totals.get(key, 0) + value
        self.stdout.write(
            f"Audited {len(finished)} of {len(ids)} objects on the workers: "
            + ", ".join(f"{value} {key.replace('_', ' ')}" for key, value in sorted(totals.items()))
        )
        unhealthy = [row for row in finished if not row.healthy]
        for row in unhealthy:
            self.stdout.write(self.style.WARNING(f"  problem  {row.object.identifier}: {row.summary}"))
        if len(finished) < len(ids):
            missing = len(ids) - len(finished)
            self.stdout.write(self.style.ERROR(f"  {missing} object(s) not audited before the timeout"))
            raise SystemExit(3)
        if unhealthy:
            raise SystemExit(1)
