"""What answers derive from a whole publication of the scores (rankings, the everyone-sees summary, the
what-if baseline, answers encoded once), derived once per publication and process instead of once per
request.

Entries are keyed by the identity of a publication's accounts, shared by the stale copies of it that
`held.current` hands out; an entry holds them, so the identity is not reused while it is kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from logicrm.scoring.scores import PortfolioScores

KEPT = 2  # publications a process keeps derivations of (each holds its accounts in memory till evicted)
ANSWERS_KEPT = 32  # encoded answers kept per publication, the last used (a page 15-140 kB, the summary 70)


class _Entry:
    __slots__ = ("accounts", "answers", "values")

    def __init__(self, accounts: dict):
        self.accounts = accounts
        self.values: dict[str, object] = {}
        self.answers: OrderedDict[Hashable, bytes] = OrderedDict()


_entries: dict[int, _Entry] = {}
_lock = threading.Lock()


def _entry(portfolio: PortfolioScores) -> _Entry:
    key = id(portfolio.accounts)
    with _lock:
        entry = _entries.get(key)
        if entry is None or entry.accounts is not portfolio.accounts:
            while len(_entries) >= KEPT:
                del _entries[next(iter(_entries))]
            entry = _entries[key] = _Entry(portfolio.accounts)
        return entry


def once(portfolio: PortfolioScores, name: str, build: Callable[[PortfolioScores], object]):
    """Return `build(portfolio)`, computed once per publication under `name`; callers must not change it."""
    values = _entry(portfolio).values
    if name not in values:
        values[name] = build(portfolio)  # two threads may both build it: the same value, harmlessly
    return values[name]


def answer(portfolio: PortfolioScores, key: Hashable, build: Callable[[], bytes]) -> bytes:
    """Return `build()`, an answer's encoded body, kept per publication under `key` (with everything the
    answer depends on besides the publication: its arguments, and whether the copy is stale)."""
    answers = _entry(portfolio).answers
    with _lock:
        body = answers.get(key)
        if body is not None:
            answers.move_to_end(key)
            return body
    body = build()  # outside the lock: two threads may both build it, the same bytes
    with _lock:
        answers[key] = body
        while len(answers) > ANSWERS_KEPT:
            answers.popitem(last=False)
    return body
