"""Alembic environment: the engine comes from logicrm.migrate, the metadata from the models."""

from alembic import context

import logicrm.models  # noqa: F401  (fills Base.metadata)
from logicrm.db import Base

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
