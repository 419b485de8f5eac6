from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from components.network import Network
from config.model import EnvironmentConfig
from stacks.base import CleverBetterStack


class NetworkStack(CleverBetterStack):
    """Stateful: the VPC. Its outputs are what operators and later stacks look up."""

    UNIT = "network"
    STATEFUL = True
    SUMMARY = "VPC, subnets, endpoints, flow logs"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        dr: bool = False,
    ) -> None:
        super().__init__(scope, construct_id, config=config, dr=dr)
        dr_config = config.disaster_recovery
        network = dr_config.network if dr and dr_config else config.network
        self.network = Network(
            self,
            "Network",
            names=config.names,
            config=network,
            availability_zones=self.availability_zones,
            removal_policy=self.stateful_removal_policy,
        )
        vpc = self.network.vpc
        cdk.CfnOutput(self, "VpcId", value=vpc.vpc_id, description="VPC id")
        cdk.CfnOutput(self, "VpcCidr", value=vpc.vpc_cidr_block, description="VPC IPv4 range")
        for label, subnets in (
            ("Public", vpc.public_subnets),
            ("Private", vpc.private_subnets),
            ("Isolated", vpc.isolated_subnets),
        ):
            cdk.CfnOutput(
                self,
                f"{label}SubnetIds",
                value=cdk.Fn.join(",", [s.subnet_id for s in subnets]),
                description=f"{label} subnet ids, one per AZ",
            )
        cdk.CfnOutput(
            self,
            "FlowLogGroupName",
            value=self.network.flow_log_group.log_group_name,
            description="VPC flow log group",
        )
