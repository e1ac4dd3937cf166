"""What-if: remove shippers, consignees or lanes and see the cascade round by round, on the graph and in
a table with volume, revenue and expected loss. A computation: any role may run it, nothing is written."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, request

from logicrm.api import describe_errors, paginate, session
from logicrm.errors import Invalid
from logicrm.lanes import service as lanes
from logicrm.scoring import reports
from logicrm.scoring.schemas import WhatIfIn
from logicrm.web.pages import Page, render, route, user
from logicrm.web.views.common import params, portfolio, visible
from logicrm.web.views.network import elements

CHOICES = 200  # accounts (and lanes) offered in the pickers: the biggest by revenue (others by search)
ROUND_LISTED = 50  # accounts named per round in the table (the round's totals count every one)


def _ids(name: str) -> list[int]:
    return [int(v) for v in request.values.getlist(name) if v.isdigit() and int(v) < 2**31]


def _candidates(scored, seen, chosen: list[int], query: str) -> list:
    accounts = [a for c, a in scored.accounts.items() if seen is None or c in seen]
    if query:
        needle = query.casefold()
        accounts = [a for a in accounts if needle in a.name.casefold() or a.customer_id in chosen]
    accounts.sort(key=lambda a: (a.customer_id not in chosen, -a.value.revenue, a.customer_id))
    return accounts[:CHOICES]


def biggest_shipper(scored, seen) -> int | None:
    """The shipper the user may see that brings the most revenue."""
    shippers = [a for c, a in scored.accounts.items() if "shipper" in a.roles and (seen is None or c in seen)]
    return max(shippers, key=lambda a: (a.value.revenue, -a.customer_id)).customer_id if shippers else None


@route("/what-if", methods=["GET", "POST"])
class WhatIf(Page):
    read_only = True  # a computation, like the API's POST /network/what-if

    def get(self):
        return self._page(chosen=_ids("remove"), links=[], threshold=None, result=None)

    def post(self):
        scored, seen = portfolio(), visible()
        chosen = _ids("remove")
        if request.form.get("scenario") == "biggest_shipper":
            chosen = [c for c in [biggest_shipper(scored, seen)] if c is not None]
        links = _ids("remove_link")
        threshold = request.form.get("threshold", "").strip()
        payload = {"remove_customers": chosen, "remove_links": links}
        if threshold:
            try:
                payload["threshold"] = float(threshold) / 100
            except ValueError:
                payload["threshold"] = threshold
        error, result = None, None
        try:
            loaded = WhatIfIn().load(payload)
            result = reports.what_if(
                scored,
                params(),
                visible=seen,
                visible_links=lanes.visible_link_ids(session(), user=user()),
                **loaded,
            )
        except Invalid as refused:
            error = refused.message
        except ma.ValidationError as refused:
            error = describe_errors({"json": refused.messages})
        return self._page(
            chosen=chosen,
            links=links,
            threshold=threshold,
            result=result,
            error=error,
            status=422 if error else 200,
        )

    def _page(self, *, chosen, links, threshold, result, error=None, status=200):
        scored, seen = portfolio(), visible()
        query = (request.values.get("q") or "").strip()[:200]
        lane_rows = []
        for customer_id in chosen[:20]:
            if len(lane_rows) >= CHOICES:
                break
            statement = lanes.list_statement(user=user(), customer_id=customer_id)
            lane_rows += paginate(session(), statement, page=1, page_size=CHOICES - len(lane_rows))["items"]
        max_nodes = current_app.config["LOGICRM"].graph_max_nodes
        graph = _cascade_graph(scored, seen, chosen, result, max_nodes=max_nodes) if result else None
        return render(
            "what_if.html",
            status,
            candidates=_candidates(scored, seen, chosen, query),
            chosen=chosen,
            links=links,
            lane_rows=lane_rows,
            threshold=threshold,
            default_threshold=params().cascade_threshold,
            result=result,
            rounds=_rounds(result) if result else [],
            graph=graph,
            max_nodes=max_nodes,
            error=error,
            query=query,
            names={c: scored.accounts[c].name for c in chosen if c in scored.accounts},
        )


def _rounds(result: dict) -> list[dict]:
    by_round: dict[int, list[dict]] = {}
    for lost in result["lost_customers"]:
        by_round.setdefault(lost["round"], []).append(lost)
    return [
        {
            "round": number,
            "accounts": accounts[:ROUND_LISTED],
            "unlisted": max(0, len(accounts) - ROUND_LISTED),
            "shipments_per_month": sum(a["shipments_per_month"] for a in accounts),
            "revenue_per_month": sum(a["revenue_per_month"] for a in accounts),
        }
        for number, accounts in sorted(by_round.items())
    ]


def _cascade_graph(scored, seen, chosen, result, *, max_nodes: int) -> dict:
    """The lost accounts and their lanes to one another, as cytoscape elements labelled with their round:
    at most `max_nodes` accounts, the removed and the earliest rounds first."""
    rounds = {lost["id"]: lost["round"] for lost in result["lost_customers"]}
    everyone = sorted(
        set(rounds) | {c for c in chosen if c in scored.accounts}, key=lambda c: (rounds.get(c, 0), c)
    )
    members = set(everyone[:max_nodes])
    nodes = [
        reports.graph_node(scored.accounts[c], hidden=seen is not None and c not in seen)
        for c in everyone[:max_nodes]
    ]
    edges = [
        {"shipper": u, "consignee": lane.partner, "monthly_volume": lane.shipments_per_month}
        for u in members
        for lane in scored.arrays.lanes(u)
        if lane.partner in members
        and (lane.direction == "down" or (lane.direction == "both" and u < lane.partner))
    ]
    return elements({"nodes": nodes, "edges": edges, "total_nodes": len(everyone)}, center=-1, rounds=rounds)
