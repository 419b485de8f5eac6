"""What every Clever Better stack shares: explicit env, fixed AZs, tags, protection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from constructs import Construct

from components.context import UnitContext
from components.keys import encryption_key
from config.model import EnvironmentConfig
from config.names import PROJECT

# Placeholder AZ names for the CDK's per-zone planning, fixed so synth stays offline and
# deterministic (no cdk.context.json lookups); the subnets themselves are pinned by zone ID
# from config (components/network/network.py).
AZ_SUFFIXES = ("a", "b", "c")
UNTAGGED = [
    # The CDK tags DBProxyTargetGroup, which CloudFormation rejects (F3002).
    "AWS::RDS::DBProxyTargetGroup",
    # ECS owns blue/green listener rules' weights: a tag change would make CloudFormation
    # update the rule and rewrite its actions (aws-cdk#36649), so rules carry no stack tags.
    "AWS::ElasticLoadBalancingV2::ListenerRule",
]


class CleverBetterStack(cdk.Stack):
    """Each stack class says once what it is: its unit (the stack name's last word), whether it
    holds state, and a one-line summary for its description."""

    UNIT: ClassVar[str]
    STATEFUL: ClassVar[bool]
    SUMMARY: ClassVar[str]
    # The DR region's twin, where it differs.
    DR_SUMMARY: ClassVar[str | None] = None

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, dr: bool = False
    ) -> None:
        # The DR flag decides the region: the environment's own, or its DR region.
        region = self.region_of(config, dr=dr)
        unit = self.UNIT
        super().__init__(
            scope,
            construct_id,
            stack_name=config.names.stack(unit, dr=dr),
            env=cdk.Environment(account=config.account, region=region),
            description=(
                f"Clever Better {config.name}{' DR' if dr else ''} {unit}: "
                f"{(self.DR_SUMMARY if dr else None) or self.SUMMARY}"
            ),
            # Stateful stacks (network, data, secrets, registry) cannot be deleted by accident
            # in production.
            termination_protection=self.STATEFUL and config.termination_protection,
        )
        self.config = config
        self._zones = [f"{region}{suffix}" for suffix in AZ_SUFFIXES]
        for key, value in {
            "Project": PROJECT,
            "Environment": config.name,
            "Unit": unit,
            "ManagedBy": "aws-cdk",
            **config.tags,
        }.items():
            cdk.Tags.of(self).add(key, value, exclude_resource_types=UNTAGGED)

    @staticmethod
    def region_of(config: EnvironmentConfig, *, dr: bool) -> str:
        if not dr:
            return config.region
        assert config.disaster_recovery is not None, f"{config.name} has no DR region"
        return config.disaster_recovery.region

    @property
    def availability_zones(self) -> list[str]:
        return self._zones

    @property
    def stateful_removal_policy(self) -> cdk.RemovalPolicy:
        """Production keeps stateful data; other environments clean up after themselves."""
        return (
            cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
            if self.config.retain_stateful
            else cdk.RemovalPolicy.DESTROY
        )

    def unit_key(
        self, construct_id: str, *, alias: str, description: str, log_group_names: Sequence[str] = ()
    ) -> kms.Key:
        """The stack's rotating key, kept as stateful data is (it decrypts what outlives the
        stack); `log_group_names` may be encrypted with it."""
        return encryption_key(
            self,
            construct_id,
            alias=alias,
            description=description,
            removal_policy=self.stateful_removal_policy,
            log_group_names=log_group_names,
        )

    def unit_context(self, key: kms.IKey) -> UnitContext:
        """What this stack's constructs share: names, `key`, log retention, removal policy."""
        return UnitContext(
            names=self.config.names,
            key=key,
            log_retention_days=self.config.log_retention_days,
            removal_policy=self.stateful_removal_policy,
        )
