"""Command line: `logicrm db upgrade`, `users create`, `users set-password`, `keys create`, `keys ensure`, `demo`, `scheduler`, `worker`, `health run`, `health replay-kpis`,
`model fit`, `outbox flush`, `webhooks add`, `import`, `export`, the development sinks `mailbox` and `webhook-sink`, and Flask's own commands."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, ScriptInfo, with_appcontext

from logicrm.errors import DomainError
from logicrm.outbox import sinks
from logicrm.users.roles import UserRole

# The commands import what they use when they run: listing them (`logicrm --help`) loads neither the app
# nor the ORM, numpy or the scoring core.


def _database():
    return current_app.extensions["logicrm.db"]


def _run_config():
    from logicrm.health.runs import RunConfig

    return RunConfig.of_app(current_app.config)


@contextlib.contextmanager
def _domain_errors():
    """Turn a service's domain error into a one-line message and exit status 1, not a traceback."""
    try:
        yield
    except DomainError as error:
        raise click.ClickException(error.message) from None


@click.group("db", cls=AppGroup)
def db_group():
    """Database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision):
    """Apply migrations."""
    from logicrm import migrate

    migrate.upgrade(_database().engine, revision)
    click.echo(f"database at {revision}", err=True)


@click.group("users", cls=AppGroup)
def users_group():
    """Users."""


@users_group.command("create")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--role", type=click.Choice([r.value for r in UserRole]), required=True)
def users_create(name, email, role):
    """Create a user and print its first API key (shown once)."""
    from logicrm.users import keys as api_keys
    from logicrm.users import service as users

    with _domain_errors(), _database().session_scope() as session:
        user = users.create(session, name=name, email=email, role=UserRole(role))
        key, secret = api_keys.create(session, user=user, label="created by CLI")
    click.echo(f"user {user.id} ({user.email}, {user.role}), key {key.id}", err=True)
    click.echo(secret)


@users_group.command("set-password")
@click.option("--email", required=True)
@click.option(
    "--password-stdin", is_flag=True, help="read the password from standard input instead of prompting"
)
def users_set_password(email, password_stdin):
    """Set a user's password for the web workspace (signs out its other sessions)."""
    from logicrm.users import passwords
    from logicrm.users import service as users

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _domain_errors(), _database().session_scope() as session:
        user = users.get_by_email(session, email=email)
        passwords.set_password(session, user=user, password=password)
    click.echo(f"password of {email} set", err=True)


@click.group("keys", cls=AppGroup)
def keys_group():
    """API keys."""


@keys_group.command("create")
@click.option("--email", required=True, help="the user the key belongs to")
@click.option("--label", default="created by CLI")
def keys_create(email, label):
    """Create an API key for a user and print it (shown once)."""
    from logicrm.users import keys as api_keys
    from logicrm.users import service as users

    with _domain_errors(), _database().session_scope() as session:
        key, secret = api_keys.create(session, user=users.get_by_email(session, email=email), label=label)
    click.echo(f"key {key.id} for {email}", err=True)
    click.echo(secret)


@keys_group.command("ensure")
@click.option("--email", required=True, help="the user the key belongs to")
@click.option(
    "--file",
    "path",
    required=True,
    type=click.Path(dir_okay=False),
    help="where the key is kept between runs (created readable by you alone)",
)
@click.option("--label", default="kept in a file", show_default=True)
def keys_ensure(email, path, label):
    """Print the live key kept in FILE for this user; if there is none, revoke the user's keys of this
    label, create one, keep it in FILE and print it (so restarts reuse one key)."""
    from logicrm.users import keys as api_keys
    from logicrm.users import service as users

    kept = Path(path).read_text().strip() if os.path.exists(path) else ""
    with _domain_errors(), _database().session_scope() as session:
        user = users.get_by_email(session, email=email)
        found = api_keys.authenticate(session, token=kept) if kept else None
        if found is not None and found.user_id == user.id:
            click.echo(kept)
            return
        revoked = api_keys.revoke_labelled(session, user=user, label=label)
        _key, secret = api_keys.create(session, user=user, label=label)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        out.write(secret + "\n")
    click.echo(
        f"new key for {email} kept in {path}" + (f"; {revoked} older revoked" if revoked else ""), err=True
    )
    click.echo(secret)


@keys_group.command("revoke")
@click.argument("key_id", type=int)
def keys_revoke(key_id):
    """Revoke an API key by id."""
    from logicrm.users import keys as api_keys

    with _domain_errors(), _database().session_scope() as session:
        api_keys.revoke(session, key_id=key_id)
    click.echo(f"key {key_id} revoked", err=True)


@click.command("demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="load only when the database has no customers")
@click.option("--seed", default=7, show_default=True)
@click.option(
    "--logins-file",
    type=click.Path(dir_okay=False),
    help="also write each demo user's role, email and web password to this file (readable by you alone)",
)
def demo(if_empty, seed, logins_file):
    """Fill the database with a realistic demo network; print the admin key."""
    from sqlalchemy import func, select

    from logicrm.customers.models import Customer
    from logicrm.demo import load_demo
    from logicrm.demo.people import USERS

    with _database().session_scope() as session:
        existing = session.scalar(select(func.count()).select_from(Customer))
        if existing and if_empty:
            return
        if existing:
            raise click.ClickException(
                f"the database already holds {existing} customers; the demo loads into an empty database "
                "(use --if-empty to skip quietly)"
            )
        summary = load_demo(session, seed=seed)
    for line in summary.lines():
        click.echo(line, err=True)
    if logins_file:
        roles = {email: role for _key, _name, email, role in USERS}
        with open(os.open(logins_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
            for email, password in summary.passwords.items():
                out.write(f"{roles[email]:<16} {email:<40} {password}\n")
    click.echo(summary.admin_key)


@click.group("scheduler", cls=AppGroup, invoke_without_command=True)
@click.pass_context
def scheduler_group(ctx):
    """Scheduled jobs: run the scheduler (the default) or list its jobs."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(scheduler_run)


@scheduler_group.command("run")
def scheduler_run():
    """Run the scheduler in the foreground (nightly health run, outbox flush, SLA check) until stopped."""
    import logging

    from logicrm.health import scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    scheduler.run(_database(), _run_config())


@scheduler_group.command("list")
def scheduler_list():
    """Show each job's id, trigger and next run time."""
    from logicrm.db import utcnow
    from logicrm.health import scheduler

    now = utcnow()
    for job in scheduler.list_jobs(current_app.config["LOGICRM"], now=now):
        if job.next_run_time is None:
            when = "paused"
        else:
            when = job.next_run_time.isoformat() + (" (due)" if job.next_run_time <= now else "")
        click.echo(f"{job.id:<14}{job.trigger:<34}{when}")


@click.command("worker")
@with_appcontext
@click.option(
    "--poll", default=1.0, show_default=True, type=click.FloatRange(min=0.1), help="seconds between polls"
)
@click.option(
    "--niceness",
    default=10,
    show_default=True,
    type=click.IntRange(0, 19),
    help="how much lower than the API's the worker's CPU priority is (0: the same)",
)
def worker(poll, niceness):
    """Run queued import jobs and recompute the scores after writes, off the API's requests, until
    SIGTERM or Ctrl-C (several workers may run)."""
    import logging
    import os

    from logicrm import processes
    from logicrm import worker as background

    # A recompute takes a core for seconds: on a host it shares with the API, reads go first.
    os.nice(niceness)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = _run_config()
    with processes.stopped_by_signals() as stop:
        background.run(_database(), config.scoring, settings=config.settings, poll_s=poll, stop=stop)


@click.group("health", cls=AppGroup)
def health_group():
    """Health runs."""


@health_group.command("run")
@click.option("--slot", help="the slot this run is for; a slot runs once (default: a new manual slot)")
def health_run(slot):
    """Run one full health check now and print its counts."""
    from logicrm.health import runs

    try:
        run = runs.run_health(_database(), _run_config(), slot=slot)
    except runs.SlotTaken as error:
        click.echo(f"{error.message}: nothing to do", err=True)
        return
    except runs.RunInProgress as error:
        raise click.ClickException(error.message) from None
    except Exception as error:  # recorded on the JobRun and logged with its traceback by the run
        raise click.ClickException(f"health run failed: {type(error).__name__}: {error}") from None
    seconds = (run.finished_at - run.started_at).total_seconds()
    click.echo(f"health run {run.id} ({run.slot}) {run.status} in {seconds:.2f} s")
    width = max(map(len, run.counts), default=0) + 2  # "renewals_opened" and its value stay apart
    for key, value in run.counts.items():
        if isinstance(value, dict):
            value = ", ".join(f"{phase} {spent:.3f} s" for phase, spent in value.items())
        click.echo(f"  {key:<{width}}{value}")


@health_group.command("replay-kpis")
@click.option("--months", default=36, show_default=True, type=click.IntRange(1, 120), help="how far back")
def health_replay_kpis(months):
    """Compute and store the portfolio KPIs at the first of each past month that has none yet."""
    from logicrm.db import utcnow
    from logicrm.health import kpis

    end = utcnow()
    with _database().session_scope() as session:
        stored = kpis.replay(session, start=end - dt.timedelta(days=31 * months), end=end)
    click.echo(f"stored the portfolio KPIs of {stored} past months")


@click.group("model", cls=AppGroup)
def model_group():
    """The churn model: fit it on the history, show it, choose the active one."""


@model_group.command("fit")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="fit and back-test on the history known at the end of this past day (UTC), as a fit run that day "
    "would have: to reproduce an earlier back-test [default: now]",
)
@click.option(
    "--activate/--no-activate",
    default=None,
    help="make the new model the active one [default: activate, unless --as-of is given]",
)
def model_fit(as_of, activate):
    """Replay the history at monthly origins, fit and back-test the churn model, store it as a new version."""
    from logicrm.db import utcnow
    from logicrm.scoring import model as churn_models

    now = utcnow()
    if as_of is not None:
        if as_of.date() > now.date():
            raise click.BadParameter(
                f"{as_of.date()} is in the future (today is {now.date()})", param_hint="--as-of"
            )
        # the end of that day, or now for today: only what was known by then
        now = min(now, dt.datetime.combine(as_of.date(), dt.time.max, dt.UTC))
    if activate is None:
        activate = as_of is None
    params = current_app.config["LOGICRM_SCORING"]
    with _database().session_scope() as session:
        fitted = churn_models.fit_and_test(session, params, now=now)
        record = churn_models.store(session, fitted=fitted, params=params, activate=activate)
        version, method, window_end = record.version, record.method, record.window_end
    if not activate:
        click.echo(
            f"churn model {version} stored: {method}, fitted as of {now:%Y-%m-%d %H:%M} UTC, latest origin "
            f"{window_end or 'none'} (not active: `logicrm model activate {version}`)"
        )
        return
    with _database().session_scope() as session:
        _echo_card(churn_models.card(session, params))


@model_group.command("show")
def model_show():
    """Print the active model's card: target, horizon, evidence, weights and back-test."""
    from logicrm.scoring import model as churn_models

    with _database().session_scope() as session:
        _echo_card(churn_models.card(session, current_app.config["LOGICRM_SCORING"]))


@model_group.command("activate")
@click.argument("version", type=int)
def model_activate(version):
    """Make a stored model version the one health runs and answers use."""
    from logicrm.scoring import model as churn_models

    with _domain_errors(), _database().session_scope() as session:
        churn_models.make_active(session, version=version)
    click.echo(f"churn model {version} is active; the next health run uses it")


def _echo_card(card: dict) -> None:
    click.echo(f"churn model {card['version'] or '(none fitted)'}: {card['method']}, {card['note']}")
    click.echo(f"  target      probability that {card['target']}")
    click.echo(
        f"  window      {card['window_start']} to {card['window_end']}, {card['origins']} monthly origins"
    )
    test = card["metrics"].get("backtest")
    if test:
        click.echo(
            f"  back-test   AUC {_figure(test['auc'])}, Brier skill {_figure(test['brier_skill'])}, "
            f"top-decile capture {_figure(test['top_decile_capture'])} ({test['events']} of {test['samples']} left)"
        )
    click.echo(f"  coupling    {card['coupling']:.3f}")
    for feature in card["features"]:
        click.echo(f"  {feature['name']:<28}{feature['effect']}")


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@click.group("outbox", cls=AppGroup)
def outbox_group():
    """Alert deliveries."""


@outbox_group.command("flush")
@click.option("--limit", default=100, show_default=True, help="deliveries sent at most")
def outbox_flush(limit):
    """Send the due email and webhook deliveries now; print how many were sent, failed, dead-lettered."""
    from logicrm.outbox import service as outbox

    counts = outbox.flush(_database(), current_app.config["LOGICRM"], limit=limit)
    click.echo(", ".join(f"{key} {value}" for key, value in counts.items()))


@click.group("webhooks", cls=AppGroup)
def webhooks_group():
    """Webhook receivers."""


@webhooks_group.command("add")
@click.option("--url", required=True, help="where alert events are POSTed")
@click.option("--description")
def webhooks_add(url, description):
    """Register a webhook receiver and print its signing secret (shown once)."""
    from logicrm.outbox import receivers

    with _domain_errors(), _database().session_scope() as session:
        receiver, secret = receivers.create(
            session, url=url, description=description, settings=current_app.config["LOGICRM"]
        )
        receiver_id = receiver.id
    click.echo(f"webhook receiver {receiver_id} for {url}", err=True)
    click.echo(secret)


def _serve_logging() -> None:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every connection


@click.command("mailbox")
@with_appcontext
@click.option("--host", default=sinks.HOST, show_default=True)
@click.option("--port", default=sinks.MAILBOX_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    help=f"Maildir to write into  [default: <instance folder>/{sinks.MAILBOX_DIR}]",
)
def mailbox(host, port, directory):
    """Development SMTP server: keep every message it receives in a Maildir, until SIGTERM or Ctrl-C."""
    directory = directory or os.path.join(current_app.instance_path, sinks.MAILBOX_DIR)
    _serve_logging()
    try:
        controller = sinks.start_mailbox(directory, host=host, port=port)
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error}") from None
    click.echo(f"mailbox: SMTP on {host}:{port}, messages in the Maildir {directory}", err=True)
    stopped_by = sinks.serve_until_stopped(controller.stop)
    click.echo(f"mailbox: {stopped_by} received, stopped", err=True)


@click.command("webhook-sink")
@with_appcontext
@click.option("--host", default=sinks.HOST, show_default=True)
@click.option("--port", default=sinks.WEBHOOK_SINK_PORT, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False),
    help=f"JSON Lines file to append events to  [default: <instance folder>/{sinks.WEBHOOK_SINK_FILE}]",
)
@click.option(
    "--secret",
    help="the receiver's whsec_ signing secret (visible to other local users: prefer --secret-file)",
)
@click.option("--secret-file", type=click.File(), help="a file holding the whsec_ signing secret")
def webhook_sink(host, port, path, secret, secret_file):
    """Development webhook receiver: verify signatures, append each event once to a JSON Lines file."""
    if (secret is None) == (secret_file is None):
        raise click.UsageError("give the signing secret with exactly one of --secret and --secret-file")
    if secret_file is not None:
        secret = secret_file.read()
    path = path or os.path.join(current_app.instance_path, sinks.WEBHOOK_SINK_FILE)
    _serve_logging()
    try:
        sink = sinks.WebhookSink(secret=secret, path=path, host=host, port=port)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="secret") from None
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error}") from None
    sink.start()
    click.echo(f"webhook-sink: http://{host}:{sink.port}/ (any path), events in {path}", err=True)
    stopped_by = sinks.serve_until_stopped(sink.stop)
    click.echo(f"webhook-sink: {stopped_by} received, stopped", err=True)


@click.command("import")
@with_appcontext
@click.argument("kind")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="check and report; write nothing")
@click.option("--skip-invalid", is_flag=True, help="import the valid rows and report the rest")
@click.option("--date-format", help="local date format accepted besides ISO 8601, e.g. %d.%m.%Y")
@click.option("--timezone", help="time zone of timestamps without a UTC offset (default: configured)")
@click.option("--user", "user_email", help="act as this user (default: an administrator, in no one's name)")
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, writable=True),
    help="where to write the rejected rows (default: FILE.rejected.csv when there are any)",
)
def import_command(kind, file, dry_run, skip_invalid, date_format, timezone, user_email, rejects):
    """Import a CSV file of KIND (customers, departments, contacts, links, shipments, surveys,
    interactions, tickets); by default any invalid row means nothing is written."""
    import time

    from logicrm.imports import service as imports
    from logicrm.imports.csvfile import write_rows
    from logicrm.users import service as users

    database, settings = _database(), current_app.config["LOGICRM"]
    started = time.perf_counter()
    with _domain_errors(), database.session_scope() as session:
        import_kind = imports.get_kind(name=kind)
        options = imports.options_from(
            settings=settings,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            date_format=date_format,
            timezone=timezone,
        )
        user = users.get_by_email(session, email=user_email) if user_email else None
        job = imports.create(
            session, kind=import_kind, filename=os.path.abspath(file), user=user, options=options,
            bytes_total=os.path.getsize(file),
        )  # fmt: skip
    with (
        open(file, "rb") as stream,
        click.progressbar(length=job.bytes_total, label=f"{kind}", file=sys.stderr) as bar,
    ):
        job = imports.execute(
            database, job_id=job.id, stream=stream, options=options,
            spool_dir=imports.spool_dir(settings=settings, instance_path=current_app.instance_path),
            watch=lambda _rows, bytes_done: bar.update(bytes_done - bar.pos),
        )  # fmt: skip
    seconds = time.perf_counter() - started
    counts = job.counts
    click.echo(
        f"import {job.id}: {job.state} — {job.rows_done:,} rows in {seconds:.1f} s "
        f"({job.rows_done / seconds:,.0f} rows/s): {counts.get('created', 0):,} created, "
        f"{counts.get('updated', 0):,} updated, {counts.get('unchanged', 0):,} unchanged, "
        f"{counts.get('invalid', 0):,} invalid" + (" (dry run: nothing written)" if dry_run else ""),
        err=True,
    )
    if job.error:
        click.echo(f"  {job.error}", err=True)
    for error in counts.get("errors", []):
        click.echo(f"  line {error['line']}, {error['column'] or 'row'}: {error['reason']}", err=True)
    if counts.get("invalid"):
        path = rejects or f"{file}.rejected.csv"
        with (
            database.session(write=False) as session,
            open(path, "w", encoding="utf-8-sig", newline="") as out,
        ):
            for chunk in write_rows(*imports.rejected_rows(session, job=job)):
                out.write(chunk)
        click.echo(f"  rejected rows (fix and import again): {path}", err=True)
    if job.state != "succeeded":
        raise SystemExit(1)


@click.command("export")
@with_appcontext
@click.argument("kind")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="file to write, UTF-8 with a byte-order mark as Excel wants (default: standard output)",
)
@click.option("--user", "user_email", help="export what this user sees (default: everything)")
def export_command(kind, output, user_email):
    """Export KIND as CSV: an import kind (the file re-imports as it is), health_snapshots or alerts."""
    from logicrm.exports import service as exports
    from logicrm.imports import service as imports
    from logicrm.imports.csvfile import write_rows
    from logicrm.users import service as users

    with _domain_errors(), _database().session(write=False) as session:
        user = users.get_by_email(session, email=user_email) if user_email else imports.command_line_user()
        header, rows = exports.table(session, kind=kind, user=user)
        with (
            open(output, "w", encoding="utf-8-sig", newline="")
            if output
            else contextlib.nullcontext(sys.stdout)
        ) as out:
            for chunk in write_rows(header, rows):
                out.write(chunk)
    if output:
        click.echo(f"{kind} exported to {output}", err=True)


COMMANDS = (
    db_group,
    users_group,
    keys_group,
    demo,
    scheduler_group,
    worker,
    health_group,
    model_group,
    outbox_group,
    webhooks_group,
    mailbox,
    webhook_sink,
    import_command,
    export_command,
)


def register_commands(app: Flask) -> None:
    """Attach LogiCRM's commands to the app's CLI (as `app.test_cli_runner()` finds them)."""
    for command in COMMANDS:
        app.cli.add_command(command)


class LogiCRMGroup(FlaskGroup):
    """Flask's command group holding LogiCRM's commands itself, so listing them does not build the app
    (Flask's own group builds it to list the app's commands), and they run on an app without the API's
    routes. Flask's commands and the app's own (`openapi`) run by name on the whole app."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name, command, rest = super().resolve_command(ctx, args)
        if command in COMMANDS:
            ctx.ensure_object(ScriptInfo).create_app = _create_app_without_api
        return name, command, rest


def _create_app() -> Flask:
    from logicrm.app import create_app

    return create_app()


def _create_app_without_api() -> Flask:
    from logicrm.app import create_app

    return create_app(api=False)


def main() -> None:
    """Entry point of the `logicrm` console script."""
    group = LogiCRMGroup(
        create_app=_create_app,
        add_version_option=False,
        load_dotenv=False,
        epilog="The API's OpenAPI document: `logicrm openapi print` or `logicrm openapi write FILE`.",
    )
    for command in COMMANDS:
        group.add_command(command)
    group(prog_name="logicrm")
