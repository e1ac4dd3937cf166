#!/usr/bin/env bash
# shellcheck shell=bash
#
# Project virtualenv shared by scripts/test and scripts/run. Source this file
# from the repository root, then call e.g. `venv_ensure '.[dev]'`.
#
# `pip install -e` is not free even when everything is present (it rebuilds
# the editable wheel and fetches setuptools for the isolated build), so a
# stamp remembers the pyproject.toml it installed from. The install reruns
# whenever pyproject.toml changes, the stamp is missing, or `logicrm` does
# not resolve to this checkout.

# shellcheck source=scripts/lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

VENV="$PWD/.venv"

_venv_create() {
    echo "==> Creating $VENV"
    if python3 -m venv --clear "$VENV"; then
        return 0
    fi
    # Debian's python3 ships venv/ensurepip separately; a fresh root CI
    # machine can install it, anything else gets the error above.
    if apt_available; then
        echo "==> python3 -m venv failed; installing python3-venv with apt-get"
        apt_install python3-venv && python3 -m venv --clear "$VENV" && return 0
    fi
    echo "ERROR: could not create $VENV (on Debian/Ubuntu: apt-get install python3-venv)" >&2
    return 1
}

# venv_ensure SPEC: make sure `pip install -e SPEC` is in effect in .venv.
venv_ensure() {
    local spec=$1 stamp key want
    # A venv whose interpreter no longer runs (moved checkout, removed
    # Python) is useless; recreate it.
    if ! "$VENV/bin/python" -c '' >/dev/null 2>&1; then
        _venv_create || return 1
    fi
    key=${spec//[^a-z]/}
    stamp="$VENV/.logicrm-installed-${key:-base}"
    want=$("$VENV/bin/python" -c 'import hashlib; print(hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest())')
    if [[ -f $stamp && "$(<"$stamp")" == "$want" ]] &&
        "$VENV/bin/python" -c '
import importlib.util, os, sys
spec = importlib.util.find_spec("logicrm")
here = os.path.realpath("logicrm") + os.sep
sys.exit(not (spec and spec.origin and os.path.realpath(spec.origin).startswith(here)))
' 2>/dev/null; then
        return 0
    fi
    echo "==> pip install -e '$spec'"
    rm -f "$stamp"
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
        "$VENV/bin/python" -m pip install --quiet -e "$spec" || return 1
    echo "$want" >"$stamp"
}
