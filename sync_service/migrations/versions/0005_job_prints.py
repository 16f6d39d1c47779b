"""Several prints on one shirt (issue 16): `render_job_prints`, every print of a job in order
(its preset, offset, scale, rotation and design), and the four placements beside the nine.

Every job made before becomes one print at position 0 with its design and preset, unmoved,
at scale 1, upright. `render_jobs.preset` and its design columns stay, as the job's first print
(listings filter by them, version-1 clients read them).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sync_service.models import one_of

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Literal on purpose, as in 0001: a released migration makes the same schema forever (a test
#: compares this list with `shared.presets.PRESET_IDS`; when shared grows, a new revision).
PRESETS = (
    "chest-small", "chest-medium", "chest-large",
    "back-small", "back-medium", "back-large",
    "back-bottom-small", "back-bottom-medium", "back-bottom-large",
    "chest-left", "sleeve-left", "sleeve-right", "neck-label",
)
#: What 0001 allowed: a downgrade narrows the job's preset back to these.
OLD_PRESETS = PRESETS[:9]
DESIGN_COLUMNS = ("design_path", "design_name", "design_type", "design_size", "design_sha256",
                  "design_width", "design_height")


def _job_presets(values: Sequence[str]) -> None:
    # Batch mode: SQLite changes a CHECK constraint only by copying the table.
    with op.batch_alter_table("render_jobs") as batch:
        batch.drop_constraint(op.f("ck_render_jobs_preset"), type_="check")
        batch.create_check_constraint(op.f("ck_render_jobs_preset"), one_of("preset", values))


def upgrade() -> None:
    _job_presets(PRESETS)
    op.create_table(
        "render_job_prints",
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("preset", sa.String(length=32), nullable=False),
        sa.Column("offset_x_cm", sa.Float(), nullable=False),
        sa.Column("offset_y_cm", sa.Float(), nullable=False),
        sa.Column("scale", sa.Float(), nullable=False),
        sa.Column("rotation_deg", sa.Float(), nullable=False),
        sa.Column("design_path", sa.String(length=500), nullable=False),
        sa.Column("design_name", sa.String(length=200), nullable=False),
        sa.Column("design_type", sa.String(length=32), nullable=False),
        sa.Column("design_size", sa.Integer(), nullable=False),
        sa.Column("design_sha256", sa.String(length=64), nullable=False),
        sa.Column("design_width", sa.Integer(), nullable=False),
        sa.Column("design_height", sa.Integer(), nullable=False),
        sa.CheckConstraint(one_of("preset", PRESETS), name=op.f("ck_render_job_prints_preset")),
        sa.CheckConstraint("position >= 0", name=op.f("ck_render_job_prints_position")),
        sa.ForeignKeyConstraint(["job_id"], ["render_jobs.id"],
                                name=op.f("fk_render_job_prints_job_id_render_jobs"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "position", name=op.f("pk_render_job_prints")),
    )
    design = ", ".join(DESIGN_COLUMNS)
    op.execute(
        f"INSERT INTO render_job_prints (job_id, position, preset, offset_x_cm, offset_y_cm, "
        f"scale, rotation_deg, {design}) "
        f"SELECT id, 0, preset, 0.0, 0.0, 1.0, 0.0, {design} FROM render_jobs")


def downgrade() -> None:
    # A job keeps its first print (the job's own columns). One at a placement 0004 does not
    # know cannot be kept at all: refuse rather than lose it.
    newer = op.get_bind().execute(sa.text(
        f"SELECT count(*) FROM render_jobs WHERE NOT ({one_of('preset', OLD_PRESETS)})"
    )).scalar()
    if newer:
        raise RuntimeError(f"{newer} job(s) print at a placement revision 0004 does not know; "
                           f"delete them before downgrading.")
    op.drop_table("render_job_prints")
    _job_presets(OLD_PRESETS)
