from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from components.keys import dr_replica
from components.network import Network
from components.security import ApplicationSecrets
from components.security.secrets import replica_value_from, replica_value_output
from config.model import EnvironmentConfig
from config.names import BETFAIR_FIELDS
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
        dr = config.disaster_recovery
        if dr is not None:
            # What the DR services' tasks read (ECS wants a replica's full ARN, which only this
            # stack can spell: the suffix is the original's).
            secrets = self.secrets
            for secret, purpose, field in (
                (secrets.config_secret, "config", None),
                *((secrets.betfair_secret, "betfair", field) for field in BETFAIR_FIELDS),
            ):
                cdk.CfnOutput(
                    self,
                    replica_value_output(purpose, field),
                    value=replica_value_from(secret, region=dr.region, field=field),
                    description=f"{names.secret(purpose)}{'.' + field if field else ''} in {dr.region} "
                    f"(read by {names.stack('services', dr=True)})",
                )
