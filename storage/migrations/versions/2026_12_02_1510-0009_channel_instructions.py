"""Channel instructions (`/parlance instructions`), the notices said once per channel (ALLOWED_CHANNELS), and the
files shared with a message (their Slack ids and names; never their contents).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 15:10:00

Written by hand. The new channel_settings columns are nullable, so adding them is cheap and needs no batch mode;
the downgrade's DROP COLUMN goes through batch_alter_table for SQLite. messages.files is nullable too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("channel_settings", sa.Column("instructions", sa.Text(), nullable=True))
    op.add_column("channel_settings", sa.Column("instructions_by", sa.String(32), nullable=True))
    op.add_column("messages", sa.Column("files", sa.JSON(), nullable=True))
    op.create_table(
        "channel_notices",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("channel_id", sa.String(32), primary_key=True),
        sa.Column("notice", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("channel_notices")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("files")
    with op.batch_alter_table("channel_settings") as batch:
        batch.drop_column("instructions_by")
        batch.drop_column("instructions")
