"""One env-driven settings module. With no environment at all it runs the embedded default:
SQLite, two local OCFL stores under media/, a Celery worker on a filesystem broker (no servers)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    """A setting from the environment, or from the file named by NAME_FILE (for secrets)."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text().strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    return env(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(env(name, str(default)))


DEBUG = env_bool("DJANGO_DEBUG", True)
# The embedded development key: production (DJANGO_DEBUG=0) refuses it (see the security block at the end).
DEVELOPMENT_SECRET_KEY = "embedded-default-not-secret-change-me-in-production-0123456789"
SECRET_KEY = env("DJANGO_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = [h for h in env("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o]
SITE_URL = env("ARCHIVE_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "archive",
    "preservation",
]

MIDDLEWARE = [
    "archive.unavailable.DatabaseUnavailableMiddleware",  # outermost: a database outage answers 503, not a traceback
    "django.middleware.security.SecurityMiddleware",
    "archive.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Where files live -------------------------------------------------------------------------
MEDIA_ROOT = Path(env("ARCHIVE_MEDIA_ROOT", str(BASE_DIR / "media")))
STAGING_ROOT = Path(env("ARCHIVE_STAGING_ROOT", str(MEDIA_ROOT / "staging")))
QUARANTINE_ROOT = Path(env("ARCHIVE_QUARANTINE_ROOT", str(MEDIA_ROOT / "quarantine")))

# --- Database ---------------------------------------------------------------------------------
_sqlite_default = f"sqlite:///{MEDIA_ROOT / 'archive.sqlite3'}"
# Persistent connections (60 s), checked before each request or task reuses one: after a PostgreSQL restart the
# first query reconnects instead of failing on the dead socket (archive/unavailable.py answers 503 meanwhile).
DATABASES = {
    "default": dj_database_url.parse(env("DATABASE_URL") or _sqlite_default, conn_max_age=60, conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A worker and the web server write concurrently: WAL and immediate transactions avoid
    # "database is locked" under that load.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "curation:dashboard"
LOGOUT_REDIRECT_URL = "portal:home"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
# The interface's message catalogues (`make i18n` updates and compiles them; the .mo files are committed).
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Served by WhiteNoise; in development (and tests) straight from the source folders.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Uploads come through the tus endpoint, streamed to disk; ordinary forms stay small.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Celery -----------------------------------------------------------------------------------
_broker_dir = MEDIA_ROOT / "broker"
CELERY_BROKER_URL = env("CELERY_BROKER_URL") or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("out", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),  # else kombu writes ./control/ in the working folder
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith("redis"):
    # A message whose worker died unacknowledged (acks_late) goes back to its queue once it is older than the
    # visibility timeout: keep it above the longest task. Workers look for such messages every
    # CELERY_UNACKED_RESTORE_SECONDS (kombu's default: about every 100 s).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
    if env("CELERY_UNACKED_RESTORE_SECONDS"):
        CELERY_BROKER_TRANSPORT_OPTIONS.update(
            unacked_restore_interval=env_int("CELERY_UNACKED_RESTORE_SECONDS", 10), unacked_restore_throttle=1
        )
    # Every broker key starts with this (kombu's global_keyprefix): several deployments, or test sessions,
    # can share one Redis database without taking each other's tasks.
    if env("ARCHIVE_BROKER_KEY_PREFIX"):
        CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = env("ARCHIVE_BROKER_KEY_PREFIX")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged when it ends, not when it starts: a worker killed mid-task (SIGKILL, OOM, power) leaves
# its message to be delivered again; a pool process that dies has its message requeued at once. Tasks are
# idempotent (preservation/pipeline.py), so a second run finishes the work or finds it done.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A task still running when the broker connection drops finishes; its message comes back later and finds the
# work done (cancelling it would only redo the work).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Publishing rides out a broker restart of a few seconds (about 4 s of retries) before giving up, so an upload
# is never held much longer; work that could not be queued is found by the sweeper (preservation/sweeper.py).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 4, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2}
# Workers and beat reconnect to the broker for as long as it takes (never exit because Redis was down a while).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "ingest"
# Named queues: CPU-heavy conversion on "media" so identification and replication never wait behind it.
CELERY_TASK_ROUTES = {
    "preservation.ingest": {"queue": "ingest"},
    "preservation.process": {"queue": "media"},
    "preservation.package": {"queue": "ingest"},
    "preservation.replicate": {"queue": "replication"},
    "preservation.sweep": {"queue": "ingest"},
    "preservation.audit": {"queue": "replication"},
    "archive.record_due_embargoes": {"queue": "ingest"},
    "archive.prune_iiif_cache": {"queue": "ingest"},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "sweep-under-replicated": {
        "task": "preservation.sweep",
        "schedule": float(env("ARCHIVE_SWEEP_INTERVAL", "60")),
    },
    "fixity-audit": {
        "task": "preservation.audit",
        "schedule": float(env("ARCHIVE_AUDIT_INTERVAL", str(6 * 3600))),
    },
    "public-change-log-embargoes": {"task": "archive.record_due_embargoes", "schedule": 3600.0},
    "prune-iiif-cache": {"task": "archive.prune_iiif_cache", "schedule": 3600.0},
}

# --- Preservation -----------------------------------------------------------------------------
ARCHIVE_MAX_IMAGE_PIXELS = env_int("ARCHIVE_MAX_IMAGE_PIXELS", 200_000_000)
ARCHIVE_MAX_UPLOAD_BYTES = env_int("ARCHIVE_MAX_UPLOAD_BYTES", 20 * 1024**3)
# CSV metadata imports (archive/curation/csv_io.py) larger than this are refused before parsing.
ARCHIVE_CSV_MAX_BYTES = env_int("ARCHIVE_CSV_MAX_BYTES", 20 * 1024**2)
ARCHIVE_MIN_COPIES = env_int("ARCHIVE_MIN_COPIES", 2)
# A worker writing an object to a store holds that (object, store) for this long; a worker killed mid-write
# blocks that copy until it expires. Keep it above the longest single version write.
ARCHIVE_REPLICATION_LEASE_SECONDS = env_int("ARCHIVE_REPLICATION_LEASE_SECONDS", 600)
# Format keys processed on the "heavy" queue (run a worker with -Q heavy, concurrency sized to memory).
ARCHIVE_HEAVY_FORMATS = {"mesh", "pointcloud"}
# An OBJ or glTF whose MTL/textures are uploaded as separate files waits this long for them.
ARCHIVE_COMPANION_WAIT_SECONDS = env_int("ARCHIVE_COMPANION_WAIT_SECONDS", 600)
# Free space kept on the staging disk: an upload that would eat into it is refused before any byte.
ARCHIVE_STAGING_RESERVE_BYTES = env_int("ARCHIVE_STAGING_RESERVE_BYTES", 1024**3)
# Constructor options of each processor (preservation/processors/registry.py), by format key.
ARCHIVE_PROCESSORS = {
    "image": {
        "access_long_side": env_int("ARCHIVE_ACCESS_MAX_PX", 2048),
        "thumbnail_long_side": env_int("ARCHIVE_THUMBNAIL_MAX_PX", 256),
        "access_format": env("ARCHIVE_ACCESS_FORMAT", "jpeg"),
        # None = uncompressed TIFF masters (readable by any TIFF reader, fastest); "zlib" = Deflate.
        "master_compression": env("ARCHIVE_MASTER_COMPRESSION") or None,
    },
    "mesh": {
        "web_max_triangles": env_int("ARCHIVE_WEB_MAX_TRIANGLES", 500_000),
        "web_max_points": env_int("ARCHIVE_WEB_MAX_POINTS", 2_000_000),
        "max_vertices": env_int("ARCHIVE_MAX_MESH_VERTICES", 50_000_000),
        "max_faces": env_int("ARCHIVE_MAX_MESH_FACES", 50_000_000),
        "max_points": env_int("ARCHIVE_MAX_POINTS", 200_000_000),
    },
}
ARCHIVE_PROCESSORS["pointcloud"] = ARCHIVE_PROCESSORS["mesh"]
ARCHIVE_OCFL_ID_PREFIX = env("ARCHIVE_OCFL_ID_PREFIX", "urn:heritage-archive:")
# Retries of a task that meets an unreachable store; the sweeper takes over after them.
ARCHIVE_TASK_MAX_RETRIES = env_int("ARCHIVE_TASK_MAX_RETRIES", 6)
ARCHIVE_TASK_RETRY_BACKOFF_MAX = env_int("ARCHIVE_TASK_RETRY_BACKOFF_MAX", 600)
# Work left in a non-final state longer than this is re-queued by the sweeper.
ARCHIVE_STUCK_AFTER_SECONDS = env_int("ARCHIVE_STUCK_AFTER_SECONDS", 900)
# A file whose processing killed the worker this many times (memory, a crashing decoder) is quarantined
# instead of being delivered to yet another worker.
ARCHIVE_MAX_KILLED_RUNS = env_int("ARCHIVE_MAX_KILLED_RUNS", 3)
# Fixity: each scheduled audit re-hashes replicas due under ARCHIVE_POLICY, at most this fast per worker.
ARCHIVE_AUDIT_MB_PER_S = float(env("ARCHIVE_AUDIT_MB_PER_S", "50"))
# Replication and audit policy by threat level (0 none .. 4 critical): verified copies required, distinct
# store jurisdictions required, and how often every replica is re-hashed. ARCHIVE_POLICY (JSON, same shape,
# keys as strings) replaces it; a level missing there falls back to the nearest lower level defined.
ARCHIVE_POLICY = {
    0: {"copies": 2, "jurisdictions": 1, "audit_every_days": 90},
    1: {"copies": 2, "jurisdictions": 1, "audit_every_days": 60},
    2: {"copies": 3, "jurisdictions": 2, "audit_every_days": 30},
    3: {"copies": 3, "jurisdictions": 2, "audit_every_days": 14},
    4: {"copies": 3, "jurisdictions": 2, "audit_every_days": 7},
}
if env("ARCHIVE_POLICY"):
    ARCHIVE_POLICY = {int(level): rule for level, rule in json.loads(env("ARCHIVE_POLICY")).items()}
# The map sends at most this many single points for the area shown; more are grouped into clusters.
ARCHIVE_MAP_MAX_POINTS = env_int("ARCHIVE_MAP_MAX_POINTS", 2000)
# Facet and home-page counts shown to anonymous visitors are computed at most this often (seconds; 0: always).
ARCHIVE_ANONYMOUS_CACHE_SECONDS = env_int("ARCHIVE_ANONYMOUS_CACHE_SECONDS", 60)
# Unfinished uploads untouched this long are removed (their partial file too) by the sweeper.
ARCHIVE_UPLOAD_EXPIRY_DAYS = env_int("ARCHIVE_UPLOAD_EXPIRY_DAYS", 7)
# Longest validity (days) a curator may give a share link to one object for one researcher.
ARCHIVE_SHARE_MAX_DAYS = env_int("ARCHIVE_SHARE_MAX_DAYS", 90)
# Background tiles of the public map (/map/), a Leaflet URL template; empty = no tiles (offline installs:
# markers on a plain background). The attribution is HTML shown under the map.
ARCHIVE_MAP_TILE_URL = env("ARCHIVE_MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
ARCHIVE_MAP_ATTRIBUTION = env(
    "ARCHIVE_MAP_ATTRIBUTION", '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)

_ALL_LEVELS = ["public", "community", "restricted"]


def _default_stores() -> list[dict]:
    return [
        {
            "name": name,
            "backend": "preservation.stores.local.LocalStore",
            "options": {"root": str(MEDIA_ROOT / "stores" / name), "create": True},
            "jurisdiction": "local",
            "access_levels": _ALL_LEVELS,
        }
        for name in ("local-a", "local-b")
    ]


# ARCHIVE_STORES: a JSON list of {"name", "backend", "options", "jurisdiction", "access_levels"};
# ARCHIVE_STORES_FILE names a file holding the same JSON (keeps S3 secrets out of the environment).
ARCHIVE_STORES = json.loads(env("ARCHIVE_STORES")) if env("ARCHIVE_STORES") else _default_stores()

# --- REST API (archive/interop/api/) ---------------------------------------------------------- begin API block
# Pages of objects, files and events: this many rows unless the client asks (?page_size=) for up to the maximum.
ARCHIVE_API_PAGE_SIZE = env_int("ARCHIVE_API_PAGE_SIZE", 50)
ARCHIVE_API_MAX_PAGE_SIZE = env_int("ARCHIVE_API_MAX_PAGE_SIZE", 200)
# Rate limits ("number/period", period s, min, hour or day; empty: unlimited) per address for anonymous callers,
# per user for token or session users, and per user again for writes (create, change, upload, publish).
ARCHIVE_API_ANON_RATE = env("ARCHIVE_API_ANON_RATE", "120/min") or None
ARCHIVE_API_USER_RATE = env("ARCHIVE_API_USER_RATE", "1200/min") or None
ARCHIVE_API_WRITE_RATE = env("ARCHIVE_API_WRITE_RATE", "300/min") or None
# The Django cache alias holding the rate-limit counters (use a shared cache when running several web processes).
ARCHIVE_API_THROTTLE_CACHE = env("ARCHIVE_API_THROTTLE_CACHE", "default")
# Proxies in front of the web server that append to X-Forwarded-For (empty: use REMOTE_ADDR as is).
ARCHIVE_API_NUM_PROXIES = env_int("ARCHIVE_API_NUM_PROXIES", 0) if env("ARCHIVE_API_NUM_PROXIES") else None
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # the browsable API; enforces CSRF on writes
    ],
    # Who sees which object is archive.access's answer, applied by every queryset of the API.
    "DEFAULT_PERMISSION_CLASSES": ["archive.interop.api.permissions.ReadOrCuratorWrites"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "archive.interop.api.pagination.ArchivePagination",
    "DEFAULT_THROTTLE_CLASSES": [
        "archive.interop.api.throttling.AnonymousRate",
        "archive.interop.api.throttling.UserRate",
        "archive.interop.api.throttling.WriteRate",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "api_anon": ARCHIVE_API_ANON_RATE,
        "api_user": ARCHIVE_API_USER_RATE,
        "api_write": ARCHIVE_API_WRITE_RATE,
    },
    "NUM_PROXIES": ARCHIVE_API_NUM_PROXIES,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Heritage Archive API",
    "DESCRIPTION": (
        "Read the catalogue of the Heritage Archive (objects, their files, communities and collections) as any "
        "visitor, member or curator may see it, and, as a curator with a token, create objects, upload files and "
        "publish. Send `Authorization: Token <key>`; tokens come from `manage.py api_token <username>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ObjectStatusEnum": "archive.models.vocabularies.Status",
        "AccessLevelEnum": "archive.models.vocabularies.AccessLevel",
        "AssetRoleEnum": "archive.models.heritage_object.Asset.Role",
        "AssetStatusEnum": "archive.models.heritage_object.Asset.State",
        "ReplicaStateEnum": "preservation.models.Replica.State",
        "ProcessingStateEnum": "preservation.models.ProcessingJob.State",
        "EventTypeEnum": "preservation.models.PreservationEvent.Type",
        "EventOutcomeEnum": "preservation.models.PreservationEvent.Outcome",
    },
}
# ------------------------------------------------------------------------------------------------ end API block

# --- Shared cache -------------------------------------------------------------------------------------
# API rate limits and anonymous page counts live in Django's cache: per process by default (embedded); set
# ARCHIVE_CACHE_URL (e.g. redis://host:6379/2) so every web process shares one count.
if env("ARCHIVE_CACHE_URL"):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env("ARCHIVE_CACHE_URL")}
    }

# --- Interoperability (archive/interop/, preservation/packaging/) ----------------------------------------
# The archive's name as harvesters, bags and METS documents give it (OAI-PMH repositoryName, EDM provider,
# bag Source-Organization, METS agent).
ARCHIVE_NAME = env("ARCHIVE_NAME", "Heritage Archive")
ARCHIVE_OAI_REPOSITORY_NAME = env("ARCHIVE_OAI_REPOSITORY_NAME", ARCHIVE_NAME)
ARCHIVE_OAI_PROVIDER = env("ARCHIVE_OAI_PROVIDER", ARCHIVE_NAME)
# oai:<namespace>:<identifier>; empty: the host of ARCHIVE_SITE_URL. Never change it once harvested.
ARCHIVE_OAI_NAMESPACE = env("ARCHIVE_OAI_NAMESPACE")
ARCHIVE_OAI_ADMIN_EMAILS = [e.strip() for e in env("ARCHIVE_OAI_ADMIN_EMAILS").split(",") if e.strip()]
ARCHIVE_OAI_PAGE_SIZE = env_int("ARCHIVE_OAI_PAGE_SIZE", 100)
ARCHIVE_OAI_TOKEN_SECONDS = env_int("ARCHIVE_OAI_TOKEN_SECONDS", 86400)
ARCHIVE_FEED_PAGE_SIZE = env_int("ARCHIVE_FEED_PAGE_SIZE", 100)
# Rendered IIIF images: browser cache lifetime of public ones, and the disk cache's size (pruned hourly).
ARCHIVE_IIIF_CACHE_SECONDS = env_int("ARCHIVE_IIIF_CACHE_SECONDS", 3600)
ARCHIVE_IIIF_CACHE_MAX_BYTES = env_int("ARCHIVE_IIIF_CACHE_MAX_BYTES", 5 * 1024**3)
# BagIt imports with more payload files than this are refused before anything is extracted.
ARCHIVE_BAG_MAX_FILES = env_int("ARCHIVE_BAG_MAX_FILES", 10_000)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", "INFO")},
}

# --- Web security (deployment checklist, headers, cookies, login limits) ------------------ begin security block
# `DJANGO_DEBUG=0 python manage.py check --deploy` lists what a deployment still lacks (README "Security").
if not DEBUG and SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "DJANGO_DEBUG=0 (production) with the embedded development SECRET_KEY, which anyone can read in the "
        "source: set DJANGO_SECRET_KEY, or DJANGO_SECRET_KEY_FILE naming a file that holds it (generate one with "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )
# Earlier keys still accepted for existing sessions and signed links while a new key rolls out (comma-separated).
SECRET_KEY_FALLBACKS = [k.strip() for k in env("DJANGO_SECRET_KEY_FALLBACKS").split(",") if k.strip()]

# HTTPS: on by default in production. DJANGO_HTTPS=0 only for a site reached over plain HTTP (a first look with
# docker compose, a production-like test server on loopback); `check --deploy` then says what that gives up.
ARCHIVE_HTTPS = env_bool("DJANGO_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", ARCHIVE_HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers and orchestrators probe over plain HTTP
# Behind a proxy that terminates TLS: the header it sets to "https" (e.g. X-Forwarded-Proto). The proxy must
# always set or overwrite it, or a client could claim HTTPS itself.
_proxy_ssl_header = env("DJANGO_SECURE_PROXY_SSL_HEADER").strip()
_proxy_ssl_header = _proxy_ssl_header.upper().replace("-", "_").removeprefix("HTTP_")
SECURE_PROXY_SSL_HEADER = (f"HTTP_{_proxy_ssl_header}", "https") if _proxy_ssl_header else None
# Strict-Transport-Security (sent on HTTPS responses only): one year; preload only once the host is ready for
# the browsers' preload list (https://hstspreload.org), as it is hard to undo.
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 365 * 24 * 3600 if ARCHIVE_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)

# Cookies: never sent over plain HTTP in production, never readable by scripts (upload.js takes the CSRF token
# from the page), not sent with cross-site subrequests or POSTs.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = ARCHIVE_HTTPS
SESSION_COOKIE_HTTPONLY = CSRF_COOKIE_HTTPONLY = LANGUAGE_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = LANGUAGE_COOKIE_SAMESITE = "Lax"

# Headers. Django's SecurityMiddleware sends these four; archive/security.py adds Content-Security-Policy and
# Permissions-Policy. The referrer policy sends only our origin to other sites: share links (/s/<token>/) are
# credentials and never leave in a Referer, while tile servers still learn which site asks.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = env("DJANGO_SECURE_REFERRER_POLICY", "strict-origin-when-cross-origin")
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Where browsers report Content-Security-Policy violations (a URL; empty: not reported).
ARCHIVE_CSP_REPORT_URI = env("ARCHIVE_CSP_REPORT_URI")

# Log-in limits (archive/login_limits.py) on /accounts/login/ and the admin's log-in: after this many failed
# attempts within the window, an account, or a client address (IPv6: its /64), is refused (429) until the window
# that began with the first failure ends. 0 turns a limit off. Counted in the cache ARCHIVE_LOGIN_CACHE (a shared
# one, ARCHIVE_CACHE_URL, when several web processes run); client addresses as ARCHIVE_API_NUM_PROXIES says.
ARCHIVE_LOGIN_MAX_FAILURES = env_int("ARCHIVE_LOGIN_MAX_FAILURES", 5)
ARCHIVE_LOGIN_MAX_FAILURES_PER_ADDRESS = env_int("ARCHIVE_LOGIN_MAX_FAILURES_PER_ADDRESS", 20)
ARCHIVE_LOGIN_WINDOW_SECONDS = env_int("ARCHIVE_LOGIN_WINDOW_SECONDS", 15 * 60)
ARCHIVE_LOGIN_CACHE = env("ARCHIVE_LOGIN_CACHE", "default")
# ------------------------------------------------------------------------------------------- end security block
