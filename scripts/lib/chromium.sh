# shellcheck shell=bash
#
# chromium_ensure: make Debian's Chromium and its WebDriver (chromedriver)
# available for the browser tests, installing them with apt when run as root.
# Returns non-zero with the reason in CHROMIUM_ERROR; the caller decides
# whether that is fatal (CI) or a skip (laptop). The tests find them at
# LOGICRM_CHROMIUM and LOGICRM_CHROMEDRIVER (default /usr/bin/chromium and
# /usr/bin/chromedriver).

# shellcheck source=scripts/lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

CHROMIUM_ERROR=""

chromium_ensure() {
    local browser=${LOGICRM_CHROMIUM:-/usr/bin/chromium} driver=${LOGICRM_CHROMEDRIVER:-/usr/bin/chromedriver}
    if [[ -x $browser && -x $driver ]]; then
        return 0
    fi
    if ! apt_available; then
        CHROMIUM_ERROR="$browser or $driver not found (as root: apt-get install chromium chromium-driver)"
        return 1
    fi
    echo "==> Chromium not found; installing chromium and chromium-driver with apt-get ..." >&2
    apt_install chromium chromium-driver || { CHROMIUM_ERROR=$APT_ERROR; return 1; }
    if [[ ! -x $browser || ! -x $driver ]]; then
        CHROMIUM_ERROR="installed, yet $browser or $driver is missing"
        return 1
    fi
}
