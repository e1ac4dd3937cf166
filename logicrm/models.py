"""Import every model module so Base.metadata is complete (Alembic, tests, create_all)."""

from logicrm.audit.models import AuditEvent
from logicrm.consignees.models import ConsigneeProfile
from logicrm.customers.models import (
    Contact,
    Customer,
    Department,
    Interaction,
    Opportunity,
    SurveyResponse,
    SurveyScore,
    Ticket,
)
from logicrm.network.models import Link, Shipment
from logicrm.network.revisions import Revision
from logicrm.shippers.models import ShipperProfile
from logicrm.users.models import ApiKey, User

__all__ = [
    "ApiKey",
    "AuditEvent",
    "ConsigneeProfile",
    "Contact",
    "Customer",
    "Department",
    "Interaction",
    "Link",
    "Opportunity",
    "Revision",
    "Shipment",
    "ShipperProfile",
    "SurveyResponse",
    "SurveyScore",
    "Ticket",
    "User",
]
