"""What answers derive from a whole publication of the scores (rankings, the everyone-sees summary, the
what-if baseline), derived once per publication and process instead of once per request.

Entries are keyed by the identity of a publication's accounts, shared by the stale copies of it that
`held.current` hands out; an entry holds them, so the identity is not reused while it is kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from logicrm.scoring.scores import PortfolioScores

KEPT = 2  # publications a process keeps derivations of (each holds its accounts in memory till evicted)
_entries: dict[int, tuple[dict, dict[str, object]]] = {}
_lock = threading.Lock()


def once(portfolio: PortfolioScores, name: str, build: Callable[[PortfolioScores], object]):
    """Return `build(portfolio)`, computed once per publication under `name`; callers must not change it."""
    key = id(portfolio.accounts)
    with _lock:
        entry = _entries.get(key)
        if entry is None or entry[0] is not portfolio.accounts:
            while len(_entries) >= KEPT:
                del _entries[next(iter(_entries))]
            entry = _entries[key] = (portfolio.accounts, {})
        values = entry[1]
    if name not in values:
        values[name] = build(portfolio)  # two threads may both build it: the same value, harmlessly
    return values[name]
