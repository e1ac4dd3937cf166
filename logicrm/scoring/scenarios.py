"""Saved what-if scenarios: named changes that planners share, re-run against today's data and compare.

Everyone who may run a what-if sees every saved scenario, except that an account manager sees only those
whose every customer and lane it may see: another one is, to it, a scenario that does not exist. A saved
scenario keeps the totals of its run when saved (counts and money over the whole network, no names).
`checked` turns a what-if request into a network scenario, refusing unknown, hidden or ill-fitting ids.
"""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.orm import Session

from logicrm import access
from logicrm.customers import service as customers
from logicrm.db import utcnow
from logicrm.errors import Forbidden, NotFound, field_error, first_of
from logicrm.lanes import service as lanes
from logicrm.network import scenarios
from logicrm.network.graph import CONSIGNEE, SHIPPER
from logicrm.scoring.models import Scenario
from logicrm.scoring.scores import PortfolioScores
from logicrm.users.models import User

# the roles that may delete any saved scenario (others: only their own)
CURATORS = access.TEAM_MANAGERS
TOTALS = (
    "links_cut",
    "shipments_per_month_lost",
    "revenue_per_month_lost",
    "margin_per_month_lost",
    "expected_revenue_per_month_lost",
    "expected_revenue_per_month_lost_after_cascade",
)


def references(changes: dict) -> tuple[set[int], set[int]]:
    """The customers and the lanes a scenario's changes name."""
    named_customers = {
        *changes.get("remove_customers", ()),
        *changes.get("moved_consignees", ()),
        *(cut["shipper_id"] for cut in changes.get("volume_cuts", ())),
    }
    named_links = {
        *changes.get("remove_links", ()),
        *(pause["link_id"] for pause in changes.get("paused_lanes", ())),
    }
    return named_customers, named_links


def _seen_by(session: Session, user: User):
    """A test of whether the user sees all that a scenario names."""
    if not access.is_restricted(user):
        return lambda _scenario: True
    visible = customers.visible_id_set(session, user=user) or set()
    visible_links = lanes.visible_link_ids(session, user=user) or set()

    def seen(scenario: Scenario) -> bool:
        named_customers, named_links = references(scenario.changes)
        return named_customers <= visible and named_links <= visible_links

    return seen


def list_page(session: Session, *, user: User, page: int, page_size: int) -> dict:
    """One page of the saved scenarios the user sees, newest first."""
    seen = _seen_by(session, user)
    found = [s for s in session.scalars(select(Scenario).order_by(Scenario.id.desc())) if seen(s)]
    start = (page - 1) * page_size
    return {
        "items": found[start : start + page_size],
        "meta": {
            "total": len(found),
            "page": page,
            "page_size": page_size,
            "pages": math.ceil(len(found) / page_size) if found else 0,
        },
    }


def get(session: Session, *, user: User, scenario_id: int) -> Scenario:
    """One saved scenario the user sees, or NotFound (a hidden one included)."""
    scenario = session.get(Scenario, scenario_id)
    if scenario is None or not _seen_by(session, user)(scenario):
        raise NotFound(f"scenario {scenario_id} not found")
    return scenario


def get_many(session: Session, *, user: User, scenario_ids: list[int]) -> list[Scenario]:
    """The saved scenarios named in a body, in order; any unknown or hidden one is refused naming `ids`."""
    seen = _seen_by(session, user)
    found = {
        s.id: s for s in session.scalars(select(Scenario).where(Scenario.id.in_(scenario_ids))) if seen(s)
    }
    unknown = [i for i in scenario_ids if i not in found]
    if unknown:
        raise field_error("ids", f"unknown scenarios {unknown}")
    return [found[i] for i in scenario_ids]


def totals(answer: dict) -> dict:
    """The totals of a what-if answer worth keeping: counts and money, no names or ids."""
    return {
        "cascade_rounds": len(answer["round_outcomes"]) - 1,
        "customers_lost": sum(
            len(r["customer_ids"]) + r["hidden_customers"] for r in answer["round_outcomes"]
        ),
        **{key: answer[key] for key in TOTALS},
    }


def create(
    session: Session, *, user: User, name: str, description: str | None, changes: dict, answer: dict
) -> Scenario:
    """Save a scenario with the totals of its run (`answer`, the what-if of `changes` now)."""
    changes = dict(changes)
    scenario = Scenario(
        name=name,
        description=description,
        threshold=changes.pop("threshold", None),
        changes=changes,
        created_by_id=user.id,
        last_run_at=utcnow(),
        last_totals=totals(answer),
    )
    session.add(scenario)
    session.flush()
    return scenario


def delete(session: Session, *, user: User, scenario: Scenario) -> None:
    """Delete a saved scenario: its author's, or anyone's for admins and managers."""
    if scenario.created_by_id != user.id and user.role not in CURATORS:
        raise Forbidden("only its author, a manager or an admin may delete a saved scenario")
    session.delete(scenario)
    session.flush()


def what_if_request(scenario: Scenario) -> dict:
    """The what-if request a saved scenario makes."""
    changes = {
        key: []
        for key in ("remove_customers", "remove_links", "volume_cuts", "paused_lanes", "moved_consignees")
    }
    return {**changes, **scenario.changes, "threshold": scenario.threshold}


def checked(portfolio: PortfolioScores, *, visible, visible_links, **changes) -> scenarios.Scenario:
    """The changes as a scenario, every id checked: known, visible, of the role its change needs."""

    def known_customers(field: str, ids: list[int], role: str | None = None) -> list[int]:
        unknown = [
            c for c in ids if c not in portfolio.accounts or (visible is not None and c not in visible)
        ]
        if unknown:
            raise field_error(field, f"unknown customers {first_of(unknown)}")
        wrong = [c for c in ids if role is not None and role not in portfolio.accounts[c].roles]
        if wrong:
            raise field_error(field, f"customers {first_of(wrong)} are not {role}s")
        return ids

    def known_links(field: str, ids: list[int]) -> list[int]:
        unknown = [
            link
            for link in ids
            if link not in portfolio.arrays.link_index
            or (visible_links is not None and link not in visible_links)
        ]
        if unknown:
            raise field_error(field, f"unknown or ended links {first_of(unknown)}")
        return ids

    cuts, pauses = changes["volume_cuts"], changes["paused_lanes"]
    shippers = known_customers("volume_cuts", [cut["shipper_id"] for cut in cuts], SHIPPER)
    return scenarios.Scenario(
        remove_customers=known_customers("remove_customers", changes["remove_customers"]),
        remove_links=known_links("remove_links", changes["remove_links"]),
        volume_cuts={c: cut["percent"] / 100 for c, cut in zip(shippers, cuts, strict=True)},
        paused_links=dict(
            zip(
                known_links("paused_lanes", [p["link_id"] for p in pauses]),
                (p["weeks"] for p in pauses),
                strict=True,
            )
        ),
        moved_consignees=known_customers("moved_consignees", changes["moved_consignees"], CONSIGNEE),
    )


def compare(runs: list[tuple], portfolio: PortfolioScores) -> dict:
    """Saved scenarios side by side: each one's totals now (from its what-if answer) and when saved."""
    return {
        "scenarios": [
            {
                "id": scenario.id,
                "name": scenario.name,
                **totals(answer),
                "top_rising_risk": answer["rising_risks"][0] if answer["rising_risks"] else None,
                "saved_totals": scenario.last_totals,
            }
            for scenario, answer in runs
        ],
        "config_hash": portfolio.config_hash,
    }
