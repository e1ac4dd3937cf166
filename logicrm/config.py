"""Settings from LOGICRM_* environment variables (stdlib only, documented in README)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields


@dataclass(frozen=True)
class Settings:
    """Application settings; every field maps to LOGICRM_<FIELD_NAME_UPPER>."""

    database_url: str = field(
        default="", metadata={"doc": "SQLAlchemy URL; empty means an SQLite file in the instance folder"}
    )
    env: str = field(default="development", metadata={"doc": "development or production"})
    sqlite_busy_timeout_ms: int = field(
        default=30_000, metadata={"doc": "how long an SQLite writer waits for the lock before failing"}
    )
    page_size_default: int = field(default=50, metadata={"doc": "list page size when none is asked"})
    page_size_max: int = field(default=500, metadata={"doc": "largest page size a list accepts"})
    bulk_shipments_max: int = field(
        default=10_000, metadata={"doc": "rows accepted by one bulk shipment POST"}
    )
    scores_cache_seconds: int = field(
        default=300, metadata={"doc": "computed scores are reused this long unless the data changed"}
    )
    key_last_used_resolution_s: int = field(
        default=60, metadata={"doc": "an API key's last_used_at is written at most this often"}
    )
    public_url: str = field(
        default="http://127.0.0.1:5000", metadata={"doc": "base URL of the API, used in links inside emails"}
    )
    smtp_host: str = field(default="localhost", metadata={"doc": "SMTP server for alert emails"})
    smtp_port: int = field(default=25, metadata={"doc": "SMTP port (587 with starttls, 465 with ssl)"})
    smtp_security: str = field(default="none", metadata={"doc": "none, starttls or ssl"})
    smtp_username: str = field(default="", metadata={"doc": "SMTP login; empty means no authentication"})
    smtp_password: str = field(default="", metadata={"doc": "SMTP password"})
    smtp_from: str = field(
        default="LogiCRM <alerts@logicrm.invalid>", metadata={"doc": "sender of alert emails"}
    )
    smtp_timeout_s: float = field(default=10.0, metadata={"doc": "SMTP connect/send timeout"})
    webhook_timeout_s: float = field(default=10.0, metadata={"doc": "webhook POST timeout"})
    webhook_allow_private: bool = field(
        default=False, metadata={"doc": "allow webhook receivers on loopback or private addresses"}
    )
    delivery_max_attempts: int = field(
        default=8, metadata={"doc": "attempts before a delivery is dead-lettered"}
    )
    delivery_backoff_base_s: float = field(
        default=30.0, metadata={"doc": "first retry delay (doubles each time)"}
    )
    delivery_backoff_max_s: float = field(default=3600.0, metadata={"doc": "longest retry delay"})
    health_cron: str = field(default="0 2 * * *", metadata={"doc": "crontab of the nightly health run"})
    scheduler_timezone: str = field(default="UTC", metadata={"doc": "time zone of health_cron"})
    scheduler_misfire_grace_s: int = field(
        default=6 * 3600,
        metadata={"doc": "a missed run still runs (once) if the scheduler is back within this"},
    )
    health_run_timeout_s: int = field(
        default=3 * 3600,
        metadata={"doc": "a run still 'running' after this long on another host is deemed abandoned"},
    )
    outbox_interval_s: int = field(default=60, metadata={"doc": "how often the outbox is flushed"})
    json_max_body_bytes: int = field(
        default=8 << 20,
        metadata={
            "doc": "largest JSON request body (larger answers 413); a 10,000-row bulk shipment POST "
            "takes 1.7–4.4 MB"
        },
    )
    import_max_upload_bytes: int = field(
        default=1 << 30, metadata={"doc": "largest CSV upload the import API accepts (larger answers 413)"}
    )
    import_inline_max_bytes: int = field(
        default=1 << 20,
        metadata={"doc": "uploads up to this size are imported within the request; larger ones run as a job"},
    )
    import_batch_rows: int = field(
        default=2000, metadata={"doc": "rows an import checks and writes at a time"}
    )
    import_date_format: str = field(
        default="", metadata={"doc": "local date format accepted besides ISO 8601, e.g. %d.%m.%Y (strptime)"}
    )
    import_timezone: str = field(
        default="UTC", metadata={"doc": "time zone of imported timestamps that carry no UTC offset"}
    )
    import_spool_dir: str = field(
        default="", metadata={"doc": "where uploads wait for their job; empty means <instance>/imports"}
    )
    import_timeout_s: int = field(
        default=6 * 3600,
        metadata={"doc": "an import still running after this long (on another host) is deemed abandoned"},
    )
    sla_check_interval_s: int = field(default=900, metadata={"doc": "how often ticket SLAs are checked"})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from LOGICRM_* variables, converting to each field's type."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get(f"LOGICRM_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _convert(f.name, f.type, raw)
        return cls(**values)

    def replace(self, **changes) -> Settings:
        """Return a copy with some fields changed (tests and create_app overrides)."""
        return dataclasses.replace(self, **changes)


_BOOLEANS = {
    "1": True,
    "true": True,
    "yes": True,
    "on": True,
    "0": False,
    "false": False,
    "no": False,
    "off": False,
}


def _convert(name: str, type_name: str, raw: str):
    try:
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
        if type_name == "bool":
            return _BOOLEANS[raw.strip().lower()]
    except (ValueError, KeyError) as error:
        raise ValueError(f"LOGICRM_{name.upper()}: {error}") from None
    return raw


def documented() -> list[tuple[str, str, str]]:
    """List (variable, default, description) for the README's configuration table."""
    return [
        (f"LOGICRM_{f.name.upper()}", repr(f.default), f.metadata.get("doc", "")) for f in fields(Settings)
    ]
