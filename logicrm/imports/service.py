"""Run an import: stream the file, check every row, write it all in one transaction or nothing.

The file is read in batches, so memory stays flat however long it is. Every row is parsed, checked,
resolved and (while the file is still clean, or with skip_invalid) written in the same transaction;
rejected rows go to a temporary file, not memory. The caller commits only a successful, real run, so
an invalid row (by default), a dry run, a crash or a killed process all leave the database as it was.
"""

from __future__ import annotations

import contextlib
import difflib
import itertools
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from logicrm import processes
from logicrm.config import Settings
from logicrm.db import Database, utcnow
from logicrm.errors import NotFound, field_error
from logicrm.imports.columns import Formats, check_date_format
from logicrm.imports.csvfile import CsvReader, FileError
from logicrm.imports.kinds import KINDS
from logicrm.imports.kinds.base import Batch, Context, Kind
from logicrm.imports.models import ImportJob, ImportReject, ImportState
from logicrm.imports.progress import Progress
from logicrm.memory import paused_gc
from logicrm.scoring import revisions
from logicrm.users.models import User, UserRole

log = logging.getLogger(__name__)

# The column a rejected-rows file adds; importing that file again ignores it.
ERRORS_COLUMN = "import_errors"
ERRORS_SHOWN = 20  # errors listed in a job's summary; all of them are in import_rejects
DATE_FORMAT_MAX = ImportJob.__table__.c.date_format.type.length  # a job records its format
IMPORT_CACHE_KIB = 64 * 1024  # SQLite page cache of an import (see _import_cache)


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    skip_invalid: bool = False
    formats: Formats = field(default_factory=Formats)
    batch_rows: int = 2000


def options_from(
    *,
    settings: Settings,
    dry_run: bool = False,
    skip_invalid: bool = False,
    date_format: str | None = None,
    timezone: str | None = None,
) -> Options:
    """Build import options; the date format and time zone default to the configured ones.

    A date format that cannot read dates back, or an unknown time zone, raises Invalid naming it,
    before any file is read."""
    date_format = date_format or settings.import_date_format
    timezone = timezone or settings.import_timezone
    if date_format:
        try:
            if len(date_format) > DATE_FORMAT_MAX:
                raise ValueError(f"longer than {DATE_FORMAT_MAX} characters")
            check_date_format(date_format)
        except ValueError as problem:
            raise field_error("date_format", f"{date_format!r}: {problem}") from None
    try:
        formats = Formats.of(date_format=date_format, timezone=timezone)
    except (KeyError, ValueError, OSError):
        raise field_error("timezone", f"unknown time zone {timezone!r}") from None
    return Options(dry_run, skip_invalid, formats, settings.import_batch_rows)


def spool_dir(*, settings: Settings, instance_path: str) -> str:
    """Return (and create) the folder where uploads and progress files of running imports live."""
    path = settings.import_spool_dir or os.path.join(instance_path, "imports")
    os.makedirs(path, exist_ok=True)
    return path


class Rejects:
    """Rejected rows, spooled to a temporary file: an import of a million bad rows stays small."""

    def __init__(self):
        self._file = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (closed by close())
        self.count = 0
        self.first: list[dict] = []

    def add(self, line: int, cells: list[str], errors: list[tuple[str, str]]) -> None:
        errors = [{"column": column, "reason": reason} for column, reason in errors]
        self._file.write(json.dumps([line, cells, errors], ensure_ascii=False) + "\n")
        self.count += 1
        for error in errors:
            if len(self.first) < ERRORS_SHOWN:
                self.first.append({"line": line, **error})

    def __iter__(self) -> Iterator[tuple[int, list[str], list[dict]]]:
        self._file.seek(0)
        for line in self._file:
            yield tuple(json.loads(line))

    def close(self) -> None:
        self._file.close()


@dataclass
class Outcome:
    state: ImportState
    counts: dict
    rows: int
    header: list[str]
    rejects: Rejects
    error: str | None = None


def get_kind(*, name: str) -> Kind:
    """Return the import kind called `name`, or raise NotFound listing the kinds."""
    kind = KINDS.get(name)
    if kind is None:
        raise NotFound(f"no import kind {name!r}; kinds: {', '.join(KINDS)}")
    return kind


def run(
    session: Session,
    *,
    kind: Kind,
    user: User,
    stream: BinaryIO,
    options: Options,
    progress: Callable[[int, int], None] | None = None,
) -> Outcome:
    """Import one file in `session` (which the caller commits only for a real, successful run)."""
    reader = CsvReader(stream)
    parsers = _parsers(kind, reader.header, options.formats)
    ctx = Context(session, user, present=frozenset(name for _index, name, _read in parsers))
    kind.start(ctx)
    rejects = Rejects()
    with revisions.deferred(session), _import_cache(session):
        rows_done = _run_batches(kind, ctx, reader, parsers, options, rejects, progress)
        for row in kind.finish(ctx):
            rejects.add(row.line, row.cells, row.errors)
    ctx.counts["invalid"] = rejects.count
    if progress:
        progress(rows_done, reader.bytes_read)
    state = ImportState.REJECTED if rejects.count and not options.skip_invalid else ImportState.SUCCEEDED
    counts = dict(ctx.counts)
    if state == ImportState.REJECTED:
        counts.update(created=0, updated=0, unchanged=0)
    return Outcome(state, counts, rows_done, reader.header, rejects)


@contextlib.contextmanager
def _import_cache(session: Session) -> Iterator[None]:
    """Give an SQLite import a page cache that holds the indexes it probes and grows (default: 2 MB)."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    default = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {default}")


def _run_batches(
    kind: Kind, ctx: Context, reader: CsvReader, parsers, options: Options, rejects, progress
) -> int:
    """Parse, check, resolve and write the file a batch at a time; return the number of rows."""
    rows_done = 0
    records = reader.records()
    width = len(reader.header)
    while True:
        # A batch is thousands of lists and tuples that die together: without the cycle collector
        # pausing, it would sweep them (and every live object) again and again, a fifth of the time.
        with paused_gc():
            chunk = list(itertools.islice(records, options.batch_rows))
            if not chunk:
                break
            batch = _parse(chunk, parsers, width)
            # Written even after an invalid row: only writing finds repeated keys, missing referrers
            # and conflicts, so every problem is reported; a rejected file is rolled back by the caller.
            kind.process(ctx, batch)
        for rejected in batch.rejected():
            rejects.add(*rejected)
        rows_done += len(batch)
        if progress:
            progress(rows_done, reader.bytes_read)
    return rows_done


def _parsers(kind: Kind, header: list[str], formats: Formats) -> list[tuple]:
    """Match the header to the kind's columns; refuse unknown, repeated or missing required columns."""
    by_name = {column.name: column for column in kind.columns}
    names = [name.lower() for name in header]
    problems = []
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"column {name!r} appears twice")
    for name in names:
        if name not in by_name and name != ERRORS_COLUMN:
            close = difflib.get_close_matches(name, by_name, n=1)
            problems.append(f"unknown column {name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    missing = [c.name for c in kind.columns if c.required and c.name not in names]
    if missing:
        problems.append(f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if problems:
        raise FileError(
            f"header (line 1): {'; '.join(problems)}. A {kind.name} file has the columns: "
            + ", ".join(kind.column_names)
        )
    return [
        (index, name, by_name[name].reader(formats)) for index, name in enumerate(names) if name in by_name
    ]


def _parse(records: list[tuple[int, list[str]]], parsers: list[tuple], width: int) -> Batch:
    """Read a batch of records column by column."""
    lines, cells = map(list, zip(*records, strict=True))
    batch = Batch(lines, cells)
    if set(map(len, cells)) != {width}:
        for position, row in enumerate(cells):
            if len(row) > width and any(cell.strip() for cell in row[width:]):
                batch.error(position, "", f"{len(row)} cells, but the header names {width} columns")
        cells = [row[:width] + [""] * (width - len(row)) for row in cells]
    columns = list(zip(*cells, strict=True))
    for index, name, read in parsers:
        batch.columns[name], errors = read(columns[index])
        for position, reason in errors.items():
            batch.error(position, name, reason)
    return batch


# ------------------------------------------------------------------------------------------ jobs


def command_line_user() -> User:
    """The user a command-line import acts as when no --user is given: an administrator, in no one's name."""
    return User(id=None, name="command line", email="", role=UserRole.ADMIN, active=True)


def create(
    session: Session,
    *,
    kind: Kind,
    filename: str,
    user: User | None,
    options: Options,
    bytes_total: int | None,
    spool_path: str | None = None,
) -> ImportJob:
    """Record a new import job: queued for a worker when `spool_path` (where its upload waits) is given,
    else running in this process, its first attempt."""
    job = ImportJob(
        kind=kind.name,
        filename=filename.replace("\x00", "")[:300],  # PostgreSQL text holds no NUL
        user_id=user.id if user else None,
        dry_run=options.dry_run,
        skip_invalid=options.skip_invalid,
        date_format=options.formats.date_format,
        timezone=str(options.formats.timezone),
        bytes_total=bytes_total,
        spool_path=spool_path,
        counts={},
    )
    if spool_path is None:
        job.state, job.started_at, job.attempts = ImportState.RUNNING, utcnow(), 1
        job.host, job.pid = processes.here()
    session.add(job)
    session.flush()
    return job


def options_of(*, job: ImportJob, settings: Settings) -> Options:
    """The options a queued job was given, as recorded on its row (for the worker that runs it)."""
    formats = Formats.of(date_format=job.date_format, timezone=job.timezone or "UTC")
    return Options(job.dry_run, job.skip_invalid, formats, settings.import_batch_rows)


# What a job that goes back to the queue forgets of the run that gave it back.
REQUEUED = {
    "state": ImportState.QUEUED, "host": None, "pid": None, "started_at": None, "rows_done": 0, "bytes_done": 0,
}  # fmt: skip


class Interrupted(Exception):
    """Raised by an import's `watch` to give the job back to the queue (its worker is stopping)."""


def execute(
    database: Database,
    *,
    job_id: int,
    stream: BinaryIO,
    options: Options,
    spool_dir: str,
    watch: Callable[[int, int], None] | None = None,
) -> ImportJob:
    """Run a running job (created running here, or claimed) on `stream` in its own transaction and record
    the outcome.

    `watch(rows, bytes)` is told the progress after each batch (the command line's progress bar); it may
    raise Interrupted to roll the run back and queue the job again. The outcome of a real run commits with
    its rows, and only while this attempt still holds the job: an attempt deemed abandoned and run again
    meanwhile writes nothing, so a job's rows are never written twice.
    """
    with database.session(write=False) as reader:
        job = reader.get(ImportJob, job_id)
        user = reader.get(User, job.user_id) if job.user_id else command_line_user()
        attempt, kind = job.attempts, get_kind(name=job.kind)
    published = Progress(database, spool_dir, job_id, attempt)

    latest = [0, 0]

    def progress(rows: int, bytes_done: int) -> None:
        latest[:] = rows, bytes_done
        published(rows, bytes_done)
        if watch:
            watch(rows, bytes_done)

    outcome = None
    with database.session() as session:
        try:
            outcome = run(session, kind=kind, user=user, stream=stream, options=options, progress=progress)
            if outcome.state == ImportState.SUCCEEDED and not options.dry_run:
                # the outcome commits with the rows, or neither does
                recorded = _record(session, job_id, attempt, outcome.state, outcome=outcome)
                if recorded:
                    session.commit()
                else:
                    session.rollback()
            else:
                session.rollback()
                with database.session_scope() as writer:
                    recorded = _record(writer, job_id, attempt, outcome.state, outcome=outcome)
        except Interrupted:
            session.rollback()
            with contextlib.suppress(FileNotFoundError):
                os.remove(published.path)
            return _release(database, job_id, attempt)
        except FileError as problem:
            session.rollback()
            return _finish(database, job_id, attempt, ImportState.REJECTED, error=str(problem))
        except Exception as problem:
            session.rollback()
            _finish(
                database, job_id, attempt, ImportState.FAILED, error=f"{type(problem).__name__}: {problem}"
            )
            raise
        finally:
            if outcome is not None:
                outcome.rejects.close()
    if recorded:
        published(*latest, final=True)
    else:
        log.warning(
            "import job %s: attempt %s was taken over by another; its run was discarded", job_id, attempt
        )
    with database.session(write=False) as reader:
        return reader.get(ImportJob, job_id)


def _record(
    session: Session,
    job_id: int,
    attempt: int,
    state: ImportState,
    *,
    outcome: Outcome | None = None,
    error: str | None = None,
) -> bool:
    """Record how attempt `attempt` of a job ended, with its rejected rows; False (nothing recorded)
    when that attempt no longer holds the job."""
    values = {"state": state, "finished_at": utcnow(), "error": error}
    if outcome is not None:
        errors = sorted(outcome.rejects.first, key=lambda error: error["line"])
        values.update(
            rows_done=outcome.rows,
            counts={**outcome.counts, "errors": errors},
            bytes_done=func.coalesce(ImportJob.bytes_total, ImportJob.bytes_done),
        )
    if not _update_held(session, job_id, attempt, values):
        return False
    if outcome is not None:
        _store_rejects(session, job_id, outcome)
    return True


def _update_held(session: Session, job_id: int, attempt: int, values: dict) -> bool:
    """Update the job if attempt `attempt` still holds it (running, not requeued nor run again)."""
    held = session.execute(
        update(ImportJob)
        .where(
            ImportJob.id == job_id,
            ImportJob.state == ImportState.RUNNING,
            ImportJob.attempts == attempt,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return held.rowcount == 1


def _store_rejects(session: Session, job_id: int, outcome: Outcome) -> None:
    if not outcome.rejects.count:
        return
    session.execute(
        insert(ImportReject),
        [{"job_id": job_id, "line": 1, "cells": {"header": outcome.header}, "errors": []}],
    )
    rejects = iter(outcome.rejects)
    while chunk := list(itertools.islice(rejects, 5000)):
        session.execute(
            insert(ImportReject),
            [
                {"job_id": job_id, "line": line, "cells": {"values": cells}, "errors": errors}
                for line, cells, errors in chunk
            ],
        )


def _finish(database: Database, job_id: int, attempt: int, state: ImportState, *, error: str) -> ImportJob:
    with database.session_scope() as session:
        _record(session, job_id, attempt, state, error=error)
        return session.get(ImportJob, job_id)


def fail(database: Database, *, job: ImportJob, error: str) -> ImportJob:
    """Record a claimed job failed before its import could start (say, its upload is unreadable)."""
    return _finish(database, job.id, job.attempts, ImportState.FAILED, error=error)


def _release(database: Database, job_id: int, attempt: int) -> ImportJob:
    """Give an interrupted attempt's job back to the queue, the attempt not counted."""
    with database.session_scope() as session:
        _update_held(session, job_id, attempt, {**REQUEUED, "attempts": attempt - 1})
        return session.get(ImportJob, job_id)


def get(session: Session, *, user: User, job_id: int) -> ImportJob:
    """Return a job the user may see (administrators and managers: all; others: their own)."""
    job = session.get(ImportJob, job_id)
    if job is None or (user.role not in (UserRole.ADMIN, UserRole.MANAGER) and job.user_id != user.id):
        raise NotFound(f"import job {job_id} not found")
    return job


def list_statement(*, user: User, state: ImportState | None = None, kind: str | None = None):
    """Select the jobs the user may see, newest first."""
    statement = select(ImportJob)
    if user.role not in (UserRole.ADMIN, UserRole.MANAGER):
        statement = statement.where(ImportJob.user_id == user.id)
    if state is not None:
        statement = statement.where(ImportJob.state == state)
    if kind is not None:
        statement = statement.where(ImportJob.kind == kind)
    return statement.order_by(ImportJob.created_at.desc(), ImportJob.id.desc())


def rejected_rows(session: Session, *, job: ImportJob) -> tuple[list[str], Iterator[list[str]]]:
    """Return the rejected-rows file: the original header plus import_errors, and (lazily) each rejected row."""
    stored = session.scalar(
        select(ImportReject.cells).where(ImportReject.job_id == job.id, ImportReject.line == 1)
    )
    if stored is None:
        return [], iter(())
    header = stored["header"]
    keep = [i for i, name in enumerate(header) if name.lower() != ERRORS_COLUMN]

    def rows() -> Iterator[list[str]]:
        for reject in session.scalars(errors_statement(job=job)).yield_per(2000):
            values = reject.cells["values"]
            yield [
                *(values[i] if i < len(values) else "" for i in keep),
                "; ".join(f"{e['column'] or 'row'}: {e['reason']}" for e in reject.errors),
            ]

    return [*(header[i] for i in keep), ERRORS_COLUMN], rows()


def errors_statement(*, job: ImportJob):
    """Select the job's rejected rows in line order (the header row excluded)."""
    return (
        select(ImportReject)
        .where(ImportReject.job_id == job.id, ImportReject.line > 1)
        .order_by(ImportReject.line, ImportReject.id)
    )
