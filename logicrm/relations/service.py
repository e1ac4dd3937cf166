"""Departments, contacts, survey responses and interactions: the kinds of customer records they are and
the rules of their own (customers.records does the rest)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from logicrm import access
from logicrm.audit import service as audit
from logicrm.customers.records import Checked, RecordKind, Write
from logicrm.errors import field_error
from logicrm.relations.models import Contact, Department, Interaction, SurveyResponse, SurveyScore
from logicrm.users.models import User


def score_table(scores) -> dict[str, list[float]]:
    """Describe survey scores (models or payload dicts) as {dimension: [importance, expectation, perception]}."""

    def value(score, name):
        return score[name] if isinstance(score, dict) else getattr(score, name)

    return {
        str(value(s, "dimension")): [value(s, "importance"), value(s, "expectation"), value(s, "perception")]
        for s in scores
    }


def _survey(data: dict) -> SurveyResponse:
    data = dict(data)
    scores = data.pop("scores")
    return SurveyResponse(**data, scores=[SurveyScore(**score) for score in scores])


def _survey_created(response: SurveyResponse, data: dict) -> dict:
    changes = audit.snapshot(response, [name for name in data if name != "scores"])
    changes["scores"] = [None, score_table(response.scores)]
    return changes


def _logged_as_caller(session: Session, user: User, writes: list[Write]) -> list[Checked]:
    """Interactions are logged as the caller; managers and admins may record one in a colleague's name."""
    results: list[Checked] = []
    named = {}  # position -> the colleague named as author
    for data, stored in writes:
        author = data.get("user_id")
        if stored is None and author is None:
            results.append({**data, "user_id": user.id})
        elif (
            "user_id" not in data or author == user.id or (stored is not None and author == stored["user_id"])
        ):
            results.append(data)
        elif not access.manages_teams(user):
            results.append(field_error("user_id", "you log interactions as yourself; leave user_id out"))
        else:
            if author is not None:
                named[len(results)] = author
            results.append(data)
    known = set(session.scalars(select(User.id).where(User.id.in_(set(named.values()))))) if named else set()
    for position, author in named.items():
        if author not in known:
            results[position] = field_error("user_id", f"unknown user {author}")
    return results


DEPARTMENTS = RecordKind(
    Department,
    "department",
    audited=True,
    unique_per_customer="name",
    kept_by=(
        (
            SurveyResponse,
            "department_id",
            "survey responses would go with it; rename the department instead, or delete them first",
        ),
    ),
)
CONTACTS = RecordKind(Contact, "contact", audited=True, same_customer={"department_id": Department})
SURVEYS = RecordKind(
    SurveyResponse,
    "survey",
    audited=True,
    same_customer={"department_id": Department, "contact_id": Contact},
    build=_survey,
    describe=_survey_created,
)
INTERACTIONS = RecordKind(
    Interaction,
    "interaction",
    audited=True,
    same_customer={"department_id": Department},
    prepare=_logged_as_caller,
)
