"""decisions, their audit trail, bouncer API keys

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = ("decisions",)
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("value", sa.String(1100), nullable=False),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("origin_ref", sa.String(64), nullable=True),
        sa.Column("scenario", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("simulated", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("tenant", sa.String(200), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("changed_at", _TZ, nullable=False),
        sa.Column("until", _TZ, nullable=False),
        sa.Column("ends_at", _TZ, nullable=False),
        sa.Column("deleted_at", _TZ, nullable=True),
        sa.Column("deleted_by", sa.String(200), nullable=True),
        sa.Column("expiry_noted", sa.Boolean, nullable=False),
        sa.Column("key", sa.String(64), nullable=True),
        sa.Column("alert_last_seen", sa.String(32), nullable=True),
    )
    op.create_index("ix_decisions_target", "decisions", ["scope", "value"])
    op.create_index("ix_decisions_ends_at", "decisions", ["ends_at"])
    op.create_index("ix_decisions_changed_at", "decisions", ["changed_at"])
    op.create_index("ix_decisions_key", "decisions", ["key"])
    op.create_table(
        "decision_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", _TZ, nullable=False),
        sa.Column("event", sa.String(24), nullable=False),
        sa.Column("decision_id", sa.Integer, nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("scope", sa.String(16), nullable=True),
        sa.Column("value", sa.String(1100), nullable=True),
        sa.Column("action", sa.String(24), nullable=True),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_decision_audit_decision", "decision_audit", ["decision_id"])
    op.create_table(
        "bouncers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("last_pull", _TZ, nullable=True),
        sa.Column("user_agent", sa.String(300), nullable=True),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("bouncers")
    op.drop_table("decision_audit")
    op.drop_table("decisions")
