"""The soak's private stack, and the faults it injects into it.

Everything runs on loopback ports over one temporary folder, so the machine's shared PostgreSQL and Redis
are never touched: a PostgreSQL cluster of its own (``PrivatePostgres``, database ``heritage_soak``), a
Redis of its own with append-only persistence (``PrivateRedis``: a restart or a crash keeps the queue),
two ``rclone serve s3`` stores and a local folder store, gunicorn serving the app, celery beat (the
sweeper) and N celery workers, each in its own process group so that one can be SIGKILLed whole.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from benchmarks.common import log
from benchmarks.ingest import ROOT, Worker, service_env

DATABASE = "heritage_soak"
QUEUES = ("ingest", "media", "heavy", "replication")
FAULT_CYCLE = ("kill-worker", "redis-restart", "kill-worker", "redis-crash")


class SoakWorker(Worker):
    """One ``celery worker`` in its own session (process group), named so its log lines can be told apart.

    With ``lease_seconds`` the replication lease (ARCHIVE_REPLICATION_LEASE_SECONDS) is that short, so a copy
    whose worker was killed mid-write is taken up again within the run."""

    def __init__(self, env: dict[str, str], concurrency: int, log_path: Path, name: str, lease_seconds: int | None):
        from tests.fixtures.services import worker_command

        self.log_path = log_path
        self.name = name
        command = worker_command(concurrency, name)
        extra = {}
        if lease_seconds:
            extra["ARCHIVE_REPLICATION_LEASE_SECONDS"] = str(lease_seconds)
        with open(log_path, "wb") as output:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, **env, **extra, "DJANGO_LOG_LEVEL": "INFO"},
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the whole process group: the main process and its pool children, mid-task."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


class Stack:
    """Start with ``start()``; every process is stopped and the database folder removed by ``cleanup``."""

    def __init__(self, options, workdir: Path, cleanup: contextlib.ExitStack) -> None:
        self.options = options
        self.workdir = workdir
        self.cleanup = cleanup
        self.workers: list[SoakWorker] = []
        self.retired: list[SoakWorker] = []
        self.env: dict[str, str] = {}
        self._lock = threading.Lock()
        self._spawned = 0

    # --- services ---------------------------------------------------------------------------------

    def start(self) -> None:
        from tests.fixtures.private_services import PrivatePostgres, PrivateRedis

        options, workdir = self.options, self.workdir
        # PostgreSQL runs as the postgres user when we are root: its folder must not be inside our 0700 workdir.
        pg_folder = Path(f"/tmp/heritage-soak-pg-{os.getpid()}")
        self.cleanup.callback(_remove_tree, pg_folder)
        self.postgres = PrivatePostgres(pg_folder)
        self.postgres.start()
        self.cleanup.callback(self.postgres.close)
        database_url = self.postgres.create_database(DATABASE)
        self.redis = PrivateRedis(workdir / "redis")
        self.redis.start()
        self.cleanup.callback(self.redis.kill)
        self.servers = self._s3_servers()
        env = service_env(workdir, database_url, self.redis.url, self.servers)
        stores = json.loads(env["ARCHIVE_STORES"])
        if options.local_store:
            stores.append(
                {
                    "name": "local-c",
                    "backend": "preservation.stores.local.LocalStore",
                    "options": {"root": str(workdir / "local-c"), "create": True},
                    "jurisdiction": "LOCAL-C",
                    "access_levels": ["public", "community", "restricted"],
                }
            )
        redis_base = self.redis.url.rsplit("/", 1)[0]
        env.update(
            ARCHIVE_STORES=json.dumps(stores),
            ARCHIVE_CACHE_URL=f"{redis_base}/1",  # API rate limits shared by the web processes, as compose does
            ARCHIVE_SWEEP_INTERVAL=str(options.sweep_interval),
            ARCHIVE_STUCK_AFTER_SECONDS=str(options.stuck_after),
            ARCHIVE_TASK_RETRY_BACKOFF_MAX=str(options.retry_backoff_max),
            CELERY_VISIBILITY_TIMEOUT=str(options.visibility_timeout),
            ARCHIVE_STAGING_RESERVE_BYTES="0",
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),  # DEBUG=0 refuses the embedded development key
            DJANGO_HTTPS="0",  # plain HTTP on loopback: no redirect to https, cookies sent over http
        )
        self.env = env
        self.store_names = [store["name"] for store in stores]
        for name in env:  # config.settings reads NAME_FILE before NAME: the caller's files must not win
            os.environ.pop(f"{name}_FILE", None)
        os.environ.update(env)
        os.environ["DJANGO_LOG_LEVEL"] = "WARNING"
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=os.environ, check=True
        )
        import django

        django.setup()
        self.cleanup.callback(_close_connections)

    def _s3_servers(self) -> list:
        from tests.fixtures.s3 import S3Server

        servers = []
        for name in ("s3-a", "s3-b"):
            server = S3Server(self.workdir / name)
            self.cleanup.callback(server.stop)
            servers.append(server.start())
        return servers

    def start_processes(self) -> None:
        """gunicorn, beat and the workers (after the catalogue's users and collection exist)."""
        from tests.fixtures.private_services import free_port

        self.port = free_port()
        web_env = {
            **os.environ,
            **self.env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": str(self.options.web_workers),
            "GUNICORN_ACCESS_LOG": str(self.workdir / "access.log"),
            "DJANGO_LOG_LEVEL": "WARNING",
        }
        command = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi:application"]
        self.web = self._spawn(command, web_env, self.workdir / "web.log")
        beat_command = [
            sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
            "--schedule", str(self.workdir / "beat-schedule"),
        ]  # fmt: skip
        self.beat = self._spawn(beat_command, {**os.environ, **self.env}, self.workdir / "beat.log")
        for _ in range(self.options.workers):
            self.add_worker(wait=False)
        for worker in list(self.workers):
            worker.wait_ready(120)
        self._wait_for_web()

    def _spawn(self, command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
        with open(log_path, "ab") as output:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.cleanup.callback(_stop_group, process)
        return process

    def _wait_for_web(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.base_url}/healthz", timeout=5).close()
                return
            except urllib.error.HTTPError:
                return  # 503 (a store not answering yet) is still gunicorn answering
            except OSError:
                if self.web.poll() is not None:
                    break
                time.sleep(0.2)
        tail = (self.workdir / "web.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"gunicorn did not answer; its log ends with:\n{tail}")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- workers ----------------------------------------------------------------------------------

    def add_worker(self, wait: bool = True) -> SoakWorker:
        with self._lock:
            self._spawned += 1
            name = f"soak{self._spawned}-{os.getpid()}"
            worker = SoakWorker(
                self.env,
                self.options.concurrency,
                self.workdir / f"worker-{self._spawned}.log",
                name,
                self.options.lease_seconds,
            )
            self.workers.append(worker)
            self.cleanup.callback(worker.stop)
        if wait:
            worker.wait_ready(120)
        return worker

    def kill_worker(self, rng: random.Random) -> str:
        """SIGKILL one worker's process group, then start a replacement; returns what happened."""
        with self._lock:
            victim = rng.choice(self.workers)
            self.workers.remove(victim)
            self.retired.append(victim)
        victim.kill()
        replacement = self.add_worker(wait=True)
        return f"SIGKILL {victim.name} (pid {victim.process.pid}); replacement {replacement.name} ready"

    def worker_logs(self) -> list[str]:
        return [worker.log() for worker in [*self.retired, *self.workers]]

    def queue_depth(self) -> tuple[int, int] | None:
        """(messages waiting in the four queues, messages delivered and not yet acknowledged), or None
        while Redis is down."""
        import redis

        client = redis.Redis.from_url(self.redis.url, socket_timeout=2, socket_connect_timeout=2)
        try:
            waiting = sum(client.llen(name) for name in QUEUES)
            return waiting, client.hlen("unacked")
        except redis.RedisError:
            return None
        finally:
            client.close()


class FaultInjector(threading.Thread):
    """Kills a worker (SIGKILL of its process group, then a replacement) and restarts Redis (alternately
    a clean SIGTERM shutdown and a SIGKILL crash), in the order of ``FAULT_CYCLE``.

    Moments come from ``schedule`` (seconds after ``started``) when given, else from a seeded exponential
    distribution with mean ``interval``. ``stop`` ends it; a fault already begun is finished first.
    """

    def __init__(
        self,
        stack: Stack,
        *,
        started: float,
        stop: threading.Event,
        seed: int,
        interval: float,
        downtime: float,
        schedule: list[tuple[float, str]] | None = None,
    ) -> None:
        super().__init__(name="soak-faults", daemon=True)
        self.stack = stack
        self.started = started
        self.stop_event = stop
        self.rng = random.Random(seed)
        self.interval = interval
        self.downtime = downtime
        self.schedule = list(schedule) if schedule is not None else None
        self.faults: list[dict] = []
        self.errors: list[str] = []

    def moments(self):
        if self.schedule is not None:
            yield from self.schedule
            return
        at, number = 0.0, 0
        while True:
            at += self.rng.expovariate(1 / self.interval)
            yield at, FAULT_CYCLE[number % len(FAULT_CYCLE)]
            number += 1

    @property
    def random(self) -> bool:
        return self.schedule is None

    @property
    def exhausted(self) -> bool:
        """Every scheduled fault happened (never true for the random schedule, which has no end)."""
        return self.schedule is not None and len(self.faults) + len(self.errors) >= len(self.schedule)

    def run(self) -> None:
        for at, kind in self.moments():
            if self.stop_event.wait(max(0.0, self.started + at - time.time())):
                return
            begun = time.time()
            try:
                detail = self.inject(kind)
            except Exception as error:  # noqa: BLE001 - a fault that could not be injected is reported, not fatal
                self.errors.append(f"{kind} at {begun - self.started:.0f}s: {error!r}")
                log(f"fault {kind} could not be injected: {error!r}")
                continue
            self.faults.append(
                {"at_s": begun - self.started, "kind": kind, "detail": detail, "seconds": time.time() - begun}
            )
            log(f"fault {len(self.faults)} at {begun - self.started:.0f}s: {kind}: {detail}")

    def inject(self, kind: str) -> str:
        if kind == "kill-worker":
            return self.stack.kill_worker(self.rng)
        redis = self.stack.redis
        if kind == "redis-crash":
            redis.kill()
        else:
            redis.stop()
        time.sleep(self.downtime)  # clients and workers meet a Redis that is not there
        redis.start()
        how = "SIGKILL" if kind == "redis-crash" else "SIGTERM (clean shutdown)"
        return f"Redis {how}, down {self.downtime:.0f}s, restarted from its append-only file"


def parse_schedule(text: str) -> list[tuple[float, str]]:
    """``"kill-worker@20,redis-restart@45"`` -> [(20.0, "kill-worker"), (45.0, "redis-restart")]."""
    schedule = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        kind, _, at = part.partition("@")
        if kind not in FAULT_CYCLE or not at:
            raise ValueError(f"{part!r}: expected KIND@SECONDS with KIND one of {', '.join(sorted(set(FAULT_CYCLE)))}")
        schedule.append((float(at), kind))
    return sorted(schedule)


def _stop_group(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _close_connections() -> None:
    from django.db import connections

    connections.close_all()


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
