"""Quality levels: what `preview`, `standard` and `final` mean for a render.

Lives here rather than in the renderer so the API and the panel can validate and describe a
level without Blender. Figures were chosen against measurements on a 2-core CPU (Cycles with
OpenImageDenoise); a spec may still override resolution and samples.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidInput


@dataclass(frozen=True)
class QualityLevel:
    name: str
    #: Square still size in pixels.
    resolution: int
    samples: int
    #: Square turntable frame size in pixels.
    animation_resolution: int
    animation_samples: int
    #: Cycles adaptive-sampling noise threshold (0 turns adaptive sampling off).
    adaptive_threshold: float
    denoise: bool
    max_bounces: int
    label: str
    #: OpenImageDenoise's quality: FAST, BALANCED or HIGH (Cycles' names).
    denoise_quality: str = "BALANCED"


# Measured on the shirt (1024^2, 2 cores, SSIM vs 128 spp with 6 bounces): OIDN BALANCED with
# albedo+normal needs few samples on soft-lit cloth. 4 spp scores 0.996 (front) and 0.998
# (side), 8 spp 0.998 at 1.6x the time, with no difference to see. Light bounces between folds
# of a diffuse shirt hardly show: 2 bounces score the same as 6 and save 10-20 %. Adaptive
# sampling is off below ~32 spp: it first takes its minimum samples, so at 4-8 spp it saved
# nothing and only makes the noise uneven for OIDN.
# Preview takes 2 spp: slightly rough edges, fine for a check, 6 x 512^2 stills in 5 s.
# OIDN's FAST network on the standard stills: 15 % off their time (3 stills, 2 runs: 16.4 ->
# 14.0 s), SSIM 0.9963 -> 0.9958 front and 0.9976 both sides; nothing to see at 100 %, also on
# black brightened 5x. Final keeps BALANCED: its stills are for print-ready detail.
QUALITY_LEVELS: dict[str, QualityLevel] = {
    q.name: q
    for q in (
        QualityLevel("preview", 512, 2, 360, 2, 0.0, True, 2, "Preview: fast, for checking",
                     denoise_quality="FAST"),
        QualityLevel("standard", 1024, 4, 720, 4, 0.0, True, 2, "Standard: store images",
                     denoise_quality="FAST"),
        QualityLevel("final", 2048, 64, 1080, 16, 0.02, True, 8, "Final: print-ready detail"),
    )
}
QUALITY_NAMES: tuple[str, ...] = tuple(QUALITY_LEVELS)
DEFAULT_QUALITY = "standard"


def get_quality(name: str) -> QualityLevel:
    try:
        return QUALITY_LEVELS[name]
    except (KeyError, TypeError):
        raise InvalidInput(
            f"Unknown quality {name!r}; choose one of: {', '.join(QUALITY_NAMES)}.",
            code="invalid_input",
        ) from None
