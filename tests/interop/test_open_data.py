"""The open-data page lists every machine interface, and each one answers a visitor."""

from __future__ import annotations

import pytest

from tests.factories import client_for, make_object


@pytest.fixture
def site(settings):
    settings.SITE_URL = "https://archive.example"


def test_every_listed_interface_answers_an_anonymous_visitor(personas, site):
    make_object(personas.collection, "A public jar")
    client = client_for(None)
    page = client.get("/open-data/")
    assert page.status_code == 200
    endpoints = page.context["endpoints"]
    for name, url in endpoints.items():
        path = url.removeprefix("https://archive.example")
        query = {"verb": "Identify"} if name == "oai" else {}
        response = client.get(path, query)
        assert response.status_code == 200, (name, url, response.status_code)
        assert url in page.content.decode()


def test_the_footer_links_to_it(personas):
    assert b'href="/open-data/"' in client_for(None).get("/").content
