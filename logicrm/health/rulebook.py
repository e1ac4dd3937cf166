"""The rulebook as the API reads and edits it, and the rule parameters it puts in force.

A saved document is whole: its thresholds are every rule parameter as it stood when saved (the values in
force, from LOGICRM_RULES_* or the defaults, fill what the edit left out); a parameter added to the code
later takes its value in force until an edit names it. Version 0 (nothing saved) is the built-in defaults
with the thresholds in force in the process.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import marshmallow as ma
from sqlalchemy.orm import Session

from logicrm.errors import Invalid
from logicrm.health.rule_params import RuleParams
from logicrm.parameters import ConfigError
from logicrm.rulebook import service as rulebook
from logicrm.rulebook.document import Rulebook as Book
from logicrm.users.models import User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rulebook:
    """The rulebook as answered; its ETag names the version ("rulebook-current-v<version>")."""

    version: int
    created_at: dt.datetime | None
    created_by_id: int | None
    note: str | None
    document: dict
    id: str = "current"


def params(book: Book, base: RuleParams) -> RuleParams:
    """The rule parameters a rulebook puts in force over `base` (the process's own)."""
    known = {f.name for f in dataclasses.fields(RuleParams)}
    stored = {name: value for name, value in book.thresholds.items() if name in known}
    if not stored:
        return base
    try:
        return dataclasses.replace(base, **stored)
    except (ConfigError, ValueError):
        # saved valid; a later code change made it invalid: run on the process's own rather than not at all
        log.exception("rulebook version %s: thresholds no longer valid, using those in force", book.version)
        return base


def enabled_rules(book: Book, rules) -> set[str]:
    """The rules a rulebook leaves switched on."""
    return set(rules) - book.disabled_rules


def present(session: Session, *, book: Book, base: RuleParams) -> Rulebook:
    """A version of the rulebook as answered: every section, the thresholds as it puts them in force."""
    stored = rulebook.get_version(session, version=book.version)
    whole = {**book.document, "thresholds": dataclasses.asdict(params(book, base))}
    return Rulebook(
        version=book.version,
        created_at=stored.created_at if stored else None,
        created_by_id=stored.created_by_id if stored else None,
        note=stored.note if stored else None,
        document=_plain(whole),
    )


def current(session: Session, *, base: RuleParams) -> Rulebook:
    """The rulebook in force, as answered."""
    return present(session, book=rulebook.current(session), base=base)


def save(session: Session, *, user: User, document: dict, note: str | None, base: RuleParams) -> Rulebook:
    """Save a whole document (loaded by RulebookDocumentIn) as the next version."""
    in_force = rulebook.current(session)
    thresholds = _thresholds(in_force, document.get("thresholds") or {}, base)
    whole = _plain({**document, "thresholds": thresholds})
    rulebook.save(session, user=user, document=whole, note=note, based_on=in_force.version)
    return current(session, base=base)


def patch(
    session: Session, *, user: User, changes: dict, note: str | None, base: RuleParams, schema: ma.Schema
) -> Rulebook:
    """Apply a JSON merge patch to the document in force, validate the result whole, save it."""
    merged = merge_patch(current(session, base=base).document, changes)
    try:
        loaded = schema.load(merged)
    except ma.ValidationError as error:
        raise Invalid(
            "the rulebook would not be valid", errors={"json": {"document": error.messages}}
        ) from None
    return save(session, user=user, document=loaded, note=note, base=base)


def _thresholds(in_force: Book, given: dict, base: RuleParams) -> dict:
    """Every rule parameter: those given over those in force; refuse values the rules cannot run with."""
    try:
        return dataclasses.asdict(dataclasses.replace(params(in_force, base), **given))
    except (ConfigError, ValueError) as error:
        raise Invalid(
            f"thresholds: {error}",
            errors={
                "json": {"document": {"thresholds": [f"{error}; see GET /rulebook for each one's meaning"]}}
            },
        ) from None


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge key by key, null removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def _plain(value: Any) -> Any:
    """JSON-ready: enums by value, mappings as dicts, sequences as lists."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    return value
