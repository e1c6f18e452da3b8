"""A replica store on any S3-compatible endpoint (AWS, Ceph RGW, Garage, a partner's server, rclone)."""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections.abc import Iterator
from typing import Any, BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from s3transfer.exceptions import S3UploadFailedError

from preservation.hashing import CHUNK
from preservation.stores.base import KeyNotFound, ReplicaStore, StoreFull, StoreIntegrityError, StoreUnavailable
from preservation.stores.local import check_key

logger = logging.getLogger(__name__)

MIB = 1024 * 1024
# Parts are read one at a time from the source and held in memory only while in flight:
# at most MAX_IN_MEMORY_PARTS x PART_SIZE bytes, whatever the object size.
PART_SIZE = 8 * MIB
MULTIPART_THRESHOLD = 16 * MIB
MAX_IN_MEMORY_PARTS = 4
UPLOAD_CONCURRENCY = 2  # rclone serve s3 streams parts in order and buffers the ones that arrive early

_NOT_FOUND_CODES = {"404", "NoSuchKey", "NotFound"}
# How full S3-compatible servers say so: Ceph RGW and others (QuotaExceeded), MinIO (XMinioStorageFull, 507),
# gateways answering WebDAV's 507 (InsufficientStorage).
_FULL_CODES = {"QuotaExceeded", "XMinioStorageFull", "XMinioAdminBucketQuotaExceeded", "InsufficientStorage"}
_DENIED_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled", "AccountProblem"}
# Errors from these libraries that mean "the network or the server failed", not "our code is wrong".
_TRANSPORT_ERRORS = (BotoConnectionError, HTTPClientError)


class S3Store(ReplicaStore):
    """Objects live in ``bucket`` under ``prefix`` + key; every object is addressed by its key, never found
    by listing (listing is only for audits and rebuilds).

    ``max_attempts`` counts every try of one request, the first included. Connect and read timeouts are
    short on purpose: a store that is down must fail fast so ingest can carry on with the others, and a
    slow one (``read_timeout`` is the longest wait for any answer or for the next bytes of one) only delays
    its own copy. ``ping_timeout`` bounds the health check (one try), so status pages answer even then.
    Every option can be set per store in ARCHIVE_STORES (the environment variable holds the JSON).
    """

    def __init__(
        self,
        name: str,
        endpoint_url: str | None,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
        prefix: str = "",
        connect_timeout: float = 3,
        read_timeout: float = 30,
        max_attempts: int = 2,
        create_bucket: bool = False,
        ping_timeout: float = 5,
    ) -> None:
        self.name = name
        self.endpoint_url = endpoint_url or None
        self.bucket = bucket
        self.region = region
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        if self.prefix:
            check_key(self.prefix.rstrip("/"))
        self.create_bucket = create_bucket
        self._access_key = access_key
        self._secret_key = secret_key
        self._config = Config(
            signature_version="s3v4",
            region_name=region,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"total_max_attempts": max(1, int(max_attempts)), "mode": "standard"},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            s3={"addressing_style": "path"},
        )
        self._ping_config = self._config.merge(
            Config(
                connect_timeout=min(connect_timeout, ping_timeout),
                read_timeout=ping_timeout,
                retries={"total_max_attempts": 1, "mode": "standard"},
            )
        )
        self._transfer_config = TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD,
            multipart_chunksize=PART_SIZE,
            max_concurrency=UPLOAD_CONCURRENCY,
            preferred_transfer_client="classic",
        )
        # Not a boto3 TransferConfig argument, but the s3transfer setting that bounds upload memory.
        self._transfer_config.max_in_memory_upload_chunks = MAX_IN_MEMORY_PARTS
        self._client: Any = None
        self._ping_client: Any = None
        self._lock = threading.Lock()
        self._bucket_ready = False

    def __repr__(self) -> str:
        return f"S3Store({self.name!r}, endpoint_url={self.endpoint_url!r}, bucket={self.bucket!r})"

    # --- helpers -----------------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        """The boto3 client, built on first use (clients are thread-safe, sessions are not)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_client(self._config)
        return self._client

    def _make_client(self, config: Config) -> Any:
        session = boto3.session.Session()
        return session.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self._access_key,
            aws_secret_access_key=self._secret_key,
            region_name=self.region,
            config=config,
        )

    def _key(self, key: str) -> str:
        check_key(key)
        return self.prefix + key

    def _translate(self, error: Exception, action: str, key: str | None = None) -> Exception:
        """Map a boto error to our typed errors: 404 is KeyNotFound, everything else StoreUnavailable."""
        where = f"{action} {key!r}" if key is not None else action
        if isinstance(error, ClientError):
            info = error.response.get("Error", {})
            code = str(info.get("Code", ""))
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if key is not None and (code in _NOT_FOUND_CODES or (status == 404 and code != "NoSuchBucket")):
                return KeyNotFound(f"store {self.name}: no object at {key!r}")
            message = info.get("Message") or code
            text = (
                f"store {self.name}: {self.endpoint_url} refused to {where} in bucket {self.bucket!r}: "
                f"{code} (HTTP {status}) {message}"
            ).rstrip(".")
            if code in _FULL_CODES or status == 507:
                return StoreFull(f"{text}. The store is full or over its quota: free space or raise the quota.")
            if code in _DENIED_CODES:
                return StoreUnavailable(f"{text}. Check the store's access key and the bucket's policy.")
            return StoreUnavailable(text)
        return StoreUnavailable(f"store {self.name}: cannot {where} at {self.endpoint_url}: {error}")

    def _call(self, method: str, action: str, key: str | None = None, **kwargs: Any) -> Any:
        self._ensure_bucket()
        try:
            return getattr(self.client, method)(**kwargs)
        except (ClientError, *_TRANSPORT_ERRORS) as error:
            raise self._translate(error, action, key) from error

    def _ensure_bucket(self) -> None:
        """Check the bucket once per instance (creating it if asked to).

        S3 answers a HEAD in a missing bucket with a bare 404: without this check a misconfigured bucket
        would make every replica look missing instead of the store unavailable.
        """
        if self._bucket_ready:
            return
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404:
                raise self._translate(error, "check bucket") from error
            if not self.create_bucket:
                raise StoreUnavailable(
                    f"store {self.name}: bucket {self.bucket!r} does not exist at {self.endpoint_url}"
                ) from error
            try:
                self.client.create_bucket(Bucket=self.bucket)
            except (ClientError, *_TRANSPORT_ERRORS) as create_error:
                raise self._translate(create_error, "create bucket") from create_error
        except _TRANSPORT_ERRORS as error:
            raise self._translate(error, "check bucket") from error
        self._bucket_ready = True

    # --- ReplicaStore ------------------------------------------------------------------------------
    def put(self, key: str, source: BinaryIO, sha256: str) -> int:
        """Upload ``source`` in bounded memory, read the object back and compare its SHA-256.

        The source is hashed as it is sent: a wrong source raises StoreIntegrityError before the upload
        completes, so an existing object at ``key`` is kept. Bytes read back wrong (the store's fault)
        delete the object and raise StoreIntegrityError.
        """
        full_key = self._key(key)
        expected = sha256.lower()
        self._ensure_bucket()
        size = _file_size(source)
        if size is not None and size <= SINGLE_PUT_BYTES and not self.exists(key):
            return self._put_new_file(key, full_key, source, expected, size)
        reader = _HashingReader(source, expected, f"store {self.name}: {key!r}")
        try:
            self.client.upload_fileobj(reader, self.bucket, full_key, Config=self._transfer_config)
        except (ClientError, *_TRANSPORT_ERRORS) as error:
            raise self._translate(error, "upload", key) from error
        except S3UploadFailedError as error:
            if isinstance(error.__cause__ or error.__context__, ClientError):
                raise self._translate(error.__cause__ or error.__context__, "upload", key) from error
            raise StoreUnavailable(
                f"store {self.name}: upload of {key!r} to {self.endpoint_url} failed: {error}"
            ) from error
        if reader.hexdigest() != expected:  # the reader checks at the end of the source; never reached
            self._delete_quietly(full_key, key)
            raise StoreIntegrityError(f"store {self.name}: source for {key!r} does not hash to {expected}")
        try:
            actual, count = self._hash_object(key)
        except KeyNotFound as error:
            raise StoreIntegrityError(f"store {self.name}: {key!r} vanished right after its upload") from error
        if actual != expected or count != reader.count:
            self._delete_quietly(full_key, key)
            raise StoreIntegrityError(
                f"store {self.name}: {key!r} read back as {actual} ({count} bytes), expected {expected} "
                f"({reader.count} bytes); the bad copy was removed"
            )
        return reader.count

    def _put_new_file(self, key: str, full_key: str, source: BinaryIO, expected: str, size: int) -> int:
        """A regular file going to a key that holds nothing: one streaming PUT, then the read-back check.

        No good object can be overwritten here, so the source need not be hashed on the way (the ingest
        benchmark measured this path 10-15% faster than multipart through the hashing reader); wrong bytes
        are caught by the read-back and removed.
        """
        start = source.tell()
        try:
            self.client.put_object(Bucket=self.bucket, Key=full_key, Body=source, ContentLength=size - start)
        except (ClientError, *_TRANSPORT_ERRORS) as error:
            raise self._translate(error, "upload", key) from error
        try:
            actual, count = self._hash_object(key)
        except KeyNotFound as error:
            raise StoreIntegrityError(f"store {self.name}: {key!r} vanished right after its upload") from error
        if actual != expected or count != size - start:
            self._delete_quietly(full_key, key)
            raise StoreIntegrityError(
                f"store {self.name}: {key!r} read back as {actual} ({count} bytes), expected {expected}; "
                "the bad copy was removed"
            )
        return count

    def _hash_object(self, key: str) -> tuple[str, int]:
        digest = hashlib.sha256()
        total = 0
        with self.open(key) as body:
            while chunk := body.read(CHUNK):
                digest.update(chunk)
                total += len(chunk)
        return digest.hexdigest(), total

    def _delete_quietly(self, full_key: str, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=full_key)
        except (ClientError, *_TRANSPORT_ERRORS) as error:
            logger.error("store %s: could not remove bad copy %s: %s", self.name, key, error)

    def open(self, key: str) -> BinaryIO:
        """A streaming reader (context manager, ``read(n)``); closing it releases the connection."""
        response = self._call("get_object", "read", key, Bucket=self.bucket, Key=self._key(key))
        return _S3Reader(response["Body"], self, key)  # type: ignore[return-value]

    def exists(self, key: str) -> bool:
        try:
            self._head(key)
        except KeyNotFound:
            return False
        return True

    def size(self, key: str) -> int:
        return int(self._head(key)["ContentLength"])

    def _head(self, key: str) -> dict[str, Any]:
        return self._call("head_object", "look up", key, Bucket=self.bucket, Key=self._key(key))

    def delete(self, key: str, reason: str) -> None:
        """Remove one object (no error when it is already gone, as S3 itself does)."""
        full_key = self._key(key)
        logger.warning("store %s: deleting %s (%s)", self.name, key, reason)
        self._call("delete_object", "delete", None, Bucket=self.bucket, Key=full_key)

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under ``prefix``, page by page (never to find one object: address it by key)."""
        self._ensure_bucket()
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix)
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    yield item["Key"][len(self.prefix) :]
        except (ClientError, *_TRANSPORT_ERRORS) as error:
            raise self._translate(error, "list") from error

    def ping(self) -> None:
        """HEAD the bucket once with ``ping_timeout``: a health check answers fast even for a slow store."""
        if self.create_bucket and not self._bucket_ready:
            self._ensure_bucket()
        if self._ping_client is None:
            with self._lock:
                if self._ping_client is None:
                    self._ping_client = self._make_client(self._ping_config)
        try:
            self._ping_client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                raise StoreUnavailable(
                    f"store {self.name}: bucket {self.bucket!r} does not exist at {self.endpoint_url}"
                ) from error
            raise self._translate(error, "reach bucket") from error
        except _TRANSPORT_ERRORS as error:
            raise self._translate(error, "reach bucket") from error

    def presigned_url(self, key: str, expires: int = 3600) -> str:
        """A time-limited GET URL for one object; only hand it out after the access check."""
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)}, ExpiresIn=int(expires)
        )


SINGLE_PUT_BYTES = 512 * 1024**2  # regular files up to this size go as one PUT (see S3Store._put_new_file)


def _file_size(source: BinaryIO) -> int | None:
    """The size of a regular, seekable file object, or None for any other stream."""
    try:
        import os
        import stat

        info = os.fstat(source.fileno())
        return info.st_size if stat.S_ISREG(info.st_mode) and source.seekable() else None
    except (AttributeError, OSError, ValueError):
        return None


class _HashingReader:
    """Passes a source through to boto3 while hashing it, in reads of bounded size.

    It reports itself as not seekable, so s3transfer reads it once, part by part, and never asks for
    ``read()`` of the whole source. At the end of the source it compares the digest and raises
    StoreIntegrityError if it is wrong: s3transfer has not sent the single PUT yet, or aborts the
    multipart upload, so a wrong source never replaces the object already at the key.
    """

    def __init__(self, source: BinaryIO, expected: str, describe: str) -> None:
        self._source = source
        self._expected = expected
        self._describe = describe
        self._digest = hashlib.sha256()
        self._at_end = False
        self.count = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            parts = []
            while chunk := self._read_some(CHUNK):
                parts.append(chunk)
            return b"".join(parts)
        return self._read_some(size)

    def _read_some(self, size: int) -> bytes:
        chunks = []
        wanted = size
        while wanted > 0 and not self._at_end:
            chunk = self._source.read(min(wanted, PART_SIZE))
            if not chunk:
                self._at_end = True
                break
            chunks.append(chunk)
            wanted -= len(chunk)
        data = b"".join(chunks)
        self._digest.update(data)
        self.count += len(data)
        if self._at_end and self.hexdigest() != self._expected:
            raise StoreIntegrityError(
                f"{self._describe}: the source hashes to {self.hexdigest()}, expected {self._expected}; "
                "the upload was abandoned and the object at that key (if any) left as it was"
            )
        return data

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


class _S3Reader(io.RawIOBase):
    """A GetObject body as a plain binary file; network failures mid-read become StoreUnavailable."""

    def __init__(self, body: Any, store: S3Store, key: str) -> None:
        super().__init__()
        self._body = body
        self._store = store
        self._key = key

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            if size is None or size < 0:
                return self._body.read()
            return self._body.read(size)
        except (BotoCoreError, OSError) as error:
            raise StoreUnavailable(f"store {self._store.name}: reading {self._key!r} failed: {error}") from error

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()
