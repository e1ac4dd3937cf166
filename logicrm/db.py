"""Declarative base, engines, and sessions for requests, CLI and jobs.

SQLite runs in WAL mode with foreign keys on; write transactions start with
BEGIN IMMEDIATE because SQLite's default deferred transaction takes the write
lock only at the first write, so two writers that both read first either lose
an update or fail with "database is locked" when upgrading.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence

from sqlalchemy import (
    ARRAY,
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ColumnElement,
    Connection,
    DateTime,
    Engine,
    Enum,
    MetaData,
    Numeric,
    Table,
    and_,
    any_,
    bindparam,
    case,
    create_engine,
    event,
    func,
    literal,
    literal_column,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.types import TypeDecorator

from logicrm.bounds import Bound

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC timestamps on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; LogiCRM stores aware UTC timestamps")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime()}


def utcnow() -> dt.datetime:
    """Return the current time as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


def new_external_ref() -> str:
    """Return a fresh import key for a record created without one, so every record can be exported
    and re-imported (random, so refs generated in two databases never collide)."""
    return f"lcrm-{uuid.uuid4().hex[:24]}"


WRITE_OPTION = "logicrm_write"
# a writer that would rather fail at once ("database is locked", see `busy`) than wait for SQLite's lock:
# for writes a read makes in passing, which must never keep its caller waiting on another writer
NO_WAIT_OPTION = "logicrm_no_wait"


def make_engine(url: str, *, busy_timeout_ms: int = 30_000, **kwargs) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, busy timeout and BEGIN IMMEDIATE for writers."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, **kwargs)
    engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000}, **kwargs)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        # Autocommit at the driver level so SQLAlchemy, not pysqlite, emits BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "foreign_keys=ON",
            f"busy_timeout={busy_timeout_ms}",
            "synchronous=NORMAL",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        options = connection.get_execution_options()
        if not options.get(WRITE_OPTION, True):
            connection.exec_driver_sql("BEGIN")
        elif options.get(NO_WAIT_OPTION):
            connection.exec_driver_sql("PRAGMA busy_timeout=0")
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            finally:
                connection.exec_driver_sql(f"PRAGMA busy_timeout={busy_timeout_ms}")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def busy(error: OperationalError) -> bool:
    """Whether SQLite refused a `NO_WAIT_OPTION` writer because another writer holds the lock."""
    return "database is locked" in str(error.orig)


class Database:
    """One engine and its session factories: writers take the lock up front, readers do not."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.write_sessions = sessionmaker(bind=engine, expire_on_commit=False)
        self.read_sessions = sessionmaker(
            bind=engine.execution_options(**{WRITE_OPTION: False}), expire_on_commit=False
        )

    def session(self, *, write: bool = True) -> Session:
        """Open a new session; close it when done."""
        return (self.write_sessions if write else self.read_sessions)()

    @contextlib.contextmanager
    def session_scope(self, *, write: bool = True) -> Iterator[Session]:
        """Yield a session that commits on success and rolls back on error (CLI and jobs)."""
        with self.session(write=write) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise


KEY_LOCK_SPACE = 13  # first key of lock_keys' advisory locks (two-key locks: apart from one-key ones)
KEY_LOCK_BUCKETS = 1024


def lock_keys(session: Session, keys: Iterable[str]) -> None:
    """Hold transaction-scoped locks on `keys` so a check-then-write on them runs one writer at a time.

    SQLite writers already hold the database lock from their first statement (BEGIN IMMEDIATE). On
    PostgreSQL each key hashes to one of KEY_LOCK_BUCKETS advisory locks, released at commit or rollback:
    an import of 100k customers in one transaction would otherwise hold 100k locks, more than the server's
    shared lock table (max_locks_per_transaction x max_connections); two keys sharing a bucket only wait
    on each other. Taken in sorted order (one statement, the buckets as one array) so two writers never
    wait on each other the wrong way round; a bucket the transaction holds already is not asked for again
    (an import's batches name thousands of keys each, hashing onto nearly every bucket).
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    buckets = {zlib.crc32(key.encode()) & (KEY_LOCK_BUCKETS - 1) for key in keys}
    current = session.get_nested_transaction() or session.get_transaction()
    taken: dict = session.info.setdefault("lock_keys", {})  # transaction -> the buckets it locked
    for ended in [transaction for transaction in taken if not transaction.is_active]:
        del taken[ended]  # its locks went with it (a savepoint rolled back), or passed to its parent
    held, enclosing = set(), current
    while enclosing is not None:
        held |= taken.get(enclosing, set())
        enclosing = enclosing.parent
    wanted = sorted(buckets - held)
    if wanted:
        session.execute(
            text(
                "SELECT pg_advisory_xact_lock(:space, bucket) FROM"
                " (SELECT bucket FROM unnest(CAST(:buckets AS int[])) AS bucket ORDER BY bucket) AS buckets"
            ),
            {"space": KEY_LOCK_SPACE, "buckets": wanted},
        )
        if current is not None:
            taken.setdefault(current, set()).update(wanted)


PERIODS = ("month", "week")


def period_label(session: Session, column, interval: str):
    """SQL: the first day of the month, or the Monday of the ISO week, of a UTC timestamp, as 'YYYY-MM-DD'
    (the same text on SQLite and PostgreSQL, so GROUP BY and the labels computed in Python agree)."""
    if interval not in PERIODS:
        raise ValueError(f"interval: one of {PERIODS}, not {interval!r}")
    if session.get_bind().dialect.name == "sqlite":
        if interval == "month":
            return func.strftime("%Y-%m-01", column)
        return func.date(column, "-6 days", "weekday 1")  # the Monday on or before
    utc = func.timezone("UTC", column)  # date_trunc on a timestamptz would use the session's time zone
    return func.to_char(func.date_trunc(interval, utc), "YYYY-MM-DD")


def days_since(session: Session, column, origin: dt.datetime):
    """SQL: days (with fractions) from `origin` to a timestamp column, on SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "sqlite":
        return func.julianday(column) - func.julianday(
            origin.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
        )
    return func.extract("epoch", column - literal(origin, UTCDateTime())) / 86400.0


def held_money(session: Session, column, bound: Bound):
    """SQL: a money column's value for sums, held to its bound: above it the bound, and 0 for what is no
    number (NaN on PostgreSQL, text on SQLite; both sort above every number), so a sum can neither overflow
    nor turn NaN over rows written past the API. One comparison per ordinary row (the CHECKs keep money ≥ 0).
    """
    if session.get_bind().dialect.name == "sqlite":
        is_number = column <= literal_column("9e999")  # SQLite reads 9e999 as +infinity
    else:
        is_number = column != literal_column("'NaN'")
    held = case((column > bound.high, case((is_number, bound.high), else_=0)), else_=column)
    return type_coerce(held, column.type)


MONEY = Numeric(14, 2, asdecimal=False)


def within(bound: Bound, column: str) -> CheckConstraint:
    """The CHECK that keeps `column` inside its bound, named <column>_range."""
    return CheckConstraint(bound.check(column), name=f"{column}_range")


def enum_type(enum_cls, *, name: str | None = None) -> Enum:
    """Store a StrEnum as its value, with a CHECK constraint (named `name` or after the enum) on every backend."""
    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=24,
        values_callable=lambda members: [member.value for member in members],
        name=name or enum_cls.__name__.lower(),
    )


BULK_CHUNK = 20_000


def bulk_insert(
    connection: Connection, table: Table, columns: tuple[str, ...], rows: Iterable[tuple]
) -> None:
    """Insert plain tuples in bulk (no defaults applied), without per-row ORM work.

    PostgreSQL streams them with COPY (executemany there is ten times slower), JSON values as their text.
    Elsewhere one compiled INSERT goes to the driver's executemany, the values converted a column at a
    time to exactly what SQLAlchemy's bind processors would give.
    """
    dialect = connection.dialect
    if dialect.name == "postgresql":
        dumped = [index for index, name in enumerate(columns) if isinstance(table.c[name].type, JSON)]
        if dumped:
            rows = (_json_dumped(row, dumped) for row in rows)
        sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
        return
    quote = dialect.identifier_preparer.quote
    marks = ", ".join("?" if dialect.paramstyle == "qmark" else "%s" for _name in columns)
    statement = f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, columns))}) VALUES ({marks})"
    converters = [_sqlite_converter(table.c[name].type, dialect) for name in columns]
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, BULK_CHUNK)):
        converted = [
            values if convert is None else convert(values)
            for values, convert in zip(zip(*chunk, strict=True), converters, strict=True)
        ]
        connection.exec_driver_sql(statement, list(zip(*converted, strict=True)))


def _json_dumped(row: tuple, indexes: list[int]) -> list:
    row = list(row)
    for index in indexes:
        if row[index] is not None:
            row[index] = json.dumps(row[index])
    return row


def reserve_ids(connection: Connection, table: Table, count: int) -> list[int]:
    """Return `count` new ids for rows about to be bulk inserted into `table` (its integer `id`).

    PostgreSQL draws them from the column's sequence. SQLite gives a new row the largest id plus one, and
    a writer holds the database's write lock from its first statement (BEGIN IMMEDIATE), so the ids after
    the largest are this transaction's until it inserts them.
    """
    if not count:
        return []
    if connection.dialect.name == "postgresql":
        sequence = func.pg_get_serial_sequence(table.name, "id")
        return list(
            connection.scalars(select(func.nextval(sequence)).select_from(func.generate_series(1, count)))
        )
    largest = connection.scalar(select(func.max(table.c.id))) or 0
    return list(range(largest + 1, largest + 1 + count))


def python_defaults(table: Table) -> dict[str, Callable[[], object]]:
    """Map each column with a Python-side default to a function giving it: what the ORM and Core fill in
    for a column an INSERT leaves out, and `bulk_insert` does not."""
    defaults = {}
    for column in table.columns:
        default = column.default
        if default is None or not (default.is_scalar or default.is_callable):
            continue
        if default.is_scalar:
            defaults[column.key] = lambda value=default.arg: value
        else:  # SQLAlchemy wraps a function of no arguments into one taking the execution context
            defaults[column.key] = lambda make=default.arg: make(None)
    return defaults


def insert_records(connection: Connection, table: Table, records: list[dict]) -> list[dict]:
    """Insert new rows in bulk as the ORM would: ids drawn for them, Python defaults filled in where a
    value is missing (or None, unless the column stores None as JSON null). Return the rows as stored.
    No flush hook sees them: a caller writing scored tables moves their revisions on."""
    if not records:
        return []
    defaults = python_defaults(table)
    nullable_json = {column.key for column in table.columns if column.type.should_evaluate_none}
    names = [
        column.key
        for column in table.columns
        if column.key in defaults or any(column.key in record for record in records)
    ]
    keyed = "id" in table.c  # (a role profile's key is its customer's)
    ids = reserve_ids(connection, table, len(records)) if keyed else [None] * len(records)
    columns = (*(("id",) if keyed else ()), *(name for name in names if name != "id"))
    values = {"id": ids} if keyed else {}  # column by column: a batch's records share their keys
    for name in names:
        given = [record.get(name) for record in records]
        if name in defaults:
            make, evaluate_none = defaults[name], name in nullable_json
            given = [
                make() if value is None and not (evaluate_none and name in record) else value
                for value, record in zip(given, records, strict=True)
            ]
        values[name] = given
    rows = list(zip(*(values[name] for name in columns), strict=True))
    bulk_insert(connection, table, columns, rows)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def bulk_update(
    connection: Connection, table: Table, rows: list[dict], *, key: str = "id", bump: dict | None = None
) -> None:
    """Update rows in bulk: each dict holds the `key` (id), the `version` it was read at and the new values.

    Rows changing the same columns go in one executemany; the version moves on by one, as a flush moves
    it, and `bump` sets further columns on every row (updated_at). A row whose version moved since it was
    read raises StaleDataError, as the ORM does (where the driver counts rows reliably: PostgreSQL; an
    SQLite writer holds the write lock throughout).
    """
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(name for name in row if name not in (key, "version")), []).append(row)
    for names, group in groups.items():
        statement = (
            update(table)
            .where(table.c[key] == bindparam("_key"), table.c.version == bindparam("_version"))
            .values(
                {**{name: bindparam(name) for name in names}, **(bump or {}), "version": table.c.version + 1}
            )
        )
        params = [
            {"_key": row[key], "_version": row["version"], **{name: row[name] for name in names}}
            for row in group
        ]
        result = connection.execute(statement, params)
        if connection.dialect.supports_sane_multi_rowcount and result.rowcount != len(params):
            raise StaleDataError(
                f"{table.name}: {len(params) - result.rowcount} rows changed while being updated"
            )


def among(connection: Connection, column: Column, values: Iterable) -> ColumnElement[bool]:
    """`column IN values` with the values as one parameter: an array on PostgreSQL, a JSON list on SQLite.

    Rendering and parsing an IN list of thousands of placeholders costs more than running the query.
    """
    values = list(values)
    if connection.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type), unique=True))
    listed = func.json_each(bindparam(None, values, type_=JSON, unique=True)).table_valued("value")
    return column.in_(select(listed.c.value))


def pairs_among(
    connection: Connection, columns: tuple[Column, Column], pairs: Iterable[tuple]
) -> ColumnElement[bool]:
    """`(a, b) IN pairs` as an index on (a, b) serves it: the rows matching any first and any second value,
    a superset for the caller to key by pair (SQLite scans the whole table for a row-value IN list)."""
    pairs = list(pairs)
    first, second = columns
    return and_(
        among(connection, first, {pair[0] for pair in pairs}),
        among(connection, second, {pair[1] for pair in pairs}),
    )


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def _sqlite_stored_utc(values: Sequence[dt.datetime | None]) -> list[str | None]:
    """The text SQLAlchemy's SQLite DateTime stores for UTCDateTime ('2026-03-31 14:05:00.000000'), for
    a whole column at once: formatting a million datetimes one by one costs more than inserting them."""
    import numpy as np  # here: the command line and the API start without it

    stamps = [value for value in values if value is not None]
    if not stamps:
        return list(values)
    micros = np.array([(value - _EPOCH) // _MICROSECOND for value in stamps], dtype=np.int64)
    text = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us")  # 2026-03-31T14:05:00.000000
    text.view(np.uint32).reshape(len(text), -1)[:, 10] = ord(" ")  # the T, as a UCS-4 code point
    if len(stamps) == len(values):
        return text.tolist()
    formatted = iter(text.tolist())
    return [None if value is None else next(formatted) for value in values]


def _sqlite_converter(column_type, dialect) -> Callable[[Sequence], list] | None:
    if isinstance(column_type, UTCDateTime):
        return _sqlite_stored_utc
    if isinstance(column_type, Boolean):
        return None  # sqlite3 stores True and False as 1 and 0, as the bind processor would
    processor = column_type.dialect_impl(dialect).bind_processor(dialect)
    return None if processor is None else lambda values: list(map(processor, values))
