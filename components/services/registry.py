"""The image repositories (runbook names: bot, ml-service, data-ingestion; and mlflow, the
tracking server's), and the settings ECR gives the services' replicas in the DR region."""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

from components.context import UnitContext
from components.naming import pascal
from config.model import SERVICES
from config.names import MLFLOW

# The DR region runs the three services only, so only theirs are replicated.
REPOSITORIES = (*SERVICES, MLFLOW)
KEEP_IMAGES = 50  # enough releases to roll back through, bounded storage
UNTAGGED_DAYS = 7
# One lifecycle policy text for the repositories and their replicas (ECR's JSON document).
LIFECYCLE_POLICY = json.dumps(
    {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Untagged images go after {UNTAGGED_DAYS} days",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countNumber": UNTAGGED_DAYS,
                    "countUnit": "days",
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"Keep the newest {KEEP_IMAGES} images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": KEEP_IMAGES,
                },
                "action": {"type": "expire"},
            },
        ]
    },
    separators=(",", ":"),
)
TAG_MUTABILITY = ecr.TagMutability.IMMUTABLE


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
        for service in REPOSITORIES:
            repository = ecr.Repository(
                self,
                pascal(service),
                repository_name=names.repository(service),
                image_scan_on_push=True,
                image_tag_mutability=TAG_MUTABILITY,
                encryption=ecr.RepositoryEncryption.KMS,
                encryption_key=context.key,
                removal_policy=context.removal_policy,
            )
            # The text, not lifecycle_rules: the replicas' creation template gets the same text.
            cfn = repository.node.default_child
            assert isinstance(cfn, ecr.CfnRepository)
            cfn.lifecycle_policy = ecr.CfnRepository.LifecyclePolicyProperty(
                lifecycle_policy_text=LIFECYCLE_POLICY
            )
            self.repositories[service] = repository
        if replica_region:
            # Registry-wide (one per account and region): copies every push of our three
            # repositories to the DR region, where the DR deployment pulls them. ECR creates
            # the replicas there from ReplicaSettings (the DR stage's registry stack).
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


class ReplicaSettings(Construct):
    """What ECR gives the repositories it creates in this (the DR) region when it replicates
    ours: a repository creation template for replication with the primary's immutable tags and
    lifecycle policy, encrypted with this region's key (`context.key`). No scan-on-push:
    templates have no scanning setting; images are scanned on push in the primary region and a
    replica is the same digest.

    ECR applies a template only to repositories created after it exists: the DR stage deploys
    before production's registry (make deploy-production). Using a KMS key in a template
    needs a role of ours that ECR assumes (the ECR user guide's policy, scoped to our
    repositories and this key).

    Attributes: ``template``, ``role``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, context: UnitContext) -> None:
        super().__init__(scope, construct_id)
        names, key = context.names, context.key
        stack = cdk.Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("ecr.amazonaws.com"),
            description=f"ECR creates {names.prefix}'s replica repositories in {stack.region} with it",
        )
        policy = iam.ManagedPolicy(
            self,
            "Policy",
            statements=[
                iam.PolicyStatement(
                    actions=["ecr:CreateRepository", "ecr:ReplicateImage", "ecr:TagResource"],
                    resources=[
                        stack.format_arn(
                            service="ecr", resource="repository", resource_name=names.repository(s)
                        )
                        for s in SERVICES
                    ],
                ),
                iam.PolicyStatement(
                    actions=["kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant"], resources=[key.key_arn]
                ),
            ],
        )
        self.role.add_managed_policy(policy)
        self.template = ecr.CfnRepositoryCreationTemplate(
            self,
            "Template",
            # Our repositories have no namespace, so ROOT: every repository ECR creates here by
            # replication (only ours are replicated in this account).
            prefix="ROOT",
            applied_for=["REPLICATION"],
            description=f"Replicas of {names.prefix}'s repositories: the primary's settings",
            image_tag_mutability=TAG_MUTABILITY.value,
            encryption_configuration=ecr.CfnRepositoryCreationTemplate.EncryptionConfigurationProperty(
                encryption_type="KMS", kms_key=key.key_arn
            ),
            lifecycle_policy=LIFECYCLE_POLICY,
            custom_role_arn=self.role.role_arn,
        )
