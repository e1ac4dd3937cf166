"""The portfolio's satisfaction from its survey rows (logicrm.network.satisfaction scores it): departments
and responses become records, each stored number held to its bound, and every account gets its verdict now
and its score `satisfaction_drop_days` before, shrunk toward the portfolio's priors of the same moments.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from logicrm.bounds import DECISION_WEIGHT, IMPORTANCE, LIKELIHOOD_TO_RECOMMEND
from logicrm.network.params import ScoringParams
from logicrm.network.satisfaction import (
    DepartmentRecord,
    Priors,
    ResponseRecord,
    account_satisfaction,
    account_score,
    portfolio_priors,
)
from logicrm.scoring.problems import Problems

if TYPE_CHECKING:
    from logicrm.scoring.scores import Aggregates


@dataclass(frozen=True, slots=True)
class SatisfactionPriors:
    """The portfolio's satisfaction priors now and `satisfaction_drop_days` before (`measure`)."""

    now: Priors
    before: Priors


def measure(
    data: Aggregates,
    params: ScoringParams,
    now: dt.datetime,
    problems: Problems,
    *,
    priors: SatisfactionPriors | None = None,
):
    """Return account satisfaction now and the score `satisfaction_drop_days` ago, per customer, and the
    priors they were shrunk toward.

    Departments and accounts are shrunk toward the portfolio's priors of the same moment (`priors` when
    given: those of the portfolio as observed in full).
    """
    earlier_by_department = {row.department_id: row for row in data.earlier_answers}
    departments: dict[int, list[DepartmentRecord]] = defaultdict(list)
    for row in data.departments:
        weight = problems.number(
            row.decision_weight,
            DECISION_WEIGHT,
            customers=(row.customer_id,),
            field="departments.decision_weight",
            record_id=row.id,
        )
        earlier = earlier_by_department.get(row.id)
        departments[row.customer_id].append(
            DepartmentRecord(
                id=row.id,
                name=sys.intern(row.name),  # a few names over many accounts: one object each in the pickle
                weight=weight or 0.0,
                is_decision_maker=row.is_decision_maker,
                earlier_answer=earlier and earlier.answered,
                earlier_recommendation=earlier and earlier.recommended,
            )
        )
    dimensions: dict[int, dict[str, float]] = defaultdict(dict)
    for row in data.dimension_scores:
        dimensions[row.response_id][sys.intern(str(row.dimension))] = float(row.score)
    responses: dict[int, list[ResponseRecord]] = defaultdict(list)
    for row in data.responses:
        customers = (row.customer_id,)
        for column, left_out in (
            ("importance", row.importance_left_out),
            ("expectation", row.expectation_left_out),
            ("perception", row.perception_left_out),
        ):
            if left_out:
                problems.note(
                    customers,
                    f"survey_scores.{column}",
                    row.id,
                    f"{left_out} ratings whose {column} is not a usable number: left out",
                )
        if row.importances_clamped:
            problems.note(
                customers,
                "survey_scores.importance",
                row.id,
                f"{row.importances_clamped} importances above {IMPORTANCE.high:g}: scored as {IMPORTANCE.high:g}",
            )
        responses[row.customer_id].append(
            ResponseRecord(
                department_id=row.department_id,
                collected_at=row.collected_at,
                score=None if row.score is None else float(row.score),
                likelihood_to_recommend=problems.number(
                    row.likelihood_to_recommend,
                    LIKELIHOOD_TO_RECOMMEND,
                    customers=customers,
                    field="survey_responses.likelihood_to_recommend",
                    record_id=row.id,
                ),
                dimensions=dimensions.get(row.id, {}),
            )
        )
    earlier = now - dt.timedelta(days=params.satisfaction_drop_days)
    if priors is None:
        live = [responses[row.id] for row in data.customers]  # the portfolio the priors describe
        priors = SatisfactionPriors(
            now=portfolio_priors(live, as_of=now, params=params),
            # the earlier day only gives the satisfaction drop: its score alone
            before=portfolio_priors(live, as_of=earlier, params=params, satisfaction_only=True),
        )
    priors_now, priors_before = priors.now, priors.before
    now_scores, before_scores = {}, {}
    for row in data.customers:
        depts, said = departments[row.id], responses[row.id]

        def both(depts=depts, said=said):
            return (
                account_satisfaction(depts, said, as_of=now, params=params, priors=priors_now),
                account_score(depts, said, as_of=earlier, params=params, priors=priors_before),
            )

        now_scores[row.id], before_scores[row.id] = problems.guard(
            row.id,
            "satisfaction",
            both,
            lambda: (account_satisfaction((), (), as_of=now, params=params, priors=priors_now), None),
        )
    return now_scores, before_scores, priors
