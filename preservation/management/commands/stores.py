"""python manage.py stores: one line per store, its name first, with its health."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db.models import Max, Sum

from archive.models import HeritageObject
from preservation.models import Replica, StoreObject
from preservation.replication import ensure_store_rows
from preservation.stores.base import StoreError
from preservation.stores.registry import get_store, store_config


class Command(BaseCommand):
    help = "One line per configured store: reachable, objects, bytes, under-replicated, last audit, damaged."

    def handle(self, *args, **options) -> None:
        for name, row in ensure_store_rows().items():
            try:
                get_store(name).ping()
                reachable = "reachable"
            except StoreError as error:
                reachable = f"UNREACHABLE ({error})"
            replicas = Replica.objects.filter(store=row)
            ok = replicas.filter(state=Replica.State.OK)
            objects = ok.values("asset__object").distinct().count()
            size = ok.aggregate(total=Sum("asset__size"))["total"] or 0
            levels = store_config(name).get("access_levels") or ["public", "community", "restricted"]
            expected = (
                HeritageObject.objects.filter(access_level__in=levels)
                .annotate(head=Max("versions__number"))
                .filter(head__isnull=False)
            )
            reached = dict(StoreObject.objects.filter(store=row).values_list("object_id", "head_version"))
            behind = sum(1 for pk, head in expected.values_list("pk", "head") if reached.get(pk, 0) < head)
            last = replicas.aggregate(last=Max("verified_at"))["last"]
            bad = replicas.filter(state__in=[Replica.State.CORRUPT, Replica.State.MISSING]).count()
            self.stdout.write(
                f"{name}  {reachable}  objects={objects}  bytes={size}  under_replicated={behind}  "
                f"bad_replicas={bad}  last_verified={last.isoformat() if last else 'never'}  "
                f"jurisdiction={row.jurisdiction or '-'}"
            )
