"""Read and save rulebook versions; every process reads the newest at each use, so an edit takes effect
everywhere without a restart.

`current` costs one small query (the newest version number); the parsed document is kept per database
and version, which never changes once saved. Saving writes version n + 1 in the caller's transaction
(two admins saving at once: one of them gets the unique-key conflict, 409) and records the change in
the audit trail. Callers validate the document first (health.rulebook does, for the API).
"""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from logicrm.audit import service as audit
from logicrm.errors import NotFound
from logicrm.rulebook.document import DEFAULTS, Rulebook, parse
from logicrm.rulebook.models import RulebookVersion
from logicrm.users.models import User

ENTITY = "rulebook"

_parsed: dict[tuple[str, int, dt.datetime], Rulebook] = {}
_lock = threading.Lock()


def current(session: Session) -> Rulebook:
    """The rulebook in force: the newest saved version, or the built-in defaults (version 0)."""
    version = session.scalar(select(func.max(RulebookVersion.version))) or 0
    return get(session, version=version)


def get(session: Session, *, version: int) -> Rulebook:
    """One version of the rulebook (0: the defaults), or NotFound."""
    if version == 0:
        return DEFAULTS
    stored = session.get(RulebookVersion, version)
    if stored is None:
        raise NotFound(f"rulebook version {version} not found")
    # versions never change, but a database rebuilt from scratch reuses their numbers: the time tells
    key = (str(session.get_bind().url), version, stored.created_at)
    with _lock:
        cached = _parsed.get(key)
    if cached is not None:
        return cached
    parsed = parse(version, stored.document)
    with _lock:
        _parsed[key] = parsed
    return parsed


def get_version(session: Session, *, version: int) -> RulebookVersion | None:
    """The stored row of a version (None for 0, the defaults, which are not stored)."""
    if version == 0:
        return None
    stored = session.get(RulebookVersion, version)
    if stored is None:
        raise NotFound(f"rulebook version {version} not found")
    return stored


def list_statement() -> Select:
    """Select the saved versions, newest first."""
    return select(RulebookVersion).order_by(RulebookVersion.version.desc())


def save(session: Session, *, user: User, document: dict, note: str | None, based_on: int) -> RulebookVersion:
    """Store `document` (validated) as the version after `based_on` and record what changed."""
    before = get(session, version=based_on).document
    saved = RulebookVersion(version=based_on + 1, created_by_id=user.id, note=note, document=document)
    session.add(saved)
    session.flush()
    changes = {
        section: [before.get(section), value]
        for section, value in document.items()
        if before.get(section) != value
    }
    audit.record(
        session,
        user=user,
        entity=ENTITY,
        entity_id=saved.version,
        customer_id=None,
        action="create",
        changes={"note": [None, note], **changes},
    )
    return saved
