"""crm_erasure: erasures waiting to reach Salesforce (the transactional outbox of the right to erasure)

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crm_erasure",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("sobject", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("sf_id", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=True),
        sa.Column("policy", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("crm_erasure", schema=None) as batch_op:
        batch_op.create_index("ix_crm_erasure_due", ["next_attempt_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("crm_erasure", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_erasure_due")
    op.drop_table("crm_erasure")
