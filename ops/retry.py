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
ROLLBACK_FAILED -> deletion protection off on its load balancers that could not be deleted,
termination protection off, the stack deleted. Any other stack is left alone.
"""

from __future__ import annotations

import argparse
from typing import Any

from botocore.exceptions import ClientError

from ops.core import Call, Command, Context, OpsError, error_code

LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"


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
        failed = [
            r
            for r in cloudformation.describe_stack_resources(StackName=name)["StackResources"]
            if r.get("ResourceStatus") == "DELETE_FAILED"
        ]
        others = [
            f"{r['LogicalResourceId']} ({r['ResourceType']})"
            for r in failed
            if r["ResourceType"] != LOAD_BALANCER
        ]
        if others:
            raise OpsError(
                f"{name} ({region}) could not roll back {', '.join(others)}; delete them by hand, "
                f"then: aws cloudformation delete-stack --stack-name {name} --region {region}"
            )
        ctx.out(f"{name}: its first creation failed and could not roll back; deleting it for a retry")
        for resource in failed:
            ctx.run(
                Call(
                    "elbv2",
                    "ModifyLoadBalancerAttributes",
                    {
                        "LoadBalancerArn": resource["PhysicalResourceId"],
                        "Attributes": [{"Key": "deletion_protection.enabled", "Value": "false"}],
                    },
                ),
                region=region,
            )
        _unprotect(ctx, stack, region)
        ctx.run(Call("cloudformation", "DeleteStack", {"StackName": name}), region=region)
        if not ctx.dry_run:
            cloudformation.get_waiter("stack_delete_complete").wait(
                StackName=name, WaiterConfig={"Delay": 10, "MaxAttempts": 180}
            )
            ctx.out(f"{name}: deleted")
    if not cleared:
        ctx.out(f"no stack of {ctx.env} is left from a failed creation")


COMMANDS = (
    Command(
        "clear-failed-creates",
        "Before a deploy: make stacks whose first creation failed deletable, so the deploy retries them",
        clear_failed_creates,
    ),
)
