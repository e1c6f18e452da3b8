"""A visitor zooms into a photograph: the object page's OpenSeadragon viewer (vendored) reads the image's IIIF
info.json, draws tiles from the Image API, is labelled and works from the keyboard; the plain <img> stays in the
page for browsers without script."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from archive.models import Asset, HeritageObject
from tests.browser.support import wait_for_page, wait_for_script
from tests.factories import make_object, preserve_file
from tests.preservation import imagegen

pytestmark = pytest.mark.browser

SIZE = (1200, 800)  # three zoom levels of 512-pixel tiles (scale factors 1, 2, 4)


@pytest.fixture
def door(personas, tmp_path) -> HeritageObject:
    """A public object with a photograph processed by the real pipeline (access copy, thumbnail)."""
    obj = make_object(personas.collection, "Painted shrine door")
    asset = preserve_file(obj, imagegen.make_jpeg(tmp_path / "door.jpg", size=SIZE), tmp_path)
    assert asset.status == Asset.State.READY, asset.status_message
    return obj


def resources(page) -> list[dict]:
    """What the page fetched: URL, HTTP status and initiator (Resource Timing)."""
    return page.execute_script(
        "return performance.getEntriesByType('resource')"
        ".map(e => ({url: e.name, status: e.responseStatus, initiator: e.initiatorType}));"
    )


def test_the_object_page_zooms_into_the_photo_through_iiif(page, live_server, door, screenshot):
    access = door.assets.get(role=Asset.Role.ACCESS)
    page.get(live_server.url + door.get_absolute_url())
    wait_for_page(page, door.get_absolute_url())

    # OpenSeadragon opened the IIIF image and drew every tile of the first view.
    opened = wait_for_script(
        page,
        """const viewer = (window.archiveDeepZoom || [])[0];
           if (!viewer || !viewer.world || viewer.world.getItemCount() === 0) { return null; }
           const item = viewer.world.getItemAt(0);
           return item.getFullyLoaded() ? {width: item.source.width, height: item.source.height,
                                            tileWidth: item.source.getTileWidth(0)} : null;""",
        message="OpenSeadragon did not draw the image",
    )
    assert opened == {"width": SIZE[0], "height": SIZE[1], "tileWidth": 512}
    fetched = resources(page)
    info = [r for r in fetched if r["url"] == f"{live_server.url}/iiif/image/{access.id}/info.json"]
    tiles = [r for r in fetched if r["url"].startswith(f"{live_server.url}/iiif/image/{access.id}/")]
    tiles = [r for r in tiles if r["url"].endswith("/default.jpg")]
    assert info and info[0]["status"] == 200, fetched
    assert tiles and all(r["status"] == 200 for r in tiles), tiles
    # Everything came from the archive itself: no CDN, and tiles from this origin even though
    # ARCHIVE_SITE_URL (the ids in info.json) names another host here.
    assert all(r["url"].startswith(live_server.url) for r in fetched), fetched

    # The canvas holds the picture (opaque pixels in its middle); the fallback image is hidden, not removed.
    alpha = page.execute_script(
        """const canvas = document.querySelector('.deepzoom canvas');
           const pixel = canvas.getContext('2d').getImageData(canvas.width / 2, canvas.height / 2, 1, 1).data;
           return pixel[3];"""
    )
    assert alpha == 255
    fallback = page.find_element(By.CSS_SELECTOR, ".deepzoom-wrap .deepzoom-fallback img")
    assert fallback.get_attribute("alt") == "Painted shrine door" and not fallback.is_displayed()

    # Accessible: a labelled, described, focusable viewer; + on the keyboard zooms in, the button zooms out.
    canvas = page.find_element(By.CSS_SELECTOR, ".deepzoom .openseadragon-canvas")
    assert canvas.get_attribute("aria-label") == "Zoomable image: Painted shrine door"
    help_id = canvas.get_attribute("aria-describedby")
    assert page.find_element(By.ID, help_id).text.startswith("Drag or use the arrow keys")
    home = page.execute_script("return archiveDeepZoom[0].viewport.getHomeZoom();")
    canvas.click()
    page.switch_to.active_element.send_keys("+")
    wait_for_script(page, "return archiveDeepZoom[0].viewport.getZoom(true) > arguments[0] * 1.05;", home)
    page.find_element(By.CSS_SELECTOR, ".deepzoom-wrap button[data-action='home']").click()
    wait_for_script(page, "return Math.abs(archiveDeepZoom[0].viewport.getZoom(true) - arguments[0]) < 1e-3;", home)

    # The manifest link for IIIF viewers elsewhere.
    link = page.find_element(By.LINK_TEXT, "IIIF manifest")
    assert link.get_attribute("href") == f"{live_server.url}/iiif/{door.identifier}/manifest"
    page.execute_script("window.scrollTo(0, 0);")
    screenshot()
