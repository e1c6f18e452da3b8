"""docker-compose.yml agrees with config/settings.py: no Docker engine needed, the file is only parsed.

Guards against the drift nobody notices until production: an env var the settings never read, a
database URL pointing at the wrong service, a store without its own volume, a staging folder the
worker cannot see.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("web", "worker", "beat")
ENV_READERS = {"env", "env_bool", "env_int"}
ACCESS_LEVELS = {"public", "community", "restricted"}
PLACEHOLDER = "set-at-deploy-time"


def interpolate(value: str) -> str:
    """Resolve compose's ${VAR:-default} / ${VAR-default} to the default, ${VAR:+alt} to "", and a
    required ${VAR:?message} or a bare ${VAR} to a placeholder: the file as read with no .env."""

    def resolve(match: re.Match) -> str:
        operator, argument = match.group(2), match.group(3)
        if operator in {":-", "-"}:
            return argument
        if operator in {":+", "+"}:
            return ""
        return PLACEHOLDER

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}", resolve, value)


def settings_env_names() -> set[str]:
    """Every NAME that config/settings.py reads through env()/env_bool()/env_int() or os.environ,
    plus NAME_FILE, which env() accepts for secrets."""
    tree = ast.parse((ROOT / "config" / "settings.py").read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in ENV_READERS | {"getenv"}:
            names.add(first.value)
        elif isinstance(func, ast.Attribute) and func.attr in {"get", "getenv"}:
            # os.environ.get("X") / os.getenv("X")
            names.add(first.value)
    return names | {f"{name}_FILE" for name in names}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def environment(service: dict) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {key: interpolate(str(value)) for key, value in raw.items()}


def named_volume_mounts(service: dict, compose: dict) -> dict[str, str]:
    """{target path: named volume} for the service's volumes that are declared named volumes."""
    declared = set(compose.get("volumes") or {})
    mounts = {}
    for entry in service.get("volumes") or []:
        if isinstance(entry, str):
            source, _, rest = entry.partition(":")
            target = rest.split(":", 1)[0]
        else:
            source, target = entry.get("source", ""), entry.get("target", "")
        if source in declared:
            mounts[target] = source
    return mounts


def command_words(service: dict) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(word) for word in command]


def service_by_image(services: dict, prefix: str) -> str:
    matches = [name for name, svc in services.items() if str(svc.get("image", "")).startswith(prefix)]
    assert len(matches) == 1, f"expected one service running a {prefix!r} image, found {matches}"
    return matches[0]


def test_settings_parser_finds_the_settings_env_vars():
    names = settings_env_names()
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SECRET_KEY", "ARCHIVE_STORES"} <= names


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_set_only_env_vars_the_settings_read(services, name):
    unknown = set(environment(services[name])) - settings_env_names()
    assert not unknown, f"{name} sets {sorted(unknown)}, which config/settings.py never reads"


def test_app_services_share_one_configuration(services):
    envs = [environment(services[name]) for name in APP_SERVICES]
    for key in ("DATABASE_URL", "CELERY_BROKER_URL", "ARCHIVE_STORES", "DJANGO_SECRET_KEY"):
        values = {env.get(key) for env in envs}
        assert len(values) == 1 and None not in values, f"{key} differs or is missing: {values}"


def test_production_settings_are_explicit(services):
    env = environment(services["web"])
    assert env["DJANGO_DEBUG"] in {"0", "false", "False"}
    assert env["DJANGO_ALLOWED_HOSTS"]
    assert env["DJANGO_SECRET_KEY"] == PLACEHOLDER, "the secret key must come from the deployment"


def test_database_url_points_at_the_postgres_service_with_its_credentials(services):
    postgres_name = service_by_image(services, "postgres")
    postgres_env = environment(services[postgres_name])
    url = urlsplit(environment(services["web"])["DATABASE_URL"])
    assert url.scheme in {"postgres", "postgresql"}
    assert url.hostname == postgres_name
    assert url.port in {None, 5432}
    assert url.username == postgres_env["POSTGRES_USER"]
    assert url.password == postgres_env["POSTGRES_PASSWORD"]
    assert url.path.lstrip("/") == postgres_env.get("POSTGRES_DB", postgres_env["POSTGRES_USER"])
    assert str(services[postgres_name]["image"]).startswith("postgres:16")


def test_postgres_keeps_its_data_in_a_named_volume(compose, services):
    postgres_name = service_by_image(services, "postgres")
    assert "/var/lib/postgresql/data" in named_volume_mounts(services[postgres_name], compose)


def test_broker_url_points_at_the_redis_service(services):
    redis_name = service_by_image(services, "redis")
    url = urlsplit(environment(services["worker"])["CELERY_BROKER_URL"])
    assert url.scheme == "redis"
    assert url.hostname == redis_name
    assert url.port in {None, 6379}


def test_redis_persists_its_queue(compose, services):
    redis = services[service_by_image(services, "redis")]
    words = command_words(redis)
    assert "--appendonly" in words and words[words.index("--appendonly") + 1] == "yes"
    assert "/data" in named_volume_mounts(redis, compose)


def test_two_s3_stores_each_a_service_with_its_own_volume(compose, services):
    stores = json.loads(environment(services["web"])["ARCHIVE_STORES"])
    assert len(stores) >= 2
    assert len({store["name"] for store in stores}) == len(stores)
    store_services, store_volumes = [], []
    for store in stores:
        assert store["backend"] == "preservation.stores.s3.S3Store"
        options = store["options"]
        assert {"endpoint_url", "bucket", "access_key", "secret_key"} <= set(options)
        assert store["jurisdiction"]
        assert set(store["access_levels"]) <= ACCESS_LEVELS
        host = urlsplit(options["endpoint_url"]).hostname
        assert host in services, f"store {store['name']} points at {host}, which is not a compose service"
        server_env = environment(services[host])
        assert options["access_key"] in server_env.values(), f"{host} does not know {store['name']}'s key"
        assert options["secret_key"] in server_env.values(), f"{host} does not know {store['name']}'s secret"
        volumes = set(named_volume_mounts(services[host], compose).values())
        assert volumes, f"{host} keeps its objects in no named volume"
        store_services.append(host)
        store_volumes.extend(volumes)
    assert len(set(store_services)) == len(store_services), "two stores share one S3 server"
    assert len(set(store_volumes)) == len(store_volumes), "two S3 servers share one volume"


def test_web_and_worker_share_the_media_volume(compose, services):
    media_root = environment(services["web"])["ARCHIVE_MEDIA_ROOT"]
    web = named_volume_mounts(services["web"], compose)
    worker = named_volume_mounts(services["worker"], compose)
    assert media_root in web and media_root in worker
    assert web[media_root] == worker[media_root]
    assert environment(services["worker"])["ARCHIVE_MEDIA_ROOT"] == media_root


def test_processes_run_what_the_design_says(services):
    web = " ".join(command_words(services["web"]))
    assert "gunicorn -c config/gunicorn.conf.py config.wsgi:application" in web
    worker = command_words(services["worker"])
    assert worker[:4] == ["celery", "-A", "config", "worker"]
    queues = worker[worker.index("-Q") + 1].split(",")
    assert set(queues) == {"ingest", "media", "replication"}
    assert command_words(services["beat"])[:4] == ["celery", "-A", "config", "beat"]


def test_app_services_are_built_from_the_dockerfile(services):
    assert (ROOT / "Dockerfile").is_file()
    for name in APP_SERVICES:
        build = services[name].get("build")
        context = build if isinstance(build, str) else (build or {}).get("context")
        assert context in {".", "./"}, f"{name} is not built from the repository's Dockerfile"
