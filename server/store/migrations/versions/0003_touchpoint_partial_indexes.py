"""touchpoint: indexes of the touchpoints other than sightings, by attendee (journeys) and by type (organizer views)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NOT_SIGHTING = sa.text("type != 'sighting'")


def upgrade() -> None:
    with op.batch_alter_table("touchpoint", schema=None) as batch_op:
        batch_op.create_index(
            "ix_touchpoint_attendee_journey", ["attendee_id", "occurred_at"], unique=False,
            sqlite_where=NOT_SIGHTING, postgresql_where=NOT_SIGHTING,
        )  # fmt: skip
        batch_op.create_index(
            "ix_touchpoint_type_event", ["type", "event_id", "occurred_at"], unique=False,
            sqlite_where=NOT_SIGHTING, postgresql_where=NOT_SIGHTING,
        )  # fmt: skip


def downgrade() -> None:
    with op.batch_alter_table("touchpoint", schema=None) as batch_op:
        batch_op.drop_index("ix_touchpoint_type_event")
        batch_op.drop_index("ix_touchpoint_attendee_journey")
