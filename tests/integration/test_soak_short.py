"""The soak (benchmarks/soak.py) in a short, bounded form: 120 photos and 4 meshes from 4 concurrent
clients (tus and REST API), spread over about 40 s, while a worker is SIGKILLed twice, Redis is restarted
cleanly once and crashed once, at fixed moments. Every file must end in the catalogue exactly once, ready,
with a verified copy on every store, and the stores' bytes must hash to the clients' SHA-256.

The soak starts its own PostgreSQL cluster, append-only Redis, S3 servers, gunicorn, beat and workers
(the machine needs only the binaries), so it runs in a subprocess: its Django is not this test's.
Marked ``services`` to run with the other real-service tests in ``make test``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.services, pytest.mark.timeout(480)]

ROOT = Path(__file__).resolve().parents[2]
SHORT_RUN = [
    "--photos", "120", "--meshes", "4", "--clients", "4", "--workers", "2", "--web-workers", "2",
    # Uploads spread over about 40 s (3 files/s), so every fault lands while clients are still sending.
    "--pace", "3", "--faults", "kill-worker@6,redis-restart@15,kill-worker@27,redis-crash@36",
    # Short enough for recovery within the run (benchmarks/README.md, "Soak"): the sweeper every 4 s, work
    # stuck for 20 s re-queued, unacknowledged tasks redelivered after 30 s, the replication lease 20 s.
    "--sweep-interval", "4", "--stuck-after", "20", "--visibility-timeout", "30", "--retry-backoff-max", "8",
    "--lease-seconds", "20", "--duration-limit", "180", "--drain-timeout", "120", "--ocfl-sample", "5",
    "--rehash-sample", "0.2", "--seed", "7", "--json",
]  # fmt: skip


def test_a_short_soak_under_faults_keeps_every_file_exactly_once_and_verified_on_every_store():
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DATABASE_URL", "CELERY_BROKER_URL", "ARCHIVE_STORES", "ARCHIVE_CACHE_URL"))
    }
    completed = subprocess.run(
        [sys.executable, "benchmarks/soak.py", *SHORT_RUN],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=450,
    )
    progress = completed.stderr[-6000:]
    assert completed.stdout.strip(), f"the soak printed no report (exit {completed.returncode}):\n{progress}"
    report = json.loads(completed.stdout)
    checks, faults = report["checks"], report["faults"]

    assert faults["not_injected"] == [], progress
    assert (faults["worker_kills"], faults["redis_restarts"], faults["redis_crashes"]) == (2, 1, 1), progress
    assert checks["files"] == checks["uploaded"] == 124, progress
    assert checks["lost"] == 0 and checks["duplicates"] == 0 and checks["unexpected"] == 0, progress
    assert checks["objects"] == checks["objects_expected"], progress
    assert checks["not_ready"] == 0 and checks["quarantined"] == 0, progress
    assert checks["unverified_by_store"] == dict.fromkeys(report["stores"], 0), progress
    assert checks["stores_behind"] == 0 and checks["jobs_unfinished"] == 0, progress
    assert checks["rehash"]["originals"] == 124 * len(report["stores"]), progress
    assert checks["rehash"]["mismatched"] == checks["rehash"]["unreadable"] == 0, progress
    assert checks["ocfl"]["head_differs"] == checks["ocfl"]["invalid"] == 0, progress
    assert report["failures"] == [] and completed.returncode == 0, progress
