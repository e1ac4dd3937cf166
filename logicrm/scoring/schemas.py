"""Payloads of the network-intelligence endpoints and the churn model card.

Satisfaction is shown as an index on 0–100 (50 = expectations exactly met) and as the gap to
expectation in points of a 1–7 scale (0 = met) with a band naming it; loyalty as NPS (−100…100) and on
0–100. Risks are probabilities in [0, 1] of leaving within `horizon_days` (the churn model's target),
and driver shares add up to them, so a driver list reads "0.31 within 180 days: shipper X (falling
volume) 0.12, claims 0.05, …".
"""

from __future__ import annotations

import dataclasses

import marshmallow as ma

from logicrm import bounds
from logicrm.api import PageArgs
from logicrm.customers.models import Tier
from logicrm.schemas import Id, WholeNumber, enum_field, number

F = ma.fields


class DriverOut(ma.Schema):
    kind = F.String(
        metadata={"description": "baseline, own, neighbour, departed (a partner that left) or other"}
    )
    key = F.Raw(
        allow_none=True,
        metadata={
            "description": "feature name (own), customer id (neighbour, departed; null when hidden from you), "
            "null (baseline, other)"
        },
    )
    label = F.String(metadata={"description": "in words; a partner's label says why it is at risk"})
    share = F.Float(
        metadata={"description": "part of the probability of leaving (network_risk); the shares sum to it"}
    )


INDEX = "satisfaction index 0–100 (50 = expectations exactly met, 0 = far below, 100 = far above)"
GAP = (
    "gap to expectation, perception − expectation in points of a 1–7 scale whatever the survey's scale "
    "(0 = met, −6 … +6); the same verdict as the index: gap = (index − 50) × 0.12"
)
BAND = (
    "what the gap means: well below expectations, below expectations, met expectations or above expectations"
)
EVIDENCE = "decayed responses behind it: each weighs 2^(−age / half-life), so one answered today weighs 1"
AS_OF = "the moment the scores were computed for (scores are computed off the request path and published)"
FULL_AS_OF = (
    "the moment of the last full computation: equal to as_of when the whole portfolio was computed then; "
    "earlier after an incremental refresh (the accounts written since are as of as_of; the portfolio's "
    "priors, the lanes' and shipments' figures and the other accounts as of full_as_of)"
)
STALE = (
    "true: writes made since (or a churn model activated since) are not reflected yet; the worker is "
    "recomputing and the next answers will carry them"
)


class DimensionHealthOut(ma.Schema):
    dimension = F.String(metadata={"description": "service dimension (timeliness, reliability, …)"})
    score = F.Float(metadata={"description": INDEX})
    gap = F.Float(metadata={"description": GAP})
    band = F.String(metadata={"description": BAND})
    evidence = F.Float(metadata={"description": EVIDENCE})


class DepartmentHealthOut(ma.Schema):
    id = Id()
    name = F.String()
    weight = F.Float()
    is_decision_maker = F.Boolean()
    score = F.Float(
        allow_none=True,
        metadata={
            "description": f"{INDEX}; shrunk toward the portfolio by its evidence; "
            "null only with no_data (unknown, never average)"
        },
    )
    gap = F.Float(allow_none=True, metadata={"description": f"{GAP}; null with no_data"})
    band = F.String(allow_none=True, metadata={"description": f"{BAND}; null with no_data"})
    evidence = F.Float(metadata={"description": EVIDENCE})
    responses = F.Integer()
    last_response = F.DateTime(allow_none=True)
    silent = F.Boolean(
        metadata={
            "description": "no response for silent_after_days (or never): its last verdict keeps counting, "
            "decaying toward the portfolio's"
        }
    )
    no_data = F.Boolean(metadata={"description": "never answered a survey: satisfaction unknown"})
    dimensions = F.List(
        F.Nested(DimensionHealthOut), metadata={"description": "per service dimension, worst first"}
    )


class SatisfactionOut(ma.Schema):
    overall = F.Float(
        allow_none=True,
        metadata={
            "description": f"{INDEX}; capped at the weakest deciding department + cap; null with no_data"
        },
    )
    gap = F.Float(allow_none=True, metadata={"description": f"{GAP}, of overall; null with no_data"})
    band = F.String(allow_none=True, metadata={"description": f"{BAND}; null with no_data"})
    no_data = F.Boolean(
        metadata={
            "description": "no department with a decision weight ever answered: satisfaction unknown, "
            "its own state (neither safe nor average)"
        }
    )
    uncapped = F.Float(allow_none=True, metadata={"description": f"{INDEX}, before the cap"})
    capped = F.Boolean()
    coverage = F.Float(
        metadata={"description": "share 0–1 of the decision weight whose departments have a verdict"}
    )
    weakest_deciding_department = F.Nested(DepartmentHealthOut, allow_none=True)
    two_sided = F.Float(
        allow_none=True, metadata={"description": f"{INDEX}: own blended with the other side's verdict"}
    )
    ninety_days_ago = F.Float(
        allow_none=True, metadata={"description": f"{INDEX}, overall as of satisfaction_drop_days ago"}
    )
    departments = F.List(F.Nested(DepartmentHealthOut))
    dimensions = F.List(
        F.Nested(DimensionHealthOut),
        metadata={
            "description": "per service dimension, the departments' verdicts weighted by decision weight, "
            "worst first"
        },
    )


class LoyaltyOut(ma.Schema):
    nps = F.Float(
        allow_none=True,
        metadata={
            "description": "decayed NPS −100…100 (attitude), shrunk toward the portfolio's NPS by its "
            "evidence; null with no_data"
        },
    )
    score = F.Float(
        allow_none=True, metadata={"description": "the NPS on 0–100: (nps + 100) / 2 (50 = NPS 0)"}
    )
    responses = F.Integer(metadata={"description": "answers to likelihood to recommend read"})
    evidence = F.Float(metadata={"description": EVIDENCE})
    no_data = F.Boolean(metadata={"description": "nobody ever answered likelihood to recommend"})


class RetentionOut(ma.Schema):
    shipments_last_30_days = F.Integer()
    shipments_trailing_window = F.Integer()
    otif = F.Float(allow_none=True)
    otif_target = F.Float(allow_none=True)
    claims_rate = F.Float()
    p_alive = F.Float(
        allow_none=True,
        metadata={
            "description": "probability (0–1) the shipper is still shipping, from its shipment rhythm (BG/NBD); "
            "null for an account that ships nothing"
        },
    )


class ValueOut(ma.Schema):
    revenue_12m = F.Float()
    cost_12m = F.Float()
    profit_12m = F.Float()
    margin = F.Float(allow_none=True)
    abc_class = F.String()
    value_tier = F.String()
    tier_mismatch = F.String(allow_none=True)


class DataProblemOut(ma.Schema):
    field = F.String(
        metadata={"description": "table.column of the value, or the part of the score that failed"}
    )
    record_id = Id(allow_none=True, metadata={"description": "the row holding the value"})
    note = F.String()


class HealthOut(ma.Schema):
    customer_id = Id()
    name = F.String()
    roles = F.List(F.String())
    tier = F.String()
    satisfaction = F.Nested(SatisfactionOut)
    loyalty = F.Nested(LoyaltyOut)
    retention = F.Nested(RetentionOut)
    own_risk = F.Float(
        metadata={
            "description": "probability (0–1) of leaving within horizon_days from its own evidence alone"
        }
    )
    network_risk = F.Float(
        metadata={
            "description": "probability (0–1) of leaving within horizon_days, its partners' risk included: "
            "the figure alerts use"
        }
    )
    horizon_days = F.Integer(metadata={"description": "the horizon of both probabilities, in days"})
    model_version = F.Integer(
        allow_none=True,
        metadata={"description": "the churn model that scored it (GET /model); null: the cold-start prior"},
    )
    too_new = F.Boolean(metadata={"description": "too little history to judge its behaviour"})
    drivers = F.List(F.Nested(DriverOut))
    value = F.Nested(ValueOut)
    exposure = F.Float(metadata={"description": "revenue/month lost by the cascade if this account leaves"})
    data_problems = F.List(
        F.Nested(DataProblemOut),
        metadata={"description": "stored values scoring could not use as they are; the scores are degraded"},
    )
    config_hash = F.String()
    as_of = F.DateTime(metadata={"description": AS_OF})
    full_as_of = F.DateTime(metadata={"description": FULL_AS_OF})
    stale = F.Boolean(metadata={"description": STALE})


class RankingArgs(PageArgs):
    role = F.String(validate=ma.validate.OneOf(["shipper", "consignee"]))
    tier = enum_field(Tier)
    owner_id = Id()


class RiskRowOut(ma.Schema):
    id = Id()
    name = F.String()
    roles = F.List(F.String())
    tier = F.String()
    owner_id = Id(allow_none=True)
    own_risk = F.Float(metadata={"description": "probability of leaving within horizon_days, own evidence"})
    network_risk = F.Float(
        metadata={"description": "probability of leaving within horizon_days, network included"}
    )
    top_driver = F.Nested(DriverOut, allow_none=True)


class RankingMeta(ma.Schema):
    total = F.Integer()
    page = F.Integer()
    page_size = F.Integer()
    pages = F.Integer()
    horizon_days = F.Integer(metadata={"description": "the horizon of the probabilities, in days"})
    model_version = F.Integer(allow_none=True, metadata={"description": "null: the cold-start prior"})
    config_hash = F.String()
    as_of = F.DateTime(metadata={"description": AS_OF})
    full_as_of = F.DateTime(metadata={"description": FULL_AS_OF})
    stale = F.Boolean(metadata={"description": STALE})


class RiskPage(ma.Schema):
    items = F.List(F.Nested(RiskRowOut))
    meta = F.Nested(RankingMeta)


class HubRowOut(ma.Schema):
    id = Id()
    name = F.String()
    roles = F.List(F.String())
    tier = F.String()
    exposure = F.Float(metadata={"description": "revenue/month lost by the cascade if it leaves"})
    shippers_lost = F.Integer()
    consignees_lost = F.Integer()


class HubPage(ma.Schema):
    items = F.List(F.Nested(HubRowOut))
    meta = F.Nested(RankingMeta)


class GraphArgs(ma.Schema):
    center = Id(required=True)
    depth = WholeNumber(load_default=1, validate=ma.validate.Range(min=1, max=3))
    max_nodes = WholeNumber(
        validate=ma.validate.Range(min=1, max=bounds.PAGE_MAX),
        metadata={
            "description": "at most this many accounts, the nearest and, at one distance, the busiest first "
            "(default: graph_max_nodes, 300); total_nodes says how many there were"
        },
    )


class GraphNodeOut(ma.Schema):
    id = Id()
    name = F.String(allow_none=True, metadata={"description": "null for accounts you may not see"})
    hidden = F.Boolean(
        metadata={
            "description": "an account you may not see, at the far end of one of your lanes: id and roles only"
        }
    )
    roles = F.List(F.String())
    tier = F.String(allow_none=True, metadata={"description": "null when hidden"})
    satisfaction = F.Float(allow_none=True, metadata={"description": f"{INDEX}; null when hidden or unknown"})
    risk = F.Float(allow_none=True, metadata={"description": "network risk; null when hidden"})


class GraphEdgeOut(ma.Schema):
    shipper = Id()
    consignee = Id()
    monthly_volume = F.Float()
    revenue_per_month = F.Float()
    influence_down = F.Float(metadata={"description": "shipper → consignee"})
    influence_up = F.Float(metadata={"description": "consignee → shipper"})


class GraphOut(ma.Schema):
    nodes = F.List(F.Nested(GraphNodeOut))
    edges = F.List(F.Nested(GraphEdgeOut))
    total_nodes = F.Integer(metadata={"description": "accounts in the neighbourhood, before max_nodes"})
    config_hash = F.String()
    as_of = F.DateTime(metadata={"description": AS_OF})
    full_as_of = F.DateTime(metadata={"description": FULL_AS_OF})
    stale = F.Boolean(metadata={"description": STALE})


class VolumeCutIn(ma.Schema):
    shipper_id = Id(required=True)
    percent = number(bounds.VOLUME_CUT, required=True, description="the share of its volume it takes away")


class PausedLaneIn(ma.Schema):
    link_id = Id(required=True)
    weeks = number(
        bounds.PAUSE_WEEKS,
        integer=True,
        required=True,
        description="takes that many weeks of the volume window's business (the whole lane from the window's length)",
    )


class WhatIfIn(ma.Schema):
    """The changes of a what-if: any mix of these, at least one."""

    remove_customers = F.List(Id(), load_default=list)
    remove_links = F.List(Id(), load_default=list)
    volume_cuts = F.List(
        F.Nested(VolumeCutIn),
        load_default=list,
        metadata={"description": "shippers cutting their volume with us by a percentage, on all their lanes"},
    )
    paused_lanes = F.List(F.Nested(PausedLaneIn), load_default=list)
    moved_consignees = F.List(
        Id(),
        load_default=list,
        metadata={
            "description": "consignees moving to another provider: their lanes as consignee are lost, and "
            "they leave unless they also ship with us"
        },
    )
    threshold = number(
        dataclasses.replace(bounds.SHARE, low_inclusive=False),
        load_default=None,
        description="an account keeping less than this share of its volume is lost; "
        "default: the scoring parameter cascade_threshold",
    )

    @ma.validates_schema
    def _something_changed(self, data, **_kwargs):
        if not any(data[key] for key in CHANGE_FIELDS):
            raise ma.ValidationError(f"give at least one of {', '.join(CHANGE_FIELDS)}", "remove_customers")
        for key, id_field in (("volume_cuts", "shipper_id"), ("paused_lanes", "link_id")):
            ids = [change[id_field] for change in data[key]]
            if len(ids) != len(set(ids)):
                raise ma.ValidationError(f"each {id_field} at most once", key)


CHANGE_FIELDS = ("remove_customers", "remove_links", "volume_cuts", "paused_lanes", "moved_consignees")


class LostCustomerOut(ma.Schema):
    id = Id()
    name = F.String()
    round = F.Integer()
    roles = F.List(F.String())
    shipments_per_month = F.Float(metadata={"description": "on all its lanes, over the volume window"})
    revenue_per_month = F.Float(metadata={"description": "on all its lanes, over the volume window"})


class RoundOut(ma.Schema):
    round = F.Integer(metadata={"description": "0: the changes themselves"})
    customer_ids = F.List(Id(), metadata={"description": "the accounts lost in this round that you may see"})
    hidden_customers = F.Integer(metadata={"description": "accounts lost in this round you may not see"})
    volume = F.Float(
        metadata={"description": "shipments in the trailing volume window (what the threshold weighs)"}
    )
    shipments_per_month = F.Float()
    revenue_per_month = F.Float()
    margin_per_month = F.Float(metadata={"description": "revenue less the cost of serving the business cut"})
    links_cut = F.Integer(
        metadata={"description": "links cut whole (a cut or a short pause only thins them)"}
    )
    expected_revenue_per_month_lost = F.Float(
        metadata={"description": "the expected loss once the cascade has gone this far: every account lost "
                  "by this round at risk 1"}
    )  # fmt: skip


class RisingRiskOut(ma.Schema):
    id = Id()
    name = F.String()
    roles = F.List(F.String())
    risk_before = F.Float()
    risk_after = F.Float(metadata={"description": "with every account the cascade loses at risk 1"})


class WhatIfOut(ma.Schema):
    rounds = F.List(F.List(Id()), metadata={"description": "ids of the accounts lost in each round"})
    round_outcomes = F.List(F.Nested(RoundOut))
    lost_customers = F.List(F.Nested(LostCustomerOut))
    hidden_lost_customers = F.Integer(
        metadata={"description": "lost accounts you may not see (named only for you)"}
    )
    links_cut = F.Integer()
    shipments_per_month_lost = F.Float()
    revenue_per_month_lost = F.Float()
    margin_per_month_lost = F.Float()
    expected_revenue_per_month_lost = F.Float(
        metadata={
            "description": "what the changes add to the expected revenue loss under the risk model (removed "
            "and departing accounts at risk 1, revenue the lane changes take lost for certain, compared with "
            "no change)"
        }
    )
    expected_revenue_per_month_lost_after_cascade = F.Float(
        metadata={"description": "the same with every account the cascade loses at risk 1 (the last round's)"}
    )
    rising_risks = F.List(
        F.Nested(RisingRiskOut),
        metadata={
            "description": "accounts still with us whose risk rises most, largest rise first (those you may see)"
        },
    )
    threshold = F.Float()
    config_hash = F.String()
    as_of = F.DateTime(metadata={"description": AS_OF})
    full_as_of = F.DateTime(metadata={"description": FULL_AS_OF})
    stale = F.Boolean(metadata={"description": STALE})


class ScenarioIn(WhatIfIn):
    name = F.String(required=True, validate=ma.validate.Length(min=1, max=200))
    description = F.String(
        load_default=None, allow_none=True, validate=ma.validate.Length(max=bounds.LONG_TEXT)
    )


class ScenarioOut(ma.Schema):
    id = Id()
    name = F.String()
    description = F.String(allow_none=True)
    changes = F.Dict(metadata={"description": "the what-if request: the fields of POST /network/what-if"})
    created_by_id = Id(allow_none=True)
    created_at = F.AwareDateTime()
    last_run_at = F.AwareDateTime(allow_none=True, metadata={"description": "when it was saved and run"})
    last_totals = F.Dict(allow_none=True, metadata={"description": "its totals then"})


class ScenarioRunOut(WhatIfOut):
    scenario = F.Nested(ScenarioOut)


class CompareIn(ma.Schema):
    ids = F.List(Id(), required=True, validate=ma.validate.Length(min=2, max=10))


class ScenarioTotalsOut(ma.Schema):
    id = Id()
    name = F.String()
    cascade_rounds = F.Integer(metadata={"description": "rounds after round 0"})
    customers_lost = F.Integer(metadata={"description": "all of them, those you may not see included"})
    links_cut = F.Integer()
    shipments_per_month_lost = F.Float()
    revenue_per_month_lost = F.Float()
    margin_per_month_lost = F.Float()
    expected_revenue_per_month_lost = F.Float()
    expected_revenue_per_month_lost_after_cascade = F.Float()
    top_rising_risk = F.Nested(RisingRiskOut, allow_none=True)
    saved_totals = F.Dict(allow_none=True, metadata={"description": "the same totals when it was saved"})


class CompareOut(ma.Schema):
    scenarios = F.List(F.Nested(ScenarioTotalsOut), metadata={"description": "in the order asked"})
    config_hash = F.String()


class BucketOut(ma.Schema):
    bucket = F.String()
    count = F.Integer()


class MismatchOut(ma.Schema):
    id = Id()
    name = F.String()
    tier = F.String()
    value_tier = F.String()
    mismatch = F.String()


class PortfolioOut(ma.Schema):
    customers = F.Integer()
    by_role = F.Dict(keys=F.String(), values=F.Integer())
    by_tier = F.Dict(keys=F.String(), values=F.Integer())
    by_abc_class = F.Dict(keys=F.String(), values=F.Integer())
    pareto_ratio = F.Float(
        allow_none=True, metadata={"description": "share of customers making 80% of profit"}
    )
    satisfaction_distribution = F.List(
        F.Nested(BucketOut),
        metadata={"description": f"accounts per 20-point range of the {INDEX}; unknown: no data"},
    )
    risk_distribution = F.List(F.Nested(BucketOut))
    tier_mismatches = F.List(F.Nested(MismatchOut))
    config_hash = F.String()
    as_of = F.DateTime(metadata={"description": AS_OF})
    full_as_of = F.DateTime(metadata={"description": FULL_AS_OF})
    stale = F.Boolean(metadata={"description": STALE})


class ReliabilityBinOut(ma.Schema):
    bin = F.String(metadata={"description": "range of predicted probability"})
    predicted = F.Float(metadata={"description": "mean predicted probability in the bin"})
    observed = F.Float(metadata={"description": "share that did leave within the horizon"})
    count = F.Integer()


class EvaluationOut(ma.Schema):
    samples = F.Integer(metadata={"description": "account-origins judged"})
    events = F.Integer(metadata={"description": "of which left within the horizon"})
    base_rate = F.Float(metadata={"description": "events / samples"})
    auc = F.Float(allow_none=True, metadata={"description": "ranking quality, 0.5 = chance, 1 = perfect"})
    pr_auc = F.Float(allow_none=True, metadata={"description": "average precision"})
    brier = F.Float(metadata={"description": "mean squared error of the probabilities (lower is better)"})
    brier_skill = F.Float(
        allow_none=True,
        metadata={"description": "1 − Brier / Brier of the base rate; > 0 beats the base rate"},
    )
    top_decile_capture = F.Float(
        allow_none=True, metadata={"description": "share of the leavers among the 10% judged riskiest"}
    )
    reliability = F.List(F.Nested(ReliabilityBinOut))


class ModelMetricsOut(ma.Schema):
    backtest = F.Nested(EvaluationOut, allow_none=True, metadata={"description": "pooled over test origins"})
    followers = F.Nested(
        EvaluationOut,
        allow_none=True,
        metadata={"description": "accounts that left only after a partner did, against those who stayed"},
    )


class ModelFeatureOut(ma.Schema):
    name = F.String()
    means = F.String(metadata={"description": "what one unit of the feature is"})
    weight = F.Float(metadata={"description": "log-odds of leaving per unit of the feature"})
    step = F.Float(
        metadata={"description": "a typical change: one standard deviation in the training data (prior: 1)"}
    )
    odds_ratio = F.Float(metadata={"description": "factor on the odds of leaving per step"})
    effect = F.String(metadata={"description": "the effect of one step, in words"})


class ModelCardOut(ma.Schema):
    version = F.Integer(
        allow_none=True, metadata={"description": "null: no model fitted, the cold-start prior"}
    )
    method = F.String(metadata={"description": "prior (hand-set weights) or learnt"})
    note = F.String(metadata={"description": "where the weights come from"})
    target = F.String(metadata={"description": "the event every risk figure is the probability of"})
    horizon_days = F.Integer()
    inactive_days = F.Integer(metadata={"description": "a shipper silent this long has left"})
    created_at = F.DateTime(allow_none=True)
    window_start = F.Date(allow_none=True, metadata={"description": "first replayed origin"})
    window_end = F.Date(allow_none=True, metadata={"description": "last origin whose outcome is known"})
    origins = F.Integer(metadata={"description": "monthly origins replayed"})
    events = F.Integer(metadata={"description": "churn events the model learnt from"})
    samples = F.Integer(metadata={"description": "account-origins the model learnt from"})
    coupling = F.Float(metadata={"description": "scale of the network's couplings, fitted on co-churn"})
    features = F.List(F.Nested(ModelFeatureOut))
    metrics = F.Nested(ModelMetricsOut)
    config_hash = F.String()


class BacktestOriginOut(EvaluationOut):
    origin = F.Date(metadata={"description": "the moment predicted from, as if it were today"})
    method = F.String(metadata={"description": "the model fitted on the origins known by then"})


class BacktestOut(ma.Schema):
    version = F.Integer(allow_none=True, metadata={"description": "null: no model fitted yet"})
    horizon_days = F.Integer(allow_none=True)
    note = F.String(metadata={"description": "what was back-tested, in words"})
    pooled = F.Nested(EvaluationOut, allow_none=True)
    followers = F.Nested(EvaluationOut, allow_none=True)
    origins = F.List(F.Nested(BacktestOriginOut))
