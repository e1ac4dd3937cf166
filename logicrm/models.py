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
from logicrm.health.models import Alert, Delivery, HealthSnapshot, JobRun, WebhookReceiver
from logicrm.imports.models import ImportJob, ImportReject
from logicrm.network.models import Link, Shipment
from logicrm.network.revisions import Revision
from logicrm.shippers.models import ShipperProfile
from logicrm.users.models import ApiKey, User

__all__ = [
    "Alert",
    "ApiKey",
    "AuditEvent",
    "ConsigneeProfile",
    "Contact",
    "Customer",
    "Delivery",
    "Department",
    "HealthSnapshot",
    "ImportJob",
    "ImportReject",
    "Interaction",
    "JobRun",
    "Link",
    "Opportunity",
    "Revision",
    "Shipment",
    "ShipperProfile",
    "SurveyResponse",
    "SurveyScore",
    "Ticket",
    "User",
    "WebhookReceiver",
]
