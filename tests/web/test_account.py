"""The account page of a hub: its partners and lanes page on the server, the busiest partners first."""

from __future__ import annotations

import datetime as dt
import re

from tests import factories

PARTNERS = 30  # more than one page (SECTION_PAGE = 25)


def _rows(html: str, heading_id: str) -> list[str]:
    start = html.index(f'id="{heading_id}"')
    body = html[html.index("<tbody>", start) : html.index("</tbody>", start)]
    return re.findall(r"<tr>.*?</tr>", body, flags=re.S)


def test_a_hubs_partners_and_lanes_page_on_the_server(api, actors, browse):
    hub = factories.customer(api, name="Hub Shipper", owner_id=actors["am"].user_id)
    shipped = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=10)
    for k in range(PARTNERS):
        partner = factories.customer(
            api, name=f"Partner {k:02d}", roles=("consignee",), owner_id=actors["am"].user_id
        )
        lane = factories.link(api, hub, partner)
        factories.shipments(
            api,
            lane,
            k + 1,  # Partner 29 is the busiest
            shipped_at=shipped.isoformat(),
            delivered_at=(shipped + dt.timedelta(days=2)).isoformat(),
        )
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
