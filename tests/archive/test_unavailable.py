"""A database outage answers 503 with a short message and Retry-After (archive/unavailable.py), never a
traceback: for pages, the REST API and OAI-PMH, whether a view or a middleware met the outage.

The outage is simulated in-process: every new cursor raises OperationalError, as Django does while
PostgreSQL restarts. tests/integration/test_broker_and_database_restarts.py restarts a real server.
"""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from archive.unavailable import RETRY_AFTER_SECONDS


def broken_view(request):
    raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


def closed_view(request):
    raise InterfaceError("connection already closed")


def buggy_view(request):
    raise ValueError("a bug, not an outage")


def fine_view(request):
    return HttpResponse("fine")


urlpatterns = [
    path("page/", broken_view),
    path("closed/", closed_view),
    path("api/objects/", broken_view),
    path("oai", broken_view),
    path("bug/", buggy_view),
    path("fine/", fine_view),
]


class FailingMiddleware:
    """An inner middleware meeting the outage (as the session or authentication middleware would)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/fine/":
            raise OperationalError("server closed the connection unexpectedly")
        return self.get_response(request)


def assert_unavailable(response, content_type: str) -> str:
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Content-Type"].startswith(content_type)
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    assert "Traceback" not in body and "OperationalError" not in body and "127.0.0.1" not in body
    return body


@pytest.mark.urls(__name__)
def test_a_view_meeting_a_database_outage_answers_503_with_a_message():
    body = assert_unavailable(Client().get("/page/"), "text/html")
    assert "<h1>Temporarily unavailable</h1>" in body
    assert "try again" in body
    assert '<html lang="en">' in body


@pytest.mark.urls(__name__)
def test_a_closed_connection_is_an_outage_too():
    assert_unavailable(Client().get("/closed/"), "text/html")


@pytest.mark.urls(__name__)
def test_the_api_answers_json_and_oai_plain_text():
    body = assert_unavailable(Client().get("/api/objects/"), "application/json")
    assert "try again" in json.loads(body)["detail"]
    body = assert_unavailable(Client().get("/oai", {"verb": "Identify"}), "text/plain")
    assert body.startswith("Temporarily unavailable: ")


@pytest.mark.urls(__name__)
def test_the_message_is_in_the_visitors_language():
    body = assert_unavailable(Client().get("/page/", HTTP_ACCEPT_LANGUAGE="fr"), "text/html")
    assert '<html lang="fr">' in body
    assert "Temporarily unavailable" not in body and "try again" not in body


@pytest.mark.urls(__name__)
def test_an_inner_middleware_meeting_the_outage_answers_503(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.FailingMiddleware"]
    assert_unavailable(Client(raise_request_exception=False).get("/fine/"), "text/html")


@pytest.mark.urls(__name__)
def test_other_errors_stay_500_and_healthy_requests_pass_through():
    client = Client(raise_request_exception=False)
    assert client.get("/bug/").status_code == 500
    response = client.get("/fine/")
    assert response.status_code == 200 and response.content == b"fine"


@pytest.mark.django_db
def test_real_pages_api_and_oai_answer_503_while_no_connection_can_be_made():
    refused = OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')
    client = Client(raise_request_exception=False)
    with mock.patch.object(BaseDatabaseWrapper, "ensure_connection", side_effect=refused):
        assert_unavailable(client.get("/"), "text/html")
        assert_unavailable(client.get("/api/objects/"), "application/json")
        assert_unavailable(client.get("/oai", {"verb": "Identify"}), "text/plain")
    assert client.get("/api/objects/").status_code == 200  # back to normal once the database answers
