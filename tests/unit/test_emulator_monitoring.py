"""The local emulator's monitoring types (issue 13), in-process against moto: CloudWatch alarms,
composite alarms and dashboards, CloudWatch Logs metric filters and saved queries, SNS topics
with a KMS key and topic policies. Each is created from a crafted template and read back through
boto3, each create-time check fails the stack with its message, and a valid stack deletes
cleanly."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from emulator.services.cloudwatch import ValidationError
from tests.support import create_stack, stack_reasons

REGION = "us-east-1"
ACCOUNT = "123456789012"
NAMESPACE = "CleverBetter"


def _cfn() -> Any:
    return boto3.client("cloudformation", region_name=REGION)


def _refused(resources: dict[str, Any], reason: str) -> list[str]:
    """Create the stack, assert it rolled back with `reason` in one event, and return the events."""
    stack = create_stack(resources)
    reasons = stack_reasons()
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE", reasons
    assert any(reason in r for r in reasons), reasons
    return reasons


def _outputs(stack: Any) -> dict[str, str]:
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack_reasons(stack["StackName"])
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


# --- building blocks ----------------------------------------------------------------------------

CLOUDWATCH_MAY_USE_KEY = {
    "Effect": "Allow",
    "Principal": {"Service": "cloudwatch.amazonaws.com"},
    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
    "Resource": "*",
}
ROOT_MAY_USE_KEY = {
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
CLOUDWATCH_MAY_PUBLISH = {
    "Sid": "AlarmsPublish",
    "Effect": "Allow",
    "Principal": {"Service": "cloudwatch.amazonaws.com"},
    "Action": "sns:Publish",
    "Resource": {"Ref": "Topic"},
}
TLS_ONLY = {
    "Sid": "AllowPublishThroughSSLOnly",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "sns:Publish",
    "Resource": {"Ref": "Topic"},
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def _key(*statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::KMS::Key",
        "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": [ROOT_MAY_USE_KEY, *statements]}},
    }


def _topic(**props: Any) -> dict[str, Any]:
    return {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alarms", **props}}


def _topic_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::SNS::TopicPolicy",
        "Properties": {
            "Topics": [{"Ref": "Topic"}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
        },
    }


def _alarm(**changes: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "AlarmName": "bot-errors",
        "AlarmDescription": "The bot logs errors",
        "Namespace": NAMESPACE,
        "MetricName": "Errors",
        "Dimensions": [{"Name": "Service", "Value": "bot"}],
        "Statistic": "Sum",
        "Period": 300,
        "EvaluationPeriods": 3,
        "DatapointsToAlarm": 2,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        **changes,
    }
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {k: v for k, v in props.items() if v is not None}}


def _math_alarm(**changes: Any) -> dict[str, Any]:
    metrics = [
        {"Id": "ratio", "Expression": "100 * FILL(errors, 0) / requests", "ReturnData": True},
        {
            "Id": "errors",
            "MetricStat": {
                "Metric": {"Namespace": NAMESPACE, "MetricName": "Errors"},
                "Period": 60,
                "Stat": "Sum",
            },
            "ReturnData": False,
        },
        {
            "Id": "requests",
            "MetricStat": {
                "Metric": {"Namespace": NAMESPACE, "MetricName": "Requests"},
                "Period": 60,
                "Stat": "p95",
            },
            "ReturnData": False,
        },
    ]
    single_metric = dict.fromkeys(("Namespace", "MetricName", "Dimensions", "Statistic", "Period"))
    return _alarm(**{**single_metric, "AlarmName": "bot-error-ratio", "Metrics": metrics, **changes})


# --- metric alarms ------------------------------------------------------------------------------


def test_alarm_notifying_an_encrypted_topic_is_created_and_read_back(aws: None) -> None:
    stack = create_stack(
        {
            "Key": _key(CLOUDWATCH_MAY_USE_KEY),
            "Topic": _topic(KmsMasterKeyId={"Fn::GetAtt": ["Key", "Arn"]}),
            "TopicPolicy": _topic_policy(CLOUDWATCH_MAY_PUBLISH, TLS_ONLY),
            "Alarm": _alarm(AlarmActions=[{"Ref": "Topic"}], OKActions=[{"Ref": "Topic"}]),
            "Ratio": _math_alarm(),
        },
        {
            "AlarmName": {"Value": {"Ref": "Alarm"}},
            "AlarmArn": {"Value": {"Fn::GetAtt": ["Alarm", "Arn"]}},
            "TopicArn": {"Value": {"Ref": "Topic"}},
            "TopicName": {"Value": {"Fn::GetAtt": ["Topic", "TopicName"]}},
        },
    )
    outputs = _outputs(stack)
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms"
    assert outputs == {
        "AlarmName": "bot-errors",
        "AlarmArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:bot-errors",
        "TopicArn": topic_arn,
        "TopicName": "alarms",
    }
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    alarms = {a["AlarmName"]: a for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    assert sorted(alarms) == ["bot-error-ratio", "bot-errors"]
    alarm = alarms["bot-errors"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Period"], alarm["Statistic"]) == (
        NAMESPACE,
        "Errors",
        300,
        "Sum",
    )
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"], alarm["TreatMissingData"]) == (
        3,
        2,
        "notBreaching",
    )
    assert alarm["AlarmActions"] == [topic_arn] and alarm["OKActions"] == [topic_arn]
    assert [m["Id"] for m in alarms["bot-error-ratio"]["Metrics"]] == ["ratio", "errors", "requests"]
    attributes = boto3.client("sns", region_name=REGION).get_topic_attributes(TopicArn=topic_arn)[
        "Attributes"
    ]
    key_arn = boto3.client("kms", region_name=REGION).list_keys()["Keys"][0]["KeyArn"]
    assert attributes["KmsMasterKeyId"] == key_arn
    assert [s["Sid"] for s in json.loads(attributes["Policy"])["Statement"]] == [
        "AlarmsPublish",
        "AllowPublishThroughSSLOnly",
    ]


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"Period": 90}, "ValidationError: Period 90 is not valid: valid values are 10, 20, 30"),
        ({"Period": 45}, "Period 45 is not valid"),
        (
            {"Period": 600, "EvaluationPeriods": 145, "DatapointsToAlarm": None},
            "Metrics cannot be checked across more than a day (EvaluationPeriods * Period must be <= 86400)",
        ),
        (
            {"Period": 3600, "EvaluationPeriods": 169, "DatapointsToAlarm": None},
            "more than a week (EvaluationPeriods * Period must be <= 604800)",
        ),
        ({"DatapointsToAlarm": 4}, "DatapointsToAlarm must be between 1 and EvaluationPeriods (3), got 4"),
        ({"EvaluationPeriods": 0, "DatapointsToAlarm": None}, "EvaluationPeriods must be at least 1"),
        ({"ComparisonOperator": "GreaterThan"}, "Invalid ComparisonOperator GreaterThan"),
        (
            {"ComparisonOperator": "LessThanLowerThreshold"},
            "is only for alarms based on anomaly detection models",
        ),
        ({"Statistic": "Avg"}, "Invalid Statistic Avg"),
        ({"Statistic": None, "ExtendedStatistic": "95th"}, "The value 95th for parameter ExtendedStatistic"),
        ({"ExtendedStatistic": "p95"}, "Specify either Statistic or ExtendedStatistic, but not both"),
        ({"Namespace": None}, "Specify either MetricName and Namespace or a Metrics list"),
        ({"Period": None}, "Period is required for an alarm on a single metric"),
        ({"TreatMissingData": "zero"}, "Invalid TreatMissingData zero"),
        ({"Unit": "Requests"}, "Invalid Unit Requests"),
        ({"AlarmName": "x" * 256}, "must be 1 to 255 characters"),
        ({"AlarmDescription": "x" * 1025}, "AlarmDescription is longer than 1024"),
        ({"Threshold": None}, "Threshold is required for an alarm with a static threshold"),
        (
            {"AlarmActions": [f"arn:aws:sns:eu-west-1:{ACCOUNT}:alarms"]},
            "Invalid region eu-west-1 specified. Only us-east-1 is supported.",
        ),
        (
            {"AlarmActions": [f"arn:aws-us-gov:sns:{REGION}:{ACCOUNT}:alarms"]},
            "Invalid partition aws-us-gov specified. Only aws is supported.",
        ),
        ({"AlarmActions": ["alarms"]}, "Invalid arn syntax: alarms"),
        (
            {"AlarmActions": [f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:scalingPolicy:{i}" for i in range(6)]},
            "AlarmActions: at most 5 actions, got 6",
        ),
    ],
)
def test_alarm_refused_like_put_metric_alarm(aws: None, changes: dict[str, Any], reason: str) -> None:
    _refused({"Alarm": _alarm(**changes)}, reason)
    assert not boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"]


@pytest.mark.parametrize(
    "change, reason",
    [
        (
            lambda m: m[0].update(ReturnData=False),
            "ValidationError: Exactly one element of the metrics list should return data.",
        ),
        (lambda m: m[1].pop("ReturnData"), "Exactly one element of the metrics list should return data."),
        (lambda m: m[1].update(Id="Errors"), "Id 'Errors' must start with a lowercase letter"),
        (lambda m: m[2].update(Id="errors"), "the Ids ['errors'] are not unique"),
        (
            lambda m: m[0].update(Expression="errors / requests + retries"),
            "expression ratio uses ['retries'], which no query has as its Id",
        ),
        (
            lambda m: m[1].update(Expression="1"),
            "query errors must have exactly one of MetricStat and Expression",
        ),
        (lambda m: m[1]["MetricStat"].update(Period=90), "Period of query errors 90 is not valid"),
        (
            lambda m: m[2]["MetricStat"].update(Stat="P95"),
            "The value P95 for parameter Stat of query requests",
        ),
        (
            lambda m: m[1]["MetricStat"]["Metric"].pop("Namespace"),
            "needs its metric's MetricName and Namespace",
        ),
    ],
)
def test_metric_math_alarm_refused_like_put_metric_alarm(aws: None, change: Any, reason: str) -> None:
    alarm = _math_alarm()
    change(alarm["Properties"]["Metrics"])
    _refused({"Alarm": alarm}, reason)


def test_metric_math_alarm_cannot_also_name_a_metric(aws: None) -> None:
    _refused(
        {"Alarm": _math_alarm(Namespace=NAMESPACE, Period=60)},
        "If you use the Metrics parameter, you cannot include Namespace, Period in the same alarm",
    )


# --- what AWS accepts but never delivers ---------------------------------------------------------


@pytest.mark.parametrize(
    "resources, reason",
    [
        (
            {
                "Topic": _topic(KmsMasterKeyId="alias/aws/sns"),
                "Alarm": _alarm(AlarmActions=[{"Ref": "Topic"}]),
            },
            "the topic is encrypted with the AWS managed key alias/aws/sns",
        ),
        (
            {
                "Key": _key(),
                "Topic": _topic(KmsMasterKeyId={"Fn::GetAtt": ["Key", "Arn"]}),
                "Alarm": _alarm(AlarmActions=[{"Ref": "Topic"}]),
            },
            "does not allow cloudwatch.amazonaws.com kms:GenerateDataKey",
        ),
        (
            {
                "Topic": _topic(),
                "TopicPolicy": _topic_policy(TLS_ONLY),
                "Alarm": {**_alarm(AlarmActions=[{"Ref": "Topic"}]), "DependsOn": "TopicPolicy"},
            },
            "the topic policy does not let cloudwatch.amazonaws.com publish",
        ),
    ],
    ids=["aws-managed-key", "key-policy", "topic-policy"],
)
def test_alarm_whose_notifications_would_fail_is_refused_locally(
    aws: None, resources: dict[str, Any], reason: str
) -> None:
    reasons = _refused(resources, reason)
    assert any("AWS accepts this when it is created" in r for r in reasons), reasons


def test_topic_policy_created_after_the_alarm_is_checked_too(aws: None) -> None:
    # No dependency orders the policy after the alarm: whichever comes second is refused.
    resources = {
        "Topic": _topic(),
        "Alarm": _alarm(AlarmActions=[{"Ref": "Topic"}]),
        "TopicPolicy": {**_topic_policy(TLS_ONLY), "DependsOn": "Alarm"},
    }
    _refused(resources, "the topic policy does not let cloudwatch.amazonaws.com publish")


def test_topic_with_a_key_kms_does_not_have_is_refused_locally(aws: None) -> None:
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    _refused({"Topic": _topic(KmsMasterKeyId=key)}, f"topic alarms: KmsMasterKeyId {key} is not a KMS key")
    assert not boto3.client("sns", region_name=REGION).list_topics()["Topics"]


def test_topic_policy_needs_existing_topics_and_sns_actions(aws: None) -> None:
    missing = f"arn:aws:sns:{REGION}:{ACCOUNT}:missing"
    policy = _topic_policy(CLOUDWATCH_MAY_PUBLISH)
    policy["Properties"]["Topics"] = [missing]
    _refused({"Topic": _topic(), "TopicPolicy": policy}, f"NotFound: Topic does not exist: {missing}")
    _cfn().delete_stack(StackName="s")
    out_of_scope = {**CLOUDWATCH_MAY_PUBLISH, "Action": "sqs:SendMessage"}
    _refused(
        {"Topic": _topic(), "TopicPolicy": _topic_policy(out_of_scope)},
        "InvalidParameter: Invalid parameter: Policy statement action out of service scope!",
    )


# --- composite alarms ---------------------------------------------------------------------------


def _composite(rule: Any, **changes: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::CompositeAlarm",
        "Properties": {"AlarmName": "bot-down", "AlarmRule": rule, **changes},
    }


def _arn_rule(state: str, alarm: str) -> dict[str, Any]:
    """How the CDK renders AlarmRule.fromAlarm: the child's ARN, which orders it first."""
    return {"Fn::Join": ["", [f'{state}("', {"Fn::GetAtt": [alarm, "Arn"]}, '")']]}


def test_composite_alarm_is_created_and_read_back(aws: None) -> None:
    rule = {
        "Fn::Join": [
            " ",
            [_arn_rule("ALARM", "Errors"), "AND NOT", _arn_rule("OK", "Ratio"), "OR (TRUE AND FALSE)"],
        ]
    }
    stack = create_stack(
        {
            "Topic": _topic(),
            "Errors": _alarm(),
            "Ratio": _math_alarm(),
            "Down": _composite(rule, AlarmActions=[{"Ref": "Topic"}], AlarmDescription="The bot is down"),
        },
        {"Name": {"Value": {"Ref": "Down"}}, "Arn": {"Value": {"Fn::GetAtt": ["Down", "Arn"]}}},
    )
    assert _outputs(stack) == {
        "Name": "bot-down",
        "Arn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:bot-down",
    }
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    (composite,) = cloudwatch.describe_alarms(AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
    errors_arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:bot-errors"
    assert composite["AlarmName"] == "bot-down"
    assert composite["AlarmRule"].startswith(f'ALARM("{errors_arn}") AND NOT OK(')
    assert composite["AlarmActions"] == [f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms"]


@pytest.mark.parametrize(
    "rule, reason",
    [
        (
            'ALARM("bot-errors") OR ALARM(gone)',
            "ValidationError: Could not save the composite alarm as alarms [gone] "
            "in the alarm rule do not exist",
        ),
        ('ALARM("bot-errors") AND', "Invalid AlarmRule: it ends where an alarm state or TRUE/FALSE is due"),
        ('ALARM("bot-errors") NOT OK("bot-errors")', "Invalid AlarmRule: unexpected NOT"),
        ('(ALARM("bot-errors")', "Invalid AlarmRule: unclosed ("),
        ('ALARMED("bot-errors")', "Invalid AlarmRule: unexpected text at character 1"),
        (' ALARM("bot-errors")', "AlarmRule must not contain leading or trailing whitespace"),
    ],
)
def test_composite_alarm_refused_like_put_composite_alarm(aws: None, rule: str, reason: str) -> None:
    # The children exist: the literal name is ordered first by DependsOn, as CloudFormation needs.
    _refused({"Errors": _alarm(), "Down": {**_composite(rule), "DependsOn": "Errors"}}, reason)


def test_composite_alarm_suppressor_needs_its_periods(aws: None) -> None:
    composite = _composite('ALARM("bot-errors")', ActionsSuppressor="bot-errors")
    _refused(
        {"Errors": _alarm(), "Down": {**composite, "DependsOn": "Errors"}},
        "ActionsSuppressorWaitPeriod and ActionsSuppressorExtensionPeriod are required",
    )


def test_composite_alarm_children_at_most_100(aws: None) -> None:
    rule = " OR ".join(f'ALARM("a{i}")' for i in range(101))
    _refused({"Down": _composite(rule)}, "AlarmRule names 101 alarms; at most 100")


# --- dashboards ---------------------------------------------------------------------------------


def _graph(**properties: Any) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": 0,
        "y": 0,
        "width": 12,
        "height": 6,
        "properties": {
            "view": "timeSeries",
            "title": "Errors",
            "region": REGION,
            "metrics": [
                [NAMESPACE, "Errors", "Service", "bot", {"label": "bot", "stat": "Sum", "color": "#d62728"}],
                [{"expression": "errors / requests", "label": "ratio"}],
            ],
            **properties,
        },
    }


def _dashboard(*widgets: dict[str, Any], name: str = "clever-better-dev-operations") -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {"DashboardName": name, "DashboardBody": json.dumps({"widgets": list(widgets)})},
    }


def test_dashboard_is_created_and_read_back(aws: None) -> None:
    alarm_status = {
        "type": "alarm",
        "width": 6,
        "height": 3,
        "x": 12,
        "y": 0,
        "properties": {"title": "Alarms", "alarms": [{"Fn::GetAtt": ["Errors", "Arn"]}]},
    }
    logs = {
        "type": "log",
        "width": 24,
        "height": 6,
        "x": 0,
        "y": 6,
        "properties": {
            "region": REGION,
            "title": "Errors",
            "query": "SOURCE '/clever-better/bot' | fields @message",
        },
    }
    text = {"type": "text", "width": 6, "height": 3, "x": 18, "y": 0, "properties": {"markdown": "# Bot"}}
    body = {
        "Fn::Join": ["", ['{"widgets":[', json.dumps(_graph()), ",", json.dumps(logs), ",", json.dumps(text)]]
    }
    # The CDK joins the alarm ARN into the body; so does this.
    alarm_json = json.dumps(alarm_status).replace('{"Fn::GetAtt": ["Errors", "Arn"]}', '"@ARN@"')
    before, after = alarm_json.split('"@ARN@"')
    body["Fn::Join"][1] += [",", before, '"', {"Fn::GetAtt": ["Errors", "Arn"]}, '"', after, "]}"]
    stack = create_stack(
        {
            "Errors": _alarm(),
            "Dashboard": {
                "Type": "AWS::CloudWatch::Dashboard",
                "Properties": {"DashboardName": "clever-better-dev-operations", "DashboardBody": body},
            },
        },
        {"Name": {"Value": {"Ref": "Dashboard"}}},
    )
    assert _outputs(stack) == {"Name": "clever-better-dev-operations"}
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    assert [d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]] == [
        "clever-better-dev-operations"
    ]
    saved = json.loads(
        cloudwatch.get_dashboard(DashboardName="clever-better-dev-operations")["DashboardBody"]
    )
    assert [w["type"] for w in saved["widgets"]] == ["metric", "log", "text", "alarm"]
    assert saved["widgets"][3]["properties"]["alarms"] == [
        f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:bot-errors"
    ]


PATH = "/widgets/0/properties"


@pytest.mark.parametrize(
    "widget, reason",
    [
        (
            _graph(metrics=None),
            f'[{{"dataPath": "{PATH}", "message": "Should have required property \'metrics\'"}}, '
            f'{{"dataPath": "{PATH}", "message": "The metric widget should have specified a region '
            f'and a data source or an alarm annotation"}}, {{"dataPath": "{PATH}", "message": '
            '"Should have required '
            "property 'annotations'\"}]",
        ),
        (_graph(metrics=[[NAMESPACE, "Errors", "Service"]]), "has to be an array of array of strings"),
        (
            _graph(metrics=[f"{NAMESPACE}.Errors"]),
            f'"dataPath": "{PATH}/metrics/0", "message": "Should be array"',
        ),
        (
            _graph(metrics=[[NAMESPACE, "Errors", {"color": "red"}]]),
            f'"dataPath": "{PATH}/metrics/0/2/color", "message": "Should match pattern',
        ),
        (
            {"type": "alarm", "properties": {"alarms": []}},
            f'"dataPath": "{PATH}/alarms", "message": "Should NOT have less than 1 items"',
        ),
        ({**_graph(), "x": 24}, '"dataPath": "/widgets/0/x", "message": "Should be <= 23"'),
        ({**_graph(), "width": 25}, '"dataPath": "/widgets/0/width", "message": "Should be <= 24"'),
        (
            {key: value for key, value in _graph().items() if key != "y"},
            '"message": "Should have property y when property x is present"',
        ),
        ({"type": "chart", "properties": {}}, '"dataPath": "/widgets/0/type"'),
        ({"type": "text", "properties": {}}, "Should have required property 'markdown'"),
        ({"type": "log", "properties": {"region": REGION}}, "Should have required property 'query'"),
        (
            _graph(annotations={"alarms": ["arn:a", "arn:b"]}, metrics=None),
            f'"dataPath": "{PATH}/annotations/alarms", "message": "Should NOT have more than 1 items"',
        ),
        (_graph(region=None), "The metric widget should have specified a region"),
    ],
)
def test_dashboard_body_refused_like_put_dashboard(aws: None, widget: dict[str, Any], reason: str) -> None:
    properties = widget.get("properties", {})
    widget = {**widget, "properties": {k: v for k, v in properties.items() if v is not None}}
    reasons = _refused({"Dashboard": _dashboard(widget)}, reason)
    assert any("InvalidParameterInput: The dashboard body is invalid, there are" in r for r in reasons), (
        reasons
    )
    assert not boto3.client("cloudwatch", region_name=REGION).list_dashboards()["DashboardEntries"]


def test_dashboard_body_must_be_json_with_widgets(aws: None) -> None:
    no_json = {"Type": "AWS::CloudWatch::Dashboard", "Properties": {"DashboardBody": "widgets: []"}}
    _refused(
        {"Dashboard": no_json}, "InvalidParameterInput: The field DashboardBody must be a valid JSON object"
    )
    _cfn().delete_stack(StackName="s")
    no_widgets = {"Type": "AWS::CloudWatch::Dashboard", "Properties": {"DashboardBody": "{}"}}
    _refused(
        {"Dashboard": no_widgets}, '"dataPath": "", "message": "Should have required property \'widgets\'"'
    )


def test_dashboard_name_refused_like_put_dashboard(aws: None) -> None:
    _refused(
        {"Dashboard": _dashboard(_graph(), name="Bot operations")},
        "InvalidParameterValue: The value Bot operations for field DashboardName contains invalid "
        "characters. It can only contain alphanumerics, dash (-) and underscore (_).",
    )


def test_a_dashboard_name_another_region_holds_is_refused(aws: None) -> None:
    """Dashboards are global to the account (PutDashboard): the DR region cannot reuse a name."""
    primary = create_stack({"Dashboard": _dashboard(_graph(), name="clever-better-prod-infrastructure")})
    assert primary["StackStatus"] == "CREATE_COMPLETE", stack_reasons()
    west = create_stack(
        {"Dashboard": _dashboard(_graph(), name="clever-better-prod-infrastructure")}, region="us-west-2"
    )
    reasons = stack_reasons(region="us-west-2")
    assert west["StackStatus"] == "ROLLBACK_COMPLETE", reasons
    assert any(
        "'clever-better-prod-infrastructure' already exists: dashboard names are global to the account "
        "(it is in us-east-1)" in r
        for r in reasons
    ), reasons
    other = create_stack(
        {"Dashboard": _dashboard(_graph(), name="clever-better-prod-dr-infrastructure")},
        name="o",
        region="us-west-2",
    )
    assert other["StackStatus"] == "CREATE_COMPLETE", stack_reasons("o", "us-west-2")


# --- metric filters -----------------------------------------------------------------------------

LOG_GROUP = "/clever-better/dev/bot"


def _log_group() -> dict[str, Any]:
    return {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": LOG_GROUP, "RetentionInDays": 7}}


def _metric_filter(pattern: str = '{ $.level = "ERROR" }', **transformation: Any) -> dict[str, Any]:
    given = {
        "MetricName": "BotErrors",
        "MetricNamespace": f"{NAMESPACE}/Logs",
        "MetricValue": "1",
        **transformation,
    }
    return {
        "Type": "AWS::Logs::MetricFilter",
        "Properties": {
            "LogGroupName": {"Ref": "LogGroup"},
            "FilterName": "bot-errors",
            "FilterPattern": pattern,
            "MetricTransformations": [{k: v for k, v in given.items() if v is not None}],
        },
    }


def test_metric_filter_is_created_and_read_back(aws: None) -> None:
    term_filter = _metric_filter('?ERROR ?"Traceback (most recent call last)"', DefaultValue=0, Unit="Count")
    term_filter["Properties"]["FilterName"] = "bot-tracebacks"
    slow_filter = _metric_filter("[ip, user, ..., status=5*, latency > 1000]", MetricValue="$latency")
    slow_filter["Properties"]["FilterName"] = "bot-slow"
    stack = create_stack(
        {
            "LogGroup": _log_group(),
            "Errors": _metric_filter(Dimensions=[{"Key": "Service", "Value": "$.service"}]),
            "Tracebacks": term_filter,
            "Slow": slow_filter,
        },
        {"Name": {"Value": {"Ref": "Errors"}}},
    )
    assert _outputs(stack) == {"Name": "bot-errors"}
    logs = boto3.client("logs", region_name=REGION)
    filters = {
        f["filterName"]: f for f in logs.describe_metric_filters(logGroupName=LOG_GROUP)["metricFilters"]
    }
    assert sorted(filters) == ["bot-errors", "bot-slow", "bot-tracebacks"]
    assert filters["bot-errors"]["filterPattern"] == '{ $.level = "ERROR" }'
    assert filters["bot-errors"]["metricTransformations"] == [
        {
            "metricName": "BotErrors",
            "metricNamespace": f"{NAMESPACE}/Logs",
            "metricValue": "1",
            "dimensions": {"Service": "$.service"},
        }
    ]
    assert filters["bot-tracebacks"]["metricTransformations"][0]["defaultValue"] == 0
    assert filters["bot-tracebacks"]["metricTransformations"][0]["unit"] == "Count"


@pytest.mark.parametrize(
    "pattern, transformation, reason",
    [
        (
            '{ $.level = "ERROR" }',
            {"DefaultValue": 0, "Dimensions": [{"Key": "Service", "Value": "$.service"}]},
            "InvalidParameterException: Invalid metric transformation: "
            "dimensions and default value are mutually exclusive properties",
        ),
        (
            "ERROR",
            {"Dimensions": [{"Key": "Service", "Value": "$.service"}]},
            "InvalidParameterException: The specified filter pattern does not support dimensions",
        ),
        (
            '{ $.level = "ERROR" }',
            {"Dimensions": [{"Key": "Environment", "Value": "dev"}]},
            "Invalid metric transformation: dimension value must be valid selector",
        ),
        (
            '{ $.level = "ERROR" }',
            {"Dimensions": [{"Key": f"D{i}", "Value": f"$.d{i}"} for i in range(4)]},
            "at most 3 dimensions, got 4",
        ),
        ('{ level = "ERROR" }', {}, "Invalid metric filter pattern"),
        ('{ $.level = "ERROR" ', {}, "Invalid metric filter pattern (a JSON pattern must end with })"),
        ('"Traceback (most recent', {}, "Invalid metric filter pattern (an unclosed quote)"),
        ("Traceback(most", {}, "Invalid character(s) in term 'Traceback(most'"),
        ("[ip, user, 1st]", {}, "Invalid metric filter pattern (field '1st')"),
        (
            "ERROR",
            {"MetricName": "Bot:Errors"},
            "Value 'Bot:Errors' at 'metricTransformations.1.member.metricName' failed to satisfy constraint",
        ),
        (
            "ERROR",
            {"Unit": "Errors"},
            "at 'metricTransformations.1.member.unit' failed to satisfy constraint",
        ),
    ],
)
def test_metric_filter_refused_like_put_metric_filter(
    aws: None, pattern: str, transformation: dict[str, Any], reason: str
) -> None:
    _refused({"LogGroup": _log_group(), "Filter": _metric_filter(pattern, **transformation)}, reason)
    assert not boto3.client("logs", region_name=REGION).describe_metric_filters()["metricFilters"]


def test_metric_filter_needs_its_log_group_and_one_transformation(aws: None) -> None:
    orphan = _metric_filter()
    orphan["Properties"]["LogGroupName"] = "/clever-better/dev/missing"
    _refused({"Filter": orphan}, "ResourceNotFoundException: The specified log group does not exist.")
    _cfn().delete_stack(StackName="s")
    two = _metric_filter()
    two["Properties"]["MetricTransformations"] *= 2
    _refused(
        {"LogGroup": _log_group(), "Filter": two}, "at 'metricTransformations' failed to satisfy constraint"
    )


def test_named_metric_filter_that_exists_fails_like_cloudformation(aws: None) -> None:
    assert _outputs(create_stack({"LogGroup": _log_group(), "Filter": _metric_filter()}, name="first")) == {}
    again = _metric_filter()
    again["Properties"]["LogGroupName"] = LOG_GROUP
    stack = create_stack({"Filter": again}, name="second")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = stack_reasons("second")
    assert any(
        f"Metric Filter with name bot-errors already exists in log group {LOG_GROUP}." in r for r in reasons
    )
    assert len(boto3.client("logs", region_name=REGION).describe_metric_filters()["metricFilters"]) == 1


# --- query definitions ----------------------------------------------------------------------------

QUERY = "fields @timestamp, @message | filter level = 'ERROR' | sort @timestamp desc | limit 50"


def _query(**changes: Any) -> dict[str, Any]:
    props = {
        "Name": "clever-better/dev/bot-errors",
        "QueryString": QUERY,
        "LogGroupNames": [{"Ref": "LogGroup"}],
    }
    return {"Type": "AWS::Logs::QueryDefinition", "Properties": {**props, **changes}}


def test_query_definition_is_saved_read_back_updated_and_deleted(aws: None) -> None:
    stack = create_stack(
        {"LogGroup": _log_group(), "Query": _query()},
        {
            "Id": {"Value": {"Ref": "Query"}},
            "AttrId": {"Value": {"Fn::GetAtt": ["Query", "QueryDefinitionId"]}},
        },
    )
    outputs = _outputs(stack)
    assert outputs["Id"] == outputs["AttrId"]
    logs = boto3.client("logs", region_name=REGION)
    (saved,) = logs.describe_query_definitions(queryDefinitionNamePrefix="clever-better/dev/")[
        "queryDefinitions"
    ]
    assert saved["queryDefinitionId"] == outputs["Id"]
    assert (saved["name"], saved["queryString"], saved["logGroupNames"]) == (
        "clever-better/dev/bot-errors",
        QUERY,
        [LOG_GROUP],
    )
    body = json.dumps(
        {"Resources": {"LogGroup": _log_group(), "Query": _query(QueryString="fields @message")}}
    )
    _cfn().update_stack(StackName="s", TemplateBody=body)
    (updated,) = logs.describe_query_definitions()["queryDefinitions"]
    assert (updated["queryDefinitionId"], updated["queryString"]) == (outputs["Id"], "fields @message")
    _cfn().delete_stack(StackName="s")
    assert logs.describe_query_definitions()["queryDefinitions"] == []


def test_query_definition_api(aws: None) -> None:
    logs = boto3.client("logs", region_name=REGION)
    query_id = logs.put_query_definition(name="ops/drift", queryString="fields @message")["queryDefinitionId"]
    assert [d["name"] for d in logs.describe_query_definitions()["queryDefinitions"]] == ["ops/drift"]
    assert logs.delete_query_definition(queryDefinitionId=query_id)["success"] is True
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.delete_query_definition(queryDefinitionId=query_id)


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"Name": "bot:errors"}, "Value 'bot:errors' at 'name' failed to satisfy constraint"),
        ({"QueryString": ""}, "at 'queryString' failed to satisfy constraint"),
        ({"QueryLanguage": "KQL"}, "at 'queryLanguage' failed to satisfy constraint"),
        (
            {"LogGroupNames": ["/clever-better/dev/missing"]},
            "LocallyRefused: query definition clever-better/dev/bot-errors: "
            "log group /clever-better/dev/missing does not exist",
        ),
    ],
)
def test_query_definition_refused(aws: None, changes: dict[str, Any], reason: str) -> None:
    _refused({"LogGroup": _log_group(), "Query": _query(**changes)}, reason)
    assert boto3.client("logs", region_name=REGION).describe_query_definitions()["queryDefinitions"] == []


# --- the whole set, deleted -----------------------------------------------------------------------


def test_valid_monitoring_stack_deletes_cleanly(aws: None) -> None:
    stack = create_stack(
        {
            "Key": _key(CLOUDWATCH_MAY_USE_KEY),
            "Topic": _topic(KmsMasterKeyId={"Ref": "Key"}),
            "TopicPolicy": _topic_policy(CLOUDWATCH_MAY_PUBLISH, TLS_ONLY),
            "LogGroup": _log_group(),
            "Filter": _metric_filter(),
            "Query": _query(),
            "Errors": _alarm(AlarmActions=[{"Ref": "Topic"}]),
            "Ratio": _math_alarm(),
            "Down": _composite(_arn_rule("ALARM", "Errors")),
            "Dashboard": _dashboard(_graph()),
        }
    )
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack_reasons()
    _cfn().delete_stack(StackName="s")
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    described = cloudwatch.describe_alarms()
    assert described["MetricAlarms"] == [] and described["CompositeAlarms"] == []
    assert cloudwatch.list_dashboards()["DashboardEntries"] == []
    logs = boto3.client("logs", region_name=REGION)
    assert logs.describe_metric_filters()["metricFilters"] == []
    assert logs.describe_query_definitions()["queryDefinitions"] == []
    assert boto3.client("sns", region_name=REGION).list_topics()["Topics"] == []


def test_a_child_alarm_a_composite_names_cannot_be_deleted_first(aws: None) -> None:
    # Literal names carry no dependency: deleting the child first is what DeleteAlarms refuses.
    assert create_stack({"Errors": _alarm()}, name="children")["StackStatus"] == "CREATE_COMPLETE"
    assert (
        create_stack({"Down": _composite('ALARM("bot-errors")')}, name="parent")["StackStatus"]
        == "CREATE_COMPLETE"
    )
    # The engine does not turn a failed stack deletion into DELETE_FAILED: the refusal surfaces as
    # the error itself (HTTP 500 from the emulator's server), and the alarm stays.
    with pytest.raises(ValidationError, match=r"Alarm bot-errors cannot be deleted: .*\['bot-down'\]"):
        _cfn().delete_stack(StackName="children")
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    assert [a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]] == ["bot-errors"]


# --- schedules (the drift check) ------------------------------------------------------------------

FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:clever-better-dev-drift-check"


def _role(service: str = "scheduler.amazonaws.com", **condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if condition:
        statement["Condition"] = condition
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [statement]}},
    }


def _schedule(**changes: Any) -> dict[str, Any]:
    props = {
        "Name": "clever-better-dev-drift-check",
        "ScheduleExpression": "cron(0 6 * * ? *)",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {"Arn": FUNCTION, "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}},
        **changes,
    }
    return {"Type": "AWS::Scheduler::Schedule", "Properties": props}


def _rule(expression: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Name": "clever-better-dev-drift-check",
            "ScheduleExpression": expression,
            "Targets": [{"Id": "DriftCheck", "Arn": FUNCTION}],
        },
    }


def test_schedule_and_rule_are_created_read_back_and_deleted(aws: None) -> None:
    condition = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    stack = create_stack(
        {"Role": _role(**condition), "Schedule": _schedule(), "Rule": _rule("rate(1 day)")},
        {"Name": {"Value": {"Ref": "Schedule"}}, "Arn": {"Value": {"Fn::GetAtt": ["Schedule", "Arn"]}}},
    )
    assert _outputs(stack) == {
        "Name": "clever-better-dev-drift-check",
        "Arn": f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/clever-better-dev-drift-check",
    }
    schedule = boto3.client("scheduler", region_name=REGION).get_schedule(
        Name="clever-better-dev-drift-check"
    )
    assert (schedule["ScheduleExpression"], schedule["Target"]["Arn"]) == ("cron(0 6 * * ? *)", FUNCTION)
    events = boto3.client("events", region_name=REGION)
    assert events.describe_rule(Name="clever-better-dev-drift-check")["ScheduleExpression"] == "rate(1 day)"
    _cfn().delete_stack(StackName="s")
    assert boto3.client("scheduler", region_name=REGION).list_schedules()["Schedules"] == []
    assert events.list_rules()["Rules"] == []


@pytest.mark.parametrize(
    "expression, reason",
    [
        (
            "cron(0 6 * * *)",
            "cron() takes six fields (minutes hours day-of-month month day-of-week year), not 5",
        ),
        ("cron(0 6 * * MON *)", "one of day-of-month and day-of-week must be ?"),
        ("rate(1 days)", "the unit is singular for 1 and plural otherwise"),
        ("rate(0 minutes)", "rate(value unit) takes a positive whole number"),
        ("every day", "a schedule is rate(...) or cron(...)"),
    ],
)
def test_rule_schedule_refused_like_put_rule(aws: None, expression: str, reason: str) -> None:
    reasons = _refused({"Rule": _rule(expression)}, reason)
    assert any("ValidationException: Parameter ScheduleExpression is not valid." in r for r in reasons), (
        reasons
    )


@pytest.mark.parametrize(
    "resources, reason",
    [
        (
            {"Role": _role("events.amazonaws.com"), "Schedule": _schedule()},
            "ValidationException: The execution role you provide must allow AWS EventBridge Scheduler "
            "to assume the role.",
        ),
        (
            {
                "Role": _role(ArnLike={"aws:SourceArn": f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/*"}),
                "Schedule": _schedule(),
            },
            "must allow AWS EventBridge Scheduler to assume the role.",
        ),
        ({"Role": _role(), "Schedule": _schedule(ScheduleExpression="cron(0 6 * * *)")}, "Invalid Schedule"),
        (
            {"Role": _role(), "Schedule": _schedule(FlexibleTimeWindow={"Mode": "FLEXIBLE"})},
            "MaximumWindowInMinutes must be 1 to 1440 when Mode is FLEXIBLE",
        ),
    ],
    ids=["trusts-events", "source-arn-of-the-schedule", "five-field-cron", "flexible-without-window"],
)
def test_schedule_refused_like_create_schedule(aws: None, resources: dict[str, Any], reason: str) -> None:
    _refused(resources, reason)
    assert boto3.client("scheduler", region_name=REGION).list_schedules()["Schedules"] == []


def _dead_letters(*statements: dict[str, Any]) -> dict[str, Any]:
    """A schedule whose role holds `statements`, with a dead-letter queue encrypted by our key."""
    role = _role()
    role["Properties"]["Policies"] = [
        {"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)}}
    ]
    return {
        "Key": _key(),
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": "drift-dlq", "KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
        },
        "Role": role,
        "Schedule": _schedule(
            Target={
                "Arn": FUNCTION,
                "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["Queue", "Arn"]}},
            }
        ),
    }


SEND = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["Queue", "Arn"]}}
USE_KEY = {
    "Effect": "Allow",
    "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
    "Resource": {"Fn::GetAtt": ["Key", "Arn"]},
}


def test_schedule_with_a_dead_letter_queue_its_role_may_use_is_created(aws: None) -> None:
    _outputs(create_stack(_dead_letters(SEND, USE_KEY)))
    schedule = boto3.client("scheduler", region_name=REGION).get_schedule(
        Name="clever-better-dev-drift-check"
    )
    assert schedule["Target"]["DeadLetterConfig"] == {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:drift-dlq"}


@pytest.mark.parametrize(
    "statements, reason",
    [
        ((USE_KEY,), "may not call sqs:SendMessage on arn:aws:sqs:us-east-1:123456789012:drift-dlq"),
        ((SEND,), "may not call kms:GenerateDataKey on arn:aws:sqs:us-east-1:123456789012:drift-dlq's key"),
    ],
    ids=["no-send", "no-key"],
)
def test_schedule_whose_role_cannot_deliver_dead_letters_is_refused_locally(
    aws: None, statements: tuple[dict[str, Any], ...], reason: str
) -> None:
    reasons = _refused(_dead_letters(*statements), reason)
    assert any("Scheduler drops each failed invocation" in r for r in reasons), reasons


def _queue_policy(action: str = "sqs:*", queue: Any = None) -> dict[str, Any]:
    return {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [queue or {"Ref": "Queue"}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": {"AWS": "*"},
                        "Action": action,
                        "Resource": {"Fn::GetAtt": ["Queue", "Arn"]},
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            },
        },
    }


def test_queue_policy_is_set_read_back_and_removed(aws: None) -> None:
    resources = _dead_letters(SEND, USE_KEY)
    _outputs(create_stack({**resources, "QueuePolicy": _queue_policy()}))
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName="drift-dlq")["QueueUrl"]
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    )
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    _cfn().delete_stack(StackName="s")
    assert sqs.list_queues().get("QueueUrls", []) == []


@pytest.mark.parametrize(
    "policy, reason",
    [
        (
            _queue_policy(action="sns:Publish"),
            "InvalidAttributeValue: Invalid value for the parameter Policy",
        ),
        (
            _queue_policy(queue=f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/nowhere"),
            "QueueDoesNotExist: The specified queue does not exist",
        ),
    ],
    ids=["not-an-sqs-action", "no-such-queue"],
)
def test_queue_policy_refused_like_set_queue_attributes(
    aws: None, policy: dict[str, Any], reason: str
) -> None:
    _refused({**_dead_letters(SEND, USE_KEY), "QueuePolicy": policy}, reason)


def test_schedule_dead_letter_target_must_be_a_queue(aws: None) -> None:
    resources = _dead_letters(SEND, USE_KEY)
    resources["Schedule"]["Properties"]["Target"]["DeadLetterConfig"] = {"Arn": FUNCTION}
    _refused(resources, f"ValidationException: DeadLetterConfig Arn {FUNCTION} is not an SQS queue ARN")


SNS_MAY_SEND = {
    "Effect": "Allow",
    "Principal": {"Service": "sns.amazonaws.com"},
    "Action": "sqs:SendMessage",
    "Resource": {"Fn::GetAtt": ["Queue", "Arn"]},
    "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": "Topic"}}},
}
SNS_MAY_USE_KEY = {
    "Effect": "Allow",
    "Principal": {"Service": "sns.amazonaws.com"},
    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
    "Resource": "*",
}


def _subscribed(queue_statements: list[dict[str, Any]], *key_statements: dict[str, Any]) -> dict[str, Any]:
    """A topic, a queue encrypted with our key, its policy, and the topic's SQS subscription."""
    return {
        "Key": _key(*key_statements),
        "Topic": _topic(),
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": "alarms-p0", "KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
        },
        "QueuePolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": "Queue"}],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": queue_statements},
            },
        },
        "Subscription": {
            "Type": "AWS::SNS::Subscription",
            "DependsOn": ["QueuePolicy"],
            "Properties": {
                "TopicArn": {"Ref": "Topic"},
                "Protocol": "sqs",
                "Endpoint": {"Fn::GetAtt": ["Queue", "Arn"]},
            },
        },
    }


def test_sqs_subscription_is_created_delivers_and_is_deleted(aws: None) -> None:
    _outputs(create_stack(_subscribed([SNS_MAY_SEND], SNS_MAY_USE_KEY)))
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms"
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert subscription["Endpoint"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:alarms-p0"
    sns.publish(TopicArn=topic, Message="hello")
    url = sqs.get_queue_url(QueueName="alarms-p0")["QueueUrl"]
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert json.loads(message["Body"])["Message"] == "hello"
    _cfn().delete_stack(StackName="s")
    assert sns.list_subscriptions()["Subscriptions"] == []


@pytest.mark.parametrize(
    "queue_statements, key_statements, reason",
    [
        ([], (SNS_MAY_USE_KEY,), "the queue policy does not let sns.amazonaws.com send"),
        (
            [
                {
                    **SNS_MAY_SEND,
                    "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:1:other"}},
                }
            ],
            (SNS_MAY_USE_KEY,),
            "the queue policy does not let sns.amazonaws.com send",
        ),
        ([SNS_MAY_SEND], (), "does not allow sns.amazonaws.com kms:GenerateDataKey"),
    ],
    ids=["no-queue-policy", "another-topic", "no-key-policy"],
)
def test_sqs_subscription_sns_could_not_deliver_is_refused_locally(
    aws: None, queue_statements: list[dict[str, Any]], key_statements: tuple[dict[str, Any], ...], reason: str
) -> None:
    reasons = _refused(_subscribed(queue_statements, *key_statements), reason)
    assert any("SNS drops every message it cannot deliver" in r for r in reasons), reasons


def test_subscription_to_a_missing_topic_fails_like_subscribe(aws: None) -> None:
    resources = _subscribed([SNS_MAY_SEND], SNS_MAY_USE_KEY)
    resources["Subscription"]["Properties"]["TopicArn"] = f"arn:aws:sns:{REGION}:{ACCOUNT}:nowhere"
    _refused(resources, "NotFound: Topic does not exist")


def test_an_alarm_may_name_a_topic_a_later_stack_creates(aws: None) -> None:
    # PutMetricAlarm takes an action's ARN without looking it up (the deployment alarms name the
    # P1 topic of the monitoring stack, deployed after theirs); deliveries start once it exists.
    stack = create_stack({"Alarm": _alarm(AlarmActions=[f"arn:aws:sns:{REGION}:{ACCOUNT}:created-later"])})
    assert _outputs(stack) == {}


def _rule_with_dead_letters(
    *, queue_source: str | None, key_statement: dict[str, Any] | None, retry: dict[str, int] | None = None
) -> dict[str, Any]:
    """A rule on ECS task events whose target keeps its failures in an SQS queue under a customer
    managed key: the queue's policy admits EventBridge for `queue_source` (None: no policy), the
    key's policy adds `key_statement` to the account's."""
    root = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    key_policy = {"Version": "2012-10-17", "Statement": [root, *([key_statement] if key_statement else [])]}
    resources: dict[str, Any] = {
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": key_policy}},
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": "training-dlq", "KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
        },
        "Rule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": "training-outcome",
                "EventPattern": {"source": ["aws.ecs"], "detail-type": ["ECS Task State Change"]},
                "Targets": [
                    {
                        "Id": "Training",
                        "Arn": FUNCTION,
                        "RetryPolicy": retry
                        or {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
                        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["Queue", "Arn"]}},
                    }
                ],
            },
        },
    }
    if queue_source is not None:
        resources["QueuePolicy"] = {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": "Queue"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": {"Fn::GetAtt": ["Queue", "Arn"]},
                            "Condition": {"ArnEquals": {"aws:SourceArn": queue_source}},
                        }
                    ],
                },
            },
        }
        resources["Rule"]["DependsOn"] = ["QueuePolicy"]
    return resources


_EVENTS_KEY = {
    "Effect": "Allow",
    "Principal": {"Service": "events.amazonaws.com"},
    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
    "Resource": "*",
}
_RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/training-outcome"


def test_a_dead_letter_queue_under_sqss_own_key_is_refused(aws: None) -> None:
    resources = _rule_with_dead_letters(queue_source=_RULE_ARN, key_statement=_EVENTS_KEY)
    resources["Queue"]["Properties"]["KmsMasterKeyId"] = "alias/aws/sqs"
    _refused(resources, "the queue is encrypted with the AWS managed key alias/aws/sqs")


def test_a_rule_whose_dead_letter_queue_admits_eventbridge_is_created(aws: None) -> None:
    stack = create_stack(_rule_with_dead_letters(queue_source=_RULE_ARN, key_statement=_EVENTS_KEY))
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    targets = boto3.client("events", region_name=REGION).list_targets_by_rule(Rule="training-outcome")
    assert targets["Targets"][0]["DeadLetterConfig"]["Arn"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:training-dlq"


@pytest.mark.parametrize(
    "queue_source, key_statement, retry, reason",
    [
        (None, _EVENTS_KEY, None, "the queue policy does not let events.amazonaws.com sqs:SendMessage"),
        (
            f"arn:aws:events:{REGION}:{ACCOUNT}:rule/other",
            _EVENTS_KEY,
            None,
            "the queue policy does not let events.amazonaws.com sqs:SendMessage for the rule",
        ),
        (_RULE_ARN, None, None, "does not allow events.amazonaws.com kms:GenerateDataKey"),
        (
            _RULE_ARN,
            {**_EVENTS_KEY, "Condition": {"ArnEquals": {"aws:SourceArn": _RULE_ARN}}},
            None,
            "(without aws:SourceArn, which EventBridge does not send to KMS)",
        ),
        (
            _RULE_ARN,
            _EVENTS_KEY,
            {"MaximumEventAgeInSeconds": 30, "MaximumRetryAttempts": 3},
            "MaximumEventAgeInSeconds 30 is not valid: 60 to 86400",
        ),
        (
            _RULE_ARN,
            _EVENTS_KEY,
            {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 186},
            "MaximumRetryAttempts 186 is not valid: 0 to 185",
        ),
    ],
    ids=[
        "no-queue-policy",
        "queue-policy-for-another-rule",
        "key-without-events",
        "key-on-source-arn",
        "age",
        "attempts",
    ],
)
def test_a_rule_whose_failures_would_be_lost_is_refused(
    aws: None,
    queue_source: str | None,
    key_statement: dict[str, Any] | None,
    retry: dict[str, int] | None,
    reason: str,
) -> None:
    _refused(
        _rule_with_dead_letters(queue_source=queue_source, key_statement=key_statement, retry=retry), reason
    )
