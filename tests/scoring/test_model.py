"""The churn model end to end on a generated world with known truth (tests.worlds), imported with
`logicrm import`: `logicrm model fit|show|activate`, the model card and back-test answers, and a health
run that scores with the fitted model; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import pytest
from sqlalchemy import event, select

from logicrm.customers import service as customers
from logicrm.health import history
from logicrm.network.churn import FEATURE_NAMES, LEARNT
from logicrm.scoring import model as churn_models
from logicrm.scoring import scores
from logicrm.scoring.models import ChurnModelRecord
from logicrm.users import keys as api_keys
from logicrm.users import service as users
from logicrm.users.models import UserRole
from tests.conftest import Api, fresh_app
from tests.worlds import export_csv, generate, world_config

# The CLI fits and scores as of now: the world's history ends today. It spans the model's 24 monthly
# origins and their 180-day horizon (2.4 years), so every origin has evidence to learn from.
TODAY = dt.datetime.now(dt.UTC).date()
WORLD = world_config(accounts=120, years=2.6, contagion="weak", seed=5, today=TODAY)


@dataclass
class Fitted:
    app: object
    api: Api
    fit_output: str
    shipper_id: int
    consignee_id: int

    def cli(self, *args: str):
        return self.app.test_cli_runner().invoke(args=list(args))


@pytest.fixture(scope="module")
def fitted(database_url, tmp_path_factory) -> Fitted:
    """The world imported through the CLI and `logicrm model fit` run once, per backend."""
    app = fresh_app(database_url, str(tmp_path_factory.mktemp("instance")))
    runner = app.test_cli_runner()
    for kind, path in export_csv(generate(WORLD), tmp_path_factory.mktemp("world")).items():
        imported = runner.invoke(args=["import", kind, str(path)])
        assert imported.exit_code == 0, imported.output
    fit = runner.invoke(args=["model", "fit"])
    assert fit.exit_code == 0, fit.output
    with app.extensions["logicrm.db"].session_scope() as session:
        admin = users.create(session, name="Admin", email="admin@model.example", role=UserRole.ADMIN)
        _key, secret = api_keys.create(session, user=admin)
        rows = session.scalars(customers.list_statement(user=admin)).all()
        shipper = next(
            c.id for c in rows if c.shipper_profile and not c.consignee_profile and c.status.value == "active"
        )
        consignee = next(c.id for c in rows if c.consignee_profile and c.status.value == "active")
    yield Fitted(app, Api(app.test_client(), secret), fit.output, shipper, consignee)
    app.extensions["logicrm.db"].engine.dispose()


def test_model_fit_stores_version_1_active_and_learnt(fitted):
    assert fitted.fit_output.startswith(f"churn model 1: {LEARNT}, learnt from "), fitted.fit_output
    card = fitted.api.get("/model").get_json()
    assert (card["version"], card["method"]) == (1, LEARNT)
    assert card["events"] >= fitted.app.config["LOGICRM_SCORING"].min_churn_events
    assert card["samples"] > card["events"] > 0
    # at most the configured origins, none before the records hold a full evidence window
    assert 0 < card["origins"] <= fitted.app.config["LOGICRM_SCORING"].model_origins


def test_the_back_test_beats_the_base_rate(fitted):
    backtest = fitted.api.get("/model").get_json()["metrics"]["backtest"]
    assert backtest["events"] > 0 and backtest["samples"] > backtest["events"]
    assert backtest["brier_skill"] > 0.0, backtest
    assert 0.0 <= backtest["auc"] <= 1.0
    assert sum(row["count"] for row in backtest["reliability"]) == backtest["samples"]


def test_the_card_states_the_target_and_every_feature_weight(fitted):
    card = fitted.api.get("/model").get_json()
    horizon = fitted.app.config["LOGICRM_SCORING"].horizon_days
    assert card["horizon_days"] == horizon and f"within {horizon} days" in card["target"]
    assert [feature["name"] for feature in card["features"]] == list(FEATURE_NAMES)
    assert all(isinstance(feature["weight"], float) and feature["means"] for feature in card["features"])
    assert any(abs(feature["weight"]) >= 0.05 for feature in card["features"])


def test_the_backtest_answers_one_row_per_test_origin(fitted):
    answer = fitted.api.get("/model/backtest")
    assert answer.status_code == 200, answer.get_json()
    report = answer.get_json()
    assert report["version"] == 1 and report["pooled"]["samples"] > 0
    origins = report["origins"]
    assert origins and [row["origin"] for row in origins] == sorted(row["origin"] for row in origins)
    assert sum(row["samples"] for row in origins) == report["pooled"]["samples"]
    assert all(row["method"] in ("prior", LEARNT) and "brier_skill" in row for row in origins)


def test_model_activate_takes_a_stored_version_and_refuses_an_unknown_one(fitted):
    activated = fitted.cli("model", "activate", "1")
    assert activated.exit_code == 0 and "churn model 1 is active" in activated.output
    unknown = fitted.cli("model", "activate", "99")
    assert unknown.exit_code != 0
    assert "churn model 99 not found" in unknown.output
    assert fitted.api.get("/model").get_json()["version"] == 1


def test_model_fit_as_of_a_past_day_reproduces_its_back_test_and_leaves_the_active_model(fitted):
    as_of = TODAY - dt.timedelta(days=60)
    runs = [fitted.cli("model", "fit", "--as-of", as_of.isoformat()) for _ in range(2)]
    assert all(run.exit_code == 0 for run in runs), [run.output for run in runs]
    assert f"fitted as of {as_of} 23:59 UTC" in runs[0].output and "not active" in runs[0].output
    with fitted.app.extensions["logicrm.db"].session_scope() as session:
        now, first, second = (churn_models.get(session, version=v) for v in (1, 2, 3))
        # the latest origin is the horizon before the end of that day: only outcomes known then
        assert first.window_end == as_of - dt.timedelta(days=first.horizon_days)
        assert first.window_end < now.window_end
        # equal to float rounding: PostgreSQL may sum a feature's rows in another order once it has
        # analysed the tables, which moves the last bits of a fit, never its meaning
        assert _same_to_rounding(
            (first.coefficients, first.calibration, first.backtest, first.metrics),
            (second.coefficients, second.calibration, second.backtest, second.metrics),
        )
        assert first.backtest and first.backtest[-1]["origin"] < now.backtest[-1]["origin"]
    assert fitted.api.get("/model").get_json()["version"] == 1


def _same_to_rounding(left, right) -> bool:
    """Whether two values are equal through lists and dicts, floats to a relative 1e-9."""
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same_to_rounding(left[k], right[k]) for k in left)
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(map(_same_to_rounding, left, right))
    return left == right


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ((TODAY + dt.timedelta(days=1)).isoformat(), "is in the future"),
        ("2025-02-30", "does not match the format"),
        ("yesterday", "does not match the format"),
    ],
)
def test_model_fit_as_of_refuses_a_future_or_malformed_day(fitted, value, problem):
    refused = fitted.cli("model", "fit", "--as-of", value)
    assert refused.exit_code == 2, refused.output
    assert "--as-of" in refused.output and problem in refused.output
    assert fitted.api.get("/model").get_json()["version"] == 1


def test_a_health_run_scores_with_the_fitted_model(fitted):
    ran = fitted.cli("health", "run")
    assert ran.exit_code == 0 and " succeeded in " in ran.output, ran.output
    with fitted.app.extensions["logicrm.db"].session_scope() as session:
        for customer_id in (fitted.shipper_id, fitted.consignee_id):
            snapshot = session.scalars(history.list_statement(customer_id=customer_id)).first()
            assert (snapshot.model_version, snapshot.horizon_days) == (1, 180)
            assert 0.0 <= snapshot.own_risk <= 1.0 and 0.0 <= snapshot.network_risk <= 1.0


def test_an_account_health_carries_the_horizon_model_and_rhythm(fitted):
    shipper = fitted.api.get(f"/customers/{fitted.shipper_id}/health").get_json()
    assert (shipper["horizon_days"], shipper["model_version"]) == (180, 1)
    assert 0.0 <= shipper["retention"]["p_alive"] <= 1.0
    consignee = fitted.api.get(f"/customers/{fitted.consignee_id}/health").get_json()
    assert (consignee["horizon_days"], consignee["model_version"]) == (180, 1)
    assert consignee["retention"]["p_alive"] is None  # a consignee routes no volume: no rhythm of its own


def test_a_snapshot_in_the_history_says_which_model_and_horizon_its_risks_are_for(fitted):
    fitted.cli("health", "run")
    page = fitted.api.get(f"/customers/{fitted.shipper_id}/health/history").get_json()
    assert page["items"][0]["model_version"] == 1 and page["items"][0]["horizon_days"] == 180


def test_the_model_learns_only_from_origins_the_history_covers(database_url, tmp_path):
    world = generate(world_config(accounts=20, years=1.0, seed=6, today=TODAY))
    app = fresh_app(database_url, str(tmp_path / "instance"))
    runner = app.test_cli_runner()
    try:
        for kind, path in export_csv(world, tmp_path / "world").items():
            assert runner.invoke(args=["import", kind, str(path)]).exit_code == 0
        assert runner.invoke(args=["model", "fit"]).exit_code == 0
        with app.extensions["logicrm.db"].session_scope() as session:
            record = churn_models.get(session, version=1)
            window_start = record.window_start
    finally:
        app.extensions["logicrm.db"].engine.dispose()
    assert window_start >= world.date(world.first_day), (window_start, world.date(world.first_day))


def test_a_scored_read_reads_the_active_models_coefficients_once_per_stored_model(fitted):
    db, params = fitted.app.extensions["logicrm.db"], fitted.app.config["LOGICRM_SCORING"]
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with db.session(write=False) as session:
        first, version = churn_models.active(session, params)
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            again, same_version = churn_models.active(session, params)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    with db.session(write=False) as session:
        stored = churn_models.as_model(churn_models.get_active(session))
    assert version is not None and first == stored
    assert again is first and same_version == version
    assert len(statements) == 1 and "coefficients" not in statements[0]  # the key columns alone


def test_a_stored_model_naming_a_feature_this_version_does_not_compute_is_not_used(fitted):
    # a model fitted by another version of LogiCRM (a feature added there, or since taken out) would read
    # the missing feature as 0: the prior scores instead, and the card says why
    db, params = fitted.app.extensions["logicrm.db"], fitted.app.config["LOGICRM_SCORING"]
    with db.session_scope() as session:
        first = churn_models.get(session, version=1)
        columns = {c.key: getattr(first, c.key) for c in ChurnModelRecord.__table__.columns if c.key != "id"}
        later = max(session.scalars(select(ChurnModelRecord.version)))
        session.add(ChurnModelRecord(**{
            **columns, "version": later + 1, "active": False, "features": [*first.features, "segment_risk"],
            "means": [*first.means, 0.0], "scales": [*first.scales, 1.0], "coefficients": [*first.coefficients, 0.5],
        }))  # fmt: skip
    try:
        assert fitted.cli("model", "activate", str(later + 1)).exit_code == 0
        with db.session(write=False) as session:  # (the database, not the API: an earlier test's app
            # on the same database may have emptied the users this module's key belongs to)
            assert churn_models.active(session, params) == (scores.prior(params), None)
            card = churn_models.card(session, params)
        assert card["method"] == "prior" and f"the active model {later + 1} is not used" in card["note"]
        assert "features this version does not compute (segment_risk)" in card["note"]
    finally:
        assert fitted.cli("model", "activate", "1").exit_code == 0
        with db.session_scope() as session:  # the other tests count the versions they fit
            session.delete(churn_models.get(session, version=later + 1))
