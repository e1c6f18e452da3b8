"""Browser tests: Selenium drives Debian's headless Chromium (packages chromium + chromium-driver, installed by
``make system-deps``) against pytest-django's ``live_server``.

One browser per test module; each test starts from a blank state (no cookies, empty localStorage, desktop
window). Screenshots go to ``test-artifacts/screenshots/`` under the repository root: ``<test>.png`` at the
test's key moment (the ``screenshot`` fixture), ``<test>-failed.png`` when a test fails with a browser open
(a pytest hook below).
Everything the browser loads comes from the live server; nothing is downloaded (no Selenium Manager, no
browser of its own).
"""

from __future__ import annotations

import base64
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.browser.support import DESKTOP

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"


def _find(name: str, *fallbacks: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    return next((path for path in fallbacks if os.access(path, os.X_OK)), None)


CHROMIUM = _find("chromium", "/usr/bin/chromium")
CHROMEDRIVER = _find("chromedriver", "/usr/bin/chromedriver")


def _artifact_name(item: pytest.Item, suffix: str = "") -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name).strip("_")
    return SCREENSHOTS / f"{name}{suffix}.png"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless Chromium for the whole module (starting one costs about a second)."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromedriver are not installed (Debian: make system-deps)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
        "--lang=en",
        "--hide-scrollbars",
        "--no-first-run",
        "--no-default-browser-check",
        # Nothing outside the live server: this machine's network is closed and Chromium would retry.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--disable-extensions",
        "--disable-default-apps",
        # WebGL for <model-viewer> without a GPU: ANGLE on SwiftShader (software).
        "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": "en"})
    # A driver path given: Selenium Manager (which would download a driver) is never run.
    service = Service(executable_path=CHROMEDRIVER, log_output=os.devnull)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(browser, live_server):
    """The module's browser, reset for this test: desktop size, no cookies or storage from the last test."""
    browser.get(live_server.url + "/robots.txt")  # same origin, no page scripts
    set_viewport(browser, *DESKTOP)
    browser.delete_all_cookies()
    browser.execute_script("window.localStorage.clear(); window.sessionStorage.clear();")
    return browser


def set_viewport(driver, width: int, height: int) -> None:
    """Make the page's viewport ``width`` x ``height`` CSS pixels (the window is a little larger)."""
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    driver.set_window_size(width, height)
    extra_width, extra_height = driver.execute_script("return [outerWidth - innerWidth, outerHeight - innerHeight];")
    if extra_width or extra_height:
        driver.set_window_size(width + extra_width, height + extra_height)


def save_png(driver, path: Path, *, full_page: bool) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if not full_page:
        assert driver.save_screenshot(str(path)), f"could not save {path}"
        return
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.write_bytes(base64.b64decode(shot["data"]))


@pytest.fixture
def screenshot(request, browser) -> Callable[..., Path]:
    """``screenshot()`` saves the whole page as ``<test>.png``; ``screenshot("-phone")`` as ``<test>-phone.png``;
    ``full_page=False`` keeps to the viewport."""

    def save(suffix: str = "", *, full_page: bool = True) -> Path:
        path = _artifact_name(request.node, suffix)
        save_png(browser, path, full_page=full_page)
        return path

    return save


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when in ("setup", "call") and report.failed:
        driver = getattr(item, "funcargs", {}).get("browser")
        if driver is not None:
            path = _artifact_name(item, "-failed")
            try:
                save_png(driver, path, full_page=False)
                report.sections.append(("browser", f"screenshot of the failure: {path}\nat {driver.current_url}"))
            except Exception as error:  # noqa: BLE001 - a dead browser must not hide the real failure
                report.sections.append(("browser", f"no screenshot of the failure: {error!r}"))
    return report
