"""The VPC every other unit runs in: three subnet tiers, flow logs, private endpoints."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from components.keys import encryption_key
from components.nag import acknowledge
from components.retention import retention
from config.model import NetworkConfig
from config.names import Names

# What private Fargate tasks and Lambdas reach without leaving the VPC: image pulls, logs,
# secrets/parameters, decryption, role assumption, metrics, and the ECS API (the deployment
# hooks describe their deployment). In every private subnet, only the first zone's, or none
# (`NetworkConfig.interface_endpoints`; config/model.py says when each is allowed).
INTERFACE_ENDPOINTS: dict[str, ec2.InterfaceVpcEndpointAwsService] = {
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "Ssm": ec2.InterfaceVpcEndpointAwsService.SSM,
    "Kms": ec2.InterfaceVpcEndpointAwsService.KMS,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "Monitoring": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
    "Ecs": ec2.InterfaceVpcEndpointAwsService.ECS,
}

PUBLIC_MASK = 24
PRIVATE_MASK = 20  # Fargate tasks and Lambdas: room for many ENIs
ISOLATED_MASK = 24  # databases only


def closed_security_group(
    scope: Construct, construct_id: str, *, vpc: ec2.IVpc, description: str, separate_rules: bool = False
) -> ec2.SecurityGroup:
    """A security group that lets nothing out until its owner adds the rules it needs.

    With `separate_rules`, every rule is its own resource (no inline rules), so a cdk-nag
    acknowledgement can sit on the one rule it is about instead of on the whole group.
    """
    return ec2.SecurityGroup(
        scope,
        construct_id,
        vpc=vpc,
        description=description,
        allow_all_outbound=False,
        disable_inline_rules=separate_rules,
    )


def https_out_security_group(
    scope: Construct, construct_id: str, *, vpc: ec2.IVpc, description: str, egress: str
) -> ec2.SecurityGroup:
    """A closed group whose one way out is HTTPS, to anywhere: the AWS APIs without an interface
    endpoint here, and third parties (Slack, PagerDuty) through NAT. `egress` says which."""
    group = closed_security_group(scope, construct_id, vpc=vpc, description=description)
    group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), egress)
    return group


class Network(Construct):
    """A VPC with public, private-with-egress and isolated subnets.

    Attributes: ``vpc``, ``flow_log_group``, ``flow_log_key``, ``flow_log_role``,
    ``endpoint_security_group`` (None when the VPC has no interface endpoints).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        config: NetworkConfig,
        availability_zones: Sequence[str],
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.vpc_cidr = config.vpc_cidr
        name = self.vpc_name = names.prefix
        log_group_name = names.flow_log_group

        self.flow_log_key = encryption_key(
            self,
            "FlowLogKey",
            alias=names.key_alias("flow-logs"),
            description=f"Encrypts the VPC flow logs of {name}",
            removal_policy=removal_policy,
            log_group_names=[log_group_name],
        )
        self.flow_log_group = logs.LogGroup(
            self,
            "FlowLogGroup",
            log_group_name=log_group_name,
            encryption_key=self.flow_log_key,
            retention=retention(config.flow_log_retention_days),
            removal_policy=removal_policy,
        )

        # Our own role with a managed policy: least privilege on this one log group
        # and no inline policy (NIST IAMNoInlinePolicy); trust limited to this account.
        self.flow_log_role = iam.Role(
            self,
            "FlowLogRole",
            description=f"Lets VPC Flow Logs write to {log_group_name}",
            assumed_by=iam.ServicePrincipal(
                "vpc-flow-logs.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
        )
        self.flow_log_role.add_managed_policy(
            iam.ManagedPolicy(
                self,
                "FlowLogWritePolicy",
                statements=[
                    iam.PolicyStatement(
                        actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                        resources=[self.flow_log_group.log_group_arn],
                    )
                ],
            )
        )

        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            vpc_name=name,
            ip_addresses=ec2.IpAddresses.cidr(config.vpc_cidr),
            availability_zones=list(availability_zones[: config.az_count]),
            nat_gateways=config.nat_gateways,
            subnet_configuration=[
                # No public IPs on launch: only the ALB and NAT gateways live here.
                ec2.SubnetConfiguration(
                    name="Public",
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=PUBLIC_MASK,
                    map_public_ip_on_launch=False,
                ),
                ec2.SubnetConfiguration(
                    name="Private",
                    subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS,
                    cidr_mask=PRIVATE_MASK,
                ),
                ec2.SubnetConfiguration(
                    name="Isolated",
                    subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                    cidr_mask=ISOLATED_MASK,
                ),
            ],
            restrict_default_security_group=True,
        )
        # The VPC and its subnets are what every ENI, database and endpoint sits in:
        # production keeps them even if they leave the template by mistake.
        subnets = [*self.vpc.public_subnets, *self.vpc.private_subnets, *self.vpc.isolated_subnets]
        for resource in (self.vpc, *subnets):
            resource.apply_removal_policy(removal_policy)
        # The CDK plans subnets per zone *name*; the template pins each one by zone *ID* from
        # config, the same physical zone in every account (names are shuffled per account).
        zone_of = dict(zip(availability_zones, config.zone_ids, strict=False))
        for subnet in subnets:
            cfn = subnet.node.default_child
            assert isinstance(cfn, ec2.CfnSubnet)
            cfn.add_property_deletion_override("AvailabilityZone")
            cfn.add_property_override("AvailabilityZoneId", zone_of[subnet.availability_zone])
        # L1 on purpose: the L2 FlowLog also gives the role an inline policy to
        # pass itself, which nothing needs (CloudFormation passes it, not the role).
        self.flow_log = ec2.CfnFlowLog(
            self,
            "FlowLog",
            resource_id=self.vpc.vpc_id,
            resource_type="VPC",
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_group_name=self.flow_log_group.log_group_name,
            deliver_logs_permission_arn=self.flow_log_role.role_arn,
        )

        # S3 (ECR image layers, buckets) through the free gateway endpoint.
        self.vpc.add_gateway_endpoint("S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3)

        self.endpoint_security_group = self._interface_endpoints(config)
        self._acknowledge()

    def _interface_endpoints(self, config: NetworkConfig) -> ec2.SecurityGroup | None:
        if config.interface_endpoints == "none":
            return None
        group = closed_security_group(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description=f"HTTPS from inside {self.vpc_name} to the interface endpoints",
        )
        group.add_ingress_rule(
            # The literal range, not the VPC's token, so the rule is checkable at synth.
            ec2.Peer.ipv4(config.vpc_cidr),
            ec2.Port.tcp(443),
            "HTTPS from the VPC",
        )
        # one-az: the first zone's private subnet only; private DNS sends every zone there.
        zones = self.vpc.availability_zones[:1] if config.interface_endpoints == "one-az" else None
        private = ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, availability_zones=zones
        )
        for endpoint_id, service in INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(
                f"{endpoint_id}Endpoint",
                service=service,
                subnets=private,
                security_groups=[group],
                private_dns_enabled=True,
                open=False,  # the security group above is the only way in
            )
        return group

    @property
    def nat_public_ips(self) -> list[str]:
        """The NAT gateways' Elastic IPs: the source address of anything private calling a
        public endpoint, including our own internet-facing load balancer."""
        ips = []
        for subnet in self.vpc.public_subnets:
            eip = subnet.node.try_find_child("EIP")
            if isinstance(eip, ec2.CfnEIP):
                ips.append(eip.attr_public_ip)
        return ips

    def _acknowledge(self) -> None:
        for subnet in self.vpc.public_subnets:
            acknowledge(
                subnet.node.find_child("DefaultRoute"),
                "Public subnets exist only for the internet-facing ALB and the NAT gateways; "
                "this default route to the internet gateway is what makes them public.",
                "NIST.800.53.R5::NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",
            )
