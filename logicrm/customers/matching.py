"""Finding the customer a name or registration number probably belongs to: exact and fuzzy matches over the
blocking keys every customer's names leave in customer_name_keys (kept current by reindex_names)."""

from __future__ import annotations

import heapq
import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from sqlalchemy import Connection, delete, func, select
from sqlalchemy.orm import Session

from logicrm import db
from logicrm.customers import names
from logicrm.customers.models import Customer, CustomerAlias, CustomerNameKey


@dataclass(frozen=True)
class Candidate:
    """A customer about to be written, for the duplicate check: a same registration number is the same
    legal entity, always refused; a same or similar name (or alias) is refused unless `allow_duplicate`."""

    name: str
    registration_number: str | None
    allow_duplicate: bool = False
    exclude_id: int | None = None  # the customer itself, when it is updated
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Duplicate:
    """An existing customer that is probably the company being written, why, and how sure (0–1)."""

    customer: Customer
    reason: str  # registration_number | name | similar_name
    score: float


# Candidates for a fuzzy match: the customers sharing most blocking keys with the name, at most this many.
CANDIDATES = 200
# rapidfuzz's first pass keeps the names scoring this or more (0–100) in either way names.similarity
# scores; only those are scored exactly. Below SIMILAR_AT, so no name reaching it is left out.
FIRST_PASS_CUTOFF = int(names.SIMILAR_AT * 100) - 1
# A blocking key's posting list of up to this many customers is fetched whole; a longer one is read from its
# lowest ids, as far as the ranking needs (_Sharing).
WHOLE_LIST = 1000


def find_duplicates(session: Session, *, candidates: Sequence[Candidate]) -> list[Duplicate | None]:
    """For each candidate, a customer that is probably the same company, and why: the same registration
    number once normalised; the same normalised name (or one of its aliases); or a name scoring
    names.SIMILAR_AT or more, among the CANDIDATES live customers sharing most blocking keys with it (then
    the lowest ids), unless both carry different registration numbers. Candidates are not compared with
    each other; a batch costs a few queries, however many candidates it holds. A candidate that
    allows duplicates is checked for its registration number alone: any name would let it through."""
    connection = session.connection()
    registrations = [names.registration_key(c.registration_number) for c in candidates]
    written = [[c.name, *c.aliases] for c in candidates]
    normalized = [{names.normalize_name(text) for text in texts} for texts in written]
    same_number = _owners(
        connection.execute(  # deleted customers included: a legal entity stays one
            select(Customer.registration_key, Customer.id).where(
                db.among(connection, Customer.registration_key, {key for key in registrations if key})
            )
        )
    )
    every_name = set().union(*normalized)
    live = Customer.deleted_at.is_(None)
    same_name = _owners(
        connection.execute(
            select(Customer.normalized_name, Customer.id).where(
                db.among(connection, Customer.normalized_name, every_name), live
            )
        ),
        connection.execute(
            select(CustomerAlias.normalized_name, CustomerAlias.customer_id)
            .join(Customer, Customer.id == CustomerAlias.customer_id)
            .where(db.among(connection, CustomerAlias.normalized_name, every_name), live)
        ),
    )
    found: list[tuple[int, str, float] | None] = []
    similar: dict[int, tuple[list[str], set[str]]] = {}  # position -> (its texts, its blocking keys)
    for position, c in enumerate(candidates):
        numbered = [i for i in same_number.get(registrations[position], ()) if i != c.exclude_id]
        named = [i for text in normalized[position] for i in same_name.get(text, ()) if i != c.exclude_id]
        if numbered:
            found.append((min(numbered), "registration_number", 1.0))
        elif c.allow_duplicate:
            found.append(None)  # a name, however alike, would let it through: not searched
        elif named:
            found.append((min(named), "name", 1.0))
        else:
            found.append(None)
            keys = set().union(*(names.name_keys(text) for text in written[position]))
            if keys:
                similar[position] = (written[position], keys)
    for position, match in _similar(session, candidates, registrations, similar).items():
        found[position] = match
    customers = {
        customer.id: customer
        for customer in session.scalars(
            select(Customer).where(db.among(connection, Customer.id, {f[0] for f in found if f}))
        )
    }
    return [None if f is None else Duplicate(customers[f[0]], f[1], f[2]) for f in found]


def _owners(*results: Iterable[tuple]) -> dict[str, list[int]]:
    owners = defaultdict(list)
    for result in results:
        for value, customer_id in result:
            owners[value].append(customer_id)
    return owners


def _similar(
    session: Session, candidates: Sequence[Candidate], registrations: list[str | None], probes: dict
) -> dict[int, tuple[int, str, float]]:
    """The similar names found for the probed positions: position -> (customer id, reason, score)."""
    if not probes:
        return {}
    connection = session.connection()
    sharing = _Sharing(_Postings(connection, set().union(*(keys for _t, keys in probes.values()))))
    rankings = {position: frozenset(keys) for position, (_texts, keys) in probes.items()}
    ranked = {keys: sharing.most(keys, CANDIDATES + 1) for keys in set(rankings.values())}
    listed = set().union(*ranked.values())
    known: dict[int, list[str]] = defaultdict(list)  # customer -> its match names
    registration_of = {}
    for customer_id, match, registration in connection.execute(
        select(Customer.id, Customer.match_name, Customer.registration_key).where(
            db.among(connection, Customer.id, listed)
        )
    ):
        known[customer_id].append(match)  # its own name first, then its aliases
        registration_of[customer_id] = registration
    for customer_id, match in connection.execute(
        select(CustomerAlias.customer_id, CustomerAlias.match_name).where(
            db.among(connection, CustomerAlias.customer_id, listed)
        )
    ):
        known[customer_id].append(match)
    shortlists: dict[tuple, tuple[list[int], dict]] = {}  # (keys, excluded) -> ids by id, ids by number
    found = {}
    for position, keys in rankings.items():
        exclude, registration = candidates[position].exclude_id, registrations[position]
        excluded = exclude if exclude in ranked[keys] else None
        if (keys, excluded) not in shortlists:  # worked out once for the rows sharing the ranking
            kept = sorted([i for i in ranked[keys] if i != excluded][:CANDIDATES])
            by_number = defaultdict(list)
            for i in kept:
                by_number[registration_of[i]].append(i)
            shortlists[keys, excluded] = (kept, by_number)
        kept, by_number = shortlists[keys, excluded]
        # two registration numbers: two legal entities, however alike their names
        eligible = sorted(by_number[None] + by_number[registration]) if registration else kept
        if not eligible:
            continue
        mine = [names.match_name(text) for text in probes[position][0]]
        best = _best(mine, [(i, their) for i in eligible for their in known[i]])
        if best is not None:
            found[position] = (best[1], "similar_name", round(best[0], 3))
    return found


def _best(mine: list[str], theirs: list[tuple[int, str]]) -> tuple[float, int] | None:
    """The best names.similarity of any of `mine` with any of `theirs` (customer, match name) reaching
    SIMILAR_AT, and its customer (the lowest id of those scoring it); None if none reaches it."""
    spaced = [their for _i, their in theirs]
    compact = [their.replace(" ", "") for their in spaced]
    close = set()
    for text in mine:
        for choices, query, scorer in ((compact, text.replace(" ", ""), fuzz.ratio),
                                       (spaced, text, fuzz.token_sort_ratio)):  # fmt: skip
            close.update(
                index
                for _choice, _score, index in process.extract(
                    query, choices, scorer=scorer, score_cutoff=FIRST_PASS_CUTOFF, limit=None
                )
            )
    best, best_id = 0.0, None
    for index in sorted(close):
        customer_id, their = theirs[index]
        score = max(names.similarity(text, their) for text in mine)
        if score > best:  # (by customer id: a tie goes to the lowest)
            best, best_id = score, customer_id
    return None if best < names.SIMILAR_AT else (best, best_id)


class _Postings:
    """The live customers having each of a batch's blocking keys, ids ascending: a list of up to `whole_up_to`
    ids fetched whole; a longer one ('compan', which most names share) read from its lowest ids on, as far
    as a ranking needs, and asked which of the customers of the whole lists it holds. A batch's lookups cost
    a few queries, however many customers share its keys."""

    def __init__(self, connection: Connection, keys: set[str], whole_up_to: int = WHOLE_LIST):
        self.connection = connection
        sizes = connection.execute(  # deleted customers included: the size only decides how a list is read
            select(CustomerNameKey.key, func.count())
            .where(db.among(connection, CustomerNameKey.key, keys))
            .group_by(CustomerNameKey.key)
        ).all()
        self.long = {key for key, size in sizes if size > whole_up_to}
        self.lists: dict[str, list[int]] = defaultdict(list)  # key -> its whole list
        self._heads: dict[str, list[int]] = {key: [] for key in self.long}
        self._read: dict[str, int] = dict.fromkeys(self.long, 0)  # the highest id read, deleted or not
        self._ended: set[str] = set()
        postings = connection.execute(
            select(CustomerNameKey.key, CustomerNameKey.customer_id)
            .where(db.among(connection, CustomerNameKey.key, {key for key, _size in sizes} - self.long))
            .order_by(CustomerNameKey.customer_id)
        ).all()
        deleted = self._deleted({customer_id for _key, customer_id in postings})
        for key, customer_id in postings:
            if customer_id not in deleted:
                self.lists[key].append(customer_id)
        self._members: dict[str, set[int]] = defaultdict(set)  # long key -> whole lists' customers having it
        counted = set().union(*self.lists.values())
        if self.long and counted:
            for key, customer_id in connection.execute(
                select(CustomerNameKey.key, CustomerNameKey.customer_id).where(
                    db.among(connection, CustomerNameKey.key, self.long),
                    db.among(connection, CustomerNameKey.customer_id, counted),
                )
            ):
                self._members[key].add(customer_id)

    def _deleted(self, customer_ids: set[int]) -> set[int]:
        """Those of these customers that are deleted. Asked apart from the postings: joined to them, PostgreSQL
        plans on the statistics of before the import (its rows are not committed) and scans every customer."""
        if not customer_ids:
            return set()
        return set(
            self.connection.scalars(
                select(Customer.id).where(
                    db.among(self.connection, Customer.id, customer_ids), Customer.deleted_at.is_not(None)
                )
            )
        )

    def whole(self, key: str) -> list[int] | None:
        """The key's whole list, or None for a long one."""
        return None if key in self.long else self.lists.get(key, [])

    def members(self, key: str, customer_ids: Iterable[int]) -> set[int]:
        """Those of these customers (all from the whole lists) that a long key lists."""
        return self._members[key].intersection(customer_ids)

    def head(self, key: str, size: int) -> list[int]:
        """A long key's lowest `size` live customer ids (fewer: its whole list)."""
        head = self._heads[key]
        while len(head) < size and key not in self._ended:
            wanted = size - len(head)
            read = self.connection.scalars(
                select(CustomerNameKey.customer_id)
                .where(CustomerNameKey.key == key, CustomerNameKey.customer_id > self._read[key])
                .order_by(CustomerNameKey.customer_id)
                .limit(wanted)
            ).all()
            if len(read) < wanted:
                self._ended.add(key)
            if read:
                self._read[key] = read[-1]
                deleted = self._deleted(set(read))
                head.extend(i for i in read if i not in deleted)
        return head[:size]


class _Sharing:
    """The customers sharing most of a set of blocking keys, ranked as SQL's `GROUP BY customer ORDER BY
    count(*) DESC, customer` would rank them, from the keys' posting lists (_Postings), reading the long
    lists only as far as the ranking needs: counted whole, the shorter lists; of a long list, which of
    their customers it holds, then its lowest ids until the ranking cannot change beyond them."""

    def __init__(self, postings: _Postings):
        self.postings = postings
        self._ranked: dict[frozenset[str], list[int]] = {}

    def most(self, keys: frozenset[str], limit: int) -> list[int]:
        if keys not in self._ranked:
            self._ranked[keys] = self._rank(keys, limit)
        return self._ranked[keys]

    def _rank(self, keys: frozenset[str], limit: int) -> list[int]:
        wholes = {key: self.postings.whole(key) for key in sorted(keys)}
        long = [key for key, whole in wholes.items() if whole is None]
        counts = Counter(itertools.chain.from_iterable(whole for whole in wholes.values() if whole))
        counted = set(counts)
        for key in long:
            counts.update(self.postings.members(key, counted))
        # A customer in none of the whole lists shares long keys only: len(long) at most. Once the long
        # lists are read up to id `seen`, every customer up to it is counted, and the ranking stands if
        # its last one shares more keys than that, or as many and has an id up to `seen`.
        sizes = dict.fromkeys(long, 0)
        while True:
            heads = {key: self.postings.head(key, size) for key, size in sizes.items()}
            ends = {key: _read_up_to(heads[key], sizes[key]) for key in long}
            seen = min(ends.values(), default=math.inf)
            known = counts.copy()
            known.update(i for head in heads.values() for i in head if i <= seen and i not in counted)
            ranked = heapq.nsmallest(limit, known, key=lambda i: (-known[i], i))
            if seen == math.inf:
                return ranked
            if len(ranked) == limit:
                shared, last = known[ranked[-1]], ranked[-1]
                if shared > len(long) or (shared == len(long) and last <= seen):
                    return ranked
            for key in long:  # read further the lists that stopped soonest
                if ends[key] == seen:
                    sizes[key] = max(2 * sizes[key], limit + len(counted))


def _read_up_to(head: list[int], size: int) -> float:
    """The highest id read of a long list asked for its first `size` ids: 0 before any, inf once read whole."""
    if len(head) < size:
        return math.inf
    return head[-1] if head else 0


def reindex_names(session: Session, *, customer_ids: Iterable[int]) -> None:
    """Rebuild the blocking keys of these customers from their names and aliases (after any change)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return
    session.flush()
    connection = session.connection()
    listed = db.among(connection, CustomerNameKey.customer_id, ids)
    connection.execute(delete(CustomerNameKey).where(listed))
    written = connection.execute(
        select(Customer.id, Customer.name).where(db.among(connection, Customer.id, ids))
    ).all()
    written += connection.execute(
        select(CustomerAlias.customer_id, CustomerAlias.name).where(
            db.among(connection, CustomerAlias.customer_id, ids)
        )
    ).all()
    keys = {(customer_id, key) for customer_id, text in written for key in names.name_keys(text)}
    db.bulk_insert(connection, CustomerNameKey.__table__, ("customer_id", "key"), sorted(keys))
