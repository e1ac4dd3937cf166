"""The account page of a hub: its partners and lanes page on the server, the busiest partners first."""

from __future__ import annotations

import datetime as dt
import re

from logicrm.web.views import account_actions
from tests import factories

PARTNERS = 30  # more than one page (SECTION_PAGE = 25)


def _rows(html: str, heading_id: str) -> list[str]:
    start = html.index(f'id="{heading_id}"')
    body = html[html.index("<tbody>", start) : html.index("</tbody>", start)]
    return re.findall(r"<tr>.*?</tr>", body, flags=re.S)


def _hub(api, owner_id: int) -> tuple[dict, list[dict]]:
    """A shipper with PARTNERS consignees, one lane each; Partner k ships k + 1 times (29 the busiest)."""
    hub = factories.customer(api, name="Hub Shipper", owner_id=owner_id)
    shipped = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=10)
    lanes = []
    for k in range(PARTNERS):
        partner = factories.customer(api, name=f"Partner {k:02d}", roles=("consignee",), owner_id=owner_id)
        lanes.append(factories.link(api, hub, partner))
        factories.shipments(
            api,
            lanes[-1],
            k + 1,
            shipped_at=shipped.isoformat(),
            delivered_at=(shipped + dt.timedelta(days=2)).isoformat(),
        )
    return hub, lanes


def test_a_hubs_partners_and_lanes_page_on_the_server(api, actors, browse):
    hub, _lanes = _hub(api, actors["am"].user_id)
    browser = browse("am@test.example")

    first = browser.get(f"/accounts/{hub['id']}").get_data(as_text=True)
    assert f"Its consignees ({PARTNERS})" in first and f"Lanes ({PARTNERS})" in first
    consignees = _rows(first, "consignees-heading")
    assert len(consignees) == 25 and "Partner 29" in consignees[0] and "Partner 05" in consignees[-1]
    assert len(_rows(first, "lanes-heading")) == 25
    assert f"/accounts/{hub['id']}?consignees_page=2#consignees-heading" in first
    assert f"/accounts/{hub['id']}?lanes_page=2#lanes-heading" in first

    second = browser.get(f"/accounts/{hub['id']}?consignees_page=2&lanes_page=2").get_data(as_text=True)
    consignees = _rows(second, "consignees-heading")
    assert [re.search(r"Partner \d\d", row).group() for row in consignees] == [
        f"Partner {k:02d}" for k in (4, 3, 2, 1, 0)
    ]
    assert len(_rows(second, "lanes-heading")) == PARTNERS - 25
    # the other section's page is kept in its links
    assert f"/accounts/{hub['id']}?consignees_page=2&amp;lanes_page=1#lanes-heading" in second


def test_the_ticket_form_offers_a_hubs_first_lanes_and_takes_any_of_them(api, actors, browse, monkeypatch):
    monkeypatch.setattr(account_actions, "LANE_CHOICES", 10)
    hub, lanes = _hub(api, actors["am"].user_id)
    browser = browse("am@test.example")

    page = browser.get(f"/accounts/{hub['id']}").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="ticket-link_id".*?</select>', page, flags=re.S).group()
    assert select.count("<option") == 11  # "(none)" and the first ten
    assert f"The first 10 of its {PARTNERS} lanes" in page

    answer = browser.post(
        f"/accounts/{hub['id']}/tickets",
        {
            "ticket-kind": "complaint",
            "ticket-severity": "low",
            "ticket-subject": "Late",
            "ticket-link_id": str(lanes[-1]["id"]),
        },
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
    tickets = api.get("/tickets", query={"customer_id": hub["id"]}).json["items"]
    assert [t["link_id"] for t in tickets] == [lanes[-1]["id"]]
