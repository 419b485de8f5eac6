"""The alerting stack (components/alerting): severity topics -> queues -> the router, the dead
letters, the on-call email path and the trading halt, as production's template holds them."""

from __future__ import annotations

import json
from typing import Any

from tests.support import resources

PROD = "clever-better-prod-alerting"
ACCOUNT = "333333333333"
SEVERITIES = ("p0", "p1", "p2", "p3")
HALT_PARAMETER_ARN = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/clever-better/prod/trading/halted"


def _one(template: dict[str, Any], kind: str, **properties: Any) -> tuple[str, dict[str, Any]]:
    matches = [
        (lid, r["Properties"])
        for lid, r in resources(template, kind).items()
        if all(r["Properties"].get(k) == v for k, v in properties.items())
    ]
    assert len(matches) == 1, (kind, properties, [lid for lid, _ in matches])
    return matches[0]


def _statements(template: dict[str, Any], function_id: str) -> list[dict[str, Any]]:
    role_id = template["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = template["Resources"][role_id]["Properties"]["ManagedPolicyArns"]
    statements: list[dict[str, Any]] = template["Resources"][policy["Ref"]]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return sorted(action if isinstance(action, list) else [action])


def test_each_severity_topic_feeds_its_encrypted_queue(templates: dict[str, Any]) -> None:
    template = templates[PROD]
    (key_id,) = resources(template, "AWS::KMS::Key")
    dead_id, dead = _one(template, "AWS::SQS::Queue", QueueName="clever-better-prod-alarm-router-dlq")
    assert dead["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    for severity in SEVERITIES:
        queue_id, queue = _one(template, "AWS::SQS::Queue", QueueName=f"clever-better-prod-alarms-{severity}")
        assert queue["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
        # Six times the function's 60 s, so a retry never overlaps a running delivery.
        assert queue["VisibilityTimeout"] == 360
        assert queue["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dead_id, "Arn"]},
            "maxReceiveCount": 5,
        }
        topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:clever-better-prod-{severity}"
        _, subscription = _one(template, "AWS::SNS::Subscription", TopicArn=topic)
        assert subscription["Protocol"] == "sqs"
        assert subscription["Endpoint"] == {"Fn::GetAtt": [queue_id, "Arn"]}
        # The router reads SNS's envelope (subject, timestamp), not the bare alarm.
        assert subscription.get("RawMessageDelivery", False) is False
        (policy,) = [
            p
            for p in resources(template, "AWS::SQS::QueuePolicy").values()
            if p["Properties"]["Queues"] == [{"Ref": queue_id}]
        ]
        (send,) = [
            s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Action"] == "sqs:SendMessage"
        ]
        assert send["Principal"] == {"Service": "sns.amazonaws.com"}
        assert send["Condition"] == {"ArnEquals": {"aws:SourceArn": topic}}


def test_the_router_consumes_every_queue_with_partial_batch_responses(templates: dict[str, Any]) -> None:
    template = templates[PROD]
    function_id, function = _one(
        template, "AWS::Lambda::Function", FunctionName="clever-better-prod-alarm-router"
    )
    assert function["Architectures"] == ["arm64"]
    assert function["Timeout"] == 60
    assert function["Environment"]["Variables"] == {
        "SECRET_ID": "clever-better/prod/alerting",
        "PAGER": "pagerduty",
        "PAGES": "true",
        "IDEMPOTENCY_TABLE": "clever-better-prod-alarm-deliveries",
        "ALARM_PREFIX": "clever-better-prod-",
    }
    mappings = list(resources(template, "AWS::Lambda::EventSourceMapping").values())
    assert len(mappings) == 4
    sources = set()
    for mapping in mappings:
        properties = mapping["Properties"]
        assert properties["FunctionName"] == {"Ref": function_id}
        assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert properties["BatchSize"] == 10
        sources.add(properties["EventSourceArn"]["Fn::GetAtt"][0])
    assert len(sources) == 4
    consume = [s for s in _statements(template, function_id) if "sqs:ReceiveMessage" in _actions(s)]
    assert len(consume) == 1
    assert _actions(consume[0]) == ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
    assert sorted(r["Fn::GetAtt"][0] for r in consume[0]["Resource"]) == sorted(sources)


def test_the_deliveries_table_expires_its_records(templates: dict[str, Any]) -> None:
    _, table = _one(templates[PROD], "AWS::DynamoDB::Table", TableName="clever-better-prod-alarm-deliveries")
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["SSESpecification"]["SSEType"] == "KMS"


def test_oncall_hears_of_the_router_failing_by_email(templates: dict[str, Any]) -> None:
    template = templates[PROD]
    topic_id, _ = _one(template, "AWS::SNS::Topic", TopicName="clever-better-prod-oncall")
    _, email = _one(template, "AWS::SNS::Subscription", TopicArn={"Ref": topic_id})
    assert email["Protocol"] == "email"
    assert email["Endpoint"] == "oncall@clever-better.com"


def test_the_halt_parameter_never_changes_in_the_template(templates: dict[str, Any]) -> None:
    """A change to these properties (tags aside) makes CloudFormation put the template's value
    again, which would clear a halt in force: they stay exactly this."""
    for token in ("dev", "staging", "prod"):
        _, parameter = _one(
            templates[f"clever-better-{token}-alerting"],
            "AWS::SSM::Parameter",
            Name=f"/clever-better/{token}/trading/halted",
        )
        assert parameter == {
            "Name": f"/clever-better/{token}/trading/halted",
            "Type": "String",
            "Value": (
                '{"halted": false, "by": "deploy", "reason": "created with the alerting stack", "at": ""}'
            ),
            "Description": "The bot places no bets while this says halted (make resume-trading clears it)",
            # Tags are changed by their own calls, never by putting the value again.
            "Tags": {
                "Environment": {"prod": "production"}.get(token, token),
                "ManagedBy": "aws-cdk",
                "Project": "clever-better",
                "Unit": "alerting",
            },
        }
        assert json.loads(parameter["Value"])["halted"] is False


def test_only_the_two_p0_alarms_of_this_account_may_invoke_the_halt(templates: dict[str, Any]) -> None:
    template = templates[PROD]
    function_id, function = _one(
        template, "AWS::Lambda::Function", FunctionName="clever-better-prod-trading-halt"
    )
    permissions = [p["Properties"] for p in resources(template, "AWS::Lambda::Permission").values()]
    halt = [p for p in permissions if p["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}]
    assert sorted(p["SourceArn"] for p in halt) == [
        f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:clever-better-prod-daily-loss-P0",
        f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:clever-better-prod-emergency-shutdown-P0",
    ]
    for permission in halt:
        assert permission["Principal"] == "lambda.alarms.cloudwatch.amazonaws.com"
        assert permission["Action"] == "lambda:InvokeFunction"
        assert permission["SourceAccount"] == ACCOUNT
    assert function["Environment"]["Variables"] == {
        "HALT_PARAMETER": "/clever-better/prod/trading/halted",
        "SECRET_ID": "clever-better/prod/alerting",
        "ENVIRONMENT": "prod",
    }
    # A halt that fails after Lambda's two retries lands with the router's dead letters (P1 + email).
    dead_id, _ = _one(template, "AWS::SQS::Queue", QueueName="clever-better-prod-alarm-router-dlq")
    assert function["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [dead_id, "Arn"]}}


def test_the_halt_writes_the_parameter_and_nothing_else(templates: dict[str, Any]) -> None:
    template = templates[PROD]
    function_id, _ = _one(template, "AWS::Lambda::Function", FunctionName="clever-better-prod-trading-halt")
    statements = _statements(template, function_id)
    ssm = [s for s in statements if any(a.startswith("ssm:") for a in _actions(s))]
    assert len(ssm) == 1
    assert _actions(ssm[0]) == ["ssm:GetParameter", "ssm:PutParameter"]
    (parameter_id,) = [
        lid
        for lid, p in resources(template, "AWS::SSM::Parameter").items()
        if p["Properties"]["Name"] == "/clever-better/prod/trading/halted"
    ]
    assert ssm[0]["Resource"] == {
        "Fn::Join": ["", [f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter", {"Ref": parameter_id}]]
    }
    allowed = {
        "ssm:GetParameter",
        "ssm:PutParameter",
        "secretsmanager:GetSecretValue",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "sqs:SendMessage",
        # Lambda's VPC attachment (tests/support.py LAMBDA_VPC_ACTIONS).
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
        "ec2:DetachNetworkInterface",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    granted = {a for s in statements if s["Effect"] == "Allow" for a in _actions(s)}
    assert granted, function_id
    assert granted <= allowed, sorted(granted - allowed)


def test_only_the_bot_reads_the_halt(templates: dict[str, Any]) -> None:
    template = templates["clever-better-prod-services"]
    readers = {}
    for policy in resources(template, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if "ssm:GetParameter" in _actions(statement):
                for role in policy["Properties"]["Roles"]:
                    readers[role["Ref"]] = statement
    assert len(readers) == 1, readers
    ((role_id, statement),) = readers.items()
    assert _actions(statement) == ["ssm:GetParameter"]
    assert statement["Resource"] == HALT_PARAMETER_ARN
    definitions = [
        d["Properties"]
        for d in resources(template, "AWS::ECS::TaskDefinition").values()
        if d["Properties"]["TaskRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    ]
    assert [d["Family"] for d in definitions] == ["clever-better-prod-bot"]
    variables = {
        v["Name"]: v["Value"]
        for d in resources(template, "AWS::ECS::TaskDefinition").values()
        for c in d["Properties"]["ContainerDefinitions"]
        for v in c.get("Environment", [])
        if v["Name"] == "TRADING_HALT_PARAMETER"
    }
    assert variables == {"TRADING_HALT_PARAMETER": "/clever-better/prod/trading/halted"}


def test_every_lambda_alarm_action_is_permitted_for_that_alarm(templates: dict[str, Any]) -> None:
    """CloudWatch accepts a Lambda action whatever the function's policy says, then never invokes
    a function that does not admit that alarm: each action needs its permission."""
    functions = {
        (name, lid): f["Properties"]["FunctionName"]
        for name, t in templates.items()
        for lid, f in resources(t, "AWS::Lambda::Function").items()
        if isinstance(f["Properties"].get("FunctionName"), str)
    }
    permitted = {
        (functions[(name, p["Properties"]["FunctionName"]["Fn::GetAtt"][0])], p["Properties"]["SourceArn"])
        for name, t in templates.items()
        for p in resources(t, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "lambda.alarms.cloudwatch.amazonaws.com"
    }
    actions = [
        (
            action.rsplit(":", 1)[1],
            alarm["Properties"]["AlarmName"],
            action.split(":")[3],
            action.split(":")[4],
        )
        for t in templates.values()
        for alarm in resources(t, "AWS::CloudWatch::Alarm").values()
        for action in alarm["Properties"].get("AlarmActions", [])
        if isinstance(action, str) and action.startswith("arn:aws:lambda:")
    ]
    # Two alarms in each of three environments and in production's DR region.
    assert sorted({region for _, _, region, _ in actions}) == ["us-east-1", "us-west-2"]
    assert len(actions) == 8
    for function, alarm, region, account in actions:
        assert (function, f"arn:aws:cloudwatch:{region}:{account}:alarm:{alarm}") in permitted, alarm


def test_the_reminder_schedule_invokes_the_router_every_five_minutes(templates: dict[str, Any]) -> None:
    template = templates[PROD]
    function_id, function = _one(
        template, "AWS::Lambda::Function", FunctionName="clever-better-prod-alarm-router"
    )
    dead_id, _ = _one(template, "AWS::SQS::Queue", QueueName="clever-better-prod-alarm-router-dlq")
    # Asynchronous runs that fail after Lambda's retries land with the dead letters (P1 + email).
    assert function["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [dead_id, "Arn"]}}
    _, schedule = _one(template, "AWS::Scheduler::Schedule", Name="clever-better-prod-alarm-reminders")
    target = schedule["Target"]  # the session's template: read, never changed
    assert {k: v for k, v in schedule.items() if k != "Target"} == {
        "Name": "clever-better-prod-alarm-reminders",
        "GroupName": "default",
        "Description": "Every 5 minutes: reminds on Slack of P0/P1 alarms open for each further 30 minutes",
        "ScheduleExpression": "rate(5 minutes)",
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED",
    }
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert json.loads(target["Input"]) == {"action": "remind"}  # lambdas/alarm_router REMIND_ACTION
    # A look older than the next one is worth nothing.
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 300, "MaximumRetryAttempts": 2}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dead_id, "Arn"]}}
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    role = template["Resources"][role_id]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnEquals": {"aws:SourceArn": f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule-group/default"},
    }
    (policy,) = role["ManagedPolicyArns"]
    statements = template["Resources"][policy["Ref"]]["Properties"]["PolicyDocument"]["Statement"]
    (invoke,) = [s for s in statements if s["Action"] == "lambda:InvokeFunction"]
    assert invoke["Resource"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert sorted(a for s in statements for a in _actions(s)) == [
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "lambda:InvokeFunction",
        "sqs:SendMessage",
    ]
