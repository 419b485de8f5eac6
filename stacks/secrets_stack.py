from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from components.keys import dr_replica
from components.network import Network
from components.security import ApplicationSecrets
from config.model import EnvironmentConfig
from stacks.base import CleverBetterStack


class SecretsStack(CleverBetterStack):
    """Stateful: the application's configuration and Betfair credentials."""

    UNIT = "secrets"
    STATEFUL = True
    SUMMARY = "configuration and Betfair API key"

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, network: Network
    ) -> None:
        super().__init__(scope, construct_id, config=config)
        names = config.names
        key = self.unit_key(
            "SecretsKey",
            alias=names.key_alias("secrets"),
            description=f"Encrypts {names.prefix}'s application secrets, their rotation logs and reminders",
            log_group_names=[names.lambda_log_group(names.betfair_rotation_function)],
        )
        self.secrets = ApplicationSecrets(
            self,
            "Secrets",
            context=self.unit_context(key),
            network=network,
            environment=config.name,
            betfair_rotation_days=config.rotation.betfair_days,
            rotation_reserved_concurrency=config.functions.betfair_rotation_reserved_concurrency,
            replica=dr_replica(self, config),
        )
        for output_id, value, description in (
            ("ConfigSecretName", names.secret("config"), "Application configuration (JSON)"),
            ("BetfairSecretName", names.secret("betfair"), "Betfair API credentials"),
            ("RotationReminderTopicArn", self.secrets.reminder_topic.topic_arn, "P2 rotation reminders"),
        ):
            cdk.CfnOutput(self, output_id, value=value, description=description)
