"""The API name in Route 53 (components/edge/dns.py): without a hosted zone, only the primary's
health check; with one, the PRIMARY and SECONDARY failover records each region's services stack
owns, and the switch `make dr-failover` pins."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import HOSTED_ZONE as ZONE
from tests.support import STACKS, resources

PRIMARY, DR = "clever-better-prod-services", "clever-better-prod-dr-services"


@pytest.fixture(scope="module")
def zoned(zoned_synth: tuple[list[str], dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    return zoned_synth[1]


def _public_balancer(template: dict[str, Any]) -> str:
    (found,) = [
        logical
        for logical, b in resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer").items()
        if b["Properties"]["Scheme"] == "internet-facing"
    ]
    return found


def _checks(template: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Health checks by Name tag: (logical id, HealthCheckConfig)."""
    found = {}
    for logical, check in resources(template, "AWS::Route53::HealthCheck").items():
        (name,) = [t["Value"] for t in check["Properties"]["HealthCheckTags"] if t["Key"] == "Name"]
        found[name] = (logical, check["Properties"]["HealthCheckConfig"])
    return found


def test_without_a_zone_no_record_and_only_the_primary_regions_health_checks(
    templates: dict[str, Any],
) -> None:
    assert [name for name, t in templates.items() if resources(t, "AWS::Route53::RecordSet")] == []
    checks = {name: sorted(_checks(t)) for name, t in templates.items() if _checks(t)}
    assert checks == {
        "clever-better-dev-services": ["clever-better-dev-api-health"],
        "clever-better-staging-services": ["clever-better-staging-api-health"],
        PRIMARY: ["clever-better-prod-api-health"],
    }


@pytest.mark.parametrize(
    "stack, role, region, prefix",
    [
        # make dr-failover pins the PRIMARY's switch at 2 (always unhealthy) ...
        (PRIMARY, "PRIMARY", "us-east-1", "clever-better-prod"),
        # ... and the SECONDARY's at 0 (always healthy): a dip in the DR check keeps the name there.
        (DR, "SECONDARY", "us-west-2", "clever-better-prod-dr"),
    ],
)
def test_each_region_owns_its_failover_record_behind_a_switch_over_its_load_balancers_check(
    zoned: dict[str, dict[str, Any]], stack: str, role: str, region: str, prefix: str
) -> None:
    template = zoned[stack]
    assert STACKS[stack][1] == region
    checks = _checks(template)
    assert sorted(checks) == [f"{prefix}-api-failover", f"{prefix}-api-health"]
    endpoint, endpoint_config = checks[f"{prefix}-api-health"]
    switch, switch_config = checks[f"{prefix}-api-failover"]
    # One child, threshold 1: healthy while the region's endpoint check is.
    assert switch_config == {
        "Type": "CALCULATED",
        "ChildHealthChecks": [{"Ref": endpoint}],
        "HealthThreshold": 1,
        "Inverted": False,
    }
    balancer = _public_balancer(template)
    # The load balancer itself: at zero tasks (the pilot light) the DR check fails, and with
    # both unhealthy Route 53 answers the primary.
    assert endpoint_config["FullyQualifiedDomainName"] == {"Fn::GetAtt": [balancer, "DNSName"]}
    assert (endpoint_config["Type"], endpoint_config["ResourcePath"], endpoint_config["SearchString"]) == (
        "HTTPS_STR_MATCH",
        "/health",
        "ok",
    )
    ((_, record),) = resources(template, "AWS::Route53::RecordSet").items()
    assert record["Properties"] == {
        "HostedZoneId": ZONE,
        "Name": "api.clever-better.com",
        "Type": "A",
        "SetIdentifier": region,
        "Failover": role,
        "HealthCheckId": {"Ref": switch},
        "AliasTarget": {
            "DNSName": {"Fn::GetAtt": [balancer, "DNSName"]},
            "HostedZoneId": {"Fn::GetAtt": [balancer, "CanonicalHostedZoneID"]},
            # blue/green keeps an empty target group: the explicit checks decide.
            "EvaluateTargetHealth": False,
        },
    }


def test_with_a_zone_only_the_services_stacks_hold_records_and_the_p0_still_reads_the_endpoint(
    zoned: dict[str, dict[str, Any]],
) -> None:
    holders = sorted(name for name, t in zoned.items() if resources(t, "AWS::Route53::RecordSet"))
    assert holders == [DR, PRIMARY]
    alarms = resources(zoned["clever-better-prod-monitoring"], "AWS::CloudWatch::Alarm")
    (unreachable,) = [
        a["Properties"] for a in alarms.values() if a["Properties"].get("Namespace") == "AWS/Route53"
    ]
    (dimension,) = unreachable["Dimensions"]
    (imported,) = dimension["Value"].values()
    exports = {o["Export"]["Name"]: o["Value"] for o in zoned[PRIMARY]["Outputs"].values() if "Export" in o}
    endpoint, _ = _checks(zoned[PRIMARY])["clever-better-prod-api-health"]
    # The endpoint, not the switch: a pinned switch must not read as the primary being down.
    assert exports[imported] == {"Ref": endpoint}


def test_the_certificate_is_validated_in_the_zone_in_both_regions(zoned: dict[str, dict[str, Any]]) -> None:
    for name in (PRIMARY, DR):
        (certificate,) = resources(zoned[name], "AWS::CertificateManager::Certificate").values()
        assert certificate["Properties"]["DomainValidationOptions"] == [
            {"DomainName": "api.clever-better.com", "HostedZoneId": ZONE}
        ], name


def test_cdk_nag_passes_with_a_zone(zoned_synth: tuple[list[str], dict[str, dict[str, Any]]]) -> None:
    found, templates = zoned_synth
    assert {PRIMARY, DR} <= set(templates)
    assert found == []


def test_a_zone_adds_only_record_sets_which_the_drift_check_can_read(
    templates: dict[str, Any], zoned: dict[str, dict[str, Any]]
) -> None:
    from components.monitoring.drift import READ_ACTIONS

    def kinds(found: dict[str, dict[str, Any]]) -> set[str]:
        return {r["Type"] for t in found.values() for r in t["Resources"].values()}

    assert kinds(zoned) - kinds(templates) == {"AWS::Route53::RecordSet"}
    assert READ_ACTIONS["AWS::Route53::RecordSet"] == (
        "route53:GetHostedZone",
        "route53:ListHostedZones",
        "route53:ListResourceRecordSets",
    )
