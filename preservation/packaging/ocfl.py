"""OCFL 1.1 storage roots and objects on any ReplicaStore, so each store alone can rebuild the catalogue.

Pure functions and dataclasses (no Django). The storage root uses layout extension 0003 (hashed n-tuple
tree with the id-encapsulating folder), which ocfl-py validates. A version's inventory is written only
after every content file of that version has been written and verified by ``store.put``.
"""

from __future__ import annotations

import hashlib
import json
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

from preservation.stores.base import KeyNotFound, ReplicaStore, StoreIntegrityError

SPEC_VERSION = "1.1"
INVENTORY_TYPE = "https://ocfl.io/1.1/spec/#inventory"
DIGEST_ALGORITHM = "sha256"
CONTENT_DIRECTORY = "content"

ROOT_DECLARATION_NAME = "0=ocfl_1.1"
ROOT_DECLARATION = b"ocfl_1.1\n"
OBJECT_DECLARATION_NAME = "0=ocfl_object_1.1"
OBJECT_DECLARATION = b"ocfl_object_1.1\n"

LAYOUT_EXTENSION = "0003-hash-and-id-n-tuple-storage-layout"
LAYOUT_NAME = "ocfl_layout.json"
LAYOUT_CONFIG_NAME = f"extensions/{LAYOUT_EXTENSION}/config.json"
LAYOUT_TUPLE_SIZE = 3
LAYOUT_NUMBER_OF_TUPLES = 3
LAYOUT = {
    "extension": LAYOUT_EXTENSION,
    "description": "Hashed Truncated N-tuple Trees with Object ID Encapsulating Directory for OCFL Storage Hierarchies",
}
LAYOUT_CONFIG = {
    "extensionName": LAYOUT_EXTENSION,
    "digestAlgorithm": DIGEST_ALGORITHM,
    "tupleSize": LAYOUT_TUPLE_SIZE,
    "numberOfTuples": LAYOUT_NUMBER_OF_TUPLES,
}

INVENTORY = "inventory.json"
SIDECAR = f"inventory.json.{DIGEST_ALGORITHM}"

_ENCAPSULATION_SAFE = frozenset(string.ascii_letters + string.digits + "-_")
_MAX_ENCAPSULATION = 100


class OcflConflict(ValueError):
    """The object on the store disagrees with the versions we were asked to write (never overwritten)."""


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def storage_root_files() -> dict[str, bytes]:
    """The files that make a store an OCFL storage root, in the order they are written (declaration last)."""
    return {
        LAYOUT_CONFIG_NAME: _json_bytes(LAYOUT_CONFIG),
        LAYOUT_NAME: _json_bytes(LAYOUT),
        ROOT_DECLARATION_NAME: ROOT_DECLARATION,
    }


def ensure_storage_root(store: ReplicaStore) -> None:
    """Write whichever storage-root files are missing; the declaration goes last so its presence means
    the root is complete. Existing files are not rewritten."""
    for key, data in storage_root_files().items():
        if not store.exists(key):
            store.put_bytes(key, data)


def object_declaration() -> tuple[str, bytes]:
    """(file name, bytes) of the object's NAMASTE declaration."""
    return OBJECT_DECLARATION_NAME, OBJECT_DECLARATION


def object_root(ocfl_id: str) -> str:
    """Path of the object under the storage root, as extension 0003 (sha256, 3 tuples of 3) defines it.

    Characters other than A-Z a-z 0-9 - _ are percent-encoded (UTF-8, lower-case hex); an encoded id over
    100 characters is cut to 100 and followed by '-' and the full digest. Checked against ocfl-py in tests.
    """
    if not ocfl_id:
        raise ValueError("an OCFL object id must not be empty")
    digest = hashlib.sha256(ocfl_id.encode("utf-8")).hexdigest()
    tuples = [digest[i * LAYOUT_TUPLE_SIZE : (i + 1) * LAYOUT_TUPLE_SIZE] for i in range(LAYOUT_NUMBER_OF_TUPLES)]
    encoded = "".join(
        char if char in _ENCAPSULATION_SAFE else "".join(f"%{byte:02x}" for byte in char.encode("utf-8"))
        for char in ocfl_id
    )
    if len(encoded) > _MAX_ENCAPSULATION:
        encoded = f"{encoded[:_MAX_ENCAPSULATION]}-{digest}"
    return "/".join([*tuples, encoded])


def content_path(version_number: int, asset_uuid: uuid.UUID | str, filename: str) -> str:
    """``v<n>/content/<asset-uuid>/<filename>``: unique per asset, so versions never collide."""
    if version_number < 1:
        raise ValueError(f"version numbers start at 1, not {version_number}")
    asset = str(uuid.UUID(str(asset_uuid)))
    if not filename or "/" in filename or "\\" in filename or filename in (".", ".."):
        raise ValueError(f"content file name {filename!r}: must be one sanitized path segment")
    if any(ord(char) < 32 or ord(char) == 127 for char in filename):
        raise ValueError(f"content file name {filename!r}: control characters are not allowed")
    return f"v{version_number}/{CONTENT_DIRECTORY}/{asset}/{filename}"


def metadata_content_path(version_number: int, filename: str) -> str:
    """``v<n>/content/metadata/<filename>``: the catalogue records written with version n."""
    if version_number < 1:
        raise ValueError(f"version numbers start at 1, not {version_number}")
    if not filename or "/" in filename or filename in (".", ".."):
        raise ValueError(f"metadata file name {filename!r}: must be one path segment")
    return f"v{version_number}/{CONTENT_DIRECTORY}/metadata/{filename}"


@dataclass(frozen=True)
class VersionFile:
    """One file added in a version: where it is shown (logical) and where it is stored (content)."""

    logical_path: str
    content_path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Version:
    """One OCFL version; ``files`` are the files ADDED (or replaced) in it and ``removed`` the logical
    paths it drops from the state (a deliberate deletion); everything else carries over."""

    number: int
    created: datetime
    message: str
    user_name: str
    user_address: str
    files: list[VersionFile] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.created.tzinfo is None or self.created.utcoffset() is None:
            raise ValueError(f"version {self.number}: 'created' must be timezone-aware, got {self.created!r}")


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_versions(versions: list[Version], head: int) -> None:
    if not 1 <= head <= len(versions):
        raise ValueError(f"head v{head} is outside the {len(versions)} versions given")
    for index, version in enumerate(versions[:head], start=1):
        if version.number != index:
            raise ValueError(f"versions must be numbered 1, 2, 3...; position {index} holds v{version.number}")
        for item in version.files:
            if not item.content_path.startswith(f"v{index}/{CONTENT_DIRECTORY}/"):
                raise ValueError(
                    f"v{index}: content path {item.content_path!r} is not under v{index}/{CONTENT_DIRECTORY}/"
                )
            if len(item.sha256) != 64 or any(c not in string.hexdigits for c in item.sha256):
                raise ValueError(f"v{index}: {item.logical_path!r} has no valid sha256 ({item.sha256!r})")


def build_inventory(ocfl_id: str, versions: list[Version], head: int) -> dict[str, Any]:
    """The inventory of the object as of version ``head`` (versions 1..head).

    A logical path added again in a later version replaces the earlier file in that version's state.
    Raises ValueError for misnumbered versions, misplaced content paths or conflicting logical paths.
    """
    _check_versions(versions, head)
    manifest: dict[str, list[str]] = {}
    content_seen: set[str] = set()
    state_by_path: dict[str, str] = {}
    inventory_versions: dict[str, Any] = {}
    for version in versions[:head]:
        for logical in version.removed:
            if logical not in state_by_path:
                raise ValueError(f"v{version.number}: cannot remove {logical!r}, it is not in the state")
            del state_by_path[logical]
        for item in version.files:
            digest = item.sha256.lower()
            if item.content_path in content_seen:
                raise ValueError(f"content path {item.content_path!r} is used twice")
            content_seen.add(item.content_path)
            manifest.setdefault(digest, []).append(item.content_path)
            state_by_path[item.logical_path] = digest
        _check_logical_paths(version.number, state_by_path)
        state: dict[str, list[str]] = {}
        for logical, digest in state_by_path.items():
            state.setdefault(digest, []).append(logical)
        block: dict[str, Any] = {
            "created": _iso_utc(version.created),
            "state": {digest: sorted(paths) for digest, paths in state.items()},
        }
        if version.message:
            block["message"] = version.message
        if version.user_name:
            block["user"] = {"name": version.user_name}
            if version.user_address:
                block["user"]["address"] = version.user_address
        inventory_versions[f"v{version.number}"] = block
    return {
        "id": ocfl_id,
        "type": INVENTORY_TYPE,
        "digestAlgorithm": DIGEST_ALGORITHM,
        "head": f"v{head}",
        "contentDirectory": CONTENT_DIRECTORY,
        "manifest": {digest: sorted(paths) for digest, paths in manifest.items()},
        "versions": inventory_versions,
    }


def _check_logical_paths(number: int, state_by_path: dict[str, str]) -> None:
    for logical in state_by_path:
        parts = logical.split("/")
        if not logical or any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"v{number}: logical path {logical!r} is not a clean relative path")
        for depth in range(1, len(parts)):
            if "/".join(parts[:depth]) in state_by_path:
                raise ValueError(f"v{number}: logical path {logical!r} lies under the file {parts[:depth]!r}")


def inventory_bytes(inventory: dict[str, Any]) -> bytes:
    """Deterministic JSON (sorted keys, indented, UTF-8): the same versions always give the same bytes."""
    return _json_bytes(inventory)


def sidecar_bytes(inventory: bytes) -> bytes:
    """The ``inventory.json.sha256`` sidecar for these exact inventory bytes."""
    return f"{hashlib.sha256(inventory).hexdigest()}  {INVENTORY}\n".encode("ascii")


def read_inventory(store: ReplicaStore, ocfl_id: str) -> dict[str, Any] | None:
    """The object's root inventory, checked against its sidecar; None when the object is not there.

    Raises StoreIntegrityError when the sidecar is missing or disagrees, or the inventory names another id.
    """
    root = object_root(ocfl_id)
    try:
        data = store.read_bytes(f"{root}/{INVENTORY}")
    except KeyNotFound:
        return None
    try:
        sidecar = store.read_bytes(f"{root}/{SIDECAR}").decode("ascii", "replace").split()
    except KeyNotFound as error:
        raise StoreIntegrityError(f"store {store.name}: {root}/{SIDECAR} is missing") from error
    actual = hashlib.sha256(data).hexdigest()
    if not sidecar or sidecar[0].lower() != actual:
        raise StoreIntegrityError(
            f"store {store.name}: {root}/{INVENTORY} hashes to {actual} but its sidecar says "
            f"{sidecar[0] if sidecar else 'nothing'}"
        )
    try:
        inventory = json.loads(data)
    except ValueError as error:
        raise StoreIntegrityError(f"store {store.name}: {root}/{INVENTORY} is not JSON: {error}") from error
    if inventory.get("id") != ocfl_id:
        raise StoreIntegrityError(
            f"store {store.name}: {root}/{INVENTORY} belongs to {inventory.get('id')!r}, not {ocfl_id!r}"
        )
    return inventory


def finish_interrupted_commit(store: ReplicaStore, ocfl_id: str) -> bool:
    """Complete a commit cut between the root inventory and its sidecar (a worker killed there).

    The root sidecar is then missing or still names the previous inventory, and every read of the object
    fails. When the root inventory is byte-identical to ``v<head>/inventory.json`` and that file matches its
    own sidecar, the root inventory is known good: rewrite its sidecar. Anything else (a damaged inventory)
    is left for the audit to report. Call it only under the object's write lease. Returns True if repaired.
    """
    root = object_root(ocfl_id)
    try:
        data = store.read_bytes(f"{root}/{INVENTORY}")
    except KeyNotFound:
        return False
    expected = sidecar_bytes(data)
    try:
        if store.read_bytes(f"{root}/{SIDECAR}") == expected:
            return False
    except KeyNotFound:
        pass
    try:
        head = json.loads(data)["head"]
        version = store.read_bytes(f"{root}/{head}/{INVENTORY}")
        version_sidecar = store.read_bytes(f"{root}/{head}/{SIDECAR}")
    except (ValueError, KeyError, TypeError, KeyNotFound):
        return False
    if version != data or version_sidecar != expected:
        return False
    store.put_bytes(f"{root}/{SIDECAR}", expected)
    return True


def _head_number(inventory: dict[str, Any]) -> int:
    return int(str(inventory["head"]).lstrip("v"))


def write_version(
    store: ReplicaStore,
    ocfl_id: str,
    versions: list[Version],
    n: int,
    open_source: Callable[[VersionFile], BinaryIO],
) -> list[VersionFile]:
    """Write version ``n`` of the object to ``store``; return version n's content files, all now on the
    store with the right digest (uploaded and verified now, or found there by the checks below).

    Order: storage root (if missing), object declaration, every content file of version n (each
    verified by ``store.put``), ``v<n>/inventory.json`` + sidecar, then the root inventory + sidecar.
    So the root inventory only ever names verified files.

    Safe to re-run (a retried task): a content file already on the store is skipped when its size is
    right and, unless version n is already committed in the root inventory, its SHA-256 too (a crash may
    have left it unverified); a wrong one is rewritten. A committed version's files are trusted on size:
    bit rot there is the fixity audit's job. Re-running an older version leaves a newer head untouched.

    Raises OcflConflict when the store holds a different history for this id, ValueError when version
    n-1 is not on the store yet, and the store's own errors.
    """
    inventory = build_inventory(ocfl_id, versions, n)
    root = object_root(ocfl_id)
    ensure_storage_root(store)
    existing = read_inventory(store, ocfl_id)
    existing_head = _head_number(existing) if existing else 0
    if existing_head < n - 1:
        raise ValueError(f"store {store.name}: {ocfl_id} is at v{existing_head}; write v{n - 1} before v{n}")
    if existing:
        _check_same_history(store, existing, inventory, min(existing_head, n))
    committed = existing_head >= n

    declaration_name, declaration = object_declaration()
    if n == 1 or not store.exists(f"{root}/{declaration_name}"):
        _put_if_different(store, f"{root}/{declaration_name}", declaration)

    present: list[VersionFile] = []
    for item in versions[n - 1].files:
        key = f"{root}/{item.content_path}"
        if not _already_there(store, key, item, trust_size=committed):
            with open_source(item) as source:
                count = store.put(key, source, item.sha256)
            if count != item.size:
                raise ValueError(
                    f"{item.logical_path}: wrote {count} bytes with the right digest but expected {item.size}"
                )
        present.append(item)

    data = inventory_bytes(inventory)
    sidecar = sidecar_bytes(data)
    _put_if_different(store, f"{root}/v{n}/{INVENTORY}", data)
    _put_if_different(store, f"{root}/v{n}/{SIDECAR}", sidecar)
    if existing_head <= n:
        _put_if_different(store, f"{root}/{INVENTORY}", data)
        _put_if_different(store, f"{root}/{SIDECAR}", sidecar)
    return present


def _manifest_up_to(inventory: dict[str, Any], last: int) -> set[tuple[str, str]]:
    versions = {f"v{number}/" for number in range(1, last + 1)}
    return {
        (digest, path)
        for digest, paths in inventory.get("manifest", {}).items()
        for path in paths
        if path.split("/", 1)[0] + "/" in versions
    }


def _check_same_history(store: ReplicaStore, existing: dict[str, Any], ours: dict[str, Any], last: int) -> None:
    """Versions 1..last on the store must be exactly ours (same states, metadata and content paths)."""
    for number in range(1, last + 1):
        name = f"v{number}"
        if existing.get("versions", {}).get(name) != ours["versions"][name]:
            raise OcflConflict(
                f"store {store.name}: {ours['id']} {name} on the store differs from the catalogue's {name}; "
                "refusing to overwrite it"
            )
    if _manifest_up_to(existing, last) != _manifest_up_to(ours, last):
        raise OcflConflict(
            f"store {store.name}: {ours['id']} content files of v1..v{last} on the store differ from the "
            "catalogue's; refusing to overwrite them"
        )


def _already_there(store: ReplicaStore, key: str, item: VersionFile, *, trust_size: bool) -> bool:
    try:
        if store.size(key) != item.size:
            return False
    except KeyNotFound:
        return False
    return trust_size or store.sha256(key) == item.sha256.lower()


def _put_if_different(store: ReplicaStore, key: str, data: bytes) -> None:
    """Small metadata files: rewrite only when missing or different, so a re-run changes nothing."""
    try:
        if store.size(key) == len(data) and store.read_bytes(key) == data:
            return
    except KeyNotFound:
        pass
    store.put_bytes(key, data)
