"""Answer feedback: one 👍 or 👎 per person and answer (summary, translation), changeable.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 15:00:00

Written by hand. A new table only, so nothing existing is rewritten. The unique key (team_id, job_id, user_id) is
what makes a second click replace the first (INSERT … ON CONFLICT DO UPDATE); the recent-votes index serves the
helpful rates of /parlance and the App Home, the team-and-user index `/parlance forget me`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "answer_feedback",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("message_ts", sa.String(32), nullable=True, comment="the message the vote was on"),
        sa.Column("skill", sa.String(16), nullable=False, comment="answer, summary or translation"),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("team_id", "job_id", "user_id", name="uq_answer_feedback_vote"),
    )
    op.create_index("ix_answer_feedback_recent", "answer_feedback", ["team_id", "channel_id", "updated_at"])
    op.create_index("ix_answer_feedback_team_user", "answer_feedback", ["team_id", "user_id"])


def downgrade() -> None:
    op.drop_index("ix_answer_feedback_team_user", table_name="answer_feedback")
    op.drop_index("ix_answer_feedback_recent", table_name="answer_feedback")
    op.drop_table("answer_feedback")
