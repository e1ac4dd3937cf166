"""Settings from LOGICRM_* environment variables (stdlib only, documented in README).

A value start-up cannot use stops it with a ConfigError naming the variable, the value and what is
allowed: an unknown enumerated value, a number or boolean that does not parse, a number outside its
range, an unknown time zone. Every such problem is reported at once.
"""

from __future__ import annotations

import dataclasses
import os
import zoneinfo
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from logicrm.parameters import ConfigError, parse_env, value_problems

__all__ = ["ConfigError", "Settings", "documented", "is_time_zone"]

ENVS = ("development", "production")
SCORES_REFRESHED_BY = ("worker", "request")
JOBS_RUN_BY = ("worker", "api")
SMTP_SECURITIES = ("none", "starttls", "ssl")


@dataclass(frozen=True)
class Rule:
    """A condition a setting's value must meet, and how to say it."""

    holds: Callable[[Any], bool]
    says: str


def is_time_zone(name: str) -> bool:
    """Tell whether `name` is a time zone of the IANA database (spelled exactly as there)."""
    if name == "UTC":  # needs no time zone database (slim images may lack one)
        return True
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


# the open stages of logicrm.sales.models.OpportunityStage, in funnel order (config stays stdlib only)
PIPELINE_STAGES = ("lead", "proposal", "negotiation", "tender")


def parse_stage_probabilities(text: str) -> dict[str, float]:
    """'lead=0.1,proposal=0.25,...' -> {stage: probability}; raise ValueError saying what is wrong."""
    found = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        stage, _, share = item.partition("=")
        if stage.strip() not in PIPELINE_STAGES:
            raise ValueError(f"unknown stage {stage.strip()!r}")
        probability = float(share)
        if not 0 < probability < 1:
            raise ValueError(f"{stage.strip()}: {share} is not strictly between 0 and 1")
        found[stage.strip()] = probability
    if missing := [stage for stage in PIPELINE_STAGES if stage not in found]:
        raise ValueError(f"no probability for {', '.join(missing)}")
    return found


def _parses(parse: Callable[[str], object]) -> Callable[[str], bool]:
    def holds(value: str) -> bool:
        try:
            parse(value)
        except ValueError:
            return False
        return True

    return holds


POSITIVE = Rule(lambda value: value > 0, "> 0")
NOT_NEGATIVE = Rule(lambda value: value >= 0, ">= 0")
PORT = Rule(lambda value: 1 <= value <= 65_535, "a port number, 1 to 65535")
STAGE_PROBABILITIES = Rule(
    _parses(parse_stage_probabilities),
    f"stage=probability pairs, comma-separated, one for each of {', '.join(PIPELINE_STAGES)}, each in (0, 1)",
)
TIME_ZONE = Rule(is_time_zone, "a time zone name of the IANA database, such as UTC or Europe/Berlin")


def setting(default: Any, doc: str, *, choices: Collection[str] = (), rule: Rule | None = None) -> Any:
    """Declare a setting with its default, a one-line description, and what its values may be."""
    return field(default=default, metadata={"doc": doc, "choices": tuple(choices), "rule": rule})


@dataclass(frozen=True)
class Settings:
    """Application settings; every field maps to LOGICRM_<FIELD_NAME_UPPER>."""

    database_url: str = setting("", "SQLAlchemy URL; empty means an SQLite file in the instance folder")
    env: str = setting("development", "development or production", choices=ENVS)
    sqlite_busy_timeout_ms: int = setting(
        30_000, "how long an SQLite writer waits for the lock before failing", rule=NOT_NEGATIVE
    )
    page_size_default: int = setting(50, "list page size when none is asked", rule=POSITIVE)
    page_size_max: int = setting(500, "largest page size a list accepts", rule=POSITIVE)
    bulk_shipments_max: int = setting(10_000, "rows accepted by one bulk shipment POST", rule=POSITIVE)
    scores_cache_seconds: int = setting(
        300,
        "published scores are recomputed once this old even when the data did not change",
        rule=NOT_NEGATIVE,
    )
    scores_refreshed_by: str = setting(
        "worker",
        "who recomputes the scores after writes: worker (`logicrm worker`, off the request path; reads answer"
        " the last published scores, marked stale) or request (the next read, in each process)",
        choices=SCORES_REFRESHED_BY,
    )
    key_last_used_resolution_s: int = setting(
        60, "an API key's last_used_at is written at most this often", rule=NOT_NEGATIVE
    )
    public_url: str = setting(
        "http://127.0.0.1:5000",
        "base URL of the web pages and the API, used in links inside emails and webhooks",
    )
    smtp_host: str = setting("localhost", "SMTP server for alert emails")
    smtp_port: int = setting(25, "SMTP port (587 with starttls, 465 with ssl)", rule=PORT)
    smtp_security: str = setting("none", "none, starttls or ssl", choices=SMTP_SECURITIES)
    smtp_username: str = setting("", "SMTP login; empty means no authentication")
    smtp_password: str = setting("", "SMTP password")
    smtp_from: str = setting("LogiCRM <alerts@logicrm.invalid>", "sender of alert emails")
    smtp_timeout_s: float = setting(10.0, "SMTP connect/send timeout", rule=POSITIVE)
    webhook_timeout_s: float = setting(10.0, "webhook POST timeout", rule=POSITIVE)
    webhook_allow_private: bool = setting(False, "allow webhook receivers on loopback or private addresses")
    delivery_max_attempts: int = setting(8, "attempts before a delivery is dead-lettered", rule=POSITIVE)
    delivery_backoff_base_s: float = setting(30.0, "first retry delay (doubles each time)", rule=POSITIVE)
    delivery_backoff_max_s: float = setting(3600.0, "longest retry delay", rule=POSITIVE)
    health_cron: str = setting("0 2 * * *", "crontab of the nightly health run")
    scheduler_timezone: str = setting("UTC", "time zone of health_cron", rule=TIME_ZONE)
    scheduler_misfire_grace_s: int = setting(
        6 * 3600, "a missed run still runs (once) if the scheduler is back within this", rule=POSITIVE
    )
    health_run_timeout_s: int = setting(
        3 * 3600, "a run still 'running' after this long on another host is deemed abandoned", rule=POSITIVE
    )
    outbox_interval_s: int = setting(60, "how often the outbox is flushed", rule=POSITIVE)
    json_max_body_bytes: int = setting(
        8 << 20,
        "largest JSON request body (larger answers 413); a 10,000-row bulk shipment POST takes 1.7–4.4 MB",
        rule=POSITIVE,
    )
    import_max_upload_bytes: int = setting(
        1 << 30, "largest CSV upload the import API accepts (larger answers 413)", rule=POSITIVE
    )
    import_inline_max_bytes: int = setting(
        1 << 20,
        "uploads up to this size are imported within the request; larger ones run as a job",
        rule=NOT_NEGATIVE,
    )
    import_batch_rows: int = setting(2000, "rows an import checks and writes at a time", rule=POSITIVE)
    import_date_format: str = setting(
        "", "local date format accepted besides ISO 8601, e.g. %d.%m.%Y (strptime)"
    )
    import_timezone: str = setting(
        "UTC", "time zone of imported timestamps that carry no UTC offset", rule=TIME_ZONE
    )
    import_spool_dir: str = setting("", "where uploads wait for their job; empty means <instance>/imports")
    import_timeout_s: int = setting(
        6 * 3600,
        "an import job running this long is deemed abandoned (queued once more, then failed); one queued"
        " this long without a worker taking it fails",
        rule=POSITIVE,
    )
    jobs_run_by: str = setting(
        "worker",
        "who runs queued import jobs: worker (`logicrm worker`, one or more) or api (a thread of the API"
        " process that took the upload; for a single process without a worker)",
        choices=JOBS_RUN_BY,
    )
    sla_check_interval_s: int = setting(900, "how often ticket SLAs are checked", rule=POSITIVE)
    secret_key: str = setting(
        "",
        "signs web sessions and CSRF tokens; empty means a key kept in the instance folder "
        "(development only: production refuses to start without it)",
    )
    session_hours: int = setting(12, "a web sign-in lasts this long", rule=POSITIVE)
    login_max_failures: int = setting(
        5,
        "failed web sign-ins per email within login_window_s before that email is refused "
        "(per client address: 4 times as many)",
        rule=POSITIVE,
    )
    login_window_s: int = setting(
        900, "the window of login_max_failures, and how long a refusal lasts", rule=POSITIVE
    )
    display_timezone: str = setting("UTC", "time zone of dates and times on the web pages", rule=TIME_ZONE)
    graph_max_nodes: int = setting(
        300,
        "the network and what-if pages draw at most this many accounts (nearest or earliest lost first) and say so",
        rule=POSITIVE,
    )
    stage_probabilities: str = setting(
        "lead=0.1,proposal=0.25,negotiation=0.5,tender=0.7",
        "an open deal's probability when it enters a stage (won: 1, lost: 0)",
        rule=STAGE_PROBABILITIES,
    )
    stalled_deal_days: int = setting(30, "an open deal this long in one stage is stalled", rule=POSITIVE)
    renewal_lead_days: int = setting(
        120,
        "the health run opens a renewal deal this many days before a shipper's contract ends",
        rule=POSITIVE,
    )
    renewal_secured_stage: str = setting(
        "negotiation",
        "the contract-expiring alert clears once a renewal reaches this stage (or a later one)",
        choices=(*PIPELINE_STAGES, "won"),
    )

    def __post_init__(self) -> None:
        problems = [problem for f in fields(self) for problem in _problems(f, getattr(self, f.name))]
        if problems:
            raise ConfigError(problems)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from LOGICRM_* variables, converting to each field's type; raise ConfigError
        listing every value that cannot be used."""
        environ = os.environ if environ is None else environ
        values, problems = {}, []
        for f in fields(cls):
            raw = environ.get(_variable(f))
            if raw is None:
                continue
            try:
                values[f.name] = parse_env(_variable(f), raw, type(f.default), f.metadata["choices"])
            except ConfigError as error:
                problems += error.problems
        try:
            settings = cls(**values)
        except ConfigError as error:
            problems += error.problems
        if problems:
            raise ConfigError(problems)
        return settings

    @property
    def scores_in_request(self) -> bool:
        """Whether a read recomputes scores that are behind the data (else only `logicrm worker` does)."""
        return self.scores_refreshed_by == "request"

    @property
    def jobs_in_api(self) -> bool:
        """Whether the API process that takes an upload runs its queued job (else `logicrm worker` does)."""
        return self.jobs_run_by == "api"

    def replace(self, **changes) -> Settings:
        """Return a copy with some fields changed (tests and create_app overrides)."""
        return dataclasses.replace(self, **changes)


def _variable(f: dataclasses.Field) -> str:
    return f"LOGICRM_{f.name.upper()}"


def _problems(f: dataclasses.Field, value: Any) -> list[str]:
    problems = value_problems(_variable(f), f, value)
    rule = f.metadata["rule"]
    if not problems and rule is not None and not rule.holds(value):
        problems.append(f"{_variable(f)}={value!r} must be {rule.says}")
    return problems


def documented() -> list[tuple[str, str, str]]:
    """List (variable, default, description) for the README's configuration table."""
    return [(_variable(f), repr(f.default), f.metadata["doc"]) for f in fields(Settings)]
