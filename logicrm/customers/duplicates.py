"""The duplicate scan: probable duplicates over the whole customer base, grouped, with merge suggestions.

Blocking, not all pairs: only customers sharing a blocking key of one of their names (customer_name_keys)
are compared, and a key shared by more than `block_max` customers (a city, "logistics") is too common to
say anything and is skipped. Within a block the names are scored in bulk (rapidfuzz's cdist), then each
pair passing the cut is scored exactly as the duplicate check scores it (names.similarity). The same
registration number (once normalised) or the same normalised name is a duplicate whatever the blocks.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from logicrm.customers import names
from logicrm.customers import service as customers
from logicrm.customers.models import Customer, CustomerAlias, CustomerNameKey, CustomerStatus
from logicrm.users.models import User

BLOCK_MAX = 200


@dataclass(slots=True)
class _Names:
    """The scanned customers and every name of theirs, as parallel lists (one entry per name)."""

    owner: list[int]
    spaced: list[str]
    compact: list[str]
    normalized: list[str]


def scan(
    session: Session, *, user: User, min_score: float = names.SIMILAR_AT, block_max: int = BLOCK_MAX
) -> dict:
    """Find the probable duplicates among the live customers the user sees; return them grouped, each
    group with the customer to keep and the merges that would fold the others into it."""
    started = time.perf_counter()
    visible = customers.visible(user=user)
    live = (Customer.deleted_at.is_(None), visible)
    rows = session.execute(
        select(Customer.id, Customer.registration_key, Customer.normalized_name, Customer.match_name).where(
            *live
        )
    ).all()
    registration = {row.id: row.registration_key for row in rows}
    known = _names(session, rows, live)
    keys = session.execute(
        select(CustomerNameKey.key, CustomerNameKey.customer_id)
        .join(Customer, Customer.id == CustomerNameKey.customer_id)
        .where(*live)
    ).all()
    pairs: dict[tuple[int, int], tuple[float, str]] = {}

    def found(a: int, b: int, score: float, reason: str) -> None:
        pair = (min(a, b), max(a, b))
        if a != b and (pair not in pairs or score > pairs[pair][0]):
            pairs[pair] = (score, reason)

    for group in _groups(registration.items()):
        for a, b in _all_pairs(group):
            found(a, b, 1.0, "registration_number")
    for group in _groups(zip(known.owner, known.normalized, strict=True)):
        for a, b in _all_pairs(group):
            if _distinct_entities(registration, a, b):
                continue
            found(a, b, 1.0, "name")
    compared, skipped = _score_blocks(keys, known, registration, min_score, block_max, found)
    groups = _clusters(pairs)
    report = _present(session, groups, pairs)
    return {
        "groups": report,
        "customers_scanned": len(rows),
        "pairs_compared": compared,
        "blocks_skipped": skipped,
        "min_score": min_score,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _names(session: Session, rows, live) -> _Names:
    aliases = session.execute(
        select(CustomerAlias.customer_id, CustomerAlias.normalized_name, CustomerAlias.match_name)
        .join(Customer, Customer.id == CustomerAlias.customer_id)
        .where(*live)
    ).all()
    every = [(row.id, row.normalized_name, row.match_name) for row in rows] + [
        tuple(alias) for alias in aliases
    ]
    return _Names(
        owner=[owner for owner, _normalized, _match in every],
        spaced=[match for _owner, _normalized, match in every],
        compact=[match.replace(" ", "") for _owner, _normalized, match in every],
        normalized=[normalized for _owner, normalized, _match in every],
    )


def _groups(pairs: Iterable[tuple[int, str | None]]) -> list[list[int]]:
    """The ids sharing a value, for each value shared by two or more (None shares nothing)."""
    by_value: dict[str, set[int]] = defaultdict(set)
    for customer_id, value in pairs:
        if value:
            by_value[value].add(customer_id)
    return [sorted(ids) for ids in by_value.values() if len(ids) > 1]


def _all_pairs(ids: list[int]) -> Iterable[tuple[int, int]]:
    return ((a, b) for i, a in enumerate(ids) for b in ids[i + 1 :])


def _distinct_entities(registration: dict[int, str | None], a: int, b: int) -> bool:
    """Two different registration numbers are two legal entities, however alike their names."""
    return bool(registration[a] and registration[b] and registration[a] != registration[b])


def _score_blocks(
    keys, known: _Names, registration, min_score: float, block_max: int, found
) -> tuple[int, int]:
    """Score the names of each block in bulk; report the pairs reaching min_score. Return (names compared,
    blocks skipped as too common)."""
    names_of: dict[int, list[int]] = defaultdict(list)  # customer -> positions of its names
    for position, owner in enumerate(known.owner):
        names_of[owner].append(position)
    blocks: dict[str, list[int]] = defaultdict(list)
    for key, customer_id in keys:
        blocks[key].append(customer_id)
    cutoff = int(min_score * 100) - 1  # cdist's scores are whole numbers; the exact score decides
    compared = skipped = 0
    scored: set[tuple[int, int]] = set()
    for members in blocks.values():
        if len(members) < 2:
            continue
        if len(members) > block_max:
            skipped += 1
            continue
        positions = [p for member in sorted(set(members)) for p in names_of[member]]
        compact = [known.compact[p] for p in positions]
        spaced = [known.spaced[p] for p in positions]
        close = np.maximum(
            process.cdist(compact, compact, scorer=fuzz.ratio, score_cutoff=cutoff, dtype=np.uint8),
            process.cdist(spaced, spaced, scorer=fuzz.token_sort_ratio, score_cutoff=cutoff, dtype=np.uint8),
        )
        compared += len(positions) * (len(positions) - 1) // 2
        for i, j in zip(*np.nonzero(np.triu(close, k=1)), strict=True):
            first, second = sorted((positions[i], positions[j]))
            a, b = known.owner[first], known.owner[second]
            if a == b or (first, second) in scored or _distinct_entities(registration, a, b):
                continue
            scored.add((first, second))  # two names meet in every block they share: score them once
            score = names.similarity(known.spaced[first], known.spaced[second])
            if score >= min_score:
                found(a, b, round(score, 3), "similar_name")
    return compared, skipped


def _clusters(pairs: dict[tuple[int, int], tuple[float, str]]) -> list[list[int]]:
    """Join the pairs into groups of customers that are all one company (union–find)."""
    parent: dict[int, int] = {}

    def root(node: int) -> int:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in pairs:
        parent[root(a)] = root(b)
    groups: dict[int, list[int]] = defaultdict(list)
    for node in list(parent):
        groups[root(node)].append(node)
    return [sorted(members) for members in groups.values()]


def _present(session: Session, groups: list[list[int]], pairs: dict) -> list[dict]:
    """Describe each group: its customers with what they carry, the pairs, whom to keep and the merges.

    The customer to keep is an active one, then one with a registration number, then the oldest record
    (other systems may know its id and ref): the merge moves everything of the others onto it.
    """
    ids = sorted({c for group in groups for c in group})
    if not ids:
        return []
    rows = {
        row.id: row
        for row in session.execute(
            select(Customer.id, Customer.name, Customer.registration_number, Customer.status).where(
                Customer.id.in_(ids)
            )
        )
    }
    report = []
    for group in groups:
        keep = min(
            group,
            key=lambda c: (rows[c].status != CustomerStatus.ACTIVE, rows[c].registration_number is None, c),
        )
        within = sorted(
            (
                {"a_id": a, "b_id": b, "score": score, "reason": reason}
                for (a, b), (score, reason) in pairs.items()
                if a in group and b in group
            ),
            key=lambda pair: (-pair["score"], pair["a_id"], pair["b_id"]),
        )
        report.append(
            {
                "customers": [
                    {
                        "id": c,
                        "name": rows[c].name,
                        "registration_number": rows[c].registration_number,
                        "status": rows[c].status,
                    }
                    for c in group
                ],
                "pairs": within,
                "score": within[0]["score"],
                "keep_id": keep,
                "merges": [{"target_id": keep, "source_id": c} for c in group if c != keep],
            }
        )
    return sorted(report, key=lambda g: (-g["score"], g["keep_id"]))
