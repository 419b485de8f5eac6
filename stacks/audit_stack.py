from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from components.security import AuditTrail, ComplianceRules, ThreatDetection, github_oidc_provider
from config.model import EnvironmentConfig
from stacks.base import CleverBetterStack


class AuditStack(CleverBetterStack):
    """Stateful, account-wide: only in the environment that owns its account's baseline
    (security.account_baseline). The CloudTrail trail and its bucket, log group and metric
    filters; GuardDuty; the AWS Config recorder and rules; GitHub's OIDC provider. Its findings
    reach the alerting router through the monitoring stack's severity topics (by ARN)."""

    UNIT = "audit"
    STATEFUL = True
    SUMMARY = "account baseline: CloudTrail, GuardDuty, AWS Config rules, GitHub OIDC provider"

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id, config=config)
        self.trail = AuditTrail(self, "Trail", config=config, log_group_removal=self.stateful_removal_policy)
        self.detection = ThreatDetection(self, "ThreatDetection", config=config)
        self.compliance = ComplianceRules(
            self, "Compliance", config=config, delivery_bucket=self.trail.access_logs
        )
        self.github = github_oidc_provider(self)
        for output_id, value, description in (
            ("AuditBucketName", self.trail.bucket.bucket_name, "CloudTrail log files (validated by digest)"),
            (
                "ServiceLogsBucketName",
                self.trail.access_logs.bucket_name,
                "S3 access logs and AWS Config deliveries",
            ),
            ("DetectorId", self.detection.detector.ref, "GuardDuty detector of this account and region"),
        ):
            cdk.CfnOutput(self, output_id, value=value, description=description)
