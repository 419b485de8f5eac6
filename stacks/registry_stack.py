from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from components.naming import pascal
from components.services import ImageRepositories, ReplicaSettings
from config.model import EnvironmentConfig
from stacks.base import CleverBetterStack


class RegistryStack(CleverBetterStack):
    """Stateful: the services' container images (the artefacts every deploy and rollback uses)."""

    UNIT = "registry"
    STATEFUL = True
    SUMMARY = "ECR repositories bot, ml-service, data-ingestion, mlflow"

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id, config=config)
        names = config.names
        key = self.unit_key(
            "ImagesKey",
            alias=names.key_alias("images"),
            description=f"Encrypts {names.prefix}'s container images",
        )
        dr = config.disaster_recovery
        self.images = ImageRepositories(
            self,
            "Images",
            context=self.unit_context(key),
            replica_region=dr.region if dr else None,
        )
        for name, repository in self.images.repositories.items():
            cdk.CfnOutput(
                self,
                pascal(name) + "RepositoryUri",
                value=repository.repository_uri,
                description=f"docker push target for {name}",
            )


class DisasterRecoveryRegistryStack(CleverBetterStack):
    """Stateful, in the DR region: the key and settings ECR creates the replica repositories
    with (the images themselves arrive by replication)."""

    UNIT = "registry"
    STATEFUL = True
    SUMMARY = "settings and key for the replicated ECR repositories"

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id, config=config, dr=True)
        names = config.names
        key = self.unit_key(
            "ImagesKey",
            alias=names.key_alias("images"),
            description=f"Encrypts {names.prefix}'s replicated container images in {self.region}",
        )
        self.replicas = ReplicaSettings(self, "Replicas", context=self.unit_context(key))
