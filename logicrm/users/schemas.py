"""User and API key payloads."""

from __future__ import annotations

import marshmallow as ma

from logicrm.api import PageArgs
from logicrm.schemas import Id, enum_field
from logicrm.users.models import UserRole


class UserIn(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=254))
    role = enum_field(UserRole, required=True)
    active = ma.fields.Boolean(load_default=True)


class UserOut(UserIn):
    id = Id()
    created_at = ma.fields.DateTime()


class UserListArgs(PageArgs):
    role = enum_field(UserRole)


class ApiKeyIn(ma.Schema):
    label = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=200))


class ApiKeyOut(ma.Schema):
    id = Id()
    user_id = Id()
    prefix = ma.fields.String()
    label = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    last_used_at = ma.fields.DateTime(allow_none=True)
    revoked_at = ma.fields.DateTime(allow_none=True)


class NewApiKeyOut(ApiKeyOut):
    key = ma.fields.String(metadata={"description": "the secret, shown this once only"})
