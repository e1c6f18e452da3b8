"""Small helpers for the browser tests: waits on conditions read in one script call (no stale elements while
a page reloads), same-origin fetches made by the page itself (its cookies, its access), and the HTTP status
of the current document."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

DESKTOP = (1280, 900)  # window size of every test
PHONE = (390, 844)  # the phone-sized screenshot's viewport
WAIT = 20  # seconds; generous for a 2-core CI machine, never reached when things work


def wait_for_script(driver: WebDriver, script: str, *args: Any, timeout: float = WAIT, message: str = "") -> Any:
    """Run ``script`` (a function body that returns a value) until it returns something truthy; return that."""
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        lambda d: d.execute_script(script, *args), message or f"timed out waiting for: {script.strip()[:200]}"
    )


def wait_for_image(driver: WebDriver, css: str, timeout: float = WAIT) -> dict:
    """Scroll the first image matching ``css`` into view (it may be lazy) and wait until it has decoded pixels."""
    driver.execute_script("document.querySelector(arguments[0]).scrollIntoView({block: 'center'});", css)
    return wait_for_script(
        driver,
        """const img = document.querySelector(arguments[0]);
           return img && img.complete && img.naturalWidth > 0
               ? {src: img.getAttribute('src'), width: img.naturalWidth, height: img.naturalHeight} : null;""",
        css,
        timeout=timeout,
        message=f"the image {css} did not load",
    )


def wait_for_page(driver: WebDriver, path: str, timeout: float = WAIT) -> None:
    """Wait until the browser shows ``path`` (no query) and the document has loaded."""
    wait_for_script(
        driver,
        "return location.pathname === arguments[0] && document.readyState === 'complete';",
        path,
        timeout=timeout,
        message=f"the browser did not arrive at {path}",
    )


def fetch(driver: WebDriver, url: str) -> dict:
    """GET ``url`` from the current page with its cookies: status, content type, size and the first bytes."""
    result = driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
           fetch(arguments[0], {credentials: 'same-origin'})
             .then(async (r) => {
               const body = new Uint8Array(await r.arrayBuffer());
               done({status: r.status, type: r.headers.get('content-type'), size: body.length,
                     head: Array.from(body.slice(0, 16)), text: r.status === 200 && body.length < 200000
                       ? new TextDecoder().decode(body) : ''});
             })
             .catch((e) => done({status: 0, error: String(e)}));""",
        url,
    )
    result["head"] = bytes(result.get("head", []))
    return result


def document_status(driver: WebDriver) -> int:
    """The HTTP status of the document the browser shows (Navigation Timing's responseStatus)."""
    return driver.execute_script("return performance.getEntriesByType('navigation')[0].responseStatus;")
