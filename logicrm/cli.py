"""Command line: `logicrm db upgrade`, `users create`, `keys create`, `demo`, and Flask's own commands."""

from __future__ import annotations

import contextlib

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext
from sqlalchemy import func, select

from logicrm.errors import DomainError
from logicrm.users.models import UserRole


def _database():
    return current_app.extensions["logicrm.db"]


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
    from logicrm.users import service as users

    with _domain_errors(), _database().session_scope() as session:
        user = users.create_user(session, name=name, email=email, role=UserRole(role))
        key, secret = users.create_key(session, user=user, label="created by CLI")
    click.echo(f"user {user.id} ({user.email}, {user.role}), key {key.id}", err=True)
    click.echo(secret)


@click.group("keys", cls=AppGroup)
def keys_group():
    """API keys."""


@keys_group.command("create")
@click.option("--email", required=True, help="the user the key belongs to")
@click.option("--label", default="created by CLI")
def keys_create(email, label):
    """Create an API key for a user and print it (shown once)."""
    from logicrm.users import service as users

    with _domain_errors(), _database().session_scope() as session:
        key, secret = users.create_key(
            session, user=users.get_user_by_email(session, email=email), label=label
        )
    click.echo(f"key {key.id} for {email}", err=True)
    click.echo(secret)


@keys_group.command("revoke")
@click.argument("key_id", type=int)
def keys_revoke(key_id):
    """Revoke an API key by id."""
    from logicrm.users import service as users

    with _domain_errors(), _database().session_scope() as session:
        users.revoke_key(session, key_id=key_id)
    click.echo(f"key {key_id} revoked", err=True)


@click.command("demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="load only when the database has no customers")
@click.option("--seed", default=7, show_default=True)
def demo(if_empty, seed):
    """Fill the database with a realistic demo network; print the admin key."""
    from logicrm.customers.models import Customer
    from logicrm.demo import load_demo

    with _database().session_scope() as session:
        if if_empty and session.scalar(select(func.count()).select_from(Customer)):
            return
        summary = load_demo(session, seed=seed)
    for line in summary.lines():
        click.echo(line, err=True)
    click.echo(summary.admin_key)


def register_commands(app: Flask) -> None:
    """Attach LogiCRM's commands to the app's CLI."""
    for command in (db_group, users_group, keys_group, demo):
        app.cli.add_command(command)


def main() -> None:
    """Entry point of the `logicrm` console script."""
    from logicrm.app import create_app

    FlaskGroup(create_app=create_app, add_version_option=False, load_dotenv=False)(prog_name="logicrm")
