"""The roles a user holds (what each may do: logicrm.access). Apart from the models so that the command
line lists its options without loading the ORM."""

from __future__ import annotations

import enum


class UserRole(enum.StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    ACCOUNT_MANAGER = "account_manager"
    PLANNER = "planner"
    VIEWER = "viewer"
