"""What every benchmark script shares: progress lines, timers, the busy-machine check, JSON rounding."""

from __future__ import annotations

import sys
import time
from pathlib import Path

BUSY_WARNING = 0.15  # CPU share busy with other work before the runs above which the figures mean little


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def lap(start: float) -> float:
    return time.perf_counter() - start


def cpu_busy(seconds: float = 2.0) -> float | None:
    """Share of all CPUs busy over ``seconds`` (Linux /proc/stat): other work on the machine skews both sides."""

    def sample() -> tuple[int, int]:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    try:
        total, idle = sample()
        time.sleep(seconds)
        total_after, idle_after = sample()
    except (OSError, ValueError, IndexError):
        return None
    return 1 - (idle_after - idle) / max(1, total_after - total)


def rounded(value):
    """Floats to 4 decimals, recursively, for ``--json``."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    return value


def interrupt(signum, _frame) -> None:
    """SIGTERM/SIGHUP handler: unwind like Ctrl-C so the cleanup stack runs."""
    raise KeyboardInterrupt(f"signal {signum}")


def unwind_on_signals() -> None:
    """Ctrl-C, kill and a closed terminal all raise KeyboardInterrupt, so a benchmark's cleanup stack runs
    (SIGINT too when the calling shell ignored it)."""
    import signal

    signal.signal(signal.SIGINT, signal.default_int_handler)
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, interrupt)
