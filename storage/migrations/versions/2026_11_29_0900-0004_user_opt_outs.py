"""User opt-outs: people who asked `/parlance forget me` are not stored again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 09:00:00

Written by hand. A new table only, so nothing existing is rewritten; the primary key (team_id, user_id) is the
index the message-storing path looks up.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_opt_outs",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("user_opt_outs")
