from __future__ import annotations

from constructs import Construct

from components.log_bucket import log_bucket
from components.security import ComplianceRules, ForwardToPrimary, ThreatDetection
from config.model import EnvironmentConfig
from stacks.base import CleverBetterStack


class DisasterRecoveryAuditStack(CleverBetterStack):
    """Stateful, in the DR region of the environment that owns its account's baseline: GuardDuty
    and AWS Config are regional, and the DR region holds data (backup copies, bucket and secret
    replicas). Its findings and non-compliance go to the primary region's event bus, where the
    audit stack routes them; the primary's multi-region trail already records this region."""

    UNIT = "audit"
    STATEFUL = True
    SUMMARY = "GuardDuty and AWS Config rules of the DR region, forwarded to the primary region"

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id, config=config, dr=True)
        self.detection = ThreatDetection(self, "ThreatDetection", config=config, route=False)
        deliveries = log_bucket(
            self,
            "ConfigDeliveries",
            name=None,
            retention_days=config.security.audit_bucket_retention_days,
            removal_policy=self.stateful_removal_policy,
            reason="Receives AWS Config's configuration snapshots and history of the DR region, which "
            "Config delivers as config.amazonaws.com; SSE-S3, as every log destination of ours.",
        )
        self.compliance = ComplianceRules(
            self, "Compliance", config=config, delivery_bucket=deliveries, route=False
        )
        self.forward = ForwardToPrimary(self, "Forward", primary_region=config.region)
