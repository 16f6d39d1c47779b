"""Shirt colours: `#RGB`, `#RRGGBB` or a colour name, to sRGB and to linear RGB.

A name is one of the shirt-blank shades below (the panel's swatches) or else a CSS named colour.
The shirt names win over CSS's, so a word means one colour everywhere: CSS "navy" (#000080) is
a saturated screen blue and CSS "black" a pure black no cotton has; a navy tee is #1f2a44.

Blender's colour sockets take scene-linear values, so a hex colour pasted from a brand guide
must go through the sRGB transfer function first; passing the sRGB numbers straight in is what
makes shirts look washed out and too light.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidInput

# The 148 named colours of CSS Color Module Level 4, section 6.1.
CSS_COLORS: dict[str, str] = {
    "aliceblue": "#f0f8ff", "antiquewhite": "#faebd7", "aqua": "#00ffff",
    "aquamarine": "#7fffd4", "azure": "#f0ffff", "beige": "#f5f5dc", "bisque": "#ffe4c4",
    "black": "#000000", "blanchedalmond": "#ffebcd", "blue": "#0000ff",
    "blueviolet": "#8a2be2", "brown": "#a52a2a", "burlywood": "#deb887",
    "cadetblue": "#5f9ea0", "chartreuse": "#7fff00", "chocolate": "#d2691e",
    "coral": "#ff7f50", "cornflowerblue": "#6495ed", "cornsilk": "#fff8dc",
    "crimson": "#dc143c", "cyan": "#00ffff", "darkblue": "#00008b", "darkcyan": "#008b8b",
    "darkgoldenrod": "#b8860b", "darkgray": "#a9a9a9", "darkgreen": "#006400",
    "darkgrey": "#a9a9a9", "darkkhaki": "#bdb76b", "darkmagenta": "#8b008b",
    "darkolivegreen": "#556b2f", "darkorange": "#ff8c00", "darkorchid": "#9932cc",
    "darkred": "#8b0000", "darksalmon": "#e9967a", "darkseagreen": "#8fbc8f",
    "darkslateblue": "#483d8b", "darkslategray": "#2f4f4f", "darkslategrey": "#2f4f4f",
    "darkturquoise": "#00ced1", "darkviolet": "#9400d3", "deeppink": "#ff1493",
    "deepskyblue": "#00bfff", "dimgray": "#696969", "dimgrey": "#696969",
    "dodgerblue": "#1e90ff", "firebrick": "#b22222", "floralwhite": "#fffaf0",
    "forestgreen": "#228b22", "fuchsia": "#ff00ff", "gainsboro": "#dcdcdc",
    "ghostwhite": "#f8f8ff", "gold": "#ffd700", "goldenrod": "#daa520", "gray": "#808080",
    "green": "#008000", "greenyellow": "#adff2f", "grey": "#808080", "honeydew": "#f0fff0",
    "hotpink": "#ff69b4", "indianred": "#cd5c5c", "indigo": "#4b0082", "ivory": "#fffff0",
    "khaki": "#f0e68c", "lavender": "#e6e6fa", "lavenderblush": "#fff0f5",
    "lawngreen": "#7cfc00", "lemonchiffon": "#fffacd", "lightblue": "#add8e6",
    "lightcoral": "#f08080", "lightcyan": "#e0ffff", "lightgoldenrodyellow": "#fafad2",
    "lightgray": "#d3d3d3", "lightgreen": "#90ee90", "lightgrey": "#d3d3d3",
    "lightpink": "#ffb6c1", "lightsalmon": "#ffa07a", "lightseagreen": "#20b2aa",
    "lightskyblue": "#87cefa", "lightslategray": "#778899", "lightslategrey": "#778899",
    "lightsteelblue": "#b0c4de", "lightyellow": "#ffffe0", "lime": "#00ff00",
    "limegreen": "#32cd32", "linen": "#faf0e6", "magenta": "#ff00ff", "maroon": "#800000",
    "mediumaquamarine": "#66cdaa", "mediumblue": "#0000cd", "mediumorchid": "#ba55d3",
    "mediumpurple": "#9370db", "mediumseagreen": "#3cb371", "mediumslateblue": "#7b68ee",
    "mediumspringgreen": "#00fa9a", "mediumturquoise": "#48d1cc",
    "mediumvioletred": "#c71585", "midnightblue": "#191970", "mintcream": "#f5fffa",
    "mistyrose": "#ffe4e1", "moccasin": "#ffe4b5", "navajowhite": "#ffdead",
    "navy": "#000080", "oldlace": "#fdf5e6", "olive": "#808000", "olivedrab": "#6b8e23",
    "orange": "#ffa500", "orangered": "#ff4500", "orchid": "#da70d6",
    "palegoldenrod": "#eee8aa", "palegreen": "#98fb98", "paleturquoise": "#afeeee",
    "palevioletred": "#db7093", "papayawhip": "#ffefd5", "peachpuff": "#ffdab9",
    "peru": "#cd853f", "pink": "#ffc0cb", "plum": "#dda0dd", "powderblue": "#b0e0e6",
    "purple": "#800080", "rebeccapurple": "#663399", "red": "#ff0000",
    "rosybrown": "#bc8f8f", "royalblue": "#4169e1", "saddlebrown": "#8b4513",
    "salmon": "#fa8072", "sandybrown": "#f4a460", "seagreen": "#2e8b57",
    "seashell": "#fff5ee", "sienna": "#a0522d", "silver": "#c0c0c0", "skyblue": "#87ceeb",
    "slateblue": "#6a5acd", "slategray": "#708090", "slategrey": "#708090",
    "snow": "#fffafa", "springgreen": "#00ff7f", "steelblue": "#4682b4", "tan": "#d2b48c",
    "teal": "#008080", "thistle": "#d8bfd8", "tomato": "#ff6347", "turquoise": "#40e0d0",
    "violet": "#ee82ee", "wheat": "#f5deb3", "white": "#ffffff", "whitesmoke": "#f5f5f5",
    "yellow": "#ffff00", "yellowgreen": "#9acd32",
}

# Colours shirt blanks commonly come in, under the names shops sell them by: the add-on's swatch
# row, and what these words mean in the CLI, batch files and the API.
COMMON_SHIRT_COLORS: tuple[tuple[str, str], ...] = (
    ("White", "#ffffff"), ("Black", "#111111"), ("Heather grey", "#9b9b9b"),
    ("Navy", "#1f2a44"), ("Red", "#c8102e"), ("Royal", "#1d4f91"),
    ("Forest", "#2c4a33"), ("Sand", "#d8c7a4"),
)

_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def _name_key(text: str) -> str:
    """"Heather grey", "heather-grey" and "HeatherGrey" are one name; CSS names have no spaces."""
    return re.sub(r"[\s_-]+", "", text.lower())


NAMED_COLORS: dict[str, str] = {
    **CSS_COLORS, **{_name_key(name): value for name, value in COMMON_SHIRT_COLORS}}


def srgb_to_linear(c: float) -> float:
    """The sRGB electro-optical transfer function (IEC 61966-2-1), for one channel in 0..1."""
    if c <= 0.04045:
        return c / 12.92
    return ((c + 0.055) / 1.055) ** 2.4


def linear_to_srgb(c: float) -> float:
    if c <= 0.0031308:
        return c * 12.92
    return 1.055 * c ** (1 / 2.4) - 0.055


@dataclass(frozen=True)
class Color:
    """A parsed colour. `hex` is the canonical `#rrggbb` form used for storage and display."""

    hex: str

    @property
    def rgb255(self) -> tuple[int, int, int]:
        return (int(self.hex[1:3], 16), int(self.hex[3:5], 16), int(self.hex[5:7], 16))

    @property
    def srgb(self) -> tuple[float, float, float]:
        r, g, b = self.rgb255
        return (r / 255, g / 255, b / 255)

    @property
    def linear(self) -> tuple[float, float, float]:
        r, g, b = self.srgb
        return (srgb_to_linear(r), srgb_to_linear(g), srgb_to_linear(b))


def parse_color(text: str) -> Color:
    """Parse `#RGB`, `#RRGGBB` or a colour name (any case, spaces and hyphens ignored)."""
    if not isinstance(text, str):
        raise InvalidInput(f"A colour must be text, not {type(text).__name__}.",
                           code="invalid_color")
    value = text.strip()
    if _HEX.fullmatch(value):
        digits = value[1:].lower()
        if len(digits) == 3:
            digits = "".join(ch * 2 for ch in digits)
        return Color("#" + digits)
    named = NAMED_COLORS.get(_name_key(value))
    if named:
        return Color(named)
    raise InvalidInput(
        f"{text!r} is not a colour; use #RGB, #RRGGBB or a colour name such as 'navy'.",
        code="invalid_color",
    )


def parse_color_list(text: str) -> tuple[Color, ...]:
    """Several colours separated by commas (`navy,white,#c8102e`), duplicates dropped."""
    parts = [part for part in (p.strip() for p in text.split(",")) if part]
    if not parts:
        raise InvalidInput("Give at least one colour.", code="invalid_color")
    colors: list[Color] = []
    for part in parts:
        color = parse_color(part)
        if color not in colors:
            colors.append(color)
    return tuple(colors)
