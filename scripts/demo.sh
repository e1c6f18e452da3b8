#!/usr/bin/env bash
# The embedded demo: no servers needed. SQLite, two local OCFL stores and a filesystem Celery broker,
# all under media/ (or $ARCHIVE_MEDIA_ROOT).
#
#   1. migrate, collectstatic
#   2. load_demo: the demo community/collection/objects from demo/photos/manifest.json, processed
#      in-process, and a curator login (printed)
#   3. a Celery worker with the beat sweeper (-B) in the background, logging to media/worker.log
#   4. the web server in the foreground; Ctrl-C stops both
#
#   HOST, PORT   where the web server listens (default 127.0.0.1:8000)
#   PYTHON       the interpreter (default .venv/bin/python); run `make venv` first
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
PY=${PYTHON:-$ROOT/.venv/bin/python}
CELERY=$(dirname "$PY")/celery

if [[ ! -x "$PY" || ! -x "$CELERY" ]]; then
    echo "demo: $PY (with celery beside it) not found; run 'make venv' or 'make demo'" >&2
    exit 1
fi

# Embedded mode on purpose: ignore a services configuration left in this shell.
unset DATABASE_URL DATABASE_URL_FILE CELERY_BROKER_URL CELERY_BROKER_URL_FILE \
    ARCHIVE_STORES ARCHIVE_STORES_FILE CELERY_TASK_ALWAYS_EAGER
MEDIA=${ARCHIVE_MEDIA_ROOT:-$ROOT/media}
mkdir -p "$MEDIA"

case "$HOST" in
    0.0.0.0 | :: | "[::]") default_hosts="*" ;;  # reachable by any name: accept any (demo only)
    *) default_hosts="127.0.0.1,localhost,$HOST" ;;
esac
export DJANGO_ALLOWED_HOSTS=${DJANGO_ALLOWED_HOSTS:-$default_hosts}
url_host=$HOST
[[ "$HOST" == "0.0.0.0" || "$HOST" == "::" || "$HOST" == "[::]" ]] && url_host=127.0.0.1
export ARCHIVE_SITE_URL=${ARCHIVE_SITE_URL:-http://$url_host:$PORT}

echo "==> migrate"
"$PY" manage.py migrate --noinput
echo "==> collectstatic"
"$PY" manage.py collectstatic --noinput
echo "==> load_demo"
"$PY" manage.py load_demo | tee "$MEDIA/load_demo.log"

# load_demo ends with a line naming the logins and their password, e.g.
# "Logins (password heritage-demo-2026): curator (...), member (...), admin (staff)."
login_line=$(grep -iE 'login' "$MEDIA/load_demo.log" | tail -n 1 || true)
password=$(sed -nE 's/.*[Pp]assword[[:space:]:]+([^[:space:]),;]+).*/\1/p' <<<"$login_line")
if [[ -n "$password" ]]; then
    login="curator / $password"
else
    login=${login_line:-see the load_demo output above}
fi

worker_pid=""
web_pid=""
stop_all() {
    if [[ -n "$web_pid" ]] && kill -0 "$web_pid" 2>/dev/null; then
        kill -TERM "$web_pid" 2>/dev/null || true
        wait "$web_pid" 2>/dev/null || true
    fi
    if [[ -n "$worker_pid" ]] && kill -0 "$worker_pid" 2>/dev/null; then
        echo "==> stopping the Celery worker (pid $worker_pid; running tasks finish first)"
        kill -TERM "$worker_pid" 2>/dev/null || true
        for _ in $(seq 1 60); do
            kill -0 "$worker_pid" 2>/dev/null || break
            sleep 0.5
        done
        # Still there after 30 s: end its whole process group (the pool and beat children).
        kill -KILL -- "-$worker_pid" 2>/dev/null || true
    fi
    worker_pid=""
    web_pid=""
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "==> Celery worker + beat (log: $MEDIA/worker.log)"
# setsid: its own session and process group, so a Ctrl-C in the terminal does not reach it; the trap
# stops it after the web server (warm shutdown: running tasks finish, late acks keep the rest queued).
setsid "$CELERY" -A config worker -B -Q ingest,media,heavy,replication --concurrency 2 --loglevel INFO \
    --schedule "$MEDIA/celerybeat-schedule" >"$MEDIA/worker.log" 2>&1 </dev/null &
worker_pid=$!

# Wait (up to 60 s) for the worker to say it is ready; stop early if it dies.
for _ in $(seq 1 120); do
    if ! kill -0 "$worker_pid" 2>/dev/null; then
        echo "demo: the Celery worker exited; the end of $MEDIA/worker.log:" >&2
        tail -n 30 "$MEDIA/worker.log" >&2
        worker_pid=""
        exit 1
    fi
    grep -q "ready\." "$MEDIA/worker.log" 2>/dev/null && break
    sleep 0.5
done
grep -q "ready\." "$MEDIA/worker.log" 2>/dev/null \
    || echo "demo: the worker is still starting; see $MEDIA/worker.log"

echo
echo "Heritage Archive: http://$url_host:$PORT  (curator login: $login)"
echo
# In the background and waited for, so that Ctrl-C or a TERM sent to this script runs the trap at
# once, which stops the web server and then the worker.
"$PY" manage.py runserver "$HOST:$PORT" --noreload &
web_pid=$!
wait "$web_pid"
