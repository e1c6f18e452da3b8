"""The Activity Streams change feed (IIIF Change Discovery 1.0): what an aggregator following it learns."""

from __future__ import annotations

import pytest

from archive import actions
from archive.models import AccessLevel
from tests.factories import client_for, make_object, objects_in_every_state


@pytest.fixture
def small_pages(settings):
    settings.ARCHIVE_FEED_PAGE_SIZE = 2
    settings.SITE_URL = "https://archive.example"


def walk_backwards(client) -> list[dict]:
    """The spec's consumer: start at ``last``, follow ``prev`` to the first page; oldest activity first."""
    collection = client.get("/activity/").json()
    url = collection["last"]["id"]
    pages = []
    while url:
        response = client.get(url.removeprefix("https://archive.example"))
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/ld+json")
        pages.append(response.json())
        url = pages[-1].get("prev", {}).get("id")
    return [item for page in reversed(pages) for item in page["orderedItems"]]


def test_walking_the_pages_finds_every_public_change_once_and_nothing_else(personas, small_pages):
    states = objects_in_every_state(personas.collection)
    extra = [make_object(personas.collection, f"Public bowl {n}") for n in range(3)]
    activities = walk_backwards(client_for(None))
    named = [a["object"]["id"].split("/")[-2] for a in activities]
    public = {states["public"].identifier, states["embargo_over"].identifier} | {o.identifier for o in extra}
    assert sorted(named) == sorted(public)
    assert {a["type"] for a in activities} == {"Create"}
    for hidden in ("community", "restricted", "draft", "embargoed"):
        assert states[hidden].identifier not in named
    times = [a["endTime"] for a in activities]
    assert times == sorted(times)


def test_collection_counts_and_links_first_and_last_pages(personas, small_pages):
    for n in range(5):
        make_object(personas.collection, f"Jar {n}")
    collection = client_for(None).get("/activity/").json()
    assert collection["type"] == "OrderedCollection"
    assert collection["totalItems"] == 5
    assert collection["first"]["id"].endswith("/activity/page/1")
    assert collection["last"]["id"].endswith("/activity/page/3")
    assert "https://www.w3.org/ns/activitystreams" in collection["@context"]
    first = client_for(None).get("/activity/page/1").json()
    assert "prev" not in first and first["next"]["id"].endswith("/page/2")
    assert client_for(None).get("/activity/page/9").status_code == 404


def test_an_object_that_stops_being_public_is_announced_as_deleted(personas, small_pages):
    withdrawn = make_object(personas.collection, "Withdrawn mask")
    deleted = make_object(personas.collection, "Deleted duplicate")
    withdrawn.access_level = AccessLevel.RESTRICTED
    withdrawn.save()
    actions.delete_object(deleted, "duplicate of another record", personas.curator)
    activities = walk_backwards(client_for(None))
    by_object = {}
    for a in activities:
        by_object.setdefault(a["object"]["id"].split("/")[-2], []).append(a["type"])
    assert by_object[withdrawn.identifier] == ["Create", "Delete"]
    assert by_object[deleted.identifier][0] == "Create" and by_object[deleted.identifier][-1] == "Delete"


def test_an_activity_has_its_own_address_and_the_feed_allows_cross_origin_reads(personas, small_pages):
    make_object(personas.collection)
    item = client_for(None).get("/activity/page/1").json()["orderedItems"][0]
    response = client_for(None).get(item["id"].removeprefix("https://archive.example"))
    assert response.status_code == 200
    assert response.json()["object"]["type"] == "Manifest"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert client_for(None).post("/activity/").status_code == 405
