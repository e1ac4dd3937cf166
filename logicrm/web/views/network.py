"""The network: an account's neighbourhood drawn with cytoscape.js (click a node to recentre), capped in
size and saying so, with the hubs and the portfolio's concentration."""

from __future__ import annotations

from flask import current_app, jsonify, redirect, request, url_for

from logicrm.api import session
from logicrm.customers import service as customers
from logicrm.errors import NotFound
from logicrm.scoring import reports
from logicrm.web import format as formats
from logicrm.web.pages import Page, render, route, user
from logicrm.web.views.common import params, portfolio, rules, visible

DEPTHS = (1, 2, 3)


def _depth() -> int:
    value = request.args.get("depth", "1")
    return int(value) if value.isdigit() and int(value) in DEPTHS else 1


def _center(scored, seen) -> int | None:
    """The account asked for, else the one whose loss the portfolio would feel most (the top hub)."""
    value = request.args.get("center", "")
    if value.isdigit() and int(value) < 2**31:
        return int(value)
    hubs = reports.hubs(scored, params(), visible=seen, page=1, page_size=1)["items"]
    return hubs[0]["id"] if hubs else None


@route("/network")
class Network(Page):
    def get(self):
        scored, seen = portfolio(), visible()
        query = (request.args.get("q") or "").strip()[:300]
        if query:
            found = list(session().scalars(customers.list_statement(user=user(), q=query).limit(20)))
            if len(found) == 1:
                return redirect(url_for("web.Network", center=found[0].id, depth=_depth()))
            return render(
                "network.html",
                matches=found,
                query=query,
                center=None,
                depth=_depth(),
                hubs=[],
                scored=scored,
            )
        center = _center(scored, seen)
        if center is not None and (
            center not in scored.accounts or (seen is not None and center not in seen)
        ):
            raise NotFound(f"customer {center} not found")
        hubs = reports.hubs(scored, params(), visible=seen, page=1, page_size=10)["items"]
        return render(
            "network.html",
            center=scored.accounts.get(center) if center is not None else None,
            depth=_depth(),
            hubs=hubs,
            pareto=scored.pareto_ratio,
            matches=None,
            query="",
            max_nodes=current_app.config["LOGICRM"].graph_max_nodes,
            graph_url=url_for("web.NetworkGraph", center=center, depth=_depth())
            if center is not None
            else None,
        )


@route("/network/graph.json")
class NetworkGraph(Page):
    """The neighbourhood as cytoscape.js elements: nodes coloured by risk band and shaped by role, edges
    sized by volume; at most graph_max_nodes accounts, nearest and busiest first."""

    def get(self):
        value = request.args.get("center", "")
        if not value.isdigit() or int(value) >= 2**31:
            raise NotFound("no account given")
        graph = reports.ego_graph(
            portfolio(),
            center=int(value),
            depth=_depth(),
            visible=visible(),
            max_nodes=current_app.config["LOGICRM"].graph_max_nodes,
        )
        return jsonify(elements(graph, center=int(value)))


def elements(graph: dict, *, center: int, rounds: dict[int, int] | None = None) -> dict:
    """Turn an ego graph (or a what-if's) into cytoscape.js elements and a caption."""
    thresholds = rules()
    nodes = []
    for node in graph["nodes"]:
        band = formats.risk_band(node["risk"], thresholds)
        roles = node["roles"]
        shape = "diamond" if len(roles) == 2 else ("round-rectangle" if "shipper" in roles else "ellipse")
        label = node["name"] if not node["hidden"] else "…"
        if band:
            label = f"{label} {formats.BAND_SYMBOLS[band]} {formats.percent(node['risk'])}"
        if rounds is not None and node["id"] in rounds:
            label = f"{label} [{rounds[node['id']]}]"
        nodes.append(
            {
                "data": {
                    "id": str(node["id"]),
                    "label": label,
                    "band": band or "hidden",
                    "shape": shape,
                    "center": node["id"] == center,
                    "hidden": node["hidden"],
                    "round": rounds.get(node["id"]) if rounds else None,
                    "href": None if node["hidden"] else url_for("web.Account", customer_id=node["id"]),
                    "recentre": None if node["hidden"] else url_for("web.Network", center=node["id"]),
                }
            }
        )
    edges = [
        {
            "data": {
                "id": f"{edge['shipper']}-{edge['consignee']}",
                "source": str(edge["shipper"]),
                "target": str(edge["consignee"]),
                "volume": edge["monthly_volume"],
                "width": min(12.0, 1.0 + edge["monthly_volume"] ** 0.5 / 2),
            }
        }
        for edge in graph["edges"]
    ]
    return {"elements": nodes + edges, "shown": len(nodes), "total": graph.get("total_nodes", len(nodes))}
