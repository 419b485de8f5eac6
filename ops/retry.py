"""Deployment Procedures: re-running a deploy whose first creation of a stack failed.

    python -m ops clear-failed-creates --env production [--dry-run]

The deploy targets run this before `cdk deploy`. A stack whose first creation failed rolls
back to ROLLBACK_COMPLETE (everything it made is gone, `RetainExceptOnCreate` included) and
the CDK CLI deletes and recreates such a stack by itself, unless termination protection,
which production's stateful stacks are created with, refuses the deletion. A rollback that
could not delete something ends in ROLLBACK_FAILED (a load balancer created with deletion
protection), which no deploy can update. This command clears exactly those two states, and
only in stacks whose creation never completed, so the same deploy command works again:
ROLLBACK_COMPLETE -> termination protection off (the CLI then deletes and recreates it);
ROLLBACK_FAILED -> what blocked the rollback lifted (a load balancer's or database's deletion
protection, a bucket's objects), termination protection off, the stack deleted, and the named
resources the deletion kept (RetainExceptOnCreate: buckets, log groups, secrets, repositories,
vaults) deleted too: all were made by a creation that never completed. Any other stack is left alone.
"""

from __future__ import annotations

import argparse
from typing import Any

from botocore.exceptions import ClientError

from ops.core import Call, Command, Context, OpsError, error_code

LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
DB_INSTANCE = "AWS::RDS::DBInstance"
BUCKET = "AWS::S3::Bucket"
LOG_GROUP = "AWS::Logs::LogGroup"
SECRET = "AWS::SecretsManager::Secret"
REPOSITORY = "AWS::ECR::Repository"
VAULT = "AWS::Backup::BackupVault"
# What a failed rollback may be left holding that this command can release: deletion
# protection (load balancers, databases) or contents (buckets: ELB's access-log test file).
UNBLOCKABLE = frozenset({LOAD_BALANCER, DB_INSTANCE, BUCKET})
# Named resources a stack deletion keeps (RetainExceptOnCreate) and a retry would meet again.
NAMED = frozenset({BUCKET, LOG_GROUP, SECRET, REPOSITORY, VAULT})


def _stacks(ctx: Context) -> list[tuple[str, str]]:
    """(stack name, region) of every stack of the environment, DR region included."""
    names = [(name, ctx.config.region) for name in ctx.names.stacks()]
    dr = ctx.config.disaster_recovery
    if dr is not None:
        names += [(name, dr.region) for name in ctx.names.stacks(dr=True)]
    return names


def _describe(cloudformation: Any, name: str) -> dict[str, Any] | None:
    try:
        (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if error_code(error) == "ValidationError" and "does not exist" in str(error):
            return None
        raise
    return dict(stack)


def _unprotect(ctx: Context, stack: dict[str, Any], region: str) -> None:
    if stack.get("EnableTerminationProtection"):
        ctx.run(
            Call(
                "cloudformation",
                "UpdateTerminationProtection",
                {"StackName": stack["StackName"], "EnableTerminationProtection": False},
            ),
            region=region,
        )


def _unblock(ctx: Context, resource: dict[str, Any], region: str) -> None:
    """Lift what made the rollback fail to delete `resource` (it was made by the failed creation)."""
    kind, physical = resource["ResourceType"], resource["PhysicalResourceId"]
    if kind == LOAD_BALANCER:
        ctx.run(
            Call(
                "elbv2",
                "ModifyLoadBalancerAttributes",
                {
                    "LoadBalancerArn": physical,
                    "Attributes": [{"Key": "deletion_protection.enabled", "Value": "false"}],
                },
            ),
            region=region,
        )
    elif kind == DB_INSTANCE:
        ctx.run(
            Call(
                "rds",
                "ModifyDBInstance",
                {"DBInstanceIdentifier": physical, "DeletionProtection": False, "ApplyImmediately": True},
            ),
            region=region,
        )
        if not ctx.dry_run:
            ctx.regional_clients(region)("rds").get_waiter("db_instance_available").wait(
                DBInstanceIdentifier=physical, WaiterConfig={"Delay": 15, "MaxAttempts": 120}
            )
    elif kind == BUCKET:
        _empty_bucket(ctx, physical, region)


def _empty_bucket(ctx: Context, bucket: str, region: str) -> None:
    """Delete every object version of `bucket` (its access-log test file, say)."""
    s3 = ctx.regional_clients(region)("s3")
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        objects = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        ]
        if objects:
            ctx.run(
                Call("s3api", "DeleteObjects", {"Bucket": bucket, "Delete": {"Objects": objects}}),
                region=region,
            )


def _exists(ctx: Context, kind: str, physical: str, region: str) -> bool:
    clients = ctx.regional_clients(region)
    try:
        if kind == BUCKET:
            clients("s3").head_bucket(Bucket=physical)
        elif kind == LOG_GROUP:
            groups = clients("logs").describe_log_groups(logGroupNamePrefix=physical)["logGroups"]
            return any(group["logGroupName"] == physical for group in groups)
        elif kind == SECRET:
            clients("secretsmanager").describe_secret(SecretId=physical)
        elif kind == REPOSITORY:
            clients("ecr").describe_repositories(repositoryNames=[physical])
        elif kind == VAULT:
            clients("backup").describe_backup_vault(BackupVaultName=physical)
    except ClientError:
        return False
    return True


def _delete_leftover(ctx: Context, kind: str, physical: str, region: str) -> None:
    """A named resource the deletion kept (RetainExceptOnCreate), which would make the retry
    fail with AlreadyExists; the creation that made it never completed, so nothing uses it."""
    if kind == BUCKET:
        _empty_bucket(ctx, physical, region)
        call = Call("s3api", "DeleteBucket", {"Bucket": physical})
    elif kind == LOG_GROUP:
        call = Call("logs", "DeleteLogGroup", {"logGroupName": physical})
    elif kind == SECRET:
        call = Call(
            "secretsmanager", "DeleteSecret", {"SecretId": physical, "ForceDeleteWithoutRecovery": True}
        )
    elif kind == REPOSITORY:
        call = Call("ecr", "DeleteRepository", {"repositoryName": physical, "force": True})
    else:
        call = Call("backup", "DeleteBackupVault", {"BackupVaultName": physical})
    ctx.run(call, region=region)


def clear_failed_creates(ctx: Context, args: argparse.Namespace) -> None:
    """Make every stack whose first creation failed deletable, so the deploy can retry it."""
    cleared = 0
    for name, region in _stacks(ctx):
        cloudformation = ctx.regional_clients(region)("cloudformation")
        stack = _describe(cloudformation, name)
        status = stack.get("StackStatus") if stack else None
        if stack is None or status not in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED"):
            continue
        cleared += 1
        if status == "ROLLBACK_COMPLETE":
            ctx.out(f"{name}: its first creation failed and was rolled back; the deploy recreates it")
            _unprotect(ctx, stack, region)
            continue
        resources = cloudformation.describe_stack_resources(StackName=name)["StackResources"]
        failed = [r for r in resources if r.get("ResourceStatus") == "DELETE_FAILED"]
        others = [
            f"{r['LogicalResourceId']} ({r['ResourceType']})"
            for r in failed
            if r["ResourceType"] not in UNBLOCKABLE
        ]
        if others:
            raise OpsError(
                f"{name} ({region}) could not roll back {', '.join(others)}; delete them by hand, "
                f"then: aws cloudformation delete-stack --stack-name {name} --region {region}"
            )
        ctx.out(f"{name}: its first creation failed and could not roll back; deleting it for a retry")
        for resource in failed:
            _unblock(ctx, resource, region)
        _unprotect(ctx, stack, region)
        ctx.run(Call("cloudformation", "DeleteStack", {"StackName": name}), region=region)
        if ctx.dry_run:
            continue
        cloudformation.get_waiter("stack_delete_complete").wait(
            StackName=name, WaiterConfig={"Delay": 10, "MaxAttempts": 180}
        )
        ctx.out(f"{name}: deleted")
        for resource in resources:
            kind, physical = resource["ResourceType"], resource.get("PhysicalResourceId")
            if kind in NAMED and physical and _exists(ctx, kind, physical, region):
                _delete_leftover(ctx, kind, physical, region)
    if not cleared:
        ctx.out(f"no stack of {ctx.env} is left from a failed creation")


COMMANDS = (
    Command(
        "clear-failed-creates",
        "Before a deploy: make stacks whose first creation failed deletable, so the deploy retries them",
        clear_failed_creates,
    ),
)
