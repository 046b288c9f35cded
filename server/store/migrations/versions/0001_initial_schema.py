"""initial schema

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "action_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("decision_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("attendee_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("done_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("action_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_action_outbox_due", ["status", "kind", "next_attempt_at"], unique=False)

    op.create_table(
        "api_token",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=True),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_token_hash"), ["token_hash"], unique=True)

    op.create_table(
        "app_login_code",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("via", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("app_login_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_login_code_subject"), ["subject"], unique=False)

    op.create_table(
        "app_refresh_token",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("family", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("access_token_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("app_refresh_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_refresh_token_family"), ["family"], unique=False)
        batch_op.create_index(batch_op.f("ix_app_refresh_token_subject"), ["subject"], unique=False)
        batch_op.create_index(batch_op.f("ix_app_refresh_token_token_hash"), ["token_hash"], unique=True)

    op.create_table(
        "attendee_consent",
        sa.Column("attendee_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("attendee_id", "purpose"),
    )
    op.create_table(
        "attendee_score",
        sa.Column("attendee_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("grade", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column(
            "breakdown", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("model_version", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("attendee_id"),
    )
    with op.batch_alter_table("attendee_score", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attendee_score_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_attendee_score_score"), ["score"], unique=False)

    op.create_table(
        "connection",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("attendee_a", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("attendee_b", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("requested_at", sa.Float(), nullable=False),
        sa.Column("accepted_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("attendee_a", "attendee_b", name="uq_connection_pair"),
    )
    with op.batch_alter_table("connection", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_connection_event_id"), ["event_id"], unique=False)

    op.create_table(
        "consent_record",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("attendee_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("consent_record", schema=None) as batch_op:
        batch_op.create_index("ix_consent_record_attendee_at", ["attendee_id", "at"], unique=False)

    op.create_table(
        "crm_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("attendee_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("fields", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("crm_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crm_outbox_attendee_id"), ["attendee_id"], unique=False)
        batch_op.create_index("ix_crm_outbox_due", ["next_attempt_at", "id"], unique=False)

    op.create_table(
        "crm_sync_state",
        sa.Column("record_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("attendee_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("sobject", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("sf_id", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("payload_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("enqueued_at", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("synced_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("record_key"),
    )
    with op.batch_alter_table("crm_sync_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crm_sync_state_attendee_id"), ["attendee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_crm_sync_state_status"), ["status"], unique=False)

    op.create_table(
        "dead_letter",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.Column("topic", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("device_id", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dead_letter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dead_letter_reason"), ["reason"], unique=False)
        batch_op.create_index(batch_op.f("ix_dead_letter_received_at"), ["received_at"], unique=False)

    op.create_table(
        "event",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("starts_at", sa.Float(), nullable=False),
        sa.Column("ends_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "ingested_message",
        sa.Column("device_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "seq"),
    )
    op.create_table(
        "notification",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("attendee_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("rule_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("campaign_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("delivered_at", sa.Float(), nullable=True),
        sa.Column("read_at", sa.Float(), nullable=True),
        sa.Column("opened_at", sa.Float(), nullable=True),
        sa.Column("clicked_at", sa.Float(), nullable=True),
        sa.Column("dismissed_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_attendee_id"), ["attendee_id"], unique=False)
        batch_op.create_index("ix_notification_recipient", ["recipient", "created_at"], unique=False)

    op.create_table(
        "push_subscription",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("attendee_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("endpoint", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.Column("p256dh", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("auth", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("last_success_at", sa.Float(), nullable=True),
        sa.Column("gone_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("endpoint"),
    )
    with op.batch_alter_table("push_subscription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_subscription_attendee_id"), ["attendee_id"], unique=False)

    op.create_table(
        "rule",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("campaign_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "definition", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", "version"),
    )
    with op.batch_alter_table("rule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rule_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index("ix_rule_event_owner", ["event_id", "owner"], unique=False)

    op.create_table(
        "rule_decision",
        sa.Column("decision_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("rule_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("attendee_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("action_index", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("trigger", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("redacted", sa.Boolean(), nullable=False),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("decision_id"),
    )
    with op.batch_alter_table("rule_decision", schema=None) as batch_op:
        batch_op.create_index("ix_rule_decision_attendee", ["attendee_id", "at"], unique=False)
        batch_op.create_index("ix_rule_decision_campaign", ["campaign_id", "at"], unique=False)
        batch_op.create_index("ix_rule_decision_rule", ["rule_id", "at"], unique=False)

    op.create_table(
        "rule_engine_state",
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("state", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_table(
        "touchpoint",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.Float(), nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.Column("attendee_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("device_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("zone_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("beacon_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("rssi", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("device_id", "seq", "idx", name="uq_touchpoint_device_seq_idx"),
    )
    with op.batch_alter_table("touchpoint", schema=None) as batch_op:
        batch_op.create_index("ix_touchpoint_attendee_occurred", ["attendee_id", "occurred_at"], unique=False)
        batch_op.create_index("ix_touchpoint_event_occurred", ["event_id", "occurred_at"], unique=False)

    op.create_table(
        "visit",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("attendee_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("zone_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("dwell_s", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("attendee_id", "zone_id", "started_at", name="uq_visit_attendee_zone_start"),
    )
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.create_index("ix_visit_attendee", ["attendee_id", "started_at"], unique=False)
        batch_op.create_index("ix_visit_event_zone", ["event_id", "zone_id", "started_at"], unique=False)

    op.create_table(
        "attendee",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("company", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("job_title", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("country", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("badge_uid", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("badge_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("beacon_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("tags", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column(
            "interests", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("consent_tracking", sa.Boolean(), nullable=False),
        sa.Column("consent_push", sa.Boolean(), nullable=False),
        sa.Column("consent_crm", sa.Boolean(), nullable=False),
        sa.Column("registered_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attendee", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attendee_badge_id"), ["badge_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_attendee_badge_uid"), ["badge_uid"], unique=True)
        batch_op.create_index(batch_op.f("ix_attendee_beacon_id"), ["beacon_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_attendee_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_attendee_event_id"), ["event_id"], unique=False)

    op.create_table(
        "exhibitor",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "interests", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("exhibitor", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exhibitor_event_id"), ["event_id"], unique=False)

    op.create_table(
        "exhibitor_user",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("exhibitor_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("disabled_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["exhibitor_id"],
            ["exhibitor.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("exhibitor_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exhibitor_user_email"), ["email"], unique=True)
        batch_op.create_index(batch_op.f("ix_exhibitor_user_exhibitor_id"), ["exhibitor_id"], unique=False)

    op.create_table(
        "lead",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("exhibitor_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("attendee_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("captured_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("assigned_to", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "answers", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("contact_shared", sa.Boolean(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("company", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("job_title", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("country", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("hot_alerted_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["exhibitor_id"],
            ["exhibitor.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("exhibitor_id", "attendee_id", name="uq_lead_exhibitor_attendee"),
    )
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_attendee_id"), ["attendee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_exhibitor_id"), ["exhibitor_id"], unique=False)

    op.create_table(
        "lead_question",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("exhibitor_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column(
            "choices", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exhibitor_id"],
            ["exhibitor.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("lead_question", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_question_exhibitor_id"), ["exhibitor_id"], unique=False)

    op.create_table(
        "zone",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("width", sa.Float(), nullable=False),
        sa.Column("height", sa.Float(), nullable=False),
        sa.Column("floor", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("exhibitor_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
        ),
        sa.ForeignKeyConstraint(
            ["exhibitor_id"],
            ["exhibitor.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("zone", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_zone_event_id"), ["event_id"], unique=False)

    op.create_table(
        "agenda_session",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("zone_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("starts_at", sa.Float(), nullable=False),
        sa.Column("ends_at", sa.Float(), nullable=False),
        sa.Column("tags", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["zone.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("agenda_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agenda_session_event_id"), ["event_id"], unique=False)

    op.create_table(
        "device",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("zone_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("x", sa.Float(), nullable=True),
        sa.Column("y", sa.Float(), nullable=True),
        sa.Column("rssi_offset_db", sa.Float(), nullable=False),
        sa.Column("credential_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("broker_password_hash", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("config_version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("state_at", sa.Float(), nullable=True),
        sa.Column("last_seen_at", sa.Float(), nullable=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=True),
        sa.Column(
            "last_heartbeat", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["zone.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_event_id"), ["event_id"], unique=False)

    op.create_table(
        "enrolment_code",
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("zone_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("device_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
        sa.Column("used_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["zone.id"],
        ),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    op.create_table(
        "venue_beacon",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("beacon_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("zone_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("x", sa.Float(), nullable=True),
        sa.Column("y", sa.Float(), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["zone.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("venue_beacon", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_venue_beacon_beacon_id"), ["beacon_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_venue_beacon_event_id"), ["event_id"], unique=False)

    op.create_table(
        "session_registration",
        sa.Column("attendee_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("session_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("registered_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attendee_id"],
            ["attendee.id"],
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["agenda_session.id"],
        ),
        sa.PrimaryKeyConstraint("attendee_id", "session_id"),
    )


def downgrade() -> None:
    op.drop_table("session_registration")
    with op.batch_alter_table("venue_beacon", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_venue_beacon_event_id"))
        batch_op.drop_index(batch_op.f("ix_venue_beacon_beacon_id"))

    op.drop_table("venue_beacon")
    op.drop_table("enrolment_code")
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_event_id"))

    op.drop_table("device")
    with op.batch_alter_table("agenda_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agenda_session_event_id"))

    op.drop_table("agenda_session")
    with op.batch_alter_table("zone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_zone_event_id"))

    op.drop_table("zone")
    with op.batch_alter_table("lead_question", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_question_exhibitor_id"))

    op.drop_table("lead_question")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_exhibitor_id"))
        batch_op.drop_index(batch_op.f("ix_lead_attendee_id"))

    op.drop_table("lead")
    with op.batch_alter_table("exhibitor_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exhibitor_user_exhibitor_id"))
        batch_op.drop_index(batch_op.f("ix_exhibitor_user_email"))

    op.drop_table("exhibitor_user")
    with op.batch_alter_table("exhibitor", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exhibitor_event_id"))

    op.drop_table("exhibitor")
    with op.batch_alter_table("attendee", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attendee_event_id"))
        batch_op.drop_index(batch_op.f("ix_attendee_email"))
        batch_op.drop_index(batch_op.f("ix_attendee_beacon_id"))
        batch_op.drop_index(batch_op.f("ix_attendee_badge_uid"))
        batch_op.drop_index(batch_op.f("ix_attendee_badge_id"))

    op.drop_table("attendee")
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_event_zone")
        batch_op.drop_index("ix_visit_attendee")

    op.drop_table("visit")
    with op.batch_alter_table("touchpoint", schema=None) as batch_op:
        batch_op.drop_index("ix_touchpoint_event_occurred")
        batch_op.drop_index("ix_touchpoint_attendee_occurred")

    op.drop_table("touchpoint")
    op.drop_table("rule_engine_state")
    with op.batch_alter_table("rule_decision", schema=None) as batch_op:
        batch_op.drop_index("ix_rule_decision_rule")
        batch_op.drop_index("ix_rule_decision_campaign")
        batch_op.drop_index("ix_rule_decision_attendee")

    op.drop_table("rule_decision")
    with op.batch_alter_table("rule", schema=None) as batch_op:
        batch_op.drop_index("ix_rule_event_owner")
        batch_op.drop_index(batch_op.f("ix_rule_campaign_id"))

    op.drop_table("rule")
    with op.batch_alter_table("push_subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_subscription_attendee_id"))

    op.drop_table("push_subscription")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_recipient")
        batch_op.drop_index(batch_op.f("ix_notification_attendee_id"))

    op.drop_table("notification")
    op.drop_table("ingested_message")
    op.drop_table("event")
    with op.batch_alter_table("dead_letter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dead_letter_received_at"))
        batch_op.drop_index(batch_op.f("ix_dead_letter_reason"))

    op.drop_table("dead_letter")
    with op.batch_alter_table("crm_sync_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_sync_state_status"))
        batch_op.drop_index(batch_op.f("ix_crm_sync_state_attendee_id"))

    op.drop_table("crm_sync_state")
    with op.batch_alter_table("crm_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_outbox_due")
        batch_op.drop_index(batch_op.f("ix_crm_outbox_attendee_id"))

    op.drop_table("crm_outbox")
    with op.batch_alter_table("consent_record", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_record_attendee_at")

    op.drop_table("consent_record")
    with op.batch_alter_table("connection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connection_event_id"))

    op.drop_table("connection")
    with op.batch_alter_table("attendee_score", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attendee_score_score"))
        batch_op.drop_index(batch_op.f("ix_attendee_score_event_id"))

    op.drop_table("attendee_score")
    op.drop_table("attendee_consent")
    with op.batch_alter_table("app_refresh_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_refresh_token_token_hash"))
        batch_op.drop_index(batch_op.f("ix_app_refresh_token_subject"))
        batch_op.drop_index(batch_op.f("ix_app_refresh_token_family"))

    op.drop_table("app_refresh_token")
    with op.batch_alter_table("app_login_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_login_code_subject"))

    op.drop_table("app_login_code")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_token_hash"))

    op.drop_table("api_token")
    with op.batch_alter_table("action_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_action_outbox_due")

    op.drop_table("action_outbox")
