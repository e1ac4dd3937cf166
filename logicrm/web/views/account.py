"""The account page (customer 360): who they are, health in words, satisfaction per department, the trend,
both sides of the relationship, lanes, the timeline, contacts, opportunities, and what one can do."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from flask import current_app, request

from logicrm.api import paginate, session
from logicrm.audit import service as audit
from logicrm.customers import records
from logicrm.customers import service as customers
from logicrm.db import utcnow
from logicrm.health import alerts, history
from logicrm.health.models import AlertState
from logicrm.lanes import service as lanes
from logicrm.lanes import shipments
from logicrm.relations import service as relations
from logicrm.relations.schemas import ContactOut
from logicrm.sales.service import OPPORTUNITIES
from logicrm.scoring import reports
from logicrm.tickets.service import TICKETS
from logicrm.users import service as users
from logicrm.web import words
from logicrm.web.pages import Page, render, route, user
from logicrm.web.views import account_actions
from logicrm.web.views.alerts import rows as alert_rows
from logicrm.web.views.common import page_number, page_of, params, portfolio, visible

if TYPE_CHECKING:
    from logicrm.network.graph import Lane

MONTHS = 12
TREND_POINTS = 90  # snapshots on the trend chart (about three months of nightly runs)
TIMELINE_PAGE = 25
# lanes and partners a page shows: a hub has hundreds, so they page on the server, the busiest partners first
SECTION_PAGE = 25
SECTION_PAGES = ("consignees_page", "shippers_page", "lanes_page")


@route("/accounts/<int:customer_id>")
class Account(Page):
    def get(self, customer_id):
        customer = customers.get(session(), user=user(), customer_id=customer_id)
        scored = portfolio()
        account = scored.accounts.get(customer_id)
        seen = visible()
        health = reports.health(scored, customer_id, visible=seen) if account else None
        departments = list(
            session().scalars(
                records.list_statement(user=user(), kind=relations.DEPARTMENTS, customer_id=customer_id)
            )
        )
        pages = {name: page_number(name) for name in SECTION_PAGES}
        link_page = paginate(
            session(),
            lanes.list_statement(user=user(), customer_id=customer_id),
            page=pages["lanes_page"],
            page_size=SECTION_PAGE,
        )
        return render(
            "account.html",
            customer=customer,
            account=account,
            health=health,
            causes=_causes(scored, account, seen) if account else [],
            all_drivers=_all_drivers(scored, account, seen) if account else [],
            people=_people(customer),
            departments=_departments(customer_id, health, departments),
            trend=_trend(customer_id),
            partners=_partners(scored, customer_id, seen, pages=pages),
            lanes={**_lanes(link_page["items"], customer_id), "meta": link_page["meta"]},
            page_args={"customer_id": customer_id, **{k: v for k, v in pages.items() if v > 1}},
            timeline=timeline(customer_id, page=1),
            contacts=ContactOut(many=True).dump(
                session().scalars(
                    records.list_statement(user=user(), kind=relations.CONTACTS, customer_id=customer_id)
                )
            ),
            department_names={d.id: d.name for d in departments},
            opportunities=list(
                session().scalars(
                    records.list_statement(
                        user=user(), kind=OPPORTUNITIES, customer_id=customer_id, newest_by="expected_close"
                    )
                )
            ),
            alerts=_alerts(customer_id),
            forms=account_actions.new_forms(customer),
            rhythm_window=params().volume_window_days,
        )


def _alerts(customer_id: int) -> list[dict]:
    statement = alerts.list_statement(session(), user=user(), customer_id=customer_id)
    found = [a for a in session().scalars(statement) if a.state != AlertState.RESOLVED]
    return alert_rows(found)


def _names(scored, stored, seen) -> dict[int, str]:
    return reports.partner_names(scored, {d["key"] for d in stored if d["kind"] == "neighbour"}, visible=seen)


def _causes(scored, account, seen) -> list[dict]:
    stored = reports.stored_drivers(scored, account)
    return words.main_causes(stored, _names(scored, stored, seen))


def _all_drivers(scored, account, seen) -> list[dict]:
    stored = reports.stored_drivers(scored, account)
    names = _names(scored, stored, seen)
    return [{"text": words.driver_text(d, names), "share": d["share"], "kind": d["kind"]} for d in stored]


def _people(customer) -> dict:
    ids = {customer.owner_id, *(member.id for member in customer.team)} - {None}
    named = {u.id: u.name for u in session().scalars(users.list_statement()) if u.id in ids}
    return {
        "owner": named.get(customer.owner_id),
        "team": [named[m.id] for m in customer.team if m.id in named],
    }


def _departments(customer_id: int, health, departments) -> dict:
    """Each department's satisfaction (0–100), its gap per service dimension, the weakest deciding one."""
    since = utcnow() - dt.timedelta(days=params().silent_after_days)
    gaps = relations.dimension_gaps(session(), customer_id=customer_id, since=since)
    scored = {d["id"]: d for d in (health or {}).get("satisfaction", {}).get("departments", [])}
    weakest = ((health or {}).get("satisfaction") or {}).get("weakest_deciding_department") or {}
    return {
        "rows": [
            {
                "department": d,
                "score": scored.get(d.id),
                "gaps": {dim: gaps.get((d.id, dim)) for dim in words.DIMENSION_ORDER},
            }
            for d in departments
        ],
        "weakest_id": weakest.get("id"),
        "dimensions": [dim for dim in words.DIMENSION_ORDER if any((d.id, dim) in gaps for d in departments)],
        "since": since,
    }


def _trend(customer_id: int) -> dict:
    """The account's health over past runs as a chart: network risk (%) and satisfaction (0–100)."""
    found = paginate(
        session(), history.list_statement(customer_id=customer_id), page=1, page_size=TREND_POINTS
    )
    snapshots = history.present(session(), user=user(), snapshots=found["items"])[::-1]
    return {
        "points": snapshots,
        "chart": {
            "type": "line",
            "labels": [s["taken_at"].date().isoformat() for s in snapshots],
            "datasets": [
                {
                    "label": str(words.TREND_LABELS["risk"]),
                    "data": [round(100 * s["network_risk"], 1) for s in snapshots],
                    "yAxisID": "y",
                },
                {
                    "label": str(words.TREND_LABELS["satisfaction"]),
                    "data": [s["satisfaction"] for s in snapshots],
                    "yAxisID": "y",
                },
            ],
            "scales": {
                "y": {
                    "min": 0,
                    "max": 100,
                    "title": {"display": True, "text": str(words.TREND_LABELS["axis"])},
                }
            },
        },
    }


def _partners(scored, customer_id: int, seen, *, pages: dict[str, int]) -> dict:
    """Both sides of the relationship, from the scored network: each partner with its own health and the
    business on the lanes between them (shipments and revenue per month over the volume window). Each
    side is one page of SECTION_PAGE partners, the busiest first, with its paging envelope."""
    edges = {"consignees": [], "shippers": []}
    if customer_id in scored.arrays.index:
        for lane in scored.arrays.lanes(customer_id):
            edges["consignees" if lane.direction in ("down", "both") else "shippers"].append(lane)
    sides = {}
    for side, found in edges.items():
        found.sort(key=lambda lane: (-lane.shipments_per_month, lane.partner))
        shown = page_of(found, page=pages[f"{side}_page"], size=SECTION_PAGE)
        sides[side] = [_partner(scored, lane, seen) for lane in shown["items"]]
        sides[f"{side}_meta"] = shown["meta"]
    return sides


def _partner(scored, lane: Lane, seen) -> dict:
    hidden = seen is not None and lane.partner not in seen
    other = None if hidden else scored.accounts.get(lane.partner)
    return {
        "id": lane.partner,
        "hidden": hidden,
        "name": other.name if other else None,
        "risk": other.network_risk if other else None,
        "satisfaction": None
        if other is None or other.satisfaction.score is None
        else 100 * other.satisfaction.score,
        "shipments_per_month": lane.shipments_per_month,
        "revenue_per_month": lane.revenue_per_month,
    }


def _lanes(link_rows, customer_id: int) -> dict:
    """The account's lanes with their last 12 months: shipments per month and the on-time-in-full rate."""
    today = utcnow().date().replace(day=1)
    months = []
    for _ in range(MONTHS):
        months.append(today)
        today = (today - dt.timedelta(days=1)).replace(day=1)
    months.reverse()
    since = dt.datetime.combine(months[0], dt.time(), tzinfo=dt.UTC)
    figures = shipments.monthly(session(), link_ids=[link.id for link in link_rows], since=since)
    partners = customers.names_for(
        session(),
        user=user(),
        ids={end for link in link_rows for end in (link.shipper_id, link.consignee_id)},
    )
    rows = []
    for link in link_rows:
        per_month = figures.get(link.id, {})
        counts = [per_month.get(m.strftime("%Y-%m"), {}).get("shipments", 0) for m in months]
        measured = sum(v["delivered"] for v in per_month.values())
        on_time = sum(v["on_time"] for v in per_month.values())
        partner = link.consignee_id if link.shipper_id == customer_id else link.shipper_id
        rows.append(
            {
                "link": link,
                "partner_id": partner,
                "partner_name": partners.get(partner),
                "as_shipper": link.shipper_id == customer_id,
                "months": list(zip(months, counts, strict=True)),
                "total": sum(counts),
                "on_time": on_time / measured if measured else None,
                "measured": measured,
            }
        )
    return {"months": months, "rows": rows}


def timeline(customer_id: int, *, page: int) -> dict:
    """Interactions, surveys, tickets and recorded changes, newest first: page `page` of the merged list
    (the newest page × size of each kind are read, merged and cut, so pages never overlap or skip)."""
    size, me = TIMELINE_PAGE, user()
    wanted = min(page * size, current_app.config["LOGICRM"].page_size_max)

    def newest(statement):
        return paginate(session(), statement, page=1, page_size=wanted)

    kinds = {
        "interaction": (relations.INTERACTIONS, "at"),
        "survey": (relations.SURVEYS, "collected_at"),
        "ticket": (TICKETS, "opened_at"),
    }
    found = {
        kind: newest(
            records.list_statement(user=me, kind=record_kind, customer_id=customer_id, newest_by=column)
        )
        for kind, (record_kind, column) in kinds.items()
    }
    changes = newest(audit.history_statement(customer_id=customer_id))
    entries = [
        {"kind": kind, "at": getattr(item, kinds[kind][1]), "item": item}
        for kind, listed in found.items()
        for item in listed["items"]
    ]
    entries += [
        {"kind": "change", "at": event["at"], "item": event}
        for event in audit.present(user=me, events=changes["items"])
        # a record's creation is its own entry; its later changes are shown as changes
        if event["entity"] not in kinds or event["action"] != "create"
    ]
    entries.sort(key=lambda e: e["at"], reverse=True)
    authors = {u.id: u.name for u in session().scalars(users.list_statement())}
    lists = [*found.values(), changes]
    return {
        "entries": entries[(page - 1) * size : page * size],
        "page": page,
        "more": wanted == page * size
        and (len(entries) > wanted or any(listed["meta"]["total"] > wanted for listed in lists)),
        "authors": authors,
    }


@route("/accounts/<int:customer_id>/timeline")
class AccountTimeline(Page):
    """More of the timeline (htmx asks for the next page)."""

    def get(self, customer_id):
        customers.require_visible(session(), user=user(), customer_id=customer_id)
        page = request.args.get("page", "1")
        return render(
            "_timeline.html",
            customer_id=customer_id,
            timeline=timeline(
                customer_id, page=int(page) if page.isdigit() and 0 < int(page) < 10_000 else 1
            ),
        )
