"""The one way a `touchpoints` command opens the database: migrated, or a one-line message and exit 2.

Commands that set a database up (import, seed, demo, crm) bring its schema to the newest migration, as
`serve` does. Commands that read or change an existing deployment's data (broker config, privacy purge and
erase) do not: a database without our schema there usually means a wrong TOUCHPOINTS_DATABASE_URL, and
migrating it would, say, write a broker password file with no devices in it. They say what to run instead::

    error: the database has no schema yet (sqlite:///var/touchpoints.db): run `touchpoints migrate`
"""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

MIGRATE_HINT = "run `touchpoints migrate`"


def open_database(settings: Any, *, migrate: bool = False) -> Engine:
    """An engine on ``settings``' database whose schema is current; ``migrate``: bring it there first."""
    from server.store.db import make_engine, schema_problem
    from server.store.db import migrate as run_migrations

    engine = make_engine(settings.sqlalchemy_url)
    if migrate:
        run_migrations(engine)
        return engine
    problem = schema_problem(engine)
    if problem is not None:
        engine.dispose()
        hint = "" if problem.startswith("cannot open") else f": {MIGRATE_HINT}"
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        Console(stderr=True).print(f"[red]error:[/red] {problem} ({where}){hint}", soft_wrap=True)
        raise typer.Exit(2)
    return engine
