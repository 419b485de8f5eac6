"""The runbook's "Backup and Recovery" section (and the database restore of "Rollback Procedures").

python -m ops db-snapshot   --env production [--dry-run]
python -m ops db-restore    --env production --snapshot clever-better-prod-manual-20261126 [--dry-run]
python -m ops backup-config --env production [--backups-dir DIR] [--dry-run]
python -m ops backup-models --env production [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from config.names import MODEL_PREFIX
from ops.core import (
    Call,
    Command,
    Context,
    OpsError,
    create_snapshot,
    db_instance,
    flag,
    restore_beside,
    stack_outputs,
)


def db_snapshot(ctx: Context, args: argparse.Namespace) -> None:
    """Runbook: manual snapshot before deployments, migrations and monthly."""
    rds = ctx.clients("rds")
    instance = ctx.names.db_instance
    snapshot = ctx.names.manual_snapshot(ctx.today)
    db_instance(ctx)  # the data stack must be deployed
    existing = rds.describe_db_snapshots(DBInstanceIdentifier=instance, SnapshotType="manual")["DBSnapshots"]
    if any(s["DBSnapshotIdentifier"] == snapshot for s in existing):
        raise OpsError(f"snapshot {snapshot} already exists; today's manual snapshot is taken")
    create_snapshot(ctx, instance, snapshot, purpose="manual")


def db_restore(ctx: Context, args: argparse.Namespace) -> None:
    """Runbook: restore to `clever-better-{token}-restored` in the same network as the original."""
    if not args.snapshot:
        raise OpsError("SNAPSHOT is required, e.g. SNAPSHOT=clever-better-prod-manual-20261126")
    rds = ctx.clients("rds")
    target = ctx.names.restored_db_instance
    source = db_instance(ctx)
    rds.describe_db_snapshots(DBSnapshotIdentifier=args.snapshot)  # fails clearly if missing
    if rds.describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": [target]}])["DBInstances"]:
        raise OpsError(f"{target} already exists; delete or rename it before restoring again")
    ctx.run(restore_beside(source, target, args.snapshot, tags=[]))
    if not ctx.dry_run:
        ctx.out(f"waiting for {target} to become available ...")
        rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier=target, WaiterConfig={"Delay": 30, "MaxAttempts": 240}
        )
        ctx.out(f"{target} is available; point the application at it as the runbook describes")


def backup_config(ctx: Context, args: argparse.Namespace) -> None:
    """Runbook: `get-secret-value ... > backups/config-YYYYMMDD.json`, never overwriting; by
    default in a folder per environment (backups/prod/...), so that staging's and production's
    backups of the same day do not collide."""
    directory = Path(args.backups_dir) if args.backups_dir else Path("backups") / ctx.names.token
    path = directory / ctx.names.config_backup_file(ctx.today)
    if path.exists():
        raise OpsError(f"{path} already exists; refusing to overwrite a backup")
    call = Call("secretsmanager", "GetSecretValue", {"SecretId": ctx.names.secret("config")})
    if ctx.dry_run:
        ctx.out(f"[dry-run] {call.cli()} > {shlex.quote(str(path))}")
        return
    value = ctx.clients("secretsmanager").get_secret_value(**call.params)
    value.pop("ResponseMetadata", None)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x") as file:  # "x": fails rather than overwrite, even in a race
        json.dump(value, file, indent=2, default=str)
        file.write("\n")
    ctx.out(f"wrote {path} (version {value.get('VersionId')})")


def backup_models(ctx: Context, args: argparse.Namespace) -> None:
    """Runbook: copy the registry's `models/` to `models-YYYYMMDD/` in the backups bucket."""
    outputs = stack_outputs(ctx, "data")
    source, target = outputs["ModelBucketName"], outputs["BackupsBucketName"]
    destination = ctx.names.model_backup_prefix(ctx.today)
    s3 = ctx.clients("s3")
    if s3.list_objects_v2(Bucket=target, Prefix=destination, MaxKeys=1).get("KeyCount", 0):
        raise OpsError(f"s3://{target}/{destination} already holds objects; today's model backup is taken")
    copied = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=source, Prefix=MODEL_PREFIX):
        for item in page.get("Contents", []):
            key = destination + item["Key"].removeprefix(MODEL_PREFIX)
            ctx.run(
                Call(
                    "s3api",
                    "CopyObject",
                    {"Bucket": target, "Key": key, "CopySource": f"{source}/{item['Key']}"},
                )
            )
            copied += 1
    if not copied:
        raise OpsError(f"s3://{source}/{MODEL_PREFIX} is empty; nothing to back up")
    ctx.out(f"{'would copy' if ctx.dry_run else 'copied'} {copied} objects to s3://{target}/{destination}")


COMMANDS = (
    Command(
        "db-snapshot",
        "Manual snapshot clever-better-{token}-manual-YYYYMMDD; waits until available",
        db_snapshot,
    ),
    Command(
        "db-restore",
        "Restore --snapshot to clever-better-{token}-restored",
        db_restore,
        (flag("--snapshot", help="the snapshot to restore, e.g. clever-better-prod-manual-20261126"),),
    ),
    Command(
        "backup-config",
        "Export the config secret to backups/TOKEN/config-YYYYMMDD.json (never overwrites)",
        backup_config,
        (flag("--backups-dir", help="where the file goes (default: backups/TOKEN, e.g. backups/prod)"),),
    ),
    Command(
        "backup-models",
        "Copy the model registry's models/ to models-YYYYMMDD/ in the backups bucket",
        backup_models,
    ),
)
