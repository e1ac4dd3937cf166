#!/usr/bin/env bash
# shellcheck shell=bash
# shellcheck disable=SC2034  # PG_* variables are read by the sourcing script
#
# Throwaway PostgreSQL cluster for the test suite. Source this file, then:
#
#   trap pg_stop EXIT              # set first: also cleans up a half-started cluster
#   if pg_start; then ...; else echo "no PostgreSQL: $PG_ERROR"; fi
#
# pg_start never exits the calling shell: it returns 1 and sets PG_ERROR so the
# caller decides whether a missing server is fatal (CI) or a skip (laptop).
# Because callers use it as an `if` condition, `set -e` is inactive inside it;
# every step therefore checks its own status explicitly.
#
# On success it exports LOGICRM_TEST_POSTGRES_URL plus PG_PORT, PG_DIR (temp
# folder: data/, server.log, unix socket) and PG_BINDIR for reuse.
#
# We never use the distribution's cluster (Debian's package creates and starts
# one on 5432): our own cluster on a free port is isolated from whatever runs
# there, tuned for speed (no durability), and gone after the run.

# shellcheck source=scripts/lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

PG_ERROR=""
PG_DIR=""
PG_PORT=""
PG_BINDIR=""
PG_DB="logicrm_test"

_pg_log() { echo "postgres.sh: $*" >&2; }

# Run a command as the cluster owner. initdb/postgres refuse to run as root,
# so as root we switch to the `postgres` system user.
_pg_as_owner() {
    if [[ $EUID -ne 0 ]]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u postgres -- "$@"
    else
        # -s: the account may have a nologin shell; %q keeps arguments intact.
        su -s /bin/sh postgres -c "$(printf '%q ' "$@")"
    fi
}

# Directory holding initdb and pg_ctl: PATH first (explicit user choice), then
# the newest Debian-style /usr/lib/postgresql/<version>/bin.
_pg_find_bindir() {
    local initdb pg_ctl dir
    initdb=$(command -v initdb 2>/dev/null) || initdb=""
    pg_ctl=$(command -v pg_ctl 2>/dev/null) || pg_ctl=""
    if [[ -n $initdb && -n $pg_ctl ]]; then
        # Resolve symlinks (e.g. /usr/local/bin/initdb) so createdb/psql of the
        # same version are found next to them.
        dirname "$(readlink -f "$pg_ctl")"
        return 0
    fi
    dir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    if [[ -x $dir/initdb && -x $dir/pg_ctl ]]; then
        echo "$dir"
        return 0
    fi
    return 1
}

# Install Debian's server package (CI machines start without it). Only as root
# with apt; anything else is reported to the caller as PG_ERROR.
_pg_install() {
    if ! apt_available; then
        PG_ERROR="initdb/pg_ctl not found (install PostgreSQL, put its bin directory on PATH, or set LOGICRM_TEST_POSTGRES_URL)"
        return 1
    fi
    _pg_log "PostgreSQL not found; installing it with apt-get ..."
    apt_install postgresql || { PG_ERROR=$APT_ERROR; return 1; }
}

_pg_free_port() {
    "${PG_PYTHON:-python3}" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

pg_start() {
    local attempt started=0 base
    PG_ERROR=""
    if [[ -n $PG_DIR ]]; then
        return 0 # already running (pg_start called twice)
    fi

    if ! PG_BINDIR=$(_pg_find_bindir); then
        _pg_install || return 1
        if ! PG_BINDIR=$(_pg_find_bindir); then
            PG_ERROR="PostgreSQL was installed but initdb/pg_ctl are still not found"
            return 1
        fi
    fi

    if [[ $EUID -eq 0 ]] && ! id -u postgres >/dev/null 2>&1; then
        useradd --system --user-group --no-create-home postgres ||
            { PG_ERROR="could not create the postgres user"; return 1; }
    fi

    # As root the folder must be reachable by the postgres user, so use /tmp
    # rather than a TMPDIR that may sit in root's home. Short paths also keep
    # the unix socket path under its ~107-byte limit.
    base=${TMPDIR:-/tmp}
    [[ $EUID -eq 0 ]] && base=/tmp
    PG_DIR=$(mktemp -d "$base/logicrm-pg.XXXXXX") ||
        { PG_DIR=""; PG_ERROR="mktemp -d failed"; return 1; }
    if [[ $EUID -eq 0 ]]; then
        chown postgres: "$PG_DIR" || { PG_ERROR="chown of $PG_DIR failed"; return 1; }
    fi

    # --no-locale: a host LANG that is not generated would make initdb fail.
    # -N: no fsync of the throwaway data. Trust auth: only reachable locally.
    if ! (cd "$PG_DIR" && _pg_as_owner "$PG_BINDIR/initdb" -D "$PG_DIR/data" -U postgres \
        -A trust -E UTF8 --no-locale -N >"$PG_DIR/initdb.log" 2>&1); then
        tail -n 30 "$PG_DIR/initdb.log" >&2
        PG_ERROR="initdb failed (see output above)"
        return 1
    fi

    # Speed over durability, and enough connections for the multi-process
    # concurrency tests. The port is given per attempt on the command line.
    {
        echo
        echo "# --- LogiCRM throwaway test cluster (scripts/lib/postgres.sh) ---"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$PG_DIR'"
        echo "fsync = off"
        echo "synchronous_commit = off"
        echo "full_page_writes = off"
        echo "max_connections = 200"
    } >>"$PG_DIR/data/postgresql.conf" || { PG_ERROR="could not write postgresql.conf"; return 1; }

    # The free port can be taken between picking and binding; retry a few times.
    for attempt in 1 2 3; do
        PG_PORT=$(_pg_free_port) || { PG_ERROR="could not pick a free port with python3"; return 1; }
        if (cd "$PG_DIR" && _pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" \
            -o "-p $PG_PORT" -w -t 60 start >/dev/null); then
            started=1
            break
        fi
        _pg_log "start attempt $attempt on port $PG_PORT failed"
    done
    if [[ $started -ne 1 ]]; then
        tail -n 30 "$PG_DIR/server.log" >&2 2>/dev/null
        PG_ERROR="pg_ctl start failed (see server log above)"
        return 1
    fi

    if ! "$PG_BINDIR/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$PG_DB"; then
        PG_ERROR="createdb $PG_DB failed"
        return 1
    fi

    export PG_DIR PG_PORT PG_BINDIR
    export LOGICRM_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/$PG_DB"
    _pg_log "PostgreSQL $("$PG_BINDIR/pg_ctl" --version | awk '{print $3}') test cluster on 127.0.0.1:$PG_PORT ($PG_DIR)"
    return 0
}

# Idempotent and safe to call when pg_start never ran or failed half-way.
pg_stop() {
    [[ -n ${PG_DIR:-} ]] || return 0
    if [[ -f $PG_DIR/data/postmaster.pid ]]; then
        # Immediate: nothing in this cluster is worth a clean shutdown.
        (cd "$PG_DIR" && _pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop) \
            >/dev/null 2>&1 || _pg_log "pg_ctl stop failed (server already gone?)"
    fi
    rm -rf -- "$PG_DIR"
    PG_DIR=""
    return 0
}
