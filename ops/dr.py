"""The runbook's "Disaster Recovery Plan" as one command: production fails over to its DR region.

    python -m ops dr-failover --env production [--dry-run] [--primary-up REASON]

`make dr-failover` is a dry run unless CONFIRM=yes. The steps are the runbook's:

1. assess: does the primary answer; the newest data the DR region holds (the replicated
   automated backups' latest restorable time, the newest DB snapshot copied there by AWS
   Backup or by hand) and so the RPO this failover will have;
2. restore the database in the DR region as `clever-better-prod` and wait;
3. point it: the master password from the DR replica of its secret (a snapshot predating a
   rotation holds an older one), backups as in the primary, and the DR RDS Proxy's target;
4. scale the DR services to production's desired counts and wait until they are stable;
5. verify: the DR load balancer's targets, the smoke checks through it, and the bot image's
   read-only data check (the newest rows reach the recovery point);
6. DNS: with a hosted zone, pin the API name's failover to the DR region (the PRIMARY record's
   switch held unhealthy, the SECONDARY's healthy) and wait until Route 53's checkers see the DR
   load balancer serve; without one, print the record to make.

Each step prints what it did, its duration and the running total. Nothing here changes the
primary region. Every step first looks at what is already there (the restored instance, the
proxy's target, the services' counts), so re-running after an interruption continues where
it stopped.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from config.alarms import dr_disarmed_alarms
from config.model import SERVICES, SmokeCheck
from config.names import (
    DB_ADMIN_USER,
    DR_DATA_KEY_OUTPUT,
    DR_MONITORING_ROLE_OUTPUT,
    FAILOVER_SWITCH_THRESHOLD,
    MIGRATION_SERVICE,
    PRIMARY_PINNED_THRESHOLD,
    SECONDARY_PINNED_THRESHOLD,
)
from lambdas.deployment_hook import smoke
from ops.core import (
    Call,
    Command,
    Context,
    OpsError,
    error_code,
    find_db_instance,
    find_db_snapshot,
    flag,
    newest,
    restore_beside,
    stack_outputs,
    target_states,
    when,
)

# Runbook: RPO 1 hour; restore 30 minutes, deploy 1 hour, RTO 4 hours.
RPO_TARGET = timedelta(hours=1)
RESTORE_TARGET = timedelta(minutes=30)
RTO_TARGET = timedelta(hours=4)
# How long a step waits before it stops and says how to resume.
RESTORE_WAIT = timedelta(hours=2)
PROXY_WAIT = timedelta(minutes=15)
SERVICES_WAIT = timedelta(minutes=30)
POLL_SECONDS = 30.0
# What the failover tags its restored instance with: how a re-run knows what it restored.
PURPOSE = "dr-failover"
# An RDS instance in these states is on its way to `available`: wait for it.
RESTORING = frozenset({"creating", "backing-up", "modifying", "configuring-enhanced-monitoring", "rebooting"})
PROXY_TARGET_READY = "AVAILABLE"
INTEGRITY_WAIT = timedelta(minutes=15)
INTEGRITY_STARTED_BY = "dr-integrity"
# One-off tasks run the bot's image, as migrations do.
CHECK_SERVICE = MIGRATION_SERVICE
ECS_COUNT = "ecs:service:DesiredCount"
ROUTE53_HEALTHY_SHARE = 0.18
# Three failed checks 30 s apart turn an endpoint check; a few more rounds for the checkers.
ROUTE53_WAIT = timedelta(minutes=5)
# Route 53 answers an alias to a load balancer with the load balancer's TTL, 60 s.
ALIAS_TTL_SECONDS = 60.0


@dataclass(frozen=True)
class RecoveryPoint:
    """The newest data the DR region holds: what the restore starts from."""

    kind: str  # "point-in-time" (replicated automated backups) or "snapshot"
    time: datetime
    source: str  # the automated backups' ARN or the snapshot's ARN


def primary_health(url: str, check: SmokeCheck, timeout: float) -> str | None:
    """None when `url` passes the smoke check, else why not (the deployment hook's own probe)."""
    return smoke.probe(url, check, timeout, user_agent="clever-better-ops")


def probe_via(address: str, domain: str, check: SmokeCheck, timeout: float) -> str | None:
    """GET https://{domain}{check.path} from `address` (the DR load balancer), the certificate
    checked for `domain`: the DR region's edge, before DNS points at it."""
    return smoke.probe(f"https://{domain}", check, timeout, user_agent="clever-better-ops", address=address)


@dataclass
class Failover:
    """One run of the procedure: the DR region's clients, the clock, what the steps found."""

    ctx: Context
    region: str
    primary_up: str | None
    started: datetime = field(init=False)
    point: RecoveryPoint | None = None

    def __post_init__(self) -> None:
        self.started = self.ctx.now()
        self.clients = self.ctx.regional_clients(self.region)

    @property
    def names(self) -> Any:
        return self.ctx.names

    def run(self, call: Call) -> Any:
        return self.ctx.run(call, region=self.region)

    def wait(self, what: str, limit: timedelta, done: Callable[[], str | None], resume: str) -> None:
        """Poll `done` (None: not yet; a string: finished, as that line) until `limit`."""
        deadline = self.ctx.now() + limit
        while True:
            result = done()
            if result is not None:
                self.ctx.out(result)
                return
            if self.ctx.now() >= deadline:
                raise OpsError(f"{what} did not finish within {_duration(limit)}; {resume}")
            self.ctx.sleep(POLL_SECONDS)

    def instance(self) -> dict[str, Any] | None:
        return find_db_instance(self.clients("rds"), self.names.db_instance)


def _not_deployed(f: Failover, unit: str = "services") -> str:
    """What to do when the DR region lacks a stack: the services (the pilot light), the data
    stack (the standby and its proxy) or the monitoring stack (the pilot light's alarms)."""
    stack = f.names.stack(unit, dr=True)
    return f"stack {stack} is not deployed; deploy it (make deploy-production) and re-run"


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _tag(instance: dict[str, Any], key: str) -> str | None:
    return next((t["Value"] for t in instance.get("TagList", []) if t["Key"] == key), None)


# --- 1. assess -------------------------------------------------------------------------------------


def _newest_point(f: Failover) -> RecoveryPoint | None:
    rds = f.clients("rds")
    points: list[RecoveryPoint] = []
    replicated = rds.describe_db_instance_automated_backups(DBInstanceIdentifier=f.names.db_instance)
    for backup in replicated.get("DBInstanceAutomatedBackups", []):
        latest = (backup.get("RestoreWindow") or {}).get("LatestTime")
        if latest is not None and backup.get("DBInstanceAutomatedBackupsArn"):
            points.append(RecoveryPoint("point-in-time", latest, backup["DBInstanceAutomatedBackupsArn"]))
    # AWS Backup's copies are RDS snapshots of type `awsbackup`; an operator's copies are manual.
    for snapshot_type in ("awsbackup", "manual"):
        snapshots = rds.describe_db_snapshots(
            DBInstanceIdentifier=f.names.db_instance, SnapshotType=snapshot_type
        )["DBSnapshots"]
        found = newest((s for s in snapshots if s.get("Status") == "available"), "SnapshotCreateTime")
        if found is not None:
            points.append(RecoveryPoint("snapshot", found["SnapshotCreateTime"], found["DBSnapshotArn"]))
    return max(points, key=lambda p: p.time, default=None)


def _tagged_checks(f: Failover, *names: str) -> dict[str, str]:
    """The ids of the Route 53 health checks whose Name tag is one of `names`, by name: one
    scan of the account's checks and their tags."""
    route53 = f.ctx.clients("route53")
    ids: list[str] = []
    for page in route53.get_paginator("list_health_checks").paginate():
        ids += [c["Id"] for c in page["HealthChecks"]]
    found: dict[str, str] = {}
    for start in range(0, len(ids), 10):  # ListTagsForResources takes 10 ids a call
        tagged = route53.list_tags_for_resources(
            ResourceType="healthcheck", ResourceIds=ids[start : start + 10]
        )
        for tag_set in tagged["ResourceTagSets"]:
            for tag in tag_set.get("Tags", []):
                if tag["Key"] == "Name" and tag["Value"] in names:
                    found.setdefault(tag["Value"], str(tag_set["ResourceId"]))
    return found


def _checkers_view(f: Failover, check_id: str) -> tuple[int, int]:
    """(healthy, all) of Route 53's checkers' last observations of endpoint check `check_id`."""
    status = f.ctx.clients("route53").get_health_check_status(HealthCheckId=check_id)
    reports = [o["StatusReport"]["Status"] for o in status["HealthCheckObservations"]]
    return sum(r.startswith("Success") for r in reports), len(reports)


def _route53_view(f: Failover, name: str) -> tuple[int, int] | None:
    """The checkers' view of the endpoint check tagged `name`; None where there is no such check."""
    found = _tagged_checks(f, name).get(name)
    return None if found is None else _checkers_view(f, found)


def _healthy_to_route53(view: tuple[int, int] | None) -> bool:
    # Route 53 calls an endpoint healthy while more than 18% of its checkers do (Route 53
    # Developer Guide, "How Amazon Route 53 determines whether a health check is healthy").
    return view is not None and view[0] > ROUTE53_HEALTHY_SHARE * view[1]


def assess(f: Failover) -> None:
    ctx, names = f.ctx, f.names
    # The check the Route 53 health check and the deployment hook make first.
    check = ctx.config.deployment.smoke_checks[0]
    failure = primary_health(
        f"https://{ctx.config.domain_name}", check, float(ctx.config.deployment.smoke_timeout_seconds)
    )
    ctx.out(f"primary https://{ctx.config.domain_name}/health from here: {failure or 'answers 200'}")
    view = _route53_view(f, names.api_health_check())
    healthy_to_route53 = _healthy_to_route53(view)
    if view is None:
        ctx.out(
            f"no Route 53 health check tagged {names.api_health_check()}: only this machine's view counts"
        )
    else:
        ctx.out(f"Route 53's checkers ({names.api_health_check()}): {view[0]} of {view[1]} see it healthy")
    if failure is None or healthy_to_route53:
        seen = "answers" if failure is None else "passes Route 53's health check of"
        refusal = (
            f"the primary still {seen} https://{ctx.config.domain_name}/health: a second bot in "
            f"{f.region} would trade beside it; stop the primary first, or fail over anyway with "
            "PRIMARY_UP='reason' (recorded in the restored instance's tags)"
        )
        if f.primary_up:
            ctx.out(f"failing over while the primary answers: {f.primary_up}")
        elif ctx.dry_run:
            ctx.out(f"[dry-run] a real run would stop here: {refusal}")
        else:
            raise OpsError(refusal)
    existing = f.instance()
    if existing is not None and _tag(existing, "Purpose") == PURPOSE:
        restored_to = _tag(existing, "RestoredTo") or "-"
        ctx.out(f"{names.db_instance} in {f.region} was restored by an earlier run, to {restored_to}")
        return
    if existing is not None:
        raise OpsError(
            f"{names.db_instance} already exists in {f.region} but no failover restored it; "
            "look at it before anything replaces it (aws rds describe-db-instances "
            f"--db-instance-identifier {names.db_instance} --region {f.region})"
        )
    point = _newest_point(f)
    if point is None:
        raise OpsError(
            f"no replicated automated backup and no snapshot of {names.db_instance} in {f.region}: "
            "nothing to restore there; check the replication (runbook: Backup and Recovery)"
        )
    f.point = point
    rpo = max(ctx.now() - point.time, timedelta(0))
    verdict = "within" if rpo <= RPO_TARGET else "BEYOND"
    ctx.out(f"newest data in {f.region}: {point.kind} {when(point.time)} ({point.source})")
    ctx.out(f"RPO of this failover: {_duration(rpo)} ({verdict} the runbook's {_duration(RPO_TARGET)})")


# --- 2. restore ------------------------------------------------------------------------------------


def _restore_call(f: Failover, point: RecoveryPoint, data: dict[str, str]) -> Call:
    config, names = f.ctx.config, f.names
    common: dict[str, Any] = {
        "DBInstanceClass": f"db.{config.database.instance_class}",
        "DBSubnetGroupName": data["DbSubnetGroupName"],
        "VpcSecurityGroupIds": [data["DbSecurityGroupId"]],
        "DBParameterGroupName": data["DbParameterGroupName"],
        "MultiAZ": config.database.multi_az,
        "PubliclyAccessible": False,
        "CopyTagsToSnapshot": True,
        "EnableIAMDatabaseAuthentication": True,
        "DeletionProtection": config.deletion_protection,
        "StorageType": "gp3",
        "EnableCloudwatchLogsExports": ["postgresql", "upgrade"],
        "Tags": [
            {"Key": "Purpose", "Value": PURPOSE},
            {"Key": "Environment", "Value": config.name},
            {"Key": "RestoredTo", "Value": when(point.time)},
            {"Key": "RestoredFrom", "Value": point.source},
            *([{"Key": "PrimaryUp", "Value": f.primary_up[:256]}] if f.primary_up else []),
        ],
    }
    if point.kind == "snapshot":
        return Call(
            "rds",
            "RestoreDBInstanceFromDBSnapshot",
            {"DBInstanceIdentifier": names.db_instance, "DBSnapshotIdentifier": point.source, **common},
        )
    return Call(
        "rds",
        "RestoreDBInstanceToPointInTime",
        {
            "SourceDBInstanceAutomatedBackupsArn": point.source,
            "TargetDBInstanceIdentifier": names.db_instance,
            # The newest moment when RDS restores: at least as new as the assessment's.
            "UseLatestRestorableTime": True,
            **common,
        },
    )


def restore(f: Failover) -> None:
    ctx, names = f.ctx, f.names
    existing = f.instance()
    if existing is None:
        assert f.point is not None  # assess found one or stopped
        f.run(_restore_call(f, f.point, stack_outputs(ctx, "data", dr=True)))
        if ctx.dry_run:
            return
    elif existing.get("DBInstanceStatus") not in RESTORING | {"available"}:
        raise OpsError(
            f"{names.db_instance} in {f.region} is {existing.get('DBInstanceStatus')}, not restoring: "
            "delete it "
            f"(aws rds delete-db-instance --db-instance-identifier {names.db_instance} --skip-final-snapshot "
            f"--region {f.region}) and re-run to restore again"
        )

    def available() -> str | None:
        status = (f.instance() or {}).get("DBInstanceStatus")
        if status == "available":
            return f"{names.db_instance} is available in {f.region}"
        if status not in RESTORING:
            raise OpsError(f"the restore of {names.db_instance} in {f.region} ended {status}, not available")
        return None

    f.wait(
        f"the restore of {names.db_instance} in {f.region}",
        RESTORE_WAIT,
        available,
        "re-run make dr-failover CONFIRM=yes to keep waiting",
    )


# --- 3. point --------------------------------------------------------------------------------------


def point_database(f: Failover) -> None:
    ctx, names, config = f.ctx, f.names, f.ctx.config
    instance = names.db_instance
    # The secret's replica in this region; read only for a real run, and never printed.
    password = "<redacted>"
    if not ctx.dry_run:
        secret = f.clients("secretsmanager").get_secret_value(SecretId=names.secret("database-admin"))
        password = _password(secret.get("SecretString"), names.secret("database-admin"))
    # Performance Insights as in the primary, under the DR data key, and enhanced monitoring
    # with the standby's role: a restore can set neither.
    outputs = stack_outputs(ctx, "data", dr=True)
    key, role = outputs.get(DR_DATA_KEY_OUTPUT), outputs.get(DR_MONITORING_ROLE_OUTPUT)
    insights = (
        {
            "EnablePerformanceInsights": True,
            "PerformanceInsightsKMSKeyId": key,
            "PerformanceInsightsRetentionPeriod": config.database.performance_insights_retention_days,
        }
        if key
        else {}
    )
    if role:
        insights |= {
            "MonitoringInterval": config.database.monitoring_interval_seconds,
            "MonitoringRoleArn": role,
        }
    f.run(
        Call(
            "rds",
            "ModifyDBInstance",
            {
                "DBInstanceIdentifier": instance,
                "MasterUserPassword": password,
                "BackupRetentionPeriod": config.backup.retention_days,
                "PreferredBackupWindow": config.backup.window,
                **insights,
                "ApplyImmediately": True,
            },
        )
    )
    rds = f.clients("rds")
    proxy = names.db_proxy
    try:
        targets = rds.describe_db_proxy_targets(DBProxyName=proxy)["Targets"]
    except ClientError as error:
        if error_code(error) == "DBProxyNotFoundFault":
            raise OpsError(f"RDS Proxy {proxy} not found in {f.region}: {_not_deployed(f, 'data')}") from None
        raise
    if not any(t.get("RdsResourceId") == instance for t in targets):
        f.run(
            Call("rds", "RegisterDBProxyTargets", {"DBProxyName": proxy, "DBInstanceIdentifiers": [instance]})
        )
    if ctx.dry_run:
        return

    def ready() -> str | None:
        found = rds.describe_db_proxy_targets(DBProxyName=proxy)["Targets"]
        states = [
            (t.get("TargetHealth") or {}).get("State") for t in found if t.get("RdsResourceId") == instance
        ]
        if states and all(s == PROXY_TARGET_READY for s in states):
            return f"RDS Proxy {proxy} in {f.region} reaches {instance}"
        return None

    f.wait(
        f"RDS Proxy {proxy}'s connection to {instance}",
        PROXY_WAIT,
        ready,
        f"see its target health: aws rds describe-db-proxy-targets --db-proxy-name {proxy} "
        f"--region {f.region}",
    )


def _password(value: Any, secret: str) -> str:
    try:
        parsed = json.loads(value or "")
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict) or parsed.get("username") != DB_ADMIN_USER or not parsed.get("password"):
        raise OpsError(f"secret {secret} in this region holds no password for {DB_ADMIN_USER}")
    return str(parsed["password"])


# --- 4. scale --------------------------------------------------------------------------------------


def _services(
    f: Failover, names: Sequence[str] = SERVICES, *, primary: bool = False
) -> dict[str, dict[str, Any]]:
    """The ACTIVE services `names` of the cluster in the DR region (or, with `primary`, in the
    primary region), by name; a missing one stops the step, naming its stack."""
    cluster = f.names.cluster
    clients = f.ctx.clients if primary else f.clients
    where = f.ctx.config.region if primary else f.region
    try:
        described = clients("ecs").describe_services(cluster=cluster, services=list(names))
    except ClientError as error:
        if error_code(error) == "ClusterNotFoundException":
            described = {"services": []}
        else:
            raise
    found = {s["serviceName"]: s for s in described.get("services", []) if s.get("status") == "ACTIVE"}
    missing = [s for s in names if s not in found]
    if missing:
        fix = "deploy production first" if primary else _not_deployed(f)
        raise OpsError(f"service {', '.join(missing)} not found in cluster {cluster} in {where}: {fix}")
    return found


def _counts(f: Failover, wanted: dict[str, int], *, what: str, primary: bool = False) -> None:
    """Set the `wanted` desired counts in the DR region (or the primary) and wait until each
    service runs them in a single deployment; then print `what` with the counts."""
    ctx = f.ctx
    cluster = f.names.cluster
    where = ctx.config.region if primary else f.region
    for name, described in _services(f, list(wanted), primary=primary).items():
        if described.get("desiredCount") == wanted[name]:
            ctx.out(f"{name} in {where}: desired count already {wanted[name]}")
            continue
        call = Call(
            "ecs", "UpdateService", {"cluster": cluster, "service": name, "desiredCount": wanted[name]}
        )
        ctx.run(call, region=None if primary else f.region)
    if ctx.dry_run:
        return

    def running(services: dict[str, dict[str, Any]]) -> list[str]:
        return [f"{name} {s.get('runningCount', 0)}/{wanted[name]}" for name, s in services.items()]

    def settled() -> str | None:
        services = _services(f, list(wanted), primary=primary)
        lagging = [
            name
            for name, s in services.items()
            if s.get("runningCount") != wanted[name] or len(s.get("deployments", [])) > 1
        ]
        return None if lagging else f"{what} in {where}: " + ", ".join(f"{n} {c}" for n, c in wanted.items())

    try:
        f.wait(
            f"the services in {where}",
            SERVICES_WAIT,
            settled,
            f"look at their events: aws ecs describe-services --cluster {cluster} --services "
            f"{' '.join(wanted)} --region {where}",
        )
    except OpsError as error:
        now = ", ".join(running(_services(f, list(wanted), primary=primary)))
        raise OpsError(f"{error} (running: {now})") from None


def scale(f: Failover) -> None:
    wanted = {service: f.ctx.config.services[service].desired_count for service in SERVICES}
    # The floor first: at the pilot light's 0, a scale-in could undo the new counts.
    _scaling_floors(f)
    _counts(f, wanted, what="services stable")
    # Stable (or, in a dry run, planned): silence is a failure again, and their alarms page.
    _alarm_actions(f, armed=True)


def _alarm_actions(f: Failover, *, armed: bool) -> None:
    """Arm (or disarm) the DR region's alarms whose silence is their failure: the monitoring
    stack creates them disarmed, since the dark pilot light would hold them in ALARM."""
    names = list(dr_disarmed_alarms(f.ctx.config))
    found = {
        a["AlarmName"]: a.get("ActionsEnabled", True)
        for page in f.clients("cloudwatch").get_paginator("describe_alarms").paginate(AlarmNames=names)
        for a in page.get("MetricAlarms", [])
    }
    missing = [n for n in names if n not in found]
    if missing:
        raise OpsError(
            f"alarm {', '.join(missing)} not found in {f.region}: {_not_deployed(f, 'monitoring')}"
        )
    state = "armed" if armed else "disarmed"
    change = [n for n in names if found[n] != armed]
    if not change:
        f.ctx.out(f"alarms already {state}: {', '.join(names)}")
        return
    f.run(
        Call("cloudwatch", "EnableAlarmActions" if armed else "DisableAlarmActions", {"AlarmNames": change})
    )
    if armed:
        # Actions run on state changes only, and the dark pilot light left them in ALARM: from
        # OK, the next evaluation pages if the failure is still there.
        for name in change:
            f.run(
                Call(
                    "cloudwatch",
                    "SetAlarmState",
                    {"AlarmName": name, "StateValue": "OK", "StateReason": "armed by make dr-failover"},
                )
            )
    if not f.ctx.dry_run:
        f.ctx.out(f"alarms {state}: {', '.join(change)}")


def _scaling_floors(f: Failover, *, dark: bool = False) -> None:
    """The pilot light's auto scaling may go down to zero (a scale-in would undo the new counts):
    give each scaled service production's minimum (ApplicationService: max(1, desired)); with
    `dark`, the pilot light's 0 again (at a minimum above 0 auto scaling would start tasks)."""
    cluster = f.names.cluster
    scaled = {
        service: 0 if dark else max(1, size.desired_count)
        for service, size in f.ctx.config.services.items()
        if size.max_count is not None and size.max_count > size.desired_count
    }
    ids = {f"service/{cluster}/{service}": service for service in scaled}
    found = f.clients("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=sorted(ids), ScalableDimension=ECS_COUNT
    )["ScalableTargets"]
    minimums = {t["ResourceId"]: t["MinCapacity"] for t in found}
    for resource_id, service in sorted(ids.items()):
        floor = scaled[service]
        if resource_id not in minimums:
            raise OpsError(
                f"{service} has no auto scaling target in {f.region} ({resource_id}): {_not_deployed(f)}"
            )
        if minimums[resource_id] == floor or (not dark and minimums[resource_id] > floor):
            f.ctx.out(f"{service}: scaling minimum already {minimums[resource_id]}")
            continue
        f.run(
            Call(
                "application-autoscaling",
                "RegisterScalableTarget",
                {
                    "ServiceNamespace": "ecs",
                    "ResourceId": resource_id,
                    "ScalableDimension": ECS_COUNT,
                    "MinCapacity": floor,
                },
            )
        )


# --- 5. verify -------------------------------------------------------------------------------------


def _public_load_balancer(f: Failover, *, primary: bool = False) -> dict[str, Any]:
    """The public load balancer of the DR region (or, `primary`, of the primary region)."""
    name = f.names.public_load_balancer
    clients, region = (f.ctx.clients, f.ctx.config.region) if primary else (f.clients, f.region)
    try:
        (balancer,) = clients("elbv2").describe_load_balancers(Names=[name])["LoadBalancers"]
    except ClientError as error:
        if error_code(error) == "LoadBalancerNotFound":
            fix = "deploy production first" if primary else _not_deployed(f)
            raise OpsError(f"load balancer {name} not found in {region}: {fix}") from None
        raise
    return dict(balancer)


def verify(f: Failover) -> None:
    ctx = f.ctx
    balancer = _public_load_balancer(f)
    states = target_states(f.clients("elbv2"), balancer["LoadBalancerArn"])
    healthy = states.count("healthy")
    if ctx.dry_run:
        ctx.out(
            f"[dry-run] would check {balancer['DNSName']}'s targets (now {healthy} healthy) and smoke checks"
        )
        _integrity(f)
        return
    if not healthy or len(states) != healthy:
        raise OpsError(
            f"load balancer {f.names.public_load_balancer} in {f.region}: {healthy} of {len(states)} targets "
            "healthy; see the bot's logs and re-run to verify again"
        )
    ctx.out(f"load balancer {f.names.public_load_balancer}: {healthy} healthy targets")
    timeout = float(ctx.config.deployment.smoke_timeout_seconds)
    for check in ctx.config.deployment.smoke_checks:
        failure = probe_via(balancer["DNSName"], ctx.config.domain_name, check, timeout)
        if failure:
            raise OpsError(
                f"smoke check through the DR load balancer failed: {failure}; re-run to verify again"
            )
        ctx.out(f"ok   GET https://{ctx.config.domain_name}{check.path} via {balancer['DNSName']}")
    _integrity(f)


def _integrity(f: Failover) -> None:
    """The bot image's read-only check that the restored data reaches the recovery point: a
    one-off task of the bot's task definition, in the bot service's network, its exit code the
    verdict (disaster_recovery.integrity_command; logs in the bot's group)."""
    ctx, names = f.ctx, f.names
    dr = ctx.config.disaster_recovery
    assert dr is not None
    point = _tag(f.instance() or {}, "RestoredTo") or (when(f.point.time) if f.point else None)
    if point is None:
        raise OpsError(
            f"{names.db_instance} in {f.region} has no RestoredTo tag: the recovery point is unknown"
        )
    network = _services(f)[CHECK_SERVICE].get("networkConfiguration") or {}
    started = f.run(
        Call(
            "ecs",
            "RunTask",
            {
                "cluster": names.cluster,
                "taskDefinition": names.task_family(CHECK_SERVICE),
                "launchType": "FARGATE",
                "startedBy": INTEGRITY_STARTED_BY,
                "networkConfiguration": network,
                "overrides": {
                    "containerOverrides": [
                        {
                            "name": CHECK_SERVICE,
                            "command": list(dr.integrity_command),
                            "environment": [{"name": "INTEGRITY_NOT_BEFORE", "value": point}],
                        }
                    ]
                },
            },
        )
    )
    if ctx.dry_run:
        return
    tasks = started.get("tasks") or []
    if started.get("failures") or not tasks:
        raise OpsError(f"RunTask did not start the data integrity check: {started.get('failures')}")
    arn = str(tasks[0]["taskArn"])
    task_id = arn.rsplit("/", 1)[-1]
    logs = (
        f"aws logs tail {names.service_log_group(CHECK_SERVICE)} --log-stream-name-prefix "
        f"{CHECK_SERVICE}/{CHECK_SERVICE}/{task_id} --region {f.region}"
    )
    ecs = f.clients("ecs")

    def stopped() -> str | None:
        (task,) = ecs.describe_tasks(cluster=names.cluster, tasks=[arn])["tasks"]
        if task.get("lastStatus") != "STOPPED":
            return None
        codes = [c.get("exitCode") for c in task.get("containers", []) if c.get("name") == CHECK_SERVICE]
        if codes != [0]:
            raise OpsError(
                f"data integrity check {task_id} exited with {codes[0] if codes else 'no exit code'}: "
                f"the restored data may not reach {point}; read its log: {logs}"
            )
        return f"data integrity check {task_id}: the restored data reaches {point}"

    f.wait("the data integrity check", INTEGRITY_WAIT, stopped, f"it keeps running; read its log: {logs}")


# --- 6. DNS ----------------------------------------------------------------------------------------


def _dns(name: str) -> str:
    return name.rstrip(".").lower()


def _print_record(f: Failover, balancer: dict[str, Any], where: str) -> None:
    """Without a hosted zone: the record to make where the API name is served."""
    ctx, domain = f.ctx, f.ctx.config.domain_name
    ctx.out(
        f"no hosted zone is configured: point {domain} at {balancer['DNSName']} ({where}) where it is served:"
    )
    ctx.out(f"  an alias A record to {balancer['DNSName']} (zone {balancer['CanonicalHostedZoneId']}),")
    ctx.out(f"  or a CNAME {domain} -> {balancer['DNSName']}")


def _switches(f: Failover, dr_balancer: dict[str, Any]) -> dict[str, str]:
    """The ids of the CALCULATED checks (switches) behind the API name's PRIMARY and SECONDARY
    failover records, after checking both records are there, each behind its switch, and the
    SECONDARY aliasing the DR load balancer."""
    ctx, names, domain = f.ctx, f.names, f.ctx.config.domain_name
    zone = str(ctx.config.deployment.hosted_zone_id)
    found = ctx.clients("route53").list_resource_record_sets(
        HostedZoneId=zone, StartRecordName=domain, StartRecordType="A", MaxItems="10"
    )["ResourceRecordSets"]
    ours = [r for r in found if _dns(r["Name"]) == domain and r["Type"] == "A"]
    records = {str(r["Failover"]): r for r in ours if "Failover" in r}
    missing = sorted({"PRIMARY", "SECONDARY"} - set(records))
    if missing:
        raise OpsError(
            f"hosted zone {zone} has no {' or '.join(missing)} failover record for {domain}: deploy "
            f"{names.stack('services')} and {names.stack('services', dr=True)} with "
            "deployment.hosted_zone_id set (a simple record of that name must go first)"
        )
    target = _dns(records["SECONDARY"].get("AliasTarget", {}).get("DNSName", ""))
    if target != _dns(dr_balancer["DNSName"]):
        raise OpsError(
            f"the SECONDARY record for {domain} aliases {target or 'nothing'}, not {dr_balancer['DNSName']} "
            f"in {f.region}: deploy {names.stack('services', dr=True)}"
        )
    tagged = _tagged_checks(f, names.api_failover_switch(), names.api_failover_switch(dr=True))
    switches = {}
    for role, dr in (("PRIMARY", False), ("SECONDARY", True)):
        tag, stack = names.api_failover_switch(dr=dr), names.stack("services", dr=dr)
        switch = tagged.get(tag)
        if switch is None or records[role].get("HealthCheckId") != switch:
            raise OpsError(
                f"the {role} record for {domain} is not behind the Route 53 health check tagged {tag}: "
                f"deploy {stack}"
            )
        switches[role] = switch
    return switches


def _set_switch(f: Failover, switch: str, threshold: int) -> None:
    f.ctx.run(Call("route53", "UpdateHealthCheck", {"HealthCheckId": switch, "HealthThreshold": threshold}))


def _wait_seen(f: Failover, check: str, balancer: dict[str, Any], *, deploy: str, meanwhile: str) -> None:
    """Wait until Route 53's checkers see `balancer` (through the check tagged `check`) healthy."""
    if f.ctx.dry_run:
        f.ctx.out(
            f"[dry-run] would wait until Route 53's checkers ({check}) see {balancer['DNSName']} healthy"
        )
        return

    # Found once: the wait polls only the checkers' view.
    found = _tagged_checks(f, check).get(check)
    if found is None:
        raise OpsError(f"no Route 53 health check tagged {check}: deploy {deploy}")

    def seen() -> str | None:
        view = _checkers_view(f, found)
        if not _healthy_to_route53(view):
            return None
        return f"Route 53's checkers ({check}): {view[0]} of {view[1]} see {balancer['DNSName']} healthy"

    f.wait(
        f"Route 53 seeing {balancer['DNSName']} healthy",
        ROUTE53_WAIT,
        seen,
        f"{meanwhile}; why: aws route53 get-health-check-last-failure-reason (the check tagged {check}); "
        "re-run to check again",
    )


def dns(f: Failover) -> None:
    ctx, names, domain = f.ctx, f.names, f.ctx.config.domain_name
    balancer = _public_load_balancer(f)
    if ctx.config.deployment.hosted_zone_id is None:
        _print_record(f, balancer, f.region)
    else:
        # Pinned, not left to the regions' health: a primary that comes back, or a dip in the
        # DR region's check, would otherwise take the name back to the stale database.
        switches = _switches(f, balancer)
        _set_switch(f, switches["SECONDARY"], SECONDARY_PINNED_THRESHOLD)
        _set_switch(f, switches["PRIMARY"], PRIMARY_PINNED_THRESHOLD)
        ctx.out(
            f"pinned: {names.api_failover_switch(dr=True)} always healthy (HealthThreshold "
            f"{SECONDARY_PINNED_THRESHOLD}), {names.api_failover_switch()} always unhealthy "
            f"(HealthThreshold {PRIMARY_PINNED_THRESHOLD} of 1): Route 53 answers {domain} from the "
            "SECONDARY record whatever either region's check says"
        )
        _wait_seen(
            f,
            names.api_health_check(dr=True),
            balancer,
            deploy=names.stack("services", dr=True),
            meanwhile=f"{domain} is pinned to the DR region, which Route 53's checkers cannot reach",
        )
        ctx.out(
            f"{domain} resolves to {balancer['DNSName']} ({f.region}) as resolvers' "
            f"{ALIAS_TTL_SECONDS:.0f} s TTL runs out"
        )
    ctx.out("make dr-failback points it back once the primary region is healthy")
    ctx.out(
        "then watch: the DR region's dashboards and alarms "
        "(aws cloudwatch describe-alarms --state-value ALARM "
        f"--region {f.region}), make smoke-test-production, and bets placed in the first hour"
    )


@dataclass(frozen=True)
class Step:
    name: str
    does: str
    run: Callable[[Failover], None]
    # The runbook's target for this step, where it gives one.
    target: timedelta | None = None


STEPS = (
    Step("assess", "the primary's health and the newest data in the DR region (the RPO)", assess),
    Step("restore", "the database in the DR region", restore, RESTORE_TARGET),
    Step("point", "the restored database's password, backups and proxy target", point_database),
    Step("scale", "the DR services to production's desired counts; their P0 health alarms armed", scale),
    Step("verify", "the DR load balancer's targets, smoke checks and the data's integrity", verify),
    Step("dns", "the API name to the DR region", dns),
)


def _dr_region(ctx: Context, what: str) -> str:
    dr = ctx.config.disaster_recovery
    if dr is None:
        raise OpsError(
            f"{ctx.env} has no DR region (disaster_recovery in config/environments.py); nothing to {what}"
        )
    return dr.region


def _run_steps(f: Failover, steps: tuple[Step, ...], *, command: str, untouched: str, done: str) -> None:
    """Each step in turn, timed; a failure is one line saying how to resume."""
    ctx = f.ctx
    for number, step in enumerate(steps, start=1):
        ctx.out(f"[{number}/{len(steps)}] {step.name}: {step.does}")
        began = ctx.now()
        try:
            step.run(f)
        except (OpsError, ClientError) as error:
            if isinstance(error, ClientError):
                error = OpsError(f"{type(error).__name__}: {error}")
            raise OpsError(
                f"step {number} ({step.name}) stopped: {error}. {untouched}; "
                f"once fixed, re-run make {command} CONFIRM=yes: it continues from this step"
            ) from None
        ended = ctx.now()
        target = ""
        if step.target is not None:
            within = "within" if ended - began <= step.target else "BEYOND"
            target = f"; {within} the runbook's {_duration(step.target)}"
        ctx.out(
            f"[{number}/{len(steps)}] {step.name} done in {_duration(ended - began)} "
            f"(total {_duration(ended - f.started)}{target})"
        )
    total = ctx.now() - f.started
    ctx.out(f"{done} {'planned' if ctx.dry_run else 'complete'} in {_duration(total)}")


def dr_failover(ctx: Context, args: argparse.Namespace) -> None:
    """Runbook: Disaster Recovery Plan, steps 1 and 3-7 (2, notifying stakeholders, is people's)."""
    region = _dr_region(ctx, "fail over to")
    failover = Failover(ctx, region, (args.primary_up or "").strip() or None)
    mode = "dry run: nothing changes" if ctx.dry_run else "acting"
    ctx.out(
        f"failover of {ctx.env} from {ctx.config.region} to {region} ({mode}); the primary is never changed"
    )
    _run_steps(
        failover,
        STEPS,
        command="dr-failover",
        untouched="The primary region was not changed",
        done="failover",
    )
    total = ctx.now() - failover.started
    verdict = "within" if total <= RTO_TARGET else "BEYOND"
    ctx.out(f"recovery time {_duration(total)}: {verdict} the RTO of {_duration(RTO_TARGET)}")


# --- failback ------------------------------------------------------------------------------------
# The way back once the primary region is healthy: the DR region's data goes home by snapshot
# (the writers stopped first, so nothing is lost in transit), the primary's stale instance is
# kept beside it under another name, and traffic returns. Downtime: from `stop` to `resume`.

WRITERS = ("bot", "data-ingestion")
# What failback tags the instance it restores in the primary region.
FAILBACK = "dr-failback"
COPY_WAIT = timedelta(hours=3)


def _snapshot_id(f: Failover) -> str:
    """One per failover (the DR instance's creation time): a re-run finds its own snapshot."""
    instance = f.instance()
    assert instance is not None
    created = instance.get("InstanceCreateTime") or f.ctx.now()
    return str(f.names.failback_snapshot(f"{created:%Y%m%d-%H%M}"))


def _wait_snapshot(f: Failover, rds: Any, identifier: str, where: str) -> None:
    if f.ctx.dry_run:
        return

    def available() -> str | None:
        found = find_db_snapshot(rds, identifier)
        if found is None:
            raise OpsError(f"snapshot {identifier} disappeared in {where}")
        status = found.get("Status")
        if status == "available":
            return f"snapshot {identifier} in {where} is available"
        if status not in ("creating", "copying", "pending"):
            raise OpsError(f"snapshot {identifier} in {where} is {status}")
        return None

    f.wait(f"snapshot {identifier} in {where}", COPY_WAIT, available, "re-run to keep waiting")


def failback_assess(f: Failover) -> None:
    ctx, names = f.ctx, f.names
    instance = f.instance()
    if instance is None or _tag(instance, "Purpose") != PURPOSE:
        raise OpsError(
            f"no instance {names.db_instance} restored by make dr-failover in {f.region}: "
            "nothing to fail back"
        )
    primary = ctx.config.region
    try:
        old = find_db_instance(ctx.clients("rds"), names.db_instance)
    except (ClientError, BotoCoreError) as error:
        raise OpsError(f"{primary} does not answer ({error}); fail back once it does") from None
    if old is not None and _tag(old, "Purpose") == FAILBACK:
        ctx.out(f"{names.db_instance} in {primary} was restored by an earlier failback")
    ctx.out(
        f"{names.db_instance} in {f.region} (restored {instance.get('InstanceCreateTime')}) goes back to "
        f"{primary}: trading stops from the next step until the last (the writers "
        f"{', '.join(WRITERS)} stop in both regions, so no bet is placed on data in transit)"
    )


def _data_home(f: Failover) -> bool:
    """Whether the primary's instance is already the one failback restored (a re-run)."""
    found = find_db_instance(f.ctx.clients("rds"), f.names.db_instance)
    return _tag(found or {}, "Purpose") == FAILBACK


def failback_stop(f: Failover) -> None:
    stopped = dict.fromkeys(WRITERS, 0)
    if _data_home(f):
        # A re-run: the primary's writers already work on the data brought home.
        f.ctx.out(f"the data is home in {f.ctx.config.region}: its writers are left as they are")
    else:
        # The primary's first: its services came back with the region, on the stale database.
        _counts(f, stopped, what="writers stopped", primary=True)
    # Before the DR writers stop: at 0 tasks their health alarms would page for the whole copy.
    _alarm_actions(f, armed=False)
    _counts(f, stopped, what="writers stopped")


def failback_copy(f: Failover) -> None:
    ctx, names = f.ctx, f.names
    identifier = _snapshot_id(f)
    dr_rds, primary_rds = f.clients("rds"), ctx.clients("rds")
    if _data_home(f):
        ctx.out("the data is already back in the primary region")
        return
    source = find_db_snapshot(dr_rds, identifier)
    if source is None:
        f.run(
            Call(
                "rds",
                "CreateDBSnapshot",
                {
                    "DBInstanceIdentifier": names.db_instance,
                    "DBSnapshotIdentifier": identifier,
                    "Tags": [{"Key": "Purpose", "Value": FAILBACK}],
                },
            )
        )
    _wait_snapshot(f, dr_rds, identifier, f.region)
    if find_db_snapshot(primary_rds, identifier) is None:
        instance = f.instance() or {}
        # The snapshot's ARN, known before it exists (a dry run prints it): the instance's, renamed.
        arn = str(instance.get("DBInstanceArn", "")).replace(
            f":db:{names.db_instance}", f":snapshot:{identifier}"
        )
        ctx.run(
            Call(
                "rds",
                "CopyDBSnapshot",
                {
                    "SourceDBSnapshotIdentifier": arn,
                    "TargetDBSnapshotIdentifier": identifier,
                    # The primary's data key: a copy to another region is re-encrypted there.
                    "KmsKeyId": names.data_key_alias,
                    "SourceRegion": f.region,
                    "CopyTags": True,
                },
            )
        )
    _wait_snapshot(f, primary_rds, identifier, ctx.config.region)


def failback_restore(f: Failover) -> None:
    ctx, names = f.ctx, f.names
    rds = ctx.clients("rds")
    target = names.restored_db_instance
    current = find_db_instance(rds, names.db_instance)
    if _tag(current or {}, "Purpose") == FAILBACK:
        ctx.out(f"{names.db_instance} in {ctx.config.region} already holds the DR region's data")
        return
    if find_db_instance(rds, target) is None:
        source = current or find_db_instance(rds, names.db_instance + "-old")
        if source is None:
            raise OpsError(
                f"{names.db_instance} not found in {ctx.config.region}: its settings are the restore's"
            )
        tags = [{"Key": "Purpose", "Value": FAILBACK}, {"Key": "Environment", "Value": ctx.env}]
        ctx.run(restore_beside(source, target, _snapshot_id(f), tags=tags))
    _wait_instance(f, rds, target, ctx.config.region)


def _wait_instance(f: Failover, rds: Any, identifier: str, where: str) -> None:
    if f.ctx.dry_run:
        return

    def available() -> str | None:
        found = find_db_instance(rds, identifier)
        status = (found or {}).get("DBInstanceStatus")
        if status == "available":
            return f"{identifier} in {where} is available"
        if found is None or status not in RESTORING | {"renaming"}:
            raise OpsError(f"{identifier} in {where} is {status or 'gone'}")
        return None

    f.wait(f"{identifier} in {where}", RESTORE_WAIT, available, "re-run to keep waiting")


def failback_swap(f: Failover) -> None:
    """The runbook's restore swap ("Database restore"): names, then the proxy's target."""
    ctx, names = f.ctx, f.names
    rds, where = ctx.clients("rds"), ctx.config.region
    name, old, restored = names.db_instance, names.db_instance + "-old", names.restored_db_instance
    current = find_db_instance(rds, name)
    if _tag(current or {}, "Purpose") != FAILBACK:
        renames = [(name, old)] if current is not None else []
        for before, after in [*renames, (restored, name)]:
            change = {
                "DBInstanceIdentifier": before,
                "NewDBInstanceIdentifier": after,
                "ApplyImmediately": True,
            }
            ctx.run(Call("rds", "ModifyDBInstance", change))
            _wait_instance(f, rds, after, where)
    else:
        ctx.out(f"{name} in {where} is the DR region's data; {old} is the stale one")
    proxy = names.db_proxy
    if ctx.dry_run:
        ctx.out(f"then: the target of RDS Proxy {proxy} in {where} must be {name}")
        return
    targets = [t.get("RdsResourceId") for t in rds.describe_db_proxy_targets(DBProxyName=proxy)["Targets"]]
    if name not in targets:
        stale = [t for t in targets if t]
        if stale:
            ctx.run(
                Call(
                    "rds", "DeregisterDBProxyTargets", {"DBProxyName": proxy, "DBInstanceIdentifiers": stale}
                )
            )
        ctx.run(
            Call("rds", "RegisterDBProxyTargets", {"DBProxyName": proxy, "DBInstanceIdentifiers": [name]})
        )
    ctx.out(f"RDS Proxy {proxy} in {where} targets {name}")


def _name_home(f: Failover) -> None:
    """The API name back to the primary region: the failover switch released (Route 53 answers
    from the PRIMARY record once the primary's check passes), or the record to make."""
    ctx, config, names, domain = f.ctx, f.ctx.config, f.names, f.ctx.config.domain_name
    balancer = _public_load_balancer(f, primary=True)
    if config.deployment.hosted_zone_id is None:
        _print_record(f, balancer, config.region)
        return
    switches = _switches(f, _public_load_balancer(f))
    _set_switch(f, switches["PRIMARY"], FAILOVER_SWITCH_THRESHOLD)
    ctx.out(
        f"released: {names.api_failover_switch()} (HealthThreshold {FAILOVER_SWITCH_THRESHOLD}): Route 53 "
        f"answers {domain} from the PRIMARY record while the primary's check passes"
    )
    _wait_seen(
        f,
        names.api_health_check(),
        balancer,
        deploy=names.stack("services"),
        meanwhile=f"{domain} still answers from the DR region, whose writers are stopped",
    )
    _set_switch(f, switches["SECONDARY"], FAILOVER_SWITCH_THRESHOLD)
    ctx.out(f"released: {names.api_failover_switch(dr=True)} (HealthThreshold {FAILOVER_SWITCH_THRESHOLD})")
    # Resolvers keep the DR answer for the alias record's TTL before the pilot light goes dark.
    ctx.out(f"waiting {ALIAS_TTL_SECONDS:.0f} s (the alias records' TTL) before the pilot light goes dark")
    if not ctx.dry_run:
        ctx.sleep(ALIAS_TTL_SECONDS)


def failback_resume(f: Failover) -> None:
    ctx, config, names = f.ctx, f.ctx.config, f.names
    production = {service: config.services[service].desired_count for service in WRITERS}
    _counts(f, production, what="trading resumed", primary=True)
    # The name first: the DR region still answers it until the primary does.
    _name_home(f)
    # The pilot light goes dark again: no target, no task, its scaling floor back to 0.
    dr_rds = f.clients("rds")
    proxy = names.db_proxy
    if dr_rds.describe_db_proxy_targets(DBProxyName=proxy)["Targets"]:
        f.run(
            Call(
                "rds",
                "DeregisterDBProxyTargets",
                {"DBProxyName": proxy, "DBInstanceIdentifiers": [names.db_instance]},
            )
        )
    _scaling_floors(f, dark=True)
    _counts(f, dict.fromkeys(SERVICES, 0), what="pilot light dark")
    ctx.out("then: make smoke-test-production")
    ctx.out(
        f"kept, with deletion protection: {names.db_instance} in {f.region} (the DR copy) and "
        f"{names.db_instance}-old in {config.region} (the stale primary); delete them once the data "
        "is verified. "
        "Backup replication, log exports and Performance Insights come back with the next deploy "
        "that changes the instance (see Database restore)"
    )


FAILBACK_STEPS = (
    Step("assess", "the DR region's instance and whether the primary region answers", failback_assess),
    Step("stop", "the writers (bot, data-ingestion) in both regions", failback_stop),
    Step("copy", "a snapshot of the DR instance, copied to the primary region", failback_copy),
    Step("restore", "the copy in the primary region beside the stale instance", failback_restore),
    Step("swap", "the restored instance takes the primary's name and the proxy's target", failback_swap),
    Step("resume", "trading in the primary region; the pilot light dark again", failback_resume),
)


def dr_failback(ctx: Context, args: argparse.Namespace) -> None:
    """After a failover, once the primary region is healthy: the data and the traffic go home."""
    region = _dr_region(ctx, "fail back from")
    failback = Failover(ctx, region, None)
    mode = "dry run: nothing changes" if ctx.dry_run else "acting"
    ctx.out(f"failback of {ctx.env} from {region} to {ctx.config.region} ({mode})")
    _run_steps(
        failback,
        FAILBACK_STEPS,
        command="dr-failback",
        untouched="The DR region's instance is untouched and keeps the data",
        done="failback",
    )


COMMANDS = (
    Command(
        "dr-failover",
        "Fail production over to its DR region: assess, restore, point, scale, verify, DNS (resumable)",
        dr_failover,
        (
            flag(
                "--primary-up",
                default="",
                help="fail over although the primary answers /health, for this recorded reason",
            ),
        ),
    ),
    Command(
        "dr-failback",
        "Return production to its primary region: stop, copy, restore, swap, resume (resumable)",
        dr_failback,
    ),
)
