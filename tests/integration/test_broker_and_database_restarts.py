"""Redis and PostgreSQL restarted under load, on private servers (never the machine's shared ones).

- Redis stopped cleanly and Redis killed (SIGKILL) while uploads are queued and one is being processed:
  the append-only file keeps the queue, workers and publishers reconnect, every upload ends READY.
- Redis losing everything (FLUSHALL, then a restart without its append-only file), and an upload arriving
  while it is down: the upload is accepted all the same, the database-driven sweeper (beat) queues the
  unfinished work again from the catalogue, and every upload still ends READY.
- PostgreSQL restarted, cleanly and by a crash, in the middle of ingest with the whole stack on it (web
  server, worker, beat): requests during the outage get a 503 with a message and Retry-After (never a
  500 or a traceback), tasks retry with backoff, and afterwards every upload is READY exactly once with
  verified copies.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import queue
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg
import pytest
import redis
import requests
from PIL import Image

from archive.models import Asset, HeritageObject
from preservation.models import ProcessingJob, Replica
from tests.factories import make_object
from tests.fixtures.private_services import free_port
from tests.fixtures.services import ROOT, service_env, wait_for
from tests.integration import test_worker_faults as worker_faults
from tests.integration.test_worker_faults import receive, sha256_in_store, spawn

# Fixtures shared with the worker-fault tests: a private Redis the test process publishes to, and workers on it.
broker = worker_faults.broker
spawn_worker = worker_faults.spawn_worker

pytestmark = [pytest.mark.services, pytest.mark.timeout(240)]


def photo(folder: Path, name: str, seed: int) -> Path:
    """A 3 Mpx photograph of noise: a second or so of processing, so uploads queue up behind each other."""
    pixels = np.random.default_rng(seed).integers(0, 256, (1500, 2000, 3), dtype=np.uint8)
    path = folder / name
    Image.fromarray(pixels).save(path, "JPEG", quality=90)
    return path


def upload_batch(personas, tmp_path: Path, names: list[str], seed: int) -> list[Asset]:
    """One object per photo, each received as an upload would be and queued on the broker."""
    originals = []
    for index, name in enumerate(names):
        obj = make_object(personas.collection, f"Mural {name}", published=False)
        originals.append(receive(obj, photo(tmp_path, f"{name}.jpg", seed + index), tmp_path))
    return originals


def one_running_others_queued(originals: list[Asset]) -> bool:
    """One upload is being normalized while others wait in the broker for their next step."""
    stages = list(ProcessingJob.objects.filter(asset__in=originals).values_list("stage", flat=True))
    return "normalizing" in stages and any(stage in ("received", "identified") for stage in stages)


def all_preserved(originals: list[Asset]) -> bool:
    return all(job.state == ProcessingJob.State.DONE for job in ProcessingJob.objects.filter(asset__in=originals))


def assert_each_preserved_once(originals: list[Asset]) -> None:
    """READY, one version, the original and its three derivatives, each verified in both stores."""
    for original in originals:
        original.refresh_from_db()
        assert original.status == Asset.State.READY, (original.original_name, original.status_message)
        obj = HeritageObject.objects.get(pk=original.object_id)
        assert obj.versions.count() == 1
        files = Asset.objects.filter(object=obj).exclude(role=Asset.Role.METADATA)
        assert sorted(files.values_list("role", flat=True)) == ["access", "master", "original", "thumbnail"]
        for asset in Asset.objects.filter(object=obj):
            replicas = asset.replicas.select_related("store")
            assert sorted((r.store.name, r.state) for r in replicas) == [("local-a", "ok"), ("local-b", "ok")]
            for replica in replicas:
                assert sha256_in_store(replica.store.name, replica.key) == asset.sha256


def test_uploads_queued_and_running_survive_a_redis_restart_and_a_redis_crash(
    settings, spawn_worker, broker, personas, tmp_path
):
    # No beat: what is recovered here is recovered by Redis's append-only file and by redelivery alone.
    spawn_worker("worker")
    first = upload_batch(personas, tmp_path, ["north", "east", "south"], seed=10)
    wait_for(lambda: one_running_others_queued(first), 60, interval=0.02, what="one upload processing, others queued")
    broker.restart()  # SIGTERM: Redis writes what it holds and stops; then it starts again from its files
    second = upload_batch(personas, tmp_path, ["west", "centre", "apse"], seed=20)
    wait_for(lambda: one_running_others_queued(second), 90, interval=0.02, what="one upload processing, others queued")
    broker.restart(crash=True)  # SIGKILL: only what the append-only file holds survives
    wait_for(lambda: all_preserved(first + second), 150, what="every upload preserved")
    assert_each_preserved_once(first + second)


def test_the_sweeper_finishes_every_upload_after_redis_loses_everything(
    settings, spawn_worker, broker, personas, tmp_path, caplog
):
    settings.ARCHIVE_STUCK_AFTER_SECONDS = 5
    settings.CELERY_BEAT_SCHEDULE = {"sweep-under-replicated": {"task": "preservation.sweep", "schedule": 2.0}}
    spawn_worker("worker", beat=True)
    first = upload_batch(personas, tmp_path, ["nave", "choir", "crypt"], seed=30)
    wait_for(lambda: one_running_others_queued(first), 60, interval=0.02, what="one upload processing, others queued")
    redis.Redis.from_url(broker.url).flushall()  # every queued and unacknowledged task is gone
    wait_for(lambda: all_preserved(first), 120, what="the sweeper to finish the first batch")

    second = upload_batch(personas, tmp_path, ["porch", "tower", "cloister"], seed=40)
    wait_for(lambda: one_running_others_queued(second), 60, interval=0.02, what="one upload processing, others queued")
    broker.kill()
    # An upload arriving while Redis is down is accepted all the same (its ingest cannot be queued yet).
    with caplog.at_level(logging.WARNING, logger="preservation.tasks"):
        second += upload_batch(personas, tmp_path, ["sacristy"], seed=50)
    assert "the sweeper will queue it" in caplog.text
    shutil.rmtree(broker.folder / "appendonlydir")  # a restart that lost its append-only file
    broker.start()
    wait_for(lambda: all_preserved(second), 120, what="the sweeper to finish the second batch")
    assert_each_preserved_once(first + second)
    assert not Replica.objects.exclude(state=Replica.State.OK).exists()


# --- PostgreSQL restarted under the whole stack -----------------------------------------------------------

SETUP = """
import json
from tests.factories import make_object, make_personas
personas = make_personas()
print(json.dumps([make_object(personas.collection, f"Fresco {n}", published=False).identifier for n in range(%d)]))
"""


@dataclass
class Stack:
    """Web server, worker and beat on a private PostgreSQL database and a private Redis."""

    url: str
    database_url: str
    token: str
    objects: list[str]
    processes: list[subprocess.Popen] = field(default_factory=list)

    def query(self, sql: str, *params) -> list[tuple] | None:
        """Rows from the catalogue, or None while the database does not answer."""
        try:
            with psycopg.connect(self.database_url, connect_timeout=2) as connection:
                return connection.execute(sql, params).fetchall()
        except psycopg.OperationalError:
            return None


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def answers(url: str) -> bool:
    with contextlib.suppress(requests.RequestException):
        return requests.get(url, timeout=2).status_code < 500
    return False


@pytest.fixture
def stack(settings, private_postgres, private_redis, tmp_path) -> Iterator[Stack]:
    database_url = private_postgres.create_database("heritage")
    env = service_env(
        settings,
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=private_redis.url,
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_HTTPS="0",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        ARCHIVE_API_WRITE_RATE="",
        ARCHIVE_API_USER_RATE="",
        # Retries every 2-4 s for about half a minute cover a restart; the sweeper covers anything longer.
        ARCHIVE_TASK_MAX_RETRIES="10",
        ARCHIVE_TASK_RETRY_BACKOFF_MAX="4",
        ARCHIVE_STUCK_AFTER_SECONDS="20",
        ARCHIVE_SWEEP_INTERVAL="2",
        CELERY_VISIBILITY_TIMEOUT="30",
        CELERY_UNACKED_RESTORE_SECONDS="1",
    )
    manage(env, "migrate", "--verbosity", "0")
    objects = json.loads(manage(env, "shell", "-c", SETUP % 6).strip().splitlines()[-1])
    token = manage(env, "api_token", "curator", "--verbosity", "0").strip()
    port = free_port()
    web_env = dict(env, GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="2", GUNICORN_TIMEOUT="60")
    state = Stack(f"http://127.0.0.1:{port}", database_url, token, objects)
    with open(tmp_path / "web.log", "ab") as log:
        state.processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi:application"],
                cwd=ROOT,
                env=web_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
    worker = spawn(env, tmp_path / "worker.log", "stack", beat=True, concurrency=1)
    state.processes.append(worker.process)
    try:
        wait_for(lambda: answers(f"{state.url}/api/"), 60, what="the web server")
        yield state
    finally:
        for process in state.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            process.wait(timeout=10)


class Uploader(threading.Thread):
    """A scripted client: POSTs each file it is given to the REST API, retrying after a 503 until accepted."""

    def __init__(self, stack: Stack) -> None:
        super().__init__(daemon=True)
        self.stack = stack
        self.todo: queue.Queue[tuple[str, Path] | None] = queue.Queue()
        self.statuses: list[int] = []
        self.accepted: list[str] = []
        self.unexpected = ""

    def send(self, *files: tuple[str, Path]) -> None:
        for item in files:
            self.todo.put(item)

    def run(self) -> None:
        while (item := self.todo.get()) is not None:
            if not self._upload(*item):
                return

    def _upload(self, identifier: str, path: Path) -> bool:
        while True:
            try:
                with open(path, "rb") as handle:
                    response = requests.post(
                        f"{self.stack.url}/api/objects/{identifier}/files/",
                        files={"file": (path.name, handle, "image/jpeg")},
                        headers={"Authorization": f"Token {self.stack.token}"},
                        timeout=30,
                    )
            except requests.ConnectionError:
                time.sleep(0.2)
                continue
            self.statuses.append(response.status_code)
            if response.status_code in (200, 202):
                self.accepted.append(response.json()["id"])
                return True
            if response.status_code != 503:
                self.unexpected = f"{response.status_code}: {response.text[:500]}"
                return False
            time.sleep(0.3)  # a real client waits Retry-After; the test has no time to lose


def probe(stack: Stack) -> dict[str, requests.Response]:
    """A page, the API and OAI-PMH, as a visitor and a harvester would ask for them."""
    return {
        "page": requests.get(f"{stack.url}/", timeout=10),
        "api": requests.get(f"{stack.url}/api/objects/", timeout=10),
        "oai": requests.get(f"{stack.url}/oai", params={"verb": "Identify"}, timeout=10),
    }


def assert_unavailable(responses: dict[str, requests.Response]) -> None:
    kinds = {"page": "text/html", "api": "application/json", "oai": "text/plain"}
    for name, response in responses.items():
        assert response.status_code == 503, (name, response.status_code, response.text[:300])
        assert response.headers["Retry-After"].isdigit()
        assert response.headers["Content-Type"].startswith(kinds[name])
        assert "try again" in response.text and "Traceback" not in response.text


def outage(stack: Stack, private_postgres, uploader: Uploader, mode: str, upload: tuple[str, Path]) -> None:
    """Stop PostgreSQL (``fast``: clean; ``immediate``: a crash) while ingest works, check what visitors,
    harvesters and an uploading client get, then start it again."""
    wait_for(lambda: stack.query("SELECT 1 FROM preservation_processingjob WHERE state = 'running'"), 60, 0.05)
    seen = len(uploader.statuses)
    private_postgres.stop(mode)
    assert_unavailable(probe(stack))
    uploader.send(upload)
    wait_for(lambda: 503 in uploader.statuses[seen:], 30, what="an upload refused during the outage")
    private_postgres.start()
    # A replicate task the outage interrupted could not release its (object, store) write lease: its retry
    # (same task id) takes it back at once, so nothing is expired by hand here.


def test_postgresql_restarted_during_ingest_answers_503_then_loses_and_duplicates_nothing(
    stack, private_postgres, tmp_path, settings
):
    files = [(identifier, photo(tmp_path, f"fresco-{n}.jpg", 50 + n)) for n, identifier in enumerate(stack.objects)]
    digests = {hashlib.sha256(path.read_bytes()).hexdigest() for _, path in files}
    uploader = Uploader(stack)
    uploader.start()
    uploader.send(*files[0:2])
    wait_for(lambda: len(uploader.accepted) == 2, 60, what="two uploads accepted")
    outage(stack, private_postgres, uploader, "fast", files[2])
    wait_for(lambda: len(uploader.accepted) == 3, 60, what="the refused upload accepted once the database is back")
    uploader.send(*files[3:5])
    wait_for(lambda: len(uploader.accepted) == 5, 60, what="two more uploads accepted")
    outage(stack, private_postgres, uploader, "immediate", files[5])
    uploader.send(None)
    uploader.join(timeout=120)
    assert not uploader.unexpected
    assert not uploader.is_alive() and len(uploader.accepted) == len(files)
    assert set(uploader.statuses) <= {202, 200, 503}, uploader.statuses

    def done() -> bool:
        rows = stack.query("SELECT state FROM preservation_processingjob")
        return rows is not None and len(rows) == len(files) and all(state == "done" for (state,) in rows)

    wait_for(done, 150, what="every upload preserved")
    originals = stack.query("SELECT id, sha256, status FROM archive_asset WHERE role = 'original'")
    assert sorted(sha for _, sha, _ in originals) == sorted(digests), "each upload exactly once"
    assert {status for _, _, status in originals} == {"ready"}
    replicas = stack.query(
        "SELECT a.sha256, s.name, r.key, r.state FROM preservation_replica r "
        "JOIN archive_asset a ON a.id = r.asset_id JOIN preservation_store s ON s.id = r.store_id"
    )
    roots = {store["name"]: Path(store["options"]["root"]) for store in settings.ARCHIVE_STORES}
    for sha256, store_name, key, state in replicas:
        assert state == "ok"
        assert hashlib.sha256((roots[store_name] / key).read_bytes()).hexdigest() == sha256
    per_asset = stack.query(
        "SELECT a.id, count(r.id) FROM archive_asset a LEFT JOIN preservation_replica r ON r.asset_id = a.id "
        "AND r.state = 'ok' GROUP BY a.id"
    )
    assert {count for _, count in per_asset} == {2}, "every file verified in both stores"
    versions = stack.query("SELECT object_id, count(*) FROM archive_objectversion GROUP BY object_id")
    assert sorted(count for _, count in versions) == [1] * len(files)
    left = [p for p in (Path(settings.STAGING_ROOT)).rglob("*") if p.is_file()]
    assert left == [], f"left in staging: {left}"
