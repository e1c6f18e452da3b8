"""/healthz: is the database answering, the broker reachable, each store reachable? For monitors."""

from __future__ import annotations

from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from preservation.stores.base import StoreError
from preservation.stores.registry import all_stores


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except DatabaseError as error:
        return {"ok": False, "error": type(error).__name__}


def _broker() -> dict:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True}
    except Exception as error:  # noqa: BLE001 - any broker failure means "not reachable"
        return {"ok": False, "error": type(error).__name__}


def _stores() -> dict:
    result = {}
    for store in all_stores():
        try:
            store.ping()
            result[store.name] = {"ok": True}
        except StoreError:
            result[store.name] = {"ok": False}
    return result


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when everything answers, 503 otherwise; names only, never endpoints or credentials."""
    checks = {"database": _database(), "broker": _broker(), "stores": _stores()}
    healthy = checks["database"]["ok"] and checks["broker"]["ok"] and all(s["ok"] for s in checks["stores"].values())
    return JsonResponse({"ok": healthy, **checks}, status=200 if healthy else 503)
