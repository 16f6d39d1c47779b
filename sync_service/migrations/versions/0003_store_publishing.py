"""Publishing to the store (issue 15): how a job goes onto the product (`publish`), the
client's `Idempotency-Key`, one live retry per job (`retry_slot`), and two media-sync statuses
(`waiting_for_render`, `no_render`), for which the status columns grow to 24 characters.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Literal on purpose, as in 0001: a released migration makes the same schema forever.
MEDIA_SYNC_STATUSES = ("not_configured", "waiting_for_render", "no_render", "pending", "pushed",
                       "failed")
OLD_MEDIA_SYNC_STATUSES = ("not_configured", "pending", "pushed", "failed")


def _one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _media_status(table: str, column: str, values: Sequence[str], length: int,
                  old_length: int) -> None:
    # Batch mode: SQLite changes a CHECK constraint or a column type only by copying the table.
    with op.batch_alter_table(table) as batch:
        batch.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
        batch.alter_column(column, type_=sa.String(length=length),
                           existing_type=sa.String(length=old_length),
                           existing_nullable=False)
        batch.create_check_constraint(op.f(f"ck_{table}_{column}"), _one_of(column, values))


def upgrade() -> None:
    with op.batch_alter_table("render_jobs") as batch:
        batch.add_column(sa.Column("publish", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("idempotency_key", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("retry_slot", sa.String(length=96), nullable=True))
        batch.create_unique_constraint(op.f("uq_render_jobs_idempotency_key"),
                                       ["idempotency_key"])
        batch.create_unique_constraint(op.f("uq_render_jobs_retry_slot"), ["retry_slot"])
    _media_status("render_jobs", "media_sync_status", MEDIA_SYNC_STATUSES, 24, 16)
    _media_status("media_pushes", "status", MEDIA_SYNC_STATUSES, 24, 16)


def downgrade() -> None:
    op.execute("UPDATE render_jobs SET media_sync_status = 'not_configured' "
               "WHERE media_sync_status IN ('waiting_for_render', 'no_render')")
    _media_status("media_pushes", "status", OLD_MEDIA_SYNC_STATUSES, 16, 24)
    _media_status("render_jobs", "media_sync_status", OLD_MEDIA_SYNC_STATUSES, 16, 24)
    with op.batch_alter_table("render_jobs") as batch:
        batch.drop_constraint(op.f("uq_render_jobs_retry_slot"), type_="unique")
        batch.drop_constraint(op.f("uq_render_jobs_idempotency_key"), type_="unique")
        batch.drop_column("retry_slot")
        batch.drop_column("idempotency_key")
        batch.drop_column("publish")
