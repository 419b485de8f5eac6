"""Operator commands from the runbook's Backup and Recovery and key-management sections.

    python -m ops db-snapshot       --env production [--dry-run]
    python -m ops db-restore        --env production --snapshot clever-better-prod-manual-20261126 [--dry-run]
    python -m ops backup-config     --env production [--dry-run]
    python -m ops backup-models     --env production [--dry-run]
    python -m ops betfair-key-store --env production --file new-key.json [--dry-run]

and the deployment commands of the Production Deployment and Rollback sections (ops/deploy.py).

They run against real AWS with the caller's credentials. --dry-run still makes the
read-only calls it needs (describe, list, get) and prints every call that would
change something, as an `aws` command line, without making it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from config.environments import PRIMARY_REGION
from config.model import ENVIRONMENTS, TOKENS
from config.names import Names

OPERATOR_STAGE = "OPERATOR_NEW"  # lambdas/betfair_rotation promotes this version
BETFAIR_FIELDS = ("app_key", "username", "password")


class OpsError(Exception):
    """A refusal or failure, printed as one line; the command exits 1."""


def _words(name: str, sep: str) -> str:
    """API names to CLI/boto3 names: CreateDBSnapshot -> create-db-snapshot / create_db_snapshot."""
    split = re.sub(r"([A-Z]+)([A-Z][a-z])", rf"\1{sep}\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", rf"\1{sep}\2", split).lower()


@dataclass(frozen=True)
class Call:
    """One AWS API call, printable as the equivalent `aws` command line."""

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
            rendered = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            parts += [f"--{option}", _quote(rendered)]
        return " ".join(parts)


def _quote(value: str) -> str:
    return value if re.fullmatch(r"[\w./:@=+,-]+", value) else "'" + value.replace("'", "'\\''") + "'"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    env: str
    dry_run: bool
    today: str
    clients: Callable[[str], Any]
    out: Callable[[str], None] = print
    # Injectable so tests of polling and time-based checks run instantly.
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = _utc_now

    @property
    def names(self) -> Names:
        return Names(TOKENS[self.env])

    @property
    def prefix(self) -> str:
        return self.names.prefix

    @property
    def token(self) -> str:
        return TOKENS[self.env]

    def run(self, call: Call) -> Any:
        """Make a mutating call, or print it under --dry-run."""
        if self.dry_run:
            self.out(f"[dry-run] {call.cli()}")
            return None
        self.out(f"+ {call.cli()}")
        return getattr(self.clients(call.client), _words(call.operation, "_"))(**call.params)


def db_snapshot(ctx: Context, args: argparse.Namespace) -> None:
    """Runbook: manual snapshot before deployments, migrations and monthly."""
    rds = ctx.clients("rds")
    instance = ctx.prefix
    snapshot = f"{ctx.prefix}-manual-{ctx.today}"
    rds.describe_db_instances(DBInstanceIdentifier=instance)  # fails clearly if it does not exist
    existing = rds.describe_db_snapshots(DBInstanceIdentifier=instance, SnapshotType="manual")["DBSnapshots"]
    if any(s["DBSnapshotIdentifier"] == snapshot for s in existing):
        raise OpsError(f"snapshot {snapshot} already exists; today's manual snapshot is taken")
    create_snapshot(ctx, instance, snapshot, purpose="manual")


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


def db_restore(ctx: Context, args: argparse.Namespace) -> None:
    """Runbook: restore to `clever-better-{token}-restored` in the same network as the original."""
    if not args.snapshot:
        raise OpsError("SNAPSHOT is required, e.g. SNAPSHOT=clever-better-prod-manual-20261126")
    rds = ctx.clients("rds")
    target = f"{ctx.prefix}-restored"
    (source,) = rds.describe_db_instances(DBInstanceIdentifier=ctx.prefix)["DBInstances"]
    rds.describe_db_snapshots(DBSnapshotIdentifier=args.snapshot)  # fails clearly if missing
    if rds.describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": [target]}])["DBInstances"]:
        raise OpsError(f"{target} already exists; delete or rename it before restoring again")
    ctx.run(
        Call(
            "rds",
            "RestoreDBInstanceFromDBSnapshot",
            {
                "DBInstanceIdentifier": target,
                "DBSnapshotIdentifier": args.snapshot,
                "DBInstanceClass": source["DBInstanceClass"],
                "DBSubnetGroupName": source["DBSubnetGroup"]["DBSubnetGroupName"],
                "VpcSecurityGroupIds": [g["VpcSecurityGroupId"] for g in source["VpcSecurityGroups"]],
                "DBParameterGroupName": source["DBParameterGroups"][0]["DBParameterGroupName"],
                "MultiAZ": bool(source.get("MultiAZ")),
                "PubliclyAccessible": False,
                "CopyTagsToSnapshot": True,
                "EnableIAMDatabaseAuthentication": True,
                "DeletionProtection": True,
            },
        )
    )
    if not ctx.dry_run:
        ctx.out(f"waiting for {target} to become available ...")
        rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier=target, WaiterConfig={"Delay": 30, "MaxAttempts": 240}
        )
        ctx.out(f"{target} is available; point the application at it as the runbook describes")


def backup_config(ctx: Context, args: argparse.Namespace) -> None:
    """Runbook: `get-secret-value ... > backups/config-YYYYMMDD.json`, never overwriting."""
    path = Path(args.backups_dir) / f"config-{ctx.today}.json"
    if path.exists():
        raise OpsError(f"{path} already exists; refusing to overwrite a backup")
    call = Call("secretsmanager", "GetSecretValue", {"SecretId": ctx.names.secret("config")})
    if ctx.dry_run:
        ctx.out(f"[dry-run] {call.cli()} > {path}")
        return
    value = ctx.clients("secretsmanager").get_secret_value(**call.params)
    value.pop("ResponseMetadata", None)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x") as file:  # "x": fails rather than overwrite, even in a race
        json.dump(value, file, indent=2, default=str)
        file.write("\n")
    ctx.out(f"wrote {path} (version {value.get('VersionId')})")


def _stack_outputs(ctx: Context, unit: str) -> dict[str, str]:
    stack = f"{ctx.prefix}-{unit}"
    (described,) = ctx.clients("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def backup_models(ctx: Context, args: argparse.Namespace) -> None:
    """Runbook: copy the registry's `models/` to `models-YYYYMMDD/` in the backups bucket."""
    outputs = _stack_outputs(ctx, "data")
    source, target = outputs["ModelBucketName"], outputs["BackupsBucketName"]
    destination = f"models-{ctx.today}/"
    s3 = ctx.clients("s3")
    if s3.list_objects_v2(Bucket=target, Prefix=destination, MaxKeys=1).get("KeyCount", 0):
        raise OpsError(f"s3://{target}/{destination} already holds objects; today's model backup is taken")
    copied = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=source, Prefix="models/"):
        for item in page.get("Contents", []):
            key = destination + item["Key"].removeprefix("models/")
            ctx.run(
                Call(
                    "s3api",
                    "CopyObject",
                    {"Bucket": target, "Key": key, "CopySource": f"{source}/{item['Key']}"},
                )
            )
            copied += 1
    if not copied:
        raise OpsError(f"s3://{source}/models/ is empty; nothing to back up")
    ctx.out(f"{'would copy' if ctx.dry_run else 'copied'} {copied} objects to s3://{target}/{destination}")


def betfair_key_store(ctx: Context, args: argparse.Namespace) -> None:
    """Store an operator-issued Betfair key for the rotation to promote, then start the rotation."""
    if not args.file:
        raise OpsError("FILE is required: a JSON file with app_key, username and password")
    try:
        value = json.loads(Path(args.file).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise OpsError(f"cannot read {args.file}: {error}") from None
    missing = [f for f in BETFAIR_FIELDS if not isinstance(value, dict) or not str(value.get(f, "")).strip()]
    if missing:
        raise OpsError(f"{args.file} lacks {', '.join(missing)}")
    secret = ctx.names.secret("betfair")
    ctx.run(
        Call(
            "secretsmanager",
            "PutSecretValue",
            {"SecretId": secret, "SecretString": json.dumps(value), "VersionStages": [OPERATOR_STAGE]},
        )
    )
    if args.no_rotate:
        return
    ctx.run(Call("secretsmanager", "RotateSecret", {"SecretId": secret}))


COMMANDS: dict[str, Callable[[Context, argparse.Namespace], None]] = {
    "db-snapshot": db_snapshot,
    "db-restore": db_restore,
    "backup-config": backup_config,
    "backup-models": backup_models,
    "betfair-key-store": betfair_key_store,
}


def main(
    argv: Sequence[str] | None = None,
    *,
    clients: Callable[[str], Any] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = _utc_now,
) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("--env", required=True, help=f"one of {', '.join(ENVIRONMENTS)}")
    parser.add_argument("--dry-run", action="store_true", help="print the calls that would change something")
    parser.add_argument("--snapshot", help="db-restore: the snapshot to restore")
    parser.add_argument(
        "--file", help="betfair-key-store: JSON with app_key, username, password; config-update: the config"
    )
    parser.add_argument("--no-rotate", action="store_true", help="betfair-key-store: store only")
    parser.add_argument("--backups-dir", default="backups", help="backup-config: where files go")
    parser.add_argument("--date", help="YYYYMMDD to use instead of today (UTC)")
    parser.add_argument("--service", help="approve, rollback, restart: bot, ml-service or data-ingestion")
    parser.add_argument(
        "--allow-stale-backup",
        metavar="REASON",
        help="predeploy-check: deploy although the last automated snapshot is over 26 hours old",
    )
    parser.add_argument("--url", help="smoke-test: base URL instead of the environment's domain")
    args = parser.parse_args(argv)
    if args.env not in ENVIRONMENTS:
        print(
            f"error: unknown environment {args.env!r}; expected one of {', '.join(ENVIRONMENTS)}",
            file=sys.stderr,
        )
        return 2
    if args.date and not re.fullmatch(r"\d{8}", args.date):
        print(f"error: --date {args.date!r} is not YYYYMMDD", file=sys.stderr)
        return 2
    session = boto3.Session(region_name=PRIMARY_REGION)
    ctx = Context(
        env=args.env,
        dry_run=args.dry_run,
        today=args.date or now().strftime("%Y%m%d"),
        clients=clients or session.client,
        sleep=sleep,
        now=now,
    )
    try:
        COMMANDS[args.command](ctx, args)
    except OpsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - an AWS error is one line for the operator
        print(f"error: {args.command} failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


# The deployment commands build on Context, Call and OpsError above and add themselves to
# COMMANDS when imported, so this import comes last (and importing ops.deploy first works too).
import ops.deploy  # noqa: E402, F401
