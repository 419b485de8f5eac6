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

from botocore.config import Config
from botocore.exceptions import ClientError

from ops.core import Command, Context, OpsError, error_code, not_deployed, stack_outputs

# The function's 15 minutes and a little: the call waits for the run, and is never retried (a
# retry would start a second run, which the lock would only skip).
INVOKE_CONFIG = Config(
    read_timeout=910, connect_timeout=10, retries={"total_max_attempts": 1, "mode": "standard"}
)


def _result(database: str, value: Any) -> str:
    if isinstance(value, int | float):
        return f"{database}: VACUUM (ANALYZE) in {value} s"
    return f"{database}: {value}"


def db_maintenance(ctx: Context, args: argparse.Namespace) -> None:
    stack_outputs(ctx, "data")
    function = ctx.names.db_maintenance_function
    try:
        ctx.clients("lambda").get_function(FunctionName=function)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            raise not_deployed(ctx, "data", f"function {function}") from None
        raise
    line = f"aws lambda invoke --function-name {function} --cli-read-timeout 910 out.json"
    if ctx.dry_run:
        ctx.out(f"[dry-run] {line}")
        return
    if ctx.emulated:
        raise OpsError(
            f"the local emulator runs no Lambda code and holds no PostgreSQL: {function} is deployed "
            "but cannot run here; run make db-maintenance against AWS (DRY_RUN=1 prints the call)"
        )
    ctx.out(f"+ {line}")
    answer = ctx.clients("lambda", config=INVOKE_CONFIG).invoke(
        FunctionName=function, InvocationType="RequestResponse"
    )
    payload = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError"):
        failure = payload if isinstance(payload, dict) else {}
        kind, message = failure.get("errorType", "error"), failure.get("errorMessage", payload)
        raise OpsError(
            f"{function} failed: {kind}: {message}; its log: aws logs tail /aws/lambda/{function} --since 1h"
        )
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
