"""The public map (/map/, /map/objects.geojson), sitemap.xml and robots.txt follow the one access rule:
objects from ``visible_to``, points from ``public_coordinates``; the sitemap lists only what an anonymous
visitor may see."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import include, path

from archive import actions
from archive.access import visible_to
from archive.models import AccessLevel, Asset, Collection, HeritageObject
from archive.portal import urls as portal_urls
from tests.factories import attach_file, client_for, make_object, objects_in_every_state

# Which of the located objects each persona finds on the map (DESIGN §6, as in test_access.py). "deleted"
# was public before its deletion and is on nobody's map (its tombstone stays on the curators' pages);
# "hilltop" is community-level material of the outsider's community.
EXPECTED = {
    "visitor": {"public", "embargo_over"},
    "outsider": {"public", "embargo_over", "hilltop"},
    "member": {"public", "embargo_over", "community"},
    "curator": {"public", "embargo_over", "community", "restricted", "draft", "embargoed"},
    "staff": {"public", "embargo_over", "community", "restricted", "draft", "embargoed", "hilltop"},
}
PERSONAS = list(EXPECTED)
NEVER_PUBLIC = ("community", "restricted", "draft", "embargoed", "deleted", "hilltop")

# A sensitive site: anyone who may not curate it gets (12.3, 45.7) only.
SHRINE = {"latitude": 12.3456789, "longitude": 45.6789123, "sensitive_location": True}


def as_user(user):
    return AnonymousUser() if user is None else user


@pytest.fixture
def world(personas, tmp_path):
    """Objects in every access state, each at its own place, plus one without a location."""
    objects = objects_in_every_state(personas.collection)
    objects["deleted"] = make_object(personas.collection, "Deleted drum")
    hilltop = Collection.objects.create(community=personas.other_community, slug="hilltop-songs", title="Songs")
    objects["hilltop"] = make_object(hilltop, "Hilltop song", access=AccessLevel.COMMUNITY)
    for number, obj in enumerate(objects.values(), start=1):
        HeritageObject.objects.filter(pk=obj.pk).update(latitude=10 + number, longitude=20 + number)
    actions.delete_object(objects["deleted"], "Catalogued twice by mistake.", personas.staff)
    unlocated = make_object(personas.collection, "Jar with no known place")
    original = attach_file(objects["public"], Asset.Role.ORIGINAL, b"original", tmp_path / "public")
    thumbnail = attach_file(
        objects["public"], Asset.Role.THUMBNAIL, b"thumb", tmp_path / "public", derived_from=original
    )
    for obj in objects.values():
        obj.refresh_from_db()
    return personas, objects, unlocated, thumbnail


def geojson(client: Client, query: str = "", **headers) -> dict:
    response = client.get(f"/map/objects.geojson{query}", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/geo+json")
    assert "private" in response["Cache-Control"]
    return json.loads(response.content)


def noscript_list(html: str) -> str:
    """The map's no-script fallback (base.html has another <noscript>, for the language form)."""
    return re.search(r"<noscript>\s*<h2>(.*?)</noscript>", html, re.S).group(1)


def identifiers(collection: dict) -> set[str]:
    return {feature["properties"]["identifier"] for feature in collection["features"]}


# --- GeoJSON ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_geojson_holds_exactly_the_located_objects_visible_to_each_persona(world, persona):
    personas, objects, unlocated, _ = world
    user = personas.users()[persona]
    data = geojson(client_for(user))
    assert data["type"] == "FeatureCollection"
    expected = set(
        visible_to(as_user(user))
        .filter(latitude__isnull=False, longitude__isnull=False)
        .exclude(status="deleted")
        .values_list("identifier", flat=True)
    )
    assert identifiers(data) == expected
    assert {name for name, obj in objects.items() if obj.identifier in expected} == EXPECTED[persona]
    assert unlocated.identifier not in identifiers(data)
    raw = json.dumps(data)
    for name, obj in objects.items():
        if name not in EXPECTED[persona]:
            assert obj.identifier not in raw and obj.title not in raw, name


def test_geojson_features_carry_title_url_thumbnail_and_point(world):
    _, objects, _, thumbnail = world
    features = {f["properties"]["identifier"]: f for f in geojson(Client())["features"]}
    public = features[objects["public"].identifier]
    assert public["geometry"] == {"type": "Point", "coordinates": [21.0, 11.0]}
    assert public["properties"]["title"] == "Public jar"
    assert public["properties"]["url"] == f"/o/{objects['public'].identifier}/"
    assert public["properties"]["thumbnail"] == thumbnail.get_download_url()
    assert public["properties"]["exact"] is True
    assert features[objects["embargo_over"].identifier]["properties"]["thumbnail"] is None


def test_geojson_titles_are_in_the_visitors_language(world):
    _, objects, _, _ = world
    data = geojson(Client(), HTTP_ACCEPT_LANGUAGE="fr")
    titles = {f["properties"]["identifier"]: f["properties"]["title"] for f in data["features"]}
    assert titles[objects["public"].identifier] == "Public jar (fr)"


def test_geojson_filters_narrow_within_what_the_visitor_may_see(world):
    personas, objects, _, _ = world
    staff = client_for(personas.staff)
    assert identifiers(geojson(staff, "?community=hilltop")) == {objects["hilltop"].identifier}
    assert identifiers(geojson(staff, "?collection=hilltop-songs")) == {objects["hilltop"].identifier}
    both = geojson(staff, "?community=hilltop&community=riverside")
    assert len(both["features"]) == len(EXPECTED["staff"])
    # A filter never opens anything: the visitor asking for hilltop gets nothing, for riverside the public ones.
    assert identifiers(geojson(Client(), "?community=hilltop")) == set()
    public = {objects[name].identifier for name in EXPECTED["visitor"]}
    assert identifiers(geojson(Client(), "?community=riverside&collection=riverside-photos")) == public
    assert identifiers(geojson(Client(), "?collection=no-such-collection")) == set()


def test_a_sensitive_location_is_generalized_for_those_who_may_not_curate_it(personas):
    shrine = make_object(personas.collection, "Shrine", **SHRINE)
    for user in (None, personas.outsider, personas.member):
        client = client_for(user)
        response = client.get("/map/objects.geojson")
        assert b"12.34" not in response.content and b"45.67" not in response.content
        (feature,) = json.loads(response.content)["features"]
        assert feature["properties"]["identifier"] == shrine.identifier
        assert feature["properties"]["exact"] is False
        assert feature["geometry"]["coordinates"] == [45.7, 12.3]
        page = client.get("/map/")
        assert page.status_code == 200
        assert b"12.34" not in page.content and b"45.67" not in page.content
        noscript = noscript_list(page.content.decode())
        assert shrine.get_absolute_url() in noscript
        assert "12.3, 45.7" in noscript and "approximate location" in noscript
    for user in (personas.curator, personas.staff):
        client = client_for(user)
        (feature,) = geojson(client)["features"]
        assert feature["properties"]["exact"] is True
        assert feature["geometry"]["coordinates"] == [45.6789123, 12.3456789]
        assert "12.3457, 45.6789" in client.get("/map/").content.decode()


def test_a_public_location_that_is_not_sensitive_is_exact_for_everyone(personas):
    make_object(personas.collection, "Standing stone", latitude=-3.14159, longitude=101.25)
    (feature,) = geojson(Client())["features"]
    assert feature["properties"]["exact"] is True
    assert feature["geometry"]["coordinates"] == [101.25, -3.14159]


# --- The map page ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_noscript_list_shows_the_same_objects_as_the_markers(world, persona):
    personas, objects, unlocated, _ = world
    html = client_for(personas.users()[persona]).get("/map/").content.decode()
    noscript = noscript_list(html)
    shown = {name for name, obj in objects.items() if obj.get_absolute_url() in noscript}
    assert shown == EXPECTED[persona]
    assert unlocated.get_absolute_url() not in noscript


def test_the_map_page_renders_for_anonymous_with_local_files_only(world, settings):
    response = Client().get("/map/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Map</h1>" in html and 'href="/map/"' in html  # the heading, and the link in the navigation
    assert 'data-geojson-url="/map/objects.geojson"' in html
    assert "<script>" not in html  # no inline script
    sources = re.findall(r"<script\b[^>]*\bsrc=\"([^\"]+)\"", html)
    styles = re.findall(r"<link\b[^>]*\bhref=\"([^\"]+)\"", html)
    assert "/static/vendor/leaflet/leaflet.js" in sources and "/static/archive/map.js" in sources
    assert "/static/vendor/leaflet/leaflet.css" in styles and "/static/archive/map.css" in styles
    for url in sources + styles:
        assert url.startswith("/static/") and "http" not in url and "//" not in url, url
        assert finders.find(url.removeprefix("/static/")), url
    assert 'data-tile-url="https://tile.openstreetmap.org/{z}/{x}/{y}.png"' in html
    assert "No map background is configured" not in html


def test_the_map_filters_reach_the_geojson_url(world):
    html = Client().get("/map/?community=riverside&collection=riverside-photos&other=x").content.decode()
    assert 'data-geojson-url="/map/objects.geojson?community=riverside&amp;collection=riverside-photos"' in html


def test_without_a_tile_url_the_map_says_it_has_a_plain_background(world, settings):
    settings.ARCHIVE_MAP_TILE_URL = ""
    html = Client().get("/map/").content.decode()
    assert 'data-tile-url=""' in html and "map-plain" in html
    assert "No map background is configured" in html
    assert "openstreetmap" not in html.split("<main>", 1)[1].split('data-attribution="', 1)[0]


def test_catalogue_text_is_escaped_on_the_page_and_never_set_as_html_by_the_script(personas):
    make_object(personas.collection, "<img src=x onerror=alert(1)>", latitude=1.5, longitude=2.5)
    html = Client().get("/map/").content.decode()
    assert "<img src=x onerror" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    script = Path(finders.find("archive/map.js")).read_text()
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script
    assert "textContent" in script


def test_leaflet_is_vendored_with_its_licence():
    folder = Path(finders.find("vendor/leaflet/leaflet.js")).parent
    assert 'version="1.9.4"' in (folder / "leaflet.js").read_text()
    assert "BSD 2-Clause" in (folder / "LICENSE").read_text()
    for name in ("leaflet.css", "README.md", "images/marker-icon.png", "images/marker-shadow.png"):
        assert (folder / name).is_file(), name


# --- sitemap.xml and robots.txt -----------------------------------------------------------------

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def sitemap_pages(client: Client) -> list[str]:
    """The section sitemaps /sitemap.xml (an index) points to, as paths with their query."""
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}sitemapindex"
    pages = []
    for loc in root.iter(f"{{{SITEMAP_NS['sm']}}}loc"):
        parts = urlsplit(loc.text)
        assert parts.scheme in ("http", "https") and parts.netloc
        pages.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return pages


def sitemap_entries(client: Client | None = None) -> dict[str, str | None]:
    """path -> lastmod of every <url> in every sitemap the index names (parsed as XML)."""
    client = client or Client()
    entries = {}
    for page in sitemap_pages(client):
        response = client.get(page)
        assert response.status_code == 200, page
        root = ElementTree.fromstring(response.content)
        assert root.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}urlset"
        for url in root.findall("sm:url", SITEMAP_NS):
            loc = urlsplit(url.findtext("sm:loc", namespaces=SITEMAP_NS))
            assert loc.scheme in ("http", "https") and loc.netloc
            entries[loc.path] = url.findtext("sm:lastmod", namespaces=SITEMAP_NS)
    return entries


@pytest.mark.parametrize("persona", PERSONAS)
def test_sitemap_lists_only_what_an_anonymous_visitor_may_see(world, persona):
    personas, objects, unlocated, _ = world
    # Whoever asks (a logged-in curator too), the sitemap is the anonymous visitor's.
    entries = sitemap_entries(client_for(personas.users()[persona]))
    for name in ("public", "embargo_over"):
        obj = objects[name]
        assert entries[obj.get_absolute_url()] == obj.updated.date().isoformat()
    assert unlocated.get_absolute_url() in entries  # the sitemap is not only the located objects
    for name in NEVER_PUBLIC:
        assert objects[name].get_absolute_url() not in entries, name
    public = set(visible_to(AnonymousUser()).values_list("identifier", flat=True))
    listed = {p.split("/")[2] for p in entries if p.startswith("/o/")}
    assert listed == public
    for page in ("/", "/search/", "/map/"):
        assert page in entries


def test_sitemap_names_only_communities_and_collections_with_a_public_object(world):
    personas, objects, _, _ = world
    entries = sitemap_entries()
    assert "/c/riverside/" in entries and "/collections/riverside-photos/" in entries
    latest = max(objects[name].updated for name in EXPECTED["visitor"]).date().isoformat()
    assert entries["/c/riverside/"] == latest
    # Hilltop holds only community-level material: its pages are not advertised.
    assert "/c/hilltop/" not in entries and "/collections/hilltop-songs/" not in entries


# A URL configuration without the community, collection and search pages (as before they were built).
urlpatterns = [
    path(
        "",
        include(
            ([p for p in portal_urls.urlpatterns if p.name not in ("community", "collection", "search")], "portal")
        ),
    )
]


def test_sitemap_works_without_community_collection_and_search_pages(world, settings):
    settings.ROOT_URLCONF = __name__
    _, objects, _, _ = world
    entries = sitemap_entries()
    assert objects["public"].get_absolute_url() in entries
    assert "/" in entries and "/map/" in entries
    assert not any(p.startswith(("/c/", "/collections/", "/search/")) for p in entries)


def test_robots_txt_names_the_sitemap_and_keeps_crawlers_out_of_private_paths(settings):
    settings.SITE_URL = "https://archive.example.org"
    response = Client().get("/robots.txt")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert "User-agent: *" in lines
    assert "Sitemap: https://archive.example.org/sitemap.xml" in lines
    for private in ("/curate/", "/admin/", "/uploads/", "/files/", "/s/"):
        assert f"Disallow: {private}" in lines


def test_sitemap_urls_are_on_the_configured_site(world, settings):
    settings.SITE_URL = "https://archive.example.org"
    client = Client()
    index = [
        el.text for el in ElementTree.fromstring(client.get("/sitemap.xml").content).iter() if el.tag.endswith("loc")
    ]
    assert index and all(loc.startswith("https://archive.example.org/sitemap-") for loc in index)
    for page in sitemap_pages(client):
        locs = [el.text for el in ElementTree.fromstring(client.get(page).content).iter(f"{{{SITEMAP_NS['sm']}}}loc")]
        assert all(loc.startswith("https://archive.example.org/") for loc in locs)


def test_a_large_catalogue_is_split_into_sitemap_pages(world, monkeypatch):
    from archive.portal import sitemaps

    monkeypatch.setattr(sitemaps.ObjectsSitemap, "limit", 2)
    client = Client()
    pages = [p for p in sitemap_pages(client) if "objects" in p]
    assert len(pages) >= 2 and pages[1].endswith("?p=2")
    public = set(visible_to(AnonymousUser()).values_list("identifier", flat=True))
    listed = set()
    for page in pages:
        root = ElementTree.fromstring(client.get(page).content)
        listed |= {urlsplit(loc.text).path.strip("/").split("/")[-1] for loc in root.iter() if loc.tag.endswith("loc")}
    assert listed == public


# --- areas and clusters -------------------------------------------------------------------------


def test_the_geojson_answers_for_the_area_asked(personas):
    inside = make_object(personas.collection, "Mosque door", latitude=36.34, longitude=43.13)
    outside = make_object(personas.collection, "Harbour crane", latitude=-33.86, longitude=151.2)
    data = Client().get("/map/objects.geojson", {"bbox": "40,30,50,40"}).json()
    assert identifiers(data) == {inside.identifier}
    across = Client().get("/map/objects.geojson", {"bbox": "150,-40,-170,-30"}).json()  # across the antimeridian
    assert identifiers(across) == {outside.identifier}
    assert identifiers(Client().get("/map/objects.geojson", {"bbox": "nonsense"}).json()) >= {
        inside.identifier,
        outside.identifier,
    }


def test_a_shrinking_box_cannot_find_a_sensitive_place(personas):
    shrine = make_object(
        personas.collection, "Hidden shrine", latitude=12.3456, longitude=45.6789, sensitive_location=True
    )
    # A box around the exact point but away from the rounded one (12.3, 45.7) finds nothing.
    assert not identifiers(Client().get("/map/objects.geojson", {"bbox": "45.67,12.34,45.68,12.35"}).json())
    # The rounded point is where the visitor sees it; the curator finds it at the exact place.
    assert identifiers(Client().get("/map/objects.geojson", {"bbox": "45.69,12.29,45.71,12.31"}).json()) == {
        shrine.identifier
    }
    assert identifiers(
        client_for(personas.curator).get("/map/objects.geojson", {"bbox": "45.67,12.34,45.68,12.35"}).json()
    ) == {shrine.identifier}


def test_many_objects_become_clusters_that_count_only_what_the_viewer_may_see(personas, settings):
    settings.ARCHIVE_MAP_MAX_POINTS = 5
    for index in range(8):
        make_object(personas.collection, f"Tomb {index}", latitude=30.0 + index * 0.001, longitude=31.0)
    for index in range(4):
        make_object(personas.collection, f"Secret {index}", latitude=30.0, longitude=31.0, access="restricted")
    lone = make_object(personas.collection, "Lone well", latitude=-20.0, longitude=-60.0)
    features = Client().get("/map/objects.geojson").json()["features"]
    clusters = [f for f in features if f["properties"].get("cluster")]
    points = [f for f in features if not f["properties"].get("cluster")]
    assert [c["properties"]["count"] for c in clusters] == [8]  # the restricted ones are not counted
    assert [p["id"] for p in points] == [lone.identifier]  # a cell with one object still shows it
    staff = client_for(personas.staff).get("/map/objects.geojson").json()["features"]
    assert [f["properties"]["count"] for f in staff if f["properties"].get("cluster")] == [12]
    raw = json.dumps(features)
    assert "Secret" not in raw and "Tomb" not in raw  # clusters carry counts, no titles
