"""ocfl-py's own validator, run directly on a store: a local folder, or an S3 endpoint over S3."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from ocfl import StorageRoot


def s3_root_url(server) -> str:
    """ocfl-py passes the query of an s3:// root to s3fs.S3FileSystem(**params): endpoint and keys."""
    query = urlencode({"endpoint_url": server.url, "key": server.access_key, "secret": server.secret_key})
    return f"s3://{server.bucket}?{query}"


def validate(root: str, objects: int | None = None) -> tuple[bool, str]:
    """Validate every object and every digest. ``validate()`` alone returns True even when objects are
    invalid, so the object counts are compared too."""
    storage_root = StorageRoot(root=root)
    valid = storage_root.validate(validate_objects=True, check_digests=True, log_warnings=True)
    messages = "\n".join(message for _, message in storage_root.errors) + str(storage_root.log)
    counts_ok = storage_root.num_objects == storage_root.good_objects >= 1
    if objects is not None:
        counts_ok = counts_ok and storage_root.num_objects == objects
    return valid and counts_ok, messages


def validate_local_root(root: Path, objects: int | None = None) -> None:
    ok, messages = validate(str(root), objects)
    assert ok, messages


def validate_s3_root(server, objects: int | None = None) -> None:
    ok, messages = validate(s3_root_url(server), objects)
    assert ok, messages
