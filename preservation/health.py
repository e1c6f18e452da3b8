"""Each store's health in one place, for `manage.py stores`, the staff stores page and monitoring."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Max, Q, Sum

from archive.models import HeritageObject
from preservation.models import Replica, StoreObject
from preservation.policy import allowed_in
from preservation.replication import ensure_store_rows
from preservation.stores.base import StoreError
from preservation.stores.registry import get_store, store_config


@dataclass
class StoreHealth:
    name: str
    kind: str
    jurisdiction: str
    access_levels: list[str]
    reachable: bool
    error: str = ""
    objects: int = 0
    bytes: int = 0
    replicas: int = 0
    under_replicated: int = 0
    bad_replicas: int = 0
    damaged: int = 0
    last_audit: datetime | None = None
    last_error: str = ""
    last_error_at: datetime | None = None
    last_ok_at: datetime | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def failing(self) -> bool:
        """The latest write to this store failed (refused, full, timed out, wrong bytes read back)."""
        return bool(self.last_error_at and (self.last_ok_at is None or self.last_error_at > self.last_ok_at))

    @property
    def healthy(self) -> bool:
        return (
            self.reachable
            and not self.failing
            and not self.under_replicated
            and not self.bad_replicas
            and not self.damaged
        )

    def line(self) -> str:
        """One line, name first: the format of `manage.py stores`."""
        reach = "reachable" if self.reachable else f"UNREACHABLE ({self.error})"
        last = self.last_audit.isoformat(timespec="seconds") if self.last_audit else "never"
        text = (
            f"{self.name}  {reach}  objects={self.objects}  bytes={self.bytes}  "
            f"under_replicated={self.under_replicated}  bad_replicas={self.bad_replicas}  damaged={self.damaged}  "
            f"last_audit={last}  jurisdiction={self.jurisdiction or '-'}  levels={','.join(self.access_levels)}"
        )
        if self.failing:
            text += f"  WRITES FAILING since {self.last_error_at.isoformat(timespec='seconds')}: {self.last_error}"
        return text


def _expected_heads(name: str) -> dict[int, int]:
    """Objects this store should hold, with their latest version number."""
    packaged = HeritageObject.objects.annotate(head=Max("versions__number")).filter(head__isnull=False)
    allowed = set(allowed_in(name, packaged))
    return {pk: head for pk, head in packaged.values_list("pk", "head") if pk in allowed}


def _ping_all(names: list[str]) -> dict[str, str]:
    """Ping every store at once (each ping is bounded by its own timeout): store name -> error, "" if fine.
    A slow or hanging store then costs this page one timeout, not one per store."""

    def ping(name: str) -> str:
        try:
            get_store(name).ping()
        except StoreError as error:
            return str(error)
        return ""

    if not names:
        return {}
    with ThreadPoolExecutor(max_workers=min(8, len(names)), thread_name_prefix="store-ping") as pool:
        return dict(zip(names, pool.map(ping, names), strict=True))


def store_health(ping: bool = True) -> list[StoreHealth]:
    """Every configured store: reachable, objects, bytes, under-replicated, bad copies, damaged, last audit."""
    result = []
    rows = ensure_store_rows()
    errors = _ping_all(list(rows)) if ping else {}
    for name, row in rows.items():
        config = store_config(name)
        health = StoreHealth(
            name=name,
            kind=row.kind,
            jurisdiction=row.jurisdiction,
            access_levels=list(config["access_levels"]),
            reachable=True,
            last_error=row.last_error,
            last_error_at=row.last_error_at,
            last_ok_at=row.last_ok_at,
        )
        if errors.get(name):
            health.reachable, health.error = False, errors[name]
        replicas = Replica.objects.filter(store=row)
        ok = replicas.filter(state=Replica.State.OK)
        totals = ok.aggregate(objects=Count("asset__object", distinct=True), size=Sum("asset__size"), n=Count("id"))
        health.objects, health.bytes, health.replicas = totals["objects"], totals["size"] or 0, totals["n"]
        reached = dict(StoreObject.objects.filter(store=row).values_list("object_id", "head_version"))
        health.under_replicated = sum(1 for pk, head in _expected_heads(name).items() if reached.get(pk, 0) < head)
        health.bad_replicas = replicas.filter(
            state__in=[Replica.State.CORRUPT, Replica.State.MISSING, Replica.State.FAILED]
        ).count()
        health.damaged = (
            HeritageObject.objects.filter(damaged=True).filter(Q(assets__replicas__store=row)).distinct().count()
        )
        health.last_audit = replicas.aggregate(last=Max("verified_at"))["last"]
        if not health.reachable:
            health.problems.append(f"unreachable: {health.error}")
        if health.failing:
            health.problems.append(f"writes failing: {health.last_error}")
        if health.under_replicated:
            health.problems.append(f"{health.under_replicated} object(s) not yet (fully) on this store")
        if health.bad_replicas:
            health.problems.append(f"{health.bad_replicas} copy(ies) missing or corrupt")
        result.append(health)
    return result
