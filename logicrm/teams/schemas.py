"""Payloads of the caller's own view, account teams and handovers."""

from __future__ import annotations

import marshmallow as ma

from logicrm.customers.models import CustomerStatus, TeamRole, Tier
from logicrm.schemas import Id, enum_field
from logicrm.users.models import UserRole

F = ma.fields
ROLES_DOC = "executive_sponsor, account_manager (a second one), service_agent or member"


class MemberIn(ma.Schema):
    user_id = Id(required=True)
    role = enum_field(TeamRole, load_default=TeamRole.MEMBER, metadata={"description": ROLES_DOC})


class TeamIn(ma.Schema):
    members = F.List(
        F.Nested(MemberIn),
        required=True,
        validate=ma.validate.Length(max=100),
        metadata={"description": "the whole team besides the owner (the owner is the customer's owner_id)"},
    )


class MemberOut(ma.Schema):
    user_id = Id()
    name = F.String()
    role = F.String(metadata={"description": f"owner, or {ROLES_DOC}"})
    active = F.Boolean()


class TeamOut(ma.Schema):
    customer_id = Id()
    members = F.List(F.Nested(MemberOut), metadata={"description": "owner first"})


class HandoverIn(ma.Schema):
    to_user_id = Id(
        allow_none=True,
        load_default=None,
        metadata={"description": "who takes over; may be left out only when the user covers nothing"},
    )
    deactivate = F.Boolean(load_default=True, metadata={"description": "deactivate the user afterwards"})


class HoldingsOut(ma.Schema):
    accounts = F.Integer()
    team_seats = F.Integer()
    open_tasks = F.Integer()
    open_tickets = F.Integer()
    subscriptions = F.Integer()


class MovedOut(ma.Schema):
    accounts = F.Integer()
    team_seats = F.Integer()
    tasks = F.Integer()
    tasks_unassigned = F.Integer(metadata={"description": "open tasks on accounts the new user does not see"})
    tickets = F.Integer()
    tickets_unassigned = F.Integer()
    subscriptions = F.Integer()


class HandoverOut(ma.Schema):
    from_user_id = Id()
    to_user_id = Id(allow_none=True)
    deactivated = F.Boolean()
    before = F.Nested(HoldingsOut, metadata={"description": "what the user covered"})
    moved = F.Nested(MovedOut)
    after = F.Nested(HoldingsOut, metadata={"description": "what it still covers (nothing)"})


class MeUserOut(ma.Schema):
    id = Id()
    name = F.String()
    email = F.String()
    role = enum_field(UserRole)


class CoveredOut(ma.Schema):
    customer_id = Id()
    name = F.String()
    tier = enum_field(Tier)
    status = enum_field(CustomerStatus)


class SeatOut(CoveredOut):
    role = F.String(metadata={"description": ROLES_DOC})


class MeOut(ma.Schema):
    user = F.Nested(MeUserOut)
    accounts = F.List(F.Nested(CoveredOut), metadata={"description": "the accounts you own"})
    teams = F.List(F.Nested(SeatOut), metadata={"description": "the teams you are on, with your role"})
    open_tasks = F.Integer()
    open_tickets = F.Integer(metadata={"description": "assigned to you"})
    open_alerts = F.Integer(metadata={"description": "on the accounts you own or are on the team of"})
