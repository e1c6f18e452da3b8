"""BagIt 1.0 (RFC 8493) export and import of objects, with the Library of Congress ``bagit`` library.

Export (:func:`export_bag`) writes, under ``data/``, the object's files as its latest OCFL version shows
them (``data/<asset-uuid>/<name>``, the logical paths), or with ``all_versions`` every version's content
as OCFL stores it (``data/v1/content/<asset-uuid>/<name>``, ``data/v2/...``), plus ``data/metadata/``:
``mets.xml``, ``premis.xml``, ``dc.xml``, ``object.json`` (and ``inventory.json``, the OCFL inventory,
with every version). Bytes come from the stores (``asset_source``); each file's SHA-256 is checked
against the catalogue while it is copied. ``bagit.make_bag`` then writes sha256 and sha512 manifests;
bagit-python still declares "0.97" (bagit-python#141), so ``bagit.txt`` is rewritten as 1.0 and the tag
manifests recomputed. make_bag changes the process's working directory while it runs (bagit-python#112):
a lock keeps two exports apart, and nothing here uses relative paths.

Import (:func:`import_bag`) checks before it trusts (bag_intake.py: every name and type, counts and
sizes, manifest paths, then ``bagit.Bag.validate()``: every checksum, Payload-Oxum, completeness).
Only then is anything created: one new object, whose originals go through ``actions.receive_file`` like
any upload, so the pipeline identifies, normalizes, packages and replicates them. Our own bags
(``data/metadata/object.json``) give back the whole description and only their originals are received:
masters, access copies and records are made again. Other bags are described from ``bag-info.txt`` and
every payload file is an original. The new object keeps the stricter of the bag's access level and the
collection's default, and starts as a draft.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import tempfile
import threading
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import bagit
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from archive import actions
from archive.models import AccessLevel, Asset, Collection, HeritageObject, ObjectText
from preservation import events, records
from preservation.hashing import CHUNK
from preservation.models import Replica
from preservation.packaging import mets, ocfl
from preservation.packaging.bag_intake import BagRefused, BagTransferError, OpenedBag, check_space, open_bag
from preservation.replication import asset_source, ocfl_versions, version_file
from preservation.staging import asset_dir, remove_tree, staging_root
from preservation.stores.base import StoreError

log = logging.getLogger(__name__)

CHECKSUMS = ["sha256", "sha512"]
BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
METADATA = "metadata"
LAYOUT_TAG = "Heritage-Archive-Layout"
_MAKE_BAG_LOCK = threading.Lock()
_ACCESS_ORDER = {AccessLevel.PUBLIC: 0, AccessLevel.COMMUNITY: 1, AccessLevel.RESTRICTED: 2}
_VERSION_RECORD = re.compile(r"^data/v\d+/content/metadata/")
Progress = Callable[[int, int], None]  # (files done, files in all)


class BagExportError(BagTransferError):
    """Nothing was exported (and whatever was half-written is gone)."""


# ---------------------------------------------------------------------------------------------- export


def export_bag(
    obj: HeritageObject, dest: Path | str, all_versions: bool = False, *, user=None, progress: Progress | None = None
) -> Path:
    """Write the object as a BagIt 1.0 bag in a new folder under ``dest``; return that folder.

    Raises BagExportError when the object has no OCFL version yet, the folder exists, no copy of a file
    is reachable, or a copy does not hash to the catalogue's SHA-256 (a fixity-check failure event is
    recorded for it). A successful export records a replication event on the object.
    """
    dest = Path(dest).resolve()
    head = obj.versions.count()
    if not head:
        raise BagExportError(
            f"{obj.identifier} has no OCFL version yet: wait until its files are processed and packaged."
        )
    layout = "all-versions" if all_versions else f"v{head}"
    final = dest / f"{obj.identifier}-{layout}"
    if final.exists():
        raise BagExportError(f"{final} already exists: move it away or choose another destination.")
    dest.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=dest))
    try:
        payload = _payload(obj, all_versions)
        total = len(payload) + 1
        for done, (asset, path) in enumerate(payload, start=1):
            _copy_verified(asset, work / path.removeprefix("data/"))  # make_bag moves it all into data/
            if progress:
                progress(done, total)
        _write_records(obj, work, payload, all_versions, head)
        info = _bag_info(obj, layout, head)
        with _MAKE_BAG_LOCK:
            bag = bagit.make_bag(str(work), info, checksums=CHECKSUMS)
        _declare_bagit_1_0(work)
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if progress:
        progress(total, total)
    oxum = bag.info["Payload-Oxum"]
    events.record(
        events.EventType.DISSEMINATION,
        events.Outcome.SUCCESS,
        f"Exported as BagIt 1.0 bag {final.name} ({'every version' if all_versions else f'version v{head}'}; "
        f"Payload-Oxum {oxum}; sha256 and sha512 manifests) by {user or 'the system'}. Every file's SHA-256 "
        "was verified against the catalogue while it was copied from the stores.",
        obj=obj,
    )
    return final


def _payload(obj: HeritageObject, all_versions: bool) -> list[tuple[Asset, str]]:
    """(asset, path under the bag root) of every file to copy."""
    if not all_versions:
        return [(asset, f"data/{asset.logical_path}") for asset in mets.current_assets(obj, records=False)]
    assets = obj.assets.filter(version__isnull=False).select_related("version")
    return [
        (asset, f"data/{version_file(asset, asset.version.number).content_path}")
        for asset in assets.order_by("version__number", "created", "id")
    ]


def _source_label(asset: Asset) -> tuple[str, Any]:
    """Which copy ``asset_source`` reads, for messages: the staging copy, else the first verified replica
    (it skips a store that fails to open, so after such a failure the name may be the next store's)."""
    if asset.local_path and Path(asset.local_path).is_file():
        return f"the staging copy {asset.local_path}", None
    replica = asset.replicas.filter(state=Replica.State.OK).select_related("store").first()
    if replica is None:
        return "no verified copy", None
    return f"store {replica.store.name} ({replica.key})", replica.store


def _copy_verified(asset: Asset, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        source = asset_source(asset)
    except StoreError as error:
        raise BagExportError(
            f"{asset.logical_path}: {error}. Nothing was exported; bring a store back (manage.py stores) and retry."
        ) from error
    digest, count = hashlib.sha256(), 0
    with source, open(target, "xb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
            count += len(chunk)
    found = digest.hexdigest()
    if found != asset.sha256 or count != asset.size:
        label, store = _source_label(asset)
        detail = (
            f"{asset.logical_path} read from {label} hashes to {found} ({count} bytes) but the catalogue "
            f"records {asset.sha256} ({asset.size} bytes): that copy is damaged."
        )
        events.record(
            events.EventType.FIXITY_CHECK, events.Outcome.FAILURE, f"Bag export: {detail}", asset=asset, store=store
        )
        raise BagExportError(
            f"{detail} Nothing was exported; run `manage.py audit --object {asset.object.identifier} --repair` "
            "and export again."
        )


def _write_records(obj: HeritageObject, work: Path, payload: list[tuple[Asset, str]], all_versions: bool, head: int):
    """data/metadata/: object.json, dc.xml, premis.xml (as every OCFL version carries them, but as of
    now), inventory.json with every version, and mets.xml pointing at the files inside the bag."""
    folder = work / METADATA  # data/metadata/ once make_bag has moved the payload into data/
    folder.mkdir(parents=True, exist_ok=True)
    record = records.object_record(obj)
    premis_bytes = records.premis_file(obj, []).data
    written = {
        records.OBJECT_RECORD: records.record_bytes(record),
        records.DC_RECORD: records.dc_bytes(record),
        records.PREMIS_RECORD: premis_bytes,
    }
    if all_versions:
        written["inventory.json"] = ocfl.inventory_bytes(ocfl.build_inventory(obj.ocfl_id, ocfl_versions(obj), head))
    now = timezone.now()
    located = {str(asset.id): path for asset, path in payload}
    files = [mets.mets_file(asset, located[str(asset.id)]) for asset in mets.current_assets(obj, records=False)]
    for name, data in written.items():
        (folder / name).write_bytes(data)
        files.append(
            mets.MetsFile(
                id=f"record-{name}",
                role="metadata",
                path=f"data/{METADATA}/{name}",
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
                mime=records.RECORD_MIME.get(name, "application/json"),
                label=name,
                created=now,
            )
        )
    document = mets.object_mets(
        obj, files=files, location_type=mets.BAG_PATH, record=record, premis=premis_bytes, created=now
    )
    (folder / "mets.xml").write_bytes(document)


def _bag_info(obj: HeritageObject, layout: str, head: int) -> dict[str, str]:
    header = mets.header_for(obj, records.object_record(obj))
    return {
        "Source-Organization": header.organization,
        "Organization-Address": settings.SITE_URL,
        "External-Identifier": obj.ocfl_id,
        "External-Description": header.label,
        "Internal-Sender-Identifier": obj.identifier,
        "Bagging-Date": timezone.localdate().isoformat(),
        LAYOUT_TAG: layout,
        "Heritage-Archive-Head": f"v{head}",
    }


def _declare_bagit_1_0(bag_dir: Path) -> None:
    """bagit-python writes BagIt-Version 0.97; the bag is 1.0 (RFC 8493). Rewrite bagit.txt, then every
    tag manifest (they hash bagit.txt)."""
    (bag_dir / "bagit.txt").write_bytes(BAGIT_TXT)
    tag_files = sorted(p for p in bag_dir.iterdir() if p.is_file() and not p.name.startswith("tagmanifest-"))
    for algorithm in CHECKSUMS:
        lines = [f"{hashlib.new(algorithm, p.read_bytes()).hexdigest()}  {p.name}\n" for p in tag_files]
        (bag_dir / f"tagmanifest-{algorithm}.txt").write_text("".join(lines), encoding="utf-8")


def zip_bag(bag_dir: Path, target: Path | BinaryIO) -> None:
    """Zip a bag folder (members under ``<bag name>/``), streaming each file from disk. Text is deflated,
    everything else (already compressed images and scans) stored."""
    bag_dir = Path(bag_dir)
    with zipfile.ZipFile(target, "w", allowZip64=True) as archive:
        for path in sorted(p for p in bag_dir.rglob("*") if p.is_file()):
            compress = zipfile.ZIP_DEFLATED if path.suffix in (".txt", ".xml", ".json") else zipfile.ZIP_STORED
            archive.write(path, f"{bag_dir.name}/{path.relative_to(bag_dir).as_posix()}", compress_type=compress)


# ---------------------------------------------------------------------------------------------- import


def import_bag(
    path: Path | str,
    collection: Collection,
    user=None,
    *,
    in_process: bool = False,
    progress: Progress | None = None,
) -> HeritageObject:
    """Make a new object in ``collection`` from a bag (a folder or a zip file). Returns the object.

    Raises BagRefused, with the reason and nothing created, for anything that is not a complete, valid,
    safe bag. The originals are enqueued for the pipeline like uploads, or processed here and now with
    ``in_process`` (like ``manage.py ingest``).
    """
    source = Path(path)
    name = source.name
    work = staging_root() / "bags" / f"import-{uuid.uuid4().hex}"
    work.mkdir(parents=True)
    try:
        opened = open_bag(source, work)
        description, wanted, skipped = _plan(opened, collection, name)
        staged = _stage(opened, work, wanted, name, progress)
        obj, received = _create(collection, user, description, staged, opened.bag, name, skipped, in_process, progress)
    finally:
        remove_tree(work)
    if in_process:
        from preservation import pipeline

        for asset in received:
            pipeline.run_in_process(asset)
    return obj


def _first(value: Any) -> str:
    return (value[0] if isinstance(value, list) else value or "").strip()


def _stricter(level: str, other: str) -> str:
    return max((level, other), key=lambda value: _ACCESS_ORDER.get(value, len(_ACCESS_ORDER)))


def _own_record(root: Path) -> dict | None:
    path = root / "data" / METADATA / records.OBJECT_RECORD
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_bytes())
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("schema") == records.SCHEMA else None


_RECORD_FIELDS = (
    "object_type", "culture", "period_label", "year_start", "year_end", "place_name", "latitude", "longitude",
    "sensitive_location", "rights_statement", "licence", "keywords", "labels", "provenance",
)  # fmt: skip
_FIELD_NAMES = {*_RECORD_FIELDS, "threat_type", "threat_level", "access_level"}


def _plan(opened: OpenedBag, collection: Collection, name: str):
    """(description, [(payload path, original name)] to receive, count of files left to the pipeline)."""
    info = opened.bag.info
    record = _own_record(opened.root)
    note = f"Imported from BagIt bag {name} (External-Identifier {_first(info.get('External-Identifier')) or '-'}, "
    note += f"bagged {_first(info.get('Bagging-Date')) or 'on an unknown date'})."
    if record is not None:
        texts = {
            str(t.get("language") or "und"): (str(t.get("title") or ""), str(t.get("description") or ""))
            for t in record.get("texts") or []
        }
        original = next((t.get("language") for t in record.get("texts") or [] if t.get("is_original")), None)
        fields = {key: record[key] for key in _RECORD_FIELDS if record.get(key) is not None}
        threat = record.get("threat") or {}
        fields.update({"threat_type": threat.get("type", "none"), "threat_level": threat.get("level", 0)})
        level = record.get("access_level") or collection.default_access_level
        fields["access_level"] = _stricter(str(level), collection.default_access_level)
        fields["provenance"] = "\n\n".join(filter(None, [fields.get("provenance", ""), note]))
        known: dict[str, dict] = {}
        for item in record.get("files") or []:
            known[f"data/{item.get('path')}"] = item
            known[f"data/v{item.get('version')}/content/{item.get('id')}/{item.get('filename')}"] = item
    else:
        title = _first(info.get("Title")) or _first(info.get("External-Description")) or name
        description = "\n\n".join(
            filter(None, [_first(info.get("External-Description")), _first(info.get("Internal-Sender-Description"))])
        )
        language = settings.LANGUAGE_CODE.split("-")[0]
        texts, original, known = {language: (title[:500], description)}, language, {}
        tags = ("Source-Organization", "Organization-Address", "Contact-Name", "Internal-Sender-Identifier")
        origin = [f"{tag}: {_first(info[tag])}" for tag in tags if _first(info.get(tag))]
        fields = {"provenance": "\n".join([*origin, note])}
    wanted, skipped = [], 0
    for path in sorted(opened.payload):
        item = known.get(path)
        if record is not None and (path.startswith(f"data/{METADATA}/") or _VERSION_RECORD.match(path)):
            skipped += 1  # our catalogue records: made again for the new object
        elif item is None:
            wanted.append((path, path[len("data/") :]))
        elif item.get("role") == Asset.Role.ORIGINAL and not item.get("deletion"):
            wanted.append((path, str(item.get("original_name") or item.get("filename") or path.rsplit("/", 1)[-1])))
        else:
            skipped += 1  # a master, access copy or thumbnail (made again), or a deleted original
    if not wanted:
        raise BagRefused(f"{name}: the bag holds no original file to import.")
    description = _checked_description(collection, texts, original or next(iter(texts), ""), fields, name)
    return description, wanted, skipped


def _checked_description(collection, texts: dict, original: str, fields: dict, name: str) -> tuple:
    """The description, validated like the catalogue's own forms would (field types, choices, lengths)."""
    problems = []
    candidate = HeritageObject(collection=collection, **{k: v for k, v in fields.items() if k in _FIELD_NAMES})
    try:
        candidate.full_clean(exclude=["identifier"], validate_unique=False)
    except ValidationError as error:
        problems += [f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()]
    problems += [
        f"{key}: must be a list" for key in ("keywords", "labels") if not isinstance(fields.get(key, []), list)
    ]
    # PostgreSQL text cannot hold NUL (the forms and the API refuse it the same way)
    texts_flat = [(f"text [{language}]", [title, description]) for language, (title, description) in texts.items()]
    problems += [f"{key}: contains a NUL character" for key, value in [*fields.items(), *texts_flat] if _has_nul(value)]
    for language, (title, _description) in texts.items():
        try:
            ObjectText(language=language, title=title, description=_description).clean_fields(exclude=["object"])
        except ValidationError as error:
            problems += [f"text [{language}] {field}: {' '.join(m)}" for field, m in error.message_dict.items()]
    if not texts or problems:
        raise BagRefused(f"{name}: its description cannot be catalogued: {'; '.join(problems) or 'no title'}.")
    return texts, original, {k: v for k, v in fields.items() if k in _FIELD_NAMES}


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False


def _stage(opened: OpenedBag, work: Path, wanted, name: str, progress: Progress | None):
    """(staged path, original name, sha256, size) per file. An extracted zip is already our private copy;
    a folder is copied (hashed on the way, and held to the manifest's SHA-256 if it has one)."""
    incoming = work / "incoming"
    incoming.mkdir()
    bag, root = opened.bag, opened.root
    if not opened.extracted:
        check_space(sum(opened.payload[path] for path, _ in wanted), name)
    staged = []
    for index, (path, original_name) in enumerate(wanted, start=1):
        expected = bag.entries.get(bag.normalized_manifest_names.get(bagit.normalize_unicode(path), path), {})
        expected = expected.get("sha256", "").lower()
        source = root / path
        if opened.extracted and expected:
            target, digest, size = source, expected, source.stat().st_size
        else:
            target = incoming / str(index)
            hasher, size = hashlib.sha256(), 0
            with open(source, "rb") as src, open(target, "xb") as out:
                while chunk := src.read(CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            digest = hasher.hexdigest()
            if expected and digest != expected:
                raise BagRefused(f"{name}: {path} changed while it was being imported; nothing was imported.")
        staged.append((target, original_name, digest, size))
        if progress:
            progress(index, len(wanted) * 2)
    return staged


def _create(collection, user, description, staged, bag, name: str, skipped: int, in_process: bool, progress):
    """The object, its originals and the import event in one transaction; the pipeline work is enqueued
    once it commits (unless ``in_process``). On failure nothing stays: no row, no staged file."""
    texts, original, fields = description
    received: list[Asset] = []
    try:
        with transaction.atomic():
            obj = actions.create_object(collection, texts, original_language=original, user=user, **fields)
            for index, (path, original_name, digest, size) in enumerate(staged, start=1):
                asset, created = actions.receive_file(
                    obj, path, original_name, digest, size, user=user, via=f"BagIt bag {name}", enqueue=not in_process
                )
                if created:
                    received.append(asset)
                if progress:
                    progress(len(staged) + index, len(staged) * 2)
            events.record(
                events.EventType.INGESTION,
                events.Outcome.SUCCESS,
                _import_detail(bag, name, user, len(received), skipped),
                obj=obj,
            )
    except BaseException:
        for asset in received:
            remove_tree(asset_dir(asset.id))
        raise
    return obj, received


def _import_detail(bag: bagit.Bag, name: str, user, received: int, skipped: int) -> str:
    tags = ", ".join(
        f"{tag} {_first(bag.info.get(tag))}"
        for tag in ("External-Identifier", "Source-Organization", "Bagging-Date", "Payload-Oxum")
        if _first(bag.info.get(tag))
    )
    return (
        f"Imported BagIt {bag.tags.get('BagIt-Version', '?')} bag {name} ({tags or 'no bag-info tags'}) by "
        f"{user or 'the system'}, after bagit-python {bagit.VERSION} validated it completely "
        f"({', '.join(sorted(bag.algorithms))} manifests, Payload-Oxum, completeness): {received} original(s) "
        f"received; {skipped} derived file(s) and record(s) left for the pipeline to make again."
    )
