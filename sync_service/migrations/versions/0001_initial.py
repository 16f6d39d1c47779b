"""Initial schema: render jobs, render templates, media pushes.

The allowed values below are the ones `shared/` had when this revision was written. They are
literals on purpose: a released migration must produce the same schema forever, so it cannot
import the current vocabulary. When `shared/` gains a value, a new revision changes the CHECK
constraint; `tests/service/test_migrations.py` fails until one does.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRESETS = (
    "chest-small", "chest-medium", "chest-large",
    "back-small", "back-medium", "back-large",
    "back-bottom-small", "back-bottom-medium", "back-bottom-large",
)
JOB_STATUSES = ("pending", "compositing", "rendering", "completed", "failed", "cancelled")
MEDIA_SYNC_STATUSES = ("not_configured", "pending", "pushed", "failed")
JOB_SOURCES = ("api", "blender", "cli")
QUALITIES = ("preview", "standard", "final")


def _one_of(column: str, values: Sequence[str]) -> str:
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"{column} IN ({quoted})"


def upgrade() -> None:
    op.create_table(
        "render_templates",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("model_path", sa.String(length=500), nullable=True),
        sa.Column("thumbnail_path", sa.String(length=500), nullable=True),
        sa.Column("supported_presets", sa.JSON(), nullable=False),
        sa.Column("default_color", sa.String(length=7), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_render_templates")),
    )
    op.create_table(
        "render_jobs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("product_id", sa.String(length=128), nullable=False),
        sa.Column("preset", sa.String(length=32), nullable=False),
        sa.Column("color", sa.String(length=7), nullable=False),
        sa.Column("template_id", sa.String(length=128), nullable=False),
        sa.Column("quality", sa.String(length=16), nullable=False),
        sa.Column("animation", sa.Boolean(), nullable=False),
        sa.Column("background", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=200), nullable=False),
        sa.Column("images_done", sa.Integer(), nullable=False),
        sa.Column("images_total", sa.Integer(), nullable=False),
        sa.Column("frames_done", sa.Integer(), nullable=False),
        sa.Column("frames_total", sa.Integer(), nullable=False),
        sa.Column("design_path", sa.String(length=500), nullable=False),
        sa.Column("design_name", sa.String(length=200), nullable=False),
        sa.Column("design_type", sa.String(length=32), nullable=False),
        sa.Column("design_size", sa.Integer(), nullable=False),
        sa.Column("design_sha256", sa.String(length=64), nullable=False),
        sa.Column("design_width", sa.Integer(), nullable=False),
        sa.Column("design_height", sa.Integer(), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=True),
        sa.Column("manifest", sa.JSON(), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retried_from", sa.String(length=40), nullable=True),
        sa.Column("task_id", sa.String(length=64), nullable=True),
        sa.Column("media_sync_status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("worker_id", sa.String(length=128), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.CheckConstraint(_one_of("preset", PRESETS), name=op.f("ck_render_jobs_preset")),
        sa.CheckConstraint(_one_of("status", JOB_STATUSES), name=op.f("ck_render_jobs_status")),
        sa.CheckConstraint(_one_of("media_sync_status", MEDIA_SYNC_STATUSES),
                           name=op.f("ck_render_jobs_media_sync_status")),
        sa.CheckConstraint(_one_of("source", JOB_SOURCES), name=op.f("ck_render_jobs_source")),
        sa.CheckConstraint(_one_of("quality", QUALITIES), name=op.f("ck_render_jobs_quality")),
        sa.CheckConstraint("progress >= 0 AND progress <= 100",
                           name=op.f("ck_render_jobs_progress")),
        sa.ForeignKeyConstraint(["retried_from"], ["render_jobs.id"],
                                name=op.f("fk_render_jobs_retried_from_render_jobs"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["template_id"], ["render_templates.id"],
                                name=op.f("fk_render_jobs_template_id_render_templates"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_render_jobs")),
    )
    op.create_index("ix_render_jobs_created", "render_jobs", ["created_at", "id"])
    op.create_index("ix_render_jobs_status_created", "render_jobs",
                    ["status", "created_at", "id"])
    op.create_index("ix_render_jobs_product_created", "render_jobs",
                    ["product_id", "created_at", "id"])
    op.create_index("ix_render_jobs_preset_created", "render_jobs",
                    ["preset", "created_at", "id"])
    op.create_index("ix_render_jobs_preset_status_created", "render_jobs",
                    ["preset", "status", "created_at", "id"])
    op.create_index("ix_render_jobs_source_created", "render_jobs",
                    ["source", "created_at", "id"])
    op.create_index(op.f("ix_render_jobs_retried_from"), "render_jobs", ["retried_from"])
    op.create_index(op.f("ix_render_jobs_template_id"), "render_jobs", ["template_id"])

    op.create_table(
        "media_pushes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("sink", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("remote_files", sa.JSON(), nullable=False),
        sa.Column("remote_images", sa.JSON(), nullable=False),
        sa.Column("last_error_code", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(_one_of("status", MEDIA_SYNC_STATUSES),
                           name=op.f("ck_media_pushes_status")),
        sa.ForeignKeyConstraint(["job_id"], ["render_jobs.id"],
                                name=op.f("fk_media_pushes_job_id_render_jobs"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_pushes")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_media_pushes_idempotency_key")),
    )
    op.create_index(op.f("ix_media_pushes_job_id"), "media_pushes", ["job_id"])


def downgrade() -> None:
    op.drop_table("media_pushes")
    op.drop_table("render_jobs")
    op.drop_table("render_templates")
