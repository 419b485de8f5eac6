"""The monitoring unit: the runbook's alarm thresholds number for number, each alarm's actions
on its severity's encrypted topic, the log metric filters and saved queries, the generated docs."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest

import config
from config.alarms import catalogue
from config.model import ConfigError, Tiers
from tests.support import ROOT, resources
from tools import monitoring_docs

PROD = "clever-better-prod-monitoring"
MONITORING_STACKS = ("clever-better-dev-monitoring", "clever-better-staging-monitoring", PROD)

# The runbook's "Alert Thresholds and Escalation", as production's alarms carry them:
# id -> (severity, comparison, threshold, evaluation periods, period seconds).
PROMISED = {
    ("emergency-shutdown", "P0"): ("P0", "GreaterThanOrEqualToThreshold", 1, 1, 60),
    ("database-connection-failure", "P0"): ("P0", "GreaterThanOrEqualToThreshold", 1, 3, 60),
    ("daily-loss", "P0"): ("P0", "LessThanThreshold", -1000, 1, 60),
    ("circuit-breaker-open", "P0"): ("P0", "GreaterThanOrEqualToThreshold", 1, 30, 60),
    ("bot-unhealthy", "P0"): ("P0", "LessThanThreshold", 1, 3, 60),
    ("ml-service-unhealthy", "P0"): ("P0", "LessThanThreshold", 1, 3, 60),
    # api.clever-better.com/health as Route 53's checkers see it (2 minutes below "healthy").
    ("primary-unreachable", "P0"): ("P0", "LessThanThreshold", 1, 2, 60),
    ("data-ingestion-unhealthy", "P0"): ("P0", "LessThanThreshold", 1, 3, 60),
    ("error-rate", "P1"): ("P1", "GreaterThanThreshold", 5, 3, 300),
    ("api-latency", "P1"): ("P1", "GreaterThanThreshold", 2, 3, 300),
    ("bot-memory", "P1"): ("P1", "GreaterThanThreshold", 90, 5, 60),
    ("ml-service-memory", "P1"): ("P1", "GreaterThanThreshold", 90, 5, 60),
    ("data-ingestion-memory", "P1"): ("P1", "GreaterThanThreshold", 90, 5, 60),
    ("ml-service-unavailable", "P1"): ("P1", "GreaterThanThreshold", 50, 5, 300),
    ("betfair-auth-failure", "P1"): ("P1", "GreaterThanOrEqualToThreshold", 1, 1, 300),
    ("backup-job-failed", "P1"): ("P1", "GreaterThanOrEqualToThreshold", 1, 1, 3600),
    ("no-recent-backup", "P1"): ("P1", "LessThanThreshold", 1, 26, 3600),
    ("secret-rotation-failed", "P1"): ("P1", "GreaterThanOrEqualToThreshold", 1, 24, 3600),
    ("drift-check-dlq", "P1"): ("P1", "GreaterThanThreshold", 0, 1, 60),
    ("alarm-router-dlq", "P1"): ("P1", "GreaterThanThreshold", 0, 1, 60),
    ("error-rate", "P2"): ("P2", "GreaterThanThreshold", 2, 3, 300),
    ("win-rate-low", "P2"): ("P2", "LessThanThreshold", 50, 1, 86400),
    ("roi-low", "P2"): ("P2", "LessThanThreshold", 10, 1, 86400),
    ("database-storage", "P2"): ("P2", "LessThanThreshold", 20, 3, 300),
    ("cache-hit", "P2"): ("P2", "LessThanThreshold", 50, 3, 300),
    ("error-rate", "P3"): ("P3", "GreaterThanThreshold", 1, 3, 300),
    ("bot-memory", "P3"): ("P3", "GreaterThanThreshold", 80, 5, 60),
    ("bot-cpu", "P3"): ("P3", "GreaterThanThreshold", 75, 5, 60),
    ("ml-service-memory", "P3"): ("P3", "GreaterThanThreshold", 80, 5, 60),
    ("ml-service-cpu", "P3"): ("P3", "GreaterThanThreshold", 75, 5, 60),
    ("data-ingestion-memory", "P3"): ("P3", "GreaterThanThreshold", 80, 5, 60),
    ("data-ingestion-cpu", "P3"): ("P3", "GreaterThanThreshold", 75, 5, 60),
    ("cache-hit", "P3"): ("P3", "LessThanThreshold", 70, 3, 300),
    ("prediction-latency", "P3"): ("P3", "GreaterThanThreshold", 200, 3, 300),
    ("configuration-drift", "P3"): ("P3", "GreaterThanThreshold", 0, 1, 86400),
    ("drift-check-failed", "P3"): ("P3", "GreaterThanThreshold", 0, 1, 86400),
    # The monthly VACUUM (ANALYZE): a failed, timed-out or crashed run; a run Scheduler could not start.
    ("db-maintenance-failed", "P3"): ("P3", "GreaterThanThreshold", 0, 1, 86400),
    ("db-maintenance-dlq", "P3"): ("P3", "GreaterThanThreshold", 0, 1, 60),
    # The daily operations report: not posted (Lambda Errors); one Scheduler could not start.
    ("daily-report-failed", "P3"): ("P3", "GreaterThanThreshold", 0, 1, 86400),
    ("daily-report-dlq", "P3"): ("P3", "GreaterThanThreshold", 0, 1, 60),
    # Scheduled training: a failed run (or the function failing); two in a row; a start or an
    # outcome EventBridge could not deliver.
    ("training-failed", "P2"): ("P2", "GreaterThanThreshold", 0, 24, 3600),
    ("training-failed-twice", "P1"): ("P1", "GreaterThanOrEqualToThreshold", 2, 24, 3600),
    ("training-dlq", "P2"): ("P2", "GreaterThanThreshold", 0, 1, 60),
    # The MLflow tracking server: no task running for 5 minutes.
    ("mlflow-unavailable", "P2"): ("P2", "LessThanThreshold", 1, 5, 60),
    # The weekly restore test (AWS Backup restore testing).
    ("restore-test-failed", "P1"): ("P1", "GreaterThanOrEqualToThreshold", 1, 1, 3600),
    # The audit trail's metric filters (issue 15): break-glass use and the CIS set, per 5 minutes.
    ("admin-role-assumed", "P1"): ("P1", "GreaterThanOrEqualToThreshold", 1, 1, 300),
    ("root-account-used", "P1"): ("P1", "GreaterThanOrEqualToThreshold", 1, 1, 300),
    ("kms-key-disabled", "P1"): ("P1", "GreaterThanOrEqualToThreshold", 1, 1, 300),
    ("trail-changed", "P1"): ("P1", "GreaterThanOrEqualToThreshold", 1, 1, 300),
    ("console-sign-in-failures", "P2"): ("P2", "GreaterThanOrEqualToThreshold", 3, 1, 300),
    ("unauthorized-api-calls", "P2"): ("P2", "GreaterThanOrEqualToThreshold", 10, 1, 300),
    ("iam-policy-changed", "P3"): ("P3", "GreaterThanOrEqualToThreshold", 1, 1, 300),
    ("security-group-changed", "P3"): ("P3", "GreaterThanOrEqualToThreshold", 1, 1, 300),
    ("network-acl-changed", "P3"): ("P3", "GreaterThanOrEqualToThreshold", 1, 1, 300),
}


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    alarms = resources(template, "AWS::CloudWatch::Alarm").values()
    return {r["Properties"]["AlarmName"]: r["Properties"] for r in alarms}


def _period(alarm: dict[str, Any]) -> int:
    if "Period" in alarm:
        return int(alarm["Period"])
    return max(int(m["MetricStat"]["Period"]) for m in alarm["Metrics"] if "MetricStat" in m)


def test_production_alarms_are_the_runbooks(templates: dict[str, Any]) -> None:
    alarms = _alarms(templates[PROD])
    assert len(alarms) == len(PROMISED) == 54
    for (alarm_id, _), (severity, comparison, threshold, periods, period) in PROMISED.items():
        alarm = alarms[f"clever-better-prod-{alarm_id}-{severity}"]
        assert (
            alarm["ComparisonOperator"],
            alarm["Threshold"],
            alarm["EvaluationPeriods"],
            _period(alarm),
        ) == (
            comparison,
            threshold,
            periods,
            period,
        ), alarm_id


def test_each_alarm_notifies_its_severitys_topic_on_alarm_and_ok(templates: dict[str, Any]) -> None:
    halting: set[str] = set()
    for stack in MONITORING_STACKS:
        template = templates[stack]
        token = stack.split("-")[2]
        topics = {
            lid: r["Properties"]["TopicName"]
            for lid, r in template["Resources"].items()
            if r["Type"] == "AWS::SNS::Topic"
        }
        assert sorted(topics.values()) == [f"clever-better-{token}-p{n}" for n in range(4)]
        alarms = _alarms(template)
        assert alarms, stack
        for name, alarm in alarms.items():
            severity = name.rsplit("-", 1)[-1]
            expected = [
                {"Ref": lid}
                for lid, topic in topics.items()
                if topic == f"clever-better-{token}-{severity.lower()}"
            ]
            account = {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}[token]
            if name.endswith("-alarm-router-dlq-P1"):
                # The router's own failures also email on-call, not through the router.
                expected = [*expected, f"arn:aws:sns:us-east-1:{account}:clever-better-{token}-oncall"]
            assert alarm["OKActions"] == expected, name
            if name in (
                f"clever-better-{token}-daily-loss-P0",
                f"clever-better-{token}-emergency-shutdown-P0",
            ):
                # Only these two halt trading, and only when they fire (resuming is an operator's call).
                expected = [
                    *expected,
                    f"arn:aws:lambda:us-east-1:{account}:function:clever-better-{token}-trading-halt",
                ]
                halting.add(name)
            assert alarm["AlarmActions"] == expected, name
    assert len(halting) == 2 * len(MONITORING_STACKS)


def test_topics_are_encrypted_with_a_key_cloudwatch_may_use(templates: dict[str, Any]) -> None:
    template = templates[PROD]
    (key_id,) = [lid for lid, r in template["Resources"].items() if r["Type"] == "AWS::KMS::Key"]
    for topic in resources(template, "AWS::SNS::Topic").values():
        assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    statements = template["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
    (cloudwatch,) = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert sorted(cloudwatch["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": "333333333333"}}
    policies = list(resources(template, "AWS::SNS::TopicPolicy").values())
    assert len(policies) == 4
    for policy in policies:
        publish = [
            s
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
            if s.get("Sid") == "CloudWatchAlarmsOfThisAccount"
        ]
        assert len(publish) == 1
        assert publish[0]["Action"] == "sns:Publish"
        assert publish[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": "333333333333"}
        # enforce_ssl: every other principal is refused without TLS.
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        )


def test_descriptions_link_the_dashboard_and_an_existing_runbook_section(templates: dict[str, Any]) -> None:
    headings = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in (ROOT / "docs" / "RUNBOOK.md").read_text().splitlines()
        if line.startswith("#")
    }
    alarm = _alarms(templates[PROD])["clever-better-prod-daily-loss-P0"]
    assert alarm["AlarmDescription"] == (
        "P0 Daily loss above $1000: < -1000 USD (1 of 1 periods of 1 min). First check: trading is halted: "
        "open positions and exposure, then make resume-trading after review. Dashboard: "
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/"
        "clever-better-prod-main Runbook: "
        "https://github.com/clever-better/infrastructure/blob/main/docs/RUNBOOK.md#trading-halt"
    )
    for name, alarm in _alarms(templates[PROD]).items():
        text = alarm["AlarmDescription"]
        assert len(text) <= 1024, name  # CloudWatch's limit
        anchor = text.rsplit("#", 1)[1]
        assert anchor in headings, (name, anchor)


def test_every_alarm_passes_cloudwatchs_create_time_limits(templates: dict[str, Any]) -> None:
    # PutMetricAlarm: periods of 10, 30 or a multiple of 60; at most a day of sub-hour periods,
    # a week otherwise; datapoints within the evaluation periods; one returned series.
    checked = 0
    for stack in MONITORING_STACKS:
        for name, alarm in _alarms(templates[stack]).items():
            period, periods = _period(alarm), alarm["EvaluationPeriods"]
            assert period in (10, 30) or period % 60 == 0, name
            assert period * periods <= (86400 if period < 3600 else 604800), name
            assert 1 <= alarm["DatapointsToAlarm"] <= periods, name
            if "Metrics" in alarm:
                assert sum(m.get("ReturnData", True) for m in alarm["Metrics"]) == 1, name
            assert len(name) <= 255
            checked += 1
    assert checked == 162


def test_log_filters_and_saved_queries_are_the_runbooks_three(templates: dict[str, Any]) -> None:
    template = templates[PROD]
    filters = {
        f["Properties"]["FilterName"]: (
            f["Properties"]["LogGroupName"],
            f["Properties"]["FilterPattern"],
            f["Properties"]["MetricTransformations"][0]["MetricNamespace"],
            f["Properties"]["MetricTransformations"][0]["MetricName"],
        )
        for f in resources(template, "AWS::Logs::MetricFilter").values()
    }
    logs, ns = "/ecs/clever-better-prod/", "CleverBetter/Logs/prod/"
    assert filters == {
        "clever-better-prod-bot-errors": (logs + "bot", "ERROR", ns + "bot", "ErrorLogLines"),
        "clever-better-prod-ml-service-errors": (
            logs + "ml-service", "ERROR", ns + "ml-service", "ErrorLogLines",
        ),
        "clever-better-prod-data-ingestion-errors": (
            logs + "data-ingestion", "ERROR", ns + "data-ingestion", "ErrorLogLines",
        ),
        "clever-better-prod-bot-bet-placements": (
            logs + "bot", '"Bet placement recorded"', ns + "bot", "BetPlacementsRecorded",
        ),
        "clever-better-prod-bot-circuit-breaker": (
            logs + "bot", '"circuit_breaker"', ns + "bot", "CircuitBreakerEvents",
        ),
    }  # fmt: skip
    for f in resources(template, "AWS::Logs::MetricFilter").values():
        transformation = f["Properties"]["MetricTransformations"][0]
        assert (transformation["MetricValue"], transformation["DefaultValue"]) == ("1", 0)
        assert "Dimensions" not in transformation  # a filter's dimensions must be event fields
    definitions = resources(template, "AWS::Logs::QueryDefinition").values()
    queries = {q["Properties"]["Name"]: q["Properties"] for q in definitions}
    assert sorted(queries) == [
        "clever-better/prod/bet-placements",
        "clever-better/prod/circuit-breaker",
        "clever-better/prod/errors",
    ]
    assert queries["clever-better/prod/errors"]["LogGroupNames"] == [
        logs + "bot", logs + "ml-service", logs + "data-ingestion",
    ]  # fmt: skip
    assert queries["clever-better/prod/circuit-breaker"]["QueryString"] == (
        "fields @timestamp, @logStream, @message\n| filter @message like /circuit_breaker/\n"
        "| sort @timestamp desc\n| limit 200"
    )


def test_the_monitoring_stack_deploys_after_services_and_is_not_termination_protected(app: Any) -> None:
    import aws_cdk as cdk

    stage = app.node.find_child("production")
    monitoring, services = stage.node.find_child("monitoring"), stage.node.find_child("services")
    assert isinstance(monitoring, cdk.Stack)
    assert services in monitoring.dependencies
    assert monitoring.termination_protection is False


def test_the_largest_template_stays_well_under_cloudformations_limit(templates: dict[str, Any]) -> None:
    # 1 MB for a template uploaded to S3 (the CDK uploads every one); large alarm sets are the
    # known way past it (cdk-monitoring-constructs#146). Stay under half.
    sizes = {name: len(json.dumps(t)) for name, t in templates.items()}
    assert max(sizes.values()) < 500_000, max(sizes.items(), key=lambda item: item[1])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"error_rate_percent": Tiers(p1=1, p2=2, p3=1)},
            "dev: monitoring.error_rate_percent.p1 = 1 is not allowed; expected at least P2's 2: a P1 alarm "
            "must not fire before its P2 twin",
        ),
        (
            {"cache_hit_percent": Tiers(above=False, p2=80, p3=70)},
            "dev: monitoring.cache_hit_percent.p2 = 80 is not allowed; expected at most P3's 70: a P2 alarm "
            "must not fire before its P3 twin",
        ),
        (
            {"memory_percent": Tiers(p1=-5)},
            "dev: monitoring.memory_percent.p1 = -5 is not allowed; expected 0 to 100",
        ),
        ({"daily_loss_usd": 0}, "dev: monitoring.daily_loss_usd = 0 is not allowed; expected more than 0"),
        (
            {"runbook_url": "http://example.com"},
            "dev: monitoring.runbook_url = 'http://example.com' is not allowed; "
            "expected an https:// URL of docs/RUNBOOK.md",
        ),
    ],
)
def test_a_bad_threshold_stops_synth_in_one_line(change: dict[str, Any], message: str) -> None:
    dev = config.load(("dev",))[0]
    with pytest.raises(ConfigError) as raised:
        replace(dev, monitoring=replace(dev.monitoring, **change))
    assert str(raised.value) == message


def test_production_must_page() -> None:
    production = config.load(("production",))[0]
    with pytest.raises(ConfigError) as raised:
        replace(production, monitoring=replace(production.monitoring, pages=False))
    assert str(raised.value) == (
        "production: monitoring.pages = False is not allowed; "
        "expected True: production's P0 and P1 alarms page on-call (runbook)"
    )


def test_dev_notifies_without_paging(templates: dict[str, Any]) -> None:
    def pages(stack: str) -> dict[str, str]:
        found = resources(templates[stack], "AWS::SNS::Topic").values()
        assert len(found) == 4
        return {
            t["Properties"]["TopicName"].rsplit("-", 1)[-1]: next(
                tag["Value"] for tag in t["Properties"]["Tags"] if tag["Key"] == "clever-better:pages"
            )
            for t in found
        }

    assert pages("clever-better-dev-monitoring") == {
        "p0": "false",
        "p1": "false",
        "p2": "false",
        "p3": "false",
    }
    for stack in ("clever-better-staging-monitoring", PROD):
        assert pages(stack) == {"p0": "true", "p1": "true", "p2": "false", "p3": "false"}


def test_database_storage_is_measured_against_the_provisioned_storage(templates: dict[str, Any]) -> None:
    # FreeStorageSpace is free space of the storage allocated now, never of the autoscaling
    # ceiling (against 1000 GiB a fresh 100 GiB volume would read 90% used): 80% used of the
    # provisioned size is a floor of 20% of it free, in GiB.
    for stack, floor in ((PROD, 20), ("clever-better-dev-monitoring", 4)):
        token = stack.split("-")[2]
        alarm = _alarms(templates[stack])[f"clever-better-{token}-database-storage-P2"]
        (math,) = [m for m in alarm["Metrics"] if "Expression" in m]
        assert math["Expression"] == "free / 1073741824"
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", floor)
        (free,) = [m for m in alarm["Metrics"] if "MetricStat" in m]
        assert free["MetricStat"]["Metric"]["MetricName"] == "FreeStorageSpace"
        assert free["MetricStat"]["Stat"] == "Minimum"


def test_a_failed_database_rotation_pages_for_a_day(templates: dict[str, Any]) -> None:
    schedules = resources(templates["clever-better-prod-data"], "AWS::SecretsManager::RotationSchedule")
    named = sorted(s["Properties"]["HostedRotationLambda"]["RotationLambdaName"] for s in schedules.values())
    assert named == [
        "clever-better-prod-db-admin-rotation",
        "clever-better-prod-db-migrator-rotation",
        "clever-better-prod-db-mlflow-rotation",
    ]
    alarm = _alarms(templates[PROD])["clever-better-prod-secret-rotation-failed-P1"]
    read = sorted(
        (
            m["MetricStat"]["Metric"]["Namespace"],
            m["MetricStat"]["Metric"]["MetricName"],
            *(d["Value"] for d in m["MetricStat"]["Metric"]["Dimensions"]),
        )
        for m in alarm["Metrics"]
        if "MetricStat" in m
    )
    assert read == [
        ("AWS/Lambda", "Errors", "clever-better-prod-db-admin-rotation"),
        ("AWS/Lambda", "Errors", "clever-better-prod-db-migrator-rotation"),
        ("AWS/Lambda", "Errors", "clever-better-prod-db-mlflow-rotation"),
    ]
    assert (alarm["DatapointsToAlarm"], alarm["EvaluationPeriods"]) == (1, 24)


def _queue_name(template: dict[str, Any], ref: Any) -> str:
    (logical_id, attribute) = ref["Fn::GetAtt"]
    assert attribute == "Arn"
    queue = template["Resources"][logical_id]
    assert queue["Type"] == "AWS::SQS::Queue"
    return str(queue["Properties"]["QueueName"])


# Every dead-letter queue's alarm severity: P1, but a monthly maintenance run or a daily report
# Scheduler could not start is P3, as a failed one is.
DLQ_SEVERITY = {
    "drift-check": "P1",
    "alarm-router": "P1",
    "db-maintenance": "P3",
    "daily-report": "P3",
    "training": "P2",
}


def test_every_dead_letter_queue_has_its_alarm(templates: dict[str, Any]) -> None:
    found: set[tuple[str, str]] = set()
    for name, template in templates.items():
        token = name.split("-")[2]
        for r in template["Resources"].values():
            props = r.get("Properties", {})
            targets = [
                (props.get("DeadLetterConfig") or {}).get("TargetArn"),
                ((props.get("Target") or {}).get("DeadLetterConfig") or {}).get("Arn"),
                (props.get("RedrivePolicy") or {}).get("deadLetterTargetArn"),
            ]
            found |= {(token, _queue_name(template, t)) for t in targets if t is not None}
    assert ("prod", "clever-better-prod-drift-check-dlq") in found
    assert ("prod", "clever-better-prod-alarm-router-dlq") in found
    assert ("prod", "clever-better-prod-db-maintenance-dlq") in found
    assert ("prod", "clever-better-prod-daily-report-dlq") in found
    assert ("prod", "clever-better-prod-training-dlq") in found
    # The drift check's, the alarm router's, the database maintenance's, the daily report's and
    # scheduled training's, in each environment.
    assert len(found) == 15
    for token, queue in sorted(found):
        alarms = _alarms(templates[f"clever-better-{token}-monitoring"])
        watching = [
            alarm_name
            for alarm_name, alarm in alarms.items()
            if alarm.get("Dimensions") == [{"Name": "QueueName", "Value": queue}]
            and alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        ]
        purpose = queue.removeprefix(f"clever-better-{token}-").removesuffix("-dlq")
        assert [w.rsplit("-", 1)[-1] for w in watching] == [DLQ_SEVERITY[purpose]], queue


def _allowed(template: dict[str, Any], role_id: str) -> list[tuple[str, Any]]:
    """(action, resource) pairs of the role's managed policies in `template`."""
    role = template["Resources"][role_id]["Properties"]
    pairs = []
    for ref in role.get("ManagedPolicyArns", []):
        if isinstance(ref, dict) and "Ref" in ref:
            policy = template["Resources"][ref["Ref"]]["Properties"]["PolicyDocument"]
            for statement in policy["Statement"]:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                pairs += [(a, statement["Resource"]) for a in actions if statement["Effect"] == "Allow"]
    return pairs


def test_the_drift_checks_failures_reach_its_dead_letter_queue(templates: dict[str, Any]) -> None:
    template = templates[PROD]
    (queue_id,) = resources(template, "AWS::SQS::Queue")
    queue = template["Resources"][queue_id]
    key = queue["Properties"]["KmsMasterKeyId"]
    (key_id,) = resources(template, "AWS::KMS::Key")
    assert key == {"Fn::GetAtt": [key_id, "Arn"]}
    arn = {"Fn::GetAtt": [queue_id, "Arn"]}
    (function,) = resources(template, "AWS::Lambda::Function").values()
    (schedule,) = resources(template, "AWS::Scheduler::Schedule").values()
    assert function["Properties"]["DeadLetterConfig"] == {"TargetArn": arn}
    assert schedule["Properties"]["Target"]["DeadLetterConfig"] == {"Arn": arn}
    for role in (function["Properties"]["Role"], schedule["Properties"]["Target"]["RoleArn"]):
        allowed = _allowed(template, role["Fn::GetAtt"][0])
        assert ("sqs:SendMessage", arn) in allowed
        assert ("kms:GenerateDataKey", key) in allowed and ("kms:Decrypt", key) in allowed
    # Kept like the key that decrypts it; TLS only.
    assert queue["DeletionPolicy"] == "RetainExceptOnCreate"
    assert queue["Properties"]["MessageRetentionPeriod"] == 1209600
    (policy,) = resources(template, "AWS::SQS::QueuePolicy").values()
    assert policy["Properties"]["Queues"] == [{"Ref": queue_id}]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": "sqs:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Resource": arn,
        }
    ]


def test_an_unknown_severity_is_refused() -> None:
    from config.model import SEVERITIES

    assert SEVERITIES == ("P0", "P1", "P2", "P3")
    with pytest.raises(TypeError):
        Tiers(p4=1)  # type: ignore[call-arg]


def test_the_catalogue_is_the_same_in_every_environment_but_for_storage() -> None:
    configs = {c.name: c for c in config.load(("dev", "staging", "production"))}
    ids = {name: [s.id for s in catalogue(c)] for name, c in configs.items()}
    assert ids["dev"] == ids["staging"] == ids["production"]


def test_the_generated_docs_are_current() -> None:
    for path, text in monitoring_docs.documents().items():
        assert path.read_text() == text, f"{path.relative_to(ROOT)} is stale: run make monitoring-docs"
    alarms = (ROOT / "docs" / "ALARMS.md").read_text()
    assert "| `daily-loss` | Daily loss above $1000 |" in alarms
    assert (
        "- staging: `database-storage` < 10 GiB free (20% of the 50 GiB provisioned) "
        "(3 of 3 periods of 5 min)" in alarms
    )
    assert "- dev: notification only (`monitoring.pages` False)" in alarms
    metrics_doc = (ROOT / "docs" / "METRICS.md").read_text()
    assert "| `DatabaseConnectionErrors` | `CleverBetter` | Count | `Environment`, `Service` |" in metrics_doc
    assert "The SSM parameter `/clever-better/{token}/trading/halted` (String;" in metrics_doc
    assert "it fails closed: a parameter it cannot\nread or parse counts as halted" in metrics_doc
    assert "| `halted` | boolean | `true` | `false` |" in metrics_doc


def test_deployment_alarms_join_the_catalogue_at_p1(templates: dict[str, Any]) -> None:
    found = resources(templates["clever-better-prod-services"], "AWS::CloudWatch::Alarm").values()
    named = [a["Properties"] for a in found if "AlarmName" in a["Properties"]]
    alarms = {a["AlarmName"]: a for a in named if "-deploy-" in a["AlarmName"]}
    assert len(alarms) == 6
    for name, alarm in alarms.items():
        for actions in (alarm["AlarmActions"], alarm["OKActions"]):
            assert actions == ["arn:aws:sns:us-east-1:333333333333:clever-better-prod-p1"], name
        assert alarm["AlarmDescription"].startswith("P1 Deployment alarm: "), name


def _dashboards(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Dashboard name -> body, CloudFormation's values (load balancer names) as TOKEN."""
    found = {}
    for dashboard in resources(template, "AWS::CloudWatch::Dashboard").values():
        body = dashboard["Properties"]["DashboardBody"]
        if isinstance(body, dict):
            body = "".join(p if isinstance(p, str) else "TOKEN" for p in body["Fn::Join"][1])
        found[dashboard["Properties"]["DashboardName"]] = json.loads(body)
    return found


# AWS's own metrics the dashboards graph beside the contract's and the alarms' (AWS docs:
# ECS, Container Insights, ALB, RDS and RDS Proxy, WAF metrics).
AWS_METRICS = {
    ("AWS/ECS", "CPUUtilization"), ("AWS/ECS", "MemoryUtilization"),
    ("ECS/ContainerInsights", "RunningTaskCount"), ("AWS/ApplicationELB", "TargetResponseTime"),
    ("AWS/ApplicationELB", "HealthyHostCount"), ("AWS/ApplicationELB", "HTTPCode_ELB_4XX_Count"),
    ("AWS/RDS", "DatabaseConnections"), ("AWS/RDS", "CPUUtilization"), ("AWS/RDS", "FreeStorageSpace"),
    ("AWS/RDS", "ClientConnections"), ("AWS/WAFV2", "BlockedRequests"),
}  # fmt: skip


def test_four_dashboards_each_with_its_alarms_status(templates: dict[str, Any]) -> None:
    dashboards = _dashboards(templates[PROD])
    assert sorted(dashboards) == [
        "clever-better-prod-infrastructure",
        "clever-better-prod-main",
        "clever-better-prod-ml-service",
        "clever-better-prod-security",
    ]
    statuses = {
        name: len(body["widgets"][0]["properties"]["alarms"])
        for name, body in dashboards.items()
        if body["widgets"][0]["type"] == "alarm"
    }
    # Every catalogue alarm on exactly one dashboard: 54 in all.
    assert statuses == {
        "clever-better-prod-main": 6,
        "clever-better-prod-ml-service": 6,
        "clever-better-prod-infrastructure": 33,
        "clever-better-prod-security": 9,
    }


def test_every_graphed_metric_is_defined_somewhere(templates: dict[str, Any]) -> None:
    from config import metrics

    contract = {(m.namespace, m.name) for m in metrics.CONTRACT}
    alarmed = {
        (s.namespace, s.metric)
        for spec in catalogue(config.load(("production",))[0])
        for s in spec.metrics.values()
    }
    graphed, expressions = set(), []
    for body in _dashboards(templates[PROD]).values():
        for widget in body["widgets"]:
            for metric in widget["properties"].get("metrics", []):
                if isinstance(metric[0], dict):  # metric math over the metrics beside it
                    expressions.append(metric[0]["expression"])
                    continue
                graphed.add((metric[0], metric[1]))
    assert len(graphed) >= 20
    assert expressions == ["100 * (1 - failed)"]  # the training success rate
    assert sorted(graphed - contract - alarmed - AWS_METRICS) == []


def test_the_runbooks_bands_are_drawn(templates: dict[str, Any]) -> None:
    def annotations(dashboard: str, title: str) -> list[tuple[float, str]]:
        (widget,) = [
            w
            for w in _dashboards(templates[PROD])[dashboard]["widgets"]
            if w["properties"].get("title") == title
        ]
        return [(a["value"], a.get("label", "")) for a in widget["properties"]["annotations"]["horizontal"]]

    assert annotations("clever-better-prod-main", "Daily P&L (USD)") == [(-1000, "P0 daily loss -1000")]
    assert annotations("clever-better-prod-infrastructure", "Database connections") == [
        (10, "normal 10-20"),
        (20, ""),
    ]
    assert annotations("clever-better-prod-infrastructure", "CPU (%) by service") == [
        (20, "normal 20-40"),
        (40, ""),
        (40, "race day 40-65"),
        (65, ""),
        (75, "P3 75"),
    ]
    assert annotations("clever-better-prod-infrastructure", "API latency p95 (s)")[0] == (
        0.5,
        "target 500 ms",
    )


@pytest.mark.parametrize("token", ["dev", "staging", "prod"])
def test_the_public_endpoint_has_a_route53_health_check_and_its_p0(
    templates: dict[str, Any], token: str
) -> None:
    """HTTPS to the primary's public load balancer's /health (its own DNS name, not the API
    name, which may point at the DR region), no SNI, the body searched for "ok", every 30 s,
    three failures to unhealthy; the services stack owns it, the monitoring stack's P0 reads
    its status by the check's id."""
    services = templates[f"clever-better-{token}-services"]
    ((check_id, check),) = resources(services, "AWS::Route53::HealthCheck").items()
    (balancer_id,) = [
        logical
        for logical, b in resources(services, "AWS::ElasticLoadBalancingV2::LoadBalancer").items()
        if b["Properties"]["Scheme"] == "internet-facing"
    ]
    assert check["Properties"]["HealthCheckConfig"] == {
        "EnableSNI": False,
        "FailureThreshold": 3,
        "FullyQualifiedDomainName": {"Fn::GetAtt": [balancer_id, "DNSName"]},
        "Inverted": False,
        "MeasureLatency": False,
        "Port": 443,
        "RequestInterval": 30,
        "ResourcePath": "/health",
        "SearchString": "ok",
        "Type": "HTTPS_STR_MATCH",
    }
    assert {"Key": "Name", "Value": f"clever-better-{token}-api-health"} in check["Properties"][
        "HealthCheckTags"
    ]
    template = templates[f"clever-better-{token}-monitoring"]
    assert not resources(template, "AWS::Route53::HealthCheck")
    alarm = _alarms(template)[f"clever-better-{token}-primary-unreachable-P0"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/Route53",
        "HealthCheckStatus",
        "Minimum",
    )
    ((dimension,),) = [alarm["Dimensions"]]
    assert dimension["Name"] == "HealthCheckId"
    (imported,) = dimension["Value"].values()
    exports = {o["Export"]["Name"]: o["Value"] for o in services.get("Outputs", {}).values() if "Export" in o}
    assert exports[imported] == {"Ref": check_id}
    assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["TreatMissingData"]) == (
        "LessThanThreshold",
        1,
        "missing",
    )


def test_route53_metrics_are_only_alarmed_on_in_us_east_1(templates: dict[str, Any]) -> None:
    """Route 53 publishes health-check metrics in us-east-1 only: an alarm on them anywhere else
    is created and never sees a datapoint (AWS accepts it; only this test refuses it)."""
    from tests.support import STACKS

    found = 0
    for name, template in templates.items():
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values():
            if alarm["Properties"].get("Namespace") == "AWS/Route53":
                found += 1
                assert STACKS[name][1] == "us-east-1", name
    assert found == 3
