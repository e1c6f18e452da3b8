"""``python benchmarks/soak_worker.py ARGS`` = ``python -m celery ARGS`` with a shorter replication lease.

Used by the soak only when ``--lease-seconds`` is given (the CI's short run). The (object, store) lease in
``preservation.replication`` is a constant, 600 s: a worker SIGKILLed while writing an object holds it that
long, and neither the redelivered task nor the sweeper may write that object to that store until it
expires. A run of two or three minutes cannot wait for that, so this launcher sets
``preservation.replication.LEASE_SECONDS`` from ``SOAK_REPLICATION_LEASE_SECONDS`` before Celery starts.
It stands in for a setting (see benchmarks/README.md, "Soak"); nothing else changes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from preservation import replication

    if not hasattr(replication, "LEASE_SECONDS"):
        raise SystemExit("soak_worker: preservation.replication.LEASE_SECONDS is gone; update this launcher")
    replication.LEASE_SECONDS = int(os.environ["SOAK_REPLICATION_LEASE_SECONDS"])
    from celery.__main__ import main as celery_main

    sys.argv = ["celery", *sys.argv[1:]]
    celery_main()


if __name__ == "__main__":
    main()
