"""What the constructs of one stack share, handed over once instead of argument by argument."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from components.nag import acknowledge
from components.retention import retention
from config.names import Names


@dataclass(frozen=True, kw_only=True)
class UnitContext:
    """The environment's names, the stack's key (for what its constructs store and log), how
    long their logs live, and what happens to their stateful resources when removed."""

    names: Names
    key: kms.IKey
    log_retention_days: int
    removal_policy: cdk.RemovalPolicy

    def bucket_name(self, scope: Construct, purpose: str, *, region: str | None = None) -> str:
        """The `purpose` bucket's fixed name in `scope`'s account and region (or `region`)."""
        stack = cdk.Stack.of(scope)
        return self.names.bucket(purpose, stack.account, region or stack.region)

    def log_group(self, scope: Construct, construct_id: str, *, name: str) -> logs.LogGroup:
        """Created by us, not by the service that writes to it: encrypted, and expiring."""
        return logs.LogGroup(
            scope,
            construct_id,
            log_group_name=name,
            encryption_key=self.key,
            retention=retention(self.log_retention_days),
            removal_policy=self.removal_policy,
        )

    def dead_letter_queue(self, scope: Construct, construct_id: str, *, purpose: str) -> sqs.Queue:
        """Where `purpose`'s events land after their retries: encrypted with the stack's key
        (whoever sends to it needs kms:GenerateDataKey and kms:Decrypt on it), TLS only, kept
        for SQS's longest 14 days. Its P1 alarm comes from config/alarms.py DEAD_LETTER_QUEUES."""
        queue = sqs.Queue(
            scope,
            construct_id,
            queue_name=self.names.dead_letter_queue(purpose),
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
            removal_policy=self.removal_policy,
        )
        acknowledge(
            queue,
            "It is itself a dead-letter queue: what lands here already failed its retries, and its "
            "alarm (config/alarms.py DEAD_LETTER_QUEUES) fires on the first message; a queue behind it "
            "would only hide them.",
            "AwsSolutions::AwsSolutions-SQS3",
        )
        return queue


@dataclass(frozen=True, kw_only=True)
class Replica:
    """Where production copies a stateful resource: the DR region, and the key there."""

    region: str
    key: kms.IKey
