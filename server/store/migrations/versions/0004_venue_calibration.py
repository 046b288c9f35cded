"""venue_calibration, survey_walk: presence calibrations fitted from survey walks, and the walks in progress

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "venue_calibration",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("fitted_at", sa.Float(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("badge", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("walk_started_at", sa.Float(), nullable=False),
        sa.Column("walk_ended_at", sa.Float(), nullable=False),
        sa.Column("usable", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("calibration", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("venue_calibration", schema=None) as batch_op:
        batch_op.create_index("ix_venue_calibration_event_active", ["event_id", "active"], unique=False)
    op.create_table(
        "survey_walk",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("badge", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("started_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.Column("legs", JSON, nullable=False),
        sa.Column("open_leg", JSON, nullable=True),
        sa.Column("calibration_id", BIG_ID, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("survey_walk", schema=None) as batch_op:
        batch_op.create_index("ix_survey_walk_event", ["event_id", "started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("survey_walk", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_walk_event")
    op.drop_table("survey_walk")
    with op.batch_alter_table("venue_calibration", schema=None) as batch_op:
        batch_op.drop_index("ix_venue_calibration_event_active")
    op.drop_table("venue_calibration")
