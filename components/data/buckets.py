"""The model registry (MLflow artefacts) and backups buckets, their access logs and DR replicas."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from components.log_bucket import log_bucket
from components.nag import acknowledge

PURPOSES = ("mlflow", "backups")


def bucket_name(prefix: str, purpose: str, account: str, region: str) -> str:
    """Globally unique and predictable: `clever-better-prod-mlflow-123456789012-us-east-1`."""
    return f"{prefix}-{purpose}-{account}-{region}"


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
        prefix: str,
        key: kms.IKey,
        noncurrent_version_days: int,
        access_log_days: int,
        removal_policy: cdk.RemovalPolicy,
        replica_region: str | None,
        replica_key_arn: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.access_logs = log_bucket(
            self,
            "AccessLogs",
            name=bucket_name(prefix, "access-logs", stack.account, stack.region),
            retention_days=access_log_days,
            removal_policy=removal_policy,
            reason="This is the access-log bucket itself: logging it into itself would loop, S3 server "
            "access logging cannot write to SSE-KMS buckets, and log copies in the DR region are not needed.",
        )
        self.buckets: dict[str, s3.Bucket] = {}
        for purpose in PURPOSES:
            bucket = s3.Bucket(
                self,
                purpose.capitalize(),
                bucket_name=bucket_name(prefix, purpose, stack.account, stack.region),
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
            if replica_region and replica_key_arn:
                self._replicate(bucket, purpose, key, prefix, replica_region, replica_key_arn)
            else:
                acknowledge(
                    bucket.node.default_child or bucket,
                    "Cross-region copies are for production only (the DR region); this is a "
                    "non-production bucket or already the DR replica.",
                    "NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled",
                )

    def _replicate(
        self, bucket: s3.Bucket, purpose: str, key: kms.IKey, prefix: str, region: str, replica_key_arn: str
    ) -> None:
        stack = cdk.Stack.of(self)
        destination = f"arn:{stack.partition}:s3:::{bucket_name(prefix, purpose, stack.account, region)}"
        # By name, not by reference: the bucket names this role, so the role's policy
        # naming the bucket resource would be a dependency cycle.
        source = f"arn:{stack.partition}:s3:::{bucket_name(prefix, purpose, stack.account, stack.region)}"
        role = iam.Role(
            self,
            f"{purpose.capitalize()}ReplicationRole",
            assumed_by=iam.ServicePrincipal("s3.amazonaws.com"),
            description=f"Replicates {bucket_name(prefix, purpose, stack.account, stack.region)} to {region}",
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
