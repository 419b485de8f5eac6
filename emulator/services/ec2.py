"""EC2: security group egress rules, the CDK's default-security-group lockdown, NAT IPs,
subnets pinned by zone ID."""

from __future__ import annotations

from typing import Any

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import ec2_backends
from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend
from moto.ec2.models.elastic_ip_addresses import ElasticAddress
from moto.ec2.models.subnets import Subnet
from moto.ec2.models.vpcs import VPC

from emulator.services.base import AppliedModel, Fix, Fixes, Models


class SecurityGroupEgress(AppliedModel):
    """AWS::EC2::SecurityGroupEgress, the twin of moto's SecurityGroupIngress."""

    def __init__(self, group_id: str) -> None:
        self.group_id = group_id

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::SecurityGroupEgress"

    @property
    def physical_resource_id(self) -> str:
        return self.group_id

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> SecurityGroupEgress:
        description = props.get("Description")
        ip_ranges = [{"CidrIp": props["CidrIp"], "Description": description}] if "CidrIp" in props else []
        groups = (
            [{"GroupId": props["DestinationSecurityGroupId"], "Description": description}]
            if "DestinationSecurityGroupId" in props
            else []
        )
        ec2_backends[account_id][region_name].authorize_security_group_egress(
            group_name_or_id=props["GroupId"],
            ip_protocol=str(props["IpProtocol"]),
            # None for all-traffic rules: moto accepts it, though its annotation says str.
            from_port=props.get("FromPort"),  # type: ignore[arg-type]
            to_port=props.get("ToPort"),  # type: ignore[arg-type]
            ip_ranges=ip_ranges,
            source_groups=groups,
        )
        return cls(props["GroupId"])


class RestrictDefaultSecurityGroup(AppliedModel):
    """Custom::VpcRestrictDefaultSG: does what the CDK's handler Lambda does (revoke every
    rule of the VPC's default security group), since no Lambda runs locally."""

    def __init__(self, group_id: str) -> None:
        self.group_id = group_id

    @staticmethod
    def cloudformation_type() -> str:
        return "Custom::VpcRestrictDefaultSG"

    @property
    def physical_resource_id(self) -> str:
        return self.group_id

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> RestrictDefaultSecurityGroup:
        group_id = props["DefaultSecurityGroupId"]
        group = ec2_backends[account_id][region_name].get_security_group_from_id(group_id)
        if group is None:
            raise ValueError(f"default security group {group_id} does not exist")
        group.ingress_rules = []
        group.egress_rules = []
        return cls(group_id)

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        """Like the CDK handler on delete: nothing to restore for a VPC that is going away."""


MODELS: Models = (SecurityGroupEgress, RestrictDefaultSecurityGroup)


def _subnet_properties(props: dict[str, Any]) -> dict[str, Any]:
    """moto's subnet handler reads only AvailabilityZone: a zone ID becomes the zone's name in
    moto's account (its own name-to-ID mapping); an unknown ID is refused as EC2 refuses it."""
    props = dict(props)
    zone_id = props.pop("AvailabilityZoneId", None)
    if zone_id is not None:
        names = [
            z.name for zones in RegionsAndZonesBackend.zones.values() for z in zones if z.zone_id == zone_id
        ]
        if not names:
            raise EC2ClientError(
                "InvalidParameterValue", f"Value ({zone_id}) for parameter availabilityZoneId is invalid."
            )
        props["AvailabilityZone"] = names[0]
    return props


def zone_id_of(subnet_id: str, account_id: str, region_name: str) -> str:
    """The physical zone (its ID) a subnet is in."""
    return str(ec2_backends[account_id][region_name].get_subnet(subnet_id).availability_zone_id)


def _vpc_after(vpc: Any, props: dict[str, Any]) -> None:
    """moto's VPC handler drops the DNS attributes (CloudFormation's defaults: support on,
    hostnames off); ENIs in the VPC get private DNS names only with hostnames on."""
    vpc.enable_dns_support = bool(props.get("EnableDnsSupport", True))
    vpc.enable_dns_hostnames = bool(props.get("EnableDnsHostnames", False))


FIXES: Fixes = {
    # The NAT gateways' public IPs, which CloudFormation can GetAtt and moto cannot.
    ElasticAddress: Fix(attributes={"PublicIp": lambda eip: eip.public_ip}),
    Subnet: Fix(properties=_subnet_properties),
    VPC: Fix(after_create=_vpc_after),
}
