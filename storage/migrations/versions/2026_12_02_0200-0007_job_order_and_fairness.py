"""Jobs: who asked and in which thread, so one thread's jobs run in order and one person cannot hold up everyone;
the continuation messages of a long reply; whether the person was told they are queued.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 02:00:00

Written by hand. The new columns are nullable (told_queued has a server default), so the ALTERs are cheap on a
large table and need no batch mode on SQLite; only the downgrade's DROP COLUMN goes through batch_alter_table.
Jobs recorded before this revision have no user and no thread: they are claimed as before, without limits.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("user_id", sa.String(32), nullable=True))
    op.add_column("jobs", sa.Column("thread_ts", sa.String(32), nullable=True))
    op.add_column("jobs", sa.Column("continued_ts", sa.JSON(), nullable=True))
    op.add_column("jobs", sa.Column("told_queued", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_jobs_team_user", "jobs", ["team_id", "user_id", "state"])
    op.create_index("ix_jobs_thread", "jobs", ["team_id", "channel_id", "thread_ts", "id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_thread", table_name="jobs")
    op.drop_index("ix_jobs_team_user", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("told_queued")
        batch.drop_column("continued_ts")
        batch.drop_column("thread_ts")
        batch.drop_column("user_id")
