"""Our Python Lambdas (lambdas/<name>/handler.py): one shape for all of them.

Each gets its own KMS-encrypted, expiring log group, a role whose only policy is a customer
managed one listing exactly what the handler calls plus what Lambda needs to attach the function
to the VPC (no inline or AWS managed policies), ARM64 on the newest Python runtime, and a place in
the VPC's private subnets. Reserved concurrency only where configured (config: `functions`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from aws_cdk import region_info
from constructs import Construct

from components.context import UnitContext
from components.nag import acknowledge

LAMBDAS = Path(__file__).resolve().parent.parent / "lambdas"
# Keep asset hashes stable: bytecode caches are not code.
ASSET_EXCLUDE = ["__pycache__", "*.pyc", "tests"]
SUBNET_TYPE = ec2.SubnetType.PRIVATE_WITH_EGRESS

# What Lambda calls with the execution role to attach a function to the VPC (Lambda developer
# guide, "Giving Lambda functions access to resources in an Amazon VPC"; the EC2 actions of the
# AWS managed AWSLambdaVPCAccessExecutionRole). Without them CreateFunction fails.
DESCRIBE_ACTIONS = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
ADDRESS_ACTIONS = ("ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses")
ENI_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    *DESCRIBE_ACTIONS,
    *ADDRESS_ACTIONS,
)


def send_statements(queue: sqs.IQueue) -> list[iam.PolicyStatement]:
    """What a role needs to put a message on `queue`: SendMessage, and its key if it has one."""
    statements = [iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.queue_arn])]
    if queue.encryption_master_key is not None:
        statements.append(
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[queue.encryption_master_key.key_arn],
            )
        )
    return statements


def secret_read_statements(
    secret_arns: Sequence[str], *, key_arn: str, region: str
) -> list[iam.PolicyStatement]:
    """Read these secrets' values: GetSecretValue on them, and their key only as Secrets Manager
    uses it."""
    return [
        iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=list(secret_arns)),
        iam.PolicyStatement(
            actions=["kms:Decrypt"],
            resources=[key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
        ),
    ]


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
    reserved_concurrency: int | None,
    memory_size: int = 256,
    dead_letter_queue: sqs.IQueue | None = None,
    handler: str = "handler.handler",
) -> lambda_.Function:
    """Construct ids: `{construct_id}` (function), `...Logs`, `...Role`, `...Policy`.

    The role names the policy in its ManagedPolicyArns and the function depends on the role, so
    CloudFormation attaches the VPC permissions before it creates the function."""
    log_group = context.log_group(
        scope, f"{construct_id}Logs", name=context.names.lambda_log_group(function_name)
    )
    if dead_letter_queue is not None:
        # Lambda's CreateFunction refuses a dead-letter queue its role cannot send to; sending to
        # an encrypted queue also needs the key, which nothing checks until a message is lost.
        statements = [*statements, *send_statements(dead_letter_queue)]
    role = iam.Role(
        scope,
        f"{construct_id}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=description,
    )
    policy = iam.ManagedPolicy(
        scope,
        f"{construct_id}Policy",
        statements=[
            *statements,
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            ),
            *_vpc_access(scope, vpc=vpc, security_group=security_group),
        ],
    )
    role.add_managed_policy(policy)
    # cdk-nag names a finding by the resource as the stack resolves it (the partition by region).
    stack = cdk.Stack.of(scope)
    ec2_arns = f"arn:{region_info.RegionInfo.get(stack.region).partition}:ec2:{stack.region}:{stack.account}"
    acknowledge(
        policy,
        "Lambda attaches the function to the VPC with its execution role. EC2's Describe actions "
        "have no resource-level permissions (*); a new network interface has no id before it "
        "exists (network-interface/*, created only in this function's subnets with its security "
        "group); DeleteNetworkInterface is on all of the account's EC2 resources in the region "
        "(*/*), as the Lambda developer guide requires. The function's own code is denied them all.",
        "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
        f"AwsSolutions::AwsSolutions-IAM5[Resource::{ec2_arns}:network-interface/*]",
        f"AwsSolutions::AwsSolutions-IAM5[Resource::{ec2_arns}:*/*]",
    )
    function = lambda_.Function(
        scope,
        construct_id,
        function_name=function_name,
        description=description,
        runtime=lambda_.Runtime.PYTHON_3_14,
        architecture=lambda_.Architecture.ARM_64,
        code=lambda_code(code),
        handler=handler,
        role=role,
        timeout=timeout,
        memory_size=memory_size,
        reserved_concurrent_executions=reserved_concurrency,
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=SUBNET_TYPE),
        security_groups=[security_group],
        log_group=log_group,
        environment=dict(environment),
    )
    if dead_letter_queue is not None:
        # Set on the L1: the L2's dead_letter_queue would grant SendMessage in a second, default
        # policy, where our managed policy already holds it (with the key).
        cfn = function.node.default_child
        assert isinstance(cfn, lambda_.CfnFunction)
        cfn.dead_letter_config = lambda_.CfnFunction.DeadLetterConfigProperty(
            target_arn=dead_letter_queue.queue_arn
        )
    if reserved_concurrency is None:
        acknowledge(
            function.node.default_child or function,
            "No reserved concurrency unless configured (functions.*_reserved_concurrency): Lambda "
            "refuses any reservation in an account at the reduced concurrency quota of 10, and each "
            "function has one caller that runs one at a time (ECS one deployment of a service, "
            "Secrets Manager one rotation of the secret).",
            "NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency",
        )
    return function


def _vpc_access(
    scope: Construct, *, vpc: ec2.IVpc, security_group: ec2.ISecurityGroup
) -> list[iam.PolicyStatement]:
    """The ENI permissions Lambda needs for a function in `vpc`'s SUBNET_TYPE subnets with
    `security_group`, scoped as far as EC2's resource-level permissions go (Service
    Authorization Reference, Amazon EC2)."""
    stack = cdk.Stack.of(scope)

    def ec2_arn(resource: str, name: str) -> str:
        return stack.format_arn(service="ec2", resource=resource, resource_name=name)

    subnets = [ec2_arn("subnet", subnet) for subnet in vpc.select_subnets(subnet_type=SUBNET_TYPE).subnet_ids]
    any_interface = ec2_arn("network-interface", "*")
    return [
        # List actions: EC2 has no resource-level permissions for them.
        iam.PolicyStatement(actions=list(DESCRIBE_ACTIONS), resources=["*"]),
        # A new interface is authorized on itself, its subnet and its security groups.
        iam.PolicyStatement(
            actions=["ec2:CreateNetworkInterface"],
            resources=[*subnets, ec2_arn("security-group", security_group.security_group_id), any_interface],
        ),
        # The Lambda developer guide: DeleteNetworkInterface on a unique interface id or on all
        # resource ids (arn:...:*/*); anything between may leave the function without VPC access.
        iam.PolicyStatement(actions=["ec2:DeleteNetworkInterface"], resources=[ec2_arn("*", "*")]),
        iam.PolicyStatement(
            actions=list(ADDRESS_ACTIONS),
            resources=[any_interface],
            conditions={"ArnEquals": {"ec2:Subnet": subnets}},
        ),
        # Lambda's own ENI calls carry no lambda:SourceFunctionArn, the function's code always
        # does (Lambda developer guide, "Using source function ARN to control function access
        # behavior"): the handler itself can touch no network interface.
        iam.PolicyStatement(
            effect=iam.Effect.DENY,
            actions=list(ENI_ACTIONS),
            resources=["*"],
            conditions={"Null": {"lambda:SourceFunctionArn": "false"}},
        ),
    ]


# Our schedules live in Scheduler's default group; their roles trust schedules of that group only.
SCHEDULE_GROUP = "default"


def role_policy(
    scope: Construct,
    construct_id: str,
    *,
    function: lambda_.Function,
    description: str,
    statements: Sequence[iam.PolicyStatement],
    reason: str,
    rules: Sequence[str],
) -> iam.ManagedPolicy:
    """A managed policy of its own on `function`'s role, beside the one python_function writes,
    so its cdk-nag acknowledgement (`reason` for `rules`) says what it is about; the role names
    both, so both are in place before the function exists."""
    policy = iam.ManagedPolicy(scope, construct_id, description=description, statements=list(statements))
    assert function.role is not None
    function.role.add_managed_policy(policy)
    if rules:
        acknowledge(policy, reason, *rules)
    return policy


def scheduled_invocation(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    description: str,
    expression: str,
    function: lambda_.IFunction,
    dead_letters: sqs.IQueue,
    max_event_age: cdk.Duration,
    retries: int,
    input: str | None = None,
) -> scheduler.CfnSchedule:
    """An EventBridge Scheduler schedule (UTC) that invokes `function`, construct ids
    `{construct_id}` (schedule), `...Role`, `...Policy`; an invocation Scheduler cannot make
    within `max_event_age` after `retries` lands in `dead_letters`."""
    stack = cdk.Stack.of(scope)
    group_arn = stack.format_arn(service="scheduler", resource="schedule-group", resource_name=SCHEDULE_GROUP)
    # Scheduler assumes the role on behalf of a schedule group (since September 2023): this
    # account's default group only, and only to invoke this one function.
    role = iam.Role(
        scope,
        f"{construct_id}Role",
        description=f"Lets EventBridge Scheduler invoke {name}",
        assumed_by=iam.ServicePrincipal(
            "scheduler.amazonaws.com",
            conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnEquals": {"aws:SourceArn": group_arn},
            },
        ),
    )
    role.add_managed_policy(
        iam.ManagedPolicy(
            scope,
            f"{construct_id}Policy",
            statements=[
                iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn]),
                *send_statements(dead_letters),
            ],
        )
    )
    return scheduler.CfnSchedule(
        scope,
        construct_id,
        name=name,
        group_name=SCHEDULE_GROUP,
        description=description,
        schedule_expression=expression,
        schedule_expression_timezone="UTC",
        # Required by CloudFormation; OFF: at the scheduled time exactly.
        flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
        state="ENABLED",
        target=scheduler.CfnSchedule.TargetProperty(
            arn=function.function_arn,
            role_arn=role.role_arn,
            input=input,
            retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                maximum_event_age_in_seconds=int(max_event_age.to_seconds()), maximum_retry_attempts=retries
            ),
            dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=dead_letters.queue_arn),
        ),
    )
