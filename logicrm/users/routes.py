"""Administration of users and API keys (admins only)."""

from __future__ import annotations

from flask.views import MethodView

from logicrm.api import Blueprint, page_of, paginate, require_role, session
from logicrm.schemas import patch_schema
from logicrm.users import keys as api_keys
from logicrm.users import service as users
from logicrm.users.models import UserRole
from logicrm.users.schemas import ApiKeyIn, ApiKeyOut, NewApiKeyOut, UserIn, UserListArgs, UserOut

blp = Blueprint("users", __name__, url_prefix="", description="Users, roles and API keys (admin only).")


@blp.before_request
def _admins_only():
    require_role(UserRole.ADMIN)


@blp.route("/users")
class Users(MethodView):
    @blp.arguments(UserListArgs, location="query")
    @blp.response(200, page_of(UserOut))
    def get(self, args):
        """List users."""
        statement = users.list_statement(role=args.get("role"))
        return paginate(session(), statement, page=args["page"], page_size=args["page_size"])

    @blp.arguments(UserIn)
    @blp.response(201, UserOut)
    def post(self, user_in):
        """Create a user (give it a key with POST /users/{id}/keys)."""
        user = users.create(session(), name=user_in["name"], email=user_in["email"], role=user_in["role"])
        user.active = user_in["active"]
        return user


@blp.route("/users/<int:user_id>")
class UserById(MethodView):
    @blp.response(200, UserOut)
    def get(self, user_id):
        """Read one user."""
        return users.get(session(), user_id=user_id)

    @blp.arguments(patch_schema(UserIn))
    @blp.response(200, UserOut)
    def patch(self, changes, user_id):
        """Change a user's name, role or active flag (deactivating disables all its keys)."""
        user = users.get(session(), user_id=user_id)
        return users.update(session(), user=user, changes=changes)


@blp.route("/users/<int:user_id>/keys")
class UserKeys(MethodView):
    @blp.response(200, ApiKeyOut(many=True))
    def get(self, user_id):
        """List a user's keys (never their secrets)."""
        return users.get(session(), user_id=user_id).keys

    @blp.arguments(ApiKeyIn)
    @blp.response(201, NewApiKeyOut)
    def post(self, key_in, user_id):
        """Create a key; the response is the only time its secret is shown."""
        key, secret = api_keys.create(
            session(), user=users.get(session(), user_id=user_id), label=key_in.get("label")
        )
        return {**{name: getattr(key, name) for name in ApiKeyOut().fields}, "key": secret}


@blp.route("/api-keys/<int:key_id>/revoke")
class RevokeKey(MethodView):
    @blp.response(200, ApiKeyOut)
    def post(self, key_id):
        """Revoke a key at once."""
        return api_keys.revoke(session(), key_id=key_id)


blueprints = (blp,)
