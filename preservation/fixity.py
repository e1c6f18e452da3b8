"""Fixity audits: re-hash every replica's bytes, compare with the recorded digest, repair from a good copy.

Each replica read is streamed (bounded memory) and optionally throttled; each check writes a PREMIS
"fixity check" event. With ``repair=True`` a missing or corrupt replica is rewritten from a replica of the
same asset verified good in this same audit, then re-verified (``store.put`` reads it back), and a "repair"
event is written. When no good copy exists anywhere, the object is flagged damaged and nothing is
overwritten. Audits are resumable: ``since_days`` skips replicas verified more recently than that.

An audit works object by object. Before checking, it links copies the catalogue does not know yet (a
store holding the object after a catalogue rebuild) by reading that store's OCFL inventory; after
checking, it compares the object with its policy (preservation.policy) and, when repairing, writes the
object to the allowed stores that lack it. Scheduled audits queue one task per due object, so they run
in parallel on every worker; an object lease keeps two workers off the same object.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import BinaryIO

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from archive.models import Asset, HeritageObject
from preservation import events
from preservation.models import ObjectAudit, Replica, StoreObject
from preservation.packaging import ocfl
from preservation.stores.base import KeyNotFound, StoreError
from preservation.stores.registry import UnknownStore, get_store

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
    linked: list[tuple[str, str]] = field(default_factory=list)  # (store, object) found on a store, now known
    replicated: list[tuple[str, str]] = field(default_factory=list)  # (store, object) written to meet the policy
    policy_gaps: dict[str, list[str]] = field(default_factory=dict)  # object -> what its policy still lacks
    objects: int = 0

    @property
    def healthy(self) -> bool:
        bad = set(self.corrupt) | set(self.missing)
        return not self.damaged and not self.unreachable and bad <= set(self.repaired) and not self.policy_gaps

    def as_dict(self) -> dict:
        return {
            "objects": self.objects,
            "checked": self.checked,
            "ok": self.ok,
            "bytes_read": self.bytes_read,
            "corrupt": self.corrupt,
            "missing": self.missing,
            "unreachable": self.unreachable,
            "repaired": self.repaired,
            "damaged": self.damaged,
            "linked": self.linked,
            "replicated": self.replicated,
            "policy_gaps": self.policy_gaps,
            "healthy": self.healthy,
        }

    def merge(self, other: dict) -> None:
        """Add a report produced elsewhere (a worker's ``as_dict``)."""
        self.objects += other.get("objects", 0)
        self.checked += other.get("checked", 0)
        self.ok += other.get("ok", 0)
        self.bytes_read += other.get("bytes_read", 0)
        for name in ("corrupt", "missing", "unreachable", "repaired", "linked", "replicated"):
            getattr(self, name).extend(tuple(item) for item in other.get(name, []))
        self.damaged.extend(other.get("damaged", []))
        self.policy_gaps.update(other.get("policy_gaps", {}))


class Throttle:
    """Keeps reading at or below ``mb_per_s`` (None: no limit), so an audit never starves ingest."""

    def __init__(self, mb_per_s: float | None) -> None:
        self.rate = mb_per_s * 1e6 if mb_per_s else None
        self.started = time.monotonic()
        self.count = 0

    MAX_CREDIT_SECONDS = 1.0

    def spend(self, nbytes: int) -> None:
        if not self.rate:
            return
        self.count += nbytes
        ahead = self.count / self.rate - (time.monotonic() - self.started)
        if ahead > 0:
            time.sleep(ahead)
        elif ahead < -self.MAX_CREDIT_SECONDS:
            # Time spent not reading (bookkeeping, a slow store) must not become a burst later.
            self.started += -ahead - self.MAX_CREDIT_SECONDS


def hash_replica(handle: BinaryIO, throttle: Throttle) -> tuple[str, int]:
    digest = hashlib.sha256()
    total = 0
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
        total += len(chunk)
        throttle.spend(len(chunk))
    return digest.hexdigest(), total


def replicas_to_audit(store: str | None = None, identifier: str | None = None, since_days: float | None = None):
    # Copies in a store removed from the configuration are not audited (the policy check reports the gap).
    replicas = (
        Replica.objects.select_related("asset__object", "store")
        .exclude(state=Replica.State.PENDING)
        .filter(store__active=True)
    )
    if store:
        replicas = replicas.filter(store__name=store)
    if identifier:
        replicas = replicas.filter(asset__object__identifier=identifier)
    if since_days is not None:
        cutoff = timezone.now() - timedelta(days=since_days)
        replicas = replicas.filter(Q(verified_at__isnull=True) | Q(verified_at__lt=cutoff))
    return replicas.order_by("asset__object_id", "asset_id", "store__name")


def objects_to_audit(store: str | None = None, identifier: str | None = None):
    """Packaged objects (those with at least one OCFL version), optionally one, in a stable order."""
    objects = HeritageObject.objects.filter(versions__isnull=False).distinct().order_by("pk")
    if identifier:
        objects = objects.filter(identifier=identifier)
    if store:
        # Objects the store holds, or may hold (a store to re-link after a rebuild holds no rows yet).
        from preservation.policy import allowed_in

        allowed = allowed_in(store, objects)
        held = Replica.objects.filter(store__name=store).values("asset__object_id")
        objects = objects.filter(Q(pk__in=allowed) | Q(pk__in=held))
    return objects


def due_objects(now=None) -> list[int]:
    """Objects holding a replica not verified within its threat level's audit interval (ARCHIVE_POLICY)."""
    from preservation.policy import policy_for_level

    now = now or timezone.now()
    due: set[int] = set()
    for level in HeritageObject.objects.values_list("threat_level", flat=True).distinct():
        cutoff = now - timedelta(days=policy_for_level(level).audit_every_days)
        due.update(
            Replica.objects.exclude(state=Replica.State.PENDING)
            .filter(asset__object__threat_level=level, store__active=True)
            .filter(Q(verified_at__isnull=True) | Q(verified_at__lt=cutoff))
            .values_list("asset__object_id", flat=True)
            .distinct()
        )
    return sorted(due)


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
    # The new state and its event are one commit: an audit killed between them leaves neither.
    with transaction.atomic():
        replica.save(update_fields=["state", "observed_sha256", "verified_at", "last_error", "updated"])
        events.record(events.EventType.FIXITY_CHECK, outcome, detail, asset=asset, store=replica.store)
    return state


def repair_replica(replica: Replica, good: Replica, report: AuditReport) -> bool:
    """Rewrite a bad replica from one verified good in this audit; ``put`` re-verifies the bytes."""
    from preservation.replication import StoreBusy, lease

    asset = replica.asset
    target = get_store(replica.store.name)
    try:
        # The object's write lease on the target store: never two writers on one OCFL object.
        with lease(asset.object, replica.store), get_store(good.store.name).open(good.key) as source:
            target.put(replica.key, source, asset.sha256)
    except StoreBusy as busy:
        log.info("repair of %s postponed: %s", replica.key, busy)
        return False
    except StoreError as error:
        events.record(
            events.EventType.REPAIR,
            events.Outcome.FAILURE,
            f"Repair of {replica.key} on {replica.store.name} from {good.store.name} failed: {error}",
            asset=asset,
            store=replica.store,
        )
        return False
    now = timezone.now()
    with transaction.atomic():
        Replica.objects.filter(pk=replica.pk).update(
            state=Replica.State.OK, observed_sha256=asset.sha256, verified_at=now, last_error="", updated=now
        )
        events.record(
            events.EventType.REPAIR,
            events.Outcome.SUCCESS,
            f"{replica.key} on {replica.store.name} rewritten from {good.store.name} (verified good in this "
            f"audit); read back, SHA-256 {asset.sha256}.",
            asset=asset,
            store=replica.store,
        )
    report.repaired.append((replica.store.name, replica.key))
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
    """Audit the selected objects in this process, repairing from good copies when asked."""
    report = AuditReport()
    throttle = Throttle(mb_per_s)
    for obj in objects_to_audit(store, identifier).iterator(chunk_size=200):
        audit_object(obj, report, throttle, store=store, repair=repair, since_days=since_days, progress=progress)
    return report


def audit_object(
    obj: HeritageObject,
    report: AuditReport,
    throttle: Throttle,
    *,
    store: str | None = None,
    repair: bool = False,
    since_days: float | None = None,
    progress: Callable[[int], None] | None = None,
    rows: dict | None = None,
) -> AuditReport:
    """Link, check, repair and hold one object to its policy; the result is kept on its ObjectAudit."""
    from preservation.policy import evaluate

    report.objects += 1
    before = _counts(report)
    link_replicas(obj, report, only=store, rows=rows)
    selected = replicas_to_audit(store, None, since_days).filter(asset__object=obj)
    by_asset: dict = {}
    for replica in selected:
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
    status = evaluate(obj)
    if repair and status.missing_stores and obj.identifier not in report.damaged:
        _complete_placement(obj, status.missing_stores, store, report)
        status = evaluate(obj)
    if not status.met:
        report.policy_gaps[obj.identifier] = status.problems
        log.warning("object %s does not meet its policy: %s", obj.identifier, " ".join(status.problems))
    _remember(obj, report, before)
    return report


def _complete_placement(obj: HeritageObject, missing: list[str], only: str | None, report: AuditReport) -> None:
    """Write the object to allowed stores that lack it (replicate_object starts from each store's own state)."""
    from preservation.replication import StoreBusy, replicate_object

    for name in missing:
        if only and name != only:
            continue
        try:
            if replicate_object(obj, name):
                report.replicated.append((name, obj.identifier))
        except StoreBusy:
            continue
        except (StoreError, ValueError) as error:
            report.unreachable.append((name, obj.ocfl_id))
            log.warning("could not complete %s on %s: %s", obj.identifier, name, error)


def _counts(report: AuditReport) -> dict[str, int]:
    return {
        "checked": report.checked,
        "ok": report.ok,
        "bytes_read": report.bytes_read,
        "corrupt": len(report.corrupt),
        "missing": len(report.missing),
        "repaired": len(report.repaired),
        "unreachable": len(report.unreachable),
    }


def _remember(obj: HeritageObject, report: AuditReport, before: dict[str, int]) -> None:
    now = _counts(report)
    mine = {
        **{key: now[key] - before[key] for key in now},
        "policy": report.policy_gaps.get(obj.identifier, []),
        "damaged": obj.identifier in report.damaged,
    }
    healthy = not (mine["damaged"] or mine["unreachable"] or mine["policy"]) and (
        mine["corrupt"] + mine["missing"] <= mine["repaired"]
    )
    ObjectAudit.objects.update_or_create(
        object=obj, defaults={"finished_at": timezone.now(), "healthy": healthy, "summary": mine}
    )


def link_replicas(obj: HeritageObject, report: AuditReport, only: str | None = None, rows: dict | None = None) -> None:
    """Record copies a store holds that the catalogue does not know yet (after a rebuild from another
    store), as ``unverified`` replicas the audit then reads. Only the store's own inventory is trusted
    for which files it has; nothing is marked verified here."""
    from preservation.policy import allowed_store_names
    from preservation.replication import ensure_store_rows, replica_key, version_file

    rows = rows if rows is not None else ensure_store_rows()
    names = [only] if only else allowed_store_names(obj)
    packaged = list(
        Asset.objects.filter(object=obj, version__isnull=False).select_related("version").order_by("created")
    )
    for name in names:
        row = rows.get(name)
        if row is None:
            continue
        known = set(Replica.objects.filter(store=row, asset__object=obj).values_list("asset_id", flat=True))
        if all(asset.id in known for asset in packaged):
            continue
        try:
            inventory = ocfl.read_inventory(get_store(name), obj.ocfl_id)
        except (StoreError, UnknownStore) as error:
            log.warning("cannot read %s's inventory on %s: %s", obj.identifier, name, error)
            continue
        if not inventory:
            continue
        on_store = {path for paths in inventory.get("manifest", {}).values() for path in paths}
        head = int(str(inventory["head"]).lstrip("v"))
        added = 0
        for asset in packaged:
            if asset.id in known or asset.version.number > head:
                continue
            path = version_file(asset, asset.version.number).content_path
            if path not in on_store:
                continue
            Replica.objects.get_or_create(
                asset=asset,
                store=row,
                defaults={"key": replica_key(obj, path), "state": Replica.State.UNVERIFIED},
            )
            added += 1
        state, _ = StoreObject.objects.get_or_create(object=obj, store=row)
        if state.head_version < head:
            StoreObject.objects.filter(pk=state.pk).update(head_version=head)
        if added:
            report.linked.append((name, obj.identifier))
            events.record(
                events.EventType.VALIDATION,
                events.Outcome.SUCCESS,
                f"Store {name} holds {obj.ocfl_id} up to v{head} (its OCFL inventory); {added} cop(ies) "
                "recorded as unverified until this audit reads them.",
                obj=obj,
                store=row,
            )


def _good_copy(asset_id, audited: list[Replica], states: dict, throttle: Throttle, report: AuditReport):
    for replica in audited:
        if states[replica.pk] == Replica.State.OK:
            return replica
    # Replicas outside this audit's selection (another store): verify one now before trusting it.
    others = (
        Replica.objects.select_related("store", "asset")
        .filter(asset_id=asset_id, store__active=True)
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


AUDIT_LEASE_SECONDS = 3600


def claim(obj: HeritageObject, owner: str) -> bool:
    """Take the object's audit lease for ``owner`` (a task id): free, expired, or already ours (a task
    redelivered after its worker was killed carries the same id, so it resumes at once)."""
    from django.db import transaction

    now = timezone.now()
    with transaction.atomic():
        row, _ = ObjectAudit.objects.get_or_create(object=obj)
    return bool(
        ObjectAudit.objects.filter(pk=row.pk)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner))
        .update(lease_until=now + timedelta(seconds=AUDIT_LEASE_SECONDS), lease_owner=owner, started_at=now)
    )


def release(obj: HeritageObject, owner: str) -> None:
    ObjectAudit.objects.filter(object=obj, lease_owner=owner).update(
        lease_until=None, lease_owner="", requested_at=None
    )


def schedule_due_audits(enqueue: Callable[[int], None], now=None) -> int:
    """Queue one audit per due object not already queued (requested_at within its interval)."""
    now = now or timezone.now()
    queued = 0
    recently = now - timedelta(hours=12)
    busy = set(ObjectAudit.objects.filter(requested_at__gt=recently).values_list("object_id", flat=True))
    for object_id in due_objects(now):
        if object_id in busy:
            continue
        ObjectAudit.objects.update_or_create(object_id=object_id, defaults={"requested_at": now})
        enqueue(object_id)
        queued += 1
    return queued
