"""A real tus client (tuspy) logged in to a live server like a curator's browser session."""

from __future__ import annotations

from pathlib import Path

import requests
from tusclient import client as tus


def login(base_url: str, username: str, password: str = "pw-for-tests-123") -> dict[str, str]:
    """Log in through the real login form; return the headers a tus client needs (cookies + CSRF)."""
    session = requests.Session()
    session.get(f"{base_url}/accounts/login/", timeout=10)
    token = session.cookies["csrftoken"]
    response = session.post(
        f"{base_url}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base_url}/accounts/login/"},
        timeout=10,
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
    cookies = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    return {"Cookie": cookies, "X-CSRFToken": session.cookies["csrftoken"]}


def upload(
    base_url: str,
    headers: dict[str, str],
    path: Path,
    object_id: str,
    *,
    name: str | None = None,
    chunk_size: int = 4 * 1024 * 1024,
) -> str:
    """Upload one file with tuspy; return the upload URL."""
    client = tus.TusClient(f"{base_url}/uploads/", headers=headers)
    uploader = client.uploader(
        file_path=str(path),
        chunk_size=chunk_size,
        metadata={"filename": name or path.name, "object": object_id},
        retries=3,
        retry_delay=1,
    )
    uploader.upload()
    return uploader.url
