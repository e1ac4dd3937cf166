"""The kinds of import file, by name (also the order the API and docs list them in)."""

from __future__ import annotations

from logicrm.imports.kinds.base import Kind
from logicrm.imports.kinds.customers import Customers
from logicrm.imports.kinds.lanes import Links, Shipments
from logicrm.imports.kinds.relations import Contacts, Departments, Interactions, Surveys
from logicrm.imports.kinds.tickets import Tickets

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Customers(),
        Departments(),
        Contacts(),
        Links(),
        Shipments(),
        Surveys(),
        Interactions(),
        Tickets(),
    )
}
