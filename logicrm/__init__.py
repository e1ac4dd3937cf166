"""LogiCRM: a CRM for logistics providers with two-sided (shipper/consignee) customers."""

from logicrm.app import create_app

__all__ = ["create_app"]
