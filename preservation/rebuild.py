"""Rebuild the catalogue from the OCFL objects of one store alone (the database is lost, a store is not).

For each object on the store: its root inventory (checked against its sidecar) gives the versions and
every file's digest; the head version's ``metadata/object.json`` gives the object, its texts, its
collection and community and every file's record; ``metadata/premis.xml`` gives the events. Every
content file is read and hashed while rebuilding, so the store's replicas come back verified (or
marked corrupt or missing), never merely assumed. Other stores are re-linked later by the audit.

What a store cannot give back: user accounts and memberships, uploads in flight, and events recorded
after the head version was written (they reach the stores with the next version).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from archive.models import Asset, Collection, Community, HeritageObject, ObjectText, ObjectVersion
from preservation import events
from preservation.hashing import sha256_stream
from preservation.models import PreservationEvent, Replica, Store, StoreObject
from preservation.packaging import ocfl, premis
from preservation.records import DC_RECORD, OBJECT_RECORD, PREMIS_RECORD, RECORD_MIME, metadata_asset_id
from preservation.stores.base import KeyNotFound, ReplicaStore, StoreError

log = logging.getLogger(__name__)


class RebuildError(Exception):
    """One object could not be rebuilt (the others still are)."""


@dataclass
class RebuildReport:
    objects: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (ocfl id, why)
    failed: list[tuple[str, str]] = field(default_factory=list)
    files: int = 0
    bytes_read: int = 0
    bad_files: list[tuple[str, str]] = field(default_factory=list)  # (key, state)
    shares: dict[str, set[str]] = field(default_factory=dict)  # community slug -> slugs it shares with


def object_ids(store: ReplicaStore) -> Iterator[str]:
    """OCFL ids of the objects under the storage root (layout 0003: three tuples, then the object)."""
    depth = ocfl.LAYOUT_NUMBER_OF_TUPLES + 1
    for key in store.list(""):
        parts = key.split("/")
        if len(parts) == depth + 1 and parts[-1] == ocfl.INVENTORY:
            try:
                yield json.loads(store.read_bytes(key))["id"]
            except (ValueError, KeyError, StoreError) as error:
                log.error("unreadable inventory %s on %s: %s", key, store.name, error)


def rebuild(
    store: ReplicaStore, *, verify: bool = True, progress: Callable[[str], None] | None = None
) -> RebuildReport:
    """Recreate every object of ``store`` missing from the catalogue."""
    from preservation.replication import ensure_store_rows

    rows = ensure_store_rows()
    store_row = rows[store.name]
    report = RebuildReport()
    for ocfl_id in object_ids(store):
        try:
            outcome = rebuild_object(store, store_row, ocfl_id, report, verify=verify)
        except (RebuildError, StoreError, ValueError, KeyError) as error:
            report.failed.append((ocfl_id, str(error)))
            log.error("rebuild of %s from %s failed: %s", ocfl_id, store.name, error)
        else:
            if outcome:
                report.objects.append(outcome)
        if progress:
            progress(ocfl_id)
    # Sharing between communities, once every community is back (one may name another rebuilt later).
    for slug, others in report.shares.items():
        community = Community.objects.filter(slug=slug).first()
        if community is not None:
            community.shares_with.add(*Community.objects.filter(slug__in=others))
    return report


def _read_verified(store: ReplicaStore, key: str, digest: str) -> bytes:
    data = store.read_bytes(key)
    if hashlib.sha256(data).hexdigest() != digest:
        raise RebuildError(f"{key} on {store.name} does not hash to {digest}: the record is corrupt on this store")
    return data


def _dt(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def rebuild_object(
    store: ReplicaStore, store_row: Store, ocfl_id: str, report: RebuildReport, *, verify: bool = True
) -> str | None:
    """Recreate one object; returns its identifier, or None when it was skipped (already catalogued)."""
    inventory = ocfl.read_inventory(store, ocfl_id)
    if inventory is None:
        raise RebuildError(f"{ocfl_id} has no inventory on {store.name}")
    root = ocfl.object_root(ocfl_id)
    head_name = inventory["head"]
    head = int(head_name.lstrip("v"))
    state = {path: digest for digest, paths in inventory["versions"][head_name]["state"].items() for path in paths}
    manifest = inventory["manifest"]

    def record_bytes(name: str) -> bytes:
        digest = state.get(f"metadata/{name}")
        if digest is None:
            raise RebuildError(f"{ocfl_id} v{head} carries no metadata/{name} (written before records existed?)")
        return _read_verified(store, f"{root}/{manifest[digest][0]}", digest)

    record = json.loads(record_bytes(OBJECT_RECORD))
    identifier = record["identifier"]
    community = record["collection"]["community"]
    report.shares.setdefault(community["slug"], set()).update(community.get("shares_with", []))
    if HeritageObject.objects.filter(identifier=identifier).exists():
        report.skipped.append((ocfl_id, "already in the catalogue"))
        return None
    _files, premis_events = premis.parse_premis(record_bytes(PREMIS_RECORD))

    with transaction.atomic():
        obj = _restore_object(record)
        versions = _restore_versions(obj, inventory)
        assets = _restore_assets(obj, record, versions)
        assets.update(_restore_records(obj, ocfl_id, manifest, versions, store, root))
        for asset in assets.values():
            path = asset.version and _content_path(asset)
            key = f"{root}/{path}"
            replica_state, observed = _check(store, key, asset.sha256, report) if verify else ("unverified", "")
            Replica.objects.create(
                asset=asset,
                store=store_row,
                key=key,
                state=replica_state,
                observed_sha256=observed,
                verified_at=timezone.now() if verify else None,
            )
            report.files += 1
        StoreObject.objects.create(object=obj, store=store_row, head_version=head)
        _restore_events(obj, premis_events, assets)
        events.record(
            events.EventType.VALIDATION,
            events.Outcome.SUCCESS,
            f"Catalogue rebuilt from store {store.name}: {ocfl_id} v{head}, {len(assets)} files "
            f"{'read and verified' if verify else 'recorded unverified'}, {len(premis_events)} events restored.",
            obj=obj,
            store=store_row,
        )
    return identifier


def _content_path(asset: Asset) -> str:
    from preservation.replication import version_file

    return version_file(asset, asset.version.number).content_path


def _check(store: ReplicaStore, key: str, digest: str, report: RebuildReport) -> tuple[str, str]:
    try:
        with store.open(key) as handle:
            observed, size = sha256_stream(handle)
    except KeyNotFound:
        report.bad_files.append((key, Replica.State.MISSING))
        return Replica.State.MISSING, ""
    report.bytes_read += size
    if observed != digest:
        report.bad_files.append((key, Replica.State.CORRUPT))
        return Replica.State.CORRUPT, observed
    return Replica.State.OK, observed


def _restore_object(record: dict) -> HeritageObject:
    c = record["collection"]
    community, _ = Community.objects.get_or_create(
        slug=c["community"]["slug"],
        defaults={
            "name": c["community"]["name"],
            "description": c["community"]["description"],
            "allowed_stores": c["community"].get("allowed_stores") or [],
        },
    )
    collection, _ = Collection.objects.get_or_create(
        slug=c["slug"],
        defaults={
            "community": community,
            "title": c["title"],
            "description": c["description"],
            "default_access_level": c["default_access_level"],
        },
    )
    deletion = record.get("deletion") or {}
    obj = HeritageObject(
        identifier=record["identifier"],
        collection=collection,
        object_type=record["object_type"],
        culture=record["culture"],
        period_label=record["period_label"],
        year_start=record["year_start"],
        year_end=record["year_end"],
        place_name=record["place_name"],
        latitude=record["latitude"],
        longitude=record["longitude"],
        sensitive_location=record["sensitive_location"],
        threat_type=record["threat"]["type"],
        threat_level=record["threat"]["level"],
        rights_statement=record["rights_statement"],
        licence=record["licence"],
        access_level=record["access_level"],
        embargo_until=parse_date(record["embargo_until"]) if record["embargo_until"] else None,
        status=record["status"],
        keywords=record["keywords"],
        labels=record.get("labels", []),
        provenance=record["provenance"],
        source_reference=record["source_reference"],
        published_at=_dt(record["published_at"]),
        deletion_reason=deletion.get("reason", ""),
        deleted_by=deletion.get("by", ""),
        deleted_at=_dt(deletion.get("at")),
    )
    obj.save()
    HeritageObject.objects.filter(pk=obj.pk).update(created=_dt(record["created"]))
    for text in record["texts"]:
        ObjectText.objects.create(object=obj, **text)
    return obj


def _restore_versions(obj: HeritageObject, inventory: dict) -> dict[int, ObjectVersion]:
    versions = {}
    for name, block in inventory["versions"].items():
        number = int(name.lstrip("v"))
        versions[number] = ObjectVersion.objects.create(
            object=obj,
            number=number,
            created=_dt(block["created"]),
            message=block.get("message", ""),
            user_name=block.get("user", {}).get("name", ""),
        )
    return versions


def _restore_assets(obj: HeritageObject, record: dict, versions: dict[int, ObjectVersion]) -> dict[str, Asset]:
    assets: dict[str, Asset] = {}
    # Sources before what was made from them (derived_from must exist first).
    files = sorted(record["files"], key=lambda f: f["derived_from"] is not None)
    for item in files:
        deletion = item.get("deletion") or {}
        asset = Asset.objects.create(
            id=item["id"],
            object=obj,
            role=item["role"],
            derived_from_id=item["derived_from"],
            original_name=item["original_name"],
            filename=item["filename"],
            size=item["size"],
            sha256=item["sha256"],
            puid=item["puid"],
            format_name=item["format_name"],
            mime=item["mime"],
            format_key=item["format_key"],
            technical=item["technical"],
            status=item["status"],
            status_message=item["status_message"],
            version=versions[item["version"]],
            removed_in=versions.get(item["removed_in"]) if item["removed_in"] else None,
            deletion_reason=deletion.get("reason", ""),
            deleted_by=deletion.get("by", ""),
            deleted_at=_dt(deletion.get("at")),
        )
        Asset.objects.filter(pk=asset.pk).update(created=_dt(item["created"]))
        asset.refresh_from_db()
        assets[item["id"]] = asset
    return assets


def _restore_records(
    obj: HeritageObject, ocfl_id: str, manifest: dict, versions: dict[int, ObjectVersion], store, root: str
) -> dict[str, Asset]:
    """The catalogue records of every version, as metadata assets with their deterministic ids."""
    restored = {}
    for digest, paths in manifest.items():
        for path in paths:
            parts = path.split("/")
            if len(parts) != 4 or parts[1] != ocfl.CONTENT_DIRECTORY or parts[2] != "metadata":
                continue
            number, filename = int(parts[0].lstrip("v")), parts[3]
            if filename not in (OBJECT_RECORD, DC_RECORD, PREMIS_RECORD):
                continue
            asset_id = metadata_asset_id(ocfl_id, number, filename)
            try:
                size = store.size(f"{root}/{path}")
            except KeyNotFound:
                size = 0
            restored[str(asset_id)] = Asset.objects.create(
                id=asset_id,
                object=obj,
                role=Asset.Role.METADATA,
                original_name=filename,
                filename=filename,
                size=size,
                sha256=digest,
                mime=RECORD_MIME[filename],
                format_name="JSON" if filename.endswith(".json") else "XML",
                status=Asset.State.READY,
                version=versions[number],
            )
    return restored


def _restore_events(obj: HeritageObject, records: list[premis.EventRecord], assets: dict[str, Asset]) -> None:
    stores = {row.name: row for row in Store.objects.all()}
    rows = []
    for record in records:
        store = None
        if record.store:
            store = stores.get(record.store)
            if store is None:
                store, _ = Store.objects.get_or_create(name=record.store, defaults={"kind": "unknown", "active": False})
                stores[record.store] = store
        rows.append(
            PreservationEvent(
                id=record.id,
                event_type=record.event_type,
                occurred_at=record.occurred_at,
                agent=record.agent,
                outcome=record.outcome,
                detail=record.detail,
                object=obj,
                asset=assets.get(record.asset) if record.asset else None,
                store=store,
            )
        )
    PreservationEvent.objects.bulk_create(rows, ignore_conflicts=True)
