"""Departments, contacts, survey responses and interactions: the kinds of customer records they are and
the rules of their own (customers.records does the rest)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from logicrm import access, db
from logicrm.audit import service as audit
from logicrm.customers import teams
from logicrm.customers.records import Checked, RecordKind, Write
from logicrm.errors import field_error
from logicrm.relations.models import Contact, Department, Interaction, SurveyResponse, SurveyScore
from logicrm.rulebook import service as rulebook
from logicrm.tasks import service as tasks
from logicrm.tasks.models import Task, TaskKind, TaskSource, TaskStatus
from logicrm.users.models import User

FOLLOW_UP_TITLE_CHARS = 120


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


def _after_contacts(session: Session, user: User, writes: list[tuple[Interaction, dict, bool]]) -> None:
    """Contacts logged or changed ((interaction, {field: [old, new]}, created) each, in order): a next
    follow-up date is a task, and a contact of a kind that counts answers the department's cadence task."""
    follow_ups(
        session, user=user, interactions=[i for i, changes, _c in writes if "next_follow_up" in changes]
    )
    counting = rulebook.current(session).cadence.counting_kinds
    tasks.close_cadence_tasks_after(
        session,
        contacts=[
            (interaction.customer_id, interaction.department_id, interaction.id)
            for interaction, changes, _created in writes
            if str(interaction.kind) in counting and {"kind", "department_id", "at"} & changes.keys()
        ],
        user=user,
    )


def follow_up(session: Session, *, user: User, interaction: Interaction) -> None:
    """Open the follow-up task of an interaction, move its due date, or close it when the date is gone
    (called on every write of an interaction's next_follow_up; the demo calls it for those it writes in bulk)."""
    follow_ups(session, user=user, interactions=[interaction])


def follow_ups(session: Session, *, user: User, interactions: list[Interaction]) -> None:
    """follow_up for each interaction, in a few queries however many."""
    if not interactions:
        return
    keys = {interaction.id: f"interaction:{interaction.id}" for interaction in interactions}
    existing: dict[str, list[Task]] = {}
    for task in tasks.open_tasks(session, db.among(session.connection(), Task.dedupe_key, keys.values())):
        existing.setdefault(task.dedupe_key, []).append(task)
    new = []
    for interaction in interactions:
        found = existing.get(keys[interaction.id], [])
        if interaction.next_follow_up is None:
            tasks.close(
                session,
                tasks=found,
                status=TaskStatus.NOT_NEEDED,
                outcome="follow-up date removed",
                user=user,
            )
        elif found:
            for task in found:
                diff = audit.apply_changes(task, {"due_on": interaction.next_follow_up})
                audit.record(
                    session,
                    user=user,
                    entity=tasks.TASKS.entity,
                    entity_id=task.id,
                    customer_id=task.customer_id,
                    action="update",
                    changes=diff,
                )
        else:
            new.append(interaction)
    takers = tasks.takers(session, pairs=[(i.user_id, i.customer_id) for i in new])
    stands = teams.people(
        session, customer_ids={i.customer_id for i in new if (i.user_id, i.customer_id) not in takers}
    )
    specs = []
    for interaction in new:
        author, customer_id = interaction.user_id, interaction.customer_id
        assignee = author if (author, customer_id) in takers else stands[customer_id].get(teams.OWNER)
        summary = " ".join(interaction.summary.split())
        if len(summary) > FOLLOW_UP_TITLE_CHARS:
            summary = summary[: FOLLOW_UP_TITLE_CHARS - 1] + "…"
        specs.append(
            dict(
                customer_id=customer_id,
                kind=TaskKind.FOLLOW_UP,
                title=f"Follow up on the {interaction.kind} of {interaction.at:%d %b %Y}: {summary}",
                due_on=interaction.next_follow_up,
                source=TaskSource.FOLLOW_UP,
                dedupe_key=keys[interaction.id],
                assignee_id=assignee,
                department_id=interaction.department_id,
                interaction_id=interaction.id,
            )
        )
    tasks.open_tasks_once(session, specs=specs, user=user)


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
    same_customer={"department_id": Department, "contact_id": Contact, "ticket_id": "tickets"},
    build=_survey,
    describe=_survey_created,
)
INTERACTIONS = RecordKind(
    Interaction,
    "interaction",
    audited=True,
    same_customer={"department_id": Department},
    prepare=_logged_as_caller,
    written=_after_contacts,
)


def dimension_gaps(session: Session, *, customer_id: int, since: dt.datetime) -> dict[tuple[int, str], dict]:
    """Per (department id, dimension): the mean gap perception − expectation of the answers since `since`,
    as a share of each answer's scale (−1…1; 0 = expectations exactly met), and how many answers."""
    width = func.nullif(SurveyResponse.scale_max - SurveyResponse.scale_min, 0)
    rows = session.execute(
        select(
            SurveyResponse.department_id,
            SurveyScore.dimension,
            func.avg((SurveyScore.perception - SurveyScore.expectation) / width),
            func.count(),
        )
        .join(SurveyScore, SurveyScore.response_id == SurveyResponse.id)
        .where(SurveyResponse.customer_id == customer_id, SurveyResponse.collected_at >= since)
        .group_by(SurveyResponse.department_id, SurveyScore.dimension)
    )
    return {
        (department, str(dimension)): {"gap": None if gap is None else float(gap), "answers": answers}
        for department, dimension, gap, answers in rows
    }
