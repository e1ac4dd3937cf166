"""What each role may see of a record and which writes it may make: the one place these rules live.

Services and answers ask here; the SQL that applies "which accounts" lives in customers.service
(`visible`, `visible_ids`) and follows `is_restricted`. Stdlib and the user model only.
"""

from __future__ import annotations

from collections.abc import Mapping

from logicrm.users.models import User, UserRole

# Fields holding a person's personal data, by audited entity: planners work on lanes and volumes, and
# contacts' email and phone are not theirs to see, wherever the fields surface (answers, history).
PERSONAL_DATA: Mapping[str, frozenset[str]] = {"contact": frozenset({"email", "phone"})}
# Roles that decide who covers an account (owner and team) and may record work in another user's name.
TEAM_MANAGERS = frozenset({UserRole.ADMIN, UserRole.MANAGER})


def is_restricted(user: User) -> bool:
    """Tell whether the user sees only some accounts (account managers: owned or on the team)."""
    return user.role == UserRole.ACCOUNT_MANAGER


def sees_personal_data(user: User) -> bool:
    """Tell whether the user may read contacts' personal data (email, phone)."""
    return user.role != UserRole.PLANNER


def manages_teams(user: User) -> bool:
    """Tell whether the user may change an account's owner and team, or act in another user's name."""
    return user.role in TEAM_MANAGERS


def redact(user: User, entity: str, record: Mapping) -> dict:
    """Return `record` (field → value) without the fields of `entity` the user may not see."""
    hidden = _hidden_fields(user, entity)
    return {field: value for field, value in record.items() if field not in hidden}


def _hidden_fields(user: User, entity: str) -> frozenset[str]:
    return frozenset() if sees_personal_data(user) else PERSONAL_DATA.get(entity, frozenset())
