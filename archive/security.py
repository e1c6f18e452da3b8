"""Content-Security-Policy and Permissions-Policy on every response.

Django's SecurityMiddleware (just outside this one) sends Strict-Transport-Security, X-Content-Type-Options,
Referrer-Policy and Cross-Origin-Opener-Policy from the settings (config/settings.py, security block);
XFrameOptionsMiddleware sends X-Frame-Options.

The policy is strict: scripts, styles, fonts, frames and fetches only from this site, no inline script or style,
no plugin, no framing by other sites, forms post only here. Every page script is a static file
(static/archive/*.js, static/vendor/*), so no nonce is needed. The additions, each for a reason:

- ``script-src 'wasm-unsafe-eval'``: model-viewer (three.js) compiles its WebAssembly mesh decoder (meshopt)
  when it loads. This allows compiling WebAssembly only; JavaScript eval and inline script stay blocked;
- ``style-src`` the hash of model-viewer's one <style> element (its shadow DOM's stylesheet, a constant in
  static/vendor/model-viewer/model-viewer.min.js): that exact text, nothing else. Updating model-viewer
  changes it; tests/security/test_web_security.py recomputes it from the vendored file;
- ``img-src data: blob:`` and the map tile server's origin (from ``ARCHIVE_MAP_TILE_URL``): Leaflet's blank
  tile is a data: GIF, a glTF may carry its textures as data: URIs, three.js decodes a GLB's embedded textures
  from blob: URLs, and the map background comes from the tile server;
- ``worker-src blob:``: model-viewer's (three.js) Draco and KTX2 decoders run in workers made from blobs;
- the browsable API (DRF's own templates, ``/api/`` in a browser, a tool for developers) has a <style> element
  (syntax colours) and ``style="..."`` attributes: only those responses allow inline *styles*
  (``style-src 'unsafe-inline'``); their scripts are held to the same rule as every page.

A view that sets its own Content-Security-Policy keeps it. JSON and XML responses (IIIF, OAI-PMH, API, the
change feed) get the same headers: harmless there, and their Access-Control-Allow-Origin is left alone.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings

PERMISSIONS_POLICY = ", ".join(
    [
        "accelerometer=()",
        "camera=()",
        "geolocation=()",
        "gyroscope=()",
        "magnetometer=()",
        "microphone=()",
        "payment=()",
        "usb=()",
        "xr-spatial-tracking=()",
        "fullscreen=(self)",  # the deep-zoom viewer's "Full screen" button
    ]
)

# The hash of the text of the <style> element in model-viewer 4.4.0's shadow DOM template (see the docstring).
MODEL_VIEWER_STYLE = "'sha256-PXtZZkJMMyc18o/DN1ZEFOJ2qEGq95IQbVaJFMOXOb0='"

_PLACEHOLDER = re.compile(r"\{[^}]*\}")


def tile_source(template: str) -> str | None:
    """The CSP source matching a Leaflet tile URL template's host: ``https://{s}.tile.example.org/{z}/{x}/{y}.png``
    gives ``https://*.tile.example.org``; a template on this site (a path) needs none (``'self'``)."""
    parts = urlsplit(template.strip())
    if not parts.netloc:
        return None
    host = parts.netloc.rsplit("@", 1)[-1]
    if "{" in host:  # a placeholder in the host ({s}, {switch:a,b}): a wildcard for everything left of it
        labels = host.split(".")
        last = max(i for i, label in enumerate(labels) if _PLACEHOLDER.search(label))
        host = ".".join(["*", *labels[last + 1 :]])
    return f"{parts.scheme}://{host}" if parts.scheme else host


@lru_cache(maxsize=16)
def content_security_policy(tile_url: str = "", report_uri: str = "", inline_styles: bool = False) -> str:
    """The header's value for these settings (cached: it is the same for every response)."""
    tiles = tile_source(tile_url) if tile_url else None
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'wasm-unsafe-eval'"],
        # (A hash next to 'unsafe-inline' would make browsers ignore 'unsafe-inline': one or the other.)
        "style-src": ["'self'", "'unsafe-inline'" if inline_styles else MODEL_VIEWER_STYLE],
        "img-src": ["'self'", "data:", "blob:", *([tiles] if tiles else [])],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
    if report_uri:
        directives["report-uri"] = [report_uri]
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def _debug_page(response) -> bool:
    """Django's technical 404 and 500 pages (DEBUG only) are made of inline script and style."""
    return settings.DEBUG and response.status_code in (404, 500) and "html" in response.get("Content-Type", "")


class SecurityHeadersMiddleware:
    """Adds Content-Security-Policy and Permissions-Policy to every response that has none."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            if _debug_page(response):
                policy = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'"
            else:
                renderer = getattr(response, "accepted_renderer", None)
                policy = content_security_policy(
                    settings.ARCHIVE_MAP_TILE_URL or "",
                    settings.ARCHIVE_CSP_REPORT_URI or "",
                    inline_styles=getattr(renderer, "format", None) == "api",
                )
            response["Content-Security-Policy"] = policy
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
