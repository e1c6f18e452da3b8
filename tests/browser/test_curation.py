"""A curator in a real browser: logs in, chooses a photo on the object's page, watches it upload (tus) and
get processed, and sees the processed row with its thumbnail.

In this embedded test setup Celery runs eagerly (tests/conftest.py), so the PATCH that completes the tus
upload runs the whole ingest in the live server's request thread (archive.uploads.tus._finish ->
actions.receive_file -> on_commit -> tasks.ingest.delay); the page's status poll then reports it done and
upload.js reloads the page, whose table the server renders with the thumbnail.
"""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from archive.models import Asset, Upload
from tests.browser.support import wait_for_page, wait_for_script
from tests.factories import make_object
from tests.preservation import imagegen

pytestmark = pytest.mark.browser

PASSWORD = "pw-for-tests-123"  # what tests.factories.make_user gives every persona
PROCESSING_TIMEOUT = 90  # seconds; an upload and ingest of a small JPEG takes about 2 s here


def test_a_curator_uploads_a_photo_and_sees_it_processed(page, live_server, personas, tmp_path, screenshot):
    assert personas.curator.check_password(PASSWORD)
    obj = make_object(personas.collection, "Riverside courtyard door", published=False)
    photo = imagegen.make_jpeg(tmp_path / "courtyard-door.jpg", size=(640, 480))
    manage = f"/curate/o/{obj.identifier}/"

    # Not logged in: the curation page sends the browser to the login form, which brings it back.
    page.get(live_server.url + manage)
    wait_for_page(page, "/accounts/login/")
    page.find_element(By.ID, "id_username").send_keys("curator")
    page.find_element(By.ID, "id_password").send_keys(PASSWORD)
    page.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_for_page(page, manage)
    assert "Riverside courtyard door" in page.find_element(By.TAG_NAME, "h1").text
    assert page.find_element(By.CSS_SELECTOR, "#assets tbody tr.empty")

    # upload.js polls the status once when the page loads; let that finish before the upload starts, so
    # the live server (one shared in-memory SQLite connection) never serves it during the ingest.
    wait_for_script(
        page,
        """return performance.getEntriesByType('resource')
             .some((e) => e.name.includes('/status.json') && e.responseEnd > 0);""",
        message="the page's first status poll did not finish",
    )
    page.execute_script("window.__beforeUpload = true;")  # gone once upload.js reloads the page
    page.find_element(By.ID, "files").send_keys(str(photo))

    state = wait_for_script(
        page,
        """const failed = document.querySelector('#uploads li.error');
           if (failed) { return {error: failed.textContent}; }
           if (window.__beforeUpload || document.readyState !== 'complete') { return null; }
           const row = document.querySelector('#assets tbody tr[data-asset]');
           const img = row && row.querySelector('td.thumbcell img');
           if (!img || !img.complete || img.naturalWidth === 0) { return null; }
           return {state: row.querySelector('td.state').textContent.trim(), asset: row.dataset.asset,
                   file: row.querySelector('td:nth-child(2) a').textContent, thumbnail: img.getAttribute('src'),
                   width: img.naturalWidth};""",
        timeout=PROCESSING_TIMEOUT,
        message="the uploaded photo was not shown processed with a thumbnail",
    )
    assert "error" not in state, state
    assert state["state"] == "Processed" and state["file"] == "courtyard-door.jpg", state
    page.execute_script("document.getElementById('upload').scrollIntoView({block: 'start'});")
    screenshot(full_page=False)  # the upload section and the files table (the whole page is 6000 px tall)

    original = Asset.objects.get(pk=state["asset"])
    assert original.object_id == obj.pk and original.role == Asset.Role.ORIGINAL
    assert original.status == Asset.State.READY, original.status_message
    assert original.uploaded_by == personas.curator and original.size == photo.stat().st_size
    thumbnail = original.derivatives.get(role=Asset.Role.THUMBNAIL)
    assert state["thumbnail"] == thumbnail.get_download_url() and state["width"] > 0
    assert Upload.objects.get(asset=original).completed_at is not None
