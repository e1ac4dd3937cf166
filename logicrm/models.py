"""Import every model module so Base.metadata is complete (Alembic, tests, create_all)."""

from logicrm.audit.models import AuditEvent
from logicrm.consignees.models import ConsigneeProfile
from logicrm.customers.models import Customer, CustomerAlias, CustomerNameKey
from logicrm.health.models import Alert, HealthSnapshot, JobRun, PortfolioKpis
from logicrm.imports.models import ImportJob, ImportReject
from logicrm.lanes.models import Link, Shipment
from logicrm.outbox.models import Delivery, WebhookReceiver
from logicrm.relations.models import Contact, Department, Interaction, SurveyResponse, SurveyScore
from logicrm.rulebook.models import RulebookVersion
from logicrm.sales.models import Opportunity, OpportunityStageEvent
from logicrm.scoring.models import ChurnModelRecord, Scenario
from logicrm.scoring.revisions import Revision
from logicrm.shippers.models import ShipperProfile
from logicrm.tasks.models import Task
from logicrm.tickets.models import Ticket, TicketEvent
from logicrm.users.models import ApiKey, LoginAttempt, User

__all__ = [
    "Alert",
    "ApiKey",
    "AuditEvent",
    "ChurnModelRecord",
    "ConsigneeProfile",
    "Contact",
    "Customer",
    "CustomerAlias",
    "CustomerNameKey",
    "Delivery",
    "Department",
    "HealthSnapshot",
    "ImportJob",
    "ImportReject",
    "Interaction",
    "JobRun",
    "Link",
    "LoginAttempt",
    "Opportunity",
    "OpportunityStageEvent",
    "PortfolioKpis",
    "Revision",
    "RulebookVersion",
    "Scenario",
    "Shipment",
    "ShipperProfile",
    "SurveyResponse",
    "SurveyScore",
    "Task",
    "Ticket",
    "TicketEvent",
    "User",
    "WebhookReceiver",
]
