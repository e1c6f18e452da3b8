"""Load and soak: thousands of small photos and some meshes through tus and the REST API from concurrent
clients, while workers are SIGKILLed and Redis is restarted or crashed; at the end every file must be in
the catalogue exactly once, ready, and verified on every store.

    .venv/bin/python benchmarks/soak.py [--photos 3000] [--meshes 30] [--clients 8] [--fault-interval 60]
                                        [--duration-limit 3600] [--seed 1] [--json] [--keep]

Private stack (benchmarks/soak_stack.py): its own PostgreSQL cluster, its own append-only Redis, two
``rclone serve s3`` stores and a local folder store, gunicorn, celery beat (the sweeper, with short
intervals so recovery happens within the run) and N celery workers in their own process groups. Clients
(benchmarks/soak_clients.py): half upload through tus (tuspy, logged in like a browser), half through the
REST API (token), retrying as a field client would. A fault thread kills a worker (SIGKILL of its process
group, then a replacement) and restarts Redis (alternately clean and kill -9) at seeded random moments.
The end check (benchmarks/soak_check.py) waits until nothing is in a non-final state, then checks every
invariant against the catalogue and re-hashes the stores' bytes. Exit status 1 when an invariant fails.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import cpu_busy, log, rounded, unwind_on_signals  # noqa: E402
from benchmarks.soak_check import (  # noqa: E402
    access_log_statuses,
    pipeline_state,
    verify,
    worker_log_stats,
)
from benchmarks.soak_clients import MB, ClientConfig, Result, Tally, generate, run_clients  # noqa: E402
from benchmarks.soak_stack import FaultInjector, Stack, parse_schedule  # noqa: E402

PASSWORD = "soak-field-team-2026"
STATE_EVERY = 3.0  # seconds between catalogue polls


def setup_catalogue(clients: int):
    """A community, a collection and one curator account per client (tus: password; API: token)."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from archive.models import Collection, Community, Membership, Role

    community = Community.objects.create(slug="soak", name="Soak community")
    collection = Collection.objects.create(community=community, slug="soak-field", title="Field uploads (soak)")
    tus_users, tokens = [], []
    tus_clients = max(1, (clients + 1) // 2)
    for number in range(max(2, clients)):
        channel = "web" if number < tus_clients else "api"
        user = get_user_model().objects.create_user(f"soak-{channel}-{number}", password=PASSWORD)
        Membership.objects.create(user=user, community=community, role=Role.CURATOR)
        if channel == "web":
            tus_users.append(user.username)
        else:
            output = io.StringIO()
            call_command("api_token", user.username, stdout=output, stderr=io.StringIO())
            tokens.append(output.getvalue().strip())
    return collection, tus_users, tokens


class Monitor:
    """Polls Redis (queue depth) every second and the catalogue every few seconds; logs progress."""

    def __init__(self, stack: Stack, collection, items, results, injector, started: float, every: float):
        self.stack, self.collection, self.items, self.results = stack, collection, items, results
        self.injector, self.started, self.every = injector, started, every
        self.max_waiting = self.max_unacked = 0
        self.max_waiting_at = 0.0
        self.state: dict = {}
        self._state_at = self._logged_at = 0.0

    def uploaded(self) -> set[str]:
        return {item.sha256 for item in self.items if self.results[item.index].state == "done"}

    def tick(self, phase: str) -> dict:
        depth = self.stack.queue_depth()
        now = time.time()
        if depth is not None:
            waiting, unacked = depth
            if waiting > self.max_waiting:
                self.max_waiting, self.max_waiting_at = waiting, now - self.started
            self.max_unacked = max(self.max_unacked, unacked)
        if now - self._state_at >= STATE_EVERY or not self.state:
            self.state = pipeline_state(self.collection, self.stack.store_names, self.uploaded())
            self._state_at = now
        if now - self._logged_at >= self.every:
            self._logged_at = now
            self.log(phase, depth)
        return self.state

    def log(self, phase: str, depth) -> None:
        state, counts = self.state, {}
        for result in self.results.values():
            counts[result.state] = counts.get(result.state, 0) + 1
        kinds = [fault["kind"] for fault in self.injector.faults] if self.injector else []
        queue = f"queue {depth[0]} (unacked {depth[1]})" if depth else "queue ? (Redis down)"
        log(
            f"{phase} {time.time() - self.started:6.0f}s | uploaded {counts.get('done', 0)}/{len(self.items)}"
            f" (failed {counts.get('failed', 0)}) | originals {state.get('originals', 0)}:"
            f" ready {state.get('ready', 0)}"
            f", preserved {state.get('jobs_done', 0)}, unverified {state.get('unverified', 0)}"
            f", stores behind {state.get('stores_behind', 0)} | {queue}"
            f" | faults: {kinds.count('kill-worker')} kills, {kinds.count('redis-restart')} Redis restarts,"
            f" {kinds.count('redis-crash')} crashes"
        )


def run(options: argparse.Namespace, workdir: Path, cleanup: contextlib.ExitStack) -> dict:
    # Measured: 0.75 MB a photo on each store (the uncompressed TIFF master mostly); twice that, for staging and margin.
    needed = (options.photos * 1.5 + options.meshes * 6.0) * 1e6 * (3 if options.local_store else 2)
    free = shutil.disk_usage(workdir).free
    if free < needed:
        raise SystemExit(f"soak: {workdir} has {free / 1e9:.1f} GB free; this run needs about {needed / 1e9:.1f} GB")
    busy_before = cpu_busy()
    log(f"generating {options.photos} photos and {options.meshes} meshes (seed {options.seed}) in {workdir}")
    items = generate(workdir / "inputs", options.photos, options.meshes, options.seed, parallel=2)
    input_bytes = sum(item.size for item in items)
    log(f"{len(items)} files, {input_bytes / MB:.1f} MB; starting the private stack")
    stack = Stack(options, workdir, cleanup)
    stack.start()
    collection, tus_users, tokens = setup_catalogue(options.clients)
    stack.start_processes()
    log(f"gunicorn on {stack.base_url}, {options.workers} workers, beat; stores {', '.join(stack.store_names)}")

    stop_clients, stop_faults, tally = threading.Event(), threading.Event(), Tally()
    config = ClientConfig(
        stack.base_url, collection.slug, tus_users, tokens, PASSWORD, options.clients, options.attempts,
        options.chunk_size, options.seed, options.pace,
    )  # fmt: skip
    results = {item.index: Result() for item in items}
    started = time.time()
    clients = threading.Thread(
        target=run_clients, args=(items, config, stop_clients, tally, results), name="soak-clients", daemon=True
    )
    clients.start()
    injector = None
    if not options.no_faults:
        schedule = parse_schedule(options.faults) if options.faults else None
        injector = FaultInjector(
            stack, started=started, stop=stop_faults, seed=options.seed, interval=options.fault_interval,
            downtime=options.redis_downtime, schedule=schedule,
        )  # fmt: skip
        injector.start()
    monitor = Monitor(stack, collection, items, results, injector, started, options.progress_every)

    # Load: uploads and processing under faults, until every uploaded file is processed and packaged (and,
    # with --faults, every scheduled fault happened) or the duration limit. Replication may still be catching
    # up then: a worker killed while writing holds its (object, store) lease for ARCHIVE_REPLICATION_LEASE_SECONDS.
    deadline = started + options.duration_limit
    while time.time() < deadline:
        state = monitor.tick("load ")
        caught_up = state["missing"] == 0 and state["received"] + state["processing"] + state["unpackaged"] == 0
        if not clients.is_alive() and caught_up and (injector is None or injector.exhausted or injector.random):
            break
        time.sleep(1)
    stop_clients.set()
    stop_faults.set()
    clients.join(timeout=120)
    if injector is not None:
        injector.join(timeout=300)
    load_end = time.time()
    # Drain: no more faults; wait (bounded) until nothing is in a non-final state.
    drain_deadline = load_end + options.drain_timeout
    state = monitor.tick("drain")
    while not state["drained"] and time.time() < drain_deadline:
        time.sleep(1)
        state = monitor.tick("drain")
    drained_at = time.time()
    monitor.log("end  ", stack.queue_depth())
    log("checking every invariant against the catalogue and the stores")
    pairs = zip(("s3-a", "s3-b"), stack.servers, strict=True)
    roots = {name: server.root / server.bucket for name, server in pairs}
    if options.local_store:
        roots["local-c"] = workdir / "local-c"
    check_started = time.time()
    figures, failures = verify(
        items, results, collection, roots, sample=options.rehash_sample, ocfl_sample=options.ocfl_sample,
        seed=options.seed,
    )  # fmt: skip
    check_seconds = time.time() - check_started
    busy_after = cpu_busy(1.0)
    preserved_seconds = drained_at - started
    uploaded_bytes = sum(item.size for item in items if results[item.index].state == "done")
    answers: dict[str, int] = {}
    for result in results.values():
        if result.answer:
            answers[result.answer] = answers.get(result.answer, 0) + 1
    faults = injector.faults if injector else []
    pipeline = worker_log_stats(stack.worker_logs())
    copies_needed = figures["versions"] * len(stack.store_names)  # each version written once to each store
    report = {
        "benchmark": "soak",
        "photos": options.photos,
        "meshes": options.meshes,
        "client_count": options.clients,
        "pace_files_per_s": options.pace,
        "workers": options.workers,
        "concurrency": options.concurrency,
        "web_workers": options.web_workers,
        "stores": stack.store_names,
        "seed": options.seed,
        "cores": os.cpu_count(),
        "cpu_busy_before": busy_before,
        "cpu_busy_after": busy_after,
        "settings": {
            "sweep_interval_s": options.sweep_interval,
            "stuck_after_s": options.stuck_after,
            "visibility_timeout_s": options.visibility_timeout,
            "retry_backoff_max_s": options.retry_backoff_max,
            "replication_lease_s": options.lease_seconds or "600 (the default)",
            "redis_downtime_s": options.redis_downtime,
        },
        "input_mb": input_bytes / MB,
        "uploaded_mb": uploaded_bytes / MB,
        "load_s": load_end - started,
        "drain_s": drained_at - load_end,
        "drained": state["drained"],
        "check_s": check_seconds,
        "files_per_s": figures["uploaded"] / preserved_seconds if preserved_seconds else 0.0,
        "mb_per_s": uploaded_bytes / MB / preserved_seconds if preserved_seconds else 0.0,
        "uploads_finished_s": max((r.finished_at for r in results.values() if r.finished_at), default=started)
        - started,
        "faults": {
            "worker_kills": sum(1 for fault in faults if fault["kind"] == "kill-worker"),
            "redis_restarts": sum(1 for fault in faults if fault["kind"] == "redis-restart"),
            "redis_crashes": sum(1 for fault in faults if fault["kind"] == "redis-crash"),
            "not_injected": injector.errors if injector else [],
            "last_fault_s": max((fault["at_s"] for fault in faults), default=None),
            "log": faults,
        },
        "clients": {
            "answers": answers,
            "retries": dict(sorted((k, v) for k, v in tally.counts.items() if k.startswith("retry"))),
            "statuses": dict(sorted((k, v) for k, v in tally.counts.items() if k.startswith("http"))),
            "other": dict(sorted((k, v) for k, v in tally.counts.items() if not k.startswith(("retry", "http")))),
            "errors": sorted({r.error for r in results.values() if r.error})[:10],
        },
        "server_statuses": access_log_statuses(workdir / "access.log"),
        "pipeline": {
            **pipeline,
            "version_copies_needed": copies_needed,
            "replicate_tasks_per_version_copy": pipeline["tasks_succeeded"].get("replicate", 0) / max(1, copies_needed),
            "max_queue_depth": monitor.max_waiting,
            "max_queue_depth_at_s": monitor.max_waiting_at,
            "max_unacked": monitor.max_unacked,
        },
        "checks": figures,
        "failures": failures,
        "ok": not failures,
    }
    if options.keep:
        log(f"kept {workdir} (logs: worker-*.log, beat.log, web.log, access.log, redis/, s3-*.rclone.log)")
    return report


# --- report -----------------------------------------------------------------------------------------


def print_report(report: dict) -> None:
    checks, faults, pipeline, clients = report["checks"], report["faults"], report["pipeline"], report["clients"]
    busy = [f"{report[f'cpu_busy_{m}']:.0%} {m}" for m in ("before", "after") if report[f"cpu_busy_{m}"] is not None]
    print(
        f"Soak: {report['photos']} photos + {report['meshes']} meshes ({report['input_mb']:.1f} MB) from "
        f"{report['client_count']} clients (tus and REST API); {report['workers']} workers x {report['concurrency']}, "
        f"gunicorn x {report['web_workers']}, stores {', '.join(report['stores'])}; {report['cores']} cores"
        + (f", CPUs busy with other work: {', '.join(busy)}" if busy else "")
    )
    settings = ", ".join(f"{key} {value}" for key, value in report["settings"].items())
    print(f"settings: {settings}; seed {report['seed']}")
    print()
    print(
        f"duration: {report['load_s']:.0f} s under load and faults + {report['drain_s']:.0f} s drain "
        f"(uploads finished at {report['uploads_finished_s']:.0f} s), check {report['check_s']:.0f} s"
    )
    print(
        f"throughput: {checks['uploaded']} files, {report['uploaded_mb']:.1f} MB preserved in "
        f"{report['load_s'] + report['drain_s']:.0f} s: {report['files_per_s']:.2f} files/s, "
        f"{report['mb_per_s']:.3f} MB/s (upload to last verified copy)"
    )
    print(
        f"faults injected: {faults['worker_kills']} worker kills (SIGKILL), {faults['redis_restarts']} Redis "
        f"restarts, {faults['redis_crashes']} Redis crashes (kill -9)"
        + (f"; NOT injected: {faults['not_injected']}" if faults["not_injected"] else "")
    )
    for fault in faults["log"]:
        print(f"  {fault['at_s']:7.1f} s  {fault['kind']:<14} {fault['detail']}")
    print(f"client answers: {clients['answers']}; retries: {clients['retries'] or 'none'}")
    print(f"client HTTP statuses: {clients['statuses']}")
    if clients["other"] or clients["errors"]:
        print(f"client problems: {clients['other']} {clients['errors']}")
    print(f"server HTTP statuses (access log): {report['server_statuses']}")
    print(
        f"pipeline: {pipeline['tasks_received']} task deliveries, {pipeline['retries']} retries, "
        f"{pipeline['redeliveries']} redeliveries; sweeper re-queued {pipeline['sweeper_requeued'] or 'nothing'}; "
        f"max queue depth {pipeline['max_queue_depth']} (at {pipeline['max_queue_depth_at_s']:.0f} s), "
        f"max unacknowledged {pipeline['max_unacked']}"
    )
    print(
        f"tasks succeeded: {pipeline['tasks_succeeded']} ({pipeline['task_seconds']:.0f} s of task time); "
        f"replicate tasks per version copy needed: {pipeline['replicate_tasks_per_version_copy']:.1f} "
        f"({checks['versions']} OCFL versions x {len(report['stores'])} stores = {pipeline['version_copies_needed']})"
    )
    if pipeline["raised"]:
        print(f"tasks raised: {pipeline['raised']}")
    print()
    rehash, ocfl = checks["rehash"], checks["ocfl"]
    print(
        f"catalogue: {checks['objects']} objects (expected {checks['objects_expected']}), {checks['assets']} "
        f"assets; re-hashed through the stores: {rehash['checked']} copies ({rehash['originals']} originals, "
        f"{rehash['others']} others sampled at {rehash['sample_share']:.0%}), {rehash['mb']:.1f} MB; OCFL: "
        f"{ocfl['objects']} objects' heads read on every store, {ocfl['validated']} validated by ocfl-py"
    )
    print("invariants (each must be 0):")
    for name, value in checks["invariants"].items():
        print(f"  {name:<32} {value}{'' if not value else '   <-- FAILED'}")
    if checks["unverified"]:
        print(f"  unverified by store: {checks['unverified_by_store']}")
    if ocfl["errors"]:
        print(f"  ocfl-py: {ocfl['errors']}")
    print()
    print("RESULT: " + ("PASS" if report["ok"] else f"FAIL ({', '.join(report['failures'])})"))


# --- main -------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    load = parser.add_argument_group("load")
    load.add_argument("--photos", type=int, default=3000, help="generated photos (JPEG/PNG, a few kB to ~100 kB)")
    load.add_argument("--meshes", type=int, default=30, help="generated meshes (PLY binary/ASCII, OBJ)")
    load.add_argument("--clients", type=int, default=8, help="concurrent clients: half tus, half REST API")
    load.add_argument(
        "--pace", type=float, default=0, help="files per second over all clients (0: as fast as they can)"
    )
    load.add_argument("--attempts", type=int, default=40, help="attempts per request before a client gives up")
    load.add_argument("--chunk-size", type=int, default=64 * 1024, help="tus PATCH size in bytes")
    stack = parser.add_argument_group("stack")
    stack.add_argument("--workers", type=int, default=3, help="celery worker processes (each its own group)")
    stack.add_argument("--concurrency", type=int, default=1, help="--concurrency of each worker")
    stack.add_argument("--web-workers", type=int, default=3, help="gunicorn workers")
    stack.add_argument("--no-local-store", dest="local_store", action="store_false", help="only the two S3 stores")
    stack.add_argument("--sweep-interval", type=float, default=15, help="ARCHIVE_SWEEP_INTERVAL (s)")
    stack.add_argument("--stuck-after", type=int, default=180, help="ARCHIVE_STUCK_AFTER_SECONDS")
    stack.add_argument("--visibility-timeout", type=int, default=180, help="CELERY_VISIBILITY_TIMEOUT (s)")
    stack.add_argument("--retry-backoff-max", type=int, default=30, help="ARCHIVE_TASK_RETRY_BACKOFF_MAX (s)")
    stack.add_argument(
        "--lease-seconds",
        type=int,
        default=None,
        help="shorten the replication lease (ARCHIVE_REPLICATION_LEASE_SECONDS) in the workers; default 600 s",
    )
    faults = parser.add_argument_group("faults")
    faults.add_argument("--fault-interval", type=float, default=60, help="mean seconds between faults (seeded)")
    faults.add_argument(
        "--faults",
        default="",
        help="fixed schedule instead, e.g. kill-worker@20,redis-restart@40,redis-crash@60 (s after the start)",
    )
    faults.add_argument("--no-faults", action="store_true", help="load only (a baseline for the figures)")
    faults.add_argument("--redis-downtime", type=float, default=2, help="seconds Redis stays down per fault")
    run_group = parser.add_argument_group("run")
    run_group.add_argument("--seed", type=int, default=1, help="inputs, grouping and fault moments")
    run_group.add_argument("--duration-limit", type=float, default=3600, help="longest load phase (s)")
    run_group.add_argument("--drain-timeout", type=float, default=900, help="longest fault-free drain after it (s)")
    run_group.add_argument("--rehash-sample", type=float, default=0.1, help="share of non-original copies re-hashed")
    run_group.add_argument("--ocfl-sample", type=int, default=10, help="objects per store validated by ocfl-py")
    run_group.add_argument("--progress-every", type=float, default=15, help="seconds between progress lines")
    run_group.add_argument("--json", action="store_true", help="one JSON object on stdout instead of the report")
    run_group.add_argument("--keep", action="store_true", help="keep the temporary folder (inputs, stores, logs)")
    options = parser.parse_args(argv)
    if options.photos < 0 or options.meshes < 0 or options.photos + options.meshes < 1:
        parser.error("--photos and --meshes must not be negative, and there must be at least one file")
    if min(options.clients, options.workers, options.concurrency, options.web_workers) < 1:
        parser.error("--clients, --workers, --concurrency and --web-workers must be at least 1")
    if options.faults:
        try:
            parse_schedule(options.faults)
        except ValueError as error:
            parser.error(f"--faults: {error}")
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    unwind_on_signals()
    workdir = Path(tempfile.mkdtemp(prefix="heritage-soak-"))
    try:
        with contextlib.ExitStack() as cleanup:
            if not options.keep:
                cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
            report = run(options, workdir, cleanup)
            log(
                "cleaning up: workers, beat, gunicorn, S3 servers, Redis, PostgreSQL"
                + ("" if options.keep else ", folder")
            )
    except KeyboardInterrupt:
        log("interrupted; every process of the private stack was stopped")
        return 130
    if options.json:
        print(json.dumps(rounded(report), indent=2, default=str))
    else:
        print_report(report)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
