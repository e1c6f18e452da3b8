"""The Content-Security-Policy in a real browser: every viewer and widget works under it and the browser reports
no violation (a `securitypolicyviolation` listener is installed in every document before its own scripts run).

- the object page: model-viewer (an ES module, WebGL) shows the GLB; OpenSeadragon draws the IIIF tiles, in a
  box shaped by deepzoom.js (no style attribute);
- the map: Leaflet with its markers (and a tile server allowed for images);
- the curator's pages: the log-in form, the upload page (tus-js-client ready), the "share link created" page
  (share.js selects the link);
- staff: the Django admin's list and change form, DRF's browsable API, the API documentation.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from selenium.webdriver.common.by import By

from archive.models import Asset, HeritageObject
from tests.browser.conftest import browser, page  # noqa: F401 - the browser tests' fixtures
from tests.browser.support import wait_for_page, wait_for_script
from tests.factories import make_object, preserve_file
from tests.preservation import imagegen, meshgen

pytestmark = pytest.mark.browser

PASSWORD = "pw-for-tests-123"  # tests.factories.make_user
LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push({directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile,
                               line: e.lineNumber, sample: e.sample});
});
"""


@pytest.fixture
def watched(page):  # noqa: F811 - the imported fixture
    """The browser, recording policy violations in every document it opens from now on."""
    installed = page.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": LISTENER})
    yield page
    page.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": installed["identifier"]})


def violations(driver) -> list[dict]:
    return driver.execute_script("return window.__cspViolations;")


def open_page(driver, url: str, path: str) -> None:
    driver.get(url)
    wait_for_page(driver, path)
    found = violations(driver)
    assert found == [], json.dumps([path, found])


@pytest.fixture
def scanned(personas, tmp_path) -> HeritageObject:
    """A public, located object with a photo and a 3D scan, processed by the real pipeline."""
    obj = make_object(personas.collection, "Carved cedar lintel", latitude=34.1, longitude=35.6)
    ball = meshgen.sphere(2)
    scan = meshgen.write_ply(
        tmp_path / "lintel-scan.ply",
        ball.vertices.astype(np.float32),
        ball.faces,
        colours=np.asarray(ball.visual.vertex_colors)[:, :3],
        normals=ball.vertex_normals.astype(np.float32),
    )
    for path in (imagegen.make_jpeg(tmp_path / "lintel.jpg", size=(1200, 800)), scan):
        asset = preserve_file(obj, path, tmp_path)
        assert asset.status == Asset.State.READY, asset.status_message
    return obj


def test_the_viewers_and_the_map_work_with_no_policy_violation(watched, live_server, scanned):
    open_page(watched, live_server.url + scanned.get_absolute_url(), scanned.get_absolute_url())
    state = wait_for_script(
        watched,
        """const box = document.querySelector('figure.viewer3d-wrap');
           if (box.classList.contains('failed')) { return 'failed: ' + box.textContent.trim(); }
           return box.classList.contains('loaded') ? 'loaded' : null;""",
        message="model-viewer did not load the GLB",
    )
    assert state == "loaded"
    wait_for_script(
        watched,
        """const viewer = (window.archiveDeepZoom || [])[0];
           return viewer && viewer.world.getItemCount() > 0 && viewer.world.getItemAt(0).getFullyLoaded();""",
        message="OpenSeadragon did not draw the image",
    )
    # The box takes the photo's shape, set by deepzoom.js from data-ratio (no style attribute in the page).
    ratio = watched.execute_script(
        "return getComputedStyle(document.querySelector('.deepzoom')).getPropertyValue('--deepzoom-ratio');"
    )
    assert ratio.strip() == "1200 / 800"
    assert violations(watched) == []

    open_page(watched, live_server.url + "/map/", "/map/")
    wait_for_script(
        watched,
        "return document.querySelector(\".leaflet-marker-icon[title='Carved cedar lintel']\") !== null;",
        message="the object's marker on the map",
    )
    assert violations(watched) == []


def test_the_curators_pages_work_with_no_policy_violation(watched, live_server, scanned):
    manage = f"/curate/o/{scanned.identifier}/"
    open_page(watched, live_server.url + manage, "/accounts/login/")
    watched.find_element(By.ID, "id_username").send_keys("curator")
    watched.find_element(By.ID, "id_password").send_keys(PASSWORD)
    watched.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_for_page(watched, manage)
    assert watched.execute_script("return typeof tus !== 'undefined' && tus.isSupported;")
    assert violations(watched) == []

    # A share link: its page selects the link when the field is focused (share.js).
    watched.find_element(By.CSS_SELECTOR, "form.share-create input[name=researcher_name]").send_keys("Dr Ada")
    watched.find_element(By.CSS_SELECTOR, "form.share-create button[type=submit]").click()
    wait_for_script(watched, "return document.getElementById('share-url') !== null;", message="the share link page")
    watched.execute_script("document.getElementById('share-url').focus();")
    selected = watched.execute_script(
        "const f = document.getElementById('share-url'); return [f.selectionStart, f.selectionEnd, f.value.length];"
    )
    assert selected[0] == 0 and selected[1] == selected[2] > 0
    assert violations(watched) == []


def test_the_admin_and_the_api_pages_work_with_no_policy_violation(watched, live_server, personas, scanned):
    personas.staff.is_superuser = True
    personas.staff.save(update_fields=["is_superuser"])
    open_page(watched, live_server.url + "/admin/login/", "/admin/login/")
    watched.find_element(By.ID, "id_username").send_keys("staff")
    watched.find_element(By.ID, "id_password").send_keys(PASSWORD)
    watched.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for_page(watched, "/admin/")
    for path in (
        "/admin/archive/heritageobject/",
        f"/admin/archive/heritageobject/{scanned.pk}/change/",
        "/admin/auth/user/add/",
        "/api/objects/",
        "/api/docs/",
    ):
        open_page(watched, live_server.url + path, path)
        assert violations(watched) == [], path
