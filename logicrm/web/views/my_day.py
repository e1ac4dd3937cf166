"""My day: what needs the user today on the accounts they cover (everything they may see if they cover none)."""

from __future__ import annotations

from logicrm.api import paginate, session
from logicrm.customers import service as customers
from logicrm.db import utcnow
from logicrm.health import alerts, history
from logicrm.health.models import AlertState
from logicrm.scoring import reports
from logicrm.tasks import service as tasks
from logicrm.tickets import service as tickets
from logicrm.web import words
from logicrm.web.pages import Page, render, route, user
from logicrm.web.views.alerts import rows as alert_rows
from logicrm.web.views.common import portfolio, today, visible
from logicrm.web.views.service_desk import rows as ticket_rows

SHOWN = 10


@route("/")
class MyDay(Page):
    def get(self):
        me, scored, now = user(), portfolio(), utcnow()
        covered = customers.covered_ids(session(), user=me) or None  # None: all the user may see
        seen = visible()
        scope = covered if covered is not None else seen
        return render(
            "my_day.html",
            covers=covered is not None,
            accounts=len(scope) if scope is not None else len(scored.accounts),
            tasks=_tasks_due(),
            alerts=_open_alerts(covered),
            at_risk=_at_risk(scored, scope, seen),
            moves=_moves(scored, covered, seen),
            late_tickets=_late_tickets(covered, now),
            as_of=scored.as_of,
            horizon_days=words.horizon_days(scored),
        )


def _tasks_due():
    """The user's open tasks overdue or due today (the first few of each; the tasks page has them all)."""
    parts = tasks.day_statements(user=user(), today=today(), upcoming_days=0)
    due = {part: paginate(session(), parts[part], page=1, page_size=SHOWN) for part in ("overdue", "today")}
    ids = {task.customer_id for found in due.values() for task in found["items"]}
    return {**due, "names": customers.names_for(session(), user=user(), ids=ids)}


def _open_alerts(covered):
    found = paginate(
        session(),
        alerts.list_statement(session(), user=user(), state=AlertState.OPEN, customer_ids=covered),
        page=1,
        page_size=SHOWN,
    )
    return {"total": found["meta"]["total"], "items": alert_rows(found["items"])}


def _at_risk(scored, scope, seen):
    accounts = [a for c, a in scored.accounts.items() if scope is None or c in scope]
    accounts.sort(key=lambda a: (-a.network_risk, a.customer_id))
    rows = []
    for account in accounts[:SHOWN]:
        kept = reports.stored_drivers(scored, account)
        names = reports.partner_names(
            scored, {d["key"] for d in kept if d["kind"] == "neighbour"}, visible=seen
        )
        rows.append({"account": account, "causes": words.main_causes(kept, names, top=2)})
    return rows


def _moves(scored, covered, seen):
    moves = history.risk_moves(session(), customer_ids=covered if covered is not None else seen, limit=SHOWN)
    for move in moves:
        account = scored.accounts.get(move["customer_id"])
        move["name"] = account.name if account else None
    return [move for move in moves if move["name"] is not None]


def _late_tickets(covered, now):
    """Tickets past their SLA, the longest breached first, on the accounts the user covers (else all)."""
    mine = {"team_member_id": user().id} if covered is not None else {}
    late = tickets.queue_statement(user=user(), now=now, breached=True, **mine)
    return ticket_rows(paginate(session(), late, page=1, page_size=SHOWN)["items"], now=now)
