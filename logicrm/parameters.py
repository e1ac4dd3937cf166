"""Documented parameter records read from the environment (pure: standard library only).

The scoring core and the alert rules both keep their weights and thresholds in a frozen dataclass of
`param(default, doc)` fields; this base gives them the same environment overrides, type checks,
validation and fingerprint. `parse_env` is the one reading of an environment value, for these records
and for logicrm.config's settings alike.
"""

import dataclasses
import functools
import hashlib
import json
import math
from collections.abc import Collection, Iterable, Mapping
from typing import Any, ClassVar

BOOLEANS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False,
            "1": True, "0": False}  # fmt: skip


class ConfigError(ValueError):
    """Configuration that start-up cannot use; the message names every variable, its value and what is allowed."""

    def __init__(self, problems: Iterable[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def param(default: Any, doc: str, *, choices: Collection[str] = ()) -> Any:
    """Declare a parameter field with its default, a one-line description and, for an enumeration, its values."""
    metadata = {"doc": doc, "choices": tuple(choices)} if choices else {"doc": doc}
    return dataclasses.field(default=default, metadata=metadata)


def parse_env(key: str, raw: str, kind: type, choices: Collection[str] = ()) -> Any:
    """Convert the value of environment variable `key` to `kind`, or raise ConfigError saying why not.

    Surrounding spaces are ignored, and so is the case of booleans and of enumerated values (returned in
    lower case); numbers must be finite.
    """
    text = raw.strip()
    if kind is bool:
        if text.lower() not in BOOLEANS:
            raise ConfigError([f"{key}={raw!r} is not a boolean; use one of {', '.join(BOOLEANS)}"])
        return BOOLEANS[text.lower()]
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError([f"{key}={raw!r} is not a whole number"]) from None
    if kind is float:
        try:
            number = float(text)
        except ValueError:
            raise ConfigError([f"{key}={raw!r} is not a number"]) from None
        if not math.isfinite(number):
            raise ConfigError([f"{key}={raw!r} is not a finite number"])
        return number
    if choices:
        if text.lower() not in choices:
            raise ConfigError([_not_one_of(key, raw, choices)])
        return text.lower()
    return raw


def value_problems(key: str, field: dataclasses.Field, value: Any) -> list[str]:
    """Say what is wrong with a field's value however it was given: outside its enumeration, or a float
    that is not finite (range checks need not catch them: infinity passes `> 0`, unchecked fields pass)."""
    choices = field.metadata.get("choices")
    if choices and value not in choices:
        return [_not_one_of(key, value, choices)]
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{key}={value!r} is not a finite number"]
    return []


def _not_one_of(key: str, value: str, choices: Collection[str]) -> str:
    return f"{key}={value!r} is not one of: {', '.join(choices)}"


class EnvParams:
    """Base of frozen dataclasses whose fields are `param`s, overridable by <ENV_PREFIX><FIELD> variables."""

    __slots__ = ()
    ENV_PREFIX: ClassVar[str]

    def __post_init__(self) -> None:
        problems = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            expected = type(f.default)
            # ints passed for float fields would change config_hash() without changing anything else
            if expected is float and type(value) is int:
                object.__setattr__(self, f.name, float(value))
            elif type(value) is not expected:
                raise ValueError(f"{f.name} must be {expected.__name__}, got {value!r}")
            problems += value_problems(self.ENV_PREFIX + f.name.upper(), f, getattr(self, f.name))
        if problems:
            raise ConfigError(problems)
        failed = [name for name, ok in self._checks().items() if not ok]
        if failed:
            raise ConfigError([f"invalid {type(self).__name__}: {', '.join(failed)}"])

    def _checks(self) -> dict[str, bool]:
        """Name each constraint on the fields and whether it holds."""
        return {}

    def config_hash(self) -> str:
        """Return a stable 16-hex-digit fingerprint of these parameters."""
        return _fingerprint(self)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, str]):
        """Build parameters from <ENV_PREFIX><FIELD> keys (e.g. os.environ); unknown such keys are errors,
        and every problem found is reported at once."""
        declared = {f.name: f for f in dataclasses.fields(cls)}
        overrides: dict[str, Any] = {}
        problems: list[str] = []
        for key, raw in mapping.items():
            if not key.startswith(cls.ENV_PREFIX):
                continue
            name = key.removeprefix(cls.ENV_PREFIX).lower()
            if name not in declared:
                problems.append(f"unknown parameter {key}")
                continue
            f = declared[name]
            try:
                overrides[name] = parse_env(key, raw, type(f.default), f.metadata.get("choices", ()))
            except ConfigError as error:
                problems += error.problems
        if problems:
            raise ConfigError(problems)
        return cls(**overrides)

    @classmethod
    def describe(cls) -> list[tuple[str, str, Any, str]]:
        """List (field, environment key, default, description) for every parameter."""
        return [
            (f.name, cls.ENV_PREFIX + f.name.upper(), f.default, f.metadata["doc"])
            for f in dataclasses.fields(cls)
        ]


@functools.lru_cache(maxsize=64)
def _fingerprint(params: EnvParams) -> str:
    """`config_hash`, worked out once per value (every scored read asks it; hashing the frozen fields is
    ~70× cheaper than their JSON's digest)."""
    canonical = json.dumps(dataclasses.asdict(params), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
