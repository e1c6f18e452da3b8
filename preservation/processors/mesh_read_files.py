"""The files a 3D model comes with: a zip safely extracted, companions staged, references kept inside.

An OBJ names its MTL, the MTL names textures, a glTF names buffers and images, a PLY may name a texture in a
``comment TextureFile`` line. Those names come from the file, so they are hostile until proven otherwise:
every reference is resolved by :class:`ModelFolder` against one private folder holding the model and its
companions. A reference that leaves the folder ('..' past its root, an absolute path, another drive, a URL)
or meets a symbolic link is never opened; the refusal is recorded as a note the curator reads. An absolute
path is looked up by its file name among the uploaded files only (3D tools often write absolute Windows
paths such as ``C:\\scans\\wall.jpg``; the file is usually in the upload).

``safe_extract_zip`` checks every member (name, type, size, count) before it writes a byte: zipfile
silently truncates a name at NUL and follows none of our rules (DESIGN section 10), so the original
names (``ZipInfo.orig_filename``) are checked, and the bytes actually written are counted against both
the member's declared size and the total bound (a zip bomb lies in its declared sizes).
"""

from __future__ import annotations

import lzma
import os
import re
import shutil
import stat
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from preservation.processors.mesh_header import MeshLimits, refusal

MODEL_SUFFIXES = (".obj", ".ply", ".stl", ".off", ".gltf", ".glb", ".pcd", ".xyz", ".pts")
_DRIVE = re.compile(r"^[A-Za-z]:")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
_MAX_NAME = 1024


def member_problem(name: str) -> str | None:
    """Why ``name`` is not acceptable as a relative path inside an upload (None when it is)."""
    if not name or not name.rstrip("/"):
        return "has an empty name"
    if len(name) > _MAX_NAME or any(len(part) > 255 for part in name.split("/")):
        return "is too long"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "contains a control character"
    if "\\" in name:
        return "contains a backslash (a Windows path separator that could hide '..')"
    if name.startswith("/"):
        return "is an absolute path"
    if _DRIVE.match(name):
        return "names a drive"
    parts = name.rstrip("/").split("/")
    if ".." in parts:
        return "climbs out of its folder ('..')"
    if any(part in ("", ".") for part in parts):
        return "has an empty or '.' path component"
    return None


def ignored_member(name: str) -> bool:
    """macOS resource-fork debris that zips made on a Mac carry; never part of a model."""
    return name.startswith("__MACOSX/") or PurePosixPath(name).name.startswith("._")


def declared_members(path: Path) -> int | None:
    """Member count from the end-of-central-directory record, read before zipfile parses every entry."""
    with path.open("rb") as stream:
        stream.seek(0, os.SEEK_END)
        size = stream.tell()
        stream.seek(max(0, size - 65_557))
        tail = stream.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    (entries,) = struct.unpack_from("<H", tail, at + 10)
    if entries == 0xFFFF:  # ZIP64: the count is in the ZIP64 end record, found through its locator
        locator = tail.rfind(b"PK\x06\x07", 0, at)
        if locator < 0:
            return None
        (offset,) = struct.unpack_from("<Q", tail, locator + 8)
        with path.open("rb") as stream:
            stream.seek(offset)
            record = stream.read(56)
        if record[:4] != b"PK\x06\x06" or len(record) < 40:
            return None
        (entries,) = struct.unpack_from("<Q", record, 32)
    return entries


def safe_extract_zip(path: Path, dest: Path, limits: MeshLimits, name: str | None = None) -> Path:
    """Extract ``path`` into ``dest`` after checking every member; return the one model file inside.

    Refused (ProcessingError, permanent) before anything is written: more than ``limits.max_zip_members``
    members, a name that is absolute, climbs with '..', holds a backslash, a drive letter or a control
    character, a symbolic link or other non-regular member, an encrypted member, duplicate names, declared
    sizes above ``limits.zip_bytes``. Refused while extracting: a member that expands beyond its declared
    size or the total bound, a CRC error. Refused after: no model file, or several.
    """
    name = name or path.name
    declared = declared_members(path)
    if declared is not None and declared > limits.max_zip_members:
        raise refusal(name, f"the zip declares {declared} members; the limit is {limits.max_zip_members}")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as error:
        raise refusal(name, f"the zip cannot be read ({error})") from None
    with archive:
        members = _checked_members(archive, name, limits)
        dest.mkdir(parents=True, exist_ok=True)
        written_total = 0
        for info in members:
            target = dest.joinpath(*info.filename.rstrip("/").split("/"))
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            written_total = _extract_member(archive, info, target, written_total, name, limits)
    models = sorted(
        str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file() and p.suffix.lower() in MODEL_SUFFIXES
    )
    if not models:
        raise refusal(name, f"the zip holds no 3D model file ({', '.join(MODEL_SUFFIXES)})")
    if len(models) > 1:
        shown = ", ".join(models[:5]) + (" ..." if len(models) > 5 else "")
        raise refusal(name, f"the zip holds {len(models)} model files ({shown}); upload one model per zip")
    return dest / models[0]


def _checked_members(archive: zipfile.ZipFile, name: str, limits: MeshLimits) -> list[zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > limits.max_zip_members:
        raise refusal(name, f"the zip holds {len(infos)} members; the limit is {limits.max_zip_members}")
    seen: set[str] = set()
    members = []
    total = 0
    for info in infos:
        shown = info.orig_filename[:120]
        problem = member_problem(info.orig_filename) or member_problem(info.filename)
        if problem:
            raise refusal(name, f"the zip member {shown!r} {problem}; nothing was extracted")
        mode = info.external_attr >> 16
        kind = stat.S_IFMT(mode)
        if kind == stat.S_IFLNK:
            raise refusal(name, f"the zip member {shown!r} is a symbolic link; nothing was extracted")
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise refusal(name, f"the zip member {shown!r} is not a regular file; nothing was extracted")
        if info.flag_bits & 0x1:
            raise refusal(name, f"the zip member {shown!r} is encrypted; nothing was extracted")
        key = info.filename.rstrip("/")
        if key in seen:
            raise refusal(name, f"the zip holds {shown!r} twice; nothing was extracted")
        seen.add(key)
        if ignored_member(info.filename):
            continue
        total += info.file_size
        members.append(info)
    if total > limits.zip_bytes:
        raise refusal(
            name,
            f"the zip declares {total} bytes once extracted; the limit is {limits.zip_bytes}; nothing was extracted",
        )
    return members


def _extract_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, written_total: int, name: str, limits: MeshLimits
) -> int:
    written = 0
    try:
        with archive.open(info) as source, target.open("xb") as out:
            while block := source.read(1 << 20):
                written += len(block)
                written_total += len(block)
                if written > info.file_size or written_total > limits.zip_bytes:
                    raise refusal(
                        name,
                        f"the zip member {info.filename[:120]!r} expands beyond its declared size "
                        f"({info.file_size} bytes) or the {limits.zip_bytes}-byte bound: a zip bomb; extraction "
                        "was stopped",
                    )
                out.write(block)
    except zipfile.BadZipFile as error:  # zipfile stops at the declared size, then the CRC fails: a bomb ends here
        raise refusal(
            name,
            f"the zip member {info.filename[:120]!r} does not match its declared size or checksum ({error}): the zip "
            "is damaged or a zip bomb; extraction was stopped",
        ) from None
    except (OSError, EOFError, RuntimeError, NotImplementedError, zlib.error, lzma.LZMAError) as error:
        # zlib.error, lzma.LZMAError: a damaged compressed stream (zipfile lets them through; found by tests/fuzz)
        raise refusal(name, f"the zip member {info.filename[:120]!r} cannot be extracted ({error})") from None
    return written_total


def stage_model(
    source: Path, original_name: str, companions: dict[str, Path] | None, folder: Path, limits: MeshLimits
) -> Path:
    """Put ``source`` and its companions (name as referenced -> staged file) into ``folder``; return the model.

    Companion names follow the zip member rules (relative, no '..', no backslash ...); a hostile one is
    refused. Files are hard-linked when possible (same file system), copied otherwise, never symlinked.
    """
    folder.mkdir(parents=True, exist_ok=True)
    model_name = _safe_leaf(original_name) or f"model{source.suffix}"
    entries = {model_name: Path(source)}
    for reference, path in (companions or {}).items():
        problem = member_problem(reference)
        if problem:
            raise refusal(original_name, f"the companion file name {reference[:120]!r} {problem}")
        if reference in entries:
            raise refusal(original_name, f"the companion file {reference!r} has the model's own name")
        entries[reference] = Path(path)
    if len(entries) > limits.max_zip_members:
        raise refusal(original_name, f"{len(entries)} companion files; the limit is {limits.max_zip_members}")
    for reference, path in entries.items():
        if not path.is_file() or path.is_symlink():
            raise refusal(original_name, f"the companion file {reference!r} is missing or not a regular file")
        target = folder.joinpath(*reference.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copyfile(path, target)
    return folder / model_name


def _safe_leaf(original_name: str) -> str | None:
    leaf = PurePosixPath(original_name.replace("\\", "/")).name
    return leaf if leaf and member_problem(leaf) is None else None


class ModelFolder:
    """Resolves names a model file gives (textures, MTL, buffers) inside one folder, and notes refusals.

    ``base`` is the referring file's folder, relative to ``root``: references are relative to it.
    """

    def __init__(self, root: Path, base: str = "") -> None:
        self.root = Path(root).resolve()
        self.base = base.strip("/")
        self.notes: list[str] = []
        self.used: list[str] = []  # relative names actually read
        self.missing: list[str] = []  # references to files that were not uploaded (yet)

    def find(self, reference: str, what: str, referrer: str) -> Path | None:
        """The file ``reference`` names, or None (with a note) when it is outside, a link, or missing."""
        text = reference.strip().strip('"')
        if not text:
            return None
        if text.startswith("data:"):
            return None
        if _SCHEME.match(text) and not _DRIVE.match(text):
            self.notes.append(f"{referrer}: the {what} {_short(reference)} is a URL; it was not fetched")
            return None
        relative = self._relative(text)
        if relative is None:
            absolute = text.startswith(("/", "\\")) or bool(_DRIVE.match(text))
            leaf = PurePosixPath(text.replace("\\", "/")).name
            candidate = self._regular(leaf) if absolute and leaf not in ("", ".", "..") else None
            if candidate is not None:
                self.notes.append(
                    f"{referrer}: the {what} path {_short(reference)} is absolute; the uploaded file {leaf!r} was used"
                )
                self.used.append(leaf)
                return candidate
            self.notes.append(
                f"{referrer}: the {what} path {_short(reference)} points outside the uploaded files; it was not read"
            )
            return None
        candidate = self._regular(relative)
        if candidate is None:
            candidate, relative = self._case_insensitive(relative)
            if candidate is None:
                self.notes.append(f"{referrer}: the {what} {_short(reference)} was not among the uploaded files")
                self.missing.append(relative)
                return None
        self.used.append(relative)
        return candidate

    def _relative(self, text: str) -> str | None:
        """Join with the base folder and fold '..' without leaving the root; None when it leaves."""
        if text.startswith(("/", "\\")) or _DRIVE.match(text) or "\0" in text:
            return None
        parts: list[str] = [p for p in self.base.split("/") if p]
        for part in text.replace("\\", "/").split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    return None
                parts.pop()
            else:
                parts.append(part)
        return "/".join(parts) or None

    def _regular(self, relative: str) -> Path | None:
        """The path if every component is a real directory/file (no symlink) inside the root."""
        current = self.root
        for part in relative.split("/"):
            current = current / part
            try:
                info = current.lstat()
            except OSError:
                return None
            if stat.S_ISLNK(info.st_mode):
                self.notes.append(f"{relative!r} is a symbolic link; it was not followed")
                return None
        if not stat.S_ISREG(current.lstat().st_mode) or not current.resolve().is_relative_to(self.root):
            return None
        return current

    def _case_insensitive(self, relative: str) -> tuple[Path | None, str]:
        """Files made on Windows often differ in case from their references (wall.JPG vs wall.jpg)."""
        wanted = relative.lower()
        for path in self.root.rglob("*"):
            name = path.relative_to(self.root).as_posix()
            if name.lower() == wanted and (found := self._regular(name)) is not None:
                self.notes.append(f"{relative!r} was found as {name!r} (different letter case)")
                return found, name
        return None, relative


def _short(text: str) -> str:
    return repr(text if len(text) <= 100 else text[:100] + "...")


def collect_textures(paths: list[Path], workdir: Path, limits: MeshLimits, name: str) -> list[Path]:
    """Copy texture files into ``workdir/textures`` under safe, unique names (order kept, duplicates once)."""
    if len(paths) > limits.max_textures:
        raise refusal(name, f"the model uses {len(paths)} textures; the limit is {limits.max_textures}")
    folder = workdir / "textures"
    folder.mkdir(parents=True, exist_ok=True)
    copied: dict[Path, Path] = {}
    for path in paths:
        if path in copied:
            continue
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem).strip("._") or "texture"
        target = folder / f"{stem}{path.suffix.lower()}"
        counter = 1
        while target.exists():
            counter += 1
            target = folder / f"{stem}_{counter}{path.suffix.lower()}"
        shutil.copyfile(path, target)
        copied[path] = target
    return list(copied.values())
