"""Customer-managed KMS keys: rotation on, and CloudWatch Logs allowed only for named groups."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from components.context import Replica
from config.model import EnvironmentConfig
from config.names import DR_DATA_KEY_OUTPUT


def encryption_key(
    scope: Construct,
    construct_id: str,
    *,
    alias: str,
    description: str,
    removal_policy: cdk.RemovalPolicy,
    log_group_names: Sequence[str] = (),
) -> kms.Key:
    """A rotating CMK. `log_group_names` (wildcards allowed) may be encrypted with it by CloudWatch Logs."""
    key = kms.Key(
        scope,
        construct_id,
        alias=alias,
        description=description,
        enable_key_rotation=True,
        removal_policy=removal_policy,
    )
    if log_group_names:
        stack = cdk.Stack.of(scope)
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],  # in a key policy "*" means this key
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": [
                            stack.format_arn(
                                service="logs",
                                resource="log-group",
                                resource_name=name,
                                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                            )
                            for name in log_group_names
                        ]
                    }
                },
            )
        )
    return key


def allow_secret_replication(key: kms.Key, *, regions: Sequence[str]) -> None:
    """Let Secrets Manager use `key` for replica secrets on behalf of this account's callers.

    Replication re-encrypts every new version (each rotation) with the replica's key under the
    identity that wrote it, e.g. a rotation function with no grant on this key; the AWS-managed
    key aws/secretsmanager admits the account's callers the same way: via the service only."""
    stack = cdk.Stack.of(key)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="SecretsManagerReplication",
            principals=[iam.AnyPrincipal()],
            actions=[
                "kms:CreateGrant",
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:Encrypt",
                "kms:GenerateDataKey*",
                "kms:ReEncrypt*",
            ],
            resources=["*"],  # in a key policy "*" means this key
            conditions={
                "StringEquals": {
                    "kms:CallerAccount": stack.account,
                    "kms:ViaService": [f"secretsmanager.{region}.amazonaws.com" for region in regions],
                }
            },
        )
    )


def dr_replica(scope: Construct, config: EnvironmentConfig) -> Replica | None:
    """Where the environment replicates to: its DR region and the data key there (stack
    clever-better-prod-dr-data), by key ARN: KMS ignores an alias in a policy's Resource and
    RDS wants the key ARN. CloudFormation reads it from that stack's output when it deploys
    (Fn::GetStackOutput across regions: no Lambda, nothing to pin); `make deploy-production`
    deploys the DR stacks first."""
    dr = config.disaster_recovery
    if dr is None:
        return None
    arn = cdk.Fn.get_stack_output(config.names.stack("data", dr=True), DR_DATA_KEY_OUTPUT, dr.region)
    return Replica(region=dr.region, key=kms.Key.from_key_arn(scope, "DrDataKey", arn))
