# shellcheck shell=bash
#
# chromium_ensure: make Debian's Chromium and its WebDriver (chromedriver)
# available for the browser tests, installing them with apt when run as root.
# Returns non-zero with the reason in CHROMIUM_ERROR; the caller decides
# whether that is fatal (CI) or a skip (laptop). The tests find them at
# LOGICRM_CHROMIUM and LOGICRM_CHROMEDRIVER (default /usr/bin/chromium and
# /usr/bin/chromedriver).

CHROMIUM_ERROR=""

chromium_ensure() {
    local browser=${LOGICRM_CHROMIUM:-/usr/bin/chromium} driver=${LOGICRM_CHROMEDRIVER:-/usr/bin/chromedriver}
    local log rc=0
    if [[ -x $browser && -x $driver ]]; then
        return 0
    fi
    if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        CHROMIUM_ERROR="$browser or $driver not found (as root: apt-get install chromium chromium-driver)"
        return 1
    fi
    echo "==> Chromium not found; installing chromium and chromium-driver with apt-get ..." >&2
    log=$(mktemp) || { CHROMIUM_ERROR="mktemp failed"; return 1; }
    # Lock timeout: a fresh machine may still be running apt in the background.
    {
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -q &&
            DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q \
                --no-install-recommends chromium chromium-driver
    } >"$log" 2>&1 </dev/null || rc=$?
    if [[ $rc -ne 0 ]]; then
        tail -n 20 "$log" >&2
        rm -f "$log"
        CHROMIUM_ERROR="apt-get install chromium chromium-driver failed (exit $rc)"
        return 1
    fi
    rm -f "$log"
    if [[ ! -x $browser || ! -x $driver ]]; then
        CHROMIUM_ERROR="installed, yet $browser or $driver is missing"
        return 1
    fi
}
