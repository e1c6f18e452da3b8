"""The catalogue records each OCFL version carries, so any one store can rebuild the catalogue alone.

Every version holds ``metadata/object.json`` (the whole descriptive and technical record, the format
``rebuild`` reads back), ``metadata/dc.xml`` (Dublin Core, for people and tools that know nothing of
us) and ``metadata/premis.xml`` (every preservation event so far, PREMIS 3). A version rewrites only
the records whose bytes changed; PREMIS changes every time, since each version adds events.

Events that happen after a version is written (its replication, later audits) reach the stores with
the next version: that is the price of never rewriting a committed OCFL version.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from archive.models import Asset, HeritageObject
from preservation.models import PreservationEvent
from preservation.packaging import dublin_core, premis
from preservation.packaging.ocfl import content_path, metadata_content_path

SCHEMA = "heritage-archive/object/1"
OBJECT_RECORD = "object.json"
DC_RECORD = "dc.xml"
PREMIS_RECORD = "premis.xml"
RECORD_NAMES = (OBJECT_RECORD, DC_RECORD, PREMIS_RECORD)
RECORD_MIME = {OBJECT_RECORD: "application/json", DC_RECORD: "application/xml", PREMIS_RECORD: "application/xml"}
_METADATA_NAMESPACE = uuid.UUID("6f1c2b6e-3c1a-4f7e-9a55-0b4d5a0c9e21")


def metadata_asset_id(ocfl_id: str, version: int, filename: str) -> uuid.UUID:
    """Deterministic, so a catalogue rebuilt from a store gives the metadata files their old ids."""
    return uuid.uuid5(_METADATA_NAMESPACE, f"{ocfl_id}/v{version}/{filename}")


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def asset_record(asset: Asset) -> dict[str, Any]:
    """Everything needed to recreate the Asset row (its bytes are in the OCFL object)."""
    return {
        "id": str(asset.id),
        "role": asset.role,
        "derived_from": str(asset.derived_from_id) if asset.derived_from_id else None,
        "original_name": asset.original_name,
        "filename": asset.filename,
        "path": asset.logical_path,
        "size": asset.size,
        "sha256": asset.sha256,
        "puid": asset.puid,
        "format_name": asset.format_name,
        "mime": asset.mime,
        "format_key": asset.format_key,
        "technical": asset.technical,
        "status": asset.status,
        "status_message": asset.status_message,
        "created": _iso(asset.created),
        "version": asset.version.number if asset.version_id else None,
        "removed_in": asset.removed_in.number if asset.removed_in_id else None,
        "deletion": (
            {"reason": asset.deletion_reason, "by": asset.deleted_by, "at": _iso(asset.deleted_at)}
            if asset.deleted_at
            else None
        ),
    }


def object_record(obj: HeritageObject) -> dict[str, Any]:
    """The object as the catalogue knows it: descriptive fields, texts, collection and community, and
    every file ever packaged (deleted ones as tombstones). No volatile state (job progress, damage flags)."""
    collection = obj.collection
    community = collection.community
    files = (
        obj.assets.filter(version__isnull=False)
        .exclude(role=Asset.Role.METADATA)
        .select_related("version", "removed_in")
        .order_by("version__number", "created", "id")
    )
    return {
        "schema": SCHEMA,
        "identifier": obj.identifier,
        "ocfl_id": obj.ocfl_id,
        "url": obj.citation_url,
        "status": obj.status,
        "access_level": obj.access_level,
        "embargo_until": _iso(obj.embargo_until),
        "published_at": _iso(obj.published_at),
        "created": _iso(obj.created),
        "collection": {
            "slug": collection.slug,
            "title": collection.title,
            "description": collection.description,
            "default_access_level": collection.default_access_level,
            "community": {
                "slug": community.slug,
                "name": community.name,
                "description": community.description,
                "allowed_stores": list(community.allowed_stores or []),
                "shares_with": sorted(community.shares_with.values_list("slug", flat=True)),
            },
        },
        "texts": [
            {"language": t.language, "title": t.title, "description": t.description, "is_original": t.is_original}
            for t in obj.texts.order_by("language")
        ],
        "object_type": obj.object_type,
        "culture": obj.culture,
        "period_label": obj.period_label,
        "year_start": obj.year_start,
        "year_end": obj.year_end,
        "place_name": obj.place_name,
        "latitude": obj.latitude,
        "longitude": obj.longitude,
        "sensitive_location": obj.sensitive_location,
        "threat": {"type": obj.threat_type, "level": obj.threat_level},
        "rights_statement": obj.rights_statement,
        "licence": obj.licence,
        "keywords": list(obj.keywords or []),
        "labels": list(obj.labels or []),
        "provenance": obj.provenance,
        "source_reference": obj.source_reference,
        "files": [asset_record(asset) for asset in files],
        "deletion": (
            {"reason": obj.deletion_reason, "by": obj.deleted_by, "at": _iso(obj.deleted_at)}
            if obj.deleted_at
            else None
        ),
    }


def record_bytes(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def dc_bytes(record: dict[str, Any]) -> bytes:
    """Dublin Core of the live files only; the preservation copy keeps exact coordinates."""
    live = dict(record, files=[f for f in record["files"] if not f["deletion"]])
    return dublin_core.dc_xml(live, generalize_location=False)


def file_entities(obj: HeritageObject, extra: list[Asset] = ()) -> list[premis.FileEntity]:
    assets = list(obj.assets.filter(version__isnull=False).select_related("version").order_by("created", "id"))
    assets += [a for a in extra if a not in assets]
    entities = []
    for asset in assets:
        number = asset.version.number if asset.version_id else None
        if asset.role == Asset.Role.METADATA:
            path = metadata_content_path(number, asset.filename) if number else ""
        else:
            path = content_path(number, asset.id, asset.filename) if number else ""
        entities.append(
            premis.FileEntity(
                uuid=str(asset.id),
                filename=asset.filename,
                original_name=asset.original_name,
                size=asset.size,
                sha256=asset.sha256,
                puid=asset.puid,
                format_name=asset.format_name,
                mime=asset.mime,
                role=asset.role,
                derived_from=str(asset.derived_from_id) if asset.derived_from_id else "",
                content_path=path,
            )
        )
    return entities


def event_records(obj: HeritageObject) -> list[premis.EventRecord]:
    events = PreservationEvent.objects.filter(object=obj).select_related("store").order_by("occurred_at", "id")
    return [
        premis.EventRecord(
            id=str(event.id),
            event_type=event.event_type,
            occurred_at=event.occurred_at,
            agent=event.agent,
            outcome=event.outcome,
            detail=event.detail,
            asset=str(event.asset_id) if event.asset_id else "",
            store=event.store.name if event.store_id else "",
        )
        for event in events
    ]


@dataclass(frozen=True)
class RecordFile:
    filename: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def descriptive_files(obj: HeritageObject) -> list[RecordFile]:
    """object.json and dc.xml as of now (the files of the version being made must already be assigned)."""
    record = object_record(obj)
    return [RecordFile(OBJECT_RECORD, record_bytes(record)), RecordFile(DC_RECORD, dc_bytes(record))]


def premis_file(obj: HeritageObject, new_metadata: list[Asset]) -> RecordFile:
    data = premis.premis_xml(obj.ocfl_id, file_entities(obj, new_metadata), event_records(obj))
    return RecordFile(PREMIS_RECORD, data)


def latest_record_digests(obj: HeritageObject) -> dict[str, str]:
    """filename -> sha256 of the newest packaged copy of each catalogue record."""
    latest: dict[str, str] = {}
    rows = obj.assets.filter(role=Asset.Role.METADATA, version__isnull=False).order_by("version__number")
    for filename, digest in rows.values_list("filename", "sha256"):
        latest[filename] = digest
    return latest
