"""All server configuration: one pydantic-settings class, environment variables prefixed ``TOUCHPOINTS_``.

docs/configuration.md lists every variable with its default; a test keeps the two in step. A bad value
fails at start-up with a message naming the variable (see :func:`load_settings`).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from edge.mqtt_url import MqttEndpoint, parse_mqtt_url  # noqa: F401  (re-exported)
from edge.protocol import DEFAULT_PREFIX, ID_PATTERN, MAX_PAYLOAD_BYTES

ENV_PREFIX = "TOUCHPOINTS_"

Port = Annotated[int, Field(ge=0, le=65535)]


class ConfigError(Exception):
    """A configuration value is invalid; the message names the environment variable."""


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", validate_default=True)

    # --- store
    database_url: str = Field(
        default="sqlite:///./var/touchpoints.db",
        description="SQLAlchemy URL. SQLite file (WAL mode) by default; postgresql://user@host/db for production.",
    )
    var_dir: Path = Field(
        default=Path("./var"), description="Where the default SQLite file and the generated admin token live."
    )

    # --- MQTT
    mqtt_url: str | None = Field(
        default=None,
        description="Broker URL, e.g. mqtt://127.0.0.1:1883. Unset: `serve`/`demo` start an embedded broker.",
    )
    public_mqtt_url: str | None = Field(
        default=None, description="Broker URL handed to devices at enrolment, when it differs from mqtt_url."
    )
    embedded_mqtt_host: str = Field(default="127.0.0.1", description="Interface the embedded broker binds.")
    embedded_mqtt_port: Port = Field(
        default=18830,
        description="Port of the embedded broker (0 = any free port). Not 1883, which a system Mosquitto often holds.",
    )
    mqtt_protocol: Literal["5", "3.1.1"] = Field(
        default="5",
        description="MQTT version of the ingest connection. 5 (Mosquitto, EMQX); the embedded broker speaks 3.1.1.",
    )
    mqtt_topic_prefix: str = Field(
        default=DEFAULT_PREFIX, pattern=r"^[A-Za-z0-9_-]{1,32}$", description="First topic level (docs/mqtt.md)."
    )
    mqtt_client_id: str = Field(
        default="touchpoints-ingest",
        description="Client id of the ingest consumer; its persistent session keeps unacknowledged messages.",
    )
    mqtt_shared_group: str | None = Field(
        default=None, description="Subscribe as $share/<group>/... so several ingest workers split the load."
    )
    mqtt_max_payload_bytes: int = Field(
        default=MAX_PAYLOAD_BYTES, ge=1024, le=16 * 1024 * 1024, description="Larger messages are dead-lettered unread."
    )

    # --- ingest
    event_id: str = Field(default="demo", pattern=ID_PATTERN, description="The event (conference) this server ingests.")
    ingest_batch_max: int = Field(
        default=500, ge=1, le=100_000, description="Messages per database transaction, at most."
    )
    ingest_queue_max: int = Field(default=20_000, ge=10, description="Received, not yet committed messages, at most.")
    ingest_queue_max_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024 * 1024, description="Payload bytes received and not yet committed, at most."
    )
    ingest_enabled: bool = Field(default=True, description="false for API-only workers.")
    ingest_device_rate_per_s: float = Field(
        default=50.0, ge=0, description="Messages per second one device may send beyond its burst (0 = no limit)."
    )
    ingest_device_burst: int = Field(
        default=3000, ge=1, description="Messages one device may send at once before its rate limit applies."
    )

    # --- scale-out (docs/scaling.md)
    redis_url: str | None = Field(
        default=None,
        description="redis://host:6379/0: WebSocket fan-out and the live stream across processes. Unset: in-process.",
    )
    live_enabled: bool = Field(
        default=True,
        description="This process runs presence, scores, rules and the dashboard feed. With redis_url: one per event.",
    )
    enrolment_code_ttl_s: int = Field(
        default=900, ge=60, le=7 * 86400, description="Lifetime of a device enrolment code."
    )

    # --- HTTP
    http_host: str = Field(default="127.0.0.1", description="Interface the HTTP server binds.")
    http_port: Port = Field(default=8000, description="Port of the HTTP server (0 = any free port).")
    admin_token: SecretStr | None = Field(
        default=None,
        description="Bootstrap organizer token. Unset: one is generated into var_dir/admin-token and printed.",
    )

    # --- attendee app (/app/v1): sign-in codes by email
    smtp_url: str | None = Field(
        default=None,
        description=(
            "smtp://[user:password@]host[:port] (STARTTLS whenever credentials are set), smtps:// for implicit "
            "TLS. Rule emails, rep alerts and sign-in codes. Unset: sign-in codes are only logged."
        ),
    )
    mail_from: str = Field(default="touchpoints@localhost", description="Sender address of every email.")

    # --- trigger rules: Web Push
    vapid_private_key: SecretStr | None = Field(
        default=None,
        description="VAPID private key for Web Push (base64url DER or PEM; docs/rules.md). Unset: no Web Push.",
    )
    vapid_subject: str = Field(
        default="mailto:touchpoints@localhost", description="VAPID contact (mailto: or https:) push services see."
    )

    # --- Salesforce sync (docs/salesforce.md)
    salesforce_enabled: bool = Field(default=False, description="Run the Salesforce sync worker with the server.")
    salesforce_auth_flow: Literal["password", "jwt", "client_credentials", "soap"] = Field(
        default="password", description="How to log in: OAuth password, JWT bearer, client credentials or SOAP login."
    )
    salesforce_login_url: str = Field(
        default="https://login.salesforce.com",
        description="Where the token flow runs (test.salesforce.com, My Domain).",
    )
    salesforce_instance_url: str | None = Field(
        default=None, description="Instance URL when the login answer has none; unset: the one the login returns."
    )
    salesforce_api_version: str = Field(default="62.0", pattern=r"^\d+\.0$", description="REST API version.")
    salesforce_username: str | None = Field(default=None, description="Integration user (password, jwt, soap flows).")
    salesforce_password: SecretStr | None = Field(default=None, description="Its password (password, soap flows).")
    salesforce_security_token: SecretStr | None = Field(
        default=None, description="Its security token, appended to the password."
    )
    salesforce_client_id: str | None = Field(default=None, description="Connected app consumer key.")
    salesforce_client_secret: SecretStr | None = Field(default=None, description="Connected app consumer secret.")
    salesforce_jwt_key_path: Path | None = Field(
        default=None, description="PEM private key that signs the JWT bearer assertion (RS256)."
    )
    salesforce_ca_bundle: Path | None = Field(
        default=None, description="Extra CA to trust for Salesforce (the emulator's test CA); unset: system CAs."
    )
    salesforce_timeout_s: float = Field(default=30.0, gt=0, le=600, description="Timeout of every Salesforce request.")
    salesforce_mapping_path: Path | None = Field(
        default=None, description="YAML mapping replacing sections of the shipped one (server/crm/defaults)."
    )
    salesforce_batch_size: int = Field(
        default=200, ge=1, le=200, description="Records per sObject Collections call (Salesforce takes 200 at most)."
    )
    salesforce_bulk_threshold: int = Field(
        default=2000, ge=1, description="More records of one kind than this in a drain go through Bulk API 2.0."
    )
    salesforce_poll_interval_s: float = Field(default=1.0, gt=0, description="How often the worker looks for work.")
    salesforce_max_attempts: int = Field(
        default=10, ge=1, description="Transient failures of a record before it is parked for an operator."
    )
    salesforce_limit_pause_s: float = Field(
        default=300.0, ge=0, description="Pause of the whole queue after REQUEST_LIMIT_EXCEEDED."
    )
    salesforce_slowdown_at: float = Field(
        default=0.8, gt=0, le=1, description="Share of the daily API limit in use from which the worker slows down."
    )
    salesforce_dry_run: bool = Field(default=False, description="The worker logs what it would send and sends nothing.")
    salesforce_emulator: bool = Field(
        default=False, description="`demo`: start the local Salesforce emulator and sync to it (enables the sync)."
    )
    salesforce_auto_assign: bool = Field(
        default=False,
        description="Let the org's Lead assignment rules run on the sync's writes (Sforce-Auto-Assign); off: "
        "a Lead keeps the owner a rep gave it.",
    )
    salesforce_deployment_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,32}$",
        description="Namespace of this deployment's External IDs in Salesforce; unset: generated once and kept "
        "in the database (set it to keep the same records after rebuilding the database).",
    )
    salesforce_erasure: Literal["delete", "anonymise"] = Field(
        default="delete",
        description="What erasing an attendee does to their Lead in Salesforce (docs/privacy.md): delete it "
        "(its Tasks and campaign membership go with it) or anonymise it (personal fields overwritten).",
    )

    # --- privacy
    sighting_retention_days: float | None = Field(
        default=None, gt=0, description="Raw BLE sightings older than this are deleted by `touchpoints privacy purge`."
    )
    max_request_bytes: int = Field(
        default=8 * 1024 * 1024, ge=1024, description="HTTP request bodies above this are refused with 413."
    )

    # --- logs
    log_level: str = Field(
        default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$", description="DEBUG, INFO, WARNING or ERROR."
    )
    log_format: LogFormat = Field(default=LogFormat.TEXT, description="text for people, json for log shippers.")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://", "postgres://")):
            raise ValueError("must start with sqlite:// or postgresql://")
        return value

    @field_validator("mqtt_url", "public_mqtt_url")
    @classmethod
    def _valid_mqtt_url(cls, value: str | None) -> str | None:
        if value:
            parse_mqtt_url(value)
        return value or None

    @field_validator("redis_url")
    @classmethod
    def _valid_redis_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value or None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlalchemy_url(self) -> str:
        """The URL with the psycopg 3 driver named, since that is the PostgreSQL driver we ship."""
        url = self.database_url
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return url


def load_settings(**overrides: object) -> Settings:
    """Read the environment, turning validation errors into one message per offending variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            value = err.get("input")
            lines.append(f"{ENV_PREFIX}{field.upper()}={value!r}: {err['msg']}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
