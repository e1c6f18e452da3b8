"""Getting every object's OCFL versions onto every store allowed to hold it, verified.

The catalogue defines the versions (ObjectVersion rows); each store replays them in order, so all
stores end with identical OCFL objects. A store that is down only delays its own copy: the object
stays under-replicated until the sweeper brings the store up to date.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from archive.models import Asset, HeritageObject, ObjectVersion
from preservation import events
from preservation.models import Replica, Store, StoreObject
from preservation.packaging import ocfl
from preservation.staging import remove_tree
from preservation.stores.base import (
    KeyNotFound,
    ReplicaStore,
    StoreError,
    StoreFull,
    StoreIntegrityError,
    StoreUnavailable,
)
from preservation.stores.registry import all_stores, get_store, store_config

log = logging.getLogger(__name__)


class StoreBusy(StoreError):
    """Another worker holds this object's lease on this store; try again shortly."""


def ensure_store_rows() -> dict[str, Store]:
    """Store rows mirror settings.ARCHIVE_STORES (rows of removed stores stay, marked inactive)."""
    rows = {}
    for store in all_stores():
        config = store_config(store.name)
        options = config.get("options", {})
        location = options.get("root") or f"{options.get('endpoint_url', '')}/{options.get('bucket', '')}"
        row, _ = Store.objects.update_or_create(
            name=store.name,
            defaults={
                "kind": config["backend"].rsplit(".", 1)[-1],
                "location": location,
                "jurisdiction": config.get("jurisdiction", ""),
                "access_levels": list(config.get("access_levels", [])),
                "active": True,
            },
        )
        rows[store.name] = row
    Store.objects.exclude(name__in=rows).update(active=False)
    return rows


def store_names_for(obj: HeritageObject) -> list[str]:
    """The stores allowed to hold this object (its access level, and its community's choice of stores)."""
    from preservation.policy import allowed_store_names

    return allowed_store_names(obj)


def version_file(asset: Asset, number: int) -> ocfl.VersionFile:
    """The OCFL entry of an asset added in version ``number``."""
    if asset.role == Asset.Role.METADATA:
        path = ocfl.metadata_content_path(number, asset.filename)
    else:
        path = ocfl.content_path(number, str(asset.id), asset.filename)
    return ocfl.VersionFile(logical_path=asset.logical_path, content_path=path, sha256=asset.sha256, size=asset.size)


def ocfl_versions(obj: HeritageObject) -> list[ocfl.Version]:
    """The object's OCFL history as the catalogue defines it (same on every store)."""
    versions = []
    for version in obj.versions.order_by("number"):
        versions.append(
            ocfl.Version(
                number=version.number,
                created=version.created,
                message=version.message,
                user_name=version.user_name,
                user_address=f"{settings.SITE_URL}/",
                files=[version_file(asset, version.number) for asset in version.assets.order_by("created", "id")],
                removed=sorted(asset.logical_path for asset in version.removed_assets.all()),
            )
        )
    return versions


def replica_key(obj: HeritageObject, content_path: str) -> str:
    return f"{ocfl.object_root(obj.ocfl_id)}/{content_path}"


def asset_source(asset: Asset, exclude_store: str | None = None) -> BinaryIO:
    """Readable bytes of an asset: the local working copy if still there, else a verified replica."""
    if asset.local_path and Path(asset.local_path).is_file():
        return open(asset.local_path, "rb")
    replicas = asset.replicas.filter(state=Replica.State.OK).select_related("store")
    for replica in replicas:
        if replica.store.name == exclude_store:
            continue
        try:
            return get_store(replica.store.name).open(replica.key)
        except (StoreError, KeyError) as error:
            log.warning("replica %s of %s unreadable: %s", replica.store.name, asset.id, error)
    raise StoreUnavailable(f"no readable copy of {asset.filename} ({asset.id}) is reachable right now")


def mark_queued(object_id: int, store_names: list[str]) -> None:
    """Remember that a replicate task for (object, store) is in the queue, so the sweeper leaves it alone
    until it runs or ARCHIVE_STUCK_AFTER_SECONDS pass (a backlog is not a stuck copy)."""
    rows = ensure_store_rows()
    now = timezone.now()
    for name in store_names:
        StoreObject.objects.update_or_create(object_id=object_id, store=rows[name], defaults={"queued_at": now})


@contextlib.contextmanager
def lease(obj: HeritageObject, store_row: Store, owner: str | None = None):
    """Hold the (object, store) lease while writing, so two workers never write one OCFL object.

    ``owner`` (the Celery task id, which survives retries and redelivery) makes the lease re-entrant: a task
    redelivered after its worker was killed mid-write takes back its own lease at once instead of waiting
    ARCHIVE_REPLICATION_LEASE_SECONDS. The release never raises: when the database is what failed, the
    lease simply expires."""
    state, _ = StoreObject.objects.get_or_create(object=obj, store=store_row)
    token = owner or uuid.uuid4().hex
    now = timezone.now()
    taken = (
        StoreObject.objects.filter(pk=state.pk)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=token))
        .update(
            lease_until=now + timedelta(seconds=settings.ARCHIVE_REPLICATION_LEASE_SECONDS),
            lease_owner=token,
            last_attempt_at=now,
        )
    )
    if not taken:
        raise StoreBusy(f"{obj.identifier} is being written to {store_row.name} by another worker")
    try:
        yield StoreObject.objects.get(pk=state.pk)
    finally:
        with contextlib.suppress(DatabaseError):
            StoreObject.objects.filter(pk=state.pk, lease_owner=token).update(lease_until=None, lease_owner="")


def replicate_object(obj: HeritageObject, store_name: str, owner: str | None = None) -> int:
    """Write every version the store lacks, verify each file, then its inventory. Returns versions written.

    Raises StoreError when the store is unreachable or returns wrong bytes (the task retries, the
    sweeper takes over after that); replicas already verified stay verified.
    """
    store_rows = ensure_store_rows()
    store_row = store_rows[store_name]
    store = get_store(store_name)
    written = 0
    with lease(obj, store_row, owner) as state:
        try:
            # The store, not the catalogue, says how far it got: a store restored empty or from an older
            # backup is brought forward from where it really is.
            if ocfl.finish_interrupted_commit(store, obj.ocfl_id):
                log.warning("%s on %s: finished a commit cut before the root sidecar", obj.ocfl_id, store_name)
            inventory = ocfl.read_inventory(store, obj.ocfl_id)
            on_store = int(inventory["head"].lstrip("v")) if inventory else 0
            # Versions the store committed but the catalogue never recorded there (the write's last answer
            # was lost: a client timeout on a slow store, a killed worker): check their bytes, record them.
            versions = ocfl_versions(obj)
            for number in range(state.head_version + 1, min(on_store, len(versions)) + 1):
                _adopt_version(obj, store, store_row, versions, number, inventory)
            state.head_version = on_store
            while True:
                versions = ocfl_versions(obj)
                head = len(versions)
                if state.head_version >= head:
                    break
                number = state.head_version + 1
                written += _write_version(obj, store, store_row, versions, number)
                state.head_version = number
                state.last_error = ""
                state.attempts = 0
                state.save(update_fields=["head_version", "last_error", "attempts"])
        except StoreError as error:
            _record_failure(obj, store_row, state, error)
            raise
    Store.objects.filter(pk=store_row.pk).update(last_ok_at=timezone.now())
    release_staging(obj)
    return written


def failure_kind(error: StoreError) -> str:
    """A few words a curator can act on, for events, logs and the stores page."""
    if isinstance(error, StoreFull):
        return "store full"
    if isinstance(error, StoreIntegrityError):
        return "wrong bytes read back"
    return "store unreachable or refusing"


def _record_failure(obj: HeritageObject, store_row: Store, state: StoreObject, error: StoreError) -> None:
    """Remember a failed attempt on the object's and the store's rows, log it, and write a PREMIS event
    for each distinct failure (the same failure retried every sweep during an outage is logged, not
    recorded again: one event per outage, not one per minute)."""
    notes = " ".join(getattr(error, "__notes__", []))
    kind = failure_kind(error)
    message = f"{kind}: {error}" + (f" ({notes})" if notes else "")
    repeated = state.attempts > 0 and state.last_error == message
    state.last_error = message
    state.attempts += 1
    state.save(update_fields=["last_error", "attempts"])
    Store.objects.filter(pk=store_row.pk).update(last_error=message, last_error_at=timezone.now())
    log.warning(
        "replication of %s to store %s failed (attempt %s); it stays under-replicated until a retry or the "
        "sweeper succeeds. %s",
        obj.identifier,
        store_row.name,
        state.attempts,
        message,
    )
    if not repeated:
        events.record(
            events.EventType.REPLICATION,
            events.Outcome.FAILURE,
            f"Copy to store {store_row.name} failed, {message}. The object stays under-replicated; the copy "
            "is retried automatically.",
            obj=obj,
            store=store_row,
        )


def _write_version(obj, store: ReplicaStore, store_row: Store, versions, number: int) -> int:
    version_row = ObjectVersion.objects.get(object=obj, number=number)
    assets = {a.logical_path: a for a in version_row.assets.all()}
    for asset in assets.values():
        content = version_file(asset, number).content_path
        Replica.objects.update_or_create(
            asset=asset,
            store=store_row,
            defaults={"key": replica_key(obj, content)},
        )
        Replica.objects.filter(asset=asset, store=store_row).exclude(state=Replica.State.OK).update(
            state=Replica.State.PENDING
        )

    def open_source(entry: ocfl.VersionFile) -> BinaryIO:
        return asset_source(assets[entry.logical_path], exclude_store=store.name)

    try:
        verified = ocfl.write_version(store, obj.ocfl_id, versions, number, open_source)
    except StoreError as error:
        Replica.objects.filter(asset__version=version_row, store=store_row).exclude(state=Replica.State.OK).update(
            last_error=str(error)[:2000]
        )
        error.add_note(f"while writing version v{number}")
        raise
    for entry in verified:
        _mark_verified(obj, store_row, assets[entry.logical_path], entry, "Copied to")
    return 1


def _mark_verified(obj, store_row: Store, asset: Asset, entry: ocfl.VersionFile, how: str) -> None:
    Replica.objects.filter(asset=asset, store=store_row).update(
        state=Replica.State.OK, observed_sha256=entry.sha256, verified_at=timezone.now(), last_error=""
    )
    events.record(
        events.EventType.REPLICATION,
        events.Outcome.SUCCESS,
        f"{how} store {store_row.name} ({store_row.jurisdiction or 'no jurisdiction'}) as "
        f"{replica_key(obj, entry.content_path)}; read back and SHA-256 verified ({entry.sha256}).",
        asset=asset,
        store=store_row,
    )


def _adopt_version(obj, store: ReplicaStore, store_row: Store, versions, number: int, inventory: dict) -> None:
    """Record version ``number``, already committed in the store's inventory, once every content file of
    it hashes right on the store (a file that does not is rewritten from a good source and verified).

    Raises OcflConflict when the store's version differs from the catalogue's (never overwritten here).
    """
    ours = ocfl.build_inventory(obj.ocfl_id, versions, number)["versions"][f"v{number}"]
    if inventory.get("versions", {}).get(f"v{number}") != ours:
        raise ocfl.OcflConflict(
            f"store {store.name}: {obj.ocfl_id} v{number} on the store differs from the catalogue's; "
            "refusing to record or overwrite it"
        )
    assets = {a.logical_path: a for a in ObjectVersion.objects.get(object=obj, number=number).assets.all()}
    for entry in versions[number - 1].files:
        asset = assets[entry.logical_path]
        key = replica_key(obj, entry.content_path)
        Replica.objects.get_or_create(asset=asset, store=store_row, defaults={"key": key})
        try:
            found = store.sha256(key)
        except KeyNotFound:
            found = ""
        if found != entry.sha256:
            with asset_source(asset, exclude_store=store.name) as source:
                store.put(key, source, entry.sha256)
        _mark_verified(obj, store_row, asset, entry, "Found on (written by an attempt whose answer was lost)")
    StoreObject.objects.filter(object=obj, store=store_row).update(head_version=number)


def verified_copies(asset: Asset) -> int:
    return asset.replicas.filter(state=Replica.State.OK).count()


def release_staging(obj: HeritageObject) -> list[str]:
    """Delete working copies whose whole family (original + derivatives) has enough verified copies,
    and catalogue records that have. Never before: until then the staged file is the only sure source."""
    minimum = required_copies(obj)
    released = []
    originals = obj.assets.filter(role=Asset.Role.ORIGINAL, status=Asset.State.READY).exclude(local_path="")
    for original in originals:
        family = Asset.objects.filter(Q(pk=original.pk) | Q(derived_from=original)).annotate(
            copies=Count("replicas", filter=Q(replicas__state=Replica.State.OK))
        )
        if all(member.copies >= minimum for member in family):
            with transaction.atomic():
                family.update(local_path="")
            remove_tree(Path(original.local_path).parent)
            released.append(str(original.id))
    records = (
        obj.assets.filter(role=Asset.Role.METADATA)
        .exclude(local_path="")
        .annotate(copies=Count("replicas", filter=Q(replicas__state=Replica.State.OK)))
    )
    for record in records:
        if record.copies >= minimum:
            Asset.objects.filter(pk=record.pk).update(local_path="")
            remove_tree(Path(record.local_path).parent)
            released.append(str(record.id))
    return released


def required_copies(obj: HeritageObject) -> int:
    """Verified copies needed before staging is released: the policy's count, as far as the stores
    allowed for this object can give it, and never fewer than ARCHIVE_MIN_COPIES."""
    from preservation.policy import policy_for

    allowed = len(store_names_for(obj))
    return max(settings.ARCHIVE_MIN_COPIES, min(policy_for(obj).copies, allowed))


def under_replicated(obj: HeritageObject) -> list[str]:
    """Stores allowed for this object that do not yet hold its latest version."""
    head = obj.versions.count()
    if head == 0:
        return []
    done = set(StoreObject.objects.filter(object=obj, head_version__gte=head).values_list("store__name", flat=True))
    return [name for name in store_names_for(obj) if name not in done]


def withdraw_from_store(obj: HeritageObject, store_name: str, reason: str, user=None) -> int:
    """Remove an object's copy from a store that may no longer hold it (a community restricted it, or
    narrowed its list of stores). Deliberate, with a reason and a deletion event; refused for a store
    still allowed for the object, so it can never reduce the copies the policy counts on. Returns the
    number of keys deleted."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("a reason is required to withdraw a copy")
    if store_name in store_names_for(obj):
        raise ValueError(
            f"store {store_name} is allowed to hold {obj.identifier}: only copies in stores not allowed "
            "for the object can be withdrawn"
        )
    store_row = ensure_store_rows().get(store_name) or Store.objects.get(name=store_name)
    store = get_store(store_name)
    root = ocfl.object_root(obj.ocfl_id)
    with lease(obj, store_row):
        keys = list(store.list(f"{root}/"))
        # Content first, inventories last: an interrupted withdrawal leaves an inventory that the
        # next attempt finds and finishes, never content without a record of it.
        for key in sorted(keys, key=lambda k: ("inventory.json" in k, k)):
            store.delete(key, reason)
        Replica.objects.filter(asset__object=obj, store=store_row).delete()
        StoreObject.objects.filter(object=obj, store=store_row).update(head_version=0)
    events.record(
        events.EventType.DELETION,
        events.Outcome.SUCCESS,
        f"Copy of {obj.ocfl_id} withdrawn from store {store_name} ({len(keys)} files) by "
        f"{user or 'the system'}: {reason}",
        obj=obj,
        store=store_row,
    )
    return len(keys)
