"""Shipper role views."""

from logicrm.customers.routes import role_blueprint

blp = role_blueprint("shipper", "consignee")
