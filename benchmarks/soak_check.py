"""What the soak checks: the pipeline's state while it runs, and at the end every invariant, against the
catalogue (PostgreSQL) and against the bytes the stores really hold.

Invariants (each must be zero): files the clients could not upload, files uploaded but missing from the
catalogue (lost), files that became more than one original (duplicates), originals nobody uploaded,
files in the wrong object, objects made twice, originals not ready, quarantined files (every input is
valid), assets without a verified replica in some store, stores behind an object's latest version, ingest
jobs not finished, staged files never released, store bytes that do not hash to the recorded SHA-256, and
OCFL objects whose inventory head differs from the catalogue or that ocfl-py finds invalid.
"""

from __future__ import annotations

import ast
import random
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

RECEIVED = re.compile(r"Task (preservation\.\w+)\[([0-9a-f-]{36})\] received")
RETRIED = re.compile(r"Task (preservation\.\w+)\[([0-9a-f-]{36})\] retry:")
SUCCEEDED = re.compile(r"Task (preservation\.\w+)\[[0-9a-f-]{36}\] succeeded in ([0-9.]+)s")
SWEPT = re.compile(r"Task preservation\.sweep\[[0-9a-f-]{36}\] succeeded in [0-9.]+s: (\{[^}]*\})")
RAISED = re.compile(r"Task (preservation\.\w+)\[[0-9a-f-]{36}\] raised unexpected: (\w+)")
ACCESS_STATUS = re.compile(r'"[A-Z]+ [^"]*" (\d{3}) ')


def _scope(collection):
    from archive.models import Asset

    return Asset.objects.filter(object__collection=collection).exclude(
        status__in=[Asset.State.DELETED, Asset.State.DISCARDED]
    )


def unverified_assets(collection, store_names: list[str]) -> dict[str, int]:
    """Per store: packaged assets without a replica there that is ``ok`` with the recorded digest."""
    from django.db.models import Exists, OuterRef

    from preservation.models import Replica

    packaged = _scope(collection).filter(version__isnull=False)
    counts = {}
    for name in store_names:
        good = Replica.objects.filter(
            asset=OuterRef("pk"), store__name=name, state=Replica.State.OK, observed_sha256=OuterRef("sha256")
        )
        counts[name] = packaged.filter(~Exists(good)).count()
    return counts


def stores_behind(collection, store_names: list[str]) -> int:
    """(object, store) pairs where the store's OCFL head is behind the catalogue's latest version."""
    from django.db.models import Max

    from archive.models import HeritageObject
    from preservation.models import StoreObject

    heads = dict(
        HeritageObject.objects.filter(collection=collection)
        .annotate(head=Max("versions__number"))
        .filter(head__isnull=False)
        .values_list("pk", "head")
    )
    reached = {
        (object_id, store): head
        for object_id, store, head in StoreObject.objects.filter(object__collection=collection).values_list(
            "object_id", "store__name", "head_version"
        )
    }
    return sum(1 for pk, head in heads.items() for name in store_names if reached.get((pk, name), 0) < head)


def pipeline_state(collection, store_names: list[str], uploaded: set[str]) -> dict:
    """Counts of work in each state; ``drained`` when nothing is left in a non-final state."""
    from django.db.models import Count

    from archive.models import Asset
    from preservation.models import ProcessingJob

    originals = _scope(collection).filter(role=Asset.Role.ORIGINAL)
    status = dict(originals.values_list("status").annotate(n=Count("id")))
    jobs = dict(
        ProcessingJob.objects.filter(object__collection=collection).values_list("state").annotate(n=Count("id"))
    )
    unpackaged = (
        _scope(collection)
        .filter(status=Asset.State.READY, version__isnull=True)
        .exclude(role=Asset.Role.METADATA)
        .count()
    )
    missing = len(uploaded - set(originals.values_list("sha256", flat=True))) if uploaded else 0
    unverified = sum(unverified_assets(collection, store_names).values())
    behind = stores_behind(collection, store_names)
    in_flight = (
        status.get(Asset.State.RECEIVED, 0)
        + status.get(Asset.State.PROCESSING, 0)
        + unpackaged
        + jobs.get(ProcessingJob.State.QUEUED, 0)
        + jobs.get(ProcessingJob.State.RUNNING, 0)
    )
    return {
        "originals": sum(status.values()),
        "received": status.get(Asset.State.RECEIVED, 0),
        "processing": status.get(Asset.State.PROCESSING, 0),
        "ready": status.get(Asset.State.READY, 0),
        "quarantined": status.get(Asset.State.QUARANTINED, 0),
        "unpackaged": unpackaged,
        "jobs_done": jobs.get(ProcessingJob.State.DONE, 0),
        "jobs_open": jobs.get(ProcessingJob.State.QUEUED, 0) + jobs.get(ProcessingJob.State.RUNNING, 0),
        "unverified": unverified,
        "stores_behind": behind,
        "missing": missing,
        "drained": in_flight == 0 and unverified == 0 and behind == 0 and missing == 0,
    }


# --- the end check ----------------------------------------------------------------------------------


def verify(items, results, collection, store_roots: dict[str, Path], *, sample: float, ocfl_sample: int, seed: int):
    """Every invariant, from the catalogue and from the stores' bytes; returns (figures, failures)."""
    from archive.models import Asset, HeritageObject, ObjectVersion

    names = list(store_roots)
    rng = random.Random(seed)
    done = [item for item in items if results[item.index].state == "done"]
    expected = {item.sha256: item for item in items}
    originals = list(
        _scope(collection)
        .filter(role=Asset.Role.ORIGINAL)
        .values_list("id", "sha256", "status", "object__source_reference", "local_path")
    )
    by_digest = Counter(sha for _, sha, _, _, _ in originals)
    objects = HeritageObject.objects.filter(collection=collection)
    groups = {item.group for item in items}
    expected_reference = {item.sha256: ("upload:" if item.channel == "tus" else "") + item.group for item in items}
    figures = {
        "files": len(items),
        "uploaded": len(done),
        "upload_failed": sum(1 for item in items if results[item.index].state == "failed"),
        "not_sent": sum(1 for item in items if results[item.index].state == "not sent"),
        "lost": sum(1 for item in done if by_digest[item.sha256] == 0),
        "duplicates": sum(count - 1 for count in by_digest.values() if count > 1),
        "unexpected": sum(1 for sha in by_digest if sha not in expected),
        "misplaced": sum(
            1 for _, sha, _, reference, _ in originals if sha in expected and reference != expected_reference[sha]
        ),
        "objects": objects.count(),
        "objects_expected": len(groups),
        "not_ready": sum(1 for _, _, status, _, _ in originals if status not in ("ready", "quarantined")),
        "quarantined": sum(1 for _, _, status, _, _ in originals if status == "quarantined"),
        "unverified_by_store": unverified_assets(collection, names),
        "stores_behind": stores_behind(collection, names),
        "jobs_unfinished": _unfinished_jobs(collection),
        "staging_left": _scope(collection).exclude(local_path="").count(),
        "assets": _scope(collection).count(),
        "versions": ObjectVersion.objects.filter(object__collection=collection).count(),
    }
    figures["extra_objects"] = max(0, figures["objects"] - figures["objects_expected"])
    figures["unverified"] = sum(figures["unverified_by_store"].values())
    figures["rehash"] = rehash(collection, names, expected, sample, rng)
    figures["ocfl"] = check_ocfl(collection, store_roots, ocfl_sample, rng)
    invariants = {
        "every file uploaded": figures["upload_failed"] + figures["not_sent"],
        "lost": figures["lost"],
        "duplicates": figures["duplicates"],
        "unexpected originals": figures["unexpected"],
        "misplaced": figures["misplaced"],
        "extra objects": figures["extra_objects"],
        "not ready": figures["not_ready"],
        "quarantined": figures["quarantined"],
        "unverified replicas": figures["unverified"],
        "stores behind": figures["stores_behind"],
        "jobs unfinished": figures["jobs_unfinished"],
        "staging not released": figures["staging_left"],
        "store bytes wrong or missing": figures["rehash"]["mismatched"] + figures["rehash"]["unreadable"],
        "OCFL head differs": figures["ocfl"]["head_differs"],
        "OCFL invalid (ocfl-py)": figures["ocfl"]["invalid"],
    }
    figures["invariants"] = invariants
    return figures, [name for name, value in invariants.items() if value]


def _unfinished_jobs(collection) -> int:
    from preservation.models import ProcessingJob

    return (
        ProcessingJob.objects.filter(object__collection=collection)
        .exclude(state__in=[ProcessingJob.State.DONE, ProcessingJob.State.FAILED])
        .count()
    )


def rehash(collection, names: list[str], expected: dict, sample: float, rng: random.Random) -> dict:
    """Read back through each store and SHA-256: every original (against the client's digest) and a
    ``sample`` share of the other files (masters, access copies, records; against the catalogue)."""
    from preservation.models import Replica
    from preservation.stores.base import StoreError
    from preservation.stores.registry import get_store

    replicas = list(
        Replica.objects.filter(asset__in=_scope(collection), state=Replica.State.OK).values_list(
            "store__name", "key", "asset__sha256", "asset__role", "asset__size"
        )
    )
    chosen = [row for row in replicas if row[3] == "original" or rng.random() < sample]

    def check(name: str) -> Counter:
        store = get_store(name)
        tally: Counter = Counter()
        for store_name, key, sha256, role, size in chosen:
            if store_name != name:
                continue
            want = sha256 if role != "original" else (sha256 if sha256 in expected else "")
            try:
                got = store.sha256(key)
            except (StoreError, OSError):
                tally["unreadable"] += 1
                continue
            tally["checked"] += 1
            tally["bytes"] += size
            tally["originals" if role == "original" else "others"] += 1
            if got != want:
                tally["mismatched"] += 1
        return tally

    with ThreadPoolExecutor(len(names)) as pool:
        total = sum(pool.map(check, names), Counter())
    return {
        "checked": total["checked"],
        "originals": total["originals"],
        "others": total["others"],
        "mb": total["bytes"] / 1e6,
        "mismatched": total["mismatched"],
        "unreadable": total["unreadable"],
        "sample_share": sample,
    }


def check_ocfl(collection, store_roots: dict[str, Path], sample: int, rng: random.Random) -> dict:
    """Every object's root inventory on every store (read through the store) has the catalogue's head;
    ``sample`` objects per store are validated by ocfl-py on the store's folder, digests included."""
    from django.db.models import Max

    from archive.models import HeritageObject
    from preservation.packaging import ocfl
    from preservation.stores.base import StoreError
    from preservation.stores.registry import get_store

    rows = list(
        HeritageObject.objects.filter(collection=collection)
        .annotate(head=Max("versions__number"))
        .filter(head__isnull=False)
        .values_list("identifier", "head")
    )

    def ocfl_id(identifier: str) -> str:
        return HeritageObject(identifier=identifier).ocfl_id

    def heads(name: str) -> int:
        store = get_store(name)
        differs = 0
        for identifier, head in rows:
            try:
                inventory = ocfl.read_inventory(store, ocfl_id(identifier))
            except StoreError:
                inventory = None
            if not inventory or int(inventory["head"].lstrip("v")) != head:
                differs += 1
        return differs

    with ThreadPoolExecutor(len(store_roots)) as pool:
        differs = sum(pool.map(heads, list(store_roots)))
    validator_errors, validated = [], 0
    from ocfl.validator import Validator

    for name, root in store_roots.items():
        for identifier, _head in rng.sample(rows, min(sample, len(rows))):
            path = root / ocfl.object_root(ocfl_id(identifier))
            validator = Validator(check_digests=True, log_warnings=False)
            validated += 1
            if not validator.validate_object(str(path)):
                validator_errors.append(f"{name}: {identifier}: {str(validator.log)[:300]}")
    return {
        "objects": len(rows),
        "head_differs": differs,
        "validated": validated,
        "invalid": len(validator_errors),
        "errors": validator_errors[:5],
    }


# --- what the logs say ------------------------------------------------------------------------------


def worker_log_stats(logs: list[str]) -> dict:
    """Tasks received, succeeded, retried, redelivered; what the sweeper re-queued; exceptions raised."""
    received: Counter = Counter()
    retried: Counter = Counter()
    succeeded: Counter = Counter()
    busy = 0.0
    raised: Counter = Counter()
    swept: Counter = Counter()
    for text in logs:
        for _name, task_id in RECEIVED.findall(text):
            received[task_id] += 1
        for _name, task_id in RETRIED.findall(text):
            retried[task_id] += 1
        for name, seconds in SUCCEEDED.findall(text):
            succeeded[name.removeprefix("preservation.")] += 1
            busy += float(seconds)
        for name, error in RAISED.findall(text):
            raised[f"{name.removeprefix('preservation.')}: {error}"] += 1
        for result in SWEPT.findall(text):
            try:
                swept.update({key: value for key, value in ast.literal_eval(result).items() if value})
            except (ValueError, SyntaxError):
                continue
    redelivered = sum(max(0, count - 1 - retried[task_id]) for task_id, count in received.items())
    return {
        "tasks_received": sum(received.values()),
        "tasks_succeeded": dict(sorted(succeeded.items())),
        "task_seconds": busy,
        "retries": sum(retried.values()),
        "redeliveries": redelivered,
        "raised": dict(raised.most_common()),
        "sweeper_requeued": dict(sorted(swept.items())),
    }


def access_log_statuses(path: Path) -> dict[str, int]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return {}
    return dict(sorted(Counter(ACCESS_STATUS.findall(text)).items()))
