"""The API name in Route 53: the public endpoint's health checks and, with a hosted zone,
failover records for `api.clever-better.com`.

- `EndpointHealthCheck` asks a region's public load balancer for the first smoke check
  (`/health`, body searched for "ok"). The primary region's always exists: its `AWS/Route53
  HealthCheckStatus` metric feeds the P0 `primary-unreachable` alarm (config/alarms.py), and
  `make dr-failover` reads its checkers' view. It checks the load balancer's own DNS name, not
  the API name: once the API name fails over, a check on the name would watch the DR region
  and report the primary healthy again.
- `FailoverRecords` (only with `deployment.hosted_zone_id`): each region's alias record
  (PRIMARY in the primary region, SECONDARY in the DR region) answers while its *switch* is
  healthy: a CALCULATED check over the region's endpoint check, HealthThreshold 1. At zero
  tasks (the pilot light) the DR check fails, and with both unhealthy Route 53 answers the
  primary (Route 53 API Reference, ResourceRecordSet, Failover). `make dr-failover` pins the
  name to the DR region: the PRIMARY's switch to 2 (more than its one child: "always ...
  unhealthy") and the SECONDARY's to 0 ("always ... healthy"), so neither a primary that comes
  back mid-incident nor a dip in the DR region's check sends traffic to the stale database;
  `make dr-failback` sets both back to 1.

Records do not evaluate the load balancer's target health: blue/green keeps an empty target
group beside the live one, and the explicit checks say exactly what "healthy" means. The
monitoring stack imports the primary's endpoint check id: a change that replaces the check
(its Type, or RequestInterval) needs the monitoring stack's alarm moved off it first.
Route 53 publishes health-check metrics only in us-east-1 (Route 53 Developer Guide,
"Monitoring health check status and getting notifications"), where the primary's stacks
deploy; a template test holds every alarm on them there.
"""

from __future__ import annotations

from enum import Enum

import aws_cdk as cdk
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from constructs import Construct

from config.model import SmokeCheck
from config.names import FAILOVER_SWITCH_THRESHOLD

# Route 53 marks the endpoint unhealthy after this many failed checks, this many seconds apart
# (30 s is the standard interval; 10 s costs more and cannot be changed after creation).
REQUEST_INTERVAL_SECONDS = 30
FAILURE_THRESHOLD = 3


class Failover(Enum):
    PRIMARY = "PRIMARY"
    SECONDARY = "SECONDARY"


class EndpointHealthCheck(Construct):
    """Attributes: ``health_check`` (its id is the P0's `HealthCheckId`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        load_balancer: elbv2.ILoadBalancerV2,
        check: SmokeCheck,
    ) -> None:
        super().__init__(scope, construct_id)
        # With a body to find, Route 53 searches the first 5,120 bytes of the answer for it.
        matching = check.body_contains is not None
        self.health_check = route53.HealthCheck(
            self,
            "HealthCheck",
            type=route53.HealthCheckType.HTTPS_STR_MATCH if matching else route53.HealthCheckType.HTTPS,
            fqdn=load_balancer.load_balancer_dns_name,
            port=443,
            resource_path=check.path,
            search_string=check.body_contains,
            # No SNI: the load balancer's name is on no certificate of ours, and without SNI
            # it answers with its default one (the API name's).
            enable_sni=False,
            request_interval=cdk.Duration.seconds(REQUEST_INTERVAL_SECONDS),
            failure_threshold=FAILURE_THRESHOLD,
        )
        cdk.Tags.of(self.health_check).add("Name", name)


class FailoverRecords(Construct):
    """One region's failover alias record for the API name and the switch behind it, which
    `make dr-failover` pins. Attributes: ``switch``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role: Failover,
        domain_name: str,
        hosted_zone_id: str,
        load_balancer: elbv2.ILoadBalancerV2,
        endpoint: EndpointHealthCheck,
        switch_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.switch = route53.HealthCheck(
            self,
            "Switch",
            type=route53.HealthCheckType.CALCULATED,
            child_health_checks=[endpoint.health_check],
            health_threshold=FAILOVER_SWITCH_THRESHOLD,
        )
        cdk.Tags.of(self.switch).add("Name", switch_name)
        route53.CfnRecordSet(
            self,
            "Record",
            hosted_zone_id=hosted_zone_id,
            name=domain_name,
            type="A",
            # The region it answers with: what an operator reading the zone needs to know.
            set_identifier=cdk.Stack.of(self).region,
            failover=role.value,
            health_check_id=self.switch.health_check_id,
            alias_target=route53.CfnRecordSet.AliasTargetProperty(
                dns_name=load_balancer.load_balancer_dns_name,
                hosted_zone_id=load_balancer.load_balancer_canonical_hosted_zone_id,
                evaluate_target_health=False,
            ),
        )
