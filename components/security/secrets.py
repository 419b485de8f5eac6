"""Application secrets: the configuration JSON and the Betfair API key with its rotation."""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as sm
from aws_cdk import aws_sns as sns
from constructs import Construct

from components.context import Replica, UnitContext
from components.functions import python_function
from components.nag import acknowledge
from components.naming import pascal
from components.network import Network, closed_security_group


def replica_value_output(purpose: str, field: str | None = None) -> str:
    """The secrets stack's output naming the DR replica of secret `purpose` (or one JSON
    `field` of it) as ECS's ValueFrom: `ConfigReplica`, `BetfairReplicaAppKey`."""
    return pascal(purpose) + "Replica" + (pascal(field.replace("_", "-")) if field else "")


def replica_value_from(secret: sm.ISecret, *, region: str, field: str | None = None) -> str:
    """`secret`'s replica in `region` as ECS reads it. A replica keeps the secret's name and
    six-character suffix; only the region differs (arn:aws:secretsmanager:REGION:...)."""
    stack = cdk.Stack.of(secret)
    name = cdk.Fn.select(6, cdk.Fn.split(":", secret.secret_arn))
    arn = cdk.Fn.join("", [f"arn:{stack.partition}:secretsmanager:{region}:{stack.account}:secret:", name])
    return cdk.Fn.join("", [arn, f":{field}::"]) if field else arn


# Betfair's interactive login; the rotation test step proves a new key works with it.
BETFAIR_LOGIN_URL = "https://identitysso.betfair.com/api/login"


class ApplicationSecrets(Construct):
    """`clever-better/{token}/config` and `clever-better/{token}/betfair`.

    Attributes: ``config_secret``, ``betfair_secret``, ``rotation_function``, ``reminder_topic``,
    ``key``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context: UnitContext,
        network: Network,
        environment: str,
        betfair_rotation_days: int,
        rotation_reserved_concurrency: int | None,
        replica: Replica | None,
    ) -> None:
        super().__init__(scope, construct_id)
        names = context.names
        name = names.prefix
        key = self.key = context.key
        removal_policy = context.removal_policy
        vpc = network.vpc
        replicas = [sm.ReplicaRegion(region=replica.region, encryption_key=replica.key)] if replica else None

        self.config_secret = sm.Secret(
            self,
            "Config",
            secret_name=names.secret("config"),
            description=f"{name} application configuration (JSON); update with "
            "`aws secretsmanager update-secret` (docs/RUNBOOK.md)",
            encryption_key=key,
            # Not sensitive: a starting document operators replace. Later template deploys
            # leave whatever operators stored untouched (the template value never changes).
            secret_string_value=cdk.SecretValue.unsafe_plain_text(json.dumps({"environment": environment})),
            replica_regions=replicas,
            removal_policy=removal_policy,
        )
        acknowledge(
            self.config_secret.node.default_child or self.config_secret,
            "Application configuration, not a credential: operators version it by hand "
            "(runbook: update-secret), so there is nothing to rotate.",
            "AwsSolutions::AwsSolutions-SMG4",
            "NIST.800.53.R5::NIST.800.53.R5-SecretsManagerRotationEnabled",
        )

        # The alarm router's provider keys (PagerDuty routing key, Opsgenie API key, a Slack
        # webhook per severity): empty until an operator stores them (docs/RUNBOOK.md).
        self.alerting_secret = sm.Secret(
            self,
            "Alerting",
            secret_name=names.secret("alerting"),
            description=f"{name} alarm routing: pagerduty_routing_key, opsgenie_api_key, slack_webhooks "
            "(by severity P0-P3); update with `aws secretsmanager put-secret-value` (docs/RUNBOOK.md)",
            encryption_key=key,
            # Not sensitive: the empty shape operators fill in; later deploys leave their value.
            secret_string_value=cdk.SecretValue.unsafe_plain_text(
                json.dumps({"pagerduty_routing_key": "", "opsgenie_api_key": "", "slack_webhooks": {}})
            ),
            replica_regions=replicas,
            removal_policy=removal_policy,
        )
        acknowledge(
            self.alerting_secret.node.default_child or self.alerting_secret,
            "Keys issued by PagerDuty, Opsgenie and Slack, not by us: operators replace them when a "
            "provider issues new ones (the runbook's 180-day review), so there is no rotation to run.",
            "AwsSolutions::AwsSolutions-SMG4",
            "NIST.800.53.R5::NIST.800.53.R5-SecretsManagerRotationEnabled",
        )
        self.betfair_secret = sm.Secret(
            self,
            "Betfair",
            secret_name=names.secret("betfair"),
            description=f"{name} Betfair API credentials: app_key, username, password "
            "(rotated with operator-issued keys)",
            encryption_key=key,
            # Placeholder until an operator stores the issued key (`make betfair-key-store`).
            generate_secret_string=sm.SecretStringGenerator(
                secret_string_template=json.dumps({"app_key": "", "username": ""}),
                generate_string_key="password",
                exclude_punctuation=True,
            ),
            replica_regions=replicas,
            removal_policy=removal_policy,
        )

        self.reminder_topic = sns.Topic(
            self,
            "RotationReminders",
            topic_name=names.rotation_reminder_topic,
            display_name=f"{name} P2 reminders: secret rotation waiting for an operator",
            master_key=key,
            enforce_ssl=True,
        )

        security_group = closed_security_group(
            self,
            "RotationSecurityGroup",
            vpc=vpc,
            description=f"{name} Betfair key rotation: HTTPS to endpoints and Betfair",
        )
        security_group.add_egress_rule(
            ec2.Peer.ipv4(network.vpc_cidr), ec2.Port.tcp(443), "HTTPS to the VPC endpoints"
        )
        security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to Betfair's login (NAT)"
        )

        self.rotation_function = python_function(
            self,
            "Rotation",
            context=context,
            function_name=names.betfair_rotation_function,
            description="Secrets Manager rotation for the Betfair API key (operator-issued keys)",
            code="betfair_rotation",
            statements=[
                iam.PolicyStatement(
                    actions=[
                        "secretsmanager:DescribeSecret",
                        "secretsmanager:GetSecretValue",
                        "secretsmanager:PutSecretValue",
                        "secretsmanager:UpdateSecretVersionStage",
                        "secretsmanager:TagResource",
                        "secretsmanager:UntagResource",
                    ],
                    resources=[self.betfair_secret.secret_arn],
                ),
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                    resources=[key.key_arn],
                ),
                iam.PolicyStatement(actions=["sns:Publish"], resources=[self.reminder_topic.topic_arn]),
            ],
            environment={
                "REMINDER_TOPIC_ARN": self.reminder_topic.topic_arn,
                "BETFAIR_LOGIN_URL": BETFAIR_LOGIN_URL,
            },
            vpc=vpc,
            security_group=security_group,
            timeout=cdk.Duration.seconds(60),
            reserved_concurrency=rotation_reserved_concurrency,
        )
        # L1 on purpose: the L2 schedule grants the function through the key policy, which
        # closes a dependency cycle (key -> role -> policy -> secret -> key). The managed
        # policy above already grants exactly what the four steps need.
        self.rotation_function.add_permission(
            "SecretsManagerInvoke",
            principal=iam.ServicePrincipal("secretsmanager.amazonaws.com"),
            source_account=cdk.Stack.of(self).account,
        )
        self.rotation_schedule = sm.CfnRotationSchedule(
            self,
            "BetfairRotation",
            secret_id=self.betfair_secret.secret_arn,
            rotation_lambda_arn=self.rotation_function.function_arn,
            rotation_rules=sm.CfnRotationSchedule.RotationRulesProperty(
                schedule_expression=f"rate({betfair_rotation_days} days)"
            ),
            # Rotation waits for an operator's key; do not start one at every deploy. Instead
            # Secrets Manager runs testSecret alone on a copy of the current value (the
            # placeholder at creation), which the function passes without checking a key.
            rotate_immediately_on_update=False,
        )
        # Secrets Manager must be allowed to invoke the function before any rotation starts.
        self.rotation_schedule.node.add_dependency(
            self.rotation_function.node.find_child("SecretsManagerInvoke")
        )
        acknowledge(
            self.rotation_function.node.default_child or self.rotation_function,
            "Secrets Manager invokes rotation synchronously and records each failure on the secret; "
            "a pending rotation also raises a P2 reminder, so a dead-letter queue would stay empty.",
            "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",
        )
