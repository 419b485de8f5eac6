"""The DR region's standby for the database: what a failover restores the database into.

Nothing here costs money or runs until `make dr-failover` restores production's data into it:
the restore needs a DB subnet group (without one RDS looks for a default VPC, which our
accounts need not have), the database's security groups and its parameter group, and the
log groups its exports write to (ours, encrypted and expiring, as in the primary).
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from constructs import Construct

from components.context import UnitContext
from components.data.database import DatabaseSecurityGroups, export_log_groups, parameter_group
from components.network import Network
from config.model import DatabaseConfig


class StandbyDatabase(Construct):
    """Attributes: ``subnet_group``, ``security_groups``, ``parameters``, ``log_groups``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context: UnitContext,
        network: Network,
        config: DatabaseConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        name = context.names.db_instance
        self.security_groups = DatabaseSecurityGroups(
            self, name=name, vpc=network.vpc, vpc_cidr=network.vpc_cidr
        )
        self.subnet_group = rds.SubnetGroup(
            self,
            "SubnetGroup",
            description=f"{name} restored in this region by make dr-failover (isolated subnets)",
            vpc=network.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            removal_policy=context.removal_policy,
        )
        self.parameters = parameter_group(self, name=name, config=config)
        self.log_groups = export_log_groups(self, context=context)
