"""Incremental refresh (logicrm/scoring/refresh.py, scores.update, revisions' notes): after writes whose
accounts are known, observing those accounts anew gives every account the scores a full computation gives
at the same moment under the same portfolio priors; anything else is computed in full. Its publication, a
delta over the full one it started from, reads back as the whole would."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
import random

import numpy as np
import pytest
from sqlalchemy import func, select, update

from logicrm.customers.models import Customer
from logicrm.db import utcnow
from logicrm.health import runs
from logicrm.network.params import ScoringParams
from logicrm.relations.models import Interaction
from logicrm.scoring import published, refresh, revisions, scores
from logicrm.scoring.models import PublishedScores
from tests import factories as f

PARAMS = ScoringParams.from_mapping({})
TIERS = ("standard", "key", "vip")
DIMENSIONS = ("timeliness", "reliability", "responsiveness")


def _at(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _portfolio(api, rng: random.Random, now: dt.datetime) -> dict:
    """Shippers, consignees and a distributor on lanes with recent shipments, departments and surveys."""
    roles = [("shipper",)] * 3 + [("consignee",)] * 3 + [("shipper", "consignee")]
    made = [f.customer(api, roles=held, tier=rng.choice(TIERS)) for held in roles]
    shippers = [c for c, held in zip(made, roles, strict=True) if "shipper" in held]
    consignees = [c for c, held in zip(made, roles, strict=True) if "consignee" in held]
    pairs = {(s["id"], c["id"]) for s in shippers for c in consignees if s["id"] != c["id"]}
    by_id = {c["id"]: c for c in made}
    for shipper_id, consignee_id in rng.sample(sorted(pairs), 8):
        lane = f.link(api, by_id[shipper_id], by_id[consignee_id])
        rows = [
            {
                "link_id": lane["id"],
                "shipped_at": _at(now - dt.timedelta(days=rng.uniform(1, 300))),
                "revenue": rng.randint(50, 500),
                "cost": rng.randint(20, 400),
            }
            for _ in range(rng.randint(1, 12))
        ]
        api.post("/shipments", json={"shipments": rows})
    departments = {}
    for customer in made:
        departments[customer["id"]] = [
            f.department(
                api, customer, name, is_decision_maker=rng.random() < 0.5, decision_weight=rng.randint(1, 5)
            )
            for name in rng.sample(("logistics", "finance", "procurement"), rng.randint(0, 2))
        ]
        for department in departments[customer["id"]]:
            _survey(api, rng, customer, department, now)
    return {"customers": made, "departments": departments, "interactions": []}


def _survey(api, rng, customer, department, now) -> None:
    f.survey(
        api,
        customer,
        department,
        collected_at=_at(now - dt.timedelta(days=rng.uniform(0, 400), seconds=rng.randint(0, 86_399))),
        likelihood_to_recommend=rng.randint(0, 10),
        scores=[
            {"dimension": name, "expectation": rng.randint(1, 7), "perception": rng.randint(1, 7)}
            for name in rng.sample(DIMENSIONS, rng.randint(1, 3))
        ],
    )


def _write(api, rng: random.Random, made: dict, now: dt.datetime) -> int:
    """One random write touching one account's own scores; return the account."""
    customer = rng.choice(made["customers"])
    kind = rng.choice(("interaction", "ticket", "survey", "department", "tier", "renewal", "forget"))
    if kind == "forget" and made["interactions"]:  # an interaction deleted: the last contact moves back
        contact = made["interactions"].pop(rng.randrange(len(made["interactions"])))
        assert api.remove(f"/interactions/{contact['id']}").status_code == 204
        return contact["customer_id"]
    if kind in ("interaction", "forget"):
        made["interactions"].append(
            f.interaction(api, customer, at=_at(now - dt.timedelta(days=rng.uniform(0, 90))))
        )
    elif kind == "ticket":
        f.ticket(api, customer)
    elif kind == "survey" and made["departments"][customer["id"]]:
        _survey(api, rng, customer, rng.choice(made["departments"][customer["id"]]), now)
    elif kind in ("survey", "department"):
        made["departments"][customer["id"]].append(
            f.department(api, customer, f"team {rng.randint(0, 10**6)}", is_decision_maker=rng.random() < 0.5)
        )
    elif kind == "tier":
        assert api.update(f"/customers/{customer['id']}", {"tier": rng.choice(TIERS)}).status_code == 200
    else:
        f.opportunity(api, customer, kind="renewal")
    return customer["id"]


def _same(incremental: scores.PortfolioScores, full: scores.PortfolioScores) -> None:
    assert incremental.accounts.keys() == full.accounts.keys()
    for customer_id, account in full.accounts.items():
        assert incremental.accounts[customer_id] == account, customer_id
    assert incremental.pareto_ratio == full.pareto_ratio
    assert incremental.class_counts == full.class_counts
    assert incremental.revision == full.revision


@pytest.mark.parametrize("seed", range(3))
def test_an_incremental_refresh_scores_every_account_as_a_full_one_under_the_same_priors(api, db, seed):
    rng = random.Random(seed)
    now = utcnow().replace(microsecond=0)
    made = _portfolio(api, rng, now)
    moment = now + dt.timedelta(hours=1)  # every write below is before it
    with db.session(write=False) as session:
        seen = first = scores.observe(session, PARAMS, now=moment)
        claimed = revisions.noted(session).ids
    with db.session_scope() as session:
        revisions.clear(session, claimed)
    for _round in range(3):
        written = {_write(api, rng, made, now) for _ in range(rng.randint(1, 5))}
        with db.session(write=False) as session:
            noted = revisions.noted(session)
            assert noted.accounts is not None and written <= noted.accounts
            seen = scores.update(
                session, seen, PARAMS, ids=noted.accounts, now=moment, revision=revisions.current(session)
            )
            incremental = scores.score(session, seen, PARAMS)
            full = scores.score(
                session, scores.observe(session, PARAMS, now=moment, priors=first.priors), PARAMS
            )
        with db.session_scope() as session:
            revisions.clear(session, noted.ids)
        _same(incremental, full)
        assert incremental.full_as_of == moment and full.full_as_of is None  # the answers say which


def test_an_account_the_graph_gains_or_loses_is_left_to_a_full_computation(api, db):
    rng = random.Random(7)
    now = utcnow().replace(microsecond=0)
    made = _portfolio(api, rng, now)
    gone = made["customers"][0]["id"]
    with db.session(write=False) as session:
        seen = scores.observe(session, PARAMS, now=now)
    assert api.remove(f"/customers/{gone}").status_code == 204
    with db.session(write=False) as session:
        assert revisions.noted(session).accounts is None  # noted as not known
        assert scores.update(session, seen, PARAMS, ids=[gone], now=now, revision=(0, 0)) is None


def _notes(db, write) -> frozenset[int] | None:
    """Run `write(session)` in one transaction; return the accounts it noted (None: not known)."""
    with db.session_scope() as session:
        revisions.clear(session, revisions.noted(session).ids)
    with db.session_scope() as session:
        write(session)
    with db.session(write=False) as session:
        return revisions.noted(session).accounts


def test_writes_note_the_accounts_they_touch_or_that_they_are_not_known(api, db):
    shipper, consignee = f.customer(api, roles=("shipper",)), f.customer(api, roles=("consignee",))
    lane = f.link(api, shipper, consignee)
    department = f.department(api, consignee)
    f.survey(api, consignee, department)
    contact = f.interaction(api, shipper)
    shipper_id, consignee_id = shipper["id"], consignee["id"]

    def moved_contact(session):
        session.get(Interaction, contact["id"]).customer_id = consignee_id

    assert _notes(db, lambda s: setattr(s.get(Customer, shipper_id), "tier", "vip")) == {shipper_id}
    assert _notes(db, moved_contact) == {shipper_id, consignee_id}  # a row moved touches both
    assert _notes(db, lambda s: setattr(s.get(Customer, shipper_id), "status", "churned")) is None
    assert _notes(db, lambda s: s.execute(update(Customer).values(industry="food"))) is None  # bulk
    assert _notes(db, lambda s: revisions.wrote(s, ["interactions"])) is None  # a bare connection's
    assert _notes(db, lambda s: s.execute(update(Customer).values(industry="food"))) is None
    with db.session_scope() as session:
        revisions.clear(session, revisions.noted(session).ids)
    f.survey(api, consignee, department)  # the response and its ratings
    f.ticket(api, shipper)
    with db.session(write=False) as session:
        assert revisions.noted(session).accounts == {shipper_id, consignee_id}
    with db.session_scope() as session:
        revisions.clear(session, revisions.noted(session).ids)
    f.shipments(api, lane)
    with db.session(write=False) as session:
        assert revisions.noted(session).accounts is None  # lanes move the graph

    def deferred(session):
        with revisions.deferred(session):
            session.get(Customer, shipper_id).tier = "key"
            session.flush()
            session.get(Customer, consignee_id).tier = "key"
            session.flush()

    assert _notes(db, deferred) == {shipper_id, consignee_id}


def _refresh(db, kept=None) -> int | None:
    return refresh.refresh(db, PARAMS, max_age_s=300, kept=kept)


def test_the_worker_refreshes_a_written_account_alone_and_falls_back_to_full_when_it_must(
    api, db, monkeypatch
):
    rng = random.Random(3)
    now = utcnow().replace(microsecond=0)
    made = _portfolio(api, rng, now)
    observed = []
    observe = scores.observe
    monkeypatch.setattr(scores, "observe", lambda *a, **k: observed.append(1) or observe(*a, **k))
    kept = refresh.Kept()
    assert _refresh(db, kept) is not None and len(observed) == 1  # a first poll computes in full
    assert _refresh(db, kept) is None  # nothing written: nothing to do

    written = made["customers"][1]
    f.interaction(api, written, at=_at(utcnow()))
    published_id = _refresh(db, kept)
    assert published_id is not None and len(observed) == 1  # no full observation
    with db.session(write=False) as session:
        latest = published.head(session, config_hash=PARAMS.config_hash())
        portfolio = published.load(session, latest).scores
        assert not latest.behind and latest.id == published_id
        assert revisions.noted(session).ids == ()  # the notes it refreshed for are cleared
        assert session.scalar(select(func.count()).select_from(revisions.DirtyAccount)) == 0
    assert portfolio.full_as_of is not None and portfolio.full_as_of < portfolio.as_of
    assert portfolio.accounts[written["id"]].signals.days_since_contact < 0.01
    health = api.get(f"/customers/{written['id']}/health").json
    assert health["as_of"] > health["full_as_of"]

    f.link(api, made["customers"][0], made["customers"][3])  # the graph moves: in full
    assert _refresh(db, kept) is not None and len(observed) == 2
    f.interaction(api, written)
    monkeypatch.setattr(refresh, "utcnow", lambda: utcnow() + dt.timedelta(seconds=301))
    assert _refresh(db, kept) is not None and len(observed) == 3  # the kept computation is too old


def test_a_read_or_a_health_run_that_computes_clears_the_notes_its_scores_include(app, api, db):
    """Without a worker nothing else claims the notes: they never pile up."""
    customer = f.customer(api, roles=("shipper",))
    f.interaction(api, customer)
    assert api.get(f"/customers/{customer['id']}/health").status_code == 200  # computes in the request
    with db.session(write=False) as session:
        assert revisions.noted(session).ids == ()
    f.interaction(api, customer)
    assert runs.run_health(db, runs.RunConfig.of_app(app.config)).status == runs.RunStatus.SUCCEEDED
    with db.session(write=False) as session:
        assert revisions.noted(session).ids == ()


def _equal(assembled: scores.PortfolioScores, whole: scores.PortfolioScores) -> None:
    """Every field equal; the graph's arrays (numpy, whose == is elementwise) array by array."""
    for field in dataclasses.fields(whole):
        mine, theirs = getattr(assembled, field.name), getattr(whole, field.name)
        if field.name == "arrays":
            for array in dataclasses.fields(theirs):
                assert np.array_equal(getattr(mine, array.name), getattr(theirs, array.name)), array.name
        else:
            assert mine == theirs, field.name


@pytest.mark.parametrize("seed", range(3))
def test_a_delta_read_by_any_process_equals_the_whole_publication_of_the_same_scores(
    api, db, monkeypatch, seed
):
    rng = random.Random(seed)
    made = _portfolio(api, rng, utcnow().replace(microsecond=0))
    computed = []  # what the worker published, as it computed it
    publish = published.publish
    monkeypatch.setattr(
        published,
        "publish",
        lambda s, portfolio, **k: computed.append(portfolio) or publish(s, portfolio, **k),
    )
    kept = refresh.Kept()
    base_id = _refresh(db, kept)
    with db.session(write=False) as session:
        base = published.load(session, published.head(session, config_hash=PARAMS.config_hash()))
    assert base.id == base.base_id == base_id and base.scores is base.base
    previous, sizes = base, []
    for _round in range(4):
        for _write_ in range(rng.randint(1, 4)):  # noqa: B007 (the writes are the point, not their count)
            _write(api, rng, made, utcnow())
        published_id = _refresh(db, kept)
        whole = pickle.loads(pickle.dumps(computed[-1], protocol=pickle.HIGHEST_PROTOCOL))
        with db.session(write=False) as session:
            latest = published.head(session, config_hash=PARAMS.config_hash())
            delta = pickle.loads(
                session.scalar(select(PublishedScores.payload).where(PublishedScores.id == latest.id))
            )
            readers = {
                "holding the base": published.load(session, latest, over=base),
                "holding an earlier delta": published.load(session, latest, over=previous),
                "holding nothing": published.load(session, latest),
            }
        assert latest.id == published_id and isinstance(delta, published.Delta)
        # the fields that differ of the accounts that do (a write may change none), over the base's arrays
        before = base.scores.accounts
        assert delta.changed.keys() == {c for c, a in whole.accounts.items() if a != before[c]}
        assert all(
            v != getattr(before[c], n) for c, fields in delta.changed.items() for n, v in fields.items()
        )
        assert delta.added == {} and delta.removed == () and "arrays" not in delta.fields
        sizes.append(len(delta.changed))
        for reader, loaded in readers.items():
            assert loaded.base_id == base_id, reader
            _equal(loaded.scores, whole)
            assert loaded.scores.accounts is not previous.scores.accounts  # a new dict per publication
        assert readers["holding the base"].scores.arrays is base.scores.arrays  # not unpickled again
        previous = readers["holding an earlier delta"]
    assert max(sizes) > 0
