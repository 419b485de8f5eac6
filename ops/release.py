"""The runbook's "Deployment Procedures": the Pre-Deployment Checklist's backup, the production
blue/green deployment's approval and status, restarts, and "Rollback Procedures".

    python -m ops predeploy-check --env production [--allow-stale-backup REASON] [--dry-run]
    python -m ops approve         --env production [--service bot|ml-service] [--dry-run]
    python -m ops rollback        --env production [--service bot|ml-service|data-ingestion] [--dry-run]
    python -m ops deploy-status   --env production
    python -m ops restart         --env production --service bot|ml-service|data-ingestion [--dry-run]
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from config.model import SERVICES
from config.services import BLUE_GREEN_SERVICES
from ops.core import (
    IN_FLIGHT,
    ROLLING_BACK,
    Call,
    Command,
    Context,
    Flag,
    OpsError,
    approval_value,
    approve_revision,
    create_snapshot,
    db_instance,
    describe_deployments,
    describe_services,
    error_code,
    flag,
    newest,
    redeploy,
    require_services,
    revision_task_definitions,
    service_deployments,
    short,
    stack_outputs,
    start_deployments,
    status_hint,
    target_revision,
    timestamp,
    when,
)

# Successful deployments a rollback looks back through for the previous release.
ROLLBACK_HISTORY = 20
# Runbook: the daily automated backup must be recent before a production deployment.
MAX_BACKUP_AGE = timedelta(hours=26)
_HOURS = f"{MAX_BACKUP_AGE.total_seconds() / 3600:g}"


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


def _ongoing(ctx: Context, service: str) -> dict[str, Any] | None:
    """The newest deployment in flight or rolling back."""
    return newest(service_deployments(ctx, service, [*IN_FLIGHT, *ROLLING_BACK]))


# --- predeploy-check ---------------------------------------------------------------------


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"


def _dr_in_service(ctx: Context) -> str | None:
    """The DR region's services that run (after make dr-failover), as `bot 2, ...`; None when
    the pilot light is dark or not deployed."""
    dr = ctx.config.disaster_recovery
    if dr is None:
        return None
    try:
        described = ctx.regional_clients(dr.region)("ecs").describe_services(
            cluster=ctx.names.cluster, services=list(SERVICES)
        )["services"]
    except ClientError as error:
        if error_code(error) == "ClusterNotFoundException":
            return None
        raise
    running = [
        f"{s['serviceName']} {s['desiredCount']}"
        for s in described
        if s.get("status") == "ACTIVE" and s.get("desiredCount", 0) > 0
    ]
    return ", ".join(running) or None


def predeploy_check(ctx: Context, args: argparse.Namespace) -> None:
    """Runbook pre-deployment: a recent automated backup, then a manual snapshot to return to;
    never while production runs in its DR region (the deploy would set the pilot light to 0)."""
    running = _dr_in_service(ctx)
    if running is not None:
        dr = ctx.config.disaster_recovery
        assert dr is not None
        raise OpsError(
            f"{ctx.env} runs in {dr.region} since a failover ({running} in cluster {ctx.names.cluster}): "
            f"this deploy would set {ctx.names.stack('services', dr=True)} back to 0 tasks; "
            "run make dr-failback first, then deploy"
        )
    rds = ctx.clients("rds")
    instance = db_instance(ctx)["DBInstanceIdentifier"]  # the data stack must be deployed
    now = ctx.now()
    snapshots = [
        s
        for page in rds.get_paginator("describe_db_snapshots").paginate(
            DBInstanceIdentifier=instance, SnapshotType="automated"
        )
        for s in page.get("DBSnapshots", [])
        if s.get("Status") == "available" and s.get("SnapshotCreateTime")
    ]
    latest = newest(snapshots, "SnapshotCreateTime")
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
    taken = {
        s["DBSnapshotIdentifier"]
        for page in rds.get_paginator("describe_db_snapshots").paginate(
            DBInstanceIdentifier=instance, SnapshotType="manual"
        )
        for s in page.get("DBSnapshots", [])
    }
    attempt = 1
    while (snapshot := ctx.names.predeploy_snapshot(f"{now:%Y%m%d-%H%M%S}", attempt)) in taken:
        attempt += 1
    create_snapshot(ctx, instance, snapshot, purpose="predeploy", then="; ready to deploy")


# --- approve and rollback ----------------------------------------------------------------


def approve(ctx: Context, args: argparse.Namespace) -> None:
    """Write the in-flight deployments' green revisions into their approval parameters."""
    services = _selected(args, BLUE_GREEN_SERVICES, BLUE_GREEN_SERVICES)
    approvals: list[tuple[str, str]] = []
    in_flight = 0
    for service in services:
        current = approval_value(ctx, service)
        if current is None:
            stack_outputs(ctx, "services")  # an undeployed stack is named as such, not as "gate off"
            raise OpsError(
                f"the approval gate is off in {ctx.env}: "
                f"{ctx.names.approval_parameter(service)} does not exist"
            )
        deployment = newest(service_deployments(ctx, service, IN_FLIGHT))
        if deployment is None:
            ctx.out(f"{service}: no deployment in flight")
            continue
        in_flight += 1
        revision = target_revision(ctx, deployment)
        if current == revision:
            ctx.out(f"{service}: {revision} is already approved")
            continue
        approvals.append((service, revision))
    if not in_flight:
        raise OpsError(
            f"no deployment of {' or '.join(services)} is in flight in {ctx.env}; nothing to approve"
        )
    for service, revision in approvals:
        approve_revision(ctx, service, revision)
        ctx.out(f"{service}: {'would approve' if ctx.dry_run else 'approved'} {revision}")


def _revision_number(task_definition: str) -> tuple[str, int]:
    family, _, number = short(task_definition).rpartition(":")
    return family, int(number) if number.isdigit() else -1


def _previous_release(ctx: Context, service: str, running: str) -> str:
    """The newest revision of `running`'s family, older than it, that a successful deployment
    ran (as its target, or as the source it replaced). Older, not just other: a restart's
    deployment redeploys the running revision, and a second rollback goes one more release
    back instead of forward again to the one just rolled back."""
    family, number = _revision_number(running)
    succeeded = sorted(
        service_deployments(ctx, service, ["SUCCESSFUL"]),
        key=lambda d: timestamp(d.get("createdAt")),
        reverse=True,
    )[:ROLLBACK_HISTORY]
    revisions: list[str] = []  # newest first
    for deployment in describe_deployments(ctx, [d["serviceDeploymentArn"] for d in succeeded]):
        revisions += [(deployment.get("targetServiceRevision") or {}).get("arn", "")]
        revisions += [source.get("arn", "") for source in deployment.get("sourceServiceRevisions") or []]
    ran = revision_task_definitions(ctx, [r for r in dict.fromkeys(revisions) if r])
    for revision in revisions:
        task_definition = ran.get(revision, "")
        name, older = _revision_number(task_definition)
        if name == family and 0 <= older < number:
            return task_definition
    raise OpsError(
        f"nothing to roll back to for {service}: no successful deployment on record ran a revision "
        f"of {family} older than {number}"
    )


def _previous_revision_of_family(ctx: Context, current: str) -> str:
    """data-ingestion (rolling): the newest ACTIVE revision of the family older than `current`."""
    family, _, number = short(current).rpartition(":")
    ecs = ctx.clients("ecs")
    older: list[tuple[int, str]] = []
    for page in ecs.get_paginator("list_task_definitions").paginate(
        familyPrefix=family, status="ACTIVE", sort="DESC"
    ):
        for arn in page.get("taskDefinitionArns", []):
            name, _, revision = short(arn).rpartition(":")
            if name == family and revision.isdigit() and int(revision) < int(number):
                older.append((int(revision), arn))
    if not older:
        raise OpsError(f"nothing to roll back to for {family}: no active revision older than {number}")
    return max(older)[1]


def rollback(ctx: Context, args: argparse.Namespace) -> None:
    """Runbook rollback: stop an in-flight deployment with rollback, else redeploy the previous revision."""
    services = _selected(args, SERVICES, BLUE_GREEN_SERVICES)
    current = require_services(ctx, services)
    stops: list[tuple[str, Call, str]] = []
    updates: list[tuple[str, Call, str]] = []
    for service in services:  # plan everything first: refuse before changing anything
        deployment = _ongoing(ctx, service) if service in BLUE_GREEN_SERVICES else None
        if deployment is not None:
            arn, status = deployment["serviceDeploymentArn"], deployment.get("status")
            if status in ROLLING_BACK:  # a second rollback on top would start yet another deployment
                ctx.out(f"{service}: deployment {short(arn)} is already rolling back ({status})")
                continue
            call = Call("ecs", "StopServiceDeployment", {"serviceDeploymentArn": arn, "stopType": "ROLLBACK"})
            stops.append((service, call, f"stop deployment {short(arn)} with rollback"))
            continue
        running = str(current[service]["taskDefinition"])
        if service in BLUE_GREEN_SERVICES:
            previous = _previous_release(ctx, service, running)
        else:
            previous = _previous_revision_of_family(ctx, running)
        status = ctx.clients("ecs").describe_task_definition(taskDefinition=previous)["taskDefinition"][
            "status"
        ]
        if status != "ACTIVE":  # ECS runs no INACTIVE revision ("TaskDefinition is inactive")
            raise OpsError(
                f"cannot roll back {service} to {short(previous)}: it is {status}; deploy the previous "
                f"release instead: make deploy-{ctx.env} IMAGE_TAG=<the previous tag>"
            )
        call = Call(
            "ecs",
            "UpdateService",
            {"cluster": ctx.names.cluster, "service": service, "taskDefinition": previous},
        )
        updates.append((service, call, f"redeploy {short(previous)} in place of {short(running)}"))
    for service, call, what in stops:
        ctx.run(call)
        ctx.out(f"{service}: {'would ' if ctx.dry_run else 'requested: '}{what}")
    start_deployments(ctx, updates)
    ctx.out(status_hint(ctx))


# --- status and restart --------------------------------------------------------------------


def deploy_status(ctx: Context, args: argparse.Namespace) -> None:
    """One block per service: counts, task definition, latest deployment, approval value."""
    found = describe_services(ctx, SERVICES)
    for service in SERVICES:
        described = found.get(service)
        if described is None:
            ctx.out(f"{service}: not found in cluster {ctx.names.cluster}")
            continue
        ctx.out(
            f"{service}: {described.get('status')}, desired {described.get('desiredCount', 0)}, "
            f"running {described.get('runningCount', 0)}, pending {described.get('pendingCount', 0)}"
        )
        ctx.out(f"  task definition: {short(str(described.get('taskDefinition', '-')))}")
        if service not in BLUE_GREEN_SERVICES:
            continue
        latest = newest(service_deployments(ctx, service))
        if latest is None:
            ctx.out("  deployment: none on record")
        else:
            detail = describe_deployments(ctx, [latest["serviceDeploymentArn"]])[0]
            stage = detail.get("lifecycleStage") or latest.get("lifecycleStage")
            status = detail.get("status") or latest.get("status")
            created = detail.get("createdAt") or latest.get("createdAt")
            ctx.out(
                f"  deployment: {status}{f' at {stage}' if stage else ''}, created {when(created)} "
                f"({short(latest['serviceDeploymentArn'])})"
            )
        approved = approval_value(ctx, service)
        if approved is not None:
            ctx.out(f"  approved revision: {approved}")


def restart(ctx: Context, args: argparse.Namespace) -> None:
    """A new deployment of one service with its current task definition."""
    if not (args.service or "").strip():
        raise OpsError(f"SERVICE is required: one of {', '.join(SERVICES)}")
    (service,) = _selected(args, SERVICES, ())
    require_services(ctx, (service,))
    start_deployments(ctx, [(service, redeploy(ctx, service), "restart with its task definition")])
    ctx.out(status_hint(ctx))


def _service_flag(text: str) -> Flag:
    # No `choices`: the Makefile passes an empty --service when SERVICE is unset.
    return flag("--service", help=text)


COMMANDS = (
    Command(
        "predeploy-check",
        f"Latest automated backup under {_HOURS} hours old, then a pre-deployment snapshot",
        predeploy_check,
        (
            flag(
                "--allow-stale-backup",
                metavar="REASON",
                help=f"deploy although the last automated snapshot is over {_HOURS} hours old (logged)",
            ),
        ),
    ),
    Command(
        "approve",
        "Approve the in-flight blue/green deployment(s) (production's approval gate)",
        approve,
        (_service_flag(f"one of {', '.join(BLUE_GREEN_SERVICES)} (default: all of them)"),),
    ),
    Command(
        "rollback",
        "Stop the in-flight deployment with rollback, or redeploy the previous revision",
        rollback,
        (_service_flag(f"one of {', '.join(SERVICES)} (default: {', '.join(BLUE_GREEN_SERVICES)})"),),
    ),
    Command(
        "deploy-status",
        "Services, counts, task definitions, latest deployment and approval state",
        deploy_status,
    ),
    Command(
        "restart",
        "Force a new deployment of one service",
        restart,
        (_service_flag(f"one of {', '.join(SERVICES)}"),),
    ),
)
