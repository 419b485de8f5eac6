"""Deployment commands from the runbook's Production Deployment and Rollback sections.

    python -m ops predeploy-check      --env production [--allow-stale-backup REASON] [--dry-run]
    python -m ops approve              --env production [--service bot|ml-service] [--dry-run]
    python -m ops rollback             --env production [--service bot|ml-service|data-ingestion] [--dry-run]
    python -m ops deploy-status        --env production
    python -m ops maintenance-on       --env production [--dry-run]
    python -m ops maintenance-off      --env production [--dry-run]
    python -m ops config-update        --env production --file config.json [--dry-run]
    python -m ops restart              --env production --service bot|ml-service|data-ingestion [--dry-run]
    python -m ops smoke-test           --env production [--url https://...]
    python -m ops db-migrate           --env production [--dry-run]
    python -m ops db-migration-status  --env production

Like ops/cli.py's commands: read-only calls are made directly, every change goes through
Context.run (so --dry-run prints it as an `aws` command line instead), refusals are OpsError.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from config.environments import load
from config.model import SERVICES, SmokeCheck
from config.names import MIGRATION_STREAM_PREFIX
from lambdas.deployment_hook import smoke
from ops.cli import COMMANDS, Call, Context, OpsError, _stack_outputs, create_snapshot

# Runbook: the daily automated backup must be recent before a production deployment.
MAX_BACKUP_AGE = timedelta(hours=26)
BLUE_GREEN = ("bot", "ml-service")
IN_FLIGHT = ["PENDING", "IN_PROGRESS"]
MIGRATION_STARTED_BY = "make-db-migrate"
MIGRATION_POLL_SECONDS = 6.0
MIGRATION_TIMEOUT = timedelta(minutes=60)
MIGRATION_LOG_LINES = 20
MAINTENANCE_PRIORITY = "1"
MAINTENANCE_BODY = json.dumps({"status": "maintenance"}, separators=(",", ":"))


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _hint(ctx: Context) -> str:
    return f"follow it with: make deploy-status ENV={ctx.env}"


def _approval_parameter(ctx: Context, service: str) -> str:
    return ctx.names.approval_parameter(service)


def _approval_value(ctx: Context, service: str) -> str | None:
    """The approval parameter's value; None where the approval gate is off (no parameter)."""
    try:
        value = ctx.clients("ssm").get_parameter(Name=_approval_parameter(ctx, service))
    except ClientError as error:
        if _code(error) == "ParameterNotFound":
            return None
        raise
    return str(value["Parameter"]["Value"])


def _selected(
    args: argparse.Namespace, allowed: tuple[str, ...], default: tuple[str, ...]
) -> tuple[str, ...]:
    """--service (empty when the Makefile passes SERVICE unset) or the default services."""
    service = (args.service or "").strip()
    if not service:
        return default
    if service not in allowed:
        raise OpsError(f"unknown service {service!r}; expected one of {', '.join(allowed)}")
    return (service,)


def _short(arn: str) -> str:
    """The last path element of an ARN: a task id, `family:revision`, a revision id."""
    return arn.rsplit("/", 1)[-1]


def _newest(items: Iterable[dict[str, Any]], key: str = "createdAt") -> dict[str, Any] | None:
    ordered = sorted(items, key=lambda item: _timestamp(item.get(key)), reverse=True)
    return ordered[0] if ordered else None


def _timestamp(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float("-inf")


def _when(value: Any) -> str:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else "-"


def _service_deployments(
    ctx: Context, service: str, status: list[str] | None = None
) -> Iterator[dict[str, Any]]:
    ecs = ctx.clients("ecs")
    params: dict[str, Any] = {"cluster": ctx.prefix, "service": service}
    if status:
        params["status"] = status
    while True:
        page = ecs.list_service_deployments(**params)
        yield from page.get("serviceDeployments", [])
        if not page.get("nextToken"):
            return
        params["nextToken"] = page["nextToken"]


def _describe_deployment(ctx: Context, arn: str) -> dict[str, Any]:
    described = ctx.clients("ecs").describe_service_deployments(serviceDeploymentArns=[arn])
    deployments: list[dict[str, Any]] = described.get("serviceDeployments", [])
    if not deployments:
        raise OpsError(f"cannot describe service deployment {arn}: {described.get('failures')}")
    return deployments[0]


def _in_flight(ctx: Context, service: str) -> dict[str, Any] | None:
    return _newest(_service_deployments(ctx, service, IN_FLIGHT))


def _describe_services(ctx: Context, services: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Name -> description of the services that exist in the cluster."""
    described = ctx.clients("ecs").describe_services(cluster=ctx.prefix, services=list(services))
    return {s["serviceName"]: s for s in described.get("services", []) if s.get("status") != "INACTIVE"}


def _require_services(ctx: Context, services: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    found = _describe_services(ctx, services)
    missing = [s for s in services if s not in found]
    if missing:
        raise OpsError(f"service {', '.join(missing)} not found in cluster {ctx.prefix}")
    return found


def _redeploy(ctx: Context, service: str) -> None:
    ctx.run(
        Call("ecs", "UpdateService", {"cluster": ctx.prefix, "service": service, "forceNewDeployment": True})
    )


# --- predeploy-check ---------------------------------------------------------------------


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"


def predeploy_check(ctx: Context, args: argparse.Namespace) -> None:
    """Runbook pre-deployment: a recent automated backup, then a manual snapshot to return to."""
    rds = ctx.clients("rds")
    instance = ctx.prefix
    now = ctx.now()
    snapshots = [
        s
        for page in rds.get_paginator("describe_db_snapshots").paginate(
            DBInstanceIdentifier=instance, SnapshotType="automated"
        )
        for s in page.get("DBSnapshots", [])
        if s.get("Status") == "available" and s.get("SnapshotCreateTime")
    ]
    latest = _newest(snapshots, "SnapshotCreateTime")
    if latest is None:
        stale = f"{instance} has no automated snapshot"
    else:
        age = now - latest["SnapshotCreateTime"]
        stale = (
            f"the latest automated snapshot of {instance} ({latest['DBSnapshotIdentifier']}) is "
            f"{_age(age)} old, over the {_age(MAX_BACKUP_AGE)} limit"
            if age >= MAX_BACKUP_AGE
            else ""
        )
        if not stale:
            ctx.out(f"latest automated snapshot {latest['DBSnapshotIdentifier']} is {_age(age)} old: ok")
    if stale:
        reason = (args.allow_stale_backup or "").strip()
        if not reason:
            raise OpsError(f"{stale}; fix the backups or pass --allow-stale-backup REASON")
        caller = ctx.clients("sts").get_caller_identity()["Arn"]
        print(
            f"OVERRIDE: {stale}; deploying anyway by {caller}, reason: {reason}",
            file=sys.stderr,
            flush=True,
        )
    snapshot = f"{instance}-predeploy-{now:%Y%m%d-%H%M}"
    create_snapshot(ctx, instance, snapshot, purpose="predeploy", then="; ready to deploy")


# --- approve and rollback ----------------------------------------------------------------


def approve(ctx: Context, args: argparse.Namespace) -> None:
    """Write the in-flight deployments' green revisions into their approval parameters."""
    services = _selected(args, BLUE_GREEN, BLUE_GREEN)
    approvals: list[tuple[str, str]] = []
    in_flight = 0
    for service in services:
        current = _approval_value(ctx, service)
        if current is None:
            raise OpsError(
                f"the approval gate is off in {ctx.env}: {_approval_parameter(ctx, service)} does not exist"
            )
        deployment = _in_flight(ctx, service)
        if deployment is None:
            ctx.out(f"{service}: no deployment in flight")
            continue
        in_flight += 1
        revision = deployment.get("targetServiceRevisionArn") or (
            _describe_deployment(ctx, deployment["serviceDeploymentArn"]).get("targetServiceRevision", {})
        ).get("arn")
        if not revision:
            raise OpsError(
                f"{service}: deployment {deployment['serviceDeploymentArn']} has no target revision"
            )
        if current == revision:
            ctx.out(f"{service}: {revision} is already approved")
            continue
        approvals.append((service, revision))
    if not in_flight:
        raise OpsError(
            f"no deployment of {' or '.join(services)} is in flight in {ctx.env}; nothing to approve"
        )
    for service, revision in approvals:
        ctx.run(
            Call(
                "ssm",
                "PutParameter",
                {
                    "Name": _approval_parameter(ctx, service),
                    "Value": revision,
                    "Type": "String",
                    "Overwrite": True,
                },
            )
        )
        ctx.out(f"{service}: {'would approve' if ctx.dry_run else 'approved'} {revision}")


def _previous_task_definition(ctx: Context, service: str) -> str:
    """The task definition the newest successful blue/green deployment replaced."""
    succeeded = _newest(_service_deployments(ctx, service, ["SUCCESSFUL"]))
    if succeeded is None:
        raise OpsError(f"nothing to roll back to for {service}: no successful deployment on record")
    sources = _describe_deployment(ctx, succeeded["serviceDeploymentArn"]).get("sourceServiceRevisions") or []
    if not sources:
        raise OpsError(
            f"nothing to roll back to for {service}: its last deployment "
            f"{_short(succeeded['serviceDeploymentArn'])} had no earlier revision"
        )
    described = ctx.clients("ecs").describe_service_revisions(serviceRevisionArns=[sources[0]["arn"]])
    revisions = described.get("serviceRevisions", [])
    if not revisions:
        raise OpsError(f"cannot describe service revision {sources[0]['arn']}: {described.get('failures')}")
    return str(revisions[0]["taskDefinition"])


def _previous_revision_of_family(ctx: Context, current: str) -> str:
    """data-ingestion (rolling): the newest ACTIVE revision of the family older than `current`."""
    family, _, number = _short(current).rpartition(":")
    ecs = ctx.clients("ecs")
    older: list[tuple[int, str]] = []
    for page in ecs.get_paginator("list_task_definitions").paginate(
        familyPrefix=family, status="ACTIVE", sort="DESC"
    ):
        for arn in page.get("taskDefinitionArns", []):
            name, _, revision = _short(arn).rpartition(":")
            if name == family and revision.isdigit() and int(revision) < int(number):
                older.append((int(revision), arn))
    if not older:
        raise OpsError(f"nothing to roll back to for {family}: no active revision older than {number}")
    return max(older)[1]


def rollback(ctx: Context, args: argparse.Namespace) -> None:
    """Runbook rollback: stop an in-flight deployment with rollback, else redeploy the previous revision."""
    services = _selected(args, SERVICES, BLUE_GREEN)
    current = _require_services(ctx, services)
    plans: list[tuple[str, Call, str]] = []
    for service in services:  # plan everything first: refuse before changing anything
        deployment = _in_flight(ctx, service) if service in BLUE_GREEN else None
        if deployment is not None:
            arn = deployment["serviceDeploymentArn"]
            call = Call("ecs", "StopServiceDeployment", {"serviceDeploymentArn": arn, "stopType": "ROLLBACK"})
            plans.append((service, call, f"stop deployment {_short(arn)} with rollback"))
            continue
        running = str(current[service]["taskDefinition"])
        if service in BLUE_GREEN:
            previous = _previous_task_definition(ctx, service)
        else:
            previous = _previous_revision_of_family(ctx, running)
        if _short(previous) == _short(running):
            raise OpsError(f"nothing to roll back to for {service}: it already runs {_short(running)}")
        call = Call(
            "ecs", "UpdateService", {"cluster": ctx.prefix, "service": service, "taskDefinition": previous}
        )
        plans.append((service, call, f"redeploy {_short(previous)} in place of {_short(running)}"))
    for service, call, what in plans:
        ctx.run(call)
        ctx.out(f"{service}: {'would ' if ctx.dry_run else 'requested: '}{what}")
    ctx.out(_hint(ctx))


# --- status, maintenance, config, restart -------------------------------------------------


def deploy_status(ctx: Context, args: argparse.Namespace) -> None:
    """One block per service: counts, task definition, latest deployment, approval value."""
    found = _describe_services(ctx, SERVICES)
    for service in SERVICES:
        described = found.get(service)
        if described is None:
            ctx.out(f"{service}: not found in cluster {ctx.prefix}")
            continue
        ctx.out(
            f"{service}: {described.get('status')}, desired {described.get('desiredCount', 0)}, "
            f"running {described.get('runningCount', 0)}, pending {described.get('pendingCount', 0)}"
        )
        ctx.out(f"  task definition: {_short(str(described.get('taskDefinition', '-')))}")
        if service not in BLUE_GREEN:
            continue
        latest = _newest(_service_deployments(ctx, service))
        if latest is None:
            ctx.out("  deployment: none on record")
        else:
            detail = _describe_deployment(ctx, latest["serviceDeploymentArn"])
            stage = detail.get("lifecycleStage") or latest.get("lifecycleStage")
            status = detail.get("status") or latest.get("status")
            created = detail.get("createdAt") or latest.get("createdAt")
            ctx.out(
                f"  deployment: {status}{f' at {stage}' if stage else ''}, created {_when(created)} "
                f"({_short(latest['serviceDeploymentArn'])})"
            )
        approved = _approval_value(ctx, service)
        if approved is not None:
            ctx.out(f"  approved revision: {approved}")


def _maintenance_rule(ctx: Context, listener: str) -> dict[str, Any] | None:
    elbv2 = ctx.clients("elbv2")
    params: dict[str, Any] = {"ListenerArn": listener}
    while True:
        page = elbv2.describe_rules(**params)
        for rule in page.get("Rules", []):
            if str(rule.get("Priority")) == MAINTENANCE_PRIORITY:
                return dict(rule)
        if not page.get("NextMarker"):
            return None
        params["Marker"] = page["NextMarker"]


def _is_fixed_response(rule: dict[str, Any]) -> bool:
    actions = rule.get("Actions", [])
    return bool(actions) and all(a.get("Type") == "fixed-response" for a in actions)


def maintenance_on(ctx: Context, args: argparse.Namespace) -> None:
    """A priority-1 fixed-response 503 rule in front of the production rule (ECS owns that one)."""
    listener = _stack_outputs(ctx, "services")["ProductionListenerArn"]
    rule = _maintenance_rule(ctx, listener)
    if rule is not None:
        if not _is_fixed_response(rule):
            raise OpsError(
                f"priority {MAINTENANCE_PRIORITY} on the production listener is taken by a non-maintenance "
                f"rule ({rule.get('RuleArn')}); refusing to touch it"
            )
        ctx.out(f"maintenance mode is already on in {ctx.env}")
        return
    ctx.run(
        Call(
            "elbv2",
            "CreateRule",
            {
                "ListenerArn": listener,
                "Priority": int(MAINTENANCE_PRIORITY),
                "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}],
                "Actions": [
                    {
                        "Type": "fixed-response",
                        "FixedResponseConfig": {
                            "StatusCode": "503",
                            "ContentType": "application/json",
                            "MessageBody": MAINTENANCE_BODY,
                        },
                    }
                ],
                "Tags": [{"Key": "Purpose", "Value": "maintenance"}],
            },
        )
    )
    if not ctx.dry_run:
        ctx.out(f"maintenance mode is on in {ctx.env}: every request is answered 503 {MAINTENANCE_BODY}")


def maintenance_off(ctx: Context, args: argparse.Namespace) -> None:
    """Delete the priority-1 rule, and only when it is the fixed-response maintenance rule."""
    listener = _stack_outputs(ctx, "services")["ProductionListenerArn"]
    rule = _maintenance_rule(ctx, listener)
    if rule is None or not _is_fixed_response(rule):
        ctx.out(f"maintenance mode is already off in {ctx.env}")
        return
    ctx.run(Call("elbv2", "DeleteRule", {"RuleArn": rule["RuleArn"]}))
    if not ctx.dry_run:
        ctx.out(f"maintenance mode is off in {ctx.env}")


def config_update(ctx: Context, args: argparse.Namespace) -> None:
    """Replace the config secret, then restart all three services so they read it."""
    if not args.file:
        raise OpsError("FILE is required: a JSON object with the new configuration")
    try:
        value = json.loads(Path(args.file).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise OpsError(f"cannot read {args.file}: {error}") from None
    if not isinstance(value, dict):
        raise OpsError(f"{args.file} holds a JSON {type(value).__name__}, not an object")
    secret = ctx.names.secret("config")
    ctx.clients("secretsmanager").describe_secret(SecretId=secret)  # fails clearly if missing
    _require_services(ctx, SERVICES)
    ctx.run(
        Call(
            "secretsmanager",
            "UpdateSecret",
            {"SecretId": secret, "SecretString": json.dumps(value, separators=(",", ":"))},
        )
    )
    for service in SERVICES:
        _redeploy(ctx, service)
    ctx.out(_hint(ctx))


def restart(ctx: Context, args: argparse.Namespace) -> None:
    """A new deployment of one service with its current task definition."""
    if not (args.service or "").strip():
        raise OpsError(f"SERVICE is required: one of {', '.join(SERVICES)}")
    (service,) = _selected(args, SERVICES, ())
    _require_services(ctx, (service,))
    _redeploy(ctx, service)
    ctx.out(_hint(ctx))


# --- smoke test ------------------------------------------------------------------------------


def _smoke_check(base_url: str, check: SmokeCheck, timeout: float) -> str | None:
    """None when the check passes, else why it failed: the deployment hook's own check."""
    return smoke.check(base_url, check, timeout, user_agent="clever-better-ops")


def _target_health(ctx: Context, name: str) -> str | None:
    """None when the load balancer has a healthy target and no unhealthy one, else why not."""
    elbv2 = ctx.clients("elbv2")
    try:
        (balancer,) = elbv2.describe_load_balancers(Names=[name])["LoadBalancers"]
    except ClientError as error:
        if _code(error) == "LoadBalancerNotFound":
            return f"load balancer {name}: not found"
        raise
    states: list[str] = []
    groups = elbv2.describe_target_groups(LoadBalancerArn=balancer["LoadBalancerArn"])["TargetGroups"]
    for group in groups:
        health = elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])
        states += [t["TargetHealth"]["State"] for t in health.get("TargetHealthDescriptions", [])]
    healthy, unhealthy = states.count("healthy"), states.count("unhealthy")
    if unhealthy or not healthy:
        return f"load balancer {name}: {healthy} healthy, {unhealthy} unhealthy targets"
    return None


def smoke_test(ctx: Context, args: argparse.Namespace) -> None:
    """The configured smoke checks against the live endpoint, then the load balancers' targets."""
    config = load((ctx.env,))[0]
    url = (args.url or "").strip()
    base = (url or f"https://{config.domain_name}").rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise OpsError(f"--url {url!r} is not an http(s) URL")
    timeout = float(config.deployment.smoke_timeout_seconds)
    failures: list[str] = []
    checks = 0
    for check in config.deployment.smoke_checks:
        checks += 1
        failure = _smoke_check(base, check, timeout)
        ctx.out(f"FAIL {failure}" if failure else f"ok   GET {base}{check.path}: {check.status}")
        failures += [failure] if failure else []
    if not url:
        for name in (ctx.prefix, f"{ctx.prefix}-ml"):
            checks += 1
            failure = _target_health(ctx, name)
            ctx.out(f"FAIL {failure}" if failure else f"ok   load balancer {name}: targets healthy")
            failures += [failure] if failure else []
    if failures:
        raise OpsError(f"{len(failures)} of {checks} smoke checks failed: " + "; ".join(failures))
    ctx.out(f"all {checks} smoke checks passed")


# --- database migrations ---------------------------------------------------------------------


def _log_group(ctx: Context) -> str:
    return ctx.names.service_log_group("bot")


def _log_stream(container: str, task_arn: str) -> str:
    return f"{MIGRATION_STREAM_PREFIX}/{container}/{_short(task_arn)}"


def _follow(ctx: Context, stream: str, token: str | None) -> str | None:
    """Print the stream's events after `token`; returns the token to continue from."""
    logs = ctx.clients("logs")
    for _ in range(1000):  # pages of up to 10,000 events; the bound only guards a looping token
        params: dict[str, Any] = {
            "logGroupName": _log_group(ctx),
            "logStreamName": stream,
            "startFromHead": True,
        }
        if token:
            params["nextToken"] = token
        try:
            page = logs.get_log_events(**params)
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":  # the stream appears once the task starts
                return token
            raise
        for event in page.get("events", []):
            ctx.out(f"| {event.get('message', '').rstrip()}")
        following = page.get("nextForwardToken")
        if not page.get("events") or following in (None, token):
            return following or token
        token = following
    return token


def _exit_code(task: dict[str, Any], container: str | None) -> int | None:
    for described in task.get("containers", []):
        if container is None or described.get("name") == container:
            code = described.get("exitCode")
            return None if code is None else int(code)
    return None


def db_migrate(ctx: Context, args: argparse.Namespace) -> None:
    """Runbook: run the migration task, follow its log, and report its exit code."""
    outputs = _stack_outputs(ctx, "services")
    cluster, container = outputs.get("ClusterName", ctx.prefix), outputs["MigrationContainer"]
    family = outputs["MigrationTaskFamily"]
    started = ctx.run(
        Call(
            "ecs",
            "RunTask",
            {
                "cluster": cluster,
                "taskDefinition": family,
                "launchType": "FARGATE",
                "startedBy": MIGRATION_STARTED_BY,
                "networkConfiguration": {
                    "awsvpcConfiguration": {
                        "subnets": [s for s in outputs["MigrationSubnets"].split(",") if s],
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
    task_id = _short(task_arn)
    stream = _log_stream(container, task_arn)
    ctx.out(f"started migration task {task_id}; following {_log_group(ctx)} {stream}")
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
    arns: list[str] = []
    for status in ("RUNNING", "STOPPED"):
        for page in ecs.get_paginator("list_tasks").paginate(
            cluster=ctx.prefix, startedBy=MIGRATION_STARTED_BY, desiredStatus=status
        ):
            arns += [a for a in page.get("taskArns", []) if a not in arns]
    tasks: list[dict[str, Any]] = []
    for start in range(0, len(arns), 100):
        tasks += ecs.describe_tasks(cluster=ctx.prefix, tasks=arns[start : start + 100]).get("tasks", [])
    if not tasks:
        ctx.out(f"no migration has run in {ctx.env} (ECS keeps stopped tasks for about an hour)")
        return
    tasks.sort(key=lambda t: _timestamp(t.get("createdAt") or t.get("startedAt")), reverse=True)
    for task in tasks:
        code = _exit_code(task, None)
        ctx.out(
            f"{_short(task['taskArn'])}  {task.get('lastStatus')}  exit {'-' if code is None else code}  "
            f"started {_when(task.get('startedAt'))}  stopped {_when(task.get('stoppedAt'))}"
        )
    newest = tasks[0]
    containers = newest.get("containers") or [{}]
    stream = _log_stream(str(containers[0].get("name", "bot")), newest["taskArn"])
    try:
        events = ctx.clients("logs").get_log_events(
            logGroupName=_log_group(ctx), logStreamName=stream, startFromHead=False, limit=MIGRATION_LOG_LINES
        )["events"]
    except ClientError as error:
        if _code(error) != "ResourceNotFoundException":
            raise
        ctx.out(f"no log stream {stream} yet")
        return
    ctx.out(f"last {len(events)} log lines of {_short(newest['taskArn'])} ({_log_group(ctx)} {stream}):")
    for event in events:
        ctx.out(f"| {event.get('message', '').rstrip()}")


DEPLOY_COMMANDS: dict[str, Callable[[Context, argparse.Namespace], None]] = {
    "predeploy-check": predeploy_check,
    "approve": approve,
    "rollback": rollback,
    "deploy-status": deploy_status,
    "maintenance-on": maintenance_on,
    "maintenance-off": maintenance_off,
    "config-update": config_update,
    "restart": restart,
    "smoke-test": smoke_test,
    "db-migrate": db_migrate,
    "db-migration-status": db_migration_status,
}
# ops/cli.py imports this module last; registering here works whichever module is imported first.
COMMANDS.update(DEPLOY_COMMANDS)
