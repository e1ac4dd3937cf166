"""The what-if page of a cascade larger than the graph may draw: the graph is capped and says so, each
round names its first accounts and counts every one."""

from __future__ import annotations

import datetime as dt
import json
import re

from logicrm.web.views import what_if
from tests import factories

CONSIGNEES = 5  # each served by the shipper alone: removing it loses them all in round 1


def test_a_large_cascade_is_capped_on_the_graph_and_counted_in_the_table(
    app, api, actors, browse, monkeypatch
):
    shipper = factories.customer(api, name="Only Shipper")
    shipped = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=10)
    for k in range(CONSIGNEES):
        consignee = factories.customer(api, name=f"Dependent {k}", roles=("consignee",))
        factories.shipments(
            api,
            factories.link(api, shipper, consignee),
            3,
            shipped_at=shipped.isoformat(),
            delivered_at=(shipped + dt.timedelta(days=2)).isoformat(),
        )
    monkeypatch.setitem(app.config, "LOGICRM", app.config["LOGICRM"].replace(graph_max_nodes=3))
    monkeypatch.setattr(what_if, "ROUND_LISTED", 2)

    page = browse("planner@test.example").post("/what-if", {"remove": str(shipper["id"])})
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    graph = json.loads(re.search(r'id="graph-data">(.*?)</script>', html, flags=re.S).group(1))
    drawn = [e["data"] for e in graph["elements"] if "source" not in e["data"]]
    assert (graph["shown"], graph["total"]) == (3, CONSIGNEES + 1)
    assert str(shipper["id"]) in {node["id"] for node in drawn}  # the removed account first
    assert "at most 3 are drawn" in html  # the caption says so when the graph is capped
    first_round = re.search(r"<tr><td>1</td><td>(.*?)</td>", html, flags=re.S).group(1)
    assert first_round.count("Dependent") == 2 and f"and {CONSIGNEES - 2} more" in first_round
