# shellcheck shell=bash
# shellcheck disable=SC2034  # APT_ERROR is read by the sourcing script
#
# Debian packages the scripts install when a part is missing (PostgreSQL,
# Chromium, python3-venv). Source this file, then:
#
#   if apt_available && apt_install PACKAGE...; then ...; else echo "$APT_ERROR"; fi
#
# apt_install never exits the calling shell: it returns non-zero and sets
# APT_ERROR so the caller decides whether a missing part is fatal (CI).

APT_ERROR=""

# Whether this shell may install packages: as root, with apt-get.
apt_available() {
    [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1
}

# apt_install PACKAGE...: install without recommends, quietly; on failure show
# the end of apt's output.
apt_install() {
    local log rc=0
    APT_ERROR=""
    log=$(mktemp) || { APT_ERROR="mktemp failed"; return 1; }
    # Lock timeout: a fresh machine may still be running apt in the background.
    {
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -q &&
            DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q \
                --no-install-recommends "$@"
    } >"$log" 2>&1 </dev/null || rc=$?
    if [[ $rc -ne 0 ]]; then
        tail -n 30 "$log" >&2
        APT_ERROR="apt-get install $* failed (exit $rc)"
    fi
    rm -f "$log"
    return "$rc"
}
