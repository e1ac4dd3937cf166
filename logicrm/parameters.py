"""Documented parameter records read from the environment (pure: standard library only).

The scoring core and the alert rules both keep their weights and thresholds in a frozen dataclass of
`param(default, doc)` fields; this base gives them the same environment overrides, type checks,
validation and fingerprint.
"""

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any, ClassVar


def param(default: Any, doc: str) -> Any:
    """Declare a parameter field with its default and a one-line description."""
    return dataclasses.field(default=default, metadata={"doc": doc})


class EnvParams:
    """Base of frozen dataclasses whose fields are `param`s, overridable by <ENV_PREFIX><FIELD> variables."""

    __slots__ = ()
    ENV_PREFIX: ClassVar[str]

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            expected = type(f.default)
            # ints passed for float fields would change config_hash() without changing anything else
            if expected is float and type(value) is int:
                object.__setattr__(self, f.name, float(value))
            elif type(value) is not expected:
                raise ValueError(f"{f.name} must be {expected.__name__}, got {value!r}")
        failed = [name for name, ok in self._checks().items() if not ok]
        if failed:
            raise ValueError(f"invalid {type(self).__name__}: {', '.join(failed)}")

    def _checks(self) -> dict[str, bool]:
        """Name each constraint on the fields and whether it holds."""
        return {}

    def config_hash(self) -> str:
        """Return a stable 16-hex-digit fingerprint of these parameters."""
        canonical = json.dumps(dataclasses.asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, str]):
        """Build parameters from <ENV_PREFIX><FIELD> keys (e.g. os.environ); unknown such keys are errors."""
        types = {f.name: type(f.default) for f in dataclasses.fields(cls)}
        overrides: dict[str, Any] = {}
        for key, raw in mapping.items():
            if not key.startswith(cls.ENV_PREFIX):
                continue
            name = key.removeprefix(cls.ENV_PREFIX).lower()
            if name not in types:
                raise ValueError(f"unknown parameter {key}")
            try:
                overrides[name] = types[name](raw.strip())
            except ValueError as exc:
                raise ValueError(f"{key}={raw!r} is not a valid {types[name].__name__}") from exc
        return cls(**overrides)

    @classmethod
    def describe(cls) -> list[tuple[str, str, Any, str]]:
        """List (field, environment key, default, description) for every parameter."""
        return [
            (f.name, cls.ENV_PREFIX + f.name.upper(), f.default, f.metadata["doc"])
            for f in dataclasses.fields(cls)
        ]
