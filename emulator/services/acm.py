"""Certificate Manager: certificates are requested and stay PENDING_VALIDATION (nobody answers DNS)."""

from __future__ import annotations

from typing import Any

from moto.acm.models import acm_backends
from moto.core.common_models import CloudFormationModel

from emulator.services.base import Fixes, FromProperties, Models, tags


class Certificate(FromProperties, CloudFormationModel):
    """AWS::CertificateManager::Certificate: requested, left pending validation."""

    def __init__(self, arn: str) -> None:
        self.arn = arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CertificateManager::Certificate"

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> Certificate:
        arn = acm_backends[account_id][region_name].request_certificate(
            domain_name=props["DomainName"],
            idempotency_token=resource_name[:32],
            subject_alt_names=props.get("SubjectAlternativeNames") or [],
            tags=tags(props),
        )
        return cls(arn)


MODELS: Models = (Certificate,)
FIXES: Fixes = {}
