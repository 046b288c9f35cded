"""Engine creation and schema migrations for SQLite (default) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any fixed 64-bit number: PostgreSQL advisory lock that serialises migrations of workers starting together.
MIGRATION_LOCK_ID = 0x70C4_0001
# Readers wait this long for a writer instead of failing with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 10_000


def dialect_insert(conn: Connection, table: Any) -> Any:
    """The dialect's INSERT: both databases we run on have ON CONFLICT (do nothing / do update)."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def insert_new(conn: Connection, table: Any, values: dict[str, Any], key: list[str] | None = None) -> bool:
    """Insert ``values`` unless a row with the same key is there (``key``: the unique columns; None: any
    constraint); True when this call inserted it. Decided by RETURNING: SQLAlchemy reports rowcount -1 for
    these inserts on PostgreSQL, which once made every replayed rule decision look new there."""
    first_key_column = next(iter(table.primary_key.columns))
    statement = dialect_insert(conn, table).values(values).on_conflict_do_nothing(index_elements=key)
    return conn.execute(statement.returning(first_key_column)).first() is not None


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL mode, a busy timeout and its directory created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while ingest writes; NORMAL sync is durable across process crashes
    # (a power cut may lose the last commits, never corrupt the file).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def alembic_config(engine: Engine, connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent; run on every `serve`/`demo` start).

    On PostgreSQL the migration runs under an advisory lock, so that several workers starting at once
    migrate one after the other instead of racing to create the same tables.
    """
    if engine.dialect.name != "postgresql":
        command.upgrade(alembic_config(engine), "head")
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        conn.commit()
        try:
            command.upgrade(alembic_config(engine, conn), "head")
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
            conn.commit()


def schema_problem(engine: Engine) -> str | None:
    """None when the schema is at the newest migration, else what is wrong in one line (for the CLI).

    A command run against a database that was never migrated used to die with a traceback ("no such table:
    device"); often the cause is a wrong TOUCHPOINTS_DATABASE_URL, so the message names the database.
    """
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except Exception as exc:  # any driver error: the database cannot be opened at all
        return f"cannot open the database ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
    if current is None:
        return "the database has no schema yet"
    if current != head:
        return f"the database schema is at {current}, this version needs {head}"
    return None


def check_database(engine: Engine) -> str | None:
    """None when the database answers, else the error text (for /healthz)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "down" for a health check
        return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    return None
