"""Stored versions of the rulebook: each edit adds one, none is ever changed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from logicrm.db import Base, utcnow


class RulebookVersion(Base):
    """One saved version of the rulebook document (version 1, 2, …; 0 is the built-in defaults)."""

    __tablename__ = "rulebook_versions"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    note: Mapped[str | None] = mapped_column(String(500))
    document: Mapped[dict] = mapped_column(JSON)
