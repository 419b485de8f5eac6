"""Scheduled training's wiring (components/services/training.py), by literal values: the two
schedules and what they send, the function's names, a role that runs only the ml-service's
family in this cluster and passes only that task definition's two roles, the STOPPED rule as
an EventBridge matcher reads it (moto's, which routes its put_events; its TestEventPattern is
not implemented), the dead-letter path EventBridge sends through as itself (the queue's policy
holds it to the rule; the key's statement cannot name it), and the P2/P1 alarms. Production's DR region trains
nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from tests.support import one_resource, resources

ENVS = {"dev": "dev", "staging": "staging", "production": "prod"}
PROD_ECS = "arn:aws:ecs:us-east-1:333333333333"
RULE_ARN = "arn:aws:events:us-east-1:333333333333:rule/clever-better-prod-training-outcome"


def _services(templates: dict[str, Any], token: str) -> dict[str, Any]:
    return templates[f"clever-better-{token}-services"]


@pytest.mark.parametrize("token", ENVS.values())
def test_scheduler_starts_a_run_at_quarter_past_five_and_watches_every_15_minutes(
    templates: dict[str, Any], token: str
) -> None:
    template = _services(templates, token)
    function_id, _ = one_resource(template, "AWS::Lambda::Function", "TrainingFunction")
    queue_id, queue = one_resource(template, "AWS::SQS::Queue", "TrainingDeadLetters")
    expected = {
        "TrainingSchedule": (
            f"clever-better-{token}-training",
            "cron(15 5 * * ? *)",
            '{"action": "start", "scheduled": "<aws.scheduler.scheduled-time>"}',
        ),
        "TrainingWatch": (f"clever-better-{token}-training-watch", "rate(15 minutes)", '{"action": "watch"}'),
    }
    for prefix, (name, expression, sent) in expected.items():
        role_id, _ = one_resource(template, "AWS::IAM::Role", f"{prefix}Role")
        _, schedule = one_resource(template, "AWS::Scheduler::Schedule", prefix)
        assert (schedule["Name"], schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"]) == (
            name,
            expression,
            "UTC",
        )
        assert schedule["Target"] == {
            "Arn": {"Fn::GetAtt": [function_id, "Arn"]},
            "RoleArn": {"Fn::GetAtt": [role_id, "Arn"]},
            "Input": sent,
            "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3},
            "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}},
        }
    assert queue["QueueName"] == f"clever-better-{token}-training-dlq"


@pytest.mark.parametrize("token", ENVS.values())
def test_the_function_runs_the_ml_services_training_command(templates: dict[str, Any], token: str) -> None:
    template = _services(templates, token)
    service_id, service = one_resource(template, "AWS::ECS::Service", "MlService")
    assert service["ServiceName"] == "ml-service"
    _, function = one_resource(template, "AWS::Lambda::Function", "TrainingFunction")
    assert function["FunctionName"] == f"clever-better-{token}-training"
    assert (function["Handler"], function["Timeout"], function["Runtime"]) == (
        "handler.handler",
        60,
        "python3.14",
    )
    assert function["Environment"]["Variables"] == {
        "CLUSTER": f"clever-better-{token}",
        "SERVICE": {"Fn::GetAtt": [service_id, "Name"]},
        "CONTAINER": "ml-service",
        "COMMAND": '["python", "-m", "ml_service.train"]',
        "STARTED_BY": f"clever-better-{token}-training",
        "TIMEOUT_MINUTES": "120",
        "ENVIRONMENT": token,
        "METRIC_NAMESPACE": "CleverBetter/Operations",
        "METRIC_DIMENSION": "Environment",
        "FAILED_METRIC": "TrainingRunFailed",
        "STREAK_METRIC": "TrainingFailureStreak",
        "SECONDS_METRIC": "TrainingRunSeconds",
        "SKIPPED_METRIC": "TrainingRunSkipped",
    }


def test_its_role_runs_only_the_ml_service_family_in_this_cluster(templates: dict[str, Any]) -> None:
    """Production's, literally: account 333333333333, us-east-1. PassRole names exactly the two
    roles of the task definition the ml-service runs (followed through the template)."""
    template = _services(templates, "prod")
    service_id, service = one_resource(template, "AWS::ECS::Service", "MlService")
    definition_id = service["TaskDefinition"]["Ref"]
    definition = template["Resources"][definition_id]["Properties"]
    assert definition["Family"] == "clever-better-prod-ml-service"
    _, policy = one_resource(template, "AWS::IAM::ManagedPolicy", "TrainingRunPolicy")
    in_cluster = {"ArnEquals": {"ecs:cluster": f"{PROD_ECS}:cluster/clever-better-prod"}}
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Action": "ecs:DescribeServices",
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": [
                    "",
                    [f"{PROD_ECS}:service/clever-better-prod/", {"Fn::GetAtt": [service_id, "Name"]}],
                ]
            },
        },
        {
            "Action": "ecs:RunTask",
            "Condition": in_cluster,
            "Effect": "Allow",
            "Resource": f"{PROD_ECS}:task-definition/clever-better-prod-ml-service:*",
        },
        {
            "Action": ["ecs:DescribeTasks", "ecs:StopTask"],
            "Effect": "Allow",
            "Resource": f"{PROD_ECS}:task/clever-better-prod/*",
        },
        {"Action": "ecs:ListTasks", "Condition": in_cluster, "Effect": "Allow", "Resource": "*"},
        {
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": [definition["ExecutionRoleArn"], definition["TaskRoleArn"]],
        },
        {
            "Action": "cloudwatch:PutMetricData",
            "Condition": {"StringEquals": {"cloudwatch:namespace": "CleverBetter/Operations"}},
            "Effect": "Allow",
            "Resource": "*",
        },
        {"Action": "cloudwatch:GetMetricData", "Effect": "Allow", "Resource": "*"},
    ]
    assert definition["ExecutionRoleArn"] != definition["TaskRoleArn"]


STOPPED = {
    "version": "0",
    "id": "5b6f1a63-0b8e-4f43-9c3a-6c2a0f5e2f11",
    "detail-type": "ECS Task State Change",
    "source": "aws.ecs",
    "account": "333333333333",
    "time": "2026-12-04T05:01:00Z",
    "region": "us-east-1",
    "resources": [f"{PROD_ECS}:task/clever-better-prod/0123456789abcdef0123456789abcdef"],
    "detail": {
        "clusterArn": f"{PROD_ECS}:cluster/clever-better-prod",
        "containers": [{"name": "ml-service", "exitCode": 1, "lastStatus": "STOPPED"}],
        "desiredStatus": "STOPPED",
        "group": "training",
        "lastStatus": "STOPPED",
        "startedBy": "clever-better-prod-training",
        "stopCode": "EssentialContainerExited",
        "taskArn": f"{PROD_ECS}:task/clever-better-prod/0123456789abcdef0123456789abcdef",
    },
}


def _with(**detail: Any) -> dict[str, Any]:
    return {**STOPPED, "detail": {**STOPPED["detail"], **detail}}


@pytest.mark.parametrize(
    "event, matches",
    [
        (STOPPED, True),
        (_with(startedBy="ecs-svc/9223370545345641169"), False),  # the service's own task
        (_with(lastStatus="RUNNING", desiredStatus="RUNNING"), False),
        (_with(clusterArn=f"{PROD_ECS}:cluster/clever-better-staging"), False),
        ({**STOPPED, "detail-type": "ECS Container Instance State Change"}, False),
    ],
)
def test_the_rule_sends_exactly_our_stopped_tasks(
    templates: dict[str, Any], event: dict[str, Any], matches: bool
) -> None:
    template = _services(templates, "prod")
    function_id, _ = one_resource(template, "AWS::Lambda::Function", "TrainingFunction")
    queue_id, _ = one_resource(template, "AWS::SQS::Queue", "TrainingDeadLetters")
    _, rule = one_resource(template, "AWS::Events::Rule", "TrainingOutcome")
    assert rule["Name"] == "clever-better-prod-training-outcome" and rule["State"] == "ENABLED"
    assert rule["Targets"] == [
        {
            "Id": "Training",
            "Arn": {"Fn::GetAtt": [function_id, "Arn"]},
            "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
            "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}},
        }
    ]
    assert EventPattern.load(json.dumps(rule["EventPattern"])).matches_event(event) is matches


def test_eventbridge_may_invoke_it_and_send_to_its_dead_letter_queue(templates: dict[str, Any]) -> None:
    """EventBridge acts as itself, not through a role: the function's resource policy and the
    queue's admit it from this rule only; the key that encrypts the queue admits it with no
    condition (EventBridge sends KMS no source to match)."""
    template = _services(templates, "prod")
    function_id, _ = one_resource(template, "AWS::Lambda::Function", "TrainingFunction")
    queue_id, queue = one_resource(template, "AWS::SQS::Queue", "TrainingDeadLetters")
    _, permission = one_resource(template, "AWS::Lambda::Permission", "TrainingFunctionOutcomeInvoke")
    assert permission == {
        "Action": "lambda:InvokeFunction",
        "FunctionName": {"Fn::GetAtt": [function_id, "Arn"]},
        "Principal": "events.amazonaws.com",
        "SourceAccount": "333333333333",
        "SourceArn": RULE_ARN,
    }
    from_rule = {"ArnEquals": {"aws:SourceArn": RULE_ARN}}
    policy_id, queue_policy = one_resource(template, "AWS::SQS::QueuePolicy", "TrainingDeadLetters")
    assert queue_policy["Queues"] == [{"Ref": queue_id}]
    # The queue's one policy (TLS only, and EventBridge), in place before the rule delivers.
    rule_id, _ = one_resource(template, "AWS::Events::Rule", "TrainingOutcome")
    assert policy_id in template["Resources"][rule_id]["DependsOn"]
    assert [s["Effect"] for s in queue_policy["PolicyDocument"]["Statement"]] == ["Deny", "Allow"]
    sends = [s for s in queue_policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert sends == [
        {
            "Action": "sqs:SendMessage",
            "Condition": from_rule,
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
        }
    ]
    key_id = queue["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key_statements = template["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
    events = [s for s in key_statements if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    # No source condition: EventBridge's use of a key does not carry one to match.
    assert events == [
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Resource": "*",
        }
    ]


@pytest.mark.parametrize("token", ENVS.values())
def test_a_failed_run_is_p2_and_two_in_a_row_p1(templates: dict[str, Any], token: str) -> None:
    monitoring = templates[f"clever-better-{token}-monitoring"]
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources(monitoring, "AWS::CloudWatch::Alarm").values()
    }
    failed = alarms[f"clever-better-{token}-training-failed-P2"]
    queries = {q["Id"]: q for q in failed["Metrics"]}
    assert queries["expr_1"]["Expression"] == "FILL(failed, 0) + FILL(errors, 0)"
    assert queries["failed"]["MetricStat"] == {
        "Metric": {
            "Namespace": "CleverBetter/Operations",
            "MetricName": "TrainingRunFailed",
            "Dimensions": [{"Name": "Environment", "Value": token}],
        },
        "Period": 3600,
        "Stat": "Maximum",
    }
    assert queries["errors"]["MetricStat"]["Metric"] == {
        "Namespace": "AWS/Lambda",
        "MetricName": "Errors",
        "Dimensions": [{"Name": "FunctionName", "Value": f"clever-better-{token}-training"}],
    }
    assert (failed["ComparisonOperator"], failed["Threshold"], failed["TreatMissingData"]) == (
        "GreaterThanThreshold",
        0,
        "notBreaching",
    )
    twice = alarms[f"clever-better-{token}-training-failed-twice-P1"]
    assert (twice["Namespace"], twice["MetricName"], twice["Statistic"], twice["Period"]) == (
        "CleverBetter/Operations",
        "TrainingFailureStreak",
        "Maximum",
        3600,
    )
    # Any hour of the last 24: a late outcome still fires, and the page stays for the day.
    assert (
        twice["ComparisonOperator"],
        twice["Threshold"],
        twice["EvaluationPeriods"],
        twice["DatapointsToAlarm"],
    ) == ("GreaterThanOrEqualToThreshold", 2, 24, 1)
    assert (failed["EvaluationPeriods"], failed["DatapointsToAlarm"]) == (24, 1)
    unstarted = alarms[f"clever-better-{token}-training-dlq-P2"]
    assert unstarted["Dimensions"] == [{"Name": "QueueName", "Value": f"clever-better-{token}-training-dlq"}]


def test_the_dr_region_trains_nothing(templates: dict[str, Any]) -> None:
    dr = _services(templates, "prod-dr")
    assert resources(dr, "AWS::ECS::Service"), "the DR services stack has its services"
    assert not [k for k in dr["Resources"] if k.startswith("Training")]
