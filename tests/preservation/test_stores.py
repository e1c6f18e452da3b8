"""Both store backends behave the same: verified writes, typed errors, streaming, safe keys."""

from __future__ import annotations

import hashlib
import io
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from preservation.stores import registry
from preservation.stores.base import KeyNotFound, ReplicaStore, StoreIntegrityError, StoreUnavailable
from preservation.stores.local import LocalStore
from preservation.stores.s3 import S3Store
from tests.fixtures.s3 import S3Server

MIB = 1024 * 1024


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Backend:
    """A store under test plus the means to reach behind it (its files on disk, its availability)."""

    kind: str
    store: ReplicaStore
    path_of: Callable[[str], Path]
    make_unavailable: Callable[[], None]
    server: S3Server | None = None


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        root = tmp_path / "local-store"
        root.mkdir()
        return Backend(
            kind="local",
            store=LocalStore("local-test", root),
            path_of=lambda key: root / key,
            make_unavailable=lambda: root.rename(tmp_path / "unmounted"),
        )
    server = request.getfixturevalue("s3_server_factory")("s3")
    return Backend(
        kind="s3",
        store=server.store("s3-test"),
        path_of=server.path_of,
        make_unavailable=server.stop,
        server=server,
    )


def test_put_then_read_back_exists_size_list_and_delete(backend: Backend) -> None:
    store = backend.store
    photo, notes = b"\xff\xd8 not really a jpeg " * 1000, "notes é\n".encode()

    assert store.put("obj/v1/content/photo.jpg", io.BytesIO(photo), sha(photo)) == len(photo)
    assert store.put_bytes("obj/notes.txt", notes) == len(notes)

    assert store.exists("obj/v1/content/photo.jpg")
    assert not store.exists("obj/v1/content/missing.jpg")
    assert store.size("obj/v1/content/photo.jpg") == len(photo)
    assert store.read_bytes("obj/notes.txt") == notes
    assert store.sha256("obj/v1/content/photo.jpg") == sha(photo)
    with store.open("obj/v1/content/photo.jpg") as handle:
        assert handle.read(4) == photo[:4]
        assert handle.read() == photo[4:]
    assert handle.closed
    assert backend.path_of("obj/notes.txt").read_bytes() == notes
    assert sorted(store.list()) == ["obj/notes.txt", "obj/v1/content/photo.jpg"]
    assert list(store.list("obj/v1/")) == ["obj/v1/content/photo.jpg"]
    assert list(store.list("obj/no")) == ["obj/notes.txt"]
    assert list(store.list("elsewhere/")) == []

    store.delete("obj/v1/content/photo.jpg", reason="test clean-up")
    store.delete("obj/v1/content/photo.jpg", reason="already gone: no error")
    assert not store.exists("obj/v1/content/photo.jpg")
    assert list(store.list()) == ["obj/notes.txt"]
    assert not backend.path_of("obj/v1").exists(), "empty folders are removed (OCFL forbids them)"
    with pytest.raises(KeyNotFound):
        store.open("obj/v1/content/photo.jpg")
    with pytest.raises(KeyNotFound):
        store.size("obj/v1/content/photo.jpg")
    store.ping()


def test_put_overwrites_with_new_verified_bytes(backend: Backend) -> None:
    backend.store.put_bytes("a/b", b"first")
    backend.store.put_bytes("a/b", b"second version")
    assert backend.store.read_bytes("a/b") == b"second version"


def test_an_empty_file_is_an_object_too(backend: Backend) -> None:
    assert backend.store.put_bytes("obj/empty", b"") == 0
    assert backend.store.size("obj/empty") == 0
    assert backend.store.read_bytes("obj/empty") == b""


def test_a_missing_bucket_is_unavailable_not_empty(s3_server_factory: Callable[..., S3Server]) -> None:
    store = s3_server_factory("s3").store(bucket="misspelt")
    with pytest.raises(StoreUnavailable, match="does not exist"):
        store.exists("obj/file")


def test_a_wrong_digest_raises_and_leaves_nothing(backend: Backend) -> None:
    data = b"the bytes we really have"
    with pytest.raises(StoreIntegrityError, match="expected"):
        backend.store.put("obj/file.bin", io.BytesIO(data), sha(b"what the catalogue expected"))
    assert not backend.store.exists("obj/file.bin")
    assert list(backend.store.list()) == []
    if backend.kind == "local":
        assert sorted(p.name for p in backend.path_of("").iterdir()) == [], "no temporary file left behind"


def test_bytes_changed_by_the_store_are_detected_and_removed(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulate a store that returns other bytes than it was given: the read-back check catches it."""
    if backend.kind == "local":
        monkeypatch.setattr("preservation.stores.local.sha256_file", lambda path: ("0" * 64, 0))
    else:
        monkeypatch.setattr(S3Store, "_hash_object", lambda self, key: ("0" * 64, 3))
    with pytest.raises(StoreIntegrityError, match="read back"):
        backend.store.put_bytes("obj/file.bin", b"abc")
    monkeypatch.undo()
    assert not backend.store.exists("obj/file.bin")


@pytest.mark.parametrize("size", [9, 20 * MIB], ids=["single-put", "multipart"])
def test_a_wrong_source_never_replaces_a_good_copy(backend: Backend, size: int) -> None:
    good = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    backend.store.put("obj/file.bin", io.BytesIO(good), sha(good))
    corrupted = bytearray(good)
    corrupted[-1] ^= 0xFF
    with pytest.raises(StoreIntegrityError, match="expected"):
        backend.store.put("obj/file.bin", io.BytesIO(bytes(corrupted)), sha(good))
    assert backend.store.sha256("obj/file.bin") == sha(good)


HOSTILE_KEYS = [
    "",
    "/etc/passwd",
    "../outside",
    "a/../../outside",
    "a/./b",
    ".",
    "a//b",
    "a/",
    "a\\..\\b",
    "a\x00b",
    "a\nb",
    "a\x7fb",
    "x" * 300,
]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_keys_are_rejected_before_touching_the_store(key: str, tmp_path: Path) -> None:
    store = LocalStore("local-test", tmp_path / "root")
    (tmp_path / "root").mkdir()
    for call in (
        lambda: store.put_bytes(key, b"x"),
        lambda: store.open(key),
        lambda: store.exists(key),
        lambda: store.size(key),
        lambda: store.delete(key, reason="test"),
    ):
        with pytest.raises(ValueError):
            call()
    assert list(tmp_path.rglob("*")) == [tmp_path / "root"]


def test_the_local_temporary_area_is_reserved_and_never_listed(tmp_path: Path) -> None:
    store = LocalStore("local-test", tmp_path)
    with pytest.raises(ValueError, match="reserved"):
        store.put_bytes(".tmp/x", b"x")
    (tmp_path / ".tmp").mkdir()
    (tmp_path / ".tmp" / "put-crashed").write_bytes(b"left over by a crash")
    store.put_bytes("kept", b"x")
    assert list(store.list()) == ["kept"]


def test_s3_rejects_hostile_keys_too(s3_server_factory: Callable[..., S3Server]) -> None:
    store = s3_server_factory("s3").store()
    for key in ("../x", "/abs", "a//b", "a\x00b"):
        with pytest.raises(ValueError):
            store.put_bytes(key, b"x")


@pytest.mark.timeout(30)  # a hang here means timeouts/retries are not bounded
def test_an_unreachable_store_raises_store_unavailable_quickly(backend: Backend) -> None:
    backend.store.put_bytes("obj/file.bin", b"abc")
    backend.make_unavailable()
    for call in (
        lambda: backend.store.put_bytes("obj/other.bin", b"def"),
        lambda: backend.store.open("obj/file.bin"),
        lambda: backend.store.exists("obj/file.bin"),
        lambda: backend.store.size("obj/file.bin"),
        lambda: list(backend.store.list()),
        backend.store.ping,
    ):
        with pytest.raises(StoreUnavailable):
            call()


def test_a_restarted_s3_server_serves_the_same_objects(s3_server_factory: Callable[..., S3Server]) -> None:
    server = s3_server_factory("s3")
    store = server.store()
    store.put_bytes("obj/file.bin", b"abc")
    server.stop()
    server.start()
    assert store.read_bytes("obj/file.bin") == b"abc"


class BoundedSource(io.RawIOBase):
    """50 MB of generated bytes whose ``read`` refuses to hand out the whole file at once."""

    LIMIT = 16 * MIB

    def __init__(self, size: int) -> None:
        super().__init__()
        self.remaining = size
        self.block = hashlib.sha256(b"seed").digest() * (MIB // 32)
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> bytes:
        assert n is not None and 0 <= n <= self.LIMIT, f"read({n}) would load too much of the file at once"
        self.largest_read = max(self.largest_read, n)
        n = min(n, self.remaining)
        out = (self.block * (n // MIB + 2))[:n]
        self.remaining -= n
        return out

    @classmethod
    def digest(cls, size: int) -> str:
        source, digest = cls(size), hashlib.sha256()
        while chunk := source.read(MIB):
            digest.update(chunk)
        return digest.hexdigest()


def test_a_50_mb_put_streams_in_bounded_reads(backend: Backend) -> None:
    size = 50 * 1000 * 1000 + 7
    source = BoundedSource(size)
    assert backend.store.put("big/scan.ply", source, BoundedSource.digest(size)) == size
    assert 0 < source.largest_read <= BoundedSource.LIMIT
    assert backend.store.size("big/scan.ply") == size
    assert backend.path_of("big/scan.ply").stat().st_size == size


def test_listing_goes_past_one_page(backend: Backend) -> None:
    """Files placed behind the store's back (as a rebuild would find them) are all listed, page by page."""
    folder = backend.path_of("many")
    folder.mkdir(parents=True)
    for number in range(1005):
        (folder / f"{number:04d}.txt").write_bytes(b"x")
    keys = list(backend.store.list("many/"))
    assert len(keys) == 1005
    assert keys[0] == "many/0000.txt" and "many/1004.txt" in keys


def test_presigned_url_serves_the_object(s3_server_factory: Callable[..., S3Server]) -> None:
    store = s3_server_factory("s3").store()
    store.put_bytes("obj/thumb.png", b"png bytes")
    with urllib.request.urlopen(store.presigned_url("obj/thumb.png", expires=60), timeout=5) as response:
        assert response.read() == b"png bytes"


def test_s3_prefix_keeps_objects_under_it(s3_server_factory: Callable[..., S3Server]) -> None:
    server = s3_server_factory("s3")
    store = server.store(prefix="replicas/a")
    store.put_bytes("obj/file", b"abc")
    assert server.path_of("obj/file", prefix="replicas/a").read_bytes() == b"abc"
    assert list(store.list()) == ["obj/file"]


def test_s3_store_can_create_its_bucket(s3_server_factory: Callable[..., S3Server]) -> None:
    server = s3_server_factory("s3")
    store = server.store(bucket="fresh-bucket", create_bucket=True)
    store.ping()
    store.put_bytes("obj/file", b"abc")
    assert (server.root / "fresh-bucket" / "obj" / "file").read_bytes() == b"abc"


# --- registry -------------------------------------------------------------------------------------
def _local(name: str, root: Path, levels: list[str]) -> dict:
    return {
        "name": name,
        "backend": "preservation.stores.local.LocalStore",
        "options": {"root": str(root)},
        "jurisdiction": "fr",
        "access_levels": levels,
    }


def test_registry_builds_stores_lazily_from_settings(
    tmp_path: Path, s3_server_factory: Callable[..., S3Server]
) -> None:
    server = s3_server_factory("s3")
    stores = [
        _local("local-a", tmp_path / "a", ["public", "community", "restricted"]),
        server.store_config("partner-s3", jurisdiction="sn", access_levels=["public"]),
    ]
    with override_settings(ARCHIVE_STORES=stores):
        first = registry.get_store("local-a")
        assert isinstance(first, LocalStore) and first.name == "local-a"
        assert registry.get_store("local-a") is first
        assert [store.name for store in registry.all_stores()] == ["local-a", "partner-s3"]
        assert isinstance(registry.get_store("partner-s3"), S3Store)
        assert registry.store_config("partner-s3")["jurisdiction"] == "sn"
        assert [s.name for s in registry.stores_for_access_level("public")] == ["local-a", "partner-s3"]
        assert [s.name for s in registry.stores_for_access_level("restricted")] == ["local-a"]
        with pytest.raises(ValueError):
            registry.stores_for_access_level("secret")
        with pytest.raises(registry.UnknownStore, match="local-a, partner-s3"):
            registry.get_store("nope")
        registry.get_store("partner-s3").put_bytes("x", b"y")

    with override_settings(ARCHIVE_STORES=[_local("local-a", tmp_path / "moved", ["public"])]):
        rebuilt = registry.get_store("local-a")
        assert rebuilt is not first and rebuilt.root == tmp_path / "moved"
    registry.reset()


def test_registry_refuses_a_broken_configuration(tmp_path: Path) -> None:
    twice = [_local("same", tmp_path, ["public"]), _local("same", tmp_path, ["public"])]
    with override_settings(ARCHIVE_STORES=twice), pytest.raises(ImproperlyConfigured, match="twice"):
        registry.all_stores()
    bad_backend = [{**_local("x", tmp_path, ["public"]), "backend": "preservation.stores.nowhere.Store"}]
    with override_settings(ARCHIVE_STORES=bad_backend), pytest.raises(ImproperlyConfigured, match="imported"):
        registry.get_store("x")
    misspelt = [
        {
            "name": "s3",
            "backend": "preservation.stores.s3.S3Store",
            "options": {
                "endpoint_url": "http://127.0.0.1:9",
                "bucket": "b",
                "access_key": "k",
                "secret": "s",
            },
        }
    ]
    with override_settings(ARCHIVE_STORES=misspelt), pytest.raises(ImproperlyConfigured, match="options"):
        registry.get_store("s3")
    registry.reset()


def test_a_regular_file_to_a_new_s3_key_goes_in_one_put_and_is_still_verified(s3_server_factory, tmp_path) -> None:
    import hashlib

    from preservation.stores.base import StoreIntegrityError

    store = s3_server_factory("s3-single").store("s3-single")
    path = tmp_path / "master.tif"
    path.write_bytes(b"pixels" * 100_000)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with open(path, "rb") as handle:
        assert store.put("v1/content/a/master.tif", handle, digest) == 600_000
    assert store.sha256("v1/content/a/master.tif") == digest
    with open(path, "rb") as handle, pytest.raises(StoreIntegrityError):
        store.put("v1/content/b/master.tif", handle, "0" * 64)
    assert not store.exists("v1/content/b/master.tif")  # the unverified copy was removed
    other = tmp_path / "other.tif"
    other.write_bytes(b"different")
    with open(other, "rb") as handle, pytest.raises(StoreIntegrityError):
        store.put("v1/content/a/master.tif", handle, digest)  # an existing key takes the guarded path
    assert store.sha256("v1/content/a/master.tif") == digest  # the good object survived
