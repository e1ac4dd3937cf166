"""What several pages read: the scored portfolio as the API reads it, who the user may see, and paging."""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo

from flask import current_app, g, request

from logicrm.api import session
from logicrm.customers import service as customers
from logicrm.db import utcnow
from logicrm.health.rule_params import RuleParams
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


def today() -> dt.date:
    """Today in the display time zone: what a task 'due today' means to the person reading the page."""
    return utcnow().astimezone(zoneinfo.ZoneInfo(current_app.config["LOGICRM"].display_timezone)).date()


def visible() -> set[int] | None:
    """Ids of the accounts the user may see; None: all of them. Read once per request (a page asks for
    each row it names a partner in, and at 10,000 accounts each read costs milliseconds)."""
    if "visible_ids" not in g:
        g.visible_ids = customers.visible_id_set(session(), user=user())
    return g.visible_ids


def page_number(name: str = "page") -> int:
    """The page asked for in the query string (1 when missing or not a positive number)."""
    value = request.args.get(name, "1")
    return int(value) if value.isdigit() and 0 < int(value) < 1_000_000 else 1


def page_size(default: int = 50) -> int:
    """The page size asked for, held within the API's maximum."""
    value = request.args.get("page_size", "")
    size = int(value) if value.isdigit() and int(value) > 0 else default
    return min(size, current_app.config["LOGICRM"].page_size_max)


def page_of(items: list, *, page: int, size: int) -> dict:
    """One page of a list computed in memory, in the envelope `logicrm.api.paginate` gives a query's."""
    return {
        "items": items[(page - 1) * size : page * size],
        "meta": {"total": len(items), "page": page, "page_size": size, "pages": math.ceil(len(items) / size)},
    }
