"""The harvesting paths on PostgreSQL: OAI-PMH paging (latest-change subqueries, datestamp cursors) and the
change feed return the same public records as on SQLite, and never a restricted one."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.db import connection
from lxml import etree

from archive import actions
from tests import xsd
from tests.factories import client_for, make_object, objects_in_every_state

pytestmark = pytest.mark.services

OAI = {"oai": "http://www.openarchives.org/OAI/2.0/"}


@pytest.fixture
def on_postgres(db, settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (make test runs this with DATABASE_URL)")
    settings.ARCHIVE_OAI_PAGE_SIZE = 2
    settings.ARCHIVE_FEED_PAGE_SIZE = 2


def test_a_full_oai_harvest_and_the_feed_on_postgres(on_postgres, personas):
    states = objects_in_every_state(personas.collection)
    public = [make_object(personas.collection, f"Public vessel {n}") for n in range(4)]
    gone = make_object(personas.collection, "Withdrawn vessel")
    actions.delete_object(gone, "duplicate record", personas.curator)
    client = client_for(None)

    seen, deleted, params = [], [], {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
    while True:
        data = client.get("/oai", params).content
        xsd.validate(data, "OAI-PMH.xsd")
        root = etree.fromstring(data)
        for header in root.iterfind(".//oai:header", OAI):
            identifier = header.findtext("oai:identifier", namespaces=OAI).rsplit(":", 1)[1]
            (deleted if header.get("status") == "deleted" else seen).append(identifier)
        token = root.findtext(".//oai:resumptionToken", namespaces=OAI)
        if not token:
            break
        params = {"verb": "ListRecords", "resumptionToken": token}

    expected = {o.identifier for o in public} | {states["public"].identifier, states["embargo_over"].identifier}
    assert sorted(seen) == sorted(expected)
    assert deleted == [gone.identifier]

    feed, url = [], client.get("/activity/").json()["last"]["id"]
    while url:
        page = client.get(urlsplit(url).path).json()
        feed = page["orderedItems"] + feed
        url = page.get("prev", {}).get("id")
    named = {item["object"]["id"].split("/")[-2] for item in feed}
    assert named == expected | {gone.identifier}
    for hidden in ("community", "restricted", "draft", "embargoed"):
        assert states[hidden].identifier not in named
