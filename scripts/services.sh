#!/usr/bin/env bash
# Make sure the machine's PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) answer, and that the
# database `heritage` exists. Starts a service only if it does not answer, with the same commands the
# machine uses at boot, then waits for it. Safe to run any number of times.
#
#   SERVICES_WAIT_SECONDS  how long to wait for each service (default 60)
#   HERITAGE_DB            database to create if missing (default heritage)
set -euo pipefail

WAIT_SECONDS=${SERVICES_WAIT_SECONDS:-60}
DB_NAME=${HERITAGE_DB:-heritage}
export PGCONNECT_TIMEOUT=5

postgres_answers() { pg_isready -q -h 127.0.0.1 -p 5432; }
redis_answers() { [[ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" == "PONG" ]]; }

# wait_for NAME CHECK-FUNCTION: poll until the check passes or WAIT_SECONDS have gone by.
wait_for() {
    local name=$1 check=$2 deadline=$((SECONDS + WAIT_SECONDS))
    until "$check"; do
        if ((SECONDS >= deadline)); then
            echo "services: $name did not answer within ${WAIT_SECONDS}s" >&2
            return 1
        fi
        sleep 0.5
    done
}

for tool in pg_isready psql redis-cli; do
    command -v "$tool" >/dev/null || {
        echo "services: '$tool' not found; run scripts/system-deps.sh (as root) first" >&2
        exit 1
    }
done

if postgres_answers; then
    echo "services: PostgreSQL answers on 127.0.0.1:5432"
else
    echo "services: starting PostgreSQL"
    # shellcheck disable=SC2046  # the machine's own start command, verbatim
    pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start || true
    wait_for PostgreSQL postgres_answers || {
        echo "services: see /var/log/postgresql/ for the server's log" >&2
        exit 1
    }
    echo "services: PostgreSQL started"
fi

if redis_answers; then
    echo "services: Redis answers on 127.0.0.1:6379"
else
    echo "services: starting Redis"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
    wait_for Redis redis_answers || {
        echo "services: see /var/log/redis/ci.log for the server's log" >&2
        exit 1
    }
    echo "services: Redis started"
fi

db_exists() {
    [[ "$(psql -h 127.0.0.1 -U postgres -d postgres -Atc \
        "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" == "1" ]]
}
if db_exists; then
    echo "services: database '$DB_NAME' exists"
else
    # Another run may create it at the same moment: accept "already exists" by checking again.
    psql -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -qc "CREATE DATABASE \"$DB_NAME\"" \
        || db_exists
    echo "services: database '$DB_NAME' created"
fi
