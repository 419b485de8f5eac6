"""The emulator's Route 53 health checks (emulator/services/route53.py): created from
CloudFormation with what moto drops kept, and refused as CreateHealthCheck refuses them."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest

from tests.support import create_stack, stack_reasons

OURS = {
    "Type": "HTTPS_STR_MATCH",
    "FullyQualifiedDomainName": "dev-api.clever-better.com",
    "Port": 443,
    "ResourcePath": "/health",
    "SearchString": "ok",
    "EnableSNI": True,
    "RequestInterval": 30,
    "FailureThreshold": 3,
}


def _check(**changes: Any) -> dict[str, Any]:
    config = {**copy.deepcopy(OURS), **changes}
    config = {k: v for k, v in config.items() if v is not None}
    return {
        "Type": "AWS::Route53::HealthCheck",
        "Properties": {
            "HealthCheckConfig": config,
            "HealthCheckTags": [{"Key": "Name", "Value": "clever-better-dev-api-health"}],
        },
    }


def test_health_check_is_created_and_read_back_with_sni_and_tags(aws: None) -> None:
    stack = create_stack({"Check": _check()}, {"Id": {"Value": {"Ref": "Check"}}})
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack_reasons()
    (output,) = stack["Outputs"]
    route53 = boto3.client("route53", region_name="us-east-1")
    found = route53.get_health_check(HealthCheckId=output["OutputValue"])["HealthCheck"]["HealthCheckConfig"]
    assert (
        found["Type"] == "HTTPS_STR_MATCH"
        and found["FullyQualifiedDomainName"] == "dev-api.clever-better.com"
    )
    assert found["ResourcePath"] == "/health" and found["SearchString"] == "ok"
    assert found["EnableSNI"] is True and found["Port"] == 443
    assert (found["RequestInterval"], found["FailureThreshold"]) == (30, 3)
    tags = route53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=output["OutputValue"])
    assert tags["ResourceTagSet"]["Tags"] == [{"Key": "Name", "Value": "clever-better-dev-api-health"}]


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"Type": "HTTPX"}, "Invalid health check type 'HTTPX'"),
        ({"FullyQualifiedDomainName": None}, "needs IPAddress or FullyQualifiedDomainName"),
        ({"SearchString": None}, "SearchString is required for HTTPS_STR_MATCH"),
        ({"Type": "HTTPS"}, "SearchString applies only to HTTP_STR_MATCH and HTTPS_STR_MATCH, not HTTPS"),
        ({"SearchString": "x" * 256}, "SearchString is longer than 255 characters"),
        ({"RequestInterval": 60}, "RequestInterval 60 is invalid: expected 10 or 30"),
        ({"FailureThreshold": 11}, "FailureThreshold 11 is invalid: expected 1 to 10"),
        ({"Port": 70000}, "Port 70000 is invalid"),
        ({"Regions": ["us-east-1", "us-west-2"]}, "at least three of"),
        ({"Regions": ["us-east-1", "us-west-2", "mars-1"]}, "at least three of"),
        ({"Type": "TCP", "SearchString": None}, "ResourcePath does not apply to TCP health checks"),
    ],
)
def test_health_check_refused_like_create_health_check(
    aws: None, changes: dict[str, Any], reason: str
) -> None:
    stack = create_stack({"Check": _check(**changes)})
    reasons = stack_reasons()
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE", reasons
    assert any(reason in r for r in reasons), reasons
    assert not boto3.client("route53", region_name="us-east-1").list_health_checks()["HealthChecks"]


# --- CALCULATED checks and failover records (components/edge/dns.py) --------------------------

ZONE_NAME = "clever-better.com"
API = "api.clever-better.com"


def _endpoint_id() -> str:
    route53 = boto3.client("route53", region_name="us-east-1")
    config = {k: v for k, v in OURS.items() if k != "EnableSNI"}
    found = route53.create_health_check(CallerReference="endpoint", HealthCheckConfig=config)
    return str(found["HealthCheck"]["Id"])


def _switch(children: list[str], threshold: int | None = 1, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"Type": "CALCULATED", "ChildHealthChecks": children, **extra}
    if threshold is not None:
        config["HealthThreshold"] = threshold
    return {"Type": "AWS::Route53::HealthCheck", "Properties": {"HealthCheckConfig": config}}


def test_calculated_check_keeps_its_children_and_threshold(aws: None) -> None:
    child = _endpoint_id()
    stack = create_stack({"Switch": _switch([child])}, {"Id": {"Value": {"Ref": "Switch"}}})
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack_reasons()
    route53 = boto3.client("route53", region_name="us-east-1")
    found = route53.get_health_check(HealthCheckId=stack["Outputs"][0]["OutputValue"])["HealthCheck"]
    assert found["HealthCheckConfig"]["Type"] == "CALCULATED"
    assert found["HealthCheckConfig"]["ChildHealthChecks"] == [child]
    assert found["HealthCheckConfig"]["HealthThreshold"] == 1


@pytest.mark.parametrize(
    "children, threshold, extra, reason",
    [
        (["no-such-check"], 1, {}, "A health check with id no-such-check does not exist"),
        ([f"child-{i}" for i in range(257)], 1, {}, "takes at most 256 ChildHealthChecks, not 257"),
        (None, 1, {"RequestInterval": 30}, "RequestInterval do not apply to CALCULATED"),
        (None, 300, {}, "HealthThreshold 300 is invalid: expected 0 to 256"),
        (None, None, {}, "HealthThreshold None is invalid"),
        (None, 1, {"FullyQualifiedDomainName": API}, "FullyQualifiedDomainName do not apply to CALCULATED"),
    ],
)
def test_calculated_check_refused_like_create_health_check(
    aws: None, children: list[str] | None, threshold: int | None, extra: dict[str, Any], reason: str
) -> None:
    child = _endpoint_id()
    stack = create_stack({"Switch": _switch([child] if children is None else children, threshold, **extra)})
    reasons = stack_reasons()
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE", reasons
    assert any(reason in r for r in reasons), reasons


def _zone() -> str:
    route53 = boto3.client("route53", region_name="us-east-1")
    created = route53.create_hosted_zone(Name=ZONE_NAME, CallerReference="zone")
    return str(created["HostedZone"]["Id"]).rsplit("/", 1)[-1]


def _balancer(region: str) -> dict[str, Any]:
    ec2 = boto3.client("ec2", region_name=region)
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    elbv2 = boto3.client("elbv2", region_name=region)
    (balancer,) = elbv2.create_load_balancer(Name=f"lb-{region}", Subnets=subnets)["LoadBalancers"]
    return dict(balancer)


def _failover(
    zone: str, role: str, check: str | None, balancer: dict[str, Any], **changes: Any
) -> dict[str, Any]:
    props: dict[str, Any] = {
        "HostedZoneId": zone,
        "Name": API,
        "Type": "A",
        "SetIdentifier": "us-east-1" if role == "PRIMARY" else "us-west-2",
        "Failover": role,
        "HealthCheckId": check,
        "AliasTarget": {
            "DNSName": balancer["DNSName"],
            "HostedZoneId": balancer["CanonicalHostedZoneId"],
            "EvaluateTargetHealth": False,
        },
        **changes,
    }
    return {
        "Type": "AWS::Route53::RecordSet",
        "Properties": {k: v for k, v in props.items() if v is not None},
    }


def _records(zone: str) -> list[tuple[str, str | None, str | None]]:
    route53 = boto3.client("route53", region_name="us-east-1")
    found = route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    return sorted(
        (r["Name"].rstrip("."), r.get("SetIdentifier"), r.get("Failover")) for r in found if r["Type"] == "A"
    )


def test_failover_records_from_two_regions_and_one_stack_deleted_leaves_the_other(aws: None) -> None:
    zone, check = _zone(), _endpoint_id()
    primary, secondary = _balancer("us-east-1"), _balancer("us-west-2")
    first = create_stack({"Record": _failover(zone, "PRIMARY", check, primary)}, name="primary")
    assert first["StackStatus"] == "CREATE_COMPLETE", stack_reasons("primary")
    second = create_stack(
        {"Record": _failover(zone, "SECONDARY", None, secondary)}, name="secondary", region="us-west-2"
    )
    assert second["StackStatus"] == "CREATE_COMPLETE", stack_reasons("secondary", "us-west-2")
    assert _records(zone) == [(API, "us-east-1", "PRIMARY"), (API, "us-west-2", "SECONDARY")]
    boto3.client("cloudformation", region_name="us-west-2").delete_stack(StackName="secondary")
    assert _records(zone) == [(API, "us-east-1", "PRIMARY")]


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"SetIdentifier": None}, "needs a SetIdentifier and one policy"),
        ({"Failover": None}, "needs a SetIdentifier and one policy"),
        ({"Weight": 10}, "needs a SetIdentifier and one policy"),
        ({"Failover": "TERTIARY"}, "Invalid Failover 'TERTIARY'"),
        ({"HealthCheckId": "no-such-check"}, "A health check with id no-such-check does not exist"),
        ({"Name": "api.example.org"}, "is not permitted in zone"),
        ({"TTL": "60"}, "Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords]]"),
        (
            {
                "AliasTarget": {
                    "DNSName": "gone-1.us-east-1.elb.amazonaws.com",
                    "HostedZoneId": "Z35SXDOTRQ7X7K",
                }
            },
            "the alias target name does not lie within the target zone",
        ),
    ],
)
def test_failover_record_refused_like_change_resource_record_sets(
    aws: None, changes: dict[str, Any], reason: str
) -> None:
    zone, check, balancer = _zone(), _endpoint_id(), _balancer("us-east-1")
    record = _failover(zone, "PRIMARY", check, balancer)
    record["Properties"] = {k: v for k, v in {**record["Properties"], **changes}.items() if v is not None}
    stack = create_stack({"Record": record})
    reasons = stack_reasons()
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE", reasons
    assert any(reason in r for r in reasons), reasons
    assert _records(zone) == []


def test_a_failover_record_beside_a_simple_record_or_a_second_primary_is_refused(aws: None) -> None:
    """Route 53 refuses a failover record where a simple one of the same name and type exists:
    moving from a simple alias record to failover records means deleting it first."""
    zone, check, balancer = _zone(), _endpoint_id(), _balancer("us-east-1")
    route53 = boto3.client("route53", region_name="us-east-1")
    simple = {"Name": API, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]}
    route53.change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": simple}]}
    )
    stack = create_stack({"Record": _failover(zone, "PRIMARY", check, balancer)})
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert any("a record of another routing policy exists" in r for r in stack_reasons())
    route53.change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": simple}]}
    )
    assert (
        create_stack({"Record": _failover(zone, "PRIMARY", check, balancer)}, name="one")["StackStatus"]
        == "CREATE_COMPLETE"
    )
    second = _failover(zone, "PRIMARY", check, balancer, SetIdentifier="again")
    stack = create_stack({"Record": second}, name="two")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = stack_reasons("two")
    assert any("a PRIMARY failover record already exists" in r for r in reasons), reasons
    # The same set identifier again, from another stack.
    again = _failover(zone, "SECONDARY", check, balancer, SetIdentifier="us-east-1")
    stack = create_stack({"Record": again}, name="three")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert any("set-identifier='us-east-1'] but it already exists" in r for r in stack_reasons("three"))
    assert _records(zone) == [(API, "us-east-1", "PRIMARY")]
