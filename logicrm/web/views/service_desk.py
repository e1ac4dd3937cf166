"""The service desk queue: open tickets on the accounts the user may see, by when their tier's SLA runs out.

Today tickets have no assignee, due times of their own or notes; when the tickets capability adds them
(queue, assignees, handling plans), this page shows them. Until then the due time is the ticket's
opening plus its account tier's SLA (LOGICRM_SCORING_TICKET_SLA_*_DAYS), as the health checks count it.
"""

from __future__ import annotations

from flask import request

from logicrm.api import session
from logicrm.customers.models import Tier
from logicrm.db import utcnow
from logicrm.tickets import service as tickets
from logicrm.tickets.models import TicketKind
from logicrm.web.pages import Page, render, route, user
from logicrm.web.views.common import page_number, params

PAGE = 50


@route("/service-desk")
class ServiceDesk(Page):
    def get(self):
        kind = request.args.get("kind") if request.args.get("kind") in {k.value for k in TicketKind} else None
        tier = request.args.get("tier") if request.args.get("tier") in {t.value for t in Tier} else None
        breached = {"yes": True, "no": False}.get(request.args.get("breached", ""))
        sla = params().ticket_sla_days()
        items = tickets.queue(
            session(), user=user(), sla_days=sla, now=utcnow(), kind=kind, tier=tier, breached=breached
        )
        page = page_number()
        args = {
            k: v
            for k, v in {"kind": kind, "tier": tier, "breached": request.args.get("breached")}.items()
            if v
        }
        return render(
            "service_desk.html",
            items=items[(page - 1) * PAGE : page * PAGE],
            meta={"total": len(items), "page": page, "pages": -(-len(items) // PAGE)},
            breached_count=sum(item.breached for item in items),
            args=args,
            sla=sla,
            now=utcnow(),
        )
