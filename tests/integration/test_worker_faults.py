"""A Celery worker killed mid-task (SIGKILL of its whole process group: the OOM killer, a power cut, a
``kill -9`` by a tired operator) on real services: PostgreSQL, a private Redis, real worker processes,
a local store and an rclone S3 store.

Tasks are acknowledged late (CELERY_TASK_ACKS_LATE, CELERY_TASK_REJECT_ON_WORKER_LOST), so the killed
task's message stays unacknowledged in Redis and is delivered again to the next worker once it is older
than the visibility timeout; the pipeline's steps are idempotent. Each test proves the end state equals
an uninterrupted run: same assets and digests, one OCFL version, every replica verified in every store,
no step's events twice, and no temporary file left (staging, store temporary files).

A killed ``manage.py audit`` process is covered by test_keeping_copies_honest.py
(test_a_store_stopped_mid_audit_and_a_killed_audit_lose_nothing_and_resume); here an audit *task* is
killed on its worker and resumes under its own lease when redelivered.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone
from PIL import Image

from archive import actions
from archive.models import Asset, HeritageObject
from preservation.models import ObjectAudit, PreservationEvent, ProcessingJob, Replica, StoreObject
from preservation.packaging import ocfl
from preservation.pipeline import limits
from preservation.processors.registry import get_processor
from preservation.staging import asset_dir, staging_root
from preservation.stores import registry
from preservation.stores.local import TMP_DIR
from tests.factories import make_object
from tests.factories import preserve_file as ingest_in_process
from tests.fixtures.services import ROOT, Worker, service_env, wait_for, worker_command
from tests.preservation.ocfl_validation import validate_local_root, validate_s3_root

pytestmark = [pytest.mark.services, pytest.mark.timeout(240)]

# Short enough that a killed task comes back within the test, longer than any task here takes.
VISIBILITY_TIMEOUT = 15


# --- a private broker for the test process and its workers ------------------------------------------------


def _forget_broker_connections(app) -> None:
    app._pool = None
    app.amqp._producer_pool = None


@contextlib.contextmanager
def publishing_to(url: str, visibility_timeout: int = VISIBILITY_TIMEOUT) -> Iterator[None]:
    """Make this process's Celery app (what ``actions`` and ``tasks`` publish with) use ``url``.

    Celery prefers the CELERY_BROKER_URL environment variable to ``conf.broker_url``, but publishes through
    ``broker_write_url`` when it is set: that is the one to change."""
    from config.celery import app

    saved = app.conf.get("broker_write_url"), app.conf.broker_transport_options
    app.conf["broker_write_url"] = url
    app.conf["broker_transport_options"] = {**(saved[1] or {}), "visibility_timeout": visibility_timeout}
    _forget_broker_connections(app)
    try:
        yield
    finally:
        app.conf["broker_write_url"], app.conf["broker_transport_options"] = saved
        _forget_broker_connections(app)


@pytest.fixture
def broker(private_redis):
    """A private, append-only Redis: a short visibility timeout here never redelivers another test's tasks."""
    with publishing_to(private_redis.url):
        yield private_redis


def spawn(command_env: dict[str, str], log_path: Path, name: str, beat: bool, concurrency: int) -> Worker:
    command = worker_command(concurrency, f"{name}-{os.getpid()}")
    if beat:
        command += ["-B", "--schedule", str(log_path.with_suffix(".beat"))]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=command_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: kill() takes the pool children too
        )
    worker = Worker(process, log_path)
    wait_for(lambda: "ready." in worker.log() or process.poll() is not None, 60, what=f"worker {name} to start")
    if process.poll() is not None:
        raise RuntimeError(f"worker {name} exited:\n{worker.log()[-3000:]}")
    return worker


@pytest.fixture
def spawn_worker(transactional_db, settings, tmp_path, broker) -> Iterator[Callable[..., Worker]]:
    """``spawn_worker(name, beat=False, **env)``: a real worker process on the private broker and the test
    database, finding messages of dead workers every second once they are older than VISIBILITY_TIMEOUT."""
    workers: list[Worker] = []

    def start(name: str, beat: bool = False, concurrency: int = 1, **env: str) -> Worker:
        command_env = service_env(
            settings,
            CELERY_BROKER_URL=broker.url,
            CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
            CELERY_UNACKED_RESTORE_SECONDS="1",
            **env,
        )
        worker = spawn(command_env, tmp_path / f"worker-{name}.log", name, beat, concurrency)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.kill()


# --- stores and files ----------------------------------------------------------------------------------


@pytest.fixture
def stores(settings, s3_server_factory, archive_folders):
    """A local store and an rclone S3 store: both kinds of temporary file (local .tmp, S3 keys) are checked."""
    server = s3_server_factory("s3-b")
    local_root = archive_folders / "stores" / "local-a"
    settings.ARCHIVE_STORES = [
        {
            "name": "local-a",
            "backend": "preservation.stores.local.LocalStore",
            "options": {"root": str(local_root), "create": True},
            "jurisdiction": "FR",
            "access_levels": ["public", "community", "restricted"],
        },
        server.store_config("s3-b", jurisdiction="CA"),
    ]
    registry.reset()
    return local_root, server


def big_photo(path: Path, size: tuple[int, int] = (6000, 4000)) -> Path:
    """A 24 Mpx photograph of noise: its Deflate master takes long enough to be killed while being made."""
    pixels = np.random.default_rng(7).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, "JPEG", quality=90)
    return path


def receive(obj: HeritageObject, source: Path, tmp_path: Path) -> Asset:
    """Take ``source`` as an upload would (staged, hashed) and queue its ingest on the broker."""
    staged = tmp_path / f"upload-{source.name}"
    shutil.copyfile(source, staged)
    data = source.read_bytes()
    asset, created = actions.receive_file(obj, staged, source.name, hashlib.sha256(data).hexdigest(), len(data))
    assert created
    return asset


def job_of(asset: Asset) -> ProcessingJob:
    return ProcessingJob.objects.get(asset=asset)


def task_ids(log: str, task: str) -> set[str]:
    return set(re.findall(rf"Task {re.escape(task)}\[([0-9a-f-]+)\] received", log))


def sha256_in_store(store_name: str, key: str) -> str:
    digest = hashlib.sha256()
    with registry.get_store(store_name).open(key) as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def ok_replicas_hold_their_bytes() -> int:
    """Every replica recorded as verified really holds the recorded bytes (never a half-written file)."""
    checked = 0
    for replica in Replica.objects.filter(state=Replica.State.OK).select_related("asset", "store"):
        assert sha256_in_store(replica.store.name, replica.key) == replica.asset.sha256, replica
        checked += 1
    return checked


def assert_like_an_uninterrupted_run(obj: HeritageObject, stores, expected: dict[str, str]) -> None:
    """One version, the expected files and digests, verified in every store, no step done twice, nothing
    left over in staging or in the stores' temporary areas."""
    local_root, server = stores
    obj.refresh_from_db()
    assert obj.versions.count() == 1
    files = Asset.objects.filter(object=obj).exclude(role=Asset.Role.METADATA)
    assert sorted(files.values_list("role", flat=True)) == sorted(expected), "one asset per role, no duplicates"
    assert {asset.role: asset.sha256 for asset in files} == expected
    for asset in Asset.objects.filter(object=obj):
        assert asset.status == Asset.State.READY
        assert asset.local_path == "", f"{asset.filename}: staging released after its verified copies"
        replicas = {r.store.name: r for r in asset.replicas.select_related("store")}
        assert set(replicas) == {"local-a", "s3-b"}
        for name, replica in replicas.items():
            assert replica.state == Replica.State.OK and replica.observed_sha256 == asset.sha256
            assert sha256_in_store(name, replica.key) == asset.sha256
        successes = Counter(
            PreservationEvent.objects.filter(asset=asset, event_type="replication", outcome="success").values_list(
                "store__name", flat=True
            )
        )
        assert successes == {"local-a": 1, "s3-b": 1}
    for name in ("local-a", "s3-b"):
        inventory = ocfl.read_inventory(registry.get_store(name), obj.ocfl_id)
        assert inventory["head"] == "v1"
    steps = Counter(
        PreservationEvent.objects.filter(asset__object=obj)
        .exclude(event_type="replication")
        .values_list("asset_id", "event_type", "detail")
    )
    assert [step for step, count in steps.items() if count > 1] == [], "a step recorded twice"
    assert ProcessingJob.objects.get(asset__object=obj, asset__role="original").state == ProcessingJob.State.DONE
    staged = [path for path in (staging_root() / "assets").rglob("*") if path.is_file()]
    assert staged == [], f"left in staging: {staged}"
    validate_s3_root(server, objects=1)


def assert_no_local_temporary_files(local_root: Path) -> None:
    """The local store's temporary area is gone, and the store is a valid OCFL storage root."""
    assert not (local_root / TMP_DIR).exists(), f"left in the store: {list((local_root / TMP_DIR).rglob('*'))}"
    validate_local_root(local_root, objects=1)


def uninterrupted_derivatives(source: Path, settings, folder: Path) -> dict[str, str]:
    """The digests an uninterrupted run gives (processing is deterministic): {role: sha256}."""
    folder.mkdir()
    processor = get_processor("image", **settings.ARCHIVE_PROCESSORS["image"])
    result = processor.process(source, folder, limits())
    digests = {d.role: hashlib.sha256(Path(d.path).read_bytes()).hexdigest() for d in result.derivatives}
    shutil.rmtree(folder)
    return {"original": hashlib.sha256(source.read_bytes()).hexdigest(), **digests}


# --- the faults -----------------------------------------------------------------------------------------


def test_a_worker_killed_during_normalization_is_redelivered_and_ends_as_an_uninterrupted_run(
    settings, spawn_worker, stores, personas, tmp_path
):
    settings.ARCHIVE_PROCESSORS = {
        **settings.ARCHIVE_PROCESSORS,
        "image": {**settings.ARCHIVE_PROCESSORS["image"], "master_compression": "zlib"},
    }
    photo = big_photo(tmp_path / "ceiling.jpg")
    expected = uninterrupted_derivatives(photo, settings, tmp_path / "reference")
    obj = make_object(personas.collection, "Painted ceiling", published=False)
    first = spawn_worker("first", ARCHIVE_MASTER_COMPRESSION="zlib")
    original = receive(obj, photo, tmp_path)
    staging = asset_dir(original.id)

    wait_for(
        lambda: job_of(original).stage == "normalizing" and any(staging.glob("work-*")),
        90,
        interval=0.02,
        what="normalization to start",
    )
    first.kill()
    original.refresh_from_db()
    assert original.status == Asset.State.PROCESSING, "killed while normalizing"
    assert not Asset.objects.filter(derived_from=original).exists()
    assert any(staging.glob("work-*")), "the killed run's working folder is still there"

    second = spawn_worker("second", ARCHIVE_MASTER_COMPRESSION="zlib")
    wait_for(lambda: job_of(original).state == ProcessingJob.State.DONE, 150, what="the redelivered run to finish")
    killed = task_ids(first.log(), "preservation.process")
    assert killed and killed <= task_ids(second.log(), "preservation.process"), "the same message, redelivered"
    assert_like_an_uninterrupted_run(obj, stores, expected)
    assert_no_local_temporary_files(stores[0])
    assert not staging.exists()


@pytest.mark.parametrize("store_name", ["local-a", "s3-b"])
def test_a_worker_killed_during_replication_never_records_a_half_written_copy(
    settings, spawn_worker, stores, personas, tmp_path, store_name
):
    survey = tmp_path / "survey.bin"  # no normalization policy: the original only, large enough to kill mid-write
    survey.write_bytes(os.urandom(96 * 1024 * 1024))
    expected = {"original": hashlib.sha256(survey.read_bytes()).hexdigest()}
    obj = make_object(personas.collection, "Laser survey", published=False)
    first = spawn_worker("first")
    original = receive(obj, survey, tmp_path)

    local_root, server = stores

    def partial_copies() -> list[Path]:
        """The survey's bytes on their way into the store: the local store's temporary file, or the object
        rclone is receiving."""
        found = (local_root / TMP_DIR).glob("put-*") if store_name == "local-a" else server.root.rglob("survey.bin")
        with contextlib.suppress(FileNotFoundError):
            return [path for path in found if path.stat().st_size > 0]
        return []

    wait_for(partial_copies, 90, interval=0.02, what=f"the survey's bytes to start reaching {store_name}")
    writing = StoreObject.objects.select_related("store").get(object=obj, store__name=store_name)
    first.kill()
    if store_name == "local-a":  # as if the killed write had died an hour ago
        for orphan in partial_copies():
            os.utime(orphan, (orphan.stat().st_atime - 3600, orphan.stat().st_mtime - 3600))
    assert StoreObject.objects.get(pk=writing.pk).head_version == 0, f"killed while writing to {writing.store}"
    assert not original.replicas.filter(store=writing.store, state=Replica.State.OK).exists()
    ok_replicas_hold_their_bytes()  # whatever was marked verified before the kill really is in its store

    # The dead worker's (object, store) write lease is still held; the redelivered task (same task id) takes
    # it back at once (replication.lease is re-entrant for its owner).
    second = spawn_worker("second")
    wait_for(lambda: job_of(original).state == ProcessingJob.State.DONE, 150, what="the redelivered copy")
    killed = task_ids(first.log(), "preservation.replicate")
    assert killed and killed & task_ids(second.log(), "preservation.replicate"), "the killed copy, redelivered"
    assert_like_an_uninterrupted_run(obj, stores, expected)
    assert_no_local_temporary_files(local_root)


def test_a_worker_killed_during_an_audit_resumes_under_its_own_lease(
    settings, spawn_worker, stores, personas, tmp_path
):
    from preservation.tasks import audit_object

    obj = make_object(personas.collection, "Field notebooks")
    for index in range(3):
        path = tmp_path / f"notebook-{index}.bin"
        path.write_bytes(os.urandom(6 * 1024 * 1024))
        ingest_in_process(obj, path, tmp_path)
    replicas = Replica.objects.filter(asset__object=obj).count()
    started = timezone.now()
    first = spawn_worker("first", ARCHIVE_AUDIT_MB_PER_S="3")  # about 12 s for the 36 MB of copies
    audit_object.delay(obj.pk, since_days=0)
    wait_for(
        lambda: Replica.objects.filter(asset__object=obj, verified_at__gt=started).exists(),
        60,
        interval=0.05,
        what="the audit to verify a first copy",
    )
    first.kill()
    audit = ObjectAudit.objects.get(object=obj)
    assert audit.lease_owner and audit.finished_at is None, "killed mid-audit, holding its lease"
    assert Replica.objects.filter(asset__object=obj, verified_at__gt=started).count() < replicas

    second = spawn_worker("second")
    wait_for(
        lambda: ObjectAudit.objects.filter(object=obj, finished_at__gt=started, lease_owner="").exists(),
        120,
        what="the redelivered audit to finish and release its lease",
    )
    killed = task_ids(first.log(), "preservation.audit_object")
    assert killed and killed <= task_ids(second.log(), "preservation.audit_object"), "the same message, redelivered"
    audit.refresh_from_db()
    assert audit.healthy is True
    assert Replica.objects.filter(asset__object=obj, state="ok", verified_at__gt=started).count() == replicas
    assert not PreservationEvent.objects.filter(event_type="fixity check", outcome="failure").exists()
