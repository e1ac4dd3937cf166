"""Alembic environment: the engine comes from logicrm.migrate, the metadata from the models.

On SQLite, batch mode rebuilds a table by copying it, dropping the original and renaming the copy. With
foreign keys on, that DROP deletes the table's rows first and their ON DELETE actions fire: rebuilding
`links` would delete every shipment. So foreign keys are off while migrations run (SQLite ignores the
pragma inside a transaction, hence before the first statement), checked once they are done, and back on
before the connection returns to the pool.
"""

from alembic import context
from alembic.util import CommandError

import logicrm.models  # noqa: F401  (fills Base.metadata)
from logicrm.db import Base

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise CommandError(f"migration left rows whose foreign keys point nowhere: {broken[:10]}")
        connection.commit()
    finally:
        if sqlite:
            connection.rollback()
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")
