"""The primary region's health as the internet sees it: a Route 53 health check on the public
endpoint's first smoke check (`https://api.clever-better.com/health`).

Its `AWS/Route53 HealthCheckStatus` metric feeds the P0 `primary-unreachable` alarm
(config/alarms.py). Route 53 publishes health-check metrics only in us-east-1 (Route 53
Developer Guide, "Monitoring health check status and getting notifications"), which is where
the primary region's monitoring stack deploys; a template test holds every such alarm there.
The checkers probe from Route 53's own regions, so the check also fails when the whole
primary region stops answering: the signal `make dr-failover` starts from.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_route53 as route53
from constructs import Construct

from config.model import SmokeCheck

# Route 53 marks the endpoint unhealthy after this many failed checks, this many seconds apart
# (30 s is the standard interval; 10 s costs more and cannot be changed after creation).
REQUEST_INTERVAL_SECONDS = 30
FAILURE_THRESHOLD = 3


class PrimaryHealthCheck(Construct):
    """Attributes: ``health_check`` (its id is the alarm's `HealthCheckId`)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, name: str, domain_name: str, check: SmokeCheck
    ) -> None:
        super().__init__(scope, construct_id)
        # With a body to find, Route 53 searches the first 5,120 bytes of the answer for it.
        matching = check.body_contains is not None
        self.health_check = route53.HealthCheck(
            self,
            "HealthCheck",
            type=route53.HealthCheckType.HTTPS_STR_MATCH if matching else route53.HealthCheckType.HTTPS,
            fqdn=domain_name,
            port=443,
            resource_path=check.path,
            search_string=check.body_contains,
            enable_sni=True,
            request_interval=cdk.Duration.seconds(REQUEST_INTERVAL_SECONDS),
            failure_threshold=FAILURE_THRESHOLD,
        )
        cdk.Tags.of(self.health_check).add("Name", name)
