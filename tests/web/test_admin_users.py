"""The users page: each user's live API keys counted in one query, however many users there are."""

from __future__ import annotations

import itertools
import re

from logicrm.users import keys as api_keys
from logicrm.users import service as users
from logicrm.users.models import UserRole
from tests.web.conftest import statements


def _add_users(db, count: int, *, keys: int) -> None:
    with db.session_scope() as session:
        for _ in range(count):
            user = users.create(
                session,
                name="Bulk",
                email=f"bulk{next(_serial)}@test.example",
                role=UserRole.VIEWER,
            )
            for _k in range(keys):
                api_keys.create(session, user=user)


_serial = itertools.count(1)


def test_live_keys_are_counted_without_a_query_per_user(db, actors, browse):
    with db.session_scope() as session:
        viewer = users.get(session, user_id=actors["viewer"].user_id)
        revoked, _secret = api_keys.create(session, user=viewer)
        api_keys.create(session, user=viewer)
        session.flush()
        api_keys.revoke(session, key_id=revoked.id)
    admin = browse("admin@test.example")

    page = admin.get("/admin/users").get_data(as_text=True)
    row = re.search(r"<tr><td><a[^>]*>Viewer</a>.*?</tr>", page, flags=re.S).group()
    assert row.endswith('<td class="num">2</td></tr>')  # the fixture's key and one more; not the revoked one

    with statements(db.engine) as few:
        admin.get("/admin/users")
    _add_users(db, 20, keys=2)
    with statements(db.engine) as many:
        assert admin.get("/admin/users").get_data(as_text=True).count('<td class="num">2</td>') >= 21
    assert len(many) == len(few)
