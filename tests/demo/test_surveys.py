"""Survey responses: some departments have fallen silent."""

from __future__ import annotations

from sqlalchemy import func, select

from logicrm.relations.models import Department
from tests.demo.conftest import silent_departments


def test_some_departments_are_silent_for_over_180_days(session):
    assert session.scalar(select(func.count(Department.id)).where(silent_departments())) >= 5
