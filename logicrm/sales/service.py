"""Opportunities: the sales funnel, as customer records (customers.records does the rest)."""

from __future__ import annotations

from logicrm.customers.records import RecordKind
from logicrm.sales.models import Opportunity

OPPORTUNITIES = RecordKind(Opportunity, "opportunity")
