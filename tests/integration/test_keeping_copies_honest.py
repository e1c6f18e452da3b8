"""Keeping every copy honest on real services: three `rclone serve s3` servers, PostgreSQL, Redis and a
Celery worker process. Faults are injected in the servers' own folders, never through our code."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from io import StringIO
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.utils import timezone

from archive.models import Asset
from preservation import pipeline, policy
from preservation.fixity import audit
from preservation.models import ObjectAudit, PreservationEvent, Replica
from preservation.stores import registry
from tests.factories import make_object
from tests.factories import preserve_file as ingest_file
from tests.fixtures.services import ROOT, database_url, service_env, wait_for
from tests.preservation import imagegen
from tests.preservation.ocfl_validation import validate_s3_root

pytestmark = [pytest.mark.services, pytest.mark.timeout(300)]


@pytest.fixture
def three_s3(s3_server_factory):
    return s3_server_factory("s3-a"), s3_server_factory("s3-b"), s3_server_factory("s3-c")


def use(settings, *configs) -> None:
    settings.ARCHIVE_STORES = list(configs)
    registry.reset()


def opaque_file(tmp_path: Path, name: str, size: int) -> Path:
    """Incompressible bytes in a format with no normalization policy: kept as the original only."""
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path


def flip_byte(path: Path, offset: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def server_for(servers, replica: Replica):
    return servers["abc".index(replica.store.name[-1])]


def test_workers_audit_three_s3_stores_and_repair_a_flipped_byte_and_a_deleted_copy(
    settings, three_s3, start_worker, personas, tmp_path
):
    a, b, c = three_s3
    use(
        settings,
        a.store_config("s3-a", jurisdiction="FR"),
        b.store_config("s3-b", jurisdiction="CA"),
        c.store_config("s3-c", jurisdiction="DE"),
    )
    jar = make_object(personas.collection, "Jar")
    bowl = make_object(personas.collection, "Bowl")
    photo = ingest_file(jar, imagegen.make_jpeg(tmp_path / "jar.jpg", size=(300, 200)), tmp_path)
    ingest_file(bowl, imagegen.make_jpeg(tmp_path / "bowl.jpg", size=(200, 300)), tmp_path)
    flipped = photo.replicas.get(store__name="s3-b")
    flip_byte(b.path_of(flipped.key))
    deleted = bowl.assets.get(role="master").replicas.get(store__name="s3-c")
    c.path_of(deleted.key).unlink()

    start_worker(beat=False)
    out = StringIO()
    call_command("audit", workers=True, repair=True, timeout=150, stdout=out, verbosity=0)
    summaries = {row.object.identifier: row.summary for row in ObjectAudit.objects.select_related("object")}
    assert summaries[jar.identifier]["corrupt"] == 1 and summaries[jar.identifier]["repaired"] == 1
    assert summaries[bowl.identifier]["missing"] == 1 and summaries[bowl.identifier]["repaired"] == 1
    assert "Audited 2 of 2 objects on the workers" in out.getvalue()
    # Exactly that replica was reported, and the bytes are equal again everywhere.
    assert PreservationEvent.objects.filter(event_type="fixity check", outcome="failure").count() == 2
    bad = PreservationEvent.objects.get(event_type="fixity check", outcome="failure", asset=photo)
    assert flipped.key in bad.detail and "s3-b" in bad.detail
    for replica in Replica.objects.filter(pk__in=[flipped.pk, deleted.pk]).select_related("asset", "store"):
        assert replica.state == Replica.State.OK
        data = server_for(three_s3, replica).path_of(replica.key).read_bytes()
        assert hashlib.sha256(data).hexdigest() == replica.asset.sha256
    assert a.path_of(flipped.key).read_bytes() == b.path_of(flipped.key).read_bytes()
    for server in three_s3:
        validate_s3_root(server, objects=2)


def test_every_copy_corrupt_is_flagged_damaged_and_nothing_is_overwritten(
    settings, three_s3, personas, tmp_path, transactional_db
):
    a, b, c = three_s3
    use(
        settings,
        a.store_config("s3-a", jurisdiction="FR"),
        b.store_config("s3-b", jurisdiction="CA"),
        c.store_config("s3-c", jurisdiction="DE"),
    )
    obj = make_object(personas.collection, "Burnt ledger")
    original = ingest_file(obj, opaque_file(tmp_path, "ledger.bin", 200_000), tmp_path)
    damaged = {}
    for replica in original.replicas.select_related("store"):
        path = server_for(three_s3, replica).path_of(replica.key)
        flip_byte(path, offset=1000 + len(damaged))  # three different corruptions
        damaged[replica.store.name] = path.read_bytes()
    out = StringIO()
    with pytest.raises(SystemExit) as exit_code:
        call_command("audit", repair=True, stdout=out, verbosity=0)
    assert exit_code.value.code == 1
    assert f"DAMAGED  {obj.identifier}" in out.getvalue()
    obj.refresh_from_db()
    assert obj.damaged and "no verified good copy" in obj.damage_detail
    for replica in original.replicas.select_related("store"):
        assert server_for(three_s3, replica).path_of(replica.key).read_bytes() == damaged[replica.store.name]
        assert replica.state == Replica.State.CORRUPT
    assert not PreservationEvent.objects.filter(event_type="repair").exists()


def test_a_store_stopped_mid_audit_and_a_killed_audit_lose_nothing_and_resume(
    settings, three_s3, personas, tmp_path, transactional_db
):
    a, b, c = three_s3
    use(
        settings,
        a.store_config("s3-a", jurisdiction="FR"),
        b.store_config("s3-b", jurisdiction="CA"),
        c.store_config("s3-c", jurisdiction="DE"),
    )
    obj = make_object(personas.collection, "Survey archive")
    for index in range(4):
        ingest_file(obj, opaque_file(tmp_path, f"scan-{index}.bin", 1_000_000), tmp_path)
    before = dict(Replica.objects.filter(store__name="s3-c").values_list("pk", "verified_at"))

    # A store goes down: its copies are reported unreachable and keep their old verification time.
    c.stop()
    out = StringIO()
    with pytest.raises(SystemExit) as exit_code:
        call_command("audit", stdout=out, verbosity=0)
    assert exit_code.value.code == 3
    assert dict(Replica.objects.filter(store__name="s3-c").values_list("pk", "verified_at")) == before
    assert not Replica.objects.exclude(state=Replica.State.OK).exists()
    c.start()

    # An audit process killed mid-run: only what it read is marked verified, each with its event.
    started = timezone.now()
    env = service_env(settings)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "audit", "--mb-per-s", "2", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(
            lambda: Replica.objects.filter(verified_at__gte=started).count() >= 3, 60, what="audit to read some copies"
        )
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    verified = set(Replica.objects.filter(verified_at__gte=started).values_list("asset_id", "store__name"))
    events = set(
        PreservationEvent.objects.filter(event_type="fixity check", occurred_at__gte=started).values_list(
            "asset_id", "store__name"
        )
    )
    total = Replica.objects.count()
    assert verified == events and 3 <= len(verified) < total

    # Run again with --since: it resumes where the killed run stopped, nothing twice, nothing lost.
    report = audit(since_days=(timezone.now() - started).total_seconds() / 86400)
    assert report.checked == total - len(verified) and report.ok == report.checked and report.healthy
    assert Replica.objects.filter(verified_at__gte=started).count() == total


def test_placement_follows_access_levels_and_jurisdictions_and_the_audit_reports_a_lost_store(
    settings, three_s3, personas, tmp_path, transactional_db
):
    a, b, c = three_s3
    home_a = a.store_config("s3-a", jurisdiction="FR")
    home_b = b.store_config("s3-b", jurisdiction="FR")
    abroad = dict(c.store_config("s3-c", jurisdiction="CA"), access_levels=["public"])
    use(settings, home_a, home_b, abroad)
    secret = make_object(personas.collection, "Initiation mask", access="restricted", threat_level=3)
    public = make_object(personas.collection, "Temple facade", threat_level=3)
    ingest_file(secret, imagegen.make_jpeg(tmp_path / "mask.jpg", size=(120, 90)), tmp_path)
    ingest_file(public, imagegen.make_jpeg(tmp_path / "facade.jpg", size=(90, 120)), tmp_path)

    # The restricted object was never written to the store that may not hold it.
    assert not Replica.objects.filter(asset__object=secret, store__name="s3-c").exists()
    assert not any(secret.identifier in str(p) for p in c.root.rglob("*"))
    assert set(secret.store_states.filter(head_version__gt=0).values_list("store__name", flat=True)) == {
        "s3-a",
        "s3-b",
    }
    # The threatened public object has copies in two jurisdictions.
    status = policy.evaluate(public)
    assert status.met and status.jurisdictions == ["CA", "FR"]
    validate_s3_root(c, objects=1)

    # The partner abroad is removed from the configuration: the audit reports the gap.
    use(settings, home_a, home_b)
    report = audit(repair=True)
    assert any("jurisdiction" in problem for problem in report.policy_gaps[public.identifier])
    assert ObjectAudit.objects.get(object=public).healthy is False


def test_rebuild_from_one_store_into_an_empty_postgresql_database(
    settings, two_s3_servers, personas, tmp_path, transactional_db
):
    first, second = two_s3_servers
    use(settings, first.store_config("s3-a", jurisdiction="FR"), second.store_config("s3-b", jurisdiction="CA"))
    obj = make_object(personas.collection, "Minbar", culture="Mamluk", threat_level=1, latitude=30.0, longitude=31.2)
    ingest_file(obj, imagegen.make_jpeg(tmp_path / "minbar.jpg", size=(240, 160)), tmp_path)
    ingest_file(obj, opaque_file(tmp_path, "notes.bin", 50_000), tmp_path)
    obj.culture = "Mamluk (Cairo)"
    obj.save()
    pipeline.package_object(obj)
    for name in ("s3-a", "s3-b"):
        from preservation.replication import replicate_object

        replicate_object(obj, name)
    expected_assets = sorted(
        (str(a.id), a.role, a.sha256, a.size, a.version.number) for a in Asset.objects.exclude(version__isnull=True)
    )
    expected_object = (obj.identifier, "Mamluk (Cairo)", 1, 30.0)

    target = f"heritage_rebuild_{os.getpid()}"
    admin = database_url().rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target}"')
        conn.execute(f'CREATE DATABASE "{target}"')
    url = database_url().rsplit("/", 1)[0] + f"/{target}"
    env = service_env(settings, DATABASE_URL=url)
    try:

        def manage(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
            )

        assert manage("migrate", "--verbosity", "0").returncode == 0
        rebuilt = manage("rebuild_catalogue", "--from-store", "s3-a", "--verbosity", "0")
        assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
        assert "Rebuilt 1 objects" in rebuilt.stdout
        relinked = manage("audit", "--repair", "--verbosity", "0")
        assert relinked.returncode == 0, relinked.stdout + relinked.stderr
        assert f"linked   s3-b  {obj.identifier}" in relinked.stdout

        with psycopg.connect(url) as conn:
            got_assets = sorted(
                (str(row[0]), row[1], row[2], row[3], row[4])
                for row in conn.execute(
                    "SELECT a.id, a.role, a.sha256, a.size, v.number FROM archive_asset a "
                    "JOIN archive_objectversion v ON v.id = a.version_id"
                )
            )
            got_object = conn.execute(
                "SELECT identifier, culture, threat_level, latitude FROM archive_heritageobject"
            ).fetchall()
            states = conn.execute(
                "SELECT s.name, r.state, count(*) FROM preservation_replica r "
                "JOIN preservation_store s ON s.id = r.store_id GROUP BY s.name, r.state ORDER BY s.name"
            ).fetchall()
            events = conn.execute("SELECT count(*) FROM preservation_preservationevent").fetchone()[0]
        assert got_assets == expected_assets
        assert got_object == [expected_object]
        assert states == [("s3-a", "ok", len(expected_assets)), ("s3-b", "ok", len(expected_assets))]
        assert events > 10
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
    for server in two_s3_servers:
        validate_s3_root(server, objects=1)
