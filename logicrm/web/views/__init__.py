"""The pages, one module per page; importing them registers their routes on the web blueprint."""

from logicrm.web import login
from logicrm.web.pages import blp
from logicrm.web.views import (
    account,
    account_actions,
    accounts,
    admin,
    admin_users,
    alerts,
    imports,
    my_day,
    network,
    portfolio,
    service_desk,
    tasks,
    what_if,
)

__all__ = [
    "account",
    "account_actions",
    "accounts",
    "admin",
    "admin_users",
    "alerts",
    "imports",
    "login",
    "my_day",
    "network",
    "portfolio",
    "service_desk",
    "tasks",
    "what_if",
]
blueprints = (blp,)
