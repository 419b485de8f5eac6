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
