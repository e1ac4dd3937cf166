"""The account list: search, filter on records and scores, sort by a score, page on the server, export the
view as CSV."""

from __future__ import annotations

from flask import request, url_for

from logicrm.api import csv_download, session
from logicrm.customers import service as customers
from logicrm.customers.models import Tier
from logicrm.imports.csvfile import write_rows
from logicrm.scoring import listing
from logicrm.users import service as users
from logicrm.web import format as formats
from logicrm.web.pages import Page, htmx, render, route, user
from logicrm.web.views.common import page_number, page_size, portfolio, rules

ROLES = ("shipper", "consignee")
ABC_CLASSES = ("A", "B", "C")
CSV_HEADER = (
    "id",
    "name",
    "roles",
    "tier",
    "status",
    "owner",
    "region",
    "network_risk",
    "risk_band",
    "satisfaction_0_100",
    "revenue_12m",
    "profit_12m",
    "exposure_per_month",
    "abc_class",
)


def _arg(name: str, allowed=None) -> str | None:
    value = (request.args.get(name) or "").strip() or None
    return value if value is None or allowed is None or value in allowed else None


def _id_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else None


def query() -> tuple[listing.Filters, str, dict]:
    """The list's filters and sort from the query string (unknown values are ignored), and the arguments
    that reproduce the view."""
    band = _arg("band", listing.BANDS)
    filters = listing.Filters(
        role=_arg("role", ROLES),
        tier=_arg("tier", {t.value for t in Tier}),
        owner_id=_id_arg("owner"),
        team_member_id=_id_arg("team"),
        region=_arg("region"),
        q=(_arg("q") or "")[:300] or None,
        abc_class=_arg("abc", ABC_CLASSES),
        band=formats.band_edges(rules())[band] if band else None,
    )
    sorts = {*listing.SORTS, *(f"-{s}" for s in listing.SORTS)}
    sort = _arg("sort", sorts) or "name"
    names = ("q", "role", "tier", "owner", "team", "region", "band", "abc", "sort")
    args = {name: request.args[name] for name in names if request.args.get(name)}
    return filters, sort, args


@route("/accounts")
class Accounts(Page):
    def get(self):
        filters, sort, args = query()
        found = listing.page(
            session(),
            portfolio(),
            user=user(),
            filters=filters,
            sort=sort,
            page=page_number(),
            page_size=page_size(),
        )
        context = {"found": found, "args": args, "sort": sort, "owners": _owners(found["items"])}
        if htmx() and request.headers.get("HX-Target") == "accounts-table":
            return render("_accounts_table.html", **context)
        return render(
            "accounts.html",
            **context,
            users=list(session().scalars(users.list_statement())),
            regions=customers.regions(session(), user=user()),
            export_url=url_for("web.AccountsCsv", **args),
        )


def _owners(rows) -> dict[int, str]:
    ids = {row.customer.owner_id for row in rows if row.customer.owner_id}
    return {u.id: u.name for u in session().scalars(users.list_statement()) if u.id in ids}


@route("/accounts.csv")
class AccountsCsv(Page):
    """The list as it is filtered and sorted, every page, as CSV (risk a probability 0–1, satisfaction 0–100,
    money in the account currency). The rows stream after the request's context is gone: everything they
    need is read first."""

    def get(self):
        filters, sort, _args = query()
        db, scored, thresholds, me = session(), portfolio(), rules(), user()
        owners = {u.id: u.email for u in db.scalars(users.list_statement())}

        def cells():
            for row in listing.every_row(db, scored, user=me, filters=filters, sort=sort):
                c, a = row.customer, row.scores
                yield [
                    str(c.id),
                    c.name,
                    "+".join(c.roles),
                    str(c.tier),
                    str(c.status),
                    owners.get(c.owner_id, ""),
                    c.region or "",
                    *(
                        (
                            f"{a.network_risk:.4f}",
                            formats.risk_band(a.network_risk, thresholds) or "",
                            "" if a.satisfaction.score is None else f"{100 * a.satisfaction.score:.1f}",
                            f"{a.value.revenue:.2f}",
                            f"{a.value.profit:.2f}",
                            f"{a.value.exposure or 0:.2f}",
                            a.value.abc,
                        )
                        if a
                        else ("",) * 7
                    ),
                ]

        return csv_download(db, write_rows(CSV_HEADER, cells()), filename="accounts.csv")
