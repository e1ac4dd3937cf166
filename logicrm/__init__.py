"""LogiCRM: a CRM for logistics providers with two-sided (shipper/consignee) customers."""


def __getattr__(name: str):
    # Lazy, so the pure scoring modules import without Flask or SQLAlchemy ('logicrm:create_app()' still works).
    if name == "create_app":
        from logicrm.app import create_app

        return create_app
    raise AttributeError(f"module 'logicrm' has no attribute {name!r}")


__all__ = ["create_app"]
