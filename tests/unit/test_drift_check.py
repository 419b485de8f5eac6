"""The drift check's construct (components/monitoring/drift.py), built as the monitoring stack will
hold it: production's network stack and a monitoring stack with the check, cdk-nag on. Its role
reads what drift detection reads and nothing else, its schedule and environment are what the
handler and the runbook expect, and every read action maps from a resource type our stacks hold.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, ClassVar

import aws_cdk as cdk
import pytest

import config
from components.monitoring.drift import (
    OMITTED,
    READ_ACTIONS,
    SKIPPED_TYPES,
    UNREADABLE_TYPES,
    DriftCheck,
    read_actions,
)
from emulator.replacement import schema
from stacks.base import CleverBetterStack
from stacks.network_stack import NetworkStack
from tests.support import CDK_CONTEXT, resources
from tests.unit.acknowledgements import ACCOUNTS, DRIFT_CHECK_PINS, Pin
from tests.unit.iam_allow_list import DRIFT_CHECK_WILDCARDS

ACCOUNT = "333333333333"
PREFIX = "clever-better-prod"
STACKS = [
    f"{PREFIX}-{unit}"
    for unit in (
        "network",
        "data",
        "secrets",
        "registry",
        "services",
        "monitoring",
        "alerting",
        "audit",
        "access",
    )
]
# What the handler reads from its environment (lambdas/drift_check/handler.py: Settings).
ENVIRONMENT = {
    "STACK_NAMES": ",".join(STACKS),
    "SKIPPED_TYPES": "AWS::SecretsManager::Secret,AWS::SecretsManager::SecretTargetAttachment",
    "ENVIRONMENT": "prod",
    "METRIC_NAMESPACE": "CleverBetter/Operations",
    "DRIFTED_METRIC": "DriftedStacks",
    "FAILURES_METRIC": "DriftCheckFailures",
    "METRIC_DIMENSION": "Environment",
}
# The reads left out on purpose (components/monitoring/drift.py: OMITTED), literal here.
OMITTED_READS = {
    "secretsmanager:GetSecretValue",
    "amplify:GetWebACLForResource",
    "apprunner:DescribeWebAclForService",
    "appsync:GetWebACLForResource",
    "cognito-idp:GetWebACLForResource",
    "ec2:DescribeVerifiedAccessInstanceWebAclAssociations",
    "ec2:GetVerifiedAccessInstanceWebAcl",
    "vpc-lattice:DescribeServiceNetworkVpcEndpointAssociation",
}
# IAM's limit on a managed policy document, whitespace not counted (IAM User Guide, quotas).
MANAGED_POLICY_LIMIT = 6144


class MonitoringStack(CleverBetterStack):
    """Where the lead's monitoring stack will hold the check (stacks/ is not this unit's)."""

    UNIT: ClassVar[str] = "monitoring"
    STATEFUL: ClassVar[bool] = False
    SUMMARY: ClassVar[str] = "drift check (test)"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, DriftCheck, dict[str, Any]]:
    from app import add_compliance_checks

    production = config.load(("production",))[0]
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("drift")), context=CDK_CONTEXT)
    stage = cdk.Stage(app, "production")
    network = NetworkStack(stage, "network", config=production)
    monitoring = MonitoringStack(stage, "monitoring", config=production)
    names = production.names
    key = monitoring.unit_key(
        "MonitoringKey",
        alias="alias/test/monitoring",
        description="test key",
        log_group_names=[names.lambda_log_group(names.drift_check_function)],
    )
    check = DriftCheck(
        monitoring,
        "DriftCheck",
        context=monitoring.unit_context(key),
        network=network.network,
        stack_names=production.names.stacks(),
        schedule=production.schedules.drift_check,
    )
    add_compliance_checks(app)
    # Synthesizes with cdk-nag: an unacknowledged finding would raise here.
    assembly = app.synth().get_nested_assembly("assembly-production")
    template = assembly.get_stack_by_name(f"{PREFIX}-monitoring").template
    return app, check, template


def _only(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    (found,) = resources(template, kind).items()
    return found


def _policy(template: dict[str, Any], path_end: str) -> dict[str, Any]:
    matches = [
        r
        for r in resources(template, "AWS::IAM::ManagedPolicy").values()
        if r["Metadata"]["aws:cdk:path"].endswith(path_end)
    ]
    assert len(matches) == 1, path_end
    return dict(matches[0]["Properties"])


def test_the_function(built: tuple[Any, DriftCheck, dict[str, Any]]) -> None:
    template = built[2]
    function_id, function = _only(template, "AWS::Lambda::Function")
    properties = function["Properties"]
    assert properties["FunctionName"] == "clever-better-prod-drift-check"
    assert properties["Environment"] == {"Variables": ENVIRONMENT}
    assert (properties["Handler"], properties["Runtime"], properties["Architectures"]) == (
        "handler.handler",
        "python3.14",
        ["arm64"],
    )
    assert (properties["Timeout"], properties["MemorySize"]) == (600, 128)
    assert len(properties["VpcConfig"]["SubnetIds"]) == 3  # production's private subnets
    # Both policies are on the role before the function exists.
    role_id = properties["Role"]["Fn::GetAtt"][0]
    assert role_id in function["DependsOn"]
    attached = template["Resources"][role_id]["Properties"]["ManagedPolicyArns"]
    assert sorted(a["Ref"] for a in attached) == sorted(
        k
        for k, r in resources(template, "AWS::IAM::ManagedPolicy").items()
        if re.search(r"/DriftCheck/(Function|Check)Policy/Resource$", r["Metadata"]["aws:cdk:path"])
    )
    # Nothing of its own but the CloudWatch Logs actions on its log group, Lambda's VPC access, and
    # sending a failed invocation to its dead-letter queue (encrypting it with the queue's key).
    own = _policy(template, "/DriftCheck/FunctionPolicy/Resource")["PolicyDocument"]["Statement"]
    assert {a for s in own for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])} == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
        "sqs:SendMessage",
        "kms:GenerateDataKey",
        "kms:Decrypt",
    }
    (group,) = resources(template, "AWS::EC2::SecurityGroup").values()
    assert group["Properties"]["SecurityGroupEgress"] == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "HTTPS to the AWS APIs (endpoints, NAT)",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    assert "SecurityGroupIngress" not in group["Properties"]
    assert function_id.startswith("DriftCheckFunction")


def test_the_role_detects_drift_reads_and_publishes_only(
    built: tuple[Any, DriftCheck, dict[str, Any]],
) -> None:
    _, _, template = built
    policy = _policy(template, "/DriftCheck/CheckPolicy/Resource")
    statements = policy["PolicyDocument"]["Statement"]
    assert statements[0] == {
        "Action": [
            "cloudformation:DetectStackDrift",
            "cloudformation:DetectStackResourceDrift",
            "cloudformation:ListStackResources",
        ],
        "Effect": "Allow",
        "Resource": [f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{name}/*" for name in sorted(STACKS)],
    }
    # The CDK merges the statements on `*` with no condition: the detection status (addressed by
    # a detection id, IAM knows no resource for it) and the resources' reads.
    assert statements[1]["Effect"] == "Allow" and statements[1]["Resource"] == "*"
    assert "Condition" not in statements[1]
    reads = statements[1]["Action"]
    assert "cloudformation:DescribeStackDriftDetectionStatus" in reads
    assert len(reads) > 90 and reads == sorted(set(reads))
    # Reads only: no action that writes, and no secret's value.
    verbs = {action.split(":")[1] for action in reads}
    assert [v for v in verbs if not v.startswith(("Describe", "Get", "List"))] == []
    assert "secretsmanager:GetSecretValue" not in reads and "kms:Decrypt" not in reads
    assert statements[2] == {
        "Action": "cloudwatch:PutMetricData",
        "Condition": {"StringEquals": {"cloudwatch:namespace": "CleverBetter/Operations"}},
        "Effect": "Allow",
        "Resource": "*",
    }
    assert len(statements) == 3
    size = len(re.sub(r"\s", "", json.dumps(policy["PolicyDocument"])))
    assert size < MANAGED_POLICY_LIMIT, size


def test_the_daily_schedule(built: tuple[Any, DriftCheck, dict[str, Any]]) -> None:
    _, _, template = built
    function_id, _ = _only(template, "AWS::Lambda::Function")
    (role_id,) = [
        k
        for k, r in resources(template, "AWS::IAM::Role").items()
        if r["Metadata"]["aws:cdk:path"].endswith("/DriftCheck/ScheduleRole/Resource")
    ]
    _, schedule = _only(template, "AWS::Scheduler::Schedule")
    queue_id, _ = _only(template, "AWS::SQS::Queue")
    assert schedule["Properties"] == {
        "Name": "clever-better-prod-drift-check",
        "GroupName": "default",
        "Description": "Daily configuration-drift check of the environment's stacks (make drift on demand)",
        "ScheduleExpression": "cron(0 6 * * ? *)",
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED",
        "Target": {
            "Arn": {"Fn::GetAtt": [function_id, "Arn"]},
            "RoleArn": {"Fn::GetAtt": [role_id, "Arn"]},
            "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3},
            "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}},
        },
    }
    role = template["Resources"][role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnEquals": {
                    "aws:SourceArn": f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule-group/default"
                },
            },
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
        }
    ]
    assert "Policies" not in role
    (policy_ref,) = role["ManagedPolicyArns"]
    assert template["Resources"][policy_ref["Ref"]]["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": "lambda:InvokeFunction",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [function_id, "Arn"]},
        },
        # Scheduler sends a run it could not start to the dead-letter queue with this role.
        {"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": {"Fn::GetAtt": [queue_id, "Arn"]}},
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [_only(template, "AWS::KMS::Key")[0], "Arn"]},
        },
    ]


def test_the_metrics_for_the_alarms(built: tuple[Any, DriftCheck, dict[str, Any]]) -> None:
    _, check, _ = built
    for metric, name in ((check.metric, "DriftedStacks"), (check.failures_metric, "DriftCheckFailures")):
        assert (metric.namespace, metric.metric_name, metric.dimensions, metric.statistic) == (
            "CleverBetter/Operations",
            name,
            {"Environment": "prod"},
            "Maximum",
        )
        assert metric.period.to_seconds() == 86400


def test_an_empty_stack_list_is_refused() -> None:
    production = config.load(("production",))[0]
    app = cdk.App(context=CDK_CONTEXT)
    network = NetworkStack(app, "network", config=production)
    monitoring = MonitoringStack(app, "monitoring", config=production)
    key = monitoring.unit_key("Key", alias="alias/test/monitoring", description="test key")
    with pytest.raises(ValueError, match="stack_names is empty"):
        DriftCheck(
            monitoring,
            "DriftCheck",
            context=monitoring.unit_context(key),
            network=network.network,
            stack_names=[],
            schedule="cron(0 6 * * ? *)",
        )


def _acknowledgements(app: Any) -> dict[tuple[str, str], str]:
    return {
        (construct.node.path, rule): reason
        for construct in app.node.find_all()
        if "/DriftCheck/" in f"{construct.node.path}/"
        for entry in construct.node.metadata
        if entry.type == "aws:cdk:acknowledged-rules"
        for rule, reason in entry.data.items()
    }


def _pinned(pins: tuple[Pin, ...], stage: str) -> dict[tuple[str, str], str]:
    return {
        (f"{stage}/{path}", rule.replace("{account}", ACCOUNTS[stage])): pin.reason
        for pin in pins
        if stage in pin.stages
        for path in pin.paths
        for rule in pin.rules
    }


def test_acknowledgements_are_the_pinned_ones(built: tuple[Any, DriftCheck, dict[str, Any]]) -> None:
    """tests/unit/acknowledgements.py's DRIFT_CHECK_PINS, exactly: they join PINS where the
    monitoring stack holds the check (production/monitoring/DriftCheck here)."""
    app, _, _ = built
    found = _acknowledgements(app)
    assert found
    assert found == _pinned(DRIFT_CHECK_PINS, "production")
    for reason in found.values():
        assert len(reason.split()) >= 8


def _wildcards(template: dict[str, Any]) -> set[tuple[str, str]]:
    """(construct path below the stage, action) of every Allow with `*` in an action or as a
    resource: tests/unit/test_properties.py's rule."""
    found = set()
    for resource in template["Resources"].values():
        if resource["Type"] not in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            continue
        path = resource["Metadata"]["aws:cdk:path"].split("/", 1)[1]
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            if statement["Effect"] == "Allow":
                found |= {(path, a) for a in actions if "*" in a or "*" in targets}
    return found


def test_wildcards_are_the_allow_listed_ones(built: tuple[Any, DriftCheck, dict[str, Any]]) -> None:
    """tests/unit/iam_allow_list.py's DRIFT_CHECK_WILDCARDS, exactly: they join WILDCARDS with the
    monitoring stack."""
    _, _, template = built
    assert _wildcards(template) == set(DRIFT_CHECK_WILDCARDS)


# --- the read actions follow the resource types of our stacks --------------------------------


def _schema_reads(kind: str) -> list[str] | None:
    found = schema(kind)
    handler = (found or {}).get("handlers", {}).get("read")
    # IAM's service prefixes are case-insensitive; some schemas spell them `CloudTrail:`.
    return (
        None
        if handler is None
        else [f"{a.split(':')[0].lower()}:{a.split(':')[1]}" for a in handler["permissions"]]
    )


def _in_use(templates: dict[str, Any], built: tuple[Any, DriftCheck, dict[str, Any]]) -> set[str]:
    """Every resource type of the app's stacks, and of the monitoring stack with the check."""
    kinds = {r["Type"] for t in [*templates.values(), built[2]] for r in t["Resources"].values()}
    assert {"AWS::EC2::VPC", "AWS::RDS::DBInstance", "AWS::Scheduler::Schedule"} <= kinds
    # With deployment.hosted_zone_id, which no environment sets yet (tests/unit/test_dns.py).
    return kinds | {"AWS::Route53::RecordSet"}


def test_every_resource_type_of_our_stacks_has_its_reads(
    templates: dict[str, Any], built: tuple[Any, DriftCheck, dict[str, Any]]
) -> None:
    """A type our stacks gain fails here until components/monitoring/drift.py says what reading
    it takes; a type they lose, until its entry goes."""
    in_use = _in_use(templates, built)
    checked = {k for k in in_use if not k.startswith("Custom::")}
    assert set(READ_ACTIONS) | set(SKIPPED_TYPES) | set(UNREADABLE_TYPES) == checked
    assert not (set(READ_ACTIONS) & set(SKIPPED_TYPES)) and not (set(READ_ACTIONS) & set(UNREADABLE_TYPES))


def test_reads_are_the_schemas_read_handlers_without_writes_and_secrets(
    templates: dict[str, Any], built: tuple[Any, DriftCheck, dict[str, Any]]
) -> None:
    """Each type's actions are its schema's read handler's Describe/Get/List actions, minus the
    reviewed omissions; the types skipped are exactly those whose read needs a secret's value,
    and those left unread have no read handler."""
    assert set(OMITTED) == OMITTED_READS
    for kind, actions in READ_ACTIONS.items():
        reads = _schema_reads(kind)
        assert reads is not None, kind
        expected = sorted(
            {a for a in reads if a.split(":")[1].startswith(("Describe", "Get", "List"))} - OMITTED_READS
        )
        assert list(actions) == expected, kind
    in_use = _in_use(templates, built)
    assert (
        set(SKIPPED_TYPES)
        == {k for k in in_use if "secretsmanager:GetSecretValue" in (_schema_reads(k) or [])}
        == {"AWS::SecretsManager::Secret", "AWS::SecretsManager::SecretTargetAttachment"}
    )
    assert (
        set(UNREADABLE_TYPES)
        == {k for k in in_use if not k.startswith("Custom::") and _schema_reads(k) is None}
        == {"AWS::IAM::Policy", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"}
    )
    # Each omission is something a read handler of ours lists: none is stale.
    listed = {a for k in in_use for a in (_schema_reads(k) or [])}
    assert listed >= OMITTED_READS


def test_every_read_action_is_a_known_iam_action() -> None:
    """Checked against the Service Authorization Reference as cfn-lint ships it: a misspelt
    action would be granted silently and fail the detection in AWS."""
    import cfnlint.data.AdditionalSpecs

    policies = json.loads((Path(cfnlint.data.AdditionalSpecs.__file__).parent / "Policies.json").read_text())
    actions = read_actions()
    assert actions
    unknown = [
        a
        for a in actions
        if a.split(":")[1].lower() not in policies.get(a.split(":")[0], {}).get("Actions", {})
    ]
    assert unknown == []
