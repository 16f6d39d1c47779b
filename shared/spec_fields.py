"""Strict parsing of the JSON contracts' fields (`shared.contracts`): an unknown field, a
missing one, a wrong type or an out-of-range value is an `InvalidInput` with code
`invalid_spec` that names the field, and a document newer than `SPEC_VERSION` is refused."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from .errors import InvalidInput, TshirtError

#: 2: a RenderSpec carries a list of prints (version 1's one design and preset still read).
SPEC_VERSION = 2


def spec_error(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_spec")


def check_fields(what: str, data: object, allowed: set[str], required: set[str]) -> dict:
    if not isinstance(data, Mapping):
        raise spec_error(f"A {what} must be a JSON object, not {type(data).__name__}.")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise spec_error(f"Unknown field(s) in {what}: {', '.join(map(str, unknown))}.")
    missing = sorted(required - set(data))
    if missing:
        raise spec_error(f"Missing field(s) in {what}: {', '.join(missing)}.")
    return dict(data)


def check_version(what: str, data: dict) -> None:
    version = data.get("spec_version", SPEC_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise spec_error(f"{what} spec_version must be a positive integer.")
    if version > SPEC_VERSION:
        raise spec_error(
            f"This {what} is version {version}; this program reads up to {SPEC_VERSION}."
        )


def typed(what: str, name: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    # bool is an int in Python; a JSON `true` must not pass for a count.
    if isinstance(value, bool) and kind is not bool:
        ok = False
    elif kind is float:
        ok = isinstance(value, int | float) and math.isfinite(value)
    else:
        ok = isinstance(value, kind)
    if not ok:
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise spec_error(f"{what} field {name!r} must be {names}, not {value!r}.")
    return value


def int_in(what: str, name: str, value: Any, low: int, high: int) -> int:
    typed(what, name, value, int)
    if not low <= value <= high:
        raise spec_error(f"{what} field {name!r} must be between {low} and {high}, not {value}.")
    return value


def revalidate(what: str, error: TshirtError) -> InvalidInput:
    """Keep the specific code of a value error (unknown_preset, invalid_color) but say where."""
    return InvalidInput(f"{what}: {error.message}", code=error.code)


def load_json(text: str | bytes, what: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise spec_error(f"The {what} is not valid JSON: {error}.") from None
