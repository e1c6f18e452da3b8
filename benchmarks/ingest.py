"""Ingest benchmark: generated 24-megapixel photos through the whole pipeline on real services, next to the
same work done by the bare libraries in the same run, on the same files, at the same parallelism.

    .venv/bin/python benchmarks/ingest.py [--photos 8] [--parallel 2] [--rounds 3] [--json] [--keep]

Ours: PostgreSQL (a fresh database ``heritage_bench``), Redis (db 12, flushed before and after), two
``rclone serve s3`` servers and a real ``celery worker --concurrency P``. Photos are staged with
``archive.batch.stage_copy`` (copy + SHA-256 in one pass, P at a time), received with
``actions.receive_file`` and enqueued with ``tasks.ingest.delay``. The clock runs from the first staged byte
to the last ProcessingJob marked done (original, master, access copy and thumbnail on both stores, each read
back and SHA-256 verified).

Baseline, in a ``multiprocessing.Pool(P)`` without Django or Celery, per photo: copy + SHA-256 (+ fsync,
as staging does); fido identification (``preservation.formats.identify``); ``ImageProcessor().process``
(decode, TIFF master + full-depth verification, access JPEG, thumbnail) and SHA-256 of the derivatives;
then for the four files a boto3 ``put_object`` to each S3 server and a ``get_object`` read back + SHA-256
check (the S3Store botocore settings: s3v4, checksums "when_required", path addressing).

Each round runs the baseline, then ours, on the same photos; both keep their processes from round to round
(the pool, the worker), so the first round is the cold one on both sides (fido, boto3 clients and, in the
worker, the image processor and S3 store are loaded on first use). The fastest round of each side is
reported, since other work on a shared machine only ever adds time. The figure that matters is ours /
baseline: the orchestration overhead (target at most 1.25). The physical limit line is raw ``hashlib``
SHA-256 over the same files in memory.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import multiprocessing
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import BUSY_WARNING, cpu_busy, lap, log, rounded, unwind_on_signals  # noqa: E402

BENCH_DATABASE = "heritage_bench"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/12"
WIDTH, HEIGHT = 6000, 4000
JPEG_QUALITY = 90
NOISE_SIGMA = 10  # sensor-like noise: about 7.4 MB a photo at quality 90, like a camera's 24 Mpx JPEG
STORES = ("s3-a", "s3-b")
BASELINE_BUCKET = "baseline"
CHUNK = 1024 * 1024
MB = 1_000_000
TARGET_RATIO = 1.25
TASK_LINE = re.compile(r"Task (preservation\.\w+)\[[^\]]+\] succeeded in ([0-9.]+)s")


# --- input ------------------------------------------------------------------------------------------


def make_photo(job: tuple[Path, int]) -> int:
    """A 6000 x 4000 photo-like JPEG (smooth scene + noise, EXIF with GPS, sRGB ICC); returns its size."""
    import numpy as np
    from PIL import Image

    from tests.preservation.imagegen import make_exif, srgb_icc

    path, seed = job
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, HEIGHT, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, WIDTH, dtype=np.float32)[None, :]
    pixels = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    for channel in range(3):
        fx, fy, px, py = rng.uniform(0.5, 3.0, 4).astype(np.float32)
        slope_x, slope_y = rng.uniform(-60, 60, 2).astype(np.float32)
        wave = np.sin(2 * np.pi * (fx * x + px)) * np.cos(2 * np.pi * (fy * y + py))
        plane = 128 + slope_x * (x - 0.5) + slope_y * (y - 0.5) + 50 * wave
        plane += rng.standard_normal((HEIGHT, WIDTH), dtype=np.float32) * NOISE_SIGMA
        np.clip(plane, 0, 255, out=plane)
        pixels[..., channel] = plane
    orientation = 6 if seed % 2 else 1  # some portrait shots: the access copies are turned upright
    Image.fromarray(pixels).save(
        path, "JPEG", quality=JPEG_QUALITY, exif=make_exif(orientation=orientation), icc_profile=srgb_icc()
    )
    return path.stat().st_size


def generate_photos(folder: Path, count: int, parallel: int) -> list[Path]:
    folder.mkdir(parents=True)
    paths = [folder / f"photo-{index:03d}.jpg" for index in range(count)]
    with multiprocessing.get_context("spawn").Pool(parallel) as pool:
        pool.map(make_photo, [(path, 1000 + index) for index, path in enumerate(paths)], chunksize=1)
    return paths


def sha256_limit(paths: list[Path], parallel: int) -> dict:
    """Raw hashlib SHA-256 MB/s over the photos held in memory, on one core and on ``parallel`` threads."""
    blobs = [path.read_bytes() for path in paths]
    total = sum(len(blob) for blob in blobs)

    def rate(run) -> float:
        best = min(_timed(run) for _ in range(3))
        return total / best / MB

    def one_core() -> None:
        for blob in blobs:
            hashlib.sha256(blob).digest()

    with ThreadPoolExecutor(parallel) as pool:

        def threads() -> None:
            list(pool.map(lambda blob: hashlib.sha256(blob).digest(), blobs))

        return {"one_core_mb_per_s": rate(one_core), "parallel_mb_per_s": rate(threads)}


def _timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


# --- services ---------------------------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def hold_bench_lock(server: str, cleanup: contextlib.ExitStack) -> None:
    """One benchmark per server at a time: a second run would drop the first one's database and broker queue.

    A PostgreSQL advisory lock held by a session on the ``postgres`` database for the whole run.
    """
    import psycopg

    connection = psycopg.connect(_with_database(server, "postgres"), autocommit=True)
    cleanup.callback(connection.close)  # registered first, so released last
    row = connection.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [BENCH_DATABASE]).fetchone()
    if not row or not row[0]:
        raise SystemExit(f"bench: another benchmark is running against {BENCH_DATABASE} on this server; try later")


def create_database(server: str) -> str:
    """Drop and create ``heritage_bench`` on the server of ``server``; returns its URL."""
    import psycopg

    with psycopg.connect(_with_database(server, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    return _with_database(server, BENCH_DATABASE)


def drop_database(server: str) -> None:
    import psycopg

    if "django" in sys.modules:
        from django.db import connections

        connections.close_all()
    with psycopg.connect(_with_database(server, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def start_s3_servers(workdir: Path, cleanup: contextlib.ExitStack) -> list:
    from tests.fixtures.s3 import S3Server

    servers = []
    for name in STORES:
        server = S3Server(workdir / name)
        (server.root / BASELINE_BUCKET).mkdir(parents=True, exist_ok=True)
        cleanup.callback(server.stop)
        servers.append(server.start())
    return servers


def service_env(workdir: Path, database_url: str, redis_url: str, servers: list) -> dict[str, str]:
    """What the worker and this process share: database, broker, folders, the two S3 stores."""
    media = workdir / "media"
    pairs = zip(STORES, servers, strict=True)
    stores = [server.store_config(name, jurisdiction=name.upper()) for name, server in pairs]
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",  # as in production: DEBUG keeps every SQL query in memory
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),  # production refuses the development key
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis_url,
        "ARCHIVE_MEDIA_ROOT": str(media),
        "ARCHIVE_STAGING_ROOT": str(media / "staging"),
        "ARCHIVE_QUARANTINE_ROOT": str(media / "quarantine"),
        "ARCHIVE_STORES": json.dumps(stores),
        "PYTHONUNBUFFERED": "1",
    }


class Worker:
    """``celery -A config worker -Q ingest,media,heavy,replication --concurrency P`` in its own session."""

    def __init__(self, env: dict[str, str], concurrency: int, log_path: Path) -> None:
        self.log_path = log_path
        from tests.fixtures.services import worker_command

        command = worker_command(concurrency, f"bench-{os.getpid()}")
        with open(log_path, "wb") as output:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, **env, "DJANGO_LOG_LEVEL": "INFO"},
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.log():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"the celery worker did not start; its log ends with:\n{self.log()[-3000:]}")

    def task_runtimes(self, since: int = 0) -> dict[str, list[float]]:
        """Run times of the tasks that succeeded, by task name, from log offset ``since`` on."""
        runtimes: dict[str, list[float]] = {}
        for name, seconds in TASK_LINE.findall(self.log()[since:]):
            runtimes.setdefault(name.removeprefix("preservation."), []).append(float(seconds))
        return runtimes

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def start_services(options: argparse.Namespace, workdir: Path, cleanup: contextlib.ExitStack) -> tuple[Worker, list]:
    """Database, broker, S3 servers, Django in this process, and the worker; each one undone by ``cleanup``."""
    hold_bench_lock(options.postgres, cleanup)
    database_url = create_database(options.postgres)
    cleanup.callback(drop_database, options.postgres)
    flush_redis(options.redis)
    cleanup.callback(flush_redis, options.redis)
    servers = start_s3_servers(workdir, cleanup)
    env = service_env(workdir, database_url, options.redis, servers)
    for name in env:  # config.settings reads NAME_FILE before NAME: the caller's files must not win
        os.environ.pop(f"{name}_FILE", None)
    os.environ.update(env)
    os.environ["DJANGO_LOG_LEVEL"] = "WARNING"
    migrate = [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"]
    subprocess.run(migrate, cwd=ROOT, env=os.environ, check=True)
    import django

    django.setup()
    worker = Worker(env, options.parallel, workdir / "worker.log")
    cleanup.callback(worker.stop)
    worker.wait_ready()
    return worker, servers


# --- baseline: the bare libraries -------------------------------------------------------------------

_CLIENTS: dict[str, object] = {}


def _baseline_init() -> None:
    """Import what the baseline uses (a Celery worker has its code imported before the clock starts too)."""
    import preservation.formats
    import preservation.processors.image
    import preservation.stores.s3  # noqa: F401


def _client(store: dict):
    """A plain boto3 client built exactly as S3Store builds its own (same botocore Config), on first use.

    Only the client is used: the baseline calls put_object/get_object itself, not S3Store.put.
    """
    client = _CLIENTS.get(store["name"])
    if client is None:
        from preservation.stores.s3 import S3Store

        client = S3Store(name=store["name"], **store["options"]).client
        _CLIENTS[store["name"]] = client
    return client


def baseline_photo(job: tuple[Path, Path, list[dict]]) -> dict[str, float]:
    """Every step for one photo, timed per stage (runs in a pool process)."""
    from preservation.formats import identify
    from preservation.hashing import sha256_file
    from preservation.processors.base import Limits
    from preservation.processors.image import ImageProcessor

    source, staging, stores = job
    times: dict[str, float] = {}
    start = time.perf_counter()
    folder = staging / str(uuid.uuid4())
    folder.mkdir(parents=True)
    target = folder / source.name
    digest = hashlib.sha256()
    with open(source, "rb") as reader, open(target, "wb") as writer:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            writer.write(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    files = [(target, digest.hexdigest())]
    times["receive"] = lap(start)

    start = time.perf_counter()
    identification = identify(target, source.name)
    if identification.format_key != "image":
        raise RuntimeError(f"{source.name}: identified as {identification.puid}, not as an image")
    times["identify"] = lap(start)

    start = time.perf_counter()
    result = ImageProcessor().process(target, folder / "work", Limits(max_bytes=20 * 1024**3))
    files += [(derivative.path, sha256_file(derivative.path)[0]) for derivative in result.derivatives]
    times["normalize"] = lap(start)

    for store in stores:
        start = time.perf_counter()
        client = _client(store)
        for path, expected in files:
            key = f"{staging.name}/{source.stem}/{path.name}"
            with open(path, "rb") as body:
                client.put_object(Bucket=store["bucket"], Key=key, Body=body)
            read_back = hashlib.sha256()
            with contextlib.closing(client.get_object(Bucket=store["bucket"], Key=key)["Body"]) as stream:
                while chunk := stream.read(CHUNK):
                    read_back.update(chunk)
            if read_back.hexdigest() != expected:
                raise RuntimeError(f"{store['name']}: {key} read back as {read_back.hexdigest()}, expected {expected}")
        times[f"replicate:{store['name']}"] = lap(start)
    shutil.rmtree(folder)
    return times


def baseline_pool(parallel: int, cleanup: contextlib.ExitStack):
    """The baseline's processes, kept for every round as the worker's are (so both warm up alike)."""
    pool = cleanup.enter_context(multiprocessing.get_context("spawn").Pool(parallel, initializer=_baseline_init))
    pool.map(time.sleep, [0.2] * parallel, chunksize=1)  # every process up before any clock starts
    return pool


def run_baseline(pool, photos: list[Path], staging: Path, servers: list) -> dict:
    pairs = zip(STORES, servers, strict=True)
    stores = [{"name": name, "bucket": BASELINE_BUCKET, "options": server.store_options()} for name, server in pairs]
    start = time.time()
    per_photo = pool.map(baseline_photo, [(photo, staging, stores) for photo in photos], chunksize=1)
    return {"wall": time.time() - start, "per_photo": per_photo}


# --- ours: Django, Celery, PostgreSQL, Redis ------------------------------------------------------------


def run_ours(photos: list[Path], worker: Worker, parallel: int, round_number: int) -> dict:
    from archive import actions
    from archive.batch import stage_copy
    from archive.models import Collection, Community
    from preservation import tasks

    community, _ = Community.objects.get_or_create(slug="bench", defaults={"name": "Benchmark community"})
    collection = Collection.objects.create(
        community=community, slug=f"bench-{round_number}", title=f"Benchmark photos, round {round_number}"
    )
    objects = [
        actions.create_object(collection, {"en": (photo.stem, "")}, original_language="en", source_reference=photo.name)
        for photo in photos
    ]

    def stage(photo: Path) -> tuple[Path, str, int, float]:
        started = time.perf_counter()
        staged, sha256, size = stage_copy(photo)
        return staged, sha256, size, lap(started)

    log_offset = len(worker.log())
    start = time.time()
    with ThreadPoolExecutor(parallel) as pool:
        staged = list(pool.map(stage, photos))
    assets, receive = [], []
    for obj, photo, (path, sha256, size, seconds) in zip(objects, photos, staged, strict=True):
        started = time.perf_counter()
        asset, _created = actions.receive_file(obj, path, photo.name, sha256, size, via="benchmark", enqueue=False)
        assets.append(asset)
        receive.append(seconds + lap(started))
    for asset in assets:
        tasks.ingest.delay(str(asset.id))
    finished = wait_until_preserved(assets, worker, timeout=120 + 60 * len(photos))
    return {
        "wall": finished - start,
        "per_photo": [ours_stages(asset, seconds) for asset, seconds in zip(assets, receive, strict=True)],
        "tasks": worker.task_runtimes(since=log_offset),
    }


def wait_until_preserved(assets: list, worker: Worker, timeout: float) -> float:
    """Poll the ProcessingJobs until all are done; returns the epoch time the last one finished."""
    from preservation.models import ProcessingJob

    jobs = ProcessingJob.objects.filter(asset__in=[asset.id for asset in assets])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = list(jobs.values_list("state", "message"))
        failed = [message for state, message in states if state == ProcessingJob.State.FAILED]
        if failed:
            raise RuntimeError(f"{len(failed)} ingest job(s) failed: {failed[0]}")
        if len(states) == len(assets) and all(state == ProcessingJob.State.DONE for state, _ in states):
            return max(job.finished_at for job in jobs).timestamp()
        if worker.process.poll() is not None:
            raise RuntimeError(f"the celery worker exited; its log ends with:\n{worker.log()[-3000:]}")
        time.sleep(0.05)
    raise RuntimeError(f"not every photo was preserved within {timeout:.0f} s; worker log:\n{worker.log()[-3000:]}")


def ours_stages(asset, receive: float) -> dict[str, float]:
    """Per-stage latencies of one photo from its PREMIS events (queue waits included), and the replicate
    tasks' own run time (from taking the object's store lease to the store's last replication event)."""
    from preservation.models import PreservationEvent, ProcessingJob, StoreObject

    events = PreservationEvent.objects.filter(object_id=asset.object_id, outcome="success")
    moments: dict[str, list] = {}
    for event_type, store, occurred in events.values_list("event_type", "store__name", "occurred_at"):
        moments.setdefault(f"{event_type}:{store}" if store else event_type, []).append(occurred)
    ingestion = min(moments["ingestion"])
    identified = min(moments["format identification"])
    created = max(moments["creation"])
    done = ProcessingJob.objects.get(asset=asset).finished_at
    leases = dict(StoreObject.objects.filter(object_id=asset.object_id).values_list("store__name", "last_attempt_at"))
    times = {
        "receive": receive,
        "identify": (identified - ingestion).total_seconds(),
        "normalize": (created - identified).total_seconds(),
    }
    for store in STORES:
        replicated = max(moments[f"replication:{store}"])
        times[f"replicate:{store}"] = (replicated - created).total_seconds()
        times[f"run:replicate:{store}"] = (replicated - leases[store]).total_seconds()
    times["finish"] = (done - max(max(moments[f"replication:{store}"]) for store in STORES)).total_seconds()
    times["latency"] = receive + (done - ingestion).total_seconds()
    return times


# --- report -----------------------------------------------------------------------------------------

STAGES = [
    # key, label, worker task whose mean run time goes in the "ours, task run" column
    ("receive", "receive: copy + SHA-256 (+ catalogue rows for ours)", None),
    ("identify", "identify: fido + libmagic", "ingest"),
    ("normalize", "normalize: decode, TIFF master + verify, access, thumbnail", "process"),
    ("package", "package: next OCFL version row", "package"),
    ("replicate:s3-a", "replicate to s3-a: put + read back + SHA-256", None),
    ("replicate:s3-b", "replicate to s3-b: put + read back + SHA-256", None),
    ("finish", "mark the job done", None),
]


def _mean(rows: list[dict[str, float]], key: str) -> float | None:
    values = [row[key] for row in rows if key in row]
    return statistics.fmean(values) if values else None


def summarise(options, photos, limit, ours_runs, baselines) -> dict:
    """Figures of each side's fastest round (other work on the machine only ever adds time)."""
    ours = min(ours_runs, key=lambda run: run["wall"])
    baseline = min(baselines, key=lambda run: run["wall"])
    input_bytes = sum(photo.stat().st_size for photo in photos)
    count = len(photos)
    task_means = {name: sum(runs) / count for name, runs in ours["tasks"].items()}
    stages = []
    for key, label, task in STAGES:
        run = task_means.get(task) if task else _mean(ours["per_photo"], f"run:{key}")
        if key == "receive":
            run = _mean(ours["per_photo"], "receive")
        stages.append(
            {
                "stage": key,
                "label": label,
                "ours_s": _mean(ours["per_photo"], key),
                "ours_task_run_s": run,
                "baseline_s": _mean(baseline["per_photo"], key),
            }
        )
    baseline_sum = sum(stage["baseline_s"] or 0 for stage in stages)
    run_sum = sum(stage["ours_task_run_s"] or 0 for stage in stages)
    stages.append(
        {
            "stage": "total",
            "label": "per photo, end to end (ours: latency; task run: sum)",
            "ours_s": _mean(ours["per_photo"], "latency"),
            "ours_task_run_s": run_sum,
            "baseline_s": baseline_sum,
        }
    )

    def totals(wall: float) -> dict:
        return {"wall_s": wall, "photos_per_s": count / wall, "mb_per_s": input_bytes / MB / wall}

    worker_seconds = sum(sum(runs) for runs in ours["tasks"].values())
    return {
        "benchmark": "ingest",
        "photos": count,
        "parallel": options.parallel,
        "photo_pixels": f"{WIDTH}x{HEIGHT}",
        "rounds": options.rounds,
        "round_walls_s": {"ours": [run["wall"] for run in ours_runs], "baseline": [run["wall"] for run in baselines]},
        "input_mb": input_bytes / MB,
        "cores": os.cpu_count(),
        "cpu_busy_before": options.busy_before,
        "cpu_busy_after": options.busy_after,
        "stages": stages,
        "ours": {**totals(ours["wall"]), "worker_busy": worker_seconds / (options.parallel * ours["wall"])},
        "baseline": totals(baseline["wall"]),
        "ratio": ours["wall"] / baseline["wall"],
        "target_ratio": TARGET_RATIO,
        "worker_tasks": {
            name: {"count": len(runs), "mean_s": statistics.fmean(runs), "total_s": sum(runs)}
            for name, runs in sorted(ours["tasks"].items())
        },
        "sha256_limit": limit,
    }


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_table(report: dict) -> None:
    width = max(len(stage["label"]) for stage in report["stages"])
    busy = {moment: report[f"cpu_busy_{moment}"] for moment in ("before", "after")}
    measured = [f"{share:.0%} {moment}" for moment, share in busy.items() if share is not None]
    print(
        f"Ingest of {report['photos']} generated {report['photo_pixels']} JPEGs ({report['input_mb']:.1f} MB), "
        f"parallelism {report['parallel']} on {report['cores']} cores"
        + (f"; CPUs busy with other work: {', '.join(measured)} the runs" if measured else "")
    )
    if any(share is not None and share > BUSY_WARNING for share in busy.values()):
        print("WARNING: other work was using the CPUs: these figures are unreliable, run again on a quiet machine.")
    print()
    header = f"{'stage (mean s/photo)':<{width}}  {'ours':>8}  {'ours run':>8}  {'baseline':>8}"
    print(header)
    print("-" * len(header))
    for stage in report["stages"]:
        if stage["stage"] == "total":
            print("-" * len(header))
        print(
            f"{stage['label']:<{width}}  {_seconds(stage['ours_s']):>8}  "
            f"{_seconds(stage['ours_task_run_s']):>8}  {_seconds(stage['baseline_s']):>8}"
        )
    print()
    print("ours: latency from the PREMIS events (queue waits included); ours run: the worker task's own run time.")
    print()
    ours, baseline = report["ours"], report["baseline"]
    print(f"{'':<22}{'wall s':>9}{'photos/s':>10}{'MB/s':>9}")
    for name, figures in (("ours", ours), ("baseline (bare libs)", baseline)):
        print(f"{name:<22}{figures['wall_s']:>9.2f}{figures['photos_per_s']:>10.3f}{figures['mb_per_s']:>9.1f}")
    walls = report["round_walls_s"]
    print(
        f"{report['rounds']} round(s), the fastest of each side counts: ours "
        + ", ".join(f"{wall:.2f}" for wall in walls["ours"])
        + " s; baseline "
        + ", ".join(f"{wall:.2f}" for wall in walls["baseline"])
        + " s"
    )
    verdict = "within" if report["ratio"] <= TARGET_RATIO else "ABOVE"
    print()
    print(f"orchestration overhead, ours / baseline: {report['ratio']:.2f} ({verdict} the {TARGET_RATIO} target)")
    print(f"worker busy: {ours['worker_busy']:.0%} of {report['parallel']} processes x the wall time")
    tasks = ", ".join(
        f"{name} {figures['count']} x {figures['mean_s']:.3f} s" for name, figures in report["worker_tasks"].items()
    )
    print(f"worker tasks: {tasks}")
    limit = report["sha256_limit"]
    print(
        f"limit: hashlib SHA-256 {limit['one_core_mb_per_s']:.0f} MB/s on one core, "
        f"{limit['parallel_mb_per_s']:.0f} MB/s on {report['parallel']} threads (files in memory)"
    )


# --- main -------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=8, help="how many 24 Mpx photos (default 8)")
    parser.add_argument(
        "--parallel", type=int, default=2, help="worker --concurrency and baseline pool size (default 2)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="baseline then ours, this many times; the fastest of each counts"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (photos, stores, logs)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL server URL (its database is ignored)")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="Redis database for the broker (flushed)")
    options = parser.parse_args(argv)
    if min(options.photos, options.parallel, options.rounds) < 1:
        parser.error("--photos, --parallel and --rounds must be at least 1")
    return options


def run(options: argparse.Namespace, workdir: Path, cleanup: contextlib.ExitStack) -> dict:
    needed = options.photos * (0.25 + 0.17 * options.rounds) * 1e9  # photos, staging, two stores per round
    free = shutil.disk_usage(workdir).free
    if free < needed:
        raise SystemExit(f"bench: {workdir} has {free / 1e9:.1f} GB free; this run needs about {needed / 1e9:.1f} GB")
    log(f"generating {options.photos} photos of {WIDTH}x{HEIGHT} in {workdir}")
    photos = generate_photos(workdir / "photos", options.photos, options.parallel)
    limit = sha256_limit(photos, options.parallel)
    log("starting PostgreSQL database, Redis db, two rclone S3 servers and the celery worker")
    worker, servers = start_services(options, workdir, cleanup)
    os.sync()
    options.busy_before = cpu_busy()
    if options.busy_before is not None and options.busy_before > BUSY_WARNING:
        log(f"WARNING: the CPUs are {options.busy_before:.0%} busy with other work; the figures will be unreliable")
    pool = baseline_pool(options.parallel, cleanup)
    baselines, ours_runs = [], []
    for number in range(1, options.rounds + 1):
        baselines.append(run_baseline(pool, photos, workdir / f"baseline-{number}", servers))
        os.sync()
        for server in servers:  # only ours stays on the stores: about 160 MB a photo and round
            shutil.rmtree(server.root / BASELINE_BUCKET / f"baseline-{number}", ignore_errors=True)
        ours_runs.append(run_ours(photos, worker, options.parallel, number))
        os.sync()
        log(
            f"round {number}/{options.rounds}: baseline (bare libraries, pool of {options.parallel}) "
            f"{baselines[-1]['wall']:.2f} s, ours (celery worker --concurrency {options.parallel}) "
            f"{ours_runs[-1]['wall']:.2f} s"
        )
    options.busy_after = cpu_busy(1.0)
    if options.keep:
        log(f"kept {workdir} (worker log: {worker.log_path})")
    return summarise(options, photos, limit, ours_runs, baselines)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    unwind_on_signals()
    workdir = Path(tempfile.mkdtemp(prefix="heritage-bench-"))
    try:
        with contextlib.ExitStack() as cleanup:
            if not options.keep:
                cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
            report = run(options, workdir, cleanup)
            log("cleaning up: worker, S3 servers, database, Redis db" + ("" if options.keep else ", temporary folder"))
    except KeyboardInterrupt:
        log("interrupted; the worker, servers, database and Redis db were cleaned up")
        return 130
    if options.json:
        print(json.dumps(rounded(report), indent=2))
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
