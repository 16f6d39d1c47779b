"""Several colours in one job (issue 15 part 1): `render_jobs.colors`, every colour of a job in
order, its first the one `color` keeps (so old clients, the dashboard and the listings that
read `color` go on working). NULL, as for every job made before, means `[color]`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("render_jobs") as batch:
        batch.add_column(sa.Column("colors", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("render_jobs") as batch:
        batch.drop_column("colors")
