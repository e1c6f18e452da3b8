"""Stores on a bad day: slow, refusing writes, full, returning wrong bytes. Real `rclone serve s3` servers,
one of them behind a fault-injecting proxy (tests/fixtures/faulty_s3.py), PostgreSQL, Redis and a Celery
worker process talking to the proxy's URL.

Every fault is detected and reported (a failed replication event, a log line, `manage.py stores` and the
stores page), ingest carries on with the copies it can make (the object is READY, its policy not yet met,
its staged file kept while fewer than ARCHIVE_MIN_COPIES verified copies exist), and the fault once removed
heals by itself (task retries, then the sweeper) and the audit verifies the result.

A store stopped outright during ingest is test_ingest_on_services.py's
test_a_store_down_past_the_retry_window_is_healed_by_the_sweeper; a byte flipped on a store's disk, a deleted
copy and a store stopped mid-audit are test_keeping_copies_honest.py's. The tests without the ``services``
mark need only rclone (and, for a full disk, permission to mount a tmpfs).
"""

from __future__ import annotations

import hashlib
import os
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from archive import actions
from archive.models import Asset
from preservation import pipeline, policy, sweeper
from preservation.fixity import audit
from preservation.health import store_health
from preservation.models import PreservationEvent, ProcessingJob, Replica, StoreObject
from preservation.packaging import ocfl
from preservation.replication import replicate_object
from preservation.stores import registry
from preservation.stores.base import StoreFull, StoreIntegrityError, StoreUnavailable
from tests.factories import client_for, make_object
from tests.fixtures.services import wait_for

pytestmark = [pytest.mark.timeout(180)]
services = pytest.mark.services
MIB = 1024 * 1024


def receive(obj, tmp_path: Path, name: str, size: int = 300_000, enqueue: bool = True) -> Asset:
    """Incompressible bytes with no normalization policy (kept as the original only), received the way an
    upload is: staged, hashed, and (``enqueue``) handed to the workers."""
    data = os.urandom(size)
    staged = tmp_path / f"staged-{name}"
    staged.write_bytes(data)
    asset, _ = actions.receive_file(
        obj, staged, name, hashlib.sha256(data).hexdigest(), len(data), via="test", enqueue=enqueue
    )
    return asset


@pytest.fixture
def good_and_faulty(settings, s3_server_factory, faulty_s3):
    """Store s3-a (FR) on an rclone server, store s3-b (CA) on another one behind the fault proxy; retries
    and the sweeper run every couple of seconds so that healing is quick."""
    good = s3_server_factory("s3-a")
    proxy = faulty_s3("s3-b")

    def configure(**faulty_options) -> None:
        settings.ARCHIVE_STORES = [
            good.store_config("s3-a", jurisdiction="FR"),
            proxy.store_config("s3-b", jurisdiction="CA", **faulty_options),
        ]
        registry.reset()

    settings.ARCHIVE_TASK_MAX_RETRIES = 1
    settings.ARCHIVE_TASK_RETRY_BACKOFF_MAX = 2
    settings.CELERY_BEAT_SCHEDULE = {"sweep-under-replicated": {"task": "preservation.sweep", "schedule": 2.0}}
    configure()
    return good, proxy, configure


def ingest_while_faulty(obj, tmp_path, start_worker, name: str) -> tuple[Asset, object]:
    """Start a worker, send one file, wait until s3-a holds it and s3-b has failed twice (task + retry)."""
    worker = start_worker()
    original = receive(obj, tmp_path, name)
    wait_for(
        lambda: Replica.objects.filter(asset=original, store__name="s3-a", state="ok").exists(),
        60,
        what="the copy on the healthy store",
    )
    wait_for(
        lambda: StoreObject.objects.filter(object=obj, store__name="s3-b", attempts__gte=2).exists(),
        60,
        what="two failed attempts on the faulty store",
    )
    original.refresh_from_db()
    return original, worker


def assert_under_replicated_and_reported(obj, original: Asset, worker, personas, *words: str) -> None:
    """READY with one copy, policy not met, staging kept, and the fault visible in every report."""
    assert original.status == Asset.State.READY
    assert original.local_path and Path(original.local_path).is_file(), "staging kept while one copy exists"
    assert not Replica.objects.filter(asset__object=obj, store__name="s3-b", state="ok").exists()
    status = policy.evaluate(obj)
    assert not status.met and "1 verified copy of 2 required." in status.problems, status.problems
    assert ProcessingJob.objects.get(asset=original).state == ProcessingJob.State.RUNNING

    failures = PreservationEvent.objects.filter(event_type="replication", outcome="failure", store__name="s3-b")
    assert failures.count() == 1, "one event per distinct failure, not one per retry"
    for word in words:
        assert any(word in event.detail for event in failures), (word, [e.detail for e in failures])
        assert word in worker.log(), f"{word!r} not in the worker's log"
    assert f"replication of {obj.identifier} to store s3-b failed" in worker.log()

    out = StringIO()
    with pytest.raises(SystemExit) as exit_code:
        call_command("stores", stdout=out)
    assert exit_code.value.code == 1
    lines = {line.split()[0]: line for line in out.getvalue().splitlines()}
    assert "WRITES FAILING" not in lines["s3-a"]
    assert "WRITES FAILING" in lines["s3-b"] and "under_replicated=1" in lines["s3-b"]
    for word in words:
        assert word in lines["s3-b"], lines["s3-b"]
    page = client_for(personas.staff).get("/curate/stores/").content.decode()
    assert words[0] in page


def assert_healed(obj, original: Asset, servers: dict) -> None:
    """Every file on both stores, verified, byte-identical; staging released; policy met; audit clean."""
    wait_for(
        lambda: (
            not Replica.objects.filter(asset__object=obj).exclude(state="ok").exists()
            and Replica.objects.filter(asset__object=obj, store__name="s3-b").count()
            == Asset.objects.filter(object=obj).count()
        ),
        90,
        what="the sweeper to complete the faulty store",
    )
    wait_for(lambda: Asset.objects.get(pk=original.pk).local_path == "", 30, what="staging released")
    wait_for(lambda: ProcessingJob.objects.get(asset=original).state == ProcessingJob.State.DONE, 30, what="job done")
    for replica in Replica.objects.filter(asset__object=obj).select_related("asset", "store"):
        data = servers[replica.store.name].path_of(replica.key).read_bytes()
        assert hashlib.sha256(data).hexdigest() == replica.asset.sha256
    assert policy.evaluate(obj).met
    report = audit(identifier=obj.identifier)
    assert report.healthy and report.checked == Replica.objects.filter(asset__object=obj).count(), report.as_dict()
    assert {h.name: h.failing for h in store_health()} == {"s3-a": False, "s3-b": False}


# --- with a worker process -----------------------------------------------------------------------------------


@services
@pytest.mark.parametrize(
    "status,code,message",
    [(403, "AccessDenied", "Access Denied"), (500, "InternalError", "We encountered an internal error.")],
)
def test_a_store_refusing_writes_leaves_the_object_under_replicated_then_heals(
    good_and_faulty, start_worker, personas, tmp_path, status, code, message
):
    good, proxy, _ = good_and_faulty
    proxy.refuse_writes(status, code, message)
    obj = make_object(personas.collection, "Refused ledger", published=False)
    original, worker = ingest_while_faulty(obj, tmp_path, start_worker, "ledger.bin")
    assert proxy.refused >= 2
    assert_under_replicated_and_reported(obj, original, worker, personas, f"{code} (HTTP {status})")

    proxy.heal()
    assert_healed(obj, original, {"s3-a": good, "s3-b": proxy.upstream})


@services
def test_a_full_store_commits_nothing_half_written_and_fills_in_once_space_is_freed(
    good_and_faulty, start_worker, personas, tmp_path
):
    good, proxy, _ = good_and_faulty
    proxy.fill(quota_bytes=4096)  # the storage root's small files fit, the object's content does not
    obj = make_object(personas.collection, "Survey over quota", published=False)
    original, worker = ingest_while_faulty(obj, tmp_path, start_worker, "survey.bin")
    assert_under_replicated_and_reported(obj, original, worker, personas, "QuotaExceeded", "store full")
    root = ocfl.object_root(obj.ocfl_id)
    assert proxy.upstream.path_of(ocfl.ROOT_DECLARATION_NAME).exists()
    assert not proxy.upstream.path_of(f"{root}/inventory.json").exists(), "no inventory names unwritten files"

    proxy.heal()  # an administrator raised the quota
    assert_healed(obj, original, {"s3-a": good, "s3-b": proxy.upstream})


@services
def test_a_slow_store_delays_only_its_own_copy_and_completes_when_it_answers_in_time(
    good_and_faulty, start_worker, personas, tmp_path
):
    good, proxy, configure = good_and_faulty
    configure(connect_timeout=1, read_timeout=1, max_attempts=1, ping_timeout=1)
    proxy.slow(30)  # much longer than the store's read timeout: every request gives up after one second
    obj = make_object(personas.collection, "Slow-store map", published=False)
    original, worker = ingest_while_faulty(obj, tmp_path, start_worker, "map.bin")
    assert_under_replicated_and_reported(obj, original, worker, personas, "Read timeout")
    assert not {h.name: h.reachable for h in store_health()}["s3-b"], "the health check times out too"

    proxy.slow(0.1)  # still slow, but within the timeout: the copy completes
    assert_healed(obj, original, {"s3-a": good, "s3-b": proxy.upstream})
    assert proxy.requests["PUT"] > 0


@services
def test_a_store_returning_wrong_bytes_is_caught_on_write_and_by_the_audit_and_repaired(
    good_and_faulty, start_worker, personas, tmp_path
):
    good, proxy, _ = good_and_faulty
    proxy.corrupt_reads(match="/content/")  # every content file reads back with one byte flipped
    obj = make_object(personas.collection, "Garbled charter", published=False)
    original, worker = ingest_while_faulty(obj, tmp_path, start_worker, "charter.bin")
    assert proxy.corrupted
    assert_under_replicated_and_reported(
        obj, original, worker, personas, "wrong bytes read back", "the bad copy was removed"
    )
    proxy.heal()
    assert_healed(obj, original, {"s3-a": good, "s3-b": proxy.upstream})
    worker.stop()  # the audit below runs here, alone

    # Later the store starts returning wrong bytes for a copy it held well: the audit flags it, and the
    # repair (rewrite from s3-a, read back) fails while the fault lasts; nothing is marked damaged.
    replica = Replica.objects.get(asset=original, store__name="s3-b")
    proxy.corrupt_reads(match=f"/{original.id}/")  # the asset's folder (the URL's id part is percent-encoded)
    report = audit(identifier=obj.identifier, repair=True)
    assert report.corrupt == [("s3-b", replica.key)] and report.repaired == [] and not report.damaged
    checked = PreservationEvent.objects.filter(event_type="fixity check", outcome="failure", store__name="s3-b")
    assert checked.filter(detail__contains="(corrupt)").exists()
    assert PreservationEvent.objects.filter(
        event_type="repair", outcome="failure", detail__contains="read back as"
    ).exists()
    obj.refresh_from_db()
    assert not obj.damaged
    assert not policy.evaluate(obj).met
    # Fault gone: the next audit rewrites the copy from the good store and verifies it.
    proxy.heal()
    report = audit(identifier=obj.identifier, repair=True)
    assert report.repaired == [("s3-b", replica.key)], report.as_dict()
    assert proxy.upstream.path_of(replica.key).read_bytes() == good.path_of(replica.key).read_bytes()
    assert audit(identifier=obj.identifier).healthy and policy.evaluate(obj).met


# --- in this process: typed errors, a full local disk, a write whose answer was lost ---------------------------


def test_each_s3_fault_is_a_typed_error_with_a_message_to_act_on(faulty_s3):
    from preservation.stores.s3 import S3Store

    proxy = faulty_s3("s3-b")
    options = proxy.upstream.store_options(endpoint_url=proxy.url, read_timeout=1, max_attempts=1, ping_timeout=1)
    store = S3Store(name="s3-b", **options)
    data = os.urandom(200_000)
    source = proxy.upstream.root.parent / "scan.bin"
    source.write_bytes(data)

    def put_file() -> int:  # a regular file: one streaming PUT
        with open(source, "rb") as handle:
            return store.put("obj/b", handle, hashlib.sha256(data).hexdigest())

    def put_stream() -> int:  # a stream: the multipart path through the hashing reader
        return store.put_bytes("obj/a", b"abc")

    proxy.refuse_writes(403, "AccessDenied", "Access Denied")
    with pytest.raises(StoreUnavailable, match=r"AccessDenied \(HTTP 403\).*access key"):
        put_stream()
    proxy.heal()
    proxy.fill(0, status=507, code="XMinioStorageFull", message="Storage backend has reached its minimum free drive")
    for attempt in (put_stream, put_file):
        with pytest.raises(StoreFull, match=r"XMinioStorageFull \(HTTP 507\).*full"):
            attempt()
    proxy.heal()
    proxy.corrupt_reads("obj/")
    for attempt in (put_stream, put_file):
        with pytest.raises(StoreIntegrityError, match="the bad copy was removed"):
            attempt()
    assert not proxy.upstream.path_of("obj/a").exists() and not proxy.upstream.path_of("obj/b").exists()
    proxy.heal()
    proxy.slow(10)
    with pytest.raises(StoreUnavailable, match="Read timeout"):
        store.ping()
    with pytest.raises(StoreUnavailable, match="Read timeout"):
        put_stream()
    proxy.heal()
    assert put_file() == len(data) and store.sha256("obj/b") == hashlib.sha256(data).hexdigest()


def test_a_local_store_on_a_full_disk_is_reported_full_and_filled_in_when_the_disk_grows(
    personas, settings, tmp_path, tiny_disk
):
    disk = tiny_disk(MIB, name="store-b-disk")
    settings.ARCHIVE_STORES[1]["options"]["root"] = str(disk.path / "store")
    registry.reset()
    obj = make_object(personas.collection, "Scan on a small disk", published=False)
    original = pipeline.run_in_process(receive(obj, tmp_path, "scan.bin", size=2 * MIB, enqueue=False))
    assert original.status == Asset.State.READY and Path(original.local_path).is_file()
    assert not Replica.objects.filter(asset=original, store__name="local-b", state="ok").exists()
    failure = PreservationEvent.objects.get(event_type="replication", outcome="failure", store__name="local-b")
    assert "failed, store full: " in failure.detail and "No space left on device" in failure.detail
    assert not list((disk.path / "store").glob(".tmp/*")), "no temporary file left on the full disk"
    assert {h.name: h.failing for h in store_health()}["local-b"]

    disk.grow(8 * MIB)
    StoreObject.objects.update(last_attempt_at=None)
    assert sweeper.sweep()["replicate"] == 1  # tasks run eagerly here
    original.refresh_from_db()
    assert original.local_path == "" and policy.evaluate(obj).met
    assert audit(identifier=obj.identifier).healthy


def test_a_version_committed_on_a_store_whose_answer_was_lost_is_checked_and_recorded(personas, tmp_path):
    """A write times out on the client but completes on the store (or the worker dies just after it): the
    store's inventory says v1 while the catalogue does not. The next attempt must record it, after reading
    every file back, rewriting any that is wrong, instead of leaving the object under-replicated forever."""
    obj = make_object(personas.collection, "Lost answer", published=False)
    original = pipeline.run_in_process(receive(obj, tmp_path, "answer.bin", enqueue=False))
    StoreObject.objects.filter(object=obj, store__name="local-b").update(head_version=0)
    Replica.objects.filter(asset__object=obj, store__name="local-b").update(state=Replica.State.PENDING)
    store = registry.get_store("local-b")
    key = Replica.objects.get(asset=original, store__name="local-b").key
    damaged = bytearray(store.read_bytes(key))
    damaged[10] ^= 0xFF
    store.root.joinpath(key).write_bytes(bytes(damaged))  # and one of its files went bad meanwhile

    replicate_object(obj, "local-b")
    assert StoreObject.objects.get(object=obj, store__name="local-b").head_version == 1
    assert set(Replica.objects.filter(asset__object=obj, store__name="local-b").values_list("state", flat=True)) == {
        "ok"
    }
    assert store.sha256(key) == original.sha256
    assert policy.evaluate(obj).met and audit(identifier=obj.identifier).healthy
