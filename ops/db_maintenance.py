"""The runbook's monthly "database maintenance (vacuum, analyze)", on demand (issue 17).

    python -m ops db-maintenance --env production [--dry-run]

Invokes the data stack's `clever-better-{token}-db-maintenance` (the function EventBridge
Scheduler runs on the month's first Sunday, components/data/maintenance.py) and waits for it:
`VACUUM (ANALYZE)` of each application database as the admin, one run at a time (a run that
finds another under way leaves the database alone and says so). Prints each database's VACUUM
time; a run that fails exits 1 with the function's error in one line (its log has the rest).
--dry-run prints the invocation and makes none. The local emulator runs no Lambda code and holds
no PostgreSQL: against it (--local) the dry run works and a real run refuses in one line.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ops.core import Command, Context, OpsError, invoke

# The function's 15 minutes and a little: the call waits for the run.
READ_TIMEOUT = 910


def _result(database: str, value: Any) -> str:
    if isinstance(value, int | float):
        return f"{database}: VACUUM (ANALYZE) in {value} s"
    return f"{database}: {value}"


def db_maintenance(ctx: Context, args: argparse.Namespace) -> None:
    function = ctx.names.db_maintenance_function
    payload = invoke(
        ctx,
        unit="data",
        function=function,
        payload=None,
        read_timeout=READ_TIMEOUT,
        cannot_run_here=" and holds no PostgreSQL",
        command="make db-maintenance",
    )
    if ctx.dry_run:
        return
    databases = payload.get("databases") if isinstance(payload, dict) else None
    if not isinstance(databases, dict) or not databases:
        raise OpsError(f"{function} answered {json.dumps(payload)[:200]}: no database was vacuumed")
    for database, value in databases.items():
        ctx.out(_result(database, value))


COMMANDS = (
    Command(
        "db-maintenance",
        "Run the monthly VACUUM (ANALYZE) of ENV's database now (the scheduled function) and wait",
        db_maintenance,
    ),
)
