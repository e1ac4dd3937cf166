"""Schemathesis hooks of the fuzz run, loaded with SCHEMATHESIS_HOOKS=tests.api.fuzz_hooks.

- A check that every JSON answer is strict JSON (Python's parser would accept NaN and Infinity).
- The fuzzing actor never revokes its own key or changes its own user (it would lock itself out and
  fuzz nothing but 401s): such requests go to a decoy user and key instead.
- KNOWN: failures filed but not yet fixed, each class with one predicate (none today). A failure matching
  one is dropped from the run (and logged to LOGICRM_FUZZ_KNOWN_LOG for the test to report); any other
  failure fails the run. Delete an entry when its item is fixed: the test then fails if it recurs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import schemathesis

PROTECT = json.loads(os.environ.get("LOGICRM_FUZZ_PROTECT", "{}"))  # {"user_id": [mine, decoy], ...}


def _reject_constant(token: str):
    raise ValueError(f"{token} is not JSON")


@schemathesis.check
def strict_json(ctx, response, case):
    """A JSON answer must parse without NaN, Infinity or -Infinity (RFC 8259)."""
    if not response.content or "json" not in response.headers.get("content-type", [""])[0]:
        return
    try:
        json.loads(response.content, parse_constant=_reject_constant)
    except ValueError as error:
        raise AssertionError(f"invalid JSON: {error}") from None


@schemathesis.hook
def before_call(context, case, kwargs):
    for name, (mine, decoy) in PROTECT.items():
        # Path values may be generated as strings ("1", "01") as well as integers.
        value = str((case.path_parameters or {}).get(name, "")).strip()
        if value.lstrip("+0") == str(mine):
            case.path_parameters[name] = decoy


# Known failures -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Known:
    reason: str
    matches: Callable[[Any, Any, Any], bool]


# Empty: the run passes with no exception. A failure that cannot be fixed at once goes here, one class
# per entry with a predicate, and its issue in the reason.
KNOWN: tuple[Known, ...] = ()


@schemathesis.hook
def filter_failure(context, failure, case, response):
    for known in KNOWN:
        if known.matches(failure, case, response):
            log = os.environ.get("LOGICRM_FUZZ_KNOWN_LOG")
            if log:
                with open(log, "a", encoding="utf-8") as stream:
                    request = f"{case.method} {case.formatted_path}"
                    stream.write(
                        json.dumps({"reason": known.reason, "code": failure.code, "request": request}) + "\n"
                    )
            return False
    return True
