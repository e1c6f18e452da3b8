"""A replica store in a local folder (a disk, a NAS mount): the embedded default and the simplest copy."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from preservation.hashing import CHUNK, sha256_file
from preservation.stores.base import KeyNotFound, ReplicaStore, StoreFull, StoreIntegrityError, StoreUnavailable

logger = logging.getLogger(__name__)

#: Reserved first segment of a LocalStore: temporary files live there until renamed into place.
TMP_DIR = ".tmp"
ABANDONED_AFTER_SECONDS = 3600

MAX_KEY_BYTES = 1024  # the S3 limit; keeps keys portable between every kind of store
MAX_SEGMENT_BYTES = 255  # the usual file-name limit of POSIX filesystems


def check_key(key: str) -> list[str]:
    """Return the segments of ``key``, or raise ValueError when the key could escape or alias a store.

    Shared by every backend so that a key accepted by one store is accepted by all of them.
    """
    if not isinstance(key, str) or not key:
        raise ValueError(f"store key {key!r}: must be a non-empty string")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise ValueError(f"store key {key[:60]!r}...: longer than {MAX_KEY_BYTES} bytes")
    if "\\" in key:
        raise ValueError(f"store key {key!r}: backslashes are not allowed (keys use '/')")
    if any(ord(char) < 32 or ord(char) == 127 for char in key):
        raise ValueError(f"store key {key!r}: control characters (NUL, newline, ...) are not allowed")
    if key.startswith("/"):
        raise ValueError(f"store key {key!r}: must be relative, not absolute")
    segments = key.split("/")
    for segment in segments:
        if segment == "":
            raise ValueError(f"store key {key!r}: empty segment ('//' or a trailing '/')")
        if segment in (".", ".."):
            raise ValueError(f"store key {key!r}: '.' and '..' segments are not allowed")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise ValueError(f"store key {key!r}: a segment is longer than {MAX_SEGMENT_BYTES} bytes")
    return segments


class LocalStore(ReplicaStore):
    """Objects are files under ``root``; a key is their '/'-separated path relative to it.

    Writes go to ``root/.tmp`` (same filesystem), are fsynced and renamed into place, so a reader never
    sees a half-written file. The ``.tmp`` folder is removed again when empty because an OCFL storage
    root may hold no stray directories (ocfl-py reports an empty one as E073).
    A missing root is StoreUnavailable, never "empty": an unmounted disk must not look like lost replicas.
    ``create=True`` (the embedded default's folders under media/) makes the root on first use instead.
    """

    def __init__(self, name: str, root: str | os.PathLike[str], create: bool = False, **_: object) -> None:
        self.name = name
        self.root = Path(os.path.abspath(root))
        self.create = create

    def __repr__(self) -> str:
        return f"LocalStore({self.name!r}, root={str(self.root)!r})"

    # --- helpers -----------------------------------------------------------------------------------
    def _path(self, key: str) -> Path:
        segments = check_key(key)
        if segments[0] == TMP_DIR:
            raise ValueError(f"store key {key!r}: '{TMP_DIR}' is reserved for temporary files")
        return self.root.joinpath(*segments)

    def _require_root(self) -> None:
        if self.create and not self.root.is_dir():
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StoreUnavailable(f"store {self.name}: cannot create root folder {self.root}: {error}") from error
        if not self.root.is_dir():
            raise StoreUnavailable(f"store {self.name}: root folder {self.root} does not exist (disk not mounted?)")

    def _unavailable(self, error: OSError, action: str, key: str) -> StoreUnavailable:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            return StoreFull(
                f"store {self.name}: cannot {action} {key!r} under {self.root}: {error}. The disk is full or over "
                "its quota: free space or give the store a bigger disk."
            )
        return StoreUnavailable(f"store {self.name}: cannot {action} {key!r} under {self.root}: {error}")

    # --- ReplicaStore ------------------------------------------------------------------------------
    def put(self, key: str, source: BinaryIO, sha256: str) -> int:
        """Stream ``source`` into place and verify it; an existing good copy is kept if the source is wrong.

        The digest is computed while writing the temporary file; a mismatch there (wrong source) removes
        the temporary file before anything at ``key`` changes. After the rename the final file is read
        back and hashed again; a mismatch there (the disk) removes the file.
        """
        path = self._path(key)
        expected = sha256.lower()
        self._require_root()
        tmp_dir = self.root / TMP_DIR
        self._remove_abandoned_temp_files(tmp_dir)
        handle, tmp_name = self._temp_file(tmp_dir, key)
        digest = hashlib.sha256()
        total = 0
        try:
            out = os.fdopen(handle, "wb")
            try:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    total += len(chunk)
                    try:
                        out.write(chunk)
                    except OSError as error:
                        raise self._unavailable(error, "write", key) from error
                try:
                    out.flush()
                    os.fsync(out.fileno())
                except OSError as error:
                    raise self._unavailable(error, "write", key) from error
            finally:
                # On a full disk closing flushes the rest of the buffer and fails again: the first error
                # (already a StoreFull) is the one to report, and the temporary file goes below.
                with contextlib.suppress(OSError):
                    out.close()
            if digest.hexdigest() != expected:
                raise StoreIntegrityError(
                    f"store {self.name}: source for {key!r} hashes to {digest.hexdigest()}, expected "
                    f"{expected}; nothing was written"
                )
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp_name, path)
                _fsync_dir(path.parent)
            except OSError as error:
                raise self._unavailable(error, "write", key) from error
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            with contextlib.suppress(OSError):  # not empty: another put is in flight
                tmp_dir.rmdir()
        self._verify(key, path, expected)
        return total

    @staticmethod
    def _remove_abandoned_temp_files(tmp_dir: Path) -> None:
        """Temporary files of puts killed mid-write (a live put writes its file at least every few seconds;
        one untouched for an hour is garbage in the storage root)."""
        cutoff = time.time() - ABANDONED_AFTER_SECONDS
        for leftover in tmp_dir.glob("put-*") if tmp_dir.is_dir() else ():
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()

    def _temp_file(self, tmp_dir: Path, key: str) -> tuple[int, str]:
        # A concurrent put may remove the empty .tmp folder between our mkdir and mkstemp: try again.
        for _ in range(5):
            try:
                tmp_dir.mkdir(exist_ok=True)
                return tempfile.mkstemp(dir=tmp_dir, prefix="put-")
            except FileNotFoundError:
                continue
            except OSError as error:
                raise self._unavailable(error, "write", key) from error
        raise StoreUnavailable(f"store {self.name}: cannot create a temporary file in {tmp_dir}")

    def _verify(self, key: str, path: Path, expected: str) -> None:
        try:
            actual, _ = sha256_file(path)
        except OSError as error:
            raise self._unavailable(error, "read back", key) from error
        if actual != expected:
            self._remove(path)
            raise StoreIntegrityError(
                f"store {self.name}: {key!r} read back as {actual}, expected {expected}; the bad copy was removed"
            )

    def open(self, key: str) -> BinaryIO:
        path = self._path(key)
        try:
            return open(path, "rb")  # the caller closes it
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as error:
            self._require_root()
            raise KeyNotFound(f"store {self.name}: no object at {key!r}") from error
        except OSError as error:
            raise self._unavailable(error, "read", key) from error

    def exists(self, key: str) -> bool:
        path = self._path(key)
        self._require_root()
        return path.is_file()

    def size(self, key: str) -> int:
        path = self._path(key)
        try:
            info = path.stat()
        except (FileNotFoundError, NotADirectoryError) as error:
            self._require_root()
            raise KeyNotFound(f"store {self.name}: no object at {key!r}") from error
        except OSError as error:
            raise self._unavailable(error, "stat", key) from error
        if not path.is_file():
            raise KeyNotFound(f"store {self.name}: {key!r} is a folder, not an object")
        return info.st_size

    def delete(self, key: str, reason: str) -> None:
        """Remove one object (no error when it is already gone) and the folders it leaves empty."""
        path = self._path(key)
        self._require_root()
        logger.warning("store %s: deleting %s (%s)", self.name, key, reason)
        self._remove(path)

    def _remove(self, path: Path) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as error:
            raise StoreUnavailable(f"store {self.name}: cannot delete {path}: {error}") from error
        parent = path.parent
        while parent != self.root and self.root in parent.parents:
            try:
                parent.rmdir()
            except OSError:  # not empty (or already gone): stop climbing
                break
            parent = parent.parent

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with ``prefix`` in sorted order, skipping the temporary area."""
        self._require_root()
        if prefix and ("\\" in prefix or prefix.startswith("/") or ".." in prefix.split("/")):
            raise ValueError(f"store prefix {prefix!r}: must be a relative '/'-separated key prefix")
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        if folder.split("/")[0] == TMP_DIR:
            return
        start = self.root.joinpath(*folder.split("/")) if folder else self.root
        if not start.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(start, onerror=self._walk_error):
            relative = Path(dirpath).relative_to(self.root).as_posix()
            base = "" if relative == "." else relative + "/"
            if base == "":
                dirnames[:] = [d for d in dirnames if d != TMP_DIR]
            dirnames.sort()
            for filename in sorted(filenames):
                key = base + filename
                if key.startswith(prefix):
                    yield key

    def _walk_error(self, error: OSError) -> None:
        raise StoreUnavailable(f"store {self.name}: cannot list {error.filename}: {error}") from error

    def ping(self) -> None:
        self._require_root()
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StoreUnavailable(f"store {self.name}: root folder {self.root} is not writable")


def _fsync_dir(path: Path) -> None:
    """Make a rename durable: fsync the directory that holds the new name."""
    handle = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
