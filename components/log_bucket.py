"""Buckets that are log destinations themselves (S3 server access logs, ALB access logs)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct

from components.nag import acknowledge

# What a log destination cannot have, acknowledged with the caller's reason.
LOG_DESTINATION_FINDINGS = (
    "AwsSolutions::AwsSolutions-S1",
    "NIST.800.53.R5::NIST.800.53.R5-S3BucketLoggingEnabled",
    "NIST.800.53.R5::NIST.800.53.R5-S3DefaultEncryptionKMS",
    "NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled",
)


def log_bucket(
    scope: Construct,
    construct_id: str,
    *,
    name: str | None,
    retention_days: int,
    removal_policy: cdk.RemovalPolicy,
    reason: str,
) -> s3.Bucket:
    """`name` None: CloudFormation names it. SSE-S3 (the only encryption S3 server access
    logging and ELB can write to), TLS-only,
    private, versioned, logs expiring after `retention_days`."""
    bucket = s3.Bucket(
        scope,
        construct_id,
        bucket_name=name,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        versioned=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycle_rules=[
            s3.LifecycleRule(id="expire-logs", expiration=cdk.Duration.days(retention_days)),
            s3.LifecycleRule(id="expire-old-versions", noncurrent_version_expiration=cdk.Duration.days(7)),
        ],
        removal_policy=removal_policy,
    )
    acknowledge(bucket.node.default_child or bucket, reason, *LOG_DESTINATION_FINDINGS)
    return bucket
