"""How a job's render goes onto the store's product, as the client asked (stored on the job as
`publish`): whose thumbnail wins, which product option holds the colour, and what the shop's
own colour words mean.

- `thumbnail`: `if-empty` (default) sets the product's thumbnail only where it has none or
  shows one this service set; `replace` always sets it; `keep` never touches it.
- `color_option`: the option whose values are colours; by default the one titled `Color` or
  `Colour` (any case).
- `color_values`: the shop's value words that are no colour name, as `{"Heather Navy":
  "#2c3e5c"}`; every other value is read as a CSS name or hex through `shared.colors`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from shared.colors import parse_color
from shared.errors import InvalidInput

THUMBNAIL_POLICIES = ("if-empty", "replace", "keep")
DEFAULT_COLOR_OPTIONS = ("color", "colour")
MAX_COLOR_VALUES = 100
MAX_WORD = 64


@dataclass(frozen=True)
class PublishOptions:
    thumbnail: str = "if-empty"
    color_option: str | None = None
    color_values: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> PublishOptions:
        """The stored form back (a job made before migration 0003 has none: the defaults)."""
        data = data or {}
        return cls(thumbnail=str(data.get("thumbnail") or "if-empty"),
                   color_option=data.get("color_option") or None,
                   color_values=dict(data.get("color_values") or {}))

    def is_color_option(self, title: str) -> bool:
        wanted = ((self.color_option,) if self.color_option else DEFAULT_COLOR_OPTIONS)
        return title.strip().casefold() in {w.strip().casefold() for w in wanted}

    def color_of(self, value: str) -> str | None:
        """The `#rrggbb` an option value stands for, or None when it is no colour we know."""
        for word, hex_value in self.color_values.items():
            if word.strip().casefold() == value.strip().casefold():
                return hex_value
        try:
            return parse_color(value).hex
        except InvalidInput:
            return None


def _word(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_WORD:
        raise InvalidInput(f"{name} must be a non-empty text of at most {MAX_WORD} characters.")
    return value.strip()


def _color_values(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidInput("color_values must be a JSON object of value word -> colour, "
                               'like {"Heather Navy": "#2c3e5c"}.') from None
    if not isinstance(value, dict) or len(value) > MAX_COLOR_VALUES:
        raise InvalidInput(f"color_values must be a JSON object of at most {MAX_COLOR_VALUES} "
                           'value words -> colours, like {"Heather Navy": "#2c3e5c"}.')
    return {_word("A color_values word", word): parse_color(color).hex
            for word, color in value.items()}


def parse_publish(values: Mapping[str, Any], base: PublishOptions | None = None
                  ) -> PublishOptions:
    """Options from request fields; with `base` (a retry), fields left out keep its values."""
    base = base or PublishOptions()

    def given(name: str) -> bool:
        return values.get(name) not in (None, "")

    thumbnail = base.thumbnail
    if given("thumbnail"):
        thumbnail = str(values["thumbnail"]).strip().lower()
        if thumbnail not in THUMBNAIL_POLICIES:
            raise InvalidInput(f"thumbnail must be one of {', '.join(THUMBNAIL_POLICIES)}, not "
                               f"{values['thumbnail']!r}.")
    color_option = (_word("color_option", values["color_option"]) if given("color_option")
                    else base.color_option)
    color_values = (_color_values(values["color_values"]) if given("color_values")
                    else dict(base.color_values))
    return PublishOptions(thumbnail=thumbnail, color_option=color_option,
                          color_values=color_values)
