"""The service desk queue: open tickets on the accounts the user may see, in the tickets' own queue order
(tickets.queue_statement: already breached first, then the soonest to breach), with their due times."""

from __future__ import annotations

from flask import request

from logicrm.api import paginate, session
from logicrm.customers import service as customers
from logicrm.customers.models import Tier
from logicrm.db import utcnow
from logicrm.tickets import service as tickets
from logicrm.tickets.models import TicketKind
from logicrm.web.pages import Page, render, route, user
from logicrm.web.views.common import page_number, portfolio

PAGE = 50


def rows(found, *, now) -> list[dict]:
    """Queue entries as the pages show them: the ticket as the API answers it (due times, breached), its
    account's name and tier."""
    names = customers.names_for(session(), user=user(), ids={t.customer_id for t in found})
    scored = portfolio().accounts
    return [
        {
            **item,
            "customer_name": names.get(item["customer_id"], ""),
            "tier": scored[item["customer_id"]].tier if item["customer_id"] in scored else None,
        }
        for item in tickets.present(session(), tickets=found, now=now)
    ]


@route("/service-desk")
class ServiceDesk(Page):
    def get(self):
        kind = request.args.get("kind") if request.args.get("kind") in {k.value for k in TicketKind} else None
        tier = request.args.get("tier") if request.args.get("tier") in {t.value for t in Tier} else None
        breached = {"yes": True, "no": False}.get(request.args.get("breached", ""))
        mine = request.args.get("mine") == "yes"
        now = utcnow()
        filters = {
            "kind": kind,
            "tier": tier,
            "breached": breached,
            "assignee_id": user().id if mine else None,
        }
        found = paginate(
            session(),
            tickets.queue_statement(user=user(), now=now, **filters),
            page=page_number(),
            page_size=PAGE,
        )
        late = paginate(
            session(),
            tickets.queue_statement(user=user(), now=now, **{**filters, "breached": True}),
            page=1,
            page_size=1,
        )["meta"]["total"]
        args = {
            k: v
            for k, v in {
                "kind": kind,
                "tier": tier,
                "breached": request.args.get("breached"),
                "mine": mine and "yes",
            }.items()
            if v
        }
        return render(
            "service_desk.html",
            items=rows(found["items"], now=now),
            meta=found["meta"],
            breached_count=late,
            args=args,
        )
