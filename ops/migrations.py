"""The runbook's "Database Migration Procedures" (Deployment Procedures).

python -m ops db-migrate          --env production [--dry-run]
python -m ops db-migration-status --env production
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from config.names import MIGRATION_SERVICE
from ops.core import Call, Command, Context, OpsError, error_code, short, stack_outputs, timestamp, when

MIGRATION_STARTED_BY = "make-db-migrate"
MIGRATION_POLL_SECONDS = 6.0
MIGRATION_TIMEOUT = timedelta(minutes=60)
MIGRATION_LOG_LINES = 20


def _print_events(ctx: Context, events: list[dict[str, Any]]) -> None:
    for event in events:
        ctx.out(f"| {event.get('message', '').rstrip()}")


def _follow(ctx: Context, stream: str, token: str | None) -> str | None:
    """Print the stream's events after `token`; returns the token to continue from."""
    logs = ctx.clients("logs")
    for _ in range(1000):  # pages of up to 10,000 events; the bound only guards a looping token
        params: dict[str, Any] = {
            "logGroupName": ctx.names.migration_log_group,
            "logStreamName": stream,
            "startFromHead": True,
        }
        if token:
            params["nextToken"] = token
        try:
            page = logs.get_log_events(**params)
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":  # the stream appears once the task starts
                return token
            raise
        _print_events(ctx, page.get("events", []))
        following = page.get("nextForwardToken")
        if not page.get("events") or following in (None, token):
            return following or token
        token = following
    return token


def _exit_code(task: dict[str, Any], container: str) -> int | None:
    """`container`'s exit code: the task also runs a short-lived container that prepares /tmp."""
    for described in task.get("containers", []):
        if described.get("name") == container:
            code = described.get("exitCode")
            return None if code is None else int(code)
    return None


def db_migrate(ctx: Context, args: argparse.Namespace) -> None:
    """Runbook: run the migration task, follow its log, and report its exit code."""
    outputs = stack_outputs(ctx, "services")
    # The private subnets are the network stack's own output (re-exporting them from the
    # services stack would only pass an import through).
    subnets = stack_outputs(ctx, "network")["PrivateSubnetIds"]
    cluster, container = outputs.get("ClusterName", ctx.names.cluster), outputs["MigrationContainer"]
    family, task_definition = outputs["MigrationTaskFamily"], outputs["MigrationTaskDefinition"]
    started = ctx.run(
        Call(
            "ecs",
            "RunTask",
            {
                "cluster": cluster,
                "taskDefinition": task_definition,
                "launchType": "FARGATE",
                "startedBy": MIGRATION_STARTED_BY,
                "networkConfiguration": {
                    "awsvpcConfiguration": {
                        "subnets": [s for s in subnets.split(",") if s],
                        "securityGroups": [g for g in outputs["MigrationSecurityGroups"].split(",") if g],
                        "assignPublicIp": "DISABLED",
                    }
                },
            },
        )
    )
    if ctx.dry_run:
        return
    if started.get("failures") or not started.get("tasks"):
        reasons = [f"{f.get('arn', family)}: {f.get('reason')}" for f in started.get("failures", [])]
        raise OpsError(f"RunTask did not start {family}: {'; '.join(reasons) or 'no task returned'}")
    task_arn = str(started["tasks"][0]["taskArn"])
    task_id = short(task_arn)
    stream = ctx.names.migration_log_stream(container, task_id)
    ctx.out(f"started migration task {task_id}; following {ctx.names.migration_log_group} {stream}")
    ecs = ctx.clients("ecs")
    deadline = ctx.now() + MIGRATION_TIMEOUT
    token: str | None = None
    while True:
        ctx.sleep(MIGRATION_POLL_SECONDS)
        token = _follow(ctx, stream, token)
        (task,) = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"]
        if task.get("lastStatus") == "STOPPED":
            break
        if ctx.now() >= deadline:
            raise OpsError(
                f"migration task {task_id} still {task.get('lastStatus')} after "
                f"{int(MIGRATION_TIMEOUT.total_seconds() // 60)} minutes; it keeps running: "
                f"make db-migration-status ENV={ctx.env}"
            )
    _follow(ctx, stream, token)  # what arrived between the last poll and the stop
    code = _exit_code(task, container)
    if code is None:
        raise OpsError(f"migration task {task_id} stopped without an exit code: {task.get('stoppedReason')}")
    if code != 0:
        raise OpsError(f"migration task {task_id} exited with code {code}")
    ctx.out(f"migration task {task_id} succeeded (exit code 0)")


def db_migration_status(ctx: Context, args: argparse.Namespace) -> None:
    """The migration tasks ECS still remembers, newest first, and the newest one's last log lines."""
    ecs = ctx.clients("ecs")
    cluster = ctx.names.cluster
    arns: list[str] = []
    for status in ("RUNNING", "STOPPED"):
        for page in ecs.get_paginator("list_tasks").paginate(
            cluster=cluster, startedBy=MIGRATION_STARTED_BY, desiredStatus=status
        ):
            arns += [a for a in page.get("taskArns", []) if a not in arns]
    tasks: list[dict[str, Any]] = []
    for start in range(0, len(arns), 100):
        tasks += ecs.describe_tasks(cluster=cluster, tasks=arns[start : start + 100]).get("tasks", [])
    if not tasks:
        ctx.out(f"no migration has run in {ctx.env} (ECS keeps stopped tasks for about an hour)")
        return
    tasks.sort(key=lambda t: timestamp(t.get("createdAt") or t.get("startedAt")), reverse=True)
    for task in tasks:
        code = _exit_code(task, MIGRATION_SERVICE)
        ctx.out(
            f"{short(task['taskArn'])}  {task.get('lastStatus')}  exit {'-' if code is None else code}  "
            f"started {when(task.get('startedAt'))}  stopped {when(task.get('stoppedAt'))}"
        )
    newest = tasks[0]
    task_id = short(newest["taskArn"])
    group = ctx.names.migration_log_group
    stream = ctx.names.migration_log_stream(MIGRATION_SERVICE, task_id)
    try:
        events = ctx.clients("logs").get_log_events(
            logGroupName=group, logStreamName=stream, startFromHead=False, limit=MIGRATION_LOG_LINES
        )["events"]
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
        ctx.out(f"no log stream {stream} yet")
        return
    ctx.out(f"last {len(events)} log lines of {task_id} ({group} {stream}):")
    _print_events(ctx, events)


COMMANDS = (
    Command("db-migrate", "Run the migration task, stream its log, exit with its exit code", db_migrate),
    Command(
        "db-migration-status",
        "Recent migration tasks, their exit codes and the newest one's log",
        db_migration_status,
    ),
)
