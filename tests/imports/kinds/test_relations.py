"""The kinds of a customer's records: survey scores by dimension, departments contacts must name, the
follow-up task an interaction opens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from logicrm.relations.models import Contact, Interaction, SurveyResponse
from logicrm.tasks.models import Task, TaskKind, TaskStatus
from tests.imports.conftest import count, csv_text, run_import
from tests.imports.world import WORLD


def test_surveys_with_dimension_columns_create_responses_with_scores(app, db, actors):
    run_import(app, "customers", WORLD["customers"])
    run_import(app, "departments", WORLD["departments"])
    body = csv_text(
        (
            "external_ref",
            "customer_ref",
            "department",
            "collected_at",
            "scale_max",
            "capacity_expectation",
            "capacity_perception",
            "handover_expectation",
            "handover_perception",
            "handover_importance",
        ),
        [
            ["Q1", "S1", "logistics", "2026-04-01", "10", "9", "4", "8", "8", "0,5"],
            ["Q2", "C1", "warehouse", "2026-04-02T10:00:00Z", "", "3", "6", "", "", ""],
        ],
    )
    job = run_import(app, "surveys", body)
    assert (job.state, job.counts["created"]) == ("succeeded", 2), job.counts
    with db.session(write=False) as session:
        surveys = {s.external_ref: s for s in session.scalars(select(SurveyResponse))}
        scores = {
            ref: {str(s.dimension): (s.importance, s.expectation, s.perception) for s in survey.scores}
            for ref, survey in surveys.items()
        }
    assert scores == {
        "Q1": {"capacity": (1.0, 9.0, 4.0), "handover": (0.5, 8.0, 8.0)},
        "Q2": {"capacity": (1.0, 3.0, 6.0)},
    }
    assert surveys["Q1"].scale_max == 10


def test_a_survey_score_outside_the_scale_or_half_answered_is_a_row_error(app, db, actors):
    run_import(app, "customers", WORLD["customers"])
    run_import(app, "departments", WORLD["departments"])
    body = csv_text(
        (
            "external_ref",
            "customer_ref",
            "department",
            "collected_at",
            "timeliness_expectation",
            "timeliness_perception",
            "reliability_expectation",
            "reliability_perception",
        ),
        [
            ["Q1", "S1", "logistics", "2026-04-01", "9", "4", "", ""],
            ["Q2", "S1", "logistics", "2026-04-01", "", "", "5", ""],
        ],
    )
    job = run_import(app, "surveys", body, skip_invalid=True)
    assert {(e["line"], e["column"]) for e in job.counts["errors"]} == {
        (2, "timeliness_expectation"),
        (3, "reliability_perception"),
    }
    assert count(db, SurveyResponse) == 0


def test_contacts_in_an_unknown_department_are_row_errors(app, db, actors):
    run_import(app, "customers", WORLD["customers"])
    body = csv_text(("external_ref", "customer_ref", "department", "name"), [["P1", "S1", "sales", "Li"]])
    job = run_import(app, "contacts", body)
    assert job.state == "rejected"
    assert job.counts["errors"][0]["column"] == "department"
    assert count(db, Contact) == 0


def test_an_imported_interaction_opens_moves_and_closes_its_follow_up_task_as_the_api_does(app, db, actors):
    run_import(app, "customers", WORLD["customers"])
    run_import(app, "departments", WORLD["departments"])
    assert run_import(app, "interactions", WORLD["interactions"]).counts["created"] == 1

    def follow_ups():
        with db.session(write=False) as session:
            interaction = session.scalars(select(Interaction)).one()
            found = session.scalars(select(Task).where(Task.interaction_id == interaction.id)).all()
            return [(task.kind, task.status, task.due_on, task.assignee_id) for task in found]

    am = actors["am"].user_id
    assert follow_ups() == [(TaskKind.FOLLOW_UP, TaskStatus.OPEN, dt.date(2026, 5, 1), am)]
    moved = WORLD["interactions"].replace("2026-05-01", "2026-05-20")
    assert run_import(app, "interactions", moved).counts["updated"] == 1
    assert follow_ups() == [(TaskKind.FOLLOW_UP, TaskStatus.OPEN, dt.date(2026, 5, 20), am)]
    dropped = WORLD["interactions"].replace("2026-05-01", "")
    assert run_import(app, "interactions", dropped).counts["updated"] == 1
    assert follow_ups() == [(TaskKind.FOLLOW_UP, TaskStatus.NOT_NEEDED, dt.date(2026, 5, 20), am)]
