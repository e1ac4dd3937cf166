"""Growth through the network: gaining one side of a lane speeds gaining the other. Suggestions, each with
its reason, for the customers a user sees, and each one a deal with one call.

- shipper_role: a consignee that receives on your lanes but holds no shipper role: its own outbound freight
  is a prospect reached through existing lanes;
- service: a service most shippers of the same industry buy (at least MIN_PEERS of them) and this one
  does not;
- share_of_wallet: a shipper whose revenue over the last 12 months falls short of its contracted annual
  value, with the median share its industry peers reach;
- referrer: a customer whose referrals brought revenue over the last 12 months: ask for more.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from statistics import median

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from logicrm import bounds, db
from logicrm.consignees.models import ConsigneeProfile
from logicrm.customers import service as customers
from logicrm.customers.models import Customer
from logicrm.lanes.models import Link, Shipment
from logicrm.sales import service as sales
from logicrm.sales.models import Opportunity, OpportunityKind
from logicrm.shippers.models import ShipperProfile
from logicrm.users.models import User

KINDS = ("shipper_role", "service", "share_of_wallet", "referrer")
DEAL_KIND = {
    "shipper_role": OpportunityKind.CROSS_SELL,
    "service": OpportunityKind.CROSS_SELL,
    "share_of_wallet": OpportunityKind.UP_SELL,
    "referrer": OpportunityKind.NEW,
}
YEAR = dt.timedelta(days=365)
MIN_PEERS = 3
PEER_SHARE = 0.5  # a service at least this share of peers buy
WALLET_SHORT = 0.8  # revenue below this share of the contracted annual value


def _revenue_by(session: Session, end, now: dt.datetime, customer_ids) -> dict[int, float]:
    """Revenue over the last 12 months per customer at one end of its lanes (`end`: a Link column)."""
    revenue = func.sum(db.held_money(session, Shipment.revenue, bounds.MONEY))
    rows = session.execute(
        select(end, revenue)
        .join(Link, Link.id == Shipment.link_id)
        .where(end.in_(customer_ids), Shipment.shipped_at >= now - YEAR, Shipment.shipped_at < now)
        .group_by(end)
    )
    return {customer_id: float(total or 0) for customer_id, total in rows}


def suggestions(
    session: Session, *, user: User, now: dt.datetime, customer_id: int | None = None
) -> list[dict]:
    """Every suggestion for the customers the user sees (or one of them), the largest yearly value first."""
    ids = customers.visible_ids(user=user)
    if customer_id is not None:
        ids = ids.where(Customer.id == customer_id)
    names = dict(session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids))).all())
    found = [
        *_shipper_roles(session, ids, now),
        *_services(session, names),
        *_wallets(session, ids, now),
        *_referrers(session, user, ids, now),
    ]
    for suggestion in found:
        suggestion["customer_name"] = names[suggestion["customer_id"]]
        suggestion["opportunity_kind"] = str(DEAL_KIND[suggestion["kind"]])
    return sorted(found, key=lambda s: (-(s["value"] or 0), s["customer_id"], s["kind"], s["service"] or ""))


def _suggestion(
    customer_id: int, kind: str, reason: str, value: float | None, service: str | None = None
) -> dict:
    return {"customer_id": customer_id, "kind": kind, "service": service, "reason": reason, "value": value}


def _shipper_roles(session: Session, ids, now: dt.datetime) -> list[dict]:
    shipper = select(ShipperProfile.customer_id)
    rows = session.execute(
        select(
            Link.consignee_id,
            func.count(Shipment.id),
            func.count(func.distinct(Link.shipper_id)),
            func.sum(db.held_money(session, Shipment.revenue, bounds.MONEY)),
        )
        .join(Link, Link.id == Shipment.link_id)
        .join(ConsigneeProfile, ConsigneeProfile.customer_id == Link.consignee_id)
        .where(
            Link.consignee_id.in_(ids),
            Link.consignee_id.not_in(shipper),
            Shipment.shipped_at >= now - YEAR,
            Shipment.shipped_at < now,
        )
        .group_by(Link.consignee_id)
    )
    return [
        _suggestion(
            consignee, "shipper_role",
            f"receives {count} shipments a year from {shippers} shipper(s) on your lanes and ships nothing "
            "with you: "
            "its own outbound freight is a prospect reached through your lanes",
            float(revenue or 0),
        )
        for consignee, count, shippers, revenue in rows
    ]  # fmt: skip


def _services(session: Session, names: dict[int, str]) -> list[dict]:
    """Services most industry peers buy that a visible shipper does not (peers: every live shipper)."""
    by_industry = defaultdict(list)
    for customer_id, industry, services in session.execute(
        select(Customer.id, Customer.industry, ShipperProfile.services)
        .join(ShipperProfile, ShipperProfile.customer_id == Customer.id)
        .where(Customer.deleted_at.is_(None), Customer.industry.is_not(None))
    ):
        by_industry[industry].append((customer_id, set(services or ())))
    found = []
    for industry, shippers in by_industry.items():
        for customer_id, held in shippers:
            peers = [services for other, services in shippers if other != customer_id]
            if customer_id not in names or len(peers) < MIN_PEERS:
                continue
            counts = defaultdict(int)
            for services in peers:
                for service in services - held:
                    counts[service] += 1
            found += [
                _suggestion(
                    customer_id, "service",
                    f"{count} of its {len(peers)} {industry} peers buy {service}; it does not",
                    None, service,
                )
                for service, count in sorted(counts.items())
                if count >= PEER_SHARE * len(peers)
            ]  # fmt: skip
    return found


def _wallets(session: Session, ids, now: dt.datetime) -> list[dict]:
    contracts = session.execute(
        select(Customer.id, Customer.industry, ShipperProfile.contracted_annual_value)
        .join(ShipperProfile, ShipperProfile.customer_id == Customer.id)
        .where(Customer.deleted_at.is_(None), ShipperProfile.contracted_annual_value > 0)
    ).all()
    revenue = _revenue_by(session, Link.shipper_id, now, [row.id for row in contracts])
    shares = {row.id: revenue.get(row.id, 0.0) / row.contracted_annual_value for row in contracts}
    by_industry = defaultdict(list)
    for row in contracts:
        by_industry[row.industry].append(shares[row.id])
    visible = set(session.scalars(ids))
    found = []
    for row in contracts:
        share = shares[row.id]
        if row.id not in visible or share >= WALLET_SHORT:
            continue
        reason = f"revenue over the last 12 months is {share:.0%} of the contracted annual value"
        peers = by_industry[row.industry] if row.industry else []
        if len(peers) > MIN_PEERS:  # itself and at least MIN_PEERS others
            reason += f"; its {row.industry} peers reach {median(peers):.0%}"
        found.append(
            _suggestion(
                row.id, "share_of_wallet", reason, row.contracted_annual_value - revenue.get(row.id, 0.0)
            )
        )
    return found


def _referrers(session: Session, user: User, ids, now: dt.datetime) -> list[dict]:
    referred = session.execute(
        select(Customer.referred_by_id, Customer.id)
        .where(Customer.referred_by_id.in_(ids), Customer.deleted_at.is_(None))
        .order_by(Customer.id)
    ).all()
    brought = defaultdict(list)
    for referrer, customer_id in referred:
        brought[referrer].append(customer_id)
    revenue = _revenue_by(session, Link.shipper_id, now, [c for _r, c in referred])
    names = customers.names_for(session, user=user, ids=[c for _r, c in referred])
    found = []
    for referrer, theirs in brought.items():
        value = sum(revenue.get(c, 0.0) for c in theirs)
        if value <= 0:
            continue
        known = [names[c] for c in theirs if c in names]
        who = ", ".join(known) + (f" and {len(theirs) - len(known)} more" if len(known) < len(theirs) else "")
        found.append(
            _suggestion(
                referrer, "referrer", f"brought {who}, worth {value:,.0f} over the last 12 months", value
            )
        )
    return found


def convert(session: Session, *, user: User, data: dict, probabilities: dict[str, float]) -> Opportunity:
    """Open the deal a suggestion proposes (lead stage; its title the reason given, else the kind)."""
    kind, service = data["kind"], data.get("service")
    title = data.get("title") or f"{kind.replace('_', ' ')}" + (f": {service}" if service else "")
    deal = {
        "customer_id": data["customer_id"],
        "kind": DEAL_KIND[kind],
        "title": title,
        "value": data.get("value") or 0,
        "service_lines": [service] if service else [],
        "source": f"growth:{kind}",
    }
    return sales.create(session, user=user, data=deal, probabilities=probabilities)
