#!/usr/bin/env bash
# Debian packages the archive needs beside its Python packages.
#
# Installs only what is missing, and only when it can (root + apt-get). Otherwise it prints the
# command to run and exits 0, so `make test` still goes on to tell what actually fails.
#
#   libmagic1          python-magic's MIME identification
#   gettext            xgettext, msgmerge, msgfmt, msgen: `make i18n` (makemessages, compilemessages) and
#                      tests/test_i18n.py, which checks that every interface string is translated into French
#   libusb-1.0-0       needed by Open3D (open3d-cpu) to import at all
#   libvulkan1 mesa-vulkan-drivers libegl1 libgl1
#                      headless rendering of 3D thumbnails (software Vulkan / OpenGL, no GPU or display)
#   chromium chromium-driver
#                      the browser tests (tests/browser/, Selenium driving headless Chromium through
#                      /usr/bin/chromedriver; nothing downloads a browser of its own)
#   postgresql(-client) and redis-server/redis-tools
#                      the services mode and `make test`'s second pytest run (scripts/services.sh
#                      uses pg_ctlcluster, pg_isready, psql, redis-server and redis-cli)
#
# More packages (e.g. libusb-1.0-0 for Open3D, see DESIGN.md §10) go in PACKAGES below, or for one
# run in EXTRA_SYSTEM_PACKAGES="pkg1 pkg2".
set -euo pipefail

# Packages checked by name; then packages checked by the command they provide (a fresh machine has
# e.g. postgresql-client-15, not the postgresql-client metapackage, and that is enough).
PACKAGES=(libmagic1 gettext libusb-1.0-0 libvulkan1 mesa-vulkan-drivers libegl1 libgl1 chromium chromium-driver)
# shellcheck disable=SC2206  # word splitting of the extra list is intended
PACKAGES+=(${EXTRA_SYSTEM_PACKAGES:-})
COMMANDS=(pg_ctlcluster:postgresql pg_isready:postgresql-client psql:postgresql-client
    redis-server:redis-server redis-cli:redis-tools)

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "system-deps: not a Debian-like system; make sure these (or their equivalents) are installed:"
    echo "    ${PACKAGES[*]} ${COMMANDS[*]#*:}"
    exit 0
fi

missing=()
for package in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
    [[ "$status" == "installed" ]] || missing+=("$package")
done
for pair in "${COMMANDS[@]}"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
# shellcheck disable=SC2207  # package names have no spaces
missing=($(printf '%s\n' "${missing[@]}" | sort -u))

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "system-deps: all present (${PACKAGES[*]}, PostgreSQL and Redis tools)"
    exit 0
fi

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: missing ${missing[*]}; not root or no apt-get, so not installing. Run:"
    echo "    sudo apt-get install -y --no-install-recommends ${missing[*]}"
    exit 0
fi

echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_install() { apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null; }
if ! apt_install; then
    # A fresh machine's package lists may be stale or empty: refresh them once and retry.
    apt-get update -qq </dev/null
    apt_install
fi
