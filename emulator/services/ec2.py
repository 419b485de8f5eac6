"""EC2: security group egress rules, the CDK's default-security-group lockdown, NAT IPs."""

from __future__ import annotations

from typing import Any

from moto.ec2.models import ec2_backends
from moto.ec2.models.elastic_ip_addresses import ElasticAddress

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
FIXES: Fixes = {
    # The NAT gateways' public IPs, which CloudFormation can GetAtt and moto cannot.
    ElasticAddress: Fix(attributes={"PublicIp": lambda eip: eip.public_ip}),
}
