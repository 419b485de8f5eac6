"""The daily operations report's wiring (components/alerting/report.py), by literal values: the
morning schedule, the function and the names it reads, a role that only reads (and only this
environment's cluster, database and alerting secret), and the P3s for a report not posted or
never started. Production's DR region has none: the report reads the primary region."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import one_resource, resources

ENVS = {"dev": "dev", "staging": "staging", "production": "prod"}


def _alerting(templates: dict[str, Any], token: str) -> dict[str, Any]:
    return templates[f"clever-better-{token}-alerting"]


@pytest.mark.parametrize("token", ENVS.values())
def test_the_schedule_invokes_the_report_every_morning_at_seven(
    templates: dict[str, Any], token: str
) -> None:
    template = _alerting(templates, token)
    function_id, _ = one_resource(template, "AWS::Lambda::Function", "DailyReportFunction")
    queue_id, queue = one_resource(template, "AWS::SQS::Queue", "DailyReportDeadLetters")
    role_id, _ = one_resource(template, "AWS::IAM::Role", "DailyReportScheduleRole")
    _, schedule = one_resource(template, "AWS::Scheduler::Schedule", "DailyReportSchedule")
    assert schedule["Name"] == f"clever-better-{token}-daily-report"
    assert (schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"]) == (
        "cron(0 7 * * ? *)",
        "UTC",
    )
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"} and schedule["State"] == "ENABLED"
    assert schedule["Target"] == {
        "Arn": {"Fn::GetAtt": [function_id, "Arn"]},
        "RoleArn": {"Fn::GetAtt": [role_id, "Arn"]},
        "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3},
        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}},
    }
    assert queue["QueueName"] == f"clever-better-{token}-daily-report-dlq"


@pytest.mark.parametrize("token", ENVS.values())
def test_the_function_reads_the_environments_names(templates: dict[str, Any], token: str) -> None:
    _, function = one_resource(_alerting(templates, token), "AWS::Lambda::Function", "DailyReportFunction")
    assert function["FunctionName"] == f"clever-better-{token}-daily-report"
    assert (function["Handler"], function["Timeout"], function["Runtime"]) == (
        "handler.handler",
        120,
        "python3.14",
    )
    assert function["Environment"]["Variables"] == {
        "ENVIRONMENT": token,
        "CLUSTER": f"clever-better-{token}",
        "SERVICES": "bot,ml-service,data-ingestion",
        "DB_INSTANCE": f"clever-better-{token}",
        "BACKUP_VAULT": f"clever-better-{token}",
        "ALARM_PREFIX": f"clever-better-{token}-",
        "APP_NAMESPACE": "CleverBetter",
        "ERRORS_METRIC": "ErrorLogLines",
        "ERRORS_NAMESPACE": f"CleverBetter/Logs/{token}/{{service}}",
        "SECRET_ID": f"clever-better/{token}/alerting",
    }


def _statements(template: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    _, policy = one_resource(template, "AWS::IAM::ManagedPolicy", prefix)
    return list(policy["PolicyDocument"]["Statement"])


def test_its_role_only_reads_and_only_this_environment(templates: dict[str, Any]) -> None:
    """Production's, literally: account 333333333333 (config/environments.py), us-east-1."""
    template = templates["clever-better-prod-alerting"]
    ecs, rds = "arn:aws:ecs:us-east-1:333333333333", "arn:aws:rds:us-east-1:333333333333"
    assert _statements(template, "DailyReportReadPolicy") == [
        {
            "Action": "ecs:DescribeServices",
            "Effect": "Allow",
            "Resource": f"{ecs}:service/clever-better-prod/*",
        },
        {"Action": "ecs:DescribeTasks", "Effect": "Allow", "Resource": f"{ecs}:task/clever-better-prod/*"},
        {
            "Action": "ecs:ListTasks",
            "Condition": {"ArnEquals": {"ecs:cluster": f"{ecs}:cluster/clever-better-prod"}},
            "Effect": "Allow",
            "Resource": "*",
        },
        {
            "Action": "rds:DescribeDBInstances",
            "Effect": "Allow",
            "Resource": f"{rds}:db:clever-better-prod",
        },
        {
            "Action": ["backup:ListBackupJobs", "cloudwatch:DescribeAlarms", "cloudwatch:GetMetricData"],
            "Effect": "Allow",
            "Resource": "*",
        },
    ]
    function_policy = _statements(template, "DailyReportFunctionPolicy")
    (read,) = [s for s in function_policy if s["Action"] == "secretsmanager:GetSecretValue"]
    assert read["Resource"] == (
        "arn:aws:secretsmanager:us-east-1:333333333333:secret:clever-better/prod/alerting-??????"
    )
    (decrypt,) = [s for s in function_policy if s["Action"] == "kms:Decrypt"]
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    }
    # Nothing that writes: every action of both policies is a read, a VPC attachment or a decrypt.
    actions = [
        a for s in function_policy for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert actions, "the function policy has statements"
    assert not [a for a in actions if a.split(":")[0] not in ("ec2", "secretsmanager", "kms", "logs")]


@pytest.mark.parametrize("token", ENVS.values())
def test_a_report_not_posted_or_never_started_raises_a_p3(templates: dict[str, Any], token: str) -> None:
    monitoring = templates[f"clever-better-{token}-monitoring"]
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources(monitoring, "AWS::CloudWatch::Alarm").values()
    }
    failed = alarms[f"clever-better-{token}-daily-report-failed-P3"]
    assert (failed["Namespace"], failed["MetricName"], failed["Statistic"], failed["Period"]) == (
        "AWS/Lambda",
        "Errors",
        "Sum",
        86400,
    )
    assert failed["Dimensions"] == [{"Name": "FunctionName", "Value": f"clever-better-{token}-daily-report"}]
    assert (failed["ComparisonOperator"], failed["Threshold"], failed["TreatMissingData"]) == (
        "GreaterThanThreshold",
        0,
        "notBreaching",
    )
    unstarted = alarms[f"clever-better-{token}-daily-report-dlq-P3"]
    assert unstarted["Dimensions"] == [
        {"Name": "QueueName", "Value": f"clever-better-{token}-daily-report-dlq"}
    ]


def test_the_dr_region_has_no_report(templates: dict[str, Any]) -> None:
    dr = templates["clever-better-prod-dr-alerting"]
    assert resources(dr, "AWS::Lambda::Function"), "the DR alerting stack has its functions"
    assert not [k for k in resources(dr, "AWS::Lambda::Function") if k.startswith("DailyReport")]
    assert not resources(dr, "AWS::Scheduler::Schedule") or not [
        k for k in resources(dr, "AWS::Scheduler::Schedule") if k.startswith("DailyReport")
    ]
