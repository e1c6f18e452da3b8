"""Web security: Django's deployment checklist passes with production settings (secret key from a file), the
development key is refused in production, every kind of page carries the Content-Security-Policy and the other
security headers, no page or template holds an inline script or style the policy would block, cookies are
Secure/HttpOnly/SameSite in production, and env() reads NAME_FILE secrets.

The log-in limits have their own module (test_login_limits.py); test_csp_in_browser.py checks in Chromium that
the viewers raise no policy violation.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings

from archive.models import Asset
from archive.security import MODEL_VIEWER_STYLE, content_security_policy, tile_source
from tests.factories import attach_file, client_for, make_object

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pw-for-tests-123"  # tests.factories.make_user
# Settings the production environment decides (read from config/settings.py in a subprocess).
PRODUCTION_NAMES = [
    "DEBUG",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SAMESITE",
    "LANGUAGE_COOKIE_SECURE",
    "LANGUAGE_COOKIE_HTTPONLY",
    "LANGUAGE_COOKIE_SAMESITE",
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_REFERRER_POLICY",
    "X_FRAME_OPTIONS",
]


# --- production settings, in a subprocess ---------------------------------------------------------------


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A production environment for config.settings: no DEBUG, a strong key given as a file (never in the
    environment itself), a real host name, HTTPS behind a proxy. Nothing inherited from the caller's
    DJANGO_*/ARCHIVE_* variables or *_FILE secrets."""
    key_file = tmp_path / "django-secret-key"
    key_file.write_text(secrets.token_urlsafe(50) + "\n")  # a trailing newline, as `echo` or an editor leaves
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "ARCHIVE_", "DATABASE_URL", "CELERY_")) and not name.endswith("_FILE")
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY_FILE": str(key_file),
        "DJANGO_ALLOWED_HOSTS": "archive.example.org",
        "ARCHIVE_SITE_URL": "https://archive.example.org",
        "DJANGO_SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
        "DJANGO_SECURE_HSTS_PRELOAD": "1",
        "ARCHIVE_MEDIA_ROOT": str(tmp_path / "media"),
        "CELERY_BROKER_URL": "memory://",  # the filesystem broker would make folders at import
        **extra,
    }


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)


def test_the_deployment_checklist_passes_with_production_settings_and_a_key_file(tmp_path):
    # No DJANGO_SECRET_KEY in the environment: only DJANGO_SECRET_KEY_FILE. Were the file not read, the
    # development key would apply and the settings would refuse to load.
    env = production_env(tmp_path)
    assert "DJANGO_SECRET_KEY" not in env
    result = check_deploy(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_with_the_development_secret_key_refuses_to_start(tmp_path):
    env = production_env(tmp_path)
    del env["DJANGO_SECRET_KEY_FILE"]
    result = check_deploy(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "development SECRET_KEY" in result.stderr and "DJANGO_SECRET_KEY_FILE" in result.stderr, result.stderr


def test_the_checklist_names_what_plain_http_gives_up(tmp_path):
    """DJANGO_HTTPS=0 (docker compose's first look) is allowed, but check --deploy says what it costs."""
    result = check_deploy(production_env(tmp_path, DJANGO_HTTPS="0"))
    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr, (check, result.stderr)


@pytest.fixture(scope="module")
def production_settings(tmp_path_factory) -> dict:
    """The values config/settings.py gives PRODUCTION_NAMES under production_env()."""
    tmp_path = tmp_path_factory.mktemp("production")
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name) for name in {PRODUCTION_NAMES!r}}}))"
    )
    result = run([sys.executable, "-c", script], production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    values["SECURE_PROXY_SSL_HEADER"] = tuple(values["SECURE_PROXY_SSL_HEADER"])
    return values


def test_production_settings_turn_on_https_and_strict_cookies(production_settings):
    assert production_settings == {
        **production_settings,
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "LANGUAGE_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SAMESITE": "Lax",
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
        "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
        "X_FRAME_OPTIONS": "DENY",
    }


def test_production_redirects_plain_http_and_sends_hsts_over_https(db, production_settings):
    client = Client()
    with override_settings(**production_settings):
        plain = client.get("/search/?q=jar")
        assert plain.status_code == 301 and plain["Location"] == "https://testserver/search/?q=jar"
        # Health probes come over plain HTTP from inside the network: not redirected.
        assert client.get("/healthz").status_code != 301
        # The TLS-terminating proxy says "https": served, with HSTS.
        proxied = client.get("/search/?q=jar", headers={"X-Forwarded-Proto": "https"})
        assert proxied.status_code == 200
        assert proxied["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_login_cookies_are_secure_httponly_and_lax_in_production(personas, production_settings):
    client = Client()
    with override_settings(**production_settings):
        form = client.get("/accounts/login/", secure=True)
        assert form.status_code == 200
        response = client.post("/accounts/login/", {"username": "curator", "password": PASSWORD}, secure=True)
        assert response.status_code == 302
        session = response.cookies[settings.SESSION_COOKIE_NAME]
        csrf = response.cookies[settings.CSRF_COOKIE_NAME]  # rotated at log-in
        for cookie in (session, csrf):
            assert cookie["secure"] is True, cookie.output()
            assert cookie["httponly"] is True, cookie.output()
            assert cookie["samesite"] == "Lax", cookie.output()
        language = client.post("/i18n/setlang/", {"language": "fr", "next": "/"}, secure=True)
        cookie = language.cookies[settings.LANGUAGE_COOKIE_NAME]
        assert cookie["secure"] is True and cookie["httponly"] is True and cookie["samesite"] == "Lax"


# --- headers on every kind of response ---------------------------------------------------------------------


def policy(response) -> dict[str, list[str]]:
    """The Content-Security-Policy as {directive: [sources]}."""
    header = response["Content-Security-Policy"]
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {words[0]: words[1:] for words in directives}


@pytest.fixture
def lintel(personas, tmp_path):
    """A public object with a located photo: an access copy (with its size, for the deep-zoom box) and a
    thumbnail, as the pipeline leaves them."""
    obj = make_object(personas.collection, "Carved lintel", latitude=10.0, longitude=20.0)
    access = attach_file(obj, Asset.Role.ACCESS, b"jpg", tmp_path / "a", filename="lintel.jpg")
    access.technical = {"width": 1200, "height": 800}
    access.save(update_fields=["technical"])
    attach_file(obj, Asset.Role.THUMBNAIL, b"jpg", tmp_path / "t", filename="lintel-t.jpg")
    return obj


def assert_security_headers(response, where: str) -> None:
    csp = policy(response)
    assert csp["default-src"] == ["'self'"], where
    assert csp["script-src"] == ["'self'", "'wasm-unsafe-eval'"], where  # no inline script, no eval
    assert csp["style-src"] == ["'self'", MODEL_VIEWER_STYLE], where  # no inline style but model-viewer's own
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"], where
    assert csp["base-uri"] == ["'self'"] and csp["form-action"] == ["'self'"], where
    assert csp["connect-src"] == ["'self'"], where
    assert response["X-Content-Type-Options"] == "nosniff", where
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin", where
    assert response["Cross-Origin-Opener-Policy"] == "same-origin", where
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]
    assert response["X-Frame-Options"] == "DENY", where


def test_every_kind_of_page_and_document_carries_the_security_headers(personas, lintel):
    visitor, curator, staff = client_for(None), client_for(personas.curator), client_for(personas.staff)
    access = lintel.assets.get(role=Asset.Role.ACCESS)
    pages = [
        (visitor, "/", "text/html"),
        (visitor, "/search/?q=lintel", "text/html"),
        (visitor, "/map/", "text/html"),
        (visitor, lintel.get_absolute_url(), "text/html"),
        (visitor, "/accounts/login/", "text/html"),
        (visitor, "/admin/login/", "text/html"),
        (visitor, "/api/docs/", "text/html"),
        (visitor, "/api/objects/", "application/json"),
        (visitor, "/map/objects.geojson", "application/"),
        (visitor, f"/iiif/{lintel.identifier}/manifest", "application/ld+json"),
        (visitor, f"/iiif/image/{access.id}/info.json", "application/ld+json"),
        (visitor, "/oai?verb=Identify", "text/xml"),
        (visitor, "/activity/", "application/"),
        (visitor, "/sitemap.xml", "application/xml"),
        (visitor, "/no-such-page/", "text/html"),
        (curator, "/curate/", "text/html"),
        (curator, f"/curate/o/{lintel.identifier}/", "text/html"),
        (staff, "/admin/", "text/html"),
        (staff, "/curate/stores/", "text/html"),
    ]
    for client, url, content_type in pages:
        response = client.get(url)
        assert response.status_code in (200, 404), (url, response.status_code)
        assert response["Content-Type"].startswith(content_type), (url, response["Content-Type"])
        assert_security_headers(response, url)


def test_iiif_and_the_change_feed_stay_readable_by_other_sites(personas, lintel):
    access = lintel.assets.get(role=Asset.Role.ACCESS)
    client = client_for(None)
    for url in (f"/iiif/{lintel.identifier}/manifest", f"/iiif/image/{access.id}/info.json", "/activity/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Access-Control-Allow-Origin"] == "*", url
        assert "Cross-Origin-Resource-Policy" not in response, url  # images stay embeddable elsewhere
        assert "Content-Security-Policy" in response, url


def test_the_map_tile_server_is_the_only_other_origin_allowed_and_only_for_images(db, settings):
    settings.ARCHIVE_MAP_TILE_URL = "https://tiles.example.net/{z}/{x}/{y}.png"
    csp = policy(client_for(None).get("/map/"))
    assert csp["img-src"] == ["'self'", "data:", "blob:", "https://tiles.example.net"]
    others = [source for name, sources in csp.items() if name != "img-src" for source in sources]
    assert not any("example.net" in source for source in others)
    settings.ARCHIVE_MAP_TILE_URL = ""  # no background (offline install): nothing from elsewhere
    assert policy(client_for(None).get("/map/"))["img-src"] == ["'self'", "data:", "blob:"]


@pytest.mark.parametrize(
    ("template", "source"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
        ("https://tiles-{s}.example.org:8443/{z}/{x}/{y}.png?key=k", "https://*.example.org:8443"),
        ("//tiles.example.org/{z}/{x}/{y}.png", "tiles.example.org"),
        ("/tiles/{z}/{x}/{y}.png", None),
    ],
)
def test_tile_source_reads_the_host_of_a_leaflet_url_template(template, source):
    assert tile_source(template) == source


def test_the_browsable_api_alone_may_use_inline_styles_and_never_inline_scripts(personas):
    staff = client_for(personas.staff)
    browsable = staff.get("/api/objects/", headers={"Accept": "text/html"})
    assert browsable.status_code == 200 and browsable["Content-Type"].startswith("text/html")
    csp = policy(browsable)
    assert csp["style-src"] == ["'self'", "'unsafe-inline'"]
    assert csp["script-src"] == ["'self'", "'wasm-unsafe-eval'"]
    assert "'unsafe-inline'" not in policy(staff.get("/api/objects/"))["style-src"]  # the same endpoint as JSON
    assert "'unsafe-inline'" not in policy(staff.get("/"))["style-src"]


def test_the_model_viewer_style_hash_is_that_of_the_vendored_file():
    """model-viewer's shadow DOM has one <style> element, a constant of its template: the policy allows it by
    hash. Updating static/vendor/model-viewer changes it: put the new value in archive/security.py."""
    source = (ROOT / "static" / "vendor" / "model-viewer" / "model-viewer.min.js").read_text(encoding="utf-8")
    styles = re.findall(r"<style>(.*?)</style>", source, flags=re.DOTALL)
    assert len(styles) == 1 and "${" not in styles[0], "model-viewer's template changed shape"
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" == MODEL_VIEWER_STYLE


def test_a_view_that_sets_its_own_policy_keeps_it():
    from django.http import HttpResponse

    from archive.security import SecurityHeadersMiddleware

    def view(request):
        response = HttpResponse("<p>embed</p>")
        response["Content-Security-Policy"] = "frame-ancestors https://partner.example.org"
        return response

    response = SecurityHeadersMiddleware(view)(None)
    assert response["Content-Security-Policy"] == "frame-ancestors https://partner.example.org"


def test_only_djangos_debug_error_pages_in_development_may_run_their_inline_code(db, settings):
    assert "'unsafe-inline'" not in client_for(None).get("/no-such-page/")["Content-Security-Policy"]
    settings.DEBUG = True  # the technical 404 page: inline <style> and <script>
    debug = client_for(None).get("/no-such-page/")
    assert debug.status_code == 404 and "'unsafe-inline'" in policy(debug)["script-src"]
    assert "'unsafe-inline'" not in client_for(None).get("/")["Content-Security-Policy"]


def test_a_report_uri_is_added_when_configured():
    header = content_security_policy("", "https://reports.example.org/csp")
    assert header.endswith("; report-uri https://reports.example.org/csp")


# --- no inline script or style anywhere ------------------------------------------------------------------

DATA_SCRIPT_TYPES = {"application/json", "application/ld+json", "importmap"}
INLINE_HANDLER = re.compile(r"^on[a-z]+$")


class InlineCode(HTMLParser):
    """Collects what a policy without 'unsafe-inline' blocks: <script> without src (data blocks excepted),
    <style> elements, style="" and on*="" attributes, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and not a.get("src") and (a.get("type") or "").lower() not in DATA_SCRIPT_TYPES:
            self.found.append(f"<script> without src at line {self.getpos()[0]}")
        if tag == "style":
            self.found.append(f"<style> at line {self.getpos()[0]}")
        for name, value in attrs:
            script_url = name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:")
            if name == "style" or INLINE_HANDLER.match(name) or script_url:
                self.found.append(f'<{tag} {name}="{value}"> at line {self.getpos()[0]}')


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def test_the_inline_code_finder_finds_what_the_policy_blocks():
    page = (
        '<script>alert(1)</script><script src="/static/a.js"></script><script type="application/json">{}</script>'
        '<style>p{}</style><p style="color:red" onclick="x()"><a href="javascript:void(0)">a</a></p>'
    )
    assert len(inline_code(page)) == 5


def test_no_template_holds_inline_script_or_style():
    templates = [*(ROOT / "templates").rglob("*.html"), *(ROOT / "archive").rglob("templates/**/*.html")]
    assert len(templates) > 25
    found = {str(path.relative_to(ROOT)): inline_code(path.read_text()) for path in templates}
    assert {path: what for path, what in found.items() if what} == {}


@pytest.mark.parametrize("persona", ["visitor", "outsider", "member", "curator", "staff"])
def test_pages_rendered_for_each_persona_hold_no_inline_script_or_style(personas, lintel, persona):
    user = personas.users()[persona]
    if persona == "staff":  # and a superuser, to see the admin's object and user forms
        user.is_superuser = True
        user.save(update_fields=["is_superuser"])
    client = client_for(user)
    urls = [
        "/",
        "/search/?q=lintel",
        "/map/",
        lintel.get_absolute_url(),
        f"/c/{personas.community.slug}/",
        f"/collections/{personas.collection.slug}/",
        "/communities/",
        "/open-data/",
        "/api/docs/",
    ]
    if user is None:
        urls += ["/accounts/login/", "/admin/login/"]
    else:
        urls += ["/curate/"]  # a member who curates nothing gets the "not a curator" page (403)
    if persona in ("curator", "staff"):
        urls += [
            f"/curate/o/{lintel.identifier}/",
            f"/curate/o/{lintel.identifier}/edit/",
            f"/curate/o/{lintel.identifier}/review/",
            f"/curate/o/{lintel.identifier}/share/",
            f"/curate/communities/{personas.community.slug}/",
            f"/curate/collections/{personas.collection.slug}/upload/",
            "/curate/csv/import/",
            "/curate/quarantine/",
        ]
    if persona == "staff":
        urls += [
            "/curate/stores/",
            "/admin/",
            "/admin/archive/heritageobject/",
            f"/admin/archive/heritageobject/{lintel.pk}/change/",
            "/admin/auth/user/add/",
        ]
    pages = {url: client.get(url) for url in urls}
    if persona in ("curator", "staff"):
        created = client.post(f"/curate/o/{lintel.identifier}/share/", {"researcher_name": "Dr Ada", "days": 3})
        pages["share link created"] = created
    for url, response in pages.items():
        expected = 403 if url == "/curate/" and persona in ("outsider", "member") else 200
        assert response.status_code == expected, (url, response.status_code)
        html = response.content.decode()
        assert inline_code(html) == [], url
        assert "'unsafe-inline'" not in response["Content-Security-Policy"], url
    # The object page's deep-zoom box takes the image's shape from data-ratio (deepzoom.js), not a style.
    assert 'data-ratio="1200 / 800"' in pages[lintel.get_absolute_url()].content.decode()


# --- secrets -------------------------------------------------------------------------------------------


def test_env_reads_a_secret_from_the_file_named_by_name_file_before_the_variable(tmp_path, monkeypatch):
    from config.settings import env, env_bool, env_int

    secret = tmp_path / "secret"
    secret.write_text("  s3cr3t-from-a-file\n")
    monkeypatch.setenv("ARCHIVE_TEST_SECRET", "from-the-environment")
    assert env("ARCHIVE_TEST_SECRET") == "from-the-environment"
    monkeypatch.setenv("ARCHIVE_TEST_SECRET_FILE", str(secret))
    assert env("ARCHIVE_TEST_SECRET") == "s3cr3t-from-a-file"  # the file wins, stripped
    (tmp_path / "flag").write_text("yes\n")
    (tmp_path / "number").write_text("42\n")
    monkeypatch.setenv("ARCHIVE_TEST_FLAG_FILE", str(tmp_path / "flag"))
    monkeypatch.setenv("ARCHIVE_TEST_NUMBER_FILE", str(tmp_path / "number"))
    assert env_bool("ARCHIVE_TEST_FLAG") is True and env_int("ARCHIVE_TEST_NUMBER", 0) == 42
    monkeypatch.delenv("ARCHIVE_TEST_SECRET_FILE")
    monkeypatch.delenv("ARCHIVE_TEST_SECRET")
    assert env("ARCHIVE_TEST_SECRET", "default") == "default"
