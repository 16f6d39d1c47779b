"""Where the add-on gets the shared vocabulary from.

The built extension carries a copy of `shared/` inside its own package (extensions must use
relative imports so two add-ons never collide in `sys.modules`); in a repository checkout, on a
render worker or under the test suite, the top-level `shared` package is used instead.
"""

try:
    from .shared import (
        angles,
        child_process,
        colors,
        contracts,
        design_image,
        errors,
        http,
        icc,
        job_colors,
        jobs,
        presets,
        quality,
        templates,
        validation,
    )
except ImportError:
    from shared import (  # type: ignore[no-redef]
        angles,
        child_process,
        colors,
        contracts,
        design_image,
        errors,
        http,
        icc,
        job_colors,
        jobs,
        presets,
        quality,
        templates,
        validation,
    )

__all__ = [
    "angles", "child_process", "colors", "contracts", "design_image", "errors", "http", "icc",
    "job_colors", "jobs", "presets", "quality", "templates", "validation",
]
