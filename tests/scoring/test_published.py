"""Published scores (logicrm/scoring/published.py, held.py, refresh.py): reads never recompute the portfolio once
scores are published; `logicrm worker` recomputes off the request path; stale answers say so."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from logicrm.config import Settings
from logicrm.customers.models import Customer, Tier
from logicrm.db import Database, make_engine
from logicrm.health import runs
from logicrm.network.params import ScoringParams
from logicrm.scoring import held, published, refresh, scores
from logicrm.scoring import model as churn_models
from logicrm.scoring.models import PublishedScores
from tests import factories
from tests.racing import race
from tests.scoring.extremes import build_portfolio

WORKER_TIMEOUT_S = 120


@pytest.fixture
def by_worker(app):
    """The app as deployed: reads never recompute scores that are merely behind the data."""
    app.config["LOGICRM"] = app.config["LOGICRM"].replace(scores_refreshed_by="worker")
    return app


@pytest.fixture
def lane(api) -> tuple[dict, dict]:
    shipper = factories.customer(api, "Shipper Co", roles=("shipper",))
    consignee = factories.customer(api, "Consignee Co", roles=("consignee",))
    factories.shipments(api, factories.link(api, shipper, consignee), 3)
    return shipper, consignee


@pytest.fixture
def computed(monkeypatch) -> list[int]:
    """Count every computation of the portfolio, wherever it runs (the real one still runs)."""
    calls = []
    compute = scores.compute

    def counted(*args, **kwargs):
        calls.append(1)
        return compute(*args, **kwargs)

    monkeypatch.setattr(scores, "compute", counted)
    return calls


def _publications(db) -> list[PublishedScores]:
    with db.session(write=False) as session:
        return list(session.scalars(select(PublishedScores).order_by(PublishedScores.id)))


def _refresh(app, kept: refresh.Kept | None = None) -> int | None:
    settings = app.config["LOGICRM"]
    return refresh.refresh(
        app.extensions["logicrm.db"],
        app.config["LOGICRM_SCORING"],
        max_age_s=settings.scores_cache_seconds,
        kept=kept,
    )


def test_a_read_after_a_write_answers_the_published_scores_marked_stale(by_worker, api, db, lane, computed):
    shipper, _consignee = lane
    first = api.get(f"/customers/{shipper['id']}/health").json
    assert first["stale"] is False and len(computed) == 1  # nothing published yet: the first read computes
    assert len(_publications(db)) == 1

    assert api.update(f"/customers/{shipper['id']}", {"tier": "vip"}).status_code == 200
    health = api.get(f"/customers/{shipper['id']}/health").json
    ranking = api.get("/network/risk").json["meta"]
    summary = api.get("/portfolio/summary").json
    graph = api.get("/network/graph", query={"center": shipper["id"]}).json
    what_if = api.post("/network/what-if", json={"remove_customers": [shipper["id"]]}).json

    assert len(computed) == 1 and len(_publications(db)) == 1  # no read computed again
    assert health["tier"] == first["tier"] != "vip" and health["as_of"] == first["as_of"]
    answers = (health, ranking, summary, graph, what_if)
    assert all(answer["stale"] is True and answer["as_of"] == first["as_of"] for answer in answers)


def test_the_worker_publishes_at_its_first_poll_after_a_write_and_reads_then_see_it(by_worker, api, db, lane):
    shipper, _consignee = lane
    assert _refresh(by_worker) is not None  # nothing was published
    assert _refresh(by_worker) is None  # up to date: nothing to do
    before = api.get(f"/customers/{shipper['id']}/health").json

    assert api.update(f"/customers/{shipper['id']}", {"tier": "vip"}).status_code == 200
    assert api.get(f"/customers/{shipper['id']}/health").json["stale"] is True
    published_id = _refresh(by_worker)

    after = _health_once_loaded(api, shipper["id"])
    assert published_id == _publications(db)[-1].id
    assert after["tier"] == "vip" and after["stale"] is False and after["as_of"] > before["as_of"]
    # the superseded publication stays for readers loading it; older ones go
    assert [p.id for p in _publications(db)] == [published_id - 1, published_id]


@pytest.mark.parametrize("newer", ["full", "delta"])
def test_a_process_holding_older_scores_answers_from_them_while_a_thread_loads_the_newer(
    by_worker, api, db, lane, monkeypatch, newer
):
    shipper, _consignee = lane
    kept = refresh.Kept() if newer == "delta" else None  # a worker's: the newer is a delta over the older
    _refresh(by_worker, kept)
    before = api.get(f"/customers/{shipper['id']}/health").json
    api.update(f"/customers/{shipper['id']}", {"tier": "vip"})
    _refresh(by_worker, kept)
    assert (_publications(db)[-1].base_id is not None) == (newer == "delta")
    loading = threading.Event()
    load = published.load

    def held_back(*args, **kwargs):
        loading.wait(WORKER_TIMEOUT_S)  # the newer publication takes long to load
        return load(*args, **kwargs)

    monkeypatch.setattr(published, "load", held_back)
    during = api.get(f"/customers/{shipper['id']}/health").json
    assert during["tier"] == before["tier"] != "vip"  # answered at once from what the process held
    assert during["stale"] is True and during["as_of"] == before["as_of"]
    loading.set()
    after = _health_once_loaded(api, shipper["id"])
    assert after["tier"] == "vip" and after["stale"] is False and after["as_of"] > before["as_of"]


def _health_once_loaded(api, customer_id: int) -> dict:
    """Read an account's health until this process has loaded the latest publication (a thread loads it)."""
    deadline = time.monotonic() + WORKER_TIMEOUT_S
    while (health := api.get(f"/customers/{customer_id}/health").json)[
        "stale"
    ] and time.monotonic() < deadline:
        time.sleep(0.05)
    return health


def test_the_worker_recomputes_scores_published_max_age_ago_however_long_they_took(by_worker, api, lane):
    _refresh(by_worker)
    max_age = dt.timedelta(seconds=by_worker.config["LOGICRM"].scores_cache_seconds)
    db = by_worker.extensions["logicrm.db"]
    with db.session_scope() as session:  # a computation that took longer than max_age, published now
        session.scalar(select(PublishedScores)).computed_at -= 2 * max_age
    assert _refresh(by_worker) is None
    with db.session_scope() as session:
        session.scalar(select(PublishedScores)).published_at -= max_age
    assert _refresh(by_worker) is not None


def test_the_worker_loop_recomputes_once_for_a_burst_of_writes(by_worker, api, db, lane):
    shipper, consignee = lane
    _refresh(by_worker)
    stop = threading.Event()
    settings = by_worker.config["LOGICRM"]
    loop = threading.Thread(
        target=refresh.run,
        args=(db, by_worker.config["LOGICRM_SCORING"]),
        kwargs={"max_age_s": settings.scores_cache_seconds, "poll_s": 0.05, "stop": stop},
    )
    with db.session_scope() as session:  # one transaction of several writes moves the revisions once
        for customer, tier in ((shipper, Tier.VIP), (consignee, Tier.KEY)):
            session.get(Customer, customer["id"]).tier = tier
    loop.start()
    try:
        deadline = time.monotonic() + WORKER_TIMEOUT_S
        while api.get(f"/customers/{consignee['id']}/health").json["stale"]:
            assert time.monotonic() < deadline, "the worker never published"
            time.sleep(0.05)
        time.sleep(0.3)  # a few more polls: they find nothing to do
    finally:
        stop.set()
        loop.join(timeout=WORKER_TIMEOUT_S)
    assert not loop.is_alive()
    assert api.get(f"/customers/{consignee['id']}/health").json["tier"] == "key"
    assert len(_publications(db)) == 2  # the first one (superseded, kept) and the one after the writes


def test_the_worker_command_publishes_after_a_write_and_stops_on_sigterm(
    api, db, lane, database_url, tmp_path
):
    shipper, _consignee = lane
    env = {**os.environ, "LOGICRM_DATABASE_URL": database_url, "LOGICRM_INSTANCE_PATH": str(tmp_path)}
    log = tmp_path / "worker.log"
    command = [str(Path(sys.executable).with_name("logicrm")), "worker", "--poll", "0.2"]
    worker = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + WORKER_TIMEOUT_S
        while not _publications(db):
            assert time.monotonic() < deadline and worker.poll() is None, log.read_text()
            time.sleep(0.1)
        api.update(f"/customers/{shipper['id']}", {"tier": "vip"})
        while len(_publications(db)) < 2:
            assert time.monotonic() < deadline and worker.poll() is None, log.read_text()
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=WORKER_TIMEOUT_S)
    assert code == 0, log.read_text()
    assert "worker stopped" in log.read_text() and "Traceback" not in log.read_text()
    with db.session(write=False) as session:
        latest = published.head(session, config_hash=ScoringParams.from_mapping({}).config_hash())
    assert not latest.behind


def test_publishing_from_the_same_publication_twice_publishes_once(api, db, lane):
    with db.session(write=False) as session:
        scored = scores.compute(session, ScoringParams.from_mapping({}))
    with db.session_scope() as session:
        first = published.publish(session, scored, supersedes=None)
        assert published.publish(session, scored, supersedes=None) is None  # lost the race, nothing written
        second = published.publish(session, scored, supersedes=first)
    assert [p.id for p in _publications(db)] == [first, second]


def test_deltas_keep_their_base_and_racing_ones_publish_once(api, db, lane):
    shipper, _consignee = lane
    params, kept = ScoringParams.from_mapping({}), refresh.Kept()

    def worker_refresh() -> int:
        published_id = refresh.refresh(db, params, max_age_s=300, kept=kept)
        assert published_id is not None
        return published_id

    def tier(name: str) -> None:
        assert api.update(f"/customers/{shipper['id']}", {"tier": name}).status_code == 200

    full = worker_refresh()
    deltas = []
    for name in ("key", "vip", "standard"):
        tier(name)
        deltas.append(worker_refresh())
    publications = _publications(db)
    assert [(p.id, p.base_id) for p in publications] == [(full, None), (deltas[1], full), (deltas[2], full)]
    assert len(publications[-1].payload) < len(publications[0].payload) / 2

    factories.customer(api, "Another Co", roles=("consignee",))  # the graph moves: in full
    again = worker_refresh()
    # the superseded delta and its base stay for a reader loading them
    assert [p.id for p in _publications(db)] == [full, deltas[2], again]
    tier("key")
    delta = worker_refresh()
    assert [(p.id, p.base_id) for p in _publications(db)] == [(again, None), (delta, again)]
    with db.session(write=False) as session:
        base = published.load(session, published.head(session, config_hash=params.config_hash()))
    with db.session_scope() as session:  # another worker refreshed from the same publication
        assert published.publish(session, base.scores, supersedes=again, over=(again, base.base)) is None
    assert [p.id for p in _publications(db)] == [again, delta]


@pytest.mark.parametrize("stored", [False, True], ids=["prior", "stored model"])
def test_a_read_of_held_scores_runs_one_statement_with_the_active_model_in_it(
    by_worker, api, db, lane, stored
):
    params = ScoringParams.from_mapping({})
    if stored:  # the prior's coefficients as a stored, active model
        fitted = churn_models.Fitted(scores.prior(params), [], None, [], None)
        with db.session_scope() as session:
            churn_models.store(session, fitted=fitted, params=params, activate=True)
    _refresh(by_worker)
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with db.session(write=False) as session:
        held_first = churn_models.current_scores(session, params, max_age_s=300)
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            again = churn_models.current_scores(session, params, max_age_s=300)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert again is held_first and again.model_version == churn_models.active(session, params)[1]
    assert (again.model_version is not None) == stored
    [statement] = statements
    assert "published_scores" in statement and "churn_models" in statement


def test_a_publication_loads_equal_to_the_scores_computed(api, db):
    build_portfolio(api)  # departments with surveys, lanes with shipments: every kind of record scored
    with db.session(write=False) as session:
        scored = scores.compute(session, ScoringParams.from_mapping({}))
    with db.session_scope() as session:
        published.publish(session, scored, supersedes=None)
    with db.session(write=False) as session:
        loaded = published.load(session, published.head(session, config_hash=scored.config_hash)).scores
    assert loaded.accounts == scored.accounts
    assert any(a.satisfaction.dimensions for a in loaded.accounts.values())
    assert any(a.explanation.drivers for a in loaded.accounts.values())
    assert (loaded.arrays.influence == scored.arrays.influence).all()


def _race_refresh(url: str, barrier, results) -> None:
    database = Database(make_engine(url))
    barrier.wait(timeout=WORKER_TIMEOUT_S)
    try:
        results.put(refresh.refresh(database, ScoringParams.from_mapping({}), max_age_s=300))
    except Exception as error:  # reported to the test rather than lost in the worker
        results.put(repr(error))
    finally:
        database.engine.dispose()


def test_three_workers_racing_publish_once_per_revision(database_url, db, api, lane):
    outcomes = race(_race_refresh, (database_url,))
    [publication] = _publications(db)
    assert sorted(outcomes, key=str) == sorted([publication.id, None, None], key=str), outcomes
    with db.session(write=False) as session:
        assert not published.head(session, config_hash=ScoringParams.from_mapping({}).config_hash()).behind


def test_the_health_run_publishes_what_it_computed(by_worker, api, db, lane, computed):
    config = runs.RunConfig.of_app(by_worker.config)
    run = runs.run_health(db, config)
    assert run.status == runs.RunStatus.SUCCEEDED
    assert len(_publications(db)) == 1
    shipper, _consignee = lane
    health = api.get(f"/customers/{shipper['id']}/health").json
    assert health["stale"] is False and len(computed) == 1  # the run's computation, read as published


@pytest.mark.parametrize(
    "change", [{"payload": b"not a pickle"}, {"code_version": "another release"}], ids=["corrupt", "release"]
)
def test_a_publication_another_release_wrote_counts_as_none(by_worker, api, db, lane, computed, change):
    shipper, _consignee = lane
    api.get(f"/customers/{shipper['id']}/health")
    with db.session_scope() as session:
        session.execute(PublishedScores.__table__.update().values(**change))
    held.forget()  # another process, or this one after an upgrade
    assert api.get(f"/customers/{shipper['id']}/health").json["stale"] is False
    assert len(computed) == 2  # computed and published again, then read as published
    api.get(f"/customers/{shipper['id']}/health")
    assert len(computed) == 2 and _publications(db)[-1].code_version == published.code_version()


def test_reads_in_request_mode_recompute_scores_behind_the_data(api, db, lane, computed):
    assert Settings().scores_refreshed_by == "worker"  # the default; the test app reads in the request
    shipper, _consignee = lane
    api.get(f"/customers/{shipper['id']}/health")
    api.update(f"/customers/{shipper['id']}", {"tier": "vip"})
    health = api.get(f"/customers/{shipper['id']}/health").json
    assert health["tier"] == "vip" and health["stale"] is False and len(computed) == 2
    with db.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(PublishedScores)) == 2
