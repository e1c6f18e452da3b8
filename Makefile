# Heritage Archive: every routine task, from a fresh clone.  `make help` lists the targets.
#
# Variables (override on the command line, e.g. `make test SERVICES_BROKER_URL=redis://127.0.0.1:6379/9`):
#   PYTHON311              interpreter for a new .venv (default: python3.11 on PATH, else ~/.pyenv/versions/3.11*)
#   SERVICES_DATABASE_URL  PostgreSQL for `make test`'s services run and `make bench`
#   SERVICES_BROKER_URL    Redis for the same
#   PYTEST_ARGS            extra pytest arguments for both runs (e.g. PYTEST_ARGS="-x -k fixity")
#   HOST, PORT             where `make demo` serves (default 127.0.0.1:8000)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed-pyproject
PYTHON311 ?= $(shell command -v python3.11 2>/dev/null || ls -d $$HOME/.pyenv/versions/3.11*/bin/python3.11 2>/dev/null | tail -n 1)

SERVICES_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/heritage
SERVICES_BROKER_URL   ?= redis://127.0.0.1:6379/14
PYTEST_ARGS ?=

# The embedded defaults (SQLite, filesystem broker, local stores), whatever the calling shell has set.
EMBEDDED_ENV := env -u DATABASE_URL -u DATABASE_URL_FILE -u CELERY_BROKER_URL -u CELERY_BROKER_URL_FILE \
                    -u ARCHIVE_STORES -u ARCHIVE_STORES_FILE
SERVICES_ENV := $(EMBEDDED_ENV) DATABASE_URL=$(SERVICES_DATABASE_URL) CELERY_BROKER_URL=$(SERVICES_BROKER_URL)

.PHONY: help venv system-deps services test demo lint format bench i18n clean clean-media distclean

help:
	@echo "make venv         .venv with python3.11 and '.[test]' (re-installs when pyproject.toml changes)"
	@echo "make system-deps  Debian packages that are missing (libmagic1, gettext, PostgreSQL, Redis)"
	@echo "make services     start PostgreSQL and Redis if they do not answer; create database 'heritage'"
	@echo "make test         ruff, then pytest -m 'not services' (embedded), then pytest -m services"
	@echo "make demo         embedded demo: demo data, a Celery worker and the portal on http://127.0.0.1:8000"
	@echo "make lint         ruff check + ruff format --check"
	@echo "make format       ruff format + ruff check --fix"
	@echo "make bench        benchmarks/ingest.py against PostgreSQL and Redis"
	@echo "make bench-mesh   benchmarks/mesh.py: 1M and 5M triangles against the bare libraries"
	@echo "make bench-audit  benchmarks/audit.py: fixity audit of 1 GB on three stores, against raw SHA-256"
	@echo "make bench-portal benchmarks/portal.py: 100,000 objects; search, object pages, map under load vs a static file"
	@echo "make soak         benchmarks/soak.py: 3000 photos + 30 meshes via tus and the API while workers and Redis die"
	@echo "make i18n         update the fr and en message catalogues (locale/) from the code, then compile them"
	@echo "make clean        caches and build output (keeps .venv and media/)"
	@echo "make clean-media  the embedded demo's state under media/ (database, stores, broker, logs)"
	@echo "make distclean    clean + clean-media + .venv"

# --- environment ------------------------------------------------------------------------------------

venv: $(STAMP)

# The stamp is newer than pyproject.toml once its dependencies are installed.
$(STAMP): pyproject.toml
	@if ! $(BIN)/python -c '' 2>/dev/null; then \
	    py="$(PYTHON311)"; \
	    if [ -z "$$py" ]; then \
	        echo "venv: python3.11 not found on PATH or in ~/.pyenv/versions; set PYTHON311=/path/to/python3.11" >&2; \
	        exit 1; \
	    fi; \
	    echo "==> creating $(VENV) with $$py"; \
	    rm -rf $(VENV); \
	    "$$py" -m venv $(VENV); \
	fi
	@echo "==> installing '.[test]' into $(VENV)"
	@$(BIN)/python -m pip install -qq --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install -qq --disable-pip-version-check -e '.[test]'
	@# iiif-prezi3 pins Pillow<=12 and would downgrade ours (DESIGN §10): validation only, without its pins.
	@$(BIN)/python -m pip install -qq --disable-pip-version-check --no-deps 'iiif-prezi3>=3.1'
	@$(BIN)/python scripts/test_schemas.py
	@touch $@

system-deps:
	@bash scripts/system-deps.sh

services:
	@bash scripts/services.sh

# --- checks -----------------------------------------------------------------------------------------

test: venv system-deps services
	@echo "==> ruff check ."
	@$(BIN)/ruff check .
	@echo "==> pytest -m 'not services'  (embedded: SQLite, filesystem broker, local stores)"
	@$(EMBEDDED_ENV) $(BIN)/pytest -m "not services" $(PYTEST_ARGS)
	@echo "==> pytest -m services  (DATABASE_URL=$(SERVICES_DATABASE_URL) CELERY_BROKER_URL=$(SERVICES_BROKER_URL))"
	@status=0; $(SERVICES_ENV) $(BIN)/pytest -m services $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then \
	    if grep -rqE --include='*.py' "mark\.services|add_marker\(.?services" tests; then \
	        echo "FAIL: tests use the 'services' marker, yet pytest collected none of them (exit 5)" >&2; \
	        exit 1; \
	    fi; \
	    echo "OK: no tests are marked 'services' yet; the services run had nothing to do (pytest exit 5 accepted)"; \
	    exit 0; \
	fi; \
	exit $$status

lint: venv
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

format: venv
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

# `make bench BENCH_ARGS="--photos 4 --rounds 1 --json"` (options: benchmarks/README.md). The benchmark makes
# its own database (heritage_bench on the SERVICES_DATABASE_URL server, dropped afterwards) and uses its own
# Redis db (BENCH_BROKER_URL, flushed before and after), so the data of `make test` and `make demo` is never
# touched. A second run against the same server is refused while the first one runs.
BENCH_ARGS ?=
BENCH_BROKER_URL ?= redis://127.0.0.1:6379/12

bench: venv system-deps services
	@echo "==> benchmarks/ingest.py $(BENCH_ARGS)  (PostgreSQL database heritage_bench, Redis $(BENCH_BROKER_URL))"
	@$(EMBEDDED_ENV) $(BIN)/python benchmarks/ingest.py --postgres '$(SERVICES_DATABASE_URL)' \
	    --redis '$(BENCH_BROKER_URL)' $(BENCH_ARGS)

# `make bench-mesh BENCH_MESH_ARGS="--sizes 1000000 --json"` (options: benchmarks/README.md). No services;
# about 0.3 GB in the temporary folder and 5 GB of memory at the default 5M triangles.
.PHONY: bench-mesh
BENCH_MESH_ARGS ?=

bench-mesh: venv system-deps
	@echo "==> benchmarks/mesh.py $(BENCH_MESH_ARGS)"
	@$(BIN)/python benchmarks/mesh.py $(BENCH_MESH_ARGS)

# `make bench-audit BENCH_AUDIT_ARGS="--stores s3 --json"` (options: benchmarks/README.md). No services: the
# embedded settings on a SQLite database and three stores (local folders, or rclone S3 servers with --stores s3)
# in a temporary folder, removed afterwards; about 3.1 GB there for each GB of --gb (default 1).
.PHONY: bench-audit
BENCH_AUDIT_ARGS ?=

bench-audit: venv system-deps
	@echo "==> benchmarks/audit.py $(BENCH_AUDIT_ARGS)"
	@$(EMBEDDED_ENV) $(BIN)/python benchmarks/audit.py $(BENCH_AUDIT_ARGS)

# `make bench-portal BENCH_PORTAL_ARGS="--objects 10000 --seconds 5 --json"` (options: benchmarks/README.md). The
# benchmark makes its own database (heritage_bench_portal_<pid> on the SERVICES_DATABASE_URL server, dropped
# afterwards) and runs gunicorn on a free loopback port; no Redis. About 0.7 GB in PostgreSQL and 5 minutes here.
.PHONY: bench-portal
BENCH_PORTAL_ARGS ?=

bench-portal: venv system-deps services
	@echo "==> benchmarks/portal.py $(BENCH_PORTAL_ARGS)  (PostgreSQL database heritage_bench_portal_<pid>)"
	@$(EMBEDDED_ENV) $(BIN)/python benchmarks/portal.py --database-url '$(SERVICES_DATABASE_URL)' $(BENCH_PORTAL_ARGS)

# `make soak SOAK_ARGS="--photos 1000 --meshes 10 --json"` (options: benchmarks/README.md, "Soak"). Private stack on
# loopback ports: its own PostgreSQL cluster and append-only Redis (restarted and crashed on purpose), two rclone S3
# servers, a local store, gunicorn, beat and workers (SIGKILLed on purpose); the machine's PostgreSQL and Redis are
# never touched, only their binaries are needed. Exit status 1 when a file is lost, duplicated or not verified.
.PHONY: soak
SOAK_ARGS ?=

soak: venv system-deps
	@echo "==> benchmarks/soak.py $(SOAK_ARGS)  (private PostgreSQL, Redis, S3 servers, gunicorn, beat, workers)"
	@$(EMBEDDED_ENV) $(BIN)/python benchmarks/soak.py $(SOAK_ARGS)

# --- translations -----------------------------------------------------------------------------------

# The interface's message catalogues: locale/<lang>/LC_MESSAGES/django.po and the compiled django.mo, both
# committed (a deployment without gettext still has translations). `make i18n` extracts every string marked
# for translation in templates/ and the Python code (GNU gettext: make system-deps); a new or changed French
# entry comes out empty or "#, fuzzy": translate it in locale/fr/LC_MESSAGES/django.po (and remove the fuzzy
# flag), then run `make i18n` again. English entries are filled with their msgid (msgen).
I18N_LANGUAGES := fr en
I18N_IGNORE    := --ignore=.venv --ignore=media --ignore=test-artifacts --ignore=static/vendor
I18N_OPTIONS   := --no-wrap --add-location=file --no-obsolete

i18n: venv
	@command -v xgettext >/dev/null 2>&1 || { echo "i18n: GNU gettext is missing; run make system-deps" >&2; exit 1; }
	@echo "==> makemessages $(I18N_LANGUAGES:%=-l %)"
	@$(EMBEDDED_ENV) $(BIN)/python manage.py makemessages $(I18N_LANGUAGES:%=-l %) $(I18N_IGNORE) $(I18N_OPTIONS)
	@po=locale/en/LC_MESSAGES/django.po; \
	    msgattrib --no-wrap --clear-fuzzy --empty --clear-previous -o "$$po" "$$po"; \
	    msgen --no-wrap -o "$$po" "$$po"
	@echo "==> compilemessages"
	@$(EMBEDDED_ENV) $(BIN)/python manage.py compilemessages $(I18N_IGNORE)
	@for lang in $(I18N_LANGUAGES); do \
	    stats=$$(LC_ALL=C msgfmt --statistics -o /dev/null "locale/$$lang/LC_MESSAGES/django.po" 2>&1); \
	    echo "$$lang: $$stats"; \
	    if echo "$$stats" | grep -Eq '(fuzzy|untranslated)'; then \
	        echo "i18n: $$lang has entries to translate (empty or fuzzy): edit locale/$$lang/LC_MESSAGES/django.po" \
	            "(remove '#, fuzzy' once checked), then run make i18n again" >&2; \
	    fi; \
	done

# --- running ----------------------------------------------------------------------------------------

demo: venv system-deps
	@bash scripts/demo.sh

# --- cleaning ---------------------------------------------------------------------------------------

clean:
	rm -rf staticfiles .pytest_cache .ruff_cache benchmarks/out build dist ./*.egg-info
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +

clean-media:
	find media -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf {} +

distclean: clean clean-media
	rm -rf $(VENV)
