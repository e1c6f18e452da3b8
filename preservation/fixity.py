"""Fixity audits: re-hash every replica's bytes, compare with the recorded digest, repair from a good copy.

Each replica read is streamed (bounded memory) and optionally throttled; each check writes a PREMIS
"fixity check" event. With ``repair=True`` a missing or corrupt replica is rewritten from a replica of the
same asset verified good in this same audit, then re-verified (``store.put`` reads it back), and a "repair"
event is written. When no good copy exists anywhere, the object is flagged damaged and nothing is
overwritten. Audits are resumable: ``since_days`` skips replicas verified more recently than that.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import BinaryIO

from django.db.models import Q
from django.utils import timezone

from archive.models import Asset
from preservation import events
from preservation.models import Replica
from preservation.stores.base import KeyNotFound, StoreError
from preservation.stores.registry import get_store

log = logging.getLogger(__name__)
CHUNK = 1024 * 1024


@dataclass
class AuditReport:
    checked: int = 0
    ok: int = 0
    bytes_read: int = 0
    corrupt: list[tuple[str, str]] = field(default_factory=list)  # (store, key)
    missing: list[tuple[str, str]] = field(default_factory=list)
    unreachable: list[tuple[str, str]] = field(default_factory=list)
    repaired: list[tuple[str, str]] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)  # object identifiers with a file that has no good copy

    @property
    def healthy(self) -> bool:
        bad = set(self.corrupt) | set(self.missing)
        return not self.damaged and not self.unreachable and bad <= set(self.repaired)


class Throttle:
    """Keeps reading at or below ``mb_per_s`` (None: no limit), so an audit never starves ingest."""

    def __init__(self, mb_per_s: float | None) -> None:
        self.rate = mb_per_s * 1e6 if mb_per_s else None
        self.started = time.monotonic()
        self.count = 0

    def spend(self, nbytes: int) -> None:
        if not self.rate:
            return
        self.count += nbytes
        ahead = self.count / self.rate - (time.monotonic() - self.started)
        if ahead > 0:
            time.sleep(ahead)


def hash_replica(handle: BinaryIO, throttle: Throttle) -> tuple[str, int]:
    digest = hashlib.sha256()
    total = 0
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
        total += len(chunk)
        throttle.spend(len(chunk))
    return digest.hexdigest(), total


def replicas_to_audit(store: str | None = None, identifier: str | None = None, since_days: float | None = None):
    replicas = Replica.objects.select_related("asset__object", "store").exclude(state=Replica.State.PENDING)
    if store:
        replicas = replicas.filter(store__name=store)
    if identifier:
        replicas = replicas.filter(asset__object__identifier=identifier)
    if since_days is not None:
        cutoff = timezone.now() - timedelta(days=since_days)
        replicas = replicas.filter(Q(verified_at__isnull=True) | Q(verified_at__lt=cutoff))
    return replicas.order_by("asset__object_id", "asset_id", "store__name")


def check_replica(replica: Replica, throttle: Throttle, report: AuditReport) -> str:
    """Re-hash one replica; record the result on the row and as an event. Returns its new state."""
    store = get_store(replica.store.name)
    asset = replica.asset
    try:
        with store.open(replica.key) as handle:
            observed, size = hash_replica(handle, throttle)
    except KeyNotFound:
        state, observed, size = Replica.State.MISSING, "", 0
    except StoreError as error:
        report.unreachable.append((replica.store.name, replica.key))
        replica.last_error = str(error)[:2000]
        replica.save(update_fields=["last_error", "updated"])
        events.record(
            events.EventType.FIXITY_CHECK,
            events.Outcome.WARNING,
            f"Store {replica.store.name} unreachable while auditing {replica.key}: {error}",
            asset=asset,
            store=replica.store,
        )
        return replica.state
    else:
        state = Replica.State.OK if observed == asset.sha256 else Replica.State.CORRUPT
    report.checked += 1
    report.bytes_read += size
    replica.state = state
    replica.observed_sha256 = observed
    replica.verified_at = timezone.now()
    replica.last_error = "" if state == Replica.State.OK else f"audit: {state}"
    replica.save(update_fields=["state", "observed_sha256", "verified_at", "last_error", "updated"])
    if state == Replica.State.OK:
        report.ok += 1
        detail, outcome = f"{replica.key} on {replica.store.name}: SHA-256 {observed} as recorded.", "success"
    elif state == Replica.State.MISSING:
        report.missing.append((replica.store.name, replica.key))
        detail, outcome = f"{replica.key} is missing from store {replica.store.name}.", "failure"
    else:
        report.corrupt.append((replica.store.name, replica.key))
        detail = f"{replica.key} on {replica.store.name}: SHA-256 {observed}, expected {asset.sha256} (corrupt)."
        outcome = "failure"
    events.record(events.EventType.FIXITY_CHECK, outcome, detail, asset=asset, store=replica.store)
    return state


def repair_replica(replica: Replica, good: Replica, report: AuditReport) -> bool:
    """Rewrite a bad replica from one verified good in this audit; ``put`` re-verifies the bytes."""
    asset = replica.asset
    target = get_store(replica.store.name)
    try:
        with get_store(good.store.name).open(good.key) as source:
            target.put(replica.key, source, asset.sha256)
    except StoreError as error:
        events.record(
            events.EventType.REPAIR,
            events.Outcome.FAILURE,
            f"Repair of {replica.key} on {replica.store.name} from {good.store.name} failed: {error}",
            asset=asset,
            store=replica.store,
        )
        return False
    Replica.objects.filter(pk=replica.pk).update(
        state=Replica.State.OK, observed_sha256=asset.sha256, verified_at=timezone.now(), last_error=""
    )
    report.repaired.append((replica.store.name, replica.key))
    events.record(
        events.EventType.REPAIR,
        events.Outcome.SUCCESS,
        f"{replica.key} on {replica.store.name} rewritten from {good.store.name} (verified good in this audit); "
        f"read back, SHA-256 {asset.sha256}.",
        asset=asset,
        store=replica.store,
    )
    return True


def audit(
    *,
    store: str | None = None,
    identifier: str | None = None,
    repair: bool = False,
    since_days: float | None = None,
    mb_per_s: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> AuditReport:
    """Audit the selected replicas, asset by asset, repairing from good copies when asked."""
    report = AuditReport()
    throttle = Throttle(mb_per_s)
    selected = replicas_to_audit(store, identifier, since_days)
    by_asset: dict = {}
    for replica in selected.iterator(chunk_size=500):
        by_asset.setdefault(replica.asset_id, []).append(replica)
    for asset_id, replicas in by_asset.items():
        states = {r.pk: check_replica(r, throttle, report) for r in replicas}
        if progress:
            progress(len(replicas))
        bad = [r for r in replicas if states[r.pk] in (Replica.State.MISSING, Replica.State.CORRUPT)]
        if not bad:
            continue
        good = _good_copy(asset_id, replicas, states, throttle, report)
        asset = replicas[0].asset
        if good is None:
            _flag_damaged(asset, report)
            continue
        if repair:
            for replica in bad:
                repair_replica(replica, good, report)
    return report


def _good_copy(asset_id, audited: list[Replica], states: dict, throttle: Throttle, report: AuditReport):
    for replica in audited:
        if states[replica.pk] == Replica.State.OK:
            return replica
    # Replicas outside this audit's selection (another store): verify one now before trusting it.
    others = (
        Replica.objects.select_related("store", "asset")
        .filter(asset_id=asset_id)
        .exclude(pk__in=[r.pk for r in audited])
    )
    for replica in others:
        if check_replica(replica, throttle, report) == Replica.State.OK:
            return replica
    return None


def _flag_damaged(asset: Asset, report: AuditReport) -> None:
    obj = asset.object
    message = f"{asset.filename} ({asset.id}) has no verified good copy in any store"
    log.error("DAMAGED object %s: %s", obj.identifier, message)
    if obj.identifier not in report.damaged:
        report.damaged.append(obj.identifier)
    obj.damaged = True
    obj.damage_detail = message
    obj.save(update_fields=["damaged", "damage_detail", "updated"])
    events.record(events.EventType.FIXITY_CHECK, events.Outcome.FAILURE, f"DAMAGED: {message}.", asset=asset)
