"""What every operator command builds on: the context, AWS calls printable as `aws` command
lines, refusals, and the lookups and helpers more than one runbook section needs.

Read-only calls (describe, list, get) are made directly; every change goes through
Context.run, so --dry-run prints it as an `aws` command line instead of making it.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import shlex
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from config.model import EnvironmentConfig
from config.names import Names


class OpsError(Exception):
    """A refusal or failure, printed as one line; the command exits 1."""


def _words(name: str, sep: str) -> str:
    """API names to CLI/boto3 names: CreateDBSnapshot -> create-db-snapshot / create_db_snapshot."""
    split = re.sub(r"([A-Z]+)([A-Z][a-z])", rf"\1{sep}\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", rf"\1{sep}\2", split).lower()


def _quote(value: str) -> str:
    return value if re.fullmatch(r"[\w./:@=+,-]+", value) else "'" + value.replace("'", "'\\''") + "'"


# Parameters whose values are secrets (a Betfair key, the configuration): never printed, in a
# dry run or a real one; the printed command shows where the value goes, not what it is.
SECRET_PARAMS = frozenset({"SecretString", "SecretBinary", "MasterUserPassword", "Password"})
REDACTED = "<redacted>"


@dataclass(frozen=True)
class Call:
    """One AWS API call, printable as the equivalent `aws` command line (secrets redacted)."""

    service: str
    operation: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def client(self) -> str:
        return "s3" if self.service == "s3api" else self.service

    def cli(self) -> str:
        parts = ["aws", self.service, _words(self.operation, "-")]
        for key, value in self.params.items():
            option = _words(key, "-")
            if isinstance(value, bool):  # the CLI spells booleans --flag / --no-flag
                parts.append(f"--{option}" if value else f"--no-{option}")
                continue
            if key in SECRET_PARAMS:
                rendered = REDACTED
            else:
                rendered = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            parts += [f"--{option}", _quote(rendered)]
        return " ".join(parts)


def utc_now() -> datetime:
    return datetime.now(UTC)


# A client factory: `clients("lambda")`, or with a botocore Config for a long call
# (`clients("lambda", config=...)`), as boto3's Session.client takes it.
Clients = Callable[..., Any]


def aws_clients(region: str) -> Clients:
    """boto3 clients in the environment's region, with the caller's credentials."""
    client: Clients = boto3.Session(region_name=region).client
    return client


def emulator_clients(endpoint: str) -> Callable[[str], Clients]:
    """Per region, boto3 clients of `make deploy-local`'s emulator at `endpoint`, with its dummy
    credentials: never the caller's, so nothing reaches a real account."""

    def regional(region: str) -> Clients:
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
        )
        client: Clients = functools.partial(session.client, endpoint_url=endpoint)
        return client

    return regional


@dataclass
class Context:
    """One command run: the environment's configuration (loaded once), the flags, the clients."""

    config: EnvironmentConfig
    dry_run: bool
    today: str
    clients: Clients
    out: Callable[[str], None] = print
    # Clients in another region (production's DR stacks live in us-west-2).
    regional_clients: Callable[[str], Clients] = aws_clients
    # Against `make deploy-local`'s emulator (--local), which runs no application.
    emulated: bool = False
    # Injectable so tests of polling and time-based checks run instantly.
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = utc_now

    @property
    def env(self) -> str:
        return self.config.name

    @property
    def names(self) -> Names:
        return self.config.names

    def run(self, call: Call, *, region: str | None = None) -> Any:
        """Make a mutating call (in `region` when it is not the environment's), or print it
        under --dry-run."""
        elsewhere = region is not None and region != self.config.region
        line = call.cli() + (f" --region {region}" if elsewhere else "")
        if self.dry_run:
            self.out(f"[dry-run] {line}")
            return None
        self.out(f"+ {line}")
        clients = self.regional_clients(region) if elsewhere and region else self.clients
        return getattr(clients(call.client), _words(call.operation, "_"))(**call.params)


# Adds one of a command's own flags to its subparser.
Flag = Callable[[argparse.ArgumentParser], object]


def flag(name: str, **options: Any) -> Flag:
    """`flag("--file", help=...)`: the flag as `parser.add_argument` takes it."""
    return lambda parser: parser.add_argument(name, **options)


@dataclass(frozen=True)
class Command:
    """One operator command: `python -m ops NAME [its flags]` runs `run`."""

    name: str
    help: str
    run: Callable[[Context, argparse.Namespace], None]
    flags: tuple[Flag, ...] = ()


# --- lookups -------------------------------------------------------------------------------------


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _dr_region(ctx: Context) -> str:
    dr = ctx.config.disaster_recovery
    if dr is None:
        raise OpsError(f"{ctx.env} has no DR region (disaster_recovery in config/environments.py)")
    return dr.region


def not_deployed(ctx: Context, unit: str, missing: str = "", *, dr: bool = False) -> OpsError:
    """The one line for a command run against an environment that is not (fully) deployed
    (`dr`: its stack in the DR region)."""
    stack = ctx.names.stack(unit, dr=dr)
    region = _dr_region(ctx) if dr else ctx.config.region
    what = f" ({missing} not found)" if missing else ""
    return OpsError(
        f"stack {stack} is not deployed in {region}{what}; deploy it first: make deploy-{ctx.env}"
    )


def stack_outputs(ctx: Context, unit: str, *, dr: bool = False) -> dict[str, str]:
    """A stack's outputs by key (`dr`: the DR region's twin)."""
    clients = ctx.regional_clients(_dr_region(ctx)) if dr else ctx.clients
    try:
        (described,) = clients("cloudformation").describe_stacks(StackName=ctx.names.stack(unit, dr=dr))[
            "Stacks"
        ]
    except ClientError as error:
        if error_code(error) == "ValidationError" and "does not exist" in str(error):
            raise not_deployed(ctx, unit, dr=dr) from None
        raise
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def _one_or_none(describe: Callable[[], dict[str, Any]], key: str, not_found: str) -> dict[str, Any] | None:
    try:
        (found,) = describe()[key]
    except ClientError as error:
        if error_code(error) == not_found:
            return None
        raise
    return dict(found)


def find_db_instance(rds: Any, identifier: str) -> dict[str, Any] | None:
    """The instance, or None where there is none by that identifier."""
    return _one_or_none(
        lambda: rds.describe_db_instances(DBInstanceIdentifier=identifier),
        "DBInstances",
        "DBInstanceNotFound",
    )


def find_db_snapshot(rds: Any, identifier: str) -> dict[str, Any] | None:
    """The DB snapshot, or None where there is none by that identifier."""
    return _one_or_none(
        lambda: rds.describe_db_snapshots(DBSnapshotIdentifier=identifier),
        "DBSnapshots",
        "DBSnapshotNotFound",
    )


def restore_beside(source: dict[str, Any], target: str, snapshot: str, *, tags: list[dict[str, str]]) -> Call:
    """RestoreDBInstanceFromDBSnapshot of `snapshot` as `target`, with `source`'s class, subnets,
    security groups, parameter group and Multi-AZ (a restore never overwrites an instance)."""
    return Call(
        "rds",
        "RestoreDBInstanceFromDBSnapshot",
        {
            "DBInstanceIdentifier": target,
            "DBSnapshotIdentifier": snapshot,
            "DBInstanceClass": source["DBInstanceClass"],
            "DBSubnetGroupName": source["DBSubnetGroup"]["DBSubnetGroupName"],
            "VpcSecurityGroupIds": [g["VpcSecurityGroupId"] for g in source["VpcSecurityGroups"]],
            "DBParameterGroupName": source["DBParameterGroups"][0]["DBParameterGroupName"],
            "MultiAZ": bool(source.get("MultiAZ")),
            "PubliclyAccessible": False,
            "CopyTagsToSnapshot": True,
            "EnableIAMDatabaseAuthentication": True,
            "DeletionProtection": True,
            **({"Tags": tags} if tags else {}),
        },
    )


def db_instance(ctx: Context) -> dict[str, Any]:
    """The environment's database, or the one line saying the data stack is not deployed."""
    instance = find_db_instance(ctx.clients("rds"), ctx.names.db_instance)
    if instance is None:
        raise not_deployed(ctx, "data", f"database {ctx.names.db_instance}")
    return instance


def read_json(path: str) -> Any:
    """The JSON value in `path`; the caller checks its shape. Any reason it cannot be read
    (missing, unreadable, not UTF-8, not JSON) is one OpsError line."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise OpsError(f"cannot read {path}: {error}") from None


def short(arn: str) -> str:
    """The last path element of an ARN: a task id, `family:revision`, a revision id."""
    return arn.rsplit("/", 1)[-1]


def timestamp(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float("-inf")


def when(value: Any) -> str:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else "-"


def newest(items: Iterable[dict[str, Any]], key: str = "createdAt") -> dict[str, Any] | None:
    ordered = sorted(items, key=lambda item: timestamp(item.get(key)), reverse=True)
    return ordered[0] if ordered else None


def target_states(elbv2: Any, balancer_arn: str) -> list[str]:
    """The health state of every target registered behind the load balancer."""
    states: list[str] = []
    for group in elbv2.describe_target_groups(LoadBalancerArn=balancer_arn)["TargetGroups"]:
        health = elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])
        states += [t["TargetHealth"]["State"] for t in health.get("TargetHealthDescriptions", [])]
    return states


# --- shared steps ----------------------------------------------------------------------------------


def create_snapshot(ctx: Context, instance: str, snapshot: str, *, purpose: str, then: str = "") -> None:
    """CreateDBSnapshot tagged with its purpose, then wait until it is available (not in dry-run)."""
    ctx.run(
        Call(
            "rds",
            "CreateDBSnapshot",
            {
                "DBInstanceIdentifier": instance,
                "DBSnapshotIdentifier": snapshot,
                "Tags": [{"Key": "Purpose", "Value": purpose}, {"Key": "Environment", "Value": ctx.env}],
            },
        )
    )
    if not ctx.dry_run:
        ctx.out(f"waiting for {snapshot} to become available ...")
        ctx.clients("rds").get_waiter("db_snapshot_available").wait(
            DBSnapshotIdentifier=snapshot, WaiterConfig={"Delay": 15, "MaxAttempts": 240}
        )
        ctx.out(f"snapshot {snapshot} is available{then}")


def describe_services(ctx: Context, services: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Name -> description of the services that exist in the cluster."""
    try:
        described = ctx.clients("ecs").describe_services(cluster=ctx.names.cluster, services=list(services))
    except ClientError as error:
        if error_code(error) == "ClusterNotFoundException":
            raise not_deployed(ctx, "services", f"cluster {ctx.names.cluster}") from None
        raise
    return {s["serviceName"]: s for s in described.get("services", []) if s.get("status") != "INACTIVE"}


def require_services(ctx: Context, services: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    found = describe_services(ctx, services)
    missing = [s for s in services if s not in found]
    if missing:
        raise OpsError(f"service {', '.join(missing)} not found in cluster {ctx.names.cluster}")
    return found


def redeploy(ctx: Context, service: str) -> Call:
    """A new deployment with the current task definition (tasks re-read their secrets)."""
    return Call(
        "ecs", "UpdateService", {"cluster": ctx.names.cluster, "service": service, "forceNewDeployment": True}
    )


# --- service deployments and production's approval gate ----------------------------------------

# ECS's service deployment states (Developer Guide, "View service history using Amazon ECS
# service deployments"): not yet finished, and finishing by rolling back.
IN_FLIGHT = ["PENDING", "IN_PROGRESS"]
ROLLING_BACK = ["STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"]
# How long a command that started a deployment waits for ECS to list it, to approve it.
APPROVAL_WAIT = timedelta(minutes=2)
APPROVAL_POLL_SECONDS = 5.0


def service_deployments(
    ctx: Context, service: str, status: list[str] | None = None
) -> Iterator[dict[str, Any]]:
    ecs = ctx.clients("ecs")
    params: dict[str, Any] = {"cluster": ctx.names.cluster, "service": service}
    if status:
        params["status"] = status
    while True:
        page = ecs.list_service_deployments(**params)
        yield from page.get("serviceDeployments", [])
        if not page.get("nextToken"):
            return
        params["nextToken"] = page["nextToken"]


def _describe_in_batches(
    ctx: Context, operation: str, kind: str, arns: list[str], *, strict: bool
) -> list[dict[str, Any]]:
    """ECS's DescribeService{Deployments,Revisions}: 20 ARNs a call (their limit). `strict`: an
    ARN ECS misses is an error; otherwise it is left out."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(arns), 20):
        described = getattr(ctx.clients("ecs"), operation)(**{f"{kind}Arns": arns[start : start + 20]})
        if strict and described.get("failures"):
            label = f"service {kind.removeprefix('service').lower()}s"  # "service deployments"
            raise OpsError(f"cannot describe {label}: {described['failures']}")
        found += described.get(f"{kind}s", [])
    return found


def describe_deployments(ctx: Context, arns: list[str]) -> list[dict[str, Any]]:
    return _describe_in_batches(ctx, "describe_service_deployments", "serviceDeployment", arns, strict=True)


def revision_task_definitions(ctx: Context, arns: list[str]) -> dict[str, str]:
    """Service revision ARN -> its task definition, for the revisions ECS still describes."""
    described = _describe_in_batches(ctx, "describe_service_revisions", "serviceRevision", arns, strict=False)
    return {r["serviceRevisionArn"]: str(r["taskDefinition"]) for r in described}


def target_revision(ctx: Context, deployment: dict[str, Any]) -> str:
    """The service revision a deployment rolls out (the value production's approval gate waits for)."""
    revision = deployment.get("targetServiceRevisionArn") or (
        describe_deployments(ctx, [deployment["serviceDeploymentArn"]])[0].get("targetServiceRevision") or {}
    ).get("arn")
    if not revision:
        raise OpsError(f"deployment {deployment['serviceDeploymentArn']} has no target revision")
    return str(revision)


def approval_value(ctx: Context, service: str) -> str | None:
    """The approval parameter's value; None where the approval gate is off (no parameter)."""
    try:
        value = ctx.clients("ssm").get_parameter(Name=ctx.names.approval_parameter(service))
    except ClientError as error:
        if error_code(error) == "ParameterNotFound":
            return None
        raise
    return str(value["Parameter"]["Value"])


def approve_revision(ctx: Context, service: str, revision: str) -> None:
    ctx.run(
        Call(
            "ssm",
            "PutParameter",
            {
                "Name": ctx.names.approval_parameter(service),
                "Value": revision,
                "Type": "String",
                "Overwrite": True,
            },
        )
    )


def start_deployments(ctx: Context, updates: list[tuple[str, Call, str]]) -> None:
    """Each (service, UpdateService call, what it does): make the call, then, where production's
    approval gate would hold the deployment it starts (the hook holds every one but a service's
    first until `make approve`, and rolls back after an hour), approve that deployment as ECS
    lists it: an operator's own restart, configuration reload or rollback is its approval."""
    gated = {
        service: {d["serviceDeploymentArn"] for d in service_deployments(ctx, service, IN_FLIGHT)}
        for service, _, _ in updates
        if approval_value(ctx, service) is not None
    }
    for service, call, what in updates:
        ctx.run(call)
        ctx.out(f"{service}: {'would ' if ctx.dry_run else 'requested: '}{what}")
    for service, before in gated.items():
        parameter = ctx.names.approval_parameter(service)
        if ctx.dry_run:
            ctx.out(f"{service}: would approve the deployment this starts ({parameter}) once ECS lists it")
            continue
        deadline = ctx.now() + APPROVAL_WAIT
        while True:
            started = newest(
                d
                for d in service_deployments(ctx, service, IN_FLIGHT)
                if d["serviceDeploymentArn"] not in before
            )
            if started is not None:
                break
            if ctx.now() >= deadline:
                raise OpsError(
                    f"{service}: ECS listed no new deployment within {int(APPROVAL_WAIT.total_seconds())}s; "
                    f"approve it once it does: make approve ENV={ctx.env} SERVICE={service}"
                )
            ctx.sleep(APPROVAL_POLL_SECONDS)
        revision = target_revision(ctx, started)
        approve_revision(ctx, service, revision)
        ctx.out(f"{service}: approved {revision}, the deployment this command started ({parameter})")


def status_hint(ctx: Context) -> str:
    """After a change ECS carries out on its own: how to watch it."""
    return f"follow it with: make deploy-status ENV={ctx.env}"


# --- invoking one of our functions on demand -------------------------------------------------
# make db-maintenance and make train invoke a scheduled function and wait for its answer. The
# local emulator runs no Lambda code, so against it a real invocation refuses in one line.


def invoke(
    ctx: Context,
    *,
    unit: str,
    function: str,
    payload: dict[str, Any] | None,
    read_timeout: int,
    cannot_run_here: str,
    command: str,
) -> Any:
    """The function's answer (parsed JSON), or None after a dry run. One call, never retried: a
    retry would start the work a second time. `read_timeout`: the function's own limit and a
    little. `cannot_run_here`: what else the emulator lacks for it; `command`: the make target."""
    stack_outputs(ctx, unit)
    try:
        ctx.clients("lambda").get_function(FunctionName=function)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            raise not_deployed(ctx, unit, f"function {function}") from None
        raise
    body = json.dumps(payload) if payload is not None else None
    sent = f" --cli-binary-format raw-in-base64-out --payload {shlex.quote(body)}" if body else ""
    line = f"aws lambda invoke --function-name {function}{sent} --cli-read-timeout {read_timeout} out.json"
    if ctx.dry_run:
        ctx.out(f"[dry-run] {line}")
        return None
    if ctx.emulated:
        raise OpsError(
            f"the local emulator runs no Lambda code{cannot_run_here}: {function} is deployed but cannot "
            f"run here; run {command} against AWS (DRY_RUN=1 prints the call)"
        )
    ctx.out(f"+ {line}")
    config = Config(
        read_timeout=read_timeout, connect_timeout=10, retries={"total_max_attempts": 1, "mode": "standard"}
    )
    request: dict[str, Any] = {"FunctionName": function, "InvocationType": "RequestResponse"}
    if body:
        request["Payload"] = body.encode()
    answer = ctx.clients("lambda", config=config).invoke(**request)
    result = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError"):
        failure = result if isinstance(result, dict) else {}
        kind, message = failure.get("errorType", "error"), failure.get("errorMessage", result)
        raise OpsError(
            f"{function} failed: {kind}: {message}; its log: aws logs tail /aws/lambda/{function} --since 1h"
        )
    return result
