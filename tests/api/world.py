"""A small portfolio with something of every kind, half of it hidden from the account manager.

Used by the role × route matrix (through the Flask test client) and by the fuzz run (seeded the same way,
then served by a real server). The account manager owns Alpha and Beta and is on Gamma's team; another
account manager owns Zephyr, Quokka, Xanadu and Yonder, whose names, refs, contacts and figures are distinctive
so an answer that leaks them can be caught by scanning its text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from dataclasses import dataclass, field

from flask import Flask

from logicrm.health import runs as checks
from logicrm.outbox import receivers
from logicrm.users import keys as api_keys
from logicrm.users import service as users
from logicrm.users.models import UserRole
from tests.conftest import Api

ROLES = ("admin", "manager", "account_manager", "planner", "viewer")

# Distinctive values of the hidden accounts; none of them may surface in an account manager's answers.
FOREIGN_NAMES = {
    "zephyr": "Zephyrwald Verborgen Freight",
    "quokka": "Quokkaburg Hidden Stores",
    "xanadu": "Xanadu Secret Depot",
    "yonder": "Yonderfield Covert Haulage",
}
FOREIGN_REF_PREFIX = "HIDDENREF"
FOREIGN_EMAIL_DOMAIN = "hidden-partner.example"
FOREIGN_REVENUE = 9137.25  # per shipment on the hidden lanes
FOREIGN_VOLUME = 4321.0  # declared monthly volume of the hidden lanes

OWN_NAMES = {
    "alpha": "Alpha Visible Shipping",
    "beta": "Beta Visible Receiving",
    "gamma": "Gamma Team Receiving",
}
CONTACT_EMAIL = "li.wei@own-client.example"
CONTACT_PHONE = "+86 21 5555 0101"
EDITED_PHONE = "+86 21 5555 0199"


@dataclass
class World:
    keys: dict[str, str]  # role (and "other_am") -> API key
    user_ids: dict[str, int]
    key_ids: dict[str, int]
    customers: dict[str, int]  # alpha, beta, gamma (visible to the account manager); zephyr, quokka, xanadu
    # own, team; out_to_hidden, in_from_hidden (one end visible); hidden, secluded (both ends hidden)
    links: dict[str, int]
    shipments: dict[str, int]  # same keys as links
    records: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> customer key -> id
    alerts: dict[str, list[int]] = field(default_factory=dict)  # customer key -> alert ids
    imports: dict[str, int] = field(default_factory=dict)  # "own" (the account manager's), "foreign"
    webhook_id: int = 0
    delivery_id: int = 0

    @property
    def foreign_customers(self) -> set[int]:
        return {self.customers[key] for key in FOREIGN_NAMES}

    @property
    def own_customers(self) -> set[int]:
        return {self.customers[key] for key in OWN_NAMES}


def _ok(response, status: int = 201) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    return response.json


def upload(api: Api, kind: str, text: str, **query):
    """POST a CSV file to /imports/<kind> as the client's actor."""
    headers = {"Authorization": f"Bearer {api.key}"} if api.key else {}
    return api.client.post(
        f"/api/v1/imports/{kind}",
        data={"file": (io.BytesIO(text.encode()), f"{kind}.csv")},
        query_string=query,
        headers=headers,
        content_type="multipart/form-data",
    )


def _users(app: Flask) -> tuple[dict[str, str], dict[str, int], dict[str, int]]:
    keys, ids, key_ids = {}, {}, {}
    database = app.extensions["logicrm.db"]
    with database.session_scope() as session:
        for name, role in [*((r, UserRole(r)) for r in ROLES), ("other_am", UserRole.ACCOUNT_MANAGER)]:
            user = users.create(session, name=name.title(), email=f"{name}@matrix.example", role=role)
            key, secret = api_keys.create(session, user=user)
            keys[name], ids[name], key_ids[name] = secret, user.id, key.id
    return keys, ids, key_ids


def seed(app: Flask, *, now: dt.datetime | None = None) -> World:
    """Create the portfolio on the app's (empty) database, run a health check, return what was made."""
    now = now or dt.datetime.now(dt.UTC)
    keys, user_ids, key_ids = _users(app)
    admin = Api(app.test_client(), keys["admin"])

    def customer(key: str, name: str, owner: str, roles: tuple[str, ...], team=()) -> int:
        foreign = key in FOREIGN_NAMES
        body = {
            "name": name,
            "external_ref": f"{FOREIGN_REF_PREFIX}-{key.upper()}" if foreign else f"OWNREF-{key.upper()}",
            "owner_id": user_ids[owner],
            "team_ids": [user_ids[member] for member in team],
            "tier": "vip",
            **{role: {} for role in roles},
        }
        if "shipper" in roles:
            ends_in = dt.timedelta(days=40 if foreign else 400)
            body["shipper"] = {
                "contract_start": "2025-01-01",
                "contract_end": (now + ends_in).date().isoformat(),
            }
        return _ok(admin.post("/customers", json=body, query={"allow_duplicate": "true"}))["id"]

    customers = {
        "alpha": customer("alpha", OWN_NAMES["alpha"], "account_manager", ("shipper",)),
        "beta": customer("beta", OWN_NAMES["beta"], "account_manager", ("consignee",)),
        "gamma": customer("gamma", OWN_NAMES["gamma"], "manager", ("consignee",), team=("account_manager",)),
        "zephyr": customer("zephyr", FOREIGN_NAMES["zephyr"], "other_am", ("shipper",)),
        "quokka": customer("quokka", FOREIGN_NAMES["quokka"], "other_am", ("consignee",)),
        "xanadu": customer("xanadu", FOREIGN_NAMES["xanadu"], "other_am", ("consignee",)),
        "yonder": customer("yonder", FOREIGN_NAMES["yonder"], "other_am", ("shipper",)),
    }

    lanes = {
        "own": ("alpha", "beta"),
        "team": ("alpha", "gamma"),
        "out_to_hidden": ("alpha", "quokka"),
        "in_from_hidden": ("zephyr", "beta"),
        "hidden": ("zephyr", "quokka"),
        "secluded": ("yonder", "xanadu"),  # no lane of these two touches a visible account
    }
    links, shipments = {}, {}
    for key, (shipper, consignee) in lanes.items():
        foreign = key in ("hidden", "secluded")
        links[key] = _ok(
            admin.post(
                "/links",
                json={
                    "shipper_id": customers[shipper],
                    "consignee_id": customers[consignee],
                    "external_ref": f"{FOREIGN_REF_PREFIX}-LANE-{key.upper()}"
                    if foreign
                    else f"OWNREF-LANE-{key.upper()}",
                    "origin": "Hamburg",
                    "destination": "Shanghai",
                    "declared_monthly_volume": FOREIGN_VOLUME if foreign else 12,
                },
            )
        )["id"]
        rows = [
            {
                "link_id": links[key],
                "shipped_at": (now - dt.timedelta(days=days)).isoformat(),
                "promised_at": (now - dt.timedelta(days=days - 2)).isoformat(),
                "delivered_at": (now - dt.timedelta(days=days - (5 if foreign else 1))).isoformat(),
                "damaged": foreign,
                "claim_amount": 500 if foreign else 0,
                "revenue": FOREIGN_REVENUE if foreign else 1000,
                "cost": 800,
            }
            for days in (80, 50, 20)
        ]
        shipments[key] = _ok(admin.post("/shipments", json={"shipments": rows}))["ids"][0]

    world = World(keys, user_ids, key_ids, customers, links, shipments)
    # The visible accounts are content and the hidden ones are not, so the visible ones' top risk drivers
    # are their hidden partners: answers about them are where a hidden name would surface.
    for key, customer_id in customers.items():
        foreign = key in FOREIGN_NAMES
        expectation, perception, recommend = (7, 2, 2) if foreign else (5, 6, 9)
        department = _ok(
            admin.post(
                "/departments",
                json={
                    "customer_id": customer_id,
                    "name": "logistics",
                    "decision_weight": 3,
                    "is_decision_maker": True,
                },
            )
        )["id"]
        email = f"{key}.buyer@{FOREIGN_EMAIL_DOMAIN}" if foreign else CONTACT_EMAIL
        contact = _ok(
            admin.post(
                "/contacts",
                json={"customer_id": customer_id, "department_id": department, "name": f"Buyer of {key}",
                      "external_ref": f"{FOREIGN_REF_PREFIX if foreign else 'OWNREF'}-CONTACT-{key.upper()}",
                      "email": email, "phone": CONTACT_PHONE},
            )
        )["id"]  # fmt: skip
        # An edit, so the history holds the contact's personal data on both sides of a change.
        _ok(admin.update(f"/contacts/{contact}", {"phone": EDITED_PHONE}), 200)
        survey = _ok(
            admin.post(
                "/surveys",
                json={"customer_id": customer_id, "department_id": department, "contact_id": contact,
                      "collected_at": (now - dt.timedelta(days=10)).isoformat(), "likelihood_to_recommend": recommend,
                      "scores": [{"dimension": "timeliness", "expectation": expectation, "perception": perception}]},
            )
        )["id"]  # fmt: skip
        interaction = _ok(
            admin.post(
                "/interactions",
                json={"customer_id": customer_id, "department_id": department, "kind": "visit",
                      "at": (now - dt.timedelta(days=300 if foreign else 5)).isoformat(), "summary": f"review with {key}"},
            )
        )["id"]  # fmt: skip
        ticket = _ok(
            admin.post(
                "/tickets",
                json={"customer_id": customer_id, "kind": "complaint", "subject": f"late delivery for {key}",
                      "opened_at": (now - dt.timedelta(days=30 if foreign else 1)).isoformat()},
            )
        )["id"]  # fmt: skip
        opportunity = _ok(
            admin.post(
                "/opportunities",
                json={"customer_id": customer_id, "kind": "cross_sell", "title": f"warehousing for {key}",
                      "value": 50_000},
            )
        )["id"]  # fmt: skip
        task = _ok(
            admin.post(
                "/tasks",
                json={"customer_id": customer_id, "kind": "visit", "title": f"visit {key}", "department_id": department,
                      "due_on": (now + dt.timedelta(days=3)).date().isoformat()},
            )
        )["id"]  # fmt: skip
        for kind, record in (
            ("tasks", task),
            ("departments", department),
            ("contacts", contact),
            ("surveys", survey),
            ("interactions", interaction),
            ("tickets", ticket),
            ("opportunities", opportunity),
        ):
            world.records.setdefault(kind, {})[key] = record

    database, settings = app.extensions["logicrm.db"], app.config["LOGICRM"]
    with database.session_scope() as session:
        receiver, _secret = receivers.create(
            session,
            url="http://127.0.0.1:9/hooks",
            description="matrix receiver",
            settings=settings.replace(webhook_allow_private=True),
        )
        world.webhook_id = receiver.id
    # risk_high at 0.3, so the visible accounts (network risk about 0.35 through their hidden partners) get
    # alerts whose message names their drivers.
    rules = dataclasses.replace(app.config["LOGICRM_RULES"], risk_high=0.3, risk_high_escalate=0.8)
    config = checks.RunConfig(settings, app.config["LOGICRM_SCORING"], rules)
    checks.run_health(database, config, slot="world", now=now)

    for key, customer_id in customers.items():
        alerts = _ok(admin.get("/alerts", query={"customer_id": customer_id, "page_size": 100}), 200)["items"]
        world.alerts[key] = [alert["id"] for alert in alerts]
    deliveries = _ok(admin.get("/deliveries"), 200)["items"]
    assert deliveries, "the health run queued no delivery"
    world.delivery_id = deliveries[0]["id"]

    own_am = Api(app.test_client(), keys["account_manager"])
    other_am = Api(app.test_client(), keys["other_am"])
    world.imports["own"] = _ok(upload(own_am, "departments", "customer_ref,name\nOWNREF-ALPHA,sales\n"))["id"]
    world.imports["foreign"] = _ok(
        upload(other_am, "departments", f"customer_ref,name\n{FOREIGN_REF_PREFIX}-ZEPHYR,sales\n")
    )["id"]
    return world
