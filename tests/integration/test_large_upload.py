"""A 2 GB upload streams to disk through a real server process without being held in memory."""

from __future__ import annotations

import hashlib
import secrets
import socket
import subprocess
import sys
import time

import pytest

from archive.models import Asset, Upload
from tests.factories import make_object
from tests.fixtures.services import ROOT, purge_broker, service_env, wait_for
from tests.integration.tusclient import login, upload

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.timeout(600)]
SIZE = 2 * 1024**3
UNCONSUMED_BROKER = "redis://127.0.0.1:6379/13"  # the finished upload's task waits here, unprocessed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peak_memory_kib(pid: int) -> int:
    """VmHWM (peak resident set) of a process and its children, in KiB."""
    pids = [pid] + [
        int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    ]
    peaks = []
    for one in pids:
        with open(f"/proc/{one}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]))
    return max(peaks)


def test_a_2_gb_upload_streams_with_bounded_server_memory(transactional_db, personas, settings, tmp_path):
    obj = make_object(personas.collection, "Large scan", published=False)
    # The server subprocess runs the real settings: give the curator a password hash it accepts.
    from django.conf import global_settings

    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    personas.curator.set_password("pw-for-tests-123")
    personas.curator.save()
    source = tmp_path / "large-scan.bin"
    with open(source, "wb") as handle:  # sparse: reading it costs no disk
        handle.truncate(SIZE)
    port = free_port()
    env = service_env(
        settings,
        CELERY_BROKER_URL=UNCONSUMED_BROKER,
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),  # production refuses the development key
        DJANGO_HTTPS="0",  # plain HTTP to gunicorn on loopback
        ARCHIVE_MAX_UPLOAD_BYTES=str(4 * 1024**3),
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "2",
            "--timeout",
            "600",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(port), 30, what="gunicorn")
        baseline = peak_memory_kib(server.pid)
        started = time.monotonic()
        upload(base, login(base, "curator"), source, obj.identifier, chunk_size=64 * 1024 * 1024)
        elapsed = time.monotonic() - started
        peak = peak_memory_kib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
        purge_broker(UNCONSUMED_BROKER)
    upload_row = Upload.objects.get(object=obj)
    asset = Asset.objects.get(pk=upload_row.asset_id)
    zeros = hashlib.sha256()
    block = bytes(16 * 1024 * 1024)
    for _ in range(SIZE // len(block)):
        zeros.update(block)
    assert asset.size == SIZE and asset.sha256 == zeros.hexdigest()
    print(
        f"\n2 GiB tus upload: {SIZE / elapsed / 1e6:.0f} MB/s; server peak RSS {peak / 1024:.0f} MiB "
        f"(idle {baseline / 1024:.0f} MiB)"
    )
    assert peak - baseline < 150 * 1024, f"server memory grew by {(peak - baseline) / 1024:.0f} MiB"


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
