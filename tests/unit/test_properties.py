"""Properties of the whole app, over every template of every environment (DR included):
network exposure (only the public load balancer admits the internet, on 80 and 443) and least
privilege (IAM wildcards and AWS managed policies only as tests/unit/iam_allow_list.py allows)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest

from tests.support import PREFIXES
from tests.unit.iam_allow_list import MANAGED_POLICIES, WILDCARDS

WORLD = ("0.0.0.0/0", "::/0")
ALL_PORTS = (0, 65535)
# The stacks with an internet-facing load balancer (the DR region runs no services).
PUBLIC_EDGES = (
    "clever-better-dev-services",
    "clever-better-staging-services",
    "clever-better-prod-services",
    "clever-better-prod-dr-services",  # the pilot light's, which takes the API name in a failover
)
TEST_LISTENER_PORT = 9000  # docs/RUNBOOK.md: "the test listener (port 9000, ...)"


class Ingress(NamedTuple):
    stack: str
    group: str  # the security group's logical ID, or its JSON when it is not in this template
    kind: str  # CidrIp, CidrIpv6, SourceSecurityGroupId or SourcePrefixListId
    source: str  # the literal CIDR, or the JSON of an intrinsic / source group
    protocol: str
    ports: tuple[int, int]

    @property
    def to_world(self) -> bool:
        return self.source in WORLD


def _logical_id(value: Any) -> str:
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    return json.dumps(value, sort_keys=True)


def _ingress(stack: str, group: str, rule: dict[str, Any]) -> Iterator[Ingress]:
    protocol = str(rule.get("IpProtocol", "-1")).lower()
    from_port, to_port = rule.get("FromPort"), rule.get("ToPort", rule.get("FromPort"))
    # "-1" is every protocol and port; a rule without literal ports (missing, or an intrinsic
    # such as the database's endpoint port) is read as all of them.
    if protocol == "-1" or not isinstance(from_port, int) or not isinstance(to_port, int):
        ports = ALL_PORTS
    else:
        ports = (from_port, to_port)
    for key in ("CidrIp", "CidrIpv6", "SourceSecurityGroupId", "SourcePrefixListId"):
        if key in rule:
            source = rule[key] if isinstance(rule[key], str) else json.dumps(rule[key], sort_keys=True)
            yield Ingress(stack, group, key, source, protocol, ports)


def _all_ingress(templates: dict[str, Any]) -> list[Ingress]:
    """Every ingress rule: inline on AWS::EC2::SecurityGroup and separate AWS::EC2::SecurityGroupIngress."""
    rules: list[Ingress] = []
    for stack, template in templates.items():
        for key, resource in template["Resources"].items():
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::EC2::SecurityGroup":
                for rule in properties.get("SecurityGroupIngress", []):
                    rules.extend(_ingress(stack, key, rule))
            elif resource["Type"] == "AWS::EC2::SecurityGroupIngress":
                rules.extend(_ingress(stack, _logical_id(properties.get("GroupId")), properties))
    return rules


def _public_groups(templates: dict[str, Any]) -> set[tuple[str, str]]:
    """(stack, security group) of every internet-facing load balancer, followed by reference."""
    return {
        (stack, _logical_id(group))
        for stack, template in templates.items()
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer"
        and resource["Properties"].get("Scheme") == "internet-facing"
        for group in resource["Properties"].get("SecurityGroups", [])
    }


def _is_public_web(rule: Ingress, public: set[tuple[str, str]]) -> bool:
    return (
        (rule.stack, rule.group) in public
        and rule.protocol in ("tcp", "6")
        and rule.ports in ((80, 80), (443, 443))
    )


def test_only_the_public_load_balancer_admits_the_internet(templates: dict[str, Any]) -> None:
    rules = _all_ingress(templates)
    assert len(rules) > 10, "no ingress rules found: the collection is broken"
    public = _public_groups(templates)
    assert sorted({stack for stack, _ in public}) == sorted(PUBLIC_EDGES)
    exposed = [r for r in rules if r.to_world and not _is_public_web(r, public)]
    assert exposed == []
    # The exception is real: each public load balancer admits the world on 80 and 443.
    for stack in PUBLIC_EDGES:
        allowed = {r.ports for r in rules if r.stack == stack and r.to_world and _is_public_web(r, public)}
        assert sorted(allowed) == [(80, 80), (443, 443)], stack


@pytest.mark.parametrize("env", sorted(PREFIXES))
def test_test_listener_is_never_open_to_the_internet(templates: dict[str, Any], env: str) -> None:
    rules = [
        r
        for r in _all_ingress(templates)
        if r.stack == f"{PREFIXES[env]}-services" and r.ports[0] <= TEST_LISTENER_PORT <= r.ports[1]
    ]
    assert any(r.ports == (TEST_LISTENER_PORT, TEST_LISTENER_PORT) for r in rules), "smoke tests' rules gone"
    for rule in rules:
        assert not rule.to_world and rule.kind != "CidrIpv6", rule


class Statement(NamedTuple):
    stack: str
    path: str  # aws:cdk:path without the stage: `services/Bot/Task/ExecutionRole/DefaultPolicy/Resource`
    body: dict[str, Any]


# Identity policies: where an IAM statement grants a principal permissions.
_IDENTITY_DOCUMENTS = {
    "AWS::IAM::Policy": "PolicyDocument",
    "AWS::IAM::ManagedPolicy": "PolicyDocument",
    "AWS::IAM::RolePolicy": "PolicyDocument",
    "AWS::IAM::UserPolicy": "PolicyDocument",
    "AWS::IAM::GroupPolicy": "PolicyDocument",
}
_INLINE_POLICIES = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")
# Policy documents this property does not read, and why: a trust policy grants no permission, and
# in a resource policy "*" as Resource means the resource it is attached to (a key policy must
# say "*"); who those admit is a question of principals, not of wildcards.
NOT_IDENTITY_POLICIES = {
    ("AWS::IAM::Role", "AssumeRolePolicyDocument"): "trust policy: who may assume the role",
    ("AWS::KMS::Key", "KeyPolicy"): "resource policy of the key itself",
    ("AWS::S3::BucketPolicy", "PolicyDocument"): "resource policy of its bucket",
    ("AWS::SNS::TopicPolicy", "PolicyDocument"): "resource policy of its topics",
    ("AWS::SQS::QueuePolicy", "PolicyDocument"): "resource policy of its queues",
    ("AWS::SecretsManager::ResourcePolicy", "ResourcePolicy"): "resource policy of its secret",
    ("AWS::Backup::BackupVault", "AccessPolicy"): "resource policy of the vault itself",
}


def _path(resource: dict[str, Any]) -> str:
    return str(resource["Metadata"]["aws:cdk:path"]).split("/", 1)[1]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(templates: dict[str, Any]) -> list[Statement]:
    found: list[Statement] = []
    for stack, template in templates.items():
        for resource in template["Resources"].values():
            properties = resource.get("Properties", {})
            documents = []
            if resource["Type"] in _IDENTITY_DOCUMENTS:
                documents.append(properties[_IDENTITY_DOCUMENTS[resource["Type"]]])
            if resource["Type"] in _INLINE_POLICIES:
                documents.extend(p["PolicyDocument"] for p in properties.get("Policies", []))
            found.extend(
                Statement(stack, _path(resource), s) for d in documents for s in _listed(d["Statement"])
            )
    return found


def _is_policy_document(value: Any) -> bool:
    return isinstance(value, dict) and any(
        isinstance(s, dict) and "Effect" in s for s in _listed(value.get("Statement"))
    )


def test_every_policy_document_is_read_or_excluded_with_a_reason(templates: dict[str, Any]) -> None:
    """A policy form this module does not know (a new resource type) fails here, not silently."""
    known = {*_IDENTITY_DOCUMENTS.items(), *NOT_IDENTITY_POLICIES}
    seen: set[tuple[str, str]] = set()
    for template in templates.values():
        for resource in template["Resources"].values():
            for key, value in resource.get("Properties", {}).items():
                if resource["Type"] in _INLINE_POLICIES and key == "Policies":
                    continue
                if _is_policy_document(value):
                    seen.add((resource["Type"], key))
    assert ("AWS::IAM::Policy", "PolicyDocument") in seen and ("AWS::KMS::Key", "KeyPolicy") in seen
    assert sorted(seen - known) == []


def test_iam_wildcards_are_only_the_allowed_ones(templates: dict[str, Any]) -> None:
    statements = _statements(templates)
    allows = [s for s in statements if s.body["Effect"] == "Allow"]
    assert len(allows) > 50, "no IAM statements found: the collection is broken"
    # NotAction / NotResource in an Allow is a wildcard in disguise.
    assert [s for s in allows if "NotAction" in s.body or "NotResource" in s.body] == []
    wildcards = {
        (s.path, action)
        for s in allows
        for action in _listed(s.body["Action"])
        if "*" in action or "*" in _listed(s.body["Resource"])
    }
    assert sorted(wildcards - set(WILDCARDS)) == []
    stale = sorted(set(WILDCARDS) - wildcards)
    assert stale == [], "allow-list entries that match no statement: remove them"


def _managed_policy_name(arn: Any) -> str:
    """The name of an AWS managed policy ARN (plain, Fn::Join or Fn::Sub), else the ARN's JSON."""
    if isinstance(arn, dict) and "Fn::Join" in arn:
        text = "".join(p if isinstance(p, str) else "<>" for p in arn["Fn::Join"][1])
    elif isinstance(arn, dict) and "Fn::Sub" in arn:
        text = str(arn["Fn::Sub"])
    else:
        text = arn if isinstance(arn, str) else ""
    prefix = ":iam::aws:policy/"
    return text.rsplit("/", 1)[1] if prefix in text else json.dumps(arn, sort_keys=True)


def test_aws_managed_policies_are_only_the_allowed_ones(templates: dict[str, Any]) -> None:
    attached: set[tuple[str, str]] = set()
    own = 0
    for template in templates.values():
        for resource in template["Resources"].values():
            if resource["Type"] not in _INLINE_POLICIES:
                continue
            for arn in resource.get("Properties", {}).get("ManagedPolicyArns", []):
                target = template["Resources"].get(arn.get("Ref")) if isinstance(arn, dict) else None
                if target is not None and target["Type"] == "AWS::IAM::ManagedPolicy":
                    own += 1  # the app's own policy: its statements are checked above
                else:
                    attached.add((_path(resource), _managed_policy_name(arn)))
    assert own > 0 and attached, "no managed policies found: the collection is broken"
    assert sorted(attached - set(MANAGED_POLICIES)) == []
    assert sorted(set(MANAGED_POLICIES) - attached) == [], "stale allow-list entries: remove them"
