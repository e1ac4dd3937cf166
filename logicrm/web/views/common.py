"""What several pages read: the scored portfolio as the API reads it, who the user may see, and paging."""

from __future__ import annotations

from flask import current_app, request

from logicrm.api import session
from logicrm.customers import service as customers
from logicrm.health.rules import RuleParams
from logicrm.network.params import ScoringParams
from logicrm.scoring import model as churn_models
from logicrm.scoring import scores
from logicrm.web.pages import user


def params() -> ScoringParams:
    return current_app.config["LOGICRM_SCORING"]


def rules() -> RuleParams:
    return current_app.config["LOGICRM_RULES"]


def portfolio() -> scores.PortfolioScores:
    """The scored portfolio, cached exactly as the API's answers use it."""
    settings = current_app.config["LOGICRM"]
    return churn_models.current_scores(
        session(), params(), max_age_s=settings.scores_cache_seconds, in_request=settings.scores_in_request
    )


def visible() -> set[int] | None:
    """Ids of the accounts the user may see; None: all of them."""
    return customers.visible_id_set(session(), user=user())


def page_number(name: str = "page") -> int:
    """The page asked for in the query string (1 when missing or not a positive number)."""
    value = request.args.get(name, "1")
    return int(value) if value.isdigit() and 0 < int(value) < 1_000_000 else 1


def page_size(default: int = 50) -> int:
    """The page size asked for, held within the API's maximum."""
    value = request.args.get("page_size", "")
    size = int(value) if value.isdigit() and int(value) > 0 else default
    return min(size, current_app.config["LOGICRM"].page_size_max)
