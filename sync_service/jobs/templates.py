"""Render templates in the database: seeding from `render_assets/templates` and the lookups
job creation needs."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.colors import parse_color
from shared.errors import InvalidInput
from shared.templates import Template, default_templates_root, discover_templates

from ..models import RenderTemplate

_log = logging.getLogger(__name__)


def _model_location(template: Template, root: Path) -> str:
    """Where the model lives relative to the templates root, for display and the renderer."""
    if template.model_file is not None:
        return template.model_file.relative_to(root.resolve()).as_posix()
    return f"{template.directory.name}/{template.generator or 'procedural'}"


def seed_templates(session: Session, root: Path | None = None) -> list[str]:
    """Add the bundled templates the database does not have yet; never overwrite an edited one.
    Returns the ids added. The first template becomes the default when none is."""
    root = Path(root) if root is not None else default_templates_root()
    existing = set(session.scalars(select(RenderTemplate.id)))
    has_default = session.scalar(select(RenderTemplate.id).where(RenderTemplate.is_default))
    added = []
    for template in discover_templates(root).values():
        if template.id in existing:
            continue
        session.add(RenderTemplate(
            id=template.id,
            name=template.name,
            description=template.description,
            model_path=_model_location(template, root),
            thumbnail_path=None,
            supported_presets=list(template.supported_presets),
            default_color=parse_color(template.default_color).hex,
            active=True,
            is_default=not has_default and not added,
        ))
        added.append(template.id)
    session.commit()
    if added:
        _log.info("Seeded render templates: %s", ", ".join(added))
    return added


def resolve_template(session: Session, template_id: str | None, preset: str) -> RenderTemplate:
    """The active template a job will use, checked against the preset."""
    if template_id:
        template = session.get(RenderTemplate, template_id)
        if template is None or not template.active:
            raise InvalidInput(f"Unknown or inactive template {template_id!r}.",
                               code="unknown_template")
    else:
        template = session.scalars(
            select(RenderTemplate).where(RenderTemplate.active)
            .order_by(RenderTemplate.is_default.desc(), RenderTemplate.id).limit(1)
        ).first()
        if template is None:
            raise InvalidInput("No render template is configured.", code="unknown_template")
    if template.supported_presets and preset not in template.supported_presets:
        raise InvalidInput(
            f"Template {template.id!r} does not support preset {preset!r}; it supports "
            f"{', '.join(template.supported_presets)}.",
            code="unknown_preset",
        )
    return template
