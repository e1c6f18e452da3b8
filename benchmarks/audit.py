"""Audit benchmark: ``preservation.fixity.audit`` over N GB on three stores, next to the limits of the same
machine measured in the same run, on the same bytes, and the time to repair one corrupted replica.

    .venv/bin/python benchmarks/audit.py [--gb 1.0] [--files 16] [--stores local|s3] [--rounds 2]
                                         [--mb-per-s X] [--json] [--keep]

Django runs in this process on a fresh SQLite database in the temporary folder (``manage.py migrate`` first),
with three stores: three ``LocalStore`` folders (``--stores local``, the default) or three ``rclone serve s3``
servers (``tests.fixtures.s3.S3Server``, ``--stores s3``). No Celery worker: nothing is enqueued.

1. Populate: N GB of incompressible seeded random bytes, written 1 MiB at a time (never whole in memory) as
   ``.bin`` files, 4 originals an object, each received with ``actions.receive_file`` and ingested with
   ``pipeline.run_in_process``: an opaque format has no normalization policy, so the original is kept as received
   (no derivatives) and replicated to the three stores by ``replication.replicate_object`` (OCFL, read back and
   verified): real Replica rows, one a file and store.
2. Limits, on the same bytes (the first store's replica files, page cache warm: read once first), fastest of
   ``--rounds``: ``hashlib`` SHA-256 and SHA-512 on one core in 1 MiB reads from the files on disk; the same reads
   with no hashing; and every store's replicas read through its own ``store.open()`` with no hashing.
3. ``fixity.audit()`` over all stores (``--mb-per-s`` throttles it, else no throttle), fastest of ``--rounds``:
   bytes read / seconds, and that rate over each limit. ``check_replica`` and ``hash_replica`` are wrapped to
   time each replica and split the time into read + hash and the rest (open, row, event).
4. Repair: one byte in the middle of one replica flipped on disk (in the store folder, or in the rclone server's
   ``DIR/bucket/key``), then ``audit(identifier=..., repair=True)`` for that object only; its report must say
   exactly one corrupt and one repaired replica, and the file must hash as recorded again and equal the other
   stores' copies byte for byte (exit status 1 otherwise).

The table and ``--json`` carry the same figures. Nothing here is a test: no timing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import hashlib
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import BUSY_WARNING, cpu_busy, lap, log, rounded, unwind_on_signals  # noqa: E402

CHUNK = 1024 * 1024  # as fixity.CHUNK: the audit reads 1 MiB at a time
MB = 1_000_000
GB = 1_000_000_000
FILES_PER_OBJECT = 4
SEED = 2026
STORE_NAMES = {"local": ("local-a", "local-b", "local-c"), "s3": ("s3-a", "s3-b", "s3-c")}


# --- setup ------------------------------------------------------------------------------------------


def start_stores(kind: str, workdir: Path, cleanup: contextlib.ExitStack) -> tuple[list[dict], dict[str, object]]:
    """ARCHIVE_STORES entries for three stores, and the S3 servers by store name (none for local stores)."""
    names = STORE_NAMES[kind]
    levels = ["public", "community", "restricted"]
    if kind == "local":
        configs = [
            {
                "name": name,
                "backend": "preservation.stores.local.LocalStore",
                "options": {"root": str(workdir / "stores" / name), "create": True},
                "jurisdiction": name.upper(),
                "access_levels": levels,
            }
            for name in names
        ]
        return configs, {}
    from tests.fixtures.s3 import S3Server

    servers = {}
    for name in names:
        server = S3Server(workdir / name)
        cleanup.callback(server.stop)
        servers[name] = server.start()
    # rclone hashes a whole file (MD5) before it answers a GET or HEAD: the tests' 10 s read timeout is too
    # short for files of several GB.
    configs = [
        server.store_config(name, jurisdiction=name.upper(), read_timeout=60) for name, server in servers.items()
    ]
    return configs, servers


def setup_django(workdir: Path, stores: list[dict]) -> None:
    """Django in this process on a fresh SQLite database in ``workdir``, migrated; media folders there too."""
    media = workdir / "media"
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",  # as in production: DEBUG keeps every SQL query in memory
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),  # production refuses the development key
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "CELERY_BROKER_URL": "filesystem://",  # nothing is enqueued; the folder is under media/
        "ARCHIVE_MEDIA_ROOT": str(media),
        "ARCHIVE_STAGING_ROOT": str(media / "staging"),
        "ARCHIVE_QUARANTINE_ROOT": str(media / "quarantine"),
        "ARCHIVE_STORES": json.dumps(stores),
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    for name in env:  # config.settings reads NAME_FILE before NAME: the caller's files must not win
        os.environ.pop(f"{name}_FILE", None)
    os.environ.update(env)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


# --- populate ---------------------------------------------------------------------------------------


def write_random(path: Path, size: int, seed: int) -> str:
    """``size`` incompressible seeded random bytes, 1 MiB at a time; returns their SHA-256."""
    import numpy as np

    rng = np.random.default_rng(seed)
    digest = hashlib.sha256()
    left = size
    with open(path, "wb") as out:
        while left:
            chunk = rng.bytes(min(CHUNK, left))
            digest.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def populate(total_bytes: int, files: int, workdir: Path) -> dict:
    """``files`` random .bin originals, FILES_PER_OBJECT an object, through the real ingest pipeline."""
    from archive import actions
    from archive.models import Asset, Collection, Community
    from preservation import pipeline
    from preservation.models import Replica
    from preservation.stores.registry import all_stores

    community = Community.objects.create(slug="bench", name="Benchmark community")
    collection = Collection.objects.create(community=community, slug="bench-audit", title="Audit benchmark")
    incoming = workdir / "incoming"
    incoming.mkdir()
    size, extra = divmod(total_bytes, files)
    objects, generate_s, ingest_s = [], 0.0, 0.0
    for index in range(files):
        if index % FILES_PER_OBJECT == 0:
            number = len(objects) + 1
            objects.append(
                actions.create_object(collection, {"en": (f"Opaque bundle {number}", "")}, original_language="en")
            )
        name = f"opaque-{index:03d}.bin"
        path = incoming / name
        nbytes = size + (1 if index < extra else 0)
        started = time.perf_counter()
        sha256 = write_random(path, nbytes, SEED + index)
        generate_s += lap(started)
        started = time.perf_counter()
        asset, _created = actions.receive_file(objects[-1], path, name, sha256, nbytes, via="benchmark", enqueue=False)
        asset = pipeline.run_in_process(asset)
        ingest_s += lap(started)
        if (
            asset.status != Asset.State.READY
            or asset.format_key
            or asset.object.assets.filter(derived_from=asset).exists()
        ):
            raise RuntimeError(f"{name}: expected kept as received ({asset.status}, {asset.status_message!r})")
    names = [store.name for store in all_stores()]
    replicas = Replica.objects.filter(store__name__in=names)
    originals = replicas.filter(state=Replica.State.OK, asset__role=Asset.Role.ORIGINAL).count()
    if originals != files * len(names) or replicas.exclude(state=Replica.State.OK).exists():
        raise RuntimeError(f"{originals} verified replicas of originals after ingest, expected {files} x {len(names)}")
    return {
        "objects": [obj.identifier for obj in objects],
        "replicas": replicas.count(),
        "records": replicas.exclude(asset__role=Asset.Role.ORIGINAL).count() // len(names),
        "generate_s": generate_s,
        "ingest_s": ingest_s,
        "ingest_mb_per_s": total_bytes / MB / ingest_s,
    }


# --- limits -----------------------------------------------------------------------------------------


def replica_paths(store_name: str, servers: dict) -> list[tuple[object, Path]]:
    """(Replica row, file on disk behind it) for one store, in the audit's order."""
    from preservation.models import Replica
    from preservation.stores.registry import get_store

    rows = Replica.objects.filter(store__name=store_name).select_related("asset", "store")
    rows = rows.order_by("asset__object_id", "asset_id")
    server = servers.get(store_name)
    if server is not None:
        return [(row, server.path_of(row.key)) for row in rows]
    root = Path(get_store(store_name).root)
    return [(row, root / row.key) for row in rows]


def _read_files(paths: list[Path], algorithm: str | None) -> int:
    total = 0
    for path in paths:
        digest = hashlib.new(algorithm) if algorithm else None
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                if digest:
                    digest.update(chunk)
                total += len(chunk)
        if digest:
            digest.hexdigest()
    return total


def _read_store(store_name: str, keys: list[str]) -> int:
    from preservation.stores.registry import get_store

    store = get_store(store_name)
    total = 0
    for key in keys:
        with store.open(key) as handle:
            while chunk := handle.read(CHUNK):
                total += len(chunk)
    return total


def _best_rate(run, rounds: int) -> dict:
    """Fastest of ``rounds`` runs of ``run()`` (returns bytes): other work on the machine only adds time."""
    times, nbytes = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        nbytes = run()
        times.append(lap(started))
    return {"bytes": nbytes, "seconds": min(times), "mb_per_s": nbytes / MB / min(times), "rounds_s": times}


def measure_limits(store_names: list[str], servers: dict, rounds: int) -> dict:
    paths = [path for _row, path in replica_paths(store_names[0], servers)]
    _read_files(paths, None)  # page cache warm
    limits = {
        "sha256_disk": _best_rate(lambda: _read_files(paths, "sha256"), rounds),
        "sha512_disk": _best_rate(lambda: _read_files(paths, "sha512"), rounds),
        "read_disk": _best_rate(lambda: _read_files(paths, None), rounds),
        "store_read": {},
    }
    for name in store_names:
        keys = [row.key for row, _path in replica_paths(name, servers)]
        _read_store(name, keys[:1])  # connection and client set up before the clock, as in the audit's rounds
        limits["store_read"][name] = _best_rate(lambda keys=keys, name=name: _read_store(name, keys), rounds)
    read = limits["store_read"].values()
    total_bytes = sum(figures["bytes"] for figures in read)
    seconds = sum(figures["seconds"] for figures in read)
    limits["store_read_all"] = {"bytes": total_bytes, "seconds": seconds, "mb_per_s": total_bytes / MB / seconds}
    # Hashing alone: the SHA-256 reads from the files minus the same reads without hashing. A serial audit
    # (one thread: read a chunk, then hash it) reaches at best the store's read time plus that hashing time.
    hash_s_per_mb = 1 / limits["sha256_disk"]["mb_per_s"] - 1 / limits["read_disk"]["mb_per_s"]
    limits["sha256_hash_only"] = {"mb_per_s": 1 / hash_s_per_mb}
    limits["read_then_sha256"] = {"mb_per_s": total_bytes / MB / (seconds + total_bytes / MB * hash_s_per_mb)}
    for figures in limits["store_read"].values():
        megabytes = figures["bytes"] / MB
        figures["read_then_sha256_mb_per_s"] = megabytes / (figures["seconds"] + megabytes * hash_s_per_mb)
    return limits


# --- the audit --------------------------------------------------------------------------------------


@contextlib.contextmanager
def timed_engine():
    """Time the engine's parts by wrapping them: ``fixity.check_replica`` (the whole of one replica), its
    ``store.open()`` (the request, up to the first byte for S3), ``fixity.hash_replica`` (read + hash) and
    ``fixity.repair_replica``. What is left of a check is its row update and its event."""
    from preservation import fixity
    from preservation.stores.registry import all_stores

    timings = {"check": [], "open": [], "hash": [], "repair": []}
    originals = {name: getattr(fixity, name) for name in ("check_replica", "hash_replica", "repair_replica")}
    checking = []

    def check(replica, throttle, report):
        started = time.perf_counter()
        checking.append(replica)
        try:
            return originals["check_replica"](replica, throttle, report)
        finally:
            checking.pop()
            timings["check"].append((replica.store.name, lap(started)))

    def hash_(handle, throttle):
        started = time.perf_counter()
        result = originals["hash_replica"](handle, throttle)
        timings["hash"].append((result[1], lap(started)))
        return result

    def repair(replica, good, report):
        started = time.perf_counter()
        try:
            return originals["repair_replica"](replica, good, report)
        finally:
            timings["repair"].append((replica.store.name, lap(started)))

    def timed_open(store):
        method = store.open

        def open_(key):
            started = time.perf_counter()
            try:
                return method(key)
            finally:
                if checking:  # only the opens of checks, not a repair's source
                    timings["open"].append((store.name, lap(started)))

        return open_

    stores = all_stores()
    for store in stores:
        store.open = timed_open(store)  # an instance attribute: shadows the method until removed below
    fixity.check_replica, fixity.hash_replica, fixity.repair_replica = check, hash_, repair
    try:
        yield timings
    finally:
        for name, function in originals.items():
            setattr(fixity, name, function)
        for store in stores:
            vars(store).pop("open", None)


def run_audit(store_names: list[str], replicas_expected: int, rounds: int, mb_per_s: float | None) -> dict:
    from preservation.fixity import audit

    runs = []
    for _ in range(rounds):
        with timed_engine() as timings:
            started = time.perf_counter()
            report = audit(mb_per_s=mb_per_s)
            seconds = lap(started)
        runs.append((seconds, report, timings))
        if not (report.healthy and report.checked == report.ok == replicas_expected):
            raise RuntimeError(
                f"the audit of a clean archive checked {report.checked} replicas, {report.ok} ok, expected "
                f"{replicas_expected}; corrupt {report.corrupt}, missing {report.missing}, "
                f"unreachable {report.unreachable}"
            )
    seconds, report, timings = min(runs, key=lambda run: run[0])
    per_store = {}
    for name in store_names:
        check_s = sum(s for store, s in timings["check"] if store == name)
        per_store[name] = {"check_s": check_s}
    check_s = sum(s for _store, s in timings["check"])
    open_s = sum(s for _store, s in timings["open"])
    hash_s = sum(s for _size, s in timings["hash"])
    return {
        "replicas": report.checked,
        "bytes_read": report.bytes_read,
        "seconds": seconds,
        "rounds_s": [run[0] for run in runs],
        "mb_per_s": report.bytes_read / MB / seconds,
        "throttle_mb_per_s": mb_per_s,
        "open_s": open_s,
        "read_hash_s": hash_s,
        "row_and_event_s": check_s - open_s - hash_s,
        "outside_replicas_s": seconds - check_s,
        "per_store_check_s": {name: figures["check_s"] for name, figures in per_store.items()},
    }


# --- corruption and repair --------------------------------------------------------------------------


def flip_middle_byte(path: Path) -> int:
    """Flip every bit of the byte in the middle of ``path``, in place; returns its offset."""
    offset = path.stat().st_size // 2
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))
        handle.flush()
        os.fsync(handle.fileno())
    return offset


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def corrupt_and_repair(store_names: list[str], servers: dict, identifier: str) -> tuple[dict, list[str]]:
    """Flip a byte of the object's first file on the second store; audit that object with repair=True."""
    from preservation.fixity import audit
    from preservation.models import Replica

    victim_store = store_names[1]
    rows = {
        name: dict((row.asset_id, (row, path)) for row, path in replica_paths(name, servers)) for name in store_names
    }
    replica, path = next(  # the object's first original (not one of its small metadata records)
        (row, path)
        for row, path in rows[victim_store].values()
        if row.asset.object.identifier == identifier and row.asset.role == row.asset.Role.ORIGINAL
    )
    asset = replica.asset
    offset = flip_middle_byte(path)
    with timed_engine() as timings:
        started = time.perf_counter()
        report = audit(identifier=identifier, repair=True)
        seconds = lap(started)
    failures = []
    expected = [(victim_store, replica.key)]
    if report.corrupt != expected:
        failures.append(f"the repair audit reported corrupt {report.corrupt}, expected {expected}")
    if report.repaired != expected:
        failures.append(f"the repair audit reported repaired {report.repaired}, expected {expected}")
    if not report.healthy or report.damaged or report.missing or report.unreachable:
        failures.append(f"the repair audit is not healthy: damaged {report.damaged}, missing {report.missing}")
    observed = file_sha256(path)
    if observed != asset.sha256:
        failures.append(f"{path} hashes to {observed} after the repair, expected {asset.sha256}")
    differ = [
        name
        for name in store_names
        if name != victim_store and not filecmp.cmp(path, rows[name][asset.id][1], shallow=False)
    ]
    if differ:
        failures.append(f"{path} differs from its copies on {', '.join(differ)} after the repair")
    state = Replica.objects.get(pk=replica.pk).state
    if state != Replica.State.OK:
        failures.append(f"the repaired replica's row says {state!r}, expected 'ok'")
    repair_s = sum(s for _store, s in timings["repair"])
    return {
        "object": identifier,
        "store": victim_store,
        "key": replica.key,
        "file_bytes": asset.size,
        "flipped_offset": offset,
        "seconds": seconds,
        "replicas_checked": report.checked,
        "bytes_read": report.bytes_read,
        "check_s": sum(s for _store, s in timings["check"]),
        "repair_replica_s": repair_s,
        "corrupt": len(report.corrupt),
        "repaired": len(report.repaired),
        "bytes_equal_after": observed == asset.sha256 and not differ,
    }, failures


# --- report -----------------------------------------------------------------------------------------


def summarise(options, populated: dict, limits: dict, audited: dict, repair: dict, store_names) -> dict:
    audit_rate = audited["mb_per_s"]
    ratios = {
        "audit_over_sha256": audit_rate / limits["sha256_disk"]["mb_per_s"],
        "audit_over_sha512": audit_rate / limits["sha512_disk"]["mb_per_s"],
        "audit_over_store_read": audit_rate / limits["store_read_all"]["mb_per_s"],
        "audit_over_read_then_sha256": audit_rate / limits["read_then_sha256"]["mb_per_s"],
    }
    stores = []
    for name in store_names:
        read = limits["store_read"][name]
        check_s = audited["per_store_check_s"][name]
        rate = read["bytes"] / MB / check_s
        stores.append(
            {
                "store": name,
                "bytes": read["bytes"],
                "read_mb_per_s": read["mb_per_s"],
                "read_then_sha256_mb_per_s": read["read_then_sha256_mb_per_s"],
                "audit_mb_per_s": rate,
                "audit_over_read": rate / read["mb_per_s"],
                "audit_over_read_then_sha256": rate / read["read_then_sha256_mb_per_s"],
            }
        )
    return {
        "benchmark": "audit",
        "stores_kind": options.stores,
        "stores": stores,
        "gb": options.gb,
        "files": options.files,
        "objects": len(populated["objects"]),
        "file_mb": options.gb * GB / options.files / MB,
        "rounds": options.rounds,
        "cores": os.cpu_count(),
        "cpu_busy_before": options.busy_before,
        "cpu_busy_after": options.busy_after,
        "populate": {key: value for key, value in populated.items() if key != "objects"},
        "limits": limits,
        "audit": audited,
        "ratios": ratios,
        "repair": repair,
    }


def print_table(report: dict) -> None:
    busy = {moment: report[f"cpu_busy_{moment}"] for moment in ("before", "after")}
    measured = [f"{share:.0%} {moment}" for moment, share in busy.items() if share is not None]
    limits, audited, ratios, repair = report["limits"], report["audit"], report["ratios"], report["repair"]
    kind = "LocalStore folders" if report["stores_kind"] == "local" else "rclone serve s3 servers"
    print(
        f"Fixity audit of {report['gb']:g} GB ({report['files']} random .bin files of {report['file_mb']:.1f} MB in "
        f"{report['objects']} objects, plus {report['populate']['records']} small OCFL metadata records) on 3 {kind}: "
        f"{audited['replicas']} replicas, {audited['bytes_read'] / GB:.2f} GB; {report['cores']} cores"
        + (f"; CPUs busy with other work: {', '.join(measured)} the runs" if measured else "")
    )
    if any(share is not None and share > BUSY_WARNING for share in busy.values()):
        print("WARNING: other work was using the CPUs: these figures are unreliable, run again on a quiet machine.")
    populate = report["populate"]
    print(
        f"populate: random bytes {populate['generate_s']:.1f} s; receive_file + run_in_process (identify, "
        f"OCFL, 3 stores, read back) {populate['ingest_s']:.1f} s = {populate['ingest_mb_per_s']:.0f} MB/s of originals"
    )
    print()
    width = 58
    print(f"{'limit (same bytes, this run; fastest of ' + str(report['rounds']) + ')':<{width}}{'MB/s':>8}")
    print("-" * (width + 8))
    rows = [
        ("hashlib SHA-256, 1 MiB reads from the files (one core)", limits["sha256_disk"]["mb_per_s"]),
        ("hashlib SHA-512, 1 MiB reads from the files (one core)", limits["sha512_disk"]["mb_per_s"]),
        ("1 MiB reads from the files, no hashing", limits["read_disk"]["mb_per_s"]),
        ("SHA-256 alone: the SHA-256 reads less the plain reads", limits["sha256_hash_only"]["mb_per_s"]),
    ]
    rows += [
        (f"{name}: store.open(), 1 MiB reads, no hashing", figures["mb_per_s"])
        for name, figures in limits["store_read"].items()
    ]
    rows += [
        ("all three stores: store.open(), no hashing", limits["store_read_all"]["mb_per_s"]),
        ("all three stores: read, then SHA-256, one thread", limits["read_then_sha256"]["mb_per_s"]),
    ]
    for label, rate in rows:
        print(f"{label:<{width}}{rate:>8.0f}")
    print()
    header = (
        f"{'store':<10}{'MB':>8}{'read MB/s':>11}{'read+hash':>11}{'audit MB/s':>12}{'/ read':>8}{'/ read+hash':>13}"
    )
    print(header)
    print("-" * len(header))
    for store in report["stores"]:
        print(
            f"{store['store']:<10}{store['bytes'] / MB:>8.0f}{store['read_mb_per_s']:>11.0f}"
            f"{store['read_then_sha256_mb_per_s']:>11.0f}{store['audit_mb_per_s']:>12.0f}"
            f"{store['audit_over_read']:>8.2f}{store['audit_over_read_then_sha256']:>13.2f}"
        )
    print("read+hash: the store's read time plus the SHA-256 time of its bytes, one after the other (one thread)")
    print()
    throttle = audited["throttle_mb_per_s"]
    how = f"throttled to {throttle:g} MB/s" if throttle else "no throttle"
    rounds = ", ".join(f"{seconds:.2f}" for seconds in audited["rounds_s"])
    print(
        f"audit: fixity.audit() over all stores ({how}): {audited['replicas']} replicas, "
        f"{audited['bytes_read'] / MB:.0f} MB in {audited['seconds']:.2f} s = {audited['mb_per_s']:.0f} MB/s "
        f"(rounds: {rounds} s)"
    )
    print(
        f"  audit / SHA-256 raw {ratios['audit_over_sha256']:.2f}; / SHA-512 raw {ratios['audit_over_sha512']:.2f}; "
        f"/ store read limit {ratios['audit_over_store_read']:.2f}; "
        f"/ read then SHA-256 {ratios['audit_over_read_then_sha256']:.2f}"
    )
    print(
        f"  time: {audited['open_s']:.2f} s store.open() (the request), {audited['read_hash_s']:.2f} s reading + "
        f"hashing (hash_replica), {audited['row_and_event_s']:.3f} s replica rows and events, "
        f"{audited['outside_replicas_s']:.3f} s per object (selection, OCFL links, policy, ObjectAudit)"
    )
    print()
    print(
        f"repair: one byte flipped at offset {repair['flipped_offset']:,} of a {repair['file_bytes'] / MB:.1f} MB "
        f"replica on {repair['store']}"
    )
    print(
        f"  audit(identifier={repair['object']!r}, repair=True): {repair['seconds']:.2f} s; checked "
        f"{repair['replicas_checked']} replicas ({repair['bytes_read'] / MB:.0f} MB) in {repair['check_s']:.2f} s, "
        f"repair_replica (copy from a good store, read back) {repair['repair_replica_s']:.2f} s"
    )
    print(
        f"  report: {repair['corrupt']} corrupt, {repair['repaired']} repaired; bytes equal to the other stores' "
        f"afterwards: {'yes' if repair['bytes_equal_after'] else 'NO'}"
    )


# --- main -------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, default=1.0, help="GB (10^9 bytes) of originals (default 1)")
    parser.add_argument("--files", type=int, default=16, help="how many files share them (default 16)")
    parser.add_argument("--stores", choices=sorted(STORE_NAMES), default="local", help="three of which kind")
    parser.add_argument(
        "--rounds", type=int, default=2, help="each limit and the audit this many times; fastest counts"
    )
    parser.add_argument("--mb-per-s", type=float, default=None, help="throttle the full audit (default: none)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, stores, logs)")
    options = parser.parse_args(argv)
    if options.files < 1 or options.rounds < 1 or options.gb <= 0:
        parser.error("--files and --rounds must be at least 1, --gb above 0")
    if options.gb * GB / options.files < 1:
        parser.error("--files is more than the bytes of --gb: every file needs at least one byte")
    if options.mb_per_s is not None and options.mb_per_s <= 0:
        parser.error("--mb-per-s must be above 0")
    return options


def run(options: argparse.Namespace, workdir: Path, cleanup: contextlib.ExitStack) -> tuple[dict, list[str]]:
    total_bytes = int(options.gb * GB)
    needed = total_bytes * 3.1 + total_bytes / options.files + 0.2 * GB  # three stores, one staged file
    free = shutil.disk_usage(workdir).free
    if free < needed:
        raise SystemExit(f"bench: {workdir} has {free / GB:.1f} GB free; this run needs about {needed / GB:.1f} GB")
    log(f"starting three {options.stores} stores and Django on SQLite in {workdir}")
    configs, servers = start_stores(options.stores, workdir, cleanup)
    setup_django(workdir, configs)
    store_names = [config["name"] for config in configs]
    log(f"populating: {options.gb:g} GB in {options.files} random .bin files through run_in_process")
    populated = populate(total_bytes, options.files, workdir)
    os.sync()
    options.busy_before = cpu_busy()
    if options.busy_before is not None and options.busy_before > BUSY_WARNING:
        log(f"WARNING: the CPUs are {options.busy_before:.0%} busy with other work; the figures will be unreliable")
    log(f"measuring the limits: SHA-256, SHA-512, plain reads, store reads ({options.rounds} round(s) each)")
    limits = measure_limits(store_names, servers, options.rounds)
    log(f"auditing all stores ({options.rounds} round(s))")
    audited = run_audit(store_names, populated["replicas"], options.rounds, options.mb_per_s)
    log("flipping one byte of one replica, then audit(identifier=..., repair=True)")
    repair, failures = corrupt_and_repair(store_names, servers, populated["objects"][0])
    options.busy_after = cpu_busy(1.0)
    if options.keep:
        log(f"kept {workdir}")
    report = summarise(options, populated, limits, audited, repair, store_names)
    report["failures"] = failures
    return report, failures


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    unwind_on_signals()
    workdir = Path(tempfile.mkdtemp(prefix="heritage-bench-audit-"))
    try:
        with contextlib.ExitStack() as cleanup:
            if not options.keep:
                cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
            report, failures = run(options, workdir, cleanup)
            log(
                "cleaning up"
                + (": S3 servers" if options.stores == "s3" else "")
                + ("" if options.keep else ", temporary folder")
            )
    except KeyboardInterrupt:
        log("interrupted; the servers and the temporary folder were cleaned up")
        return 130
    if options.json:
        print(json.dumps(rounded(report), indent=2))
    else:
        print_table(report)
    for failure in failures:
        log(f"FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
