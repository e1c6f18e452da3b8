"""/healthz reports database, broker and stores, and fails loudly when a store is gone."""

from __future__ import annotations

from django.test import Client

from preservation.stores import registry


def test_healthz_is_green_on_the_embedded_default(db):
    response = Client().get("/healthz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["ok"] and body["database"]["ok"] and set(body["stores"]) == {"local-a", "local-b"}


def test_healthz_says_503_when_a_store_is_unreachable(db, settings, tmp_path):
    blocker = tmp_path / "file-not-disk"
    blocker.write_text("x")
    settings.ARCHIVE_STORES[1]["options"]["root"] = str(blocker / "store")
    registry.reset()
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["stores"]["local-b"] == {"ok": False}
    assert "root" not in response.content.decode()  # no paths or endpoints leak
