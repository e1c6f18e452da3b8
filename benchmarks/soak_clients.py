"""The soak's inputs and its field clients.

Inputs: small photos (JPEG and PNG, a few kB to about 100 kB, every one different) and small meshes (binary
and ASCII PLY, OBJ), generated from a seed, grouped into objects of one to five files. Each object goes up
through one channel: the tus endpoint (a browser-like batch upload into a collection, one group per object)
or the REST API (``POST /api/objects/`` with a ``source_reference``, then ``POST .../files/`` per file).

Clients behave like a field team's script on a bad day: connection errors, 5xx, 423 and 429 (after its
``Retry-After``) are retried with capped exponential backoff; a tus upload resumes from the server's offset;
an API file sent again is answered 200 with the existing file (the archive deduplicates by SHA-256 per
object). The client's own SHA-256 of each file is what the end check looks for.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import queue
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

MB = 1_000_000
RETRYABLE = {423, 429, 500, 502, 503, 504}
MESH_FORMATS = ("ply", "ply-ascii", "obj")


@dataclass(frozen=True)
class Item:
    """One file a client uploads."""

    index: int
    kind: str  # photo | mesh
    path: Path
    name: str  # the name sent to the archive
    group: str  # the object: tus batch group, or the API's source_reference
    channel: str  # tus | api
    sha256: str
    size: int


# --- generation -------------------------------------------------------------------------------------


def _photo(path: Path, fmt: str, rng) -> None:
    import numpy as np
    from PIL import Image

    from tests.preservation.imagegen import make_exif, srgb_icc

    width = int(rng.integers(64, 280) if fmt == "png" else rng.integers(160, 900))
    height = max(48, int(width * rng.uniform(0.55, 1.0)))
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    sigma = rng.uniform(1.5, 6.0)
    planes = []
    for _channel in range(3):
        fx, fy, px, py = rng.uniform(0.3, 4.0, 4)
        wave = np.sin(2 * np.pi * (fx * x + px)) * np.cos(2 * np.pi * (fy * y + py))
        plane = 128 + 80 * wave + rng.normal(0, sigma, (height, width))
        planes.append(np.clip(plane, 0, 255).astype(np.uint8))
    image = Image.fromarray(np.stack(planes, axis=-1))
    if fmt == "png":
        if rng.random() < 0.3:
            image = image.convert("L")
        image.save(path, "PNG")
        return
    options = {"quality": int(rng.integers(70, 93))}
    if rng.random() < 0.4:  # a camera's EXIF (sometimes with GPS) and an sRGB profile
        options["exif"] = make_exif(orientation=int(rng.choice([1, 3, 6, 8])), gps=bool(rng.random() < 0.5))
        options["icc_profile"] = srgb_icc()
    image.save(path, "JPEG", **options)


def _mesh(path: Path, fmt: str, rng) -> None:
    import numpy as np
    import trimesh

    from tests.preservation.meshgen import write_ply

    sphere = trimesh.creation.icosphere(subdivisions=int(rng.integers(2, 5)), radius=float(rng.uniform(0.5, 2.0)))
    bumps = 1 + rng.normal(0, 0.03, (len(sphere.vertices), 1))  # every scan a different shape
    vertices = (sphere.vertices * bumps + rng.uniform(-5, 5, 3)).astype(np.float32)
    faces = np.asarray(sphere.faces, dtype=np.int32)
    if fmt == "obj":
        lines = ["# generated scan"] + [f"v {a:.6f} {b:.6f} {c:.6f}" for a, b, c in vertices]
        lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in faces]
        path.write_text("\n".join(lines) + "\n")
        return
    colours = rng.integers(0, 256, (len(vertices), 3), dtype=np.uint8)
    encoding = "ascii" if fmt == "ply-ascii" else "binary_little_endian"
    write_ply(path, vertices, faces, encoding=encoding, colours=colours)


def make_input(job: tuple[str, str, Path, int]) -> tuple[str, int]:
    """Write one input file (runs in a pool process); returns its SHA-256 and size."""
    import numpy as np

    kind, fmt, path, seed = job
    rng = np.random.default_rng(seed)
    (_photo if kind == "photo" else _mesh)(path, fmt, rng)
    data = path.read_bytes()
    return hashlib.sha256(data).hexdigest(), len(data)


def plan(photos: int, meshes: int, seed: int, run_tag: str) -> list[dict]:
    """Which file goes into which object through which channel (deterministic for a seed)."""
    rng = random.Random(seed)
    entries, group = [], 0
    remaining = photos
    while remaining > 0:  # objects of 1-5 photos
        size = min(remaining, rng.randint(1, 5))
        for position in range(size):
            fmt = "png" if rng.random() < 0.25 else "jpg"
            entries.append({"kind": "photo", "fmt": fmt, "group": group, "position": position})
        remaining -= size
        group += 1
    photo_groups = group
    for number in range(meshes):  # half join a photo object (a scan with its photos), half stand alone
        fmt = MESH_FORMATS[number % len(MESH_FORMATS)]
        if photo_groups and rng.random() < 0.5:
            target = rng.randrange(photo_groups)
        else:
            target, group = group, group + 1
        entries.append({"kind": "mesh", "fmt": fmt, "group": target, "position": 100 + number})
    channels = ["tus", "api"] * (group // 2 + 1)
    rng.shuffle(channels)
    for entry in entries:
        entry["channel"] = channels[entry["group"]]
        extension = {"jpg": "jpg", "png": "png", "ply": "ply", "ply-ascii": "ply", "obj": "obj"}[entry["fmt"]]
        entry["group"] = f"soak-{run_tag}-{entry['group']:05d}"
        entry["name"] = f"{entry['group']}-{entry['kind']}-{entry['position']:03d}.{extension}"
    return entries


def generate(folder: Path, photos: int, meshes: int, seed: int, parallel: int) -> list[Item]:
    """Generate every input file into ``folder``; each file's bytes are unique (checked)."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = plan(photos, meshes, seed, run_tag=f"{seed}")
    jobs = [
        (entry["kind"], entry["fmt"], folder / entry["name"], seed * 1_000_003 + index)
        for index, entry in enumerate(entries)
    ]
    with multiprocessing.get_context("spawn").Pool(parallel) as pool:
        digests = pool.map(make_input, jobs, chunksize=16)
    items = [
        Item(index, entry["kind"], folder / entry["name"], entry["name"], entry["group"], entry["channel"], sha, size)
        for index, (entry, (sha, size)) in enumerate(zip(entries, digests, strict=True))
    ]
    if len({item.sha256 for item in items}) != len(items):
        raise RuntimeError("two generated inputs have the same bytes; use another --seed")
    return items


# --- clients ----------------------------------------------------------------------------------------


class Tally:
    """Thread-safe counters (retries by channel and reason, HTTP statuses seen by clients)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def add(self, key: str, amount: int = 1) -> None:
        with self._lock:
            self.counts[key] += amount


@dataclass
class Result:
    state: str = "not sent"  # done | failed | not sent
    attempts: int = 0
    answer: str = ""  # created | duplicate | tus
    error: str = ""
    finished_at: float = 0.0


class GiveUp(Exception):
    """A non-retryable answer, or the attempts ran out."""


@dataclass
class Backoff:
    attempts: int
    stop: threading.Event
    tally: Tally
    channel: str
    rng: random.Random = field(default_factory=random.Random)

    def wait(self, attempt: int, reason: str, retry_after: float | None = None) -> None:
        """Count the retry and sleep before the next attempt; GiveUp when attempts are spent or the run stops."""
        self.tally.add(f"retry {self.channel} {reason}")
        if attempt + 1 >= self.attempts or self.stop.is_set():
            raise GiveUp(f"gave up after {attempt + 1} attempts ({reason})")
        delay = retry_after if retry_after is not None else min(8.0, 0.25 * 2**attempt) * self.rng.uniform(0.5, 1.5)
        self.stop.wait(min(delay, 30.0))


class ApiClient:
    """A field team's script on the REST API (token auth)."""

    def __init__(self, base_url: str, token: str, backoff: Backoff) -> None:
        import requests

        self.base = f"{base_url}/api"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.backoff = backoff
        self.objects: dict[str, str] = {}

    def send(self, method: str, path: str, ok: tuple[int, ...], **kwargs):
        import requests

        for attempt in range(self.backoff.attempts):
            try:
                response = self.session.request(method, f"{self.base}{path}", timeout=60, **kwargs)
            except requests.RequestException as error:
                self.backoff.wait(attempt, f"connection ({type(error).__name__})")
                continue
            self.backoff.tally.add(f"http api {response.status_code}")
            if response.status_code in ok:
                return response, attempt + 1
            if response.status_code not in RETRYABLE:
                raise GiveUp(f"{method} {path}: {response.status_code} {response.text[:300]}")
            retry_after = response.headers.get("Retry-After")
            self.backoff.wait(attempt, str(response.status_code), float(retry_after) if retry_after else None)
        raise GiveUp(f"{method} {path}: no answer after {self.backoff.attempts} attempts")

    def object_for(self, collection: str, group: str) -> str:
        if group not in self.objects:
            record = {
                "collection": collection,
                "source_reference": group,
                "texts": [{"language": "en", "title": group.replace("-", " "), "is_original": True}],
            }
            response, _ = self.send("POST", "/objects/", (201, 409), json=record)  # 409: made by an earlier try
            self.objects[group] = response.json()["id"]
        return self.objects[group]

    def upload(self, item: Item, collection: str) -> tuple[str, int]:
        identifier = self.object_for(collection, item.group)
        data = item.path.read_bytes()
        response, attempts = self.send(
            "POST", f"/objects/{identifier}/files/", (200, 202), files={"file": (item.name, data)}
        )
        return ("created" if response.status_code == 202 else "duplicate"), attempts


class TusUploader:
    """A browser-like batch upload through tus (tuspy), logged in with a session like a curator."""

    def __init__(self, base_url: str, username: str, password: str, backoff: Backoff, chunk_size: int) -> None:
        from tests.integration.tusclient import login

        self.base = base_url
        self.backoff = backoff
        self.chunk_size = chunk_size
        for attempt in range(backoff.attempts):
            try:
                self.headers = login(base_url, username, password)
                break
            except Exception as error:  # noqa: BLE001 - any failure to log in is retried like a person would
                backoff.wait(attempt, f"login ({type(error).__name__})")

    def upload(self, item: Item, collection: str) -> tuple[str, int]:
        import requests
        from tusclient import client as tus
        from tusclient.exceptions import TusCommunicationError

        url = None  # once the server has made the upload, resume it rather than starting again
        for attempt in range(self.backoff.attempts):
            uploader = None
            try:
                client = tus.TusClient(f"{self.base}/uploads/", headers=self.headers)
                options = {"file_path": str(item.path), "chunk_size": self.chunk_size, "retries": 0}
                if url:
                    uploader = client.uploader(url=url, **options)  # HEAD: where the server is
                else:
                    metadata = {"filename": item.name, "collection": collection, "group": item.group}
                    uploader = client.uploader(metadata=metadata, **options)
                uploader.upload()
                return "tus", attempt + 1
            except TusCommunicationError as error:
                url = (uploader.url if uploader is not None else None) or url
                status = error.status_code
                if status is not None:
                    self.backoff.tally.add(f"http tus {status}")
                if status is not None and status not in RETRYABLE and status != 409:
                    raise GiveUp(f"tus {item.name}: {status} {str(error.response_content)[:300]}") from error
                self.backoff.wait(attempt, str(status) if status else f"connection ({type(error).__name__})")
            except requests.RequestException as error:
                url = (uploader.url if uploader is not None else None) or url
                self.backoff.wait(attempt, f"connection ({type(error).__name__})")
        raise GiveUp(f"tus {item.name}: no success after {self.backoff.attempts} attempts")


class Pace:
    """Spreads uploads over time: at most ``rate`` files per second over all clients (0: no limit), as field
    teams sending their work through the day rather than all at once."""

    def __init__(self, rate: float) -> None:
        self.interval = 1 / rate if rate > 0 else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self, stop: threading.Event) -> None:
        if not self.interval:
            return
        with self._lock:
            slot = max(time.monotonic(), self._next)
            self._next = slot + self.interval
        stop.wait(max(0.0, slot - time.monotonic()))


@dataclass
class ClientConfig:
    base_url: str
    collection: str
    tus_users: list[str]
    api_tokens: list[str]
    password: str
    clients: int
    attempts: int
    chunk_size: int
    seed: int
    pace: float = 0.0


def run_clients(
    items: list[Item], config: ClientConfig, stop: threading.Event, tally: Tally, results: dict[int, Result]
) -> None:
    """Upload every item with ``config.clients`` threads (half tus, half API), filling ``results`` (one
    Result per item index) as files are accepted.

    Each thread takes whole objects from its channel's queue, so one object's files go up in order
    through one client, as a field team's script or a browser batch would send them.
    """
    queues: dict[str, queue.Queue] = {"tus": queue.Queue(), "api": queue.Queue()}
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(item.group, []).append(item)
    for members in groups.values():
        queues[members[0].channel].put(members)
    tus_clients = max(1, (config.clients + 1) // 2)
    api_clients = max(1, config.clients - tus_clients)
    pace = Pace(config.pace)

    def work(channel: str, number: int) -> None:
        backoff = Backoff(config.attempts, stop, tally, channel, random.Random(config.seed * 31 + number))
        try:
            if channel == "tus":
                user = config.tus_users[number % len(config.tus_users)]
                client = TusUploader(config.base_url, user, config.password, backoff, config.chunk_size)
            else:
                client = ApiClient(config.base_url, config.api_tokens[number % len(config.api_tokens)], backoff)
        except GiveUp as error:
            tally.add(f"client {channel} could not start: {error}")
            return
        while not stop.is_set():
            try:
                members = queues[channel].get_nowait()
            except queue.Empty:
                return
            for item in members:
                pace.wait(stop)
                if stop.is_set():
                    return
                result = results[item.index]
                try:
                    result.answer, result.attempts = client.upload(item, config.collection)
                    result.state, result.finished_at = "done", time.time()
                except GiveUp as error:
                    result.state, result.error = "failed", str(error)
                    tally.add(f"gave up {channel}")

    threads = [
        threading.Thread(target=work, args=(channel, number), name=f"soak-{channel}-{number}", daemon=True)
        for channel, count in (("tus", tus_clients), ("api", api_clients))
        for number in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
