"""OCFL objects written through our stores are valid for ocfl-py, read from the store itself (disk or S3)."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlencode

import pytest
from ocfl import StorageRoot
from ocfl.layout_0003_hash_and_id_n_tuple import Layout_0003_Hash_And_Id_N_Tuple

from preservation.packaging import ocfl
from preservation.stores.base import ReplicaStore, StoreIntegrityError
from preservation.stores.local import LocalStore
from tests.fixtures.s3 import S3Server

OCFL_ID = "urn:heritage-archive:7K3M9Q2XAB"


@dataclass
class ObjectHistory:
    """Two versions of one heritage object plus the bytes behind each content path."""

    versions: list[ocfl.Version]
    data: dict[str, bytes] = field(default_factory=dict)
    opened: list[str] = field(default_factory=list)

    def open_source(self, item: ocfl.VersionFile) -> BinaryIO:
        self.opened.append(item.content_path)
        return io.BytesIO(self.data[item.content_path])


def _file(history: ObjectHistory, version: int, logical: str, data: bytes) -> ocfl.VersionFile:
    path = ocfl.content_path(version, uuid.uuid4(), logical.rsplit("/", 1)[-1])
    history.data[path] = data
    return ocfl.VersionFile(logical, path, hashlib.sha256(data).hexdigest(), len(data))


@pytest.fixture
def history() -> ObjectHistory:
    history = ObjectHistory(versions=[])
    created = datetime(2026, 11, 28, 0, 13, 5, 123456, tzinfo=UTC)
    v1_files = [
        _file(history, 1, "original/stele.jpg", b"\xff\xd8\xff\xe0 a photograph of a stele" * 50),
        _file(history, 1, "original/stele-notes.txt", "Stèle, face nord\n".encode()),
    ]
    v2_files = [_file(history, 2, "master/stele.tif", b"II*\x00 lossless master" * 80)]
    history.versions = [
        ocfl.Version(1, created, "Ingest", "Amina Curator", "mailto:amina@example.org", v1_files),
        ocfl.Version(2, created + timedelta(days=1), "Add preservation master", "pipeline", "", v2_files),
    ]
    return history


@dataclass
class OcflBackend:
    store: ReplicaStore
    ocfl_root: str  # what ocfl-py is pointed at: a folder, or an s3:// URL with the endpoint and keys
    path_of: Callable[[str], Path]


@pytest.fixture(params=["local", "s3"])
def ocfl_backend(request: pytest.FixtureRequest, tmp_path: Path) -> OcflBackend:
    if request.param == "local":
        root = tmp_path / "local-store"
        root.mkdir()
        return OcflBackend(LocalStore("local-test", root), str(root), lambda key: root / key)
    server: S3Server = request.getfixturevalue("s3_server_factory")("s3")
    return OcflBackend(server.store("s3-test"), s3_root_url(server), server.path_of)


def s3_root_url(server: S3Server) -> str:
    """ocfl-py passes the query of an s3:// root to s3fs.S3FileSystem(**params): endpoint and keys."""
    query = urlencode({"endpoint_url": server.url, "key": server.access_key, "secret": server.secret_key})
    return f"s3://{server.bucket}?{query}"


def validate(root: str) -> tuple[bool, str]:
    """ocfl-py's own storage-root validation, every object and every digest checked."""
    storage_root = StorageRoot(root=root)
    valid = storage_root.validate(validate_objects=True, check_digests=True, log_warnings=True)
    messages = "\n".join(message for _, message in storage_root.errors) + str(storage_root.log)
    all_good = valid and storage_root.num_objects == storage_root.good_objects == 1
    return all_good, messages


def test_two_versions_make_a_valid_ocfl_root_for_ocfl_py(ocfl_backend: OcflBackend, history: ObjectHistory) -> None:
    store = ocfl_backend.store
    written_v1 = ocfl.write_version(store, OCFL_ID, history.versions, 1, history.open_source)
    written_v2 = ocfl.write_version(store, OCFL_ID, history.versions, 2, history.open_source)
    assert written_v1 == history.versions[0].files and written_v2 == history.versions[1].files

    valid, messages = validate(ocfl_backend.ocfl_root)
    assert valid, messages
    assert "[E" not in messages, messages  # only W004 (sha512 recommended) is expected

    inventory = ocfl.read_inventory(store, OCFL_ID)
    assert inventory is not None and inventory["head"] == "v2"
    assert inventory["versions"]["v1"]["created"] == "2026-11-28T00:13:05Z"
    v2_state = {path for paths in inventory["versions"]["v2"]["state"].values() for path in paths}
    assert v2_state == {"original/stele.jpg", "original/stele-notes.txt", "master/stele.tif"}
    root = ocfl.object_root(OCFL_ID)
    assert store.read_bytes(f"{root}/v2/inventory.json") == store.read_bytes(f"{root}/inventory.json")
    assert store.read_bytes("0=ocfl_1.1") == b"ocfl_1.1\n"


def test_ocfl_py_reads_the_store_itself_and_sees_a_flipped_byte(
    ocfl_backend: OcflBackend, history: ObjectHistory
) -> None:
    """Proves the S3 validation reads over S3 (rclone serves the changed file) and checks digests."""
    ocfl.write_version(ocfl_backend.store, OCFL_ID, history.versions, 1, history.open_source)
    item = history.versions[0].files[0]
    damaged = ocfl_backend.path_of(f"{ocfl.object_root(OCFL_ID)}/{item.content_path}")
    data = bytearray(damaged.read_bytes())
    data[10] ^= 0x01
    damaged.write_bytes(bytes(data))

    valid, messages = validate(ocfl_backend.ocfl_root)
    assert not valid
    assert "E092" in messages, messages  # content digest differs from the manifest


def test_ocfl_py_command_line_validates_the_s3_root(
    s3_server_factory: Callable[..., S3Server], history: ObjectHistory
) -> None:
    server = s3_server_factory("s3")
    ocfl.write_version(server.store(), OCFL_ID, history.versions, 1, history.open_source)
    ocfl_root_cli = Path(sys.executable).parent / "ocfl-root.py"
    result = subprocess.run(
        [sys.executable, str(ocfl_root_cli), "validate", "--root", s3_root_url(server), "--validate-objects",
         "--check-digests"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Objects checked: 1 / 1 are VALID" in result.stdout and " is VALID" in result.stdout


@pytest.mark.parametrize(
    "ocfl_id",
    [
        OCFL_ID,
        "object-01",
        "..hor/rib:le-$id",
        "ark:/12345/bcd987",
        "urn:heritage-archive:Stèle_é",
        "urn:heritage-archive:" + "x" * 120,
    ],
)
def test_object_root_matches_ocfl_py_layout_0003(ocfl_id: str) -> None:
    assert ocfl.object_root(ocfl_id) == Layout_0003_Hash_And_Id_N_Tuple().identifier_to_path(ocfl_id)


def test_object_root_matches_the_extension_examples() -> None:
    assert ocfl.object_root("object-01") == "3c0/ff4/240/object-01"
    assert ocfl.object_root("..hor/rib:le-$id") == "487/326/d8c/%2e%2ehor%2frib%3ale-%24id"


def test_re_running_a_version_uploads_nothing_and_changes_nothing(tmp_path: Path, history: ObjectHistory) -> None:
    store = LocalStore("local-test", tmp_path)
    ocfl.write_version(store, OCFL_ID, history.versions, 1, history.open_source)
    before = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    history.opened.clear()

    again = ocfl.write_version(store, OCFL_ID, history.versions, 1, history.open_source)
    assert again == history.versions[0].files, "every file of the version is reported present"
    assert history.opened == [], "nothing was uploaded again"
    assert {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()} == before

    ocfl.write_version(store, OCFL_ID, history.versions, 2, history.open_source)
    history.opened.clear()
    ocfl.write_version(store, OCFL_ID, history.versions, 1, history.open_source)
    assert history.opened == []
    assert ocfl.read_inventory(store, OCFL_ID)["head"] == "v2", "an old version never rewinds the head"


def test_a_crash_mid_version_is_completed_by_the_retry(tmp_path: Path, history: ObjectHistory) -> None:
    store = LocalStore("local-test", tmp_path)
    ocfl.write_version(store, OCFL_ID, history.versions, 1, history.open_source)
    extra = _file(history, 2, "master/stele-back.tif", b"II*\x00 back face" * 10)
    history.versions[1].files.append(extra)

    def crash_on_extra(item: ocfl.VersionFile) -> BinaryIO:
        if item is extra:
            raise OSError("staging disk vanished")
        return history.open_source(item)

    with pytest.raises(OSError, match="staging disk"):
        ocfl.write_version(store, OCFL_ID, history.versions, 2, crash_on_extra)
    assert ocfl.read_inventory(store, OCFL_ID)["head"] == "v1", "no inventory names an unwritten file"

    history.opened.clear()
    assert extra in ocfl.write_version(store, OCFL_ID, history.versions, 2, history.open_source)
    assert history.opened == [extra.content_path], "only the missing file is uploaded"
    valid, messages = validate(str(tmp_path))
    assert valid, messages


def test_a_corrupt_leftover_from_a_crash_is_rewritten(tmp_path: Path, history: ObjectHistory) -> None:
    store = LocalStore("local-test", tmp_path)
    first = history.versions[0].files[0]
    leftover = tmp_path / ocfl.object_root(OCFL_ID) / first.content_path
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"x" * first.size)  # right size, wrong bytes: only the hash can tell

    ocfl.write_version(store, OCFL_ID, history.versions, 1, history.open_source)
    assert first.content_path in history.opened
    assert leftover.read_bytes() == history.data[first.content_path]


def test_a_different_history_on_the_store_is_never_overwritten(tmp_path: Path, history: ObjectHistory) -> None:
    store = LocalStore("local-test", tmp_path)
    ocfl.write_version(store, OCFL_ID, history.versions, 1, history.open_source)
    v1 = history.versions[0]
    rewritten = ocfl.Version(1, v1.created, "Another message", v1.user_name, v1.user_address, v1.files)
    with pytest.raises(ocfl.OcflConflict):
        ocfl.write_version(store, OCFL_ID, [rewritten, history.versions[1]], 1, history.open_source)
    with pytest.raises(ValueError, match="write v2 before v3"):
        later = ocfl.Version(3, v1.created, "m", "u", "", [])
        ocfl.write_version(store, OCFL_ID, [*history.versions, later], 3, history.open_source)


def test_read_inventory_checks_the_sidecar(tmp_path: Path, history: ObjectHistory) -> None:
    store = LocalStore("local-test", tmp_path)
    assert ocfl.read_inventory(store, OCFL_ID) is None
    ocfl.write_version(store, OCFL_ID, history.versions, 1, history.open_source)
    inventory_file = tmp_path / ocfl.object_root(OCFL_ID) / "inventory.json"
    inventory_file.write_bytes(inventory_file.read_bytes().replace(b"Ingest", b"Ingesf"))
    with pytest.raises(StoreIntegrityError, match="sidecar"):
        ocfl.read_inventory(store, OCFL_ID)


def test_inventory_is_deterministic_and_cumulative(history: ObjectHistory) -> None:
    first = ocfl.inventory_bytes(ocfl.build_inventory(OCFL_ID, history.versions, 2))
    second = ocfl.inventory_bytes(ocfl.build_inventory(OCFL_ID, history.versions, 2))
    assert first == second
    inventory = json.loads(first)
    assert inventory["digestAlgorithm"] == "sha256" and inventory["contentDirectory"] == "content"
    assert inventory["versions"]["v2"]["user"] == {"name": "pipeline"}
    assert len(inventory["manifest"]) == 3
    assert ocfl.sidecar_bytes(first) == f"{hashlib.sha256(first).hexdigest()}  inventory.json\n".encode()
    paris = timezone(timedelta(hours=1))
    moved = ocfl.Version(1, datetime(2026, 11, 28, 1, 13, 5, tzinfo=paris), "m", "u", "", [])
    assert ocfl.build_inventory(OCFL_ID, [moved], 1)["versions"]["v1"]["created"] == "2026-11-28T00:13:05Z"


def test_naive_datetimes_and_misplaced_content_are_refused(history: ObjectHistory) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ocfl.Version(1, datetime(2026, 11, 28), "m", "u", "", [])  # noqa: DTZ001 - the point of the test
    misplaced = ocfl.VersionFile("a.jpg", "v2/content/x/a.jpg", "0" * 64, 1)
    with pytest.raises(ValueError, match="not under v1/content/"):
        ocfl.build_inventory(OCFL_ID, [ocfl.Version(1, datetime.now(UTC), "m", "u", "", [misplaced])], 1)
    with pytest.raises(ValueError):
        ocfl.content_path(1, uuid.uuid4(), "../escape")


@pytest.fixture(autouse=True)
def _quiet_ocfl_py() -> None:
    logging.getLogger().setLevel(logging.WARNING)  # ocfl-py logs every layout read at INFO


def test_a_commit_cut_before_the_root_sidecar_is_finished_and_replication_goes_on(personas, tmp_path):
    """A worker killed between the root inventory and its sidecar left an object no read accepts; the next
    replication (under the write lease) sees the root inventory equals v<head>'s verified one and completes it."""
    from preservation.models import StoreObject
    from preservation.packaging import ocfl as ocfl_module
    from preservation.replication import replicate_object
    from preservation.stores.registry import get_store
    from tests.factories import make_object, preserve_file
    from tests.preservation import imagegen

    obj = make_object(personas.collection)
    preserve_file(obj, imagegen.make_jpeg(tmp_path / "lintel.jpg", size=(64, 48)), tmp_path)
    store = get_store("local-b")
    root = ocfl_module.object_root(obj.ocfl_id)
    store.delete(f"{root}/inventory.json.sha256", reason="test: a worker killed before writing it")
    with pytest.raises(StoreIntegrityError):
        ocfl_module.read_inventory(store, obj.ocfl_id)
    StoreObject.objects.filter(object=obj, store__name="local-b").update(head_version=0)
    replicate_object(obj, "local-b")
    assert ocfl_module.read_inventory(store, obj.ocfl_id)["head"] == "v1"


def test_a_damaged_root_inventory_is_not_papered_over(personas, tmp_path):
    from preservation.packaging import ocfl as ocfl_module
    from preservation.stores.registry import get_store
    from tests.factories import make_object, preserve_file
    from tests.preservation import imagegen

    obj = make_object(personas.collection)
    preserve_file(obj, imagegen.make_jpeg(tmp_path / "lintel.jpg", size=(64, 48)), tmp_path)
    store = get_store("local-b")
    root = ocfl_module.object_root(obj.ocfl_id)
    data = bytearray(store.read_bytes(f"{root}/inventory.json"))
    data[10] ^= 0x01
    store.put_bytes(f"{root}/inventory.json", bytes(data))
    assert ocfl_module.finish_interrupted_commit(store, obj.ocfl_id) is False
    with pytest.raises(StoreIntegrityError):
        ocfl_module.read_inventory(store, obj.ocfl_id)
