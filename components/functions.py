"""Our Python Lambdas (lambdas/<name>/handler.py): one shape for all of them.

Each gets its own KMS-encrypted, expiring log group, a role whose only policy is a customer
managed one listing exactly what the handler calls (no inline or AWS managed policies), ARM64
on the newest Python runtime, a concurrency cap, and a place in the VPC's private subnets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from components.context import UnitContext

LAMBDAS = Path(__file__).resolve().parent.parent / "lambdas"
# Keep asset hashes stable: bytecode caches are not code.
ASSET_EXCLUDE = ["__pycache__", "*.pyc", "tests"]


def lambda_code(name: str) -> lambda_.Code:
    return lambda_.Code.from_asset(str(LAMBDAS / name), exclude=ASSET_EXCLUDE)


def python_function(
    scope: Construct,
    construct_id: str,
    *,
    context: UnitContext,
    function_name: str,
    description: str,
    code: str,
    statements: Sequence[iam.PolicyStatement],
    environment: Mapping[str, str],
    vpc: ec2.IVpc,
    security_group: ec2.ISecurityGroup,
    timeout: cdk.Duration,
    reserved_concurrency: int,
    memory_size: int = 256,
) -> lambda_.Function:
    """Construct ids: `{construct_id}` (function), `...Logs`, `...Role`, `...Policy`."""
    log_group = context.log_group(
        scope, f"{construct_id}Logs", name=context.names.lambda_log_group(function_name)
    )
    role = iam.Role(
        scope,
        f"{construct_id}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=description,
    )
    role.add_managed_policy(
        iam.ManagedPolicy(
            scope,
            f"{construct_id}Policy",
            statements=[
                *statements,
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[log_group.log_group_arn],
                ),
            ],
        )
    )
    return lambda_.Function(
        scope,
        construct_id,
        function_name=function_name,
        description=description,
        runtime=lambda_.Runtime.PYTHON_3_14,
        architecture=lambda_.Architecture.ARM_64,
        code=lambda_code(code),
        handler="handler.handler",
        role=role,
        timeout=timeout,
        memory_size=memory_size,
        reserved_concurrent_executions=reserved_concurrency,
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        security_groups=[security_group],
        log_group=log_group,
        environment=dict(environment),
    )
