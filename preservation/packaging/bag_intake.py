"""Opening a bag that came from outside, before anything in it is trusted (used by bags.import_bag).

In this order, each step refusing with a message that names the file and the problem:

1. a zip is checked member by member (name, type, size, count, free staging space) before a single byte
   is extracted, then extracted by hand (zipfile would silently rewrite hostile names: DESIGN §10);
2. the folder is walked without following links: symbolic links, devices, pipes and sockets are refused,
   as are payload files above ``ARCHIVE_MAX_UPLOAD_BYTES``, more than ``ARCHIVE_BAG_MAX_FILES`` payload
   files, oversized tag files and ``fetch.txt`` (files to download from elsewhere);
3. every line of every payload manifest must name a clean relative path under ``data/``;
4. ``bagit.Bag.validate()``: structure, Payload-Oxum, completeness, every checksum of every manifest;
   for a BagIt 1.0 bag, every payload file must be in every payload manifest (RFC 8493 §2.1.3).
"""

from __future__ import annotations

import lzma
import os
import re
import stat
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import bagit
from django.conf import settings

from preservation.hashing import CHUNK
from preservation.staging import free_bytes, staging_root

TAG_FILE_MAX_BYTES = 64 * 1024**2  # bag-info, manifests, object.json
DEFAULT_MAX_FILES = 10_000


class BagTransferError(Exception):
    """A bag could not be made or taken in; the message says what happened and what to do about it."""


class BagRefused(BagTransferError):
    """The bag was not accepted and nothing was created."""


@dataclass(frozen=True)
class OpenedBag:
    """A bag that passed every check: its folder, its payload ({"data/...": size}) and bagit's view."""

    root: Path
    payload: dict[str, int]
    bag: bagit.Bag
    extracted: bool  # True when ``root`` is our own private copy (extracted from a zip)


def open_bag(source: Path, work: Path) -> OpenedBag:
    """Check and validate the bag at ``source`` (a folder, or a zip extracted under ``work``).
    Raises BagRefused."""
    name = source.name
    if not source.exists():
        raise BagRefused(f"{source}: no such file or folder.")
    if source.is_dir():
        root, extracted = source.resolve(), False
    elif zipfile.is_zipfile(source):
        root, extracted = _extract_zip(source, work / "bag", name), True
    else:
        raise BagRefused(f"{name}: neither a bag folder nor a zip file.")
    payload = _inspect_tree(root, name)
    _check_manifests(root, name)
    return OpenedBag(root, payload, _validated(root, name), extracted)


def check_space(needed: int, name: str) -> None:
    """Refuse when staging lacks ``needed`` bytes above its reserve."""
    free = free_bytes(staging_root()) - settings.ARCHIVE_STAGING_RESERVE_BYTES
    if needed > free:
        raise BagRefused(f"{name}: needs {needed} bytes of staging space but only {max(free, 0)} are free.")


def _limits() -> tuple[int, int]:
    return settings.ARCHIVE_MAX_UPLOAD_BYTES, getattr(settings, "ARCHIVE_BAG_MAX_FILES", DEFAULT_MAX_FILES)


def _path_problem(path: str) -> str | None:
    """Why a path from a bag (manifest entry or zip member) is unsafe, or None."""
    if not path:
        return "is empty"
    if any(unicodedata.category(char) == "Cc" for char in path):
        return "contains control characters"
    if "\\" in path:
        return "contains a backslash"
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path) or path.startswith("~"):
        return "is an absolute path"
    if any(part in ("..", ".") for part in path.split("/")):
        return "climbs out of its folder ('..')"
    return None


def _member_parts(member: zipfile.ZipInfo, name: str) -> list[str]:
    problem = _path_problem(member.filename.rstrip("/"))
    if problem or "//" in member.filename:
        raise BagRefused(
            f"{name}: member {member.filename!r} {problem or 'has an empty segment'}; nothing was extracted."
        )
    mode = member.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise BagRefused(f"{name}: {member.filename} is a symbolic link; a bag must hold regular files only.")
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):  # 0: no Unix type recorded (Windows tools)
        raise BagRefused(f"{name}: {member.filename} is not a regular file (device, pipe or socket).")
    if member.flag_bits & 0x1:
        raise BagRefused(f"{name}: {member.filename} is encrypted; send an unencrypted zip.")
    return member.filename.rstrip("/").split("/")


def _extract_zip(archive_path: Path, target: Path, name: str) -> Path:
    """Check every member (name, type, size, count, free space), then extract into ``target``; return
    the bag's folder in it (the one holding bagit.txt)."""
    max_bytes, max_files = _limits()
    try:
        archive = zipfile.ZipFile(archive_path)
    except (zipfile.BadZipFile, OSError) as error:
        raise BagRefused(f"{name}: not a readable zip file ({error}).") from error
    with archive:
        members = archive.infolist()
        if len(members) > max_files + 100:
            raise BagRefused(f"{name}: {len(members)} members, more than the {max_files} files a bag may hold here.")
        seen: set[str] = set()
        files: list[tuple[zipfile.ZipInfo, list[str]]] = []
        total = 0
        for member in members:
            parts = _member_parts(member, name)
            key = unicodedata.normalize("NFC", "/".join(parts))
            if key in seen:
                raise BagRefused(f"{name}: {member.filename} appears twice in the zip; one would overwrite the other.")
            seen.add(key)
            if member.is_dir():
                continue
            if member.file_size > max_bytes:
                raise BagRefused(
                    f"{name}: {member.filename} is {member.file_size} bytes, above the {max_bytes}-byte limit."
                )
            total += member.file_size
            files.append((member, parts))
        roots = [parts[:-1] for _member, parts in files if parts[-1] == "bagit.txt" and len(parts) <= 2]
        if len(roots) != 1:
            raise BagRefused(f"{name}: no single bagit.txt at the top of the zip (or in one folder): not a zipped bag.")
        prefix = roots[0]
        for member, parts in files:
            if parts[: len(prefix)] != prefix:
                raise BagRefused(
                    f"{name}: {member.filename} lies outside the bag folder {'/'.join(prefix) or '(top)'}."
                )
        check_space(total, name)
        target.mkdir(parents=True)
        for member, parts in files:
            _extract_member(archive, member, target.joinpath(*parts), name)
    return target.joinpath(*prefix)


def _extract_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, dest: Path, name: str) -> None:
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with archive.open(member) as src, open(dest, "xb") as out:
            while chunk := src.read(CHUNK):
                written += len(chunk)
                if written > member.file_size:
                    raise BagRefused(f"{name}: {member.filename} holds more bytes than its header declares.")
                out.write(chunk)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, zlib.error, lzma.LZMAError) as error:
        # zlib.error, lzma.LZMAError: a damaged compressed stream, which zipfile lets through
        raise BagRefused(
            f"{name}: {member.filename} could not be extracted ({error}); nothing was imported."
        ) from error


def _inspect_tree(root: Path, name: str) -> dict[str, int]:
    """Every entry of the bag folder: no symbolic links, only folders and regular files, sizes and count
    within limits. Returns {payload path "data/...": size}."""
    max_bytes, max_files = _limits()
    if not (root / "bagit.txt").is_file() or not (root / "data").is_dir():
        raise BagRefused(f"{name}: no bagit.txt and data/ folder: not a bag.")
    if (root / "fetch.txt").exists():
        raise BagRefused(f"{name}: fetch.txt lists files to download from elsewhere; send a complete bag.")
    payload: dict[str, int] = {}
    for folder, dirnames, filenames in os.walk(root):
        for entry in dirnames + filenames:
            full = Path(folder, entry)
            relative = full.relative_to(root).as_posix()
            info = full.lstat()
            if stat.S_ISLNK(info.st_mode):
                raise BagRefused(f"{name}: {relative} is a symbolic link; a bag must hold regular files only.")
            if stat.S_ISDIR(info.st_mode):
                continue
            if not stat.S_ISREG(info.st_mode):
                raise BagRefused(f"{name}: {relative} is not a regular file (device, pipe or socket).")
            if relative.startswith("data/"):
                if info.st_size > max_bytes:
                    raise BagRefused(f"{name}: {relative} is {info.st_size} bytes, above the {max_bytes}-byte limit.")
                payload[relative] = info.st_size
                if len(payload) > max_files:
                    raise BagRefused(f"{name}: more than {max_files} payload files, the most a bag may hold here.")
            elif info.st_size > TAG_FILE_MAX_BYTES:
                raise BagRefused(f"{name}: tag file {relative} is {info.st_size} bytes; that is not a tag file.")
    if not payload:
        raise BagRefused(f"{name}: the bag's data/ folder is empty; there is nothing to import.")
    return payload


def _check_manifests(root: Path, name: str) -> None:
    """Every path in every payload manifest must be a clean relative path under data/."""
    manifests = sorted(root.glob("manifest-*.txt"))
    if not manifests:
        raise BagRefused(f"{name}: no payload manifest (manifest-sha256.txt or similar).")
    for manifest in manifests:
        try:
            lines = manifest.read_text(encoding="utf-8-sig").splitlines()
        except UnicodeDecodeError as error:
            raise BagRefused(f"{name}: {manifest.name} is not UTF-8 ({error}).") from error
        for number, line in enumerate(lines, start=1):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.strip().split(None, 1)
            if len(fields) != 2:
                raise BagRefused(f"{name}: {manifest.name} line {number} is not 'checksum path'.")
            entry = fields[1].lstrip("*").replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")
            problem = _path_problem(entry)
            if problem is None and not entry.startswith("data/"):
                problem = "is outside data/, where a bag's payload lives"
            if problem:
                raise BagRefused(f"{name}: {manifest.name} line {number}: {entry!r} {problem}; nothing was imported.")


def _describe(detail: Exception) -> str:
    if isinstance(detail, bagit.ChecksumMismatch):
        return (
            f"{detail.path}: its {detail.algorithm} is {detail.found} but the manifest says {detail.expected} "
            "(the file was altered or damaged)"
        )
    if isinstance(detail, bagit.FileMissing):
        return f"{detail.path}: listed in a manifest but missing"
    if isinstance(detail, bagit.UnexpectedFile):
        return f"{detail.path}: present but listed in no manifest"
    return str(detail)


def _validated(root: Path, name: str) -> bagit.Bag:
    """bagit's complete validation: structure, Payload-Oxum, completeness, every checksum."""
    try:
        bag = bagit.Bag(str(root))
        bag.validate(processes=1)
    except bagit.BagValidationError as error:
        details = [_describe(detail) for detail in error.details] or [error.message]
        more = f" (and {len(details) - 20} more)" if len(details) > 20 else ""
        raise BagRefused(
            f"{name}: the bag failed validation, nothing was imported: {'; '.join(details[:20])}{more}."
        ) from error
    except bagit.BagError as error:
        raise BagRefused(f"{name}: not a valid bag: {error}.") from error
    if bag.version_info >= (1, 0):  # RFC 8493: every payload file in every payload manifest
        algorithms = [Path(m).name[len("manifest-") : -len(".txt")] for m in bag.manifest_files()]
        for path, hashes in sorted(bag.payload_entries().items()):
            missing = [a for a in algorithms if a not in hashes]
            if missing:
                raise BagRefused(
                    f"{name}: {path} is not listed in manifest-{missing[0]}.txt (BagIt 1.0 asks for both)."
                )
    return bag
