"""HTTP routes for the caller's own view, account teams and handovers."""

from __future__ import annotations

from flask.views import MethodView

from logicrm.api import Blueprint, current_user, etag_of, expected_version, require_role, session
from logicrm.customers import teams as customer_teams
from logicrm.teams import service as teams
from logicrm.teams.schemas import HandoverIn, HandoverOut, MeOut, TeamIn, TeamOut
from logicrm.users.models import UserRole

me_blp = Blueprint("me", __name__, url_prefix="/me", description="The caller, its teams and accounts.")
team_blp = Blueprint(
    "teams",
    __name__,
    url_prefix="/customers",
    description="An account's team: owner, executive sponsor, second account manager, service agent.",
)
handover_blp = Blueprint(
    "handover",
    __name__,
    url_prefix="/users",
    description="Hand over what a user covers to another user (admins, managers).",
)


@me_blp.route("")
class Me(MethodView):
    @me_blp.response(200, MeOut)
    def get(self):
        """You: the accounts you own, the teams you are on and your role there, and what is open."""
        return teams.me(session(), user=current_user())


@team_blp.route("/<int:customer_id>/team")
class AccountTeam(MethodView):
    @team_blp.response(200, TeamOut)
    def get(self, customer_id):
        """The account's team, owner first, with each member's role."""
        customer, members = teams.team(session(), user=current_user(), customer_id=customer_id)
        return {"customer_id": customer.id, "members": members}, 200, {"ETag": etag_of(customer)}

    @team_blp.arguments(TeamIn)
    @team_blp.response(200, TeamOut)
    def put(self, team_in, customer_id):
        """Set the team's members and roles (managers and admins; If-Match: the customer's ETag)."""
        customer, _members = teams.team(session(), user=current_user(), customer_id=customer_id)
        expected_version(customer)
        members = customer_teams.replace(
            session(), user=current_user(), customer=customer, team=team_in["members"]
        )
        return {"customer_id": customer.id, "members": members}, 200, {"ETag": etag_of(customer)}


@handover_blp.route("/<int:user_id>/handover")
class Handover(MethodView):
    @handover_blp.arguments(HandoverIn)
    @handover_blp.response(200, HandoverOut)
    def post(self, handover_in, user_id):
        """Move the user's accounts, team seats, open tasks, open tickets and alert subscriptions to another
        user, recorded in each account's history, then deactivate it (unless deactivate is false)."""
        user = require_role(UserRole.ADMIN, UserRole.MANAGER)
        return teams.hand_over(
            session(),
            user=user,
            from_user_id=user_id,
            to_user_id=handover_in["to_user_id"],
            deactivate=handover_in["deactivate"],
        )


blueprints = (me_blp, team_blp, handover_blp)
