"""The three services' image repositories (runbook names: bot, ml-service, data-ingestion)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from constructs import Construct

from components.context import UnitContext
from components.naming import pascal
from config.model import SERVICES

KEEP_IMAGES = 50  # enough releases to roll back through, bounded storage
UNTAGGED_DAYS = 7


class ImageRepositories(Construct):
    """Scan on push, immutable tags (a tag always means the same image, so rollback is exact),
    KMS-encrypted, lifecycle-bounded; in production replicated to the DR region.

    Attributes: ``repositories`` (service name -> repository).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context: UnitContext,
        replica_region: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        names = context.names
        self.repositories: dict[str, ecr.Repository] = {}
        for service in SERVICES:
            self.repositories[service] = ecr.Repository(
                self,
                pascal(service),
                repository_name=names.repository(service),
                image_scan_on_push=True,
                image_tag_mutability=ecr.TagMutability.IMMUTABLE,
                encryption=ecr.RepositoryEncryption.KMS,
                encryption_key=context.key,
                lifecycle_rules=[
                    ecr.LifecycleRule(
                        rule_priority=1,
                        description=f"Untagged images go after {UNTAGGED_DAYS} days",
                        tag_status=ecr.TagStatus.UNTAGGED,
                        max_image_age=cdk.Duration.days(UNTAGGED_DAYS),
                    ),
                    ecr.LifecycleRule(
                        rule_priority=2,
                        description=f"Keep the newest {KEEP_IMAGES} images",
                        tag_status=ecr.TagStatus.ANY,
                        max_image_count=KEEP_IMAGES,
                    ),
                ],
                removal_policy=context.removal_policy,
            )
        if replica_region:
            # Registry-wide (one per account and region): copies every push of our three
            # repositories to the DR region, where the DR deployment pulls them.
            ecr.CfnReplicationConfiguration(
                self,
                "Replication",
                replication_configuration=ecr.CfnReplicationConfiguration.ReplicationConfigurationProperty(
                    rules=[
                        ecr.CfnReplicationConfiguration.ReplicationRuleProperty(
                            destinations=[
                                ecr.CfnReplicationConfiguration.ReplicationDestinationProperty(
                                    region=replica_region, registry_id=cdk.Stack.of(self).account
                                )
                            ],
                            repository_filters=[
                                ecr.CfnReplicationConfiguration.RepositoryFilterProperty(
                                    filter=names.repository(service), filter_type="PREFIX_MATCH"
                                )
                                for service in SERVICES
                            ],
                        )
                    ]
                ),
            )
