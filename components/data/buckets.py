"""The model registry (MLflow artefacts) and backups buckets, their access logs and DR replicas."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from components.context import Replica, UnitContext
from components.log_bucket import log_bucket
from components.nag import acknowledge

PURPOSES = ("mlflow", "backups")


class DataBuckets(Construct):
    """Versioned, KMS-encrypted, TLS-only, private, access-logged buckets with lifecycle rules;
    in production each replicates to its twin in the DR region.

    Attributes: ``buckets`` (purpose -> bucket), ``access_logs``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context: UnitContext,
        noncurrent_version_days: int,
        replica: Replica | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._context = context
        key, removal_policy = context.key, context.removal_policy
        self.access_logs = log_bucket(
            self,
            "AccessLogs",
            name=self.bucket_name("access-logs"),
            retention_days=context.log_retention_days,
            removal_policy=removal_policy,
            reason="This is the access-log bucket itself: logging it into itself would loop, S3 server "
            "access logging cannot write to SSE-KMS buckets, and log copies in the DR region are not needed.",
        )
        self.buckets: dict[str, s3.Bucket] = {}
        for purpose in PURPOSES:
            bucket = s3.Bucket(
                self,
                purpose.capitalize(),
                bucket_name=self.bucket_name(purpose),
                encryption=s3.BucketEncryption.KMS,
                encryption_key=key,
                bucket_key_enabled=True,
                enforce_ssl=True,
                versioned=True,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                server_access_logs_bucket=self.access_logs,
                server_access_logs_prefix=f"{purpose}/",
                lifecycle_rules=[
                    s3.LifecycleRule(
                        id="expire-old-versions",
                        noncurrent_version_expiration=cdk.Duration.days(noncurrent_version_days),
                    ),
                    s3.LifecycleRule(
                        id="abort-incomplete-uploads",
                        abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                    ),
                ],
                removal_policy=removal_policy,
            )
            self.buckets[purpose] = bucket
            if replica is not None:
                self._replicate(bucket, purpose, key, replica.region, replica.key.key_arn)
            else:
                acknowledge(
                    bucket.node.default_child or bucket,
                    "Cross-region copies are for production only (the DR region); this is a "
                    "non-production bucket or already the DR replica.",
                    "NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled",
                )

    def bucket_name(self, purpose: str, *, region: str | None = None) -> str:
        """The bucket's fixed name in this stack's region (or `region`, its DR twin's)."""
        return self._context.bucket_name(self, purpose, region=region)

    def bucket_arn(self, purpose: str, *, region: str | None = None) -> str:
        """By name, not by reference: readable in review, and no cross-stack reference (or, for
        the replication role the bucket itself names, no dependency cycle)."""
        return f"arn:{cdk.Stack.of(self).partition}:s3:::{self.bucket_name(purpose, region=region)}"

    def grant_objects(self, role: iam.IRole, purpose: str, *, prefix: str = "", delete: bool = False) -> None:
        """List the `purpose` bucket and read and write its objects (under `prefix`, if one is
        given: `models/`; `delete`: and delete them), with its key."""
        arn = self.bucket_arn(purpose)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[arn],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}} if prefix else None,
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", *(["s3:DeleteObject"] if delete else [])],
                resources=[f"{arn}/{prefix}*"],
            )
        )
        acknowledge(
            role.node.find_child("DefaultPolicy"),
            f"Object read{', write and delete' if delete else ' and write'} in the {purpose} bucket only: "
            "model artefacts have "
            "generated keys, so objects are granted by the bucket's key prefix.",
            f"AwsSolutions::AwsSolutions-IAM5[Resource::{arn}/{prefix}*]",
        )
        key = self.buckets[purpose].encryption_key
        assert key is not None
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key.key_arn])
        )

    def _replicate(
        self, bucket: s3.Bucket, purpose: str, key: kms.IKey, region: str, replica_key_arn: str
    ) -> None:
        destination = self.bucket_arn(purpose, region=region)
        source = self.bucket_arn(purpose)
        role = iam.Role(
            self,
            f"{purpose.capitalize()}ReplicationRole",
            assumed_by=iam.ServicePrincipal("s3.amazonaws.com"),
            description=f"Replicates {self.bucket_name(purpose)} to {region}",
        )
        policy = iam.ManagedPolicy(
            self,
            f"{purpose.capitalize()}ReplicationPolicy",
            statements=[
                iam.PolicyStatement(
                    actions=["s3:GetReplicationConfiguration", "s3:ListBucket"], resources=[source]
                ),
                iam.PolicyStatement(
                    actions=[
                        "s3:GetObjectVersionForReplication",
                        "s3:GetObjectVersionAcl",
                        "s3:GetObjectVersionTagging",
                    ],
                    resources=[f"{source}/*"],
                ),
                iam.PolicyStatement(
                    actions=["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                    resources=[f"{destination}/*"],
                ),
                iam.PolicyStatement(actions=["kms:Decrypt"], resources=[key.key_arn]),
                iam.PolicyStatement(
                    actions=["kms:Encrypt", "kms:GenerateDataKey"], resources=[replica_key_arn]
                ),
            ],
        )
        role.add_managed_policy(policy)
        acknowledge(
            policy,
            "Replication reads and writes object versions, which IAM addresses only as bucket/* "
            "(this bucket and its named DR twin); no other bucket is reachable.",
            *(f"AwsSolutions::AwsSolutions-IAM5[Resource::{arn}/*]" for arn in (source, destination)),
        )
        cfn = bucket.node.default_child
        assert isinstance(cfn, s3.CfnBucket)
        cfn.replication_configuration = s3.CfnBucket.ReplicationConfigurationProperty(
            role=role.role_arn,
            rules=[
                s3.CfnBucket.ReplicationRuleProperty(
                    id=f"to-{region}",
                    status="Enabled",
                    priority=1,
                    filter=s3.CfnBucket.ReplicationRuleFilterProperty(prefix=""),
                    delete_marker_replication=s3.CfnBucket.DeleteMarkerReplicationProperty(status="Enabled"),
                    source_selection_criteria=s3.CfnBucket.SourceSelectionCriteriaProperty(
                        sse_kms_encrypted_objects=s3.CfnBucket.SseKmsEncryptedObjectsProperty(
                            status="Enabled"
                        )
                    ),
                    destination=s3.CfnBucket.ReplicationDestinationProperty(
                        bucket=destination,
                        encryption_configuration=s3.CfnBucket.EncryptionConfigurationProperty(
                            replica_kms_key_id=replica_key_arn
                        ),
                    ),
                )
            ],
        )
