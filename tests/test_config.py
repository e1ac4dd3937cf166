"""Settings from LOGICRM_* variables, and how create_app() chooses its database."""

from __future__ import annotations

import dataclasses
import os

import pytest

from logicrm import create_app
from logicrm.config import ConfigError, Settings, documented


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Hide the caller's LOGICRM_* settings so each test sees only what it sets."""
    for field in dataclasses.fields(Settings):
        monkeypatch.delenv(f"LOGICRM_{field.name.upper()}", raising=False)
    monkeypatch.delenv("LOGICRM_INSTANCE_PATH", raising=False)


def test_from_env_reads_logicrm_variables_with_their_types():
    settings = Settings.from_env(
        {
            "LOGICRM_DATABASE_URL": "postgresql+psycopg://crm@db/logicrm",
            "LOGICRM_ENV": "production",
            "LOGICRM_PAGE_SIZE_MAX": "200",
            "LOGICRM_SQLITE_BUSY_TIMEOUT_MS": " 5000 ",
            "PAGE_SIZE_MAX": "1",  # not ours: ignored
        }
    )
    assert settings.database_url == "postgresql+psycopg://crm@db/logicrm"
    assert settings.env == "production"
    assert settings.page_size_max == 200 and isinstance(settings.page_size_max, int)
    assert settings.sqlite_busy_timeout_ms == 5000
    assert settings.page_size_default == Settings().page_size_default


def test_from_env_without_variables_gives_the_documented_defaults():
    assert Settings.from_env({}) == Settings()
    assert {name for name, _default, _doc in documented()} == {
        f"LOGICRM_{field.name.upper()}" for field in dataclasses.fields(Settings)
    }
    assert all(doc for _name, _default, doc in documented())


def test_from_env_reads_the_process_environment_by_default(monkeypatch):
    monkeypatch.setenv("LOGICRM_BULK_SHIPMENTS_MAX", "42")
    assert Settings.from_env().bulk_shipments_max == 42


@pytest.mark.parametrize(
    ("variable", "raw", "problem"),
    [
        ("LOGICRM_PAGE_SIZE_MAX", "many", "LOGICRM_PAGE_SIZE_MAX='many' is not a whole number"),
        ("LOGICRM_PAGE_SIZE_MAX", "1.5", "LOGICRM_PAGE_SIZE_MAX='1.5' is not a whole number"),
        ("LOGICRM_PAGE_SIZE_MAX", "", "LOGICRM_PAGE_SIZE_MAX='' is not a whole number"),
        ("LOGICRM_PAGE_SIZE_MAX", "0", "LOGICRM_PAGE_SIZE_MAX=0 must be > 0"),
        ("LOGICRM_SQLITE_BUSY_TIMEOUT_MS", "-1", "LOGICRM_SQLITE_BUSY_TIMEOUT_MS=-1 must be >= 0"),
        ("LOGICRM_SMTP_PORT", "70000", "LOGICRM_SMTP_PORT=70000 must be a port number, 1 to 65535"),
        ("LOGICRM_SMTP_TIMEOUT_S", "ten", "LOGICRM_SMTP_TIMEOUT_S='ten' is not a number"),
        ("LOGICRM_SMTP_TIMEOUT_S", "nan", "LOGICRM_SMTP_TIMEOUT_S='nan' is not a finite number"),
        (
            "LOGICRM_DELIVERY_BACKOFF_MAX_S",
            "inf",
            "LOGICRM_DELIVERY_BACKOFF_MAX_S='inf' is not a finite number",
        ),
        ("LOGICRM_WEBHOOK_TIMEOUT_S", "0", "LOGICRM_WEBHOOK_TIMEOUT_S=0.0 must be > 0"),
        (
            "LOGICRM_WEBHOOK_ALLOW_PRIVATE",
            "maybe",
            "LOGICRM_WEBHOOK_ALLOW_PRIVATE='maybe' is not a boolean; use one of true, false, yes, no, on, off, 1, 0",
        ),
        ("LOGICRM_ENV", "Prod", "LOGICRM_ENV='Prod' is not one of: development, production"),
        ("LOGICRM_ENV", "", "LOGICRM_ENV='' is not one of: development, production"),
        ("LOGICRM_SMTP_SECURITY", "tls", "LOGICRM_SMTP_SECURITY='tls' is not one of: none, starttls, ssl"),
        (
            "LOGICRM_SCHEDULER_TIMEZONE",
            "Mars/Olympus_Mons",
            "LOGICRM_SCHEDULER_TIMEZONE='Mars/Olympus_Mons' must be a time zone name of the IANA database",
        ),
        ("LOGICRM_IMPORT_TIMEZONE", "utc", "LOGICRM_IMPORT_TIMEZONE='utc' must be a time zone name"),
        ("LOGICRM_IMPORT_TIMEZONE", "../../etc/passwd", "LOGICRM_IMPORT_TIMEZONE='../../etc/passwd' must be"),
    ],
)
def test_a_value_start_up_cannot_use_names_the_variable_the_value_and_what_is_allowed(variable, raw, problem):
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({variable: raw})
    [reported] = refused.value.problems
    assert reported.startswith(problem), reported


def test_enumerations_and_booleans_ignore_case_and_surrounding_spaces():
    settings = Settings.from_env(
        {
            "LOGICRM_ENV": "Production",
            "LOGICRM_SMTP_SECURITY": " STARTTLS ",
            "LOGICRM_WEBHOOK_ALLOW_PRIVATE": "Yes",
            "LOGICRM_SCHEDULER_TIMEZONE": "Europe/Berlin",
        }
    )
    assert (settings.env, settings.smtp_security, settings.webhook_allow_private) == (
        "production",
        "starttls",
        True,
    )
    assert settings.scheduler_timezone == "Europe/Berlin"
    assert Settings.from_env({"LOGICRM_WEBHOOK_ALLOW_PRIVATE": "OFF"}).webhook_allow_private is False


def test_every_bad_variable_is_reported_at_once():
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"LOGICRM_ENV": "prod", "LOGICRM_PAGE_SIZE_MAX": "many", "LOGICRM_SMTP_PORT": "0"})
    assert [problem.split("=")[0] for problem in refused.value.problems] == [
        "LOGICRM_ENV",
        "LOGICRM_PAGE_SIZE_MAX",
        "LOGICRM_SMTP_PORT",
    ]
    assert str(refused.value) == "; ".join(refused.value.problems)


def test_settings_made_in_code_are_checked_too():
    with pytest.raises(ConfigError, match="LOGICRM_ENV='Production' is not one of: development, production"):
        Settings(env="Production")  # code states the canonical value; only the environment is lenient
    with pytest.raises(ConfigError, match="LOGICRM_PAGE_SIZE_MAX=0 must be > 0"):
        Settings().replace(page_size_max=0)


def test_create_app_refuses_a_bad_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LOGICRM_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("LOGICRM_ENV", "staging")
    with pytest.raises(ConfigError, match="LOGICRM_ENV='staging' is not one of: development, production"):
        create_app()
    monkeypatch.setenv("LOGICRM_ENV", "Production")
    monkeypatch.setenv("LOGICRM_RULES_SEVERITY_RISK_HIGH", "severe")
    with pytest.raises(ConfigError, match="LOGICRM_RULES_SEVERITY_RISK_HIGH='severe' is not one of"):
        create_app()


def test_create_app_defaults_to_an_sqlite_file_in_the_instance_folder(monkeypatch, tmp_path):
    instance = tmp_path / "instance"  # does not exist yet: create_app makes it
    monkeypatch.setenv("LOGICRM_INSTANCE_PATH", str(instance))
    app = create_app()
    engine = app.extensions["logicrm.db"].engine
    try:
        assert app.instance_path == str(instance)
        assert app.config["LOGICRM"].database_url == f"sqlite:///{instance / 'logicrm.db'}"
        assert os.path.dirname(engine.url.database) == str(instance)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert (instance / "logicrm.db").exists()
    finally:
        engine.dispose()


def test_create_app_uses_the_environment_and_lets_config_override_it(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'configured.db'}"
    monkeypatch.setenv("LOGICRM_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("LOGICRM_DATABASE_URL", url)
    monkeypatch.setenv("LOGICRM_SQLITE_BUSY_TIMEOUT_MS", "4321")
    monkeypatch.setenv("LOGICRM_PAGE_SIZE_MAX", "100")
    app = create_app({"page_size_max": 7})
    engine = app.extensions["logicrm.db"].engine
    try:
        settings = app.config["LOGICRM"]
        assert (settings.database_url, settings.page_size_max) == (url, 7)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 4321
    finally:
        engine.dispose()


def test_create_app_with_settings_ignores_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LOGICRM_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("LOGICRM_PAGE_SIZE_MAX", "100")
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'given.db'}"))
    try:
        assert app.config["LOGICRM"].page_size_max == Settings().page_size_max
    finally:
        app.extensions["logicrm.db"].engine.dispose()
