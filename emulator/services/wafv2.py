"""WAFv2: web ACLs, their association with the load balancer, and logging. WAF inspects
nothing locally."""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.wafv2.models import wafv2_backends

from emulator.services.base import AppliedModel, Fixes, FromProperties, Models, tags


class WebAcl(FromProperties, CloudFormationModel):
    """AWS::WAFv2::WebACL (rules, default action and visibility as given)."""

    def __init__(self, acl: Any) -> None:
        self.acl = acl

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::WAFv2::WebACL"

    @property
    def physical_resource_id(self) -> str:
        return f"{self.acl.name}|{self.acl.id}|REGIONAL"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "Id")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return str(self.acl.arn if attribute_name == "Arn" else self.acl.id)

    @classmethod
    def create(cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str) -> WebAcl:
        acl = wafv2_backends[account_id][region_name].create_web_acl(
            name=props["Name"],
            visibility_config=props["VisibilityConfig"],
            default_action=props["DefaultAction"],
            scope=props["Scope"],
            description=props.get("Description", ""),
            tags=tags(props),
            rules=props.get("Rules", []),
            association_config=None,
            captcha_config=None,
            challenge_config=None,
            custom_response_bodies=None,
            token_domains=None,
        )
        return cls(acl)


class WebAclAssociation(AppliedModel):
    """AWS::WAFv2::WebACLAssociation."""

    def __init__(self, resource_arn: str) -> None:
        self.resource_arn = resource_arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::WAFv2::WebACLAssociation"

    @property
    def physical_resource_id(self) -> str:
        return self.resource_arn

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> WebAclAssociation:
        wafv2_backends[account_id][region_name].associate_web_acl(props["WebACLArn"], props["ResourceArn"])
        return cls(props["ResourceArn"])


class WafLogging(AppliedModel):
    """AWS::WAFv2::LoggingConfiguration."""

    def __init__(self, arn: str) -> None:
        self.arn = arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::WAFv2::LoggingConfiguration"

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> WafLogging:
        wafv2_backends[account_id][region_name].put_logging_configuration(
            arn=props["ResourceArn"],
            log_destination_configs=props["LogDestinationConfigs"],
            redacted_fields=props.get("RedactedFields"),
            managed_gy_firewall_manager=False,
            logging_filter=props.get("LoggingFilter") or {},
        )
        return cls(props["ResourceArn"])


MODELS: Models = (WebAcl, WebAclAssociation, WafLogging)
FIXES: Fixes = {}
