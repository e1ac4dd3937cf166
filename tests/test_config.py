"""Settings from LOGICRM_* variables, and how create_app() chooses its database."""

from __future__ import annotations

import dataclasses
import os

import pytest

from logicrm import create_app
from logicrm.config import Settings, documented


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


@pytest.mark.parametrize("raw", ["many", "1.5", ""])
def test_a_bad_integer_names_the_variable(raw):
    with pytest.raises(ValueError, match="LOGICRM_PAGE_SIZE_MAX"):
        Settings.from_env({"LOGICRM_PAGE_SIZE_MAX": raw})


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
