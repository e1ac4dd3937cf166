"""Derivations of a whole publication: computed once per publication, shared by its stale copies."""

from __future__ import annotations

import dataclasses

from logicrm.scoring import derived


@dataclasses.dataclass(slots=True)
class Publication:  # the part of PortfolioScores `derived` reads, and how held.current copies it
    accounts: dict
    stale: bool = False


def test_a_publication_and_its_stale_copies_derive_once():
    builds = []

    def ranked(portfolio):
        builds.append(portfolio)
        return sorted(portfolio.accounts)

    published = Publication({3: "c", 1: "a", 2: "b"})
    assert derived.once(published, "ranked", ranked) == [1, 2, 3]
    assert derived.once(dataclasses.replace(published, stale=True), "ranked", ranked) == [1, 2, 3]
    assert len(builds) == 1
    assert derived.once(published, "other", lambda p: len(p.accounts)) == 3


def test_a_new_publication_derives_anew_and_old_ones_are_let_go():
    first = Publication({1: "a"})
    assert derived.once(first, "ranked", lambda p: sorted(p.accounts)) == [1]
    later = [Publication({k: "x", 1: "a"}) for k in range(2, 2 + derived.KEPT)]
    for publication in later:
        assert derived.once(publication, "ranked", lambda p: sorted(p.accounts)) == sorted(
            publication.accounts
        )
    assert len(derived._entries) <= derived.KEPT
    assert all(entry.accounts is not first.accounts for entry in derived._entries.values())
    assert derived.once(first, "ranked", lambda p: ["rebuilt"]) == ["rebuilt"]


def test_answers_are_kept_per_publication_key_and_staleness_the_last_used_first():
    published = Publication({1: "a"})
    stale = dataclasses.replace(published, stale=True)
    assert derived.answer(published, ("risk", False), lambda: b"fresh") == b"fresh"
    assert derived.answer(stale, ("risk", True), lambda: b"stale") == b"stale"
    assert derived.answer(stale, ("risk", False), lambda: b"rebuilt") == b"fresh"  # one publication
    assert derived.answer(Publication({1: "a"}), ("risk", False), lambda: b"next") == b"next"
    for page in range(derived.ANSWERS_KEPT + 1):
        derived.answer(published, ("page", page), lambda page=page: str(page).encode())
        derived.answer(published, ("page", 0), lambda: b"rebuilt")  # used last: kept
    assert derived.answer(published, ("page", 0), lambda: b"rebuilt") == b"0"
    assert derived.answer(published, ("page", 1), lambda: b"rebuilt") == b"rebuilt"  # the least used went
    assert len(derived._entry(published).answers) <= derived.ANSWERS_KEPT
