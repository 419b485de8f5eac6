from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from components.keys import encryption_key
from components.naming import pascal
from components.network import Network
from components.services import ServicesCluster, log_group_name
from config.model import SERVICES, EnvironmentConfig
from stacks.base import CleverBetterStack


class ServicesStack(CleverBetterStack):
    """Stateless: the ECS cluster the bot, ml-service and data-ingestion run in.

    Its log groups and their key are kept in production even though the stack is not
    termination-protected: logs outlive any one version of the services.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, network: Network
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            unit="services",
            stateful=False,
            description=f"Clever Better {config.name} services: ECS cluster and service log groups",
        )
        name = config.prefix
        key = encryption_key(
            self,
            "LogsKey",
            alias=f"alias/{name}/service-logs",
            description=f"Encrypts {name}'s service logs",
            removal_policy=self.stateful_removal_policy,
            log_group_names=[log_group_name(name, service) for service in SERVICES],
        )
        self.cluster = ServicesCluster(
            self,
            "Services",
            name=name,
            vpc=network.vpc,
            key=key,
            log_retention_days=config.log_retention_days,
            removal_policy=self.stateful_removal_policy,
        )
        cdk.CfnOutput(self, "ClusterName", value=self.cluster.cluster.cluster_name, description="ECS cluster")
        for service, group in self.cluster.log_groups.items():
            cdk.CfnOutput(
                self,
                pascal(service) + "LogGroup",
                value=group.log_group_name,
                description=f"{service} logs",
            )
