"""The monthly database maintenance's wiring (components/data/maintenance.py), by literal values:
the schedule, the function it invokes and what that function may do, its way to the database,
and the P3 that says a run failed, timed out or never started."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import one_resource, resources

ENVS = {"dev": "dev", "staging": "staging", "production": "prod"}


def _data(templates: dict[str, Any], token: str) -> dict[str, Any]:
    return templates[f"clever-better-{token}-data"]


@pytest.mark.parametrize("token", ENVS.values())
def test_the_schedule_invokes_the_function_on_the_first_sunday_inside_the_window(
    templates: dict[str, Any], token: str
) -> None:
    template = _data(templates, token)
    function_id, _ = one_resource(template, "AWS::Lambda::Function", "MaintenanceFunction")
    queue_id, _ = one_resource(template, "AWS::SQS::Queue", "MaintenanceDeadLetters")
    role_id, _ = one_resource(template, "AWS::IAM::Role", "MaintenanceScheduleRole")
    _, schedule = one_resource(template, "AWS::Scheduler::Schedule", "MaintenanceSchedule")
    assert schedule["Name"] == f"clever-better-{token}-db-maintenance"
    assert (schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"]) == (
        "cron(15 4 ? * SUN#1 *)",
        "UTC",
    )
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"} and schedule["State"] == "ENABLED"
    assert schedule["Target"] == {
        "Arn": {"Fn::GetAtt": [function_id, "Arn"]},
        "RoleArn": {"Fn::GetAtt": [role_id, "Arn"]},
        "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3},
        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}},
    }
    _, queue = one_resource(template, "AWS::SQS::Queue", "MaintenanceDeadLetters")
    assert queue["QueueName"] == f"clever-better-{token}-db-maintenance-dlq"


@pytest.mark.parametrize("token", ENVS.values())
def test_the_function_logs_in_as_the_admin_to_the_instance_and_publishes_its_metrics(
    templates: dict[str, Any], token: str
) -> None:
    template = _data(templates, token)
    _, function = one_resource(template, "AWS::Lambda::Function", "MaintenanceFunction")
    instance_id, _ = one_resource(template, "AWS::RDS::DBInstance", "DatabaseInstance")
    admin_id, _ = one_resource(
        template, "AWS::SecretsManager::SecretTargetAttachment", "DatabaseAdminSecretAttachment"
    )
    assert function["FunctionName"] == f"clever-better-{token}-db-maintenance"
    # The bootstrap's code, another entry point; Lambda's longest run.
    assert (function["Handler"], function["Timeout"], function["MemorySize"]) == (
        "maintenance.main",
        900,
        128,
    )
    assert function["Environment"]["Variables"] == {
        "DB_HOST": {"Fn::GetAtt": [instance_id, "Endpoint.Address"]},
        "DB_PORT": {"Fn::GetAtt": [instance_id, "Endpoint.Port"]},
        # The attachment: the admin secret as the instance completed it (host and port too).
        "ADMIN_SECRET_ARN": {"Ref": admin_id},
        "DATABASES": "clever_better,mlflow",
        "ENVIRONMENT": token,
        "METRIC_NAMESPACE": "CleverBetter/Operations",
        "SECONDS_METRIC": "DatabaseMaintenanceSeconds",
        "FAILURES_METRIC": "DatabaseMaintenanceFailures",
        "METRIC_DIMENSION": "Environment",
    }
    # Its role reads that one secret, and decrypts only through Secrets Manager.
    _, policy = one_resource(template, "AWS::IAM::ManagedPolicy", "MaintenanceFunctionPolicy")
    statements = policy["PolicyDocument"]["Statement"]
    (read,) = [s for s in statements if s["Action"] == "secretsmanager:GetSecretValue"]
    assert read["Resource"] == {"Ref": admin_id}
    (decrypt,) = [s for s in statements if s["Action"] == "kms:Decrypt"]
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    }
    _, metrics = one_resource(template, "AWS::IAM::ManagedPolicy", "MaintenanceMetricsPolicy")
    assert metrics["PolicyDocument"]["Statement"] == [
        {
            "Action": "cloudwatch:PutMetricData",
            "Condition": {"StringEquals": {"cloudwatch:namespace": "CleverBetter/Operations"}},
            "Effect": "Allow",
            "Resource": "*",
        }
    ]
    role_id, role = one_resource(template, "AWS::IAM::Role", "MaintenanceFunctionRole")
    assert function["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
    attached = {ref["Ref"] for ref in role["ManagedPolicyArns"] if "Ref" in ref}
    assert {k for k in attached if k.startswith("Maintenance")} == {
        one_resource(template, "AWS::IAM::ManagedPolicy", "MaintenanceFunctionPolicy")[0],
        one_resource(template, "AWS::IAM::ManagedPolicy", "MaintenanceMetricsPolicy")[0],
    }


@pytest.mark.parametrize("token", ENVS.values())
def test_its_way_out_is_postgresql_to_the_database_and_https(templates: dict[str, Any], token: str) -> None:
    template = _data(templates, token)
    group_id, group = one_resource(template, "AWS::EC2::SecurityGroup", "MaintenanceSecurityGroup")
    _, function = one_resource(template, "AWS::Lambda::Function", "MaintenanceFunction")
    assert function["VpcConfig"]["SecurityGroupIds"] == [{"Fn::GetAtt": [group_id, "GroupId"]}]
    assert [
        (r["IpProtocol"], r["FromPort"], r["ToPort"], r["CidrIp"]) for r in group["SecurityGroupEgress"]
    ] == [("tcp", 443, 443, "0.0.0.0/0")]
    db_group, _ = one_resource(template, "AWS::EC2::SecurityGroup", "DatabaseDatabaseSecurityGroup")
    (egress,) = [
        r["Properties"]
        for r in resources(template, "AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    ]
    assert (egress["FromPort"], egress["ToPort"]) == (5432, 5432)
    assert egress["DestinationSecurityGroupId"] == {"Fn::GetAtt": [db_group, "GroupId"]}
    (ingress,) = [
        r["Properties"]
        for r in resources(template, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"].get("SourceSecurityGroupId") == {"Fn::GetAtt": [group_id, "GroupId"]}
    ]
    assert (ingress["GroupId"], ingress["FromPort"], ingress["ToPort"]) == (
        {"Fn::GetAtt": [db_group, "GroupId"]},
        5432,
        5432,
    )


@pytest.mark.parametrize("token", ENVS.values())
def test_a_failed_timed_out_or_unstarted_run_raises_a_p3(templates: dict[str, Any], token: str) -> None:
    monitoring = templates[f"clever-better-{token}-monitoring"]
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources(monitoring, "AWS::CloudWatch::Alarm").values()
    }
    failed = alarms[f"clever-better-{token}-db-maintenance-failed-P3"]
    by_id = {m["Id"]: m for m in failed["Metrics"]}
    (expression,) = [m["Expression"] for m in failed["Metrics"] if "Expression" in m]
    assert expression == "FILL(failed, 0) + FILL(errors, 0)"
    assert by_id["failed"]["MetricStat"]["Metric"] == {
        "Namespace": "CleverBetter/Operations",
        "MetricName": "DatabaseMaintenanceFailures",
        "Dimensions": [{"Name": "Environment", "Value": token}],
    }
    # A run that times out publishes nothing of its own: Lambda's Errors counts it.
    assert by_id["errors"]["MetricStat"]["Metric"] == {
        "Namespace": "AWS/Lambda",
        "MetricName": "Errors",
        "Dimensions": [{"Name": "FunctionName", "Value": f"clever-better-{token}-db-maintenance"}],
    }
    assert (failed["ComparisonOperator"], failed["Threshold"], failed["TreatMissingData"]) == (
        "GreaterThanThreshold",
        0,
        "notBreaching",
    )
    unstarted = alarms[f"clever-better-{token}-db-maintenance-dlq-P3"]
    assert unstarted["Dimensions"] == [
        {"Name": "QueueName", "Value": f"clever-better-{token}-db-maintenance-dlq"}
    ]
