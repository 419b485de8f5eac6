"""Scheduled training, on demand (issue 17; docs/RUNBOOK.md "Scheduled training").

    python -m ops train --env production [--dry-run]

Invokes `clever-better-{token}-training` with `{"action": "start"}`, as its schedule does: the
ml-service's training command as a one-off task of the service's current task definition,
unless a run is still going (never a second one). Prints the task it started, the run it found
going, or why ECS refused (exit 1: that is a failed run, recorded as the schedule's would be).
The outcome arrives when the task stops, as a metric and, for a failure, the P2. --dry-run
prints the invocation and makes none; against the emulator a real run refuses in one line.
"""

from __future__ import annotations

import argparse
import json

from ops.core import Command, Context, OpsError, invoke

# The function's 60 seconds and a little.
READ_TIMEOUT = 70


def train(ctx: Context, args: argparse.Namespace) -> None:
    names = ctx.names
    function = names.training_function
    answer = invoke(
        ctx,
        unit="services",
        function=function,
        payload={"action": "start"},
        read_timeout=READ_TIMEOUT,
        cannot_run_here=" and starts no task",
        command="make train",
    )
    if ctx.dry_run:
        return
    logs = names.service_log_group("ml-service")
    if isinstance(answer, dict) and answer.get("started"):
        task = str(answer["started"])
        ctx.out(f"started {task}")
        # The service's task definition logs as the service does: stream ml-service/ml-service/ID.
        stream = f"ml-service/ml-service/{task.rsplit('/', 1)[-1]}"
        ctx.out(f"follow it: aws logs tail {logs} --follow --log-stream-names {stream}")
        ctx.out(f"its outcome, when it stops: aws logs tail /aws/lambda/{function} --since 1d")
        return
    if isinstance(answer, dict) and answer.get("skipped"):
        going = ", ".join(str(task) for task in answer["skipped"])
        stopped = answer.get("stopped") or []
        ctx.out(f"not started: a run is still going ({going})")
        if stopped:
            ctx.out(f"stopped past its limit: {', '.join(str(task) for task in stopped)}")
        return
    if isinstance(answer, dict) and answer.get("failed"):
        raise OpsError(
            f"{function} could not start a run: {answer.get('reason')}; it is recorded as a failed run"
        )
    raise OpsError(f"{function} answered {json.dumps(answer)[:200]}: no run started")


COMMANDS = (
    Command(
        "train",
        "Start the ml-service's training now (the scheduled function; never beside a run still going)",
        train,
    ),
)
