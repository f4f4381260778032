"""Drop channel_settings.language: no code ever wrote or read it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 01:00:00

Written by hand. A batch operation, so SQLite (which copies the table to drop a column on older versions) and
PostgreSQL take the same path.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("channel_settings") as batch:
        batch.drop_column("language")


def downgrade() -> None:
    with op.batch_alter_table("channel_settings") as batch:
        batch.add_column(sa.Column("language", sa.String(16), nullable=True))
