"""python manage.py stores: one line per store, its name first, with its health."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from preservation.health import store_health


class Command(BaseCommand):
    help = (
        "One line per configured store, its name first: reachable, objects, bytes, under-replicated objects, "
        "missing or corrupt copies, damaged objects, last audit, jurisdiction and access levels. "
        "A store whose latest write failed (refused, full, timed out, wrong bytes read back) says WRITES FAILING "
        "with the error. Exit code 1 when a store is unreachable, failing writes, or has bad copies."
    )

    def handle(self, *args, **options) -> None:
        healthy = True
        for health in store_health():
            style = self.style.SUCCESS if health.healthy else self.style.WARNING
            self.stdout.write(style(health.line()))
            healthy = healthy and health.reachable and not health.failing and not health.bad_replicas
        if not healthy:
            raise SystemExit(1)
