"""Sampling parameters: their allowed ranges and one validator that every face (widget, slash command, CLI) uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ParameterError(ValueError):
    """A sampling parameter outside its allowed range; the message names the range."""


@dataclass(frozen=True)
class ParamSpec:
    name: str
    kind: type  # float or int
    low: float | int
    high: float | int | None  # None: no upper bound

    def describe(self) -> str:
        if self.high is None:
            return f"an integer ≥ {self.low}" if self.kind is int else f"a number ≥ {self.low}"
        return f"a number from {self.low} to {self.high}"


SPECS: dict[str, ParamSpec] = {
    "temperature": ParamSpec("temperature", float, 0.0, 2.0),
    "top_p": ParamSpec("top_p", float, 0.0, 1.0),
    "max_tokens": ParamSpec("max_tokens", int, 1, None),
}
ALIASES = {"top-p": "top_p", "topp": "top_p", "max-tokens": "max_tokens", "maxtokens": "max_tokens",
           "temp": "temperature"}
DEFAULTS: dict[str, Any] = {"temperature": 0.7, "top_p": 0.9, "max_tokens": 1024}


def canonical_name(name: str) -> str:
    """Map a user-typed parameter name (``top-p``, ``temp``) to its canonical name, or raise."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in SPECS and key != "system_prompt":
        known = ", ".join([*SPECS, "system_prompt"])
        raise ParameterError(f"Unknown parameter {name!r}: use one of {known}.")
    return key


def validate(name: str, value: Any) -> Any:
    """Return ``value`` coerced to the parameter's type, or raise ParameterError naming the allowed range."""
    if name == "system_prompt":
        if value is not None and not isinstance(value, str):
            raise ParameterError("system_prompt must be text (or None).")
        return value
    spec = SPECS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{name} must be {spec.describe()}; got {value!r}.")
    if spec.kind is int and value != int(value):
        raise ParameterError(f"{name} must be {spec.describe()}; got {value!r}.")
    if value != value or value < spec.low or (spec.high is not None and value > spec.high):  # value != value: NaN
        raise ParameterError(f"{name} must be {spec.describe()}; got {value!r}.")
    return spec.kind(value)


def parse(name: str, text: str) -> tuple[str, Any]:
    """Parse ``/set NAME VALUE`` input: returns (canonical name, validated value)."""
    key = canonical_name(name)
    if key == "system_prompt":
        return key, text or None
    spec = SPECS[key]
    try:
        number = float(text)
    except ValueError:
        raise ParameterError(f"{key} must be {spec.describe()}; got {text!r}.") from None
    return key, validate(key, number)
