"""A visitor in a real browser: search, open a public object with its photo and 3D viewer; restricted and
community objects never show, not in search, not at their address, not on the map."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from selenium.webdriver.common.by import By

from archive.models import AccessLevel, Asset, HeritageObject
from tests.browser.support import PHONE, document_status, fetch, wait_for_image, wait_for_page, wait_for_script
from tests.factories import make_object, preserve_file
from tests.preservation import imagegen, meshgen

pytestmark = pytest.mark.browser


def ingest(obj: HeritageObject, path: Path, tmp_path: Path) -> Asset:
    """The real pipeline in this process."""
    asset = preserve_file(obj, path, tmp_path)
    assert asset.status == Asset.State.READY, asset.status_message
    return asset


@pytest.fixture
def lintel(personas, tmp_path) -> HeritageObject:
    """A public object with a photo and a 3D scan, processed for real: access JPEG, web GLB, thumbnails."""
    obj = make_object(
        personas.collection, "Carved cedar lintel", culture="Phoenician", place_name="Byblos", keywords=["doorway"]
    )
    photo = imagegen.make_jpeg(tmp_path / "lintel.jpg", size=(480, 320))
    ball = meshgen.sphere(2)
    scan = meshgen.write_ply(
        tmp_path / "lintel-scan.ply",
        ball.vertices.astype(np.float32),
        ball.faces,
        colours=np.asarray(ball.visual.vertex_colors)[:, :3],
        normals=ball.vertex_normals.astype(np.float32),
    )
    for path in (photo, scan):
        ingest(obj, path, tmp_path)
    return obj


def search_from(page, box: str, words: str) -> None:
    """Type ``words`` into the search box ``box`` (a CSS selector) and submit its form with its button."""
    field = page.find_element(By.CSS_SELECTOR, box)
    field.clear()
    field.send_keys(words)
    field.find_element(By.XPATH, "./ancestor::form//button[@type='submit']").click()
    wait_for_script(
        page,
        "return location.pathname === '/search/' && new URLSearchParams(location.search).get('q') === arguments[0]"
        " && document.readyState === 'complete';",
        words,
        message=f"the search for {words!r} did not arrive",
    )


def result_titles(page) -> list[str]:
    return [e.text for e in page.find_elements(By.CSS_SELECTOR, ".results .card .title")]


def test_a_visitor_finds_a_public_object_and_sees_its_photo_and_3d_model(page, live_server, lintel, screenshot):
    page.get(live_server.url + "/")
    search_from(page, "#home-q", "cedar")
    assert result_titles(page) == ["Carved cedar lintel"]
    assert page.find_element(By.CSS_SELECTOR, ".results > p.muted").text == "1 object"

    page.find_element(By.CSS_SELECTOR, ".results .card a").click()
    wait_for_page(page, lintel.get_absolute_url())
    assert page.find_element(By.TAG_NAME, "h1").text == "Carved cedar lintel"

    # The photo: the access copy, served through the access check, decoded by the browser.
    photo = wait_for_image(page, ".gallery img")
    access = lintel.assets.get(role=Asset.Role.ACCESS, mime="image/jpeg")
    assert photo["src"] == access.get_download_url() and photo["width"] > 0

    # The 3D viewer: <model-viewer> on the web GLB, which the visitor may download.
    viewer = page.find_element(By.CSS_SELECTOR, "figure.viewer3d-wrap model-viewer.viewer3d")
    src = viewer.get_attribute("src")
    assert src.startswith("/files/") and src.endswith(".glb"), src
    glb = fetch(page, src)
    assert glb["status"] == 200, glb
    assert glb["type"] == "model/gltf-binary" and glb["head"][:4] == b"glTF"
    # model-viewer (vendored, loaded as a module) upgraded the element and rendered the model in WebGL.
    state = wait_for_script(
        page,
        """const box = document.querySelector('figure.viewer3d-wrap');
           if (box.classList.contains('failed')) { return 'failed: ' + box.textContent.trim(); }
           return customElements.get('model-viewer') && box.classList.contains('loaded') ? 'loaded' : null;""",
        message="model-viewer did not load the GLB",
    )
    assert state == "loaded"

    page.execute_script("window.scrollTo(0, 0);")
    screenshot()

    # The same page on a phone-sized screen (a mobile viewport, so the page's meta viewport applies).
    page.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True},
    )
    page.refresh()
    wait_for_page(page, lintel.get_absolute_url())
    wait_for_script(page, "return document.querySelector('figure.viewer3d-wrap.loaded') !== null;")
    wait_for_image(page, ".gallery img")
    page.execute_script("window.scrollTo(0, 0);")
    screenshot("-phone")
    # Nothing pushes the page wider than the phone (no sideways scrolling).
    width = page.execute_script("return document.documentElement.scrollWidth;")
    assert width <= PHONE[0], f"the object page is {width}px wide on a {PHONE[0]}px phone"


@pytest.fixture
def hidden_and_public(personas) -> dict[str, HeritageObject]:
    located = {"latitude": 44.4, "longitude": 26.1}
    return {
        "restricted": make_object(
            personas.collection, "Restricted ceremonial mask", access=AccessLevel.RESTRICTED, **located
        ),
        "community": make_object(personas.collection, "Community song board", access=AccessLevel.COMMUNITY, **located),
        "public": make_object(personas.collection, "Public river jar", **located),
    }


def test_restricted_and_community_objects_never_show_for_a_visitor(page, live_server, hidden_and_public, screenshot):
    hidden = {k: v for k, v in hidden_and_public.items() if k != "public"}
    page.get(live_server.url + "/search/")

    # The control: search works, and finds the public object by its exact title.
    search_from(page, "#q", "Public river jar")
    assert result_titles(page) == ["Public river jar"]

    for key, obj in hidden.items():
        title = obj.text().title
        search_from(page, "#q", title)
        assert result_titles(page) == [], key
        assert page.find_element(By.CSS_SELECTOR, ".results > p.muted").text == "0 objects"
        assert "No object matches" in page.find_element(By.CSS_SELECTOR, ".results").text
        assert title not in page.find_element(By.TAG_NAME, "main").text  # not in the facets either
        if key == "restricted":
            screenshot()

    for key, obj in hidden.items():
        page.get(live_server.url + obj.get_absolute_url())
        assert document_status(page) == 404, key
        assert page.find_element(By.TAG_NAME, "h1").text == "Not Found"
        assert obj.text().title not in page.page_source

    geojson = fetch(page, "/map/objects.geojson")
    assert geojson["status"] == 200 and geojson["type"].startswith("application/geo+json"), geojson
    on_map = {feature["id"] for feature in json.loads(geojson["text"])["features"]}
    assert on_map == {hidden_and_public["public"].identifier}
    for obj in hidden.values():
        assert obj.text().title not in geojson["text"]


def test_the_map_shows_points_then_clusters_that_open_on_click(page, live_server, personas, settings, screenshot):
    settings.ARCHIVE_MAP_MAX_POINTS = 3
    for index in range(6):
        make_object(personas.collection, f"Terrace {index}", latitude=35.0 + index * 0.01, longitude=38.0)
    make_object(personas.collection, "Far island shrine", latitude=-10.0, longitude=120.0)
    page.get(live_server.url + "/map/")
    # The whole catalogue is above the limit: one cluster of six and the lone shrine as a marker.
    counts = wait_for_script(
        page,
        "var c = [...document.querySelectorAll('.map-cluster-count')].map(e => e.textContent);"
        "return c.length ? c : null;",
        message="a cluster on the map",
    )
    assert counts == ["6"]
    assert page.find_elements(By.CSS_SELECTOR, ".leaflet-marker-icon[title='Far island shrine']")
    screenshot()
    # Selecting a cluster zooms in (three levels a time); close enough, the terraces show one by one.
    for _attempt in range(8):
        clicked = page.execute_script(
            "var c = document.querySelector('.map-cluster'); if (!c) { return false; } c.click(); return true;"
        )
        if not clicked:
            break
        time.sleep(1.0)  # the map waits 250 ms after a move, then asks for the new area
    titles = wait_for_script(
        page,
        "var t = [...document.querySelectorAll('.leaflet-marker-icon[title^=\"Terrace\"]')].map(e => e.title);"
        "return t.length ? t : null;",
        message="the terraces as markers after zooming in",
    )
    assert set(titles) == {f"Terrace {i}" for i in range(6)}
    screenshot("-zoomed")
