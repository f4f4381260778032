"""Sentiment: scores on messages, one row per digest sent, and the clock's APScheduler job store.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 17:00:00

Written by hand. The three message columns are nullable, so the ALTERs are cheap on a large table and need no
batch mode on SQLite (SQLite can ADD COLUMN; only the downgrade's DROP COLUMN goes through batch_alter_table,
which copies the table there and is a plain ALTER on PostgreSQL). Digest schedules reuse channel_settings'
digest_schedule / digest_timezone columns from 0001.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("messages", sa.Column("sentiment_label", sa.String(8), nullable=True))
    op.add_column("messages", sa.Column("sentiment_score", sa.Float(), nullable=True))
    op.add_column("messages", sa.Column("sentiment_scored_for", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "sentiment_digests",
        sa.Column("id", BigIntId, autoincrement=True, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("period_key", sa.String(80), nullable=False),
        sa.Column("cadence", sa.String(8), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("team_id", "channel_id", "period_key", name="uq_sentiment_digests_period"),
    )
    # APScheduler 3's SQLAlchemyJobStore table, exactly as the job store would create it, so the clock's
    # schedule lives in a migrated table too (the store's own create_all then finds it and does nothing).
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(191), primary_key=True),
        sa.Column("next_run_time", sa.Float(25), index=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("apscheduler_jobs")
    op.drop_table("sentiment_digests")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("sentiment_scored_for")
        batch.drop_column("sentiment_score")
        batch.drop_column("sentiment_label")
