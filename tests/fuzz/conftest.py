"""Hypothesis profiles for the fuzz tests, and a CPU-time guard so that a hang is a failing example.

* ``ci`` (the default): a bounded, reproducible run (``derandomize=True``: the same examples every time),
  about a minute on a 2-core machine for the whole of ``tests/fuzz``.
* ``long``: thousands of random examples per target, for a night or a release:
  ``HYPOTHESIS_PROFILE=long .venv/bin/pytest tests/fuzz -p no:cacheprovider``.

The profiles are applied with ``@FUZZ`` (and ``FUZZ.max_examples``) on each test rather than loaded
globally, so they never change the settings of other Hypothesis users in the same session (the
schemathesis API tests). Nothing is written to ``.hypothesis/``; a failure prints the falsifying example
(and ``@reproduce_failure`` blob), which becomes an ``@example`` or a plain regression test.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

_COMMON = {
    "deadline": None,  # timings vary on a shared machine; hangs are caught by cpu_budget instead
    "database": None,
    "print_blob": True,
    # The tests reuse function-scoped fixtures (tmp_path, personas) on purpose: every example cleans up
    # after itself, and the CSV import runs with dry_run (it writes nothing).
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("ci", max_examples=60, derandomize=True, **_COMMON)
settings.register_profile("long", max_examples=3000, derandomize=False, **_COMMON)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if PROFILE not in ("ci", "long"):
    raise RuntimeError(f"HYPOTHESIS_PROFILE={PROFILE!r}: use ci (the default) or long")
FUZZ = settings.get_profile(PROFILE)


# Hypothesis caches constants and Unicode tables under ./.hypothesis/ even without an example database, as
# soon as test modules are imported: keep them in a temporary folder instead of the working tree.
_HOME = tempfile.mkdtemp(prefix="hypothesis-fuzz-")
set_hypothesis_home_dir(_HOME)


@pytest.fixture(scope="session", autouse=True)
def hypothesis_home():
    yield
    set_hypothesis_home_dir(None)
    shutil.rmtree(_HOME, ignore_errors=True)


def pytest_collection_modifyitems(items) -> None:
    """The long profile runs thousands of examples per test: lift pytest-timeout's 300 s for those tests."""
    if PROFILE == "long":
        for item in items:
            if item.path.parent == Path(__file__).parent:
                item.add_marker(pytest.mark.timeout(4 * 3600))


CPU_SECONDS_PER_EXAMPLE = 30  # CPU time, not wall time: a loaded machine does not make a test fail


class Hang(Exception):
    """An example used more CPU time than any input of this size should (a loop that does not end)."""


def _on_budget_exhausted(signum, frame) -> None:
    raise Hang(f"more than {CPU_SECONDS_PER_EXAMPLE} s of CPU time for one input")


@contextmanager
def cpu_budget(seconds: float = CPU_SECONDS_PER_EXAMPLE) -> Iterator[None]:
    """Raise Hang in this (main) thread once it has used ``seconds`` of CPU time.

    Uses ITIMER_PROF/SIGPROF, which pytest-timeout (SIGALRM, wall clock) leaves alone. A loop inside C
    code is interrupted when control returns to Python; pytest-timeout remains the last resort.
    """
    previous = signal.signal(signal.SIGPROF, _on_budget_exhausted)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
