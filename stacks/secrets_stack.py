from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from components.keys import encryption_key
from components.network import Network
from components.security import ApplicationSecrets
from config.model import EnvironmentConfig
from stacks.base import CleverBetterStack
from stacks.data_stack import dr_data_key


class SecretsStack(CleverBetterStack):
    """Stateful: the application's configuration and Betfair credentials."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, network: Network
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            unit="secrets",
            stateful=True,
            description=f"Clever Better {config.name} secrets: configuration and Betfair API key",
        )
        name = config.prefix
        key = encryption_key(
            self,
            "SecretsKey",
            alias=f"alias/{name}/secrets",
            description=f"Encrypts {name}'s application secrets, their rotation logs and reminders",
            removal_policy=self.stateful_removal_policy,
            log_group_names=[f"/aws/lambda/{name}-betfair-rotation"],
        )
        dr = config.disaster_recovery
        self.secrets = ApplicationSecrets(
            self,
            "Secrets",
            name=name,
            token=config.token,
            environment=config.name,
            key=key,
            vpc=network.vpc,
            vpc_cidr=network.vpc_cidr,
            betfair_rotation_days=config.rotation.betfair_days,
            log_retention_days=config.log_retention_days,
            removal_policy=self.stateful_removal_policy,
            replica_region=dr.region if dr else None,
            replica_key=dr_data_key(self, config),
        )
        for output_id, value, description in (
            ("ConfigSecretName", config.names.secret("config"), "Application configuration (JSON)"),
            ("BetfairSecretName", config.names.secret("betfair"), "Betfair API credentials"),
            ("RotationReminderTopicArn", self.secrets.reminder_topic.topic_arn, "P2 rotation reminders"),
        ):
            cdk.CfnOutput(self, output_id, value=value, description=description)
