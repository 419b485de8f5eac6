"""What the constructs of one stack share, handed over once instead of argument by argument."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

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


@dataclass(frozen=True, kw_only=True)
class Replica:
    """Where production copies a stateful resource: the DR region, and the key there."""

    region: str
    key: kms.IKey
