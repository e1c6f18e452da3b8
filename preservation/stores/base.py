"""The one interface every replica store implements; callers never branch on the kind of store."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import BinaryIO


class StoreError(Exception):
    """Base class of store failures."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or refused the request: transient, retry later."""


class StoreFull(StoreUnavailable):
    """The store refuses writes because it is out of space or over its quota (S3 ``QuotaExceeded``, HTTP 507,
    a disk's ENOSPC): transient for us, retried until an administrator frees space or raises the quota."""


class StoreIntegrityError(StoreError):
    """Bytes read back from the store do not hash to the expected digest (the bad copy was removed)."""


class KeyNotFound(StoreError):
    """No object at that key."""


class ReplicaStore(ABC):
    """A place that keeps bytes under keys (``/``-separated relative paths)."""

    name: str

    @abstractmethod
    def put(self, key: str, source: BinaryIO, sha256: str) -> int:
        """Write ``source`` at ``key``, read it back and verify its SHA-256; return the byte count.

        Raises StoreIntegrityError (and removes the bad copy) when the read-back digest differs,
        StoreUnavailable when the store cannot be reached. A reader never sees a half-written object.
        """

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A streaming reader of the object's bytes. Raises KeyNotFound."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def size(self, key: str) -> int:
        """Byte count. Raises KeyNotFound."""

    @abstractmethod
    def delete(self, key: str, reason: str) -> None:
        """Remove one object; only deliberate deletions call this, with the reason logged."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under ``prefix`` (for audits and rebuilds, never to find a single object)."""

    @abstractmethod
    def ping(self) -> None:
        """Raise StoreUnavailable when the store cannot be reached."""

    def sha256(self, key: str) -> str:
        """Stream the object and return its SHA-256 hex digest."""
        from preservation.hashing import sha256_stream

        with self.open(key) as handle:
            return sha256_stream(handle)[0]

    def put_bytes(self, key: str, data: bytes) -> int:
        import hashlib
        import io

        return self.put(key, io.BytesIO(data), hashlib.sha256(data).hexdigest())

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as handle:
            return handle.read()
