"""The processes that consume the render queue, with their heartbeat (issue 17: `/health` lists
them and `serve` records how its queue process ended).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Literal on purpose, as in 0001: a released migration makes the same schema forever.
WORKER_KINDS = ("serve", "worker")


def upgrade() -> None:
    kinds = ", ".join(f"'{kind}'" for kind in WORKER_KINDS)
    op.create_table(
        "queue_workers",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("render_threads", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exits", sa.Integer(), nullable=False),
        sa.Column("last_exit", sa.String(length=200), nullable=True),
        sa.CheckConstraint(f"kind IN ({kinds})", name=op.f("ck_queue_workers_kind")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_queue_workers")),
    )


def downgrade() -> None:
    op.drop_table("queue_workers")
