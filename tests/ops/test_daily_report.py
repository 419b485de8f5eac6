"""`make daily-report` (python -m ops daily-report): the scheduled report's reading, printed with an
operator's credentials. Against moto with the emulator's ListBackupJobs (no job runs locally):
a fresh environment prints "no data" and exits 0, a dry run prints the same report, a stack not
deployed is named in one line, a part AWS refuses exits 1 naming it, no secret is printed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from emulator.services import backup as emulator_backup
from ops.cli import main
from tests.support import offline_aws

NOW = datetime(2026, 12, 4, 7, 0, 30, tzinfo=UTC)
PREFIX = "clever-better-prod"
PASSWORD = "never-Printed-7f3a"
TEMPLATE = '{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}'
REPORT = [
    "Daily operations report: prod, 2026-12-04 07:00 UTC",
    "",
    "Trading on 2026-12-03 (UTC day)",
    "  P&L: no data",
    "  Win rate: no data (target > 50%)",
    "  ROI: no data (target > 10%)",
    "  Bets placed: no data",
    "  Bankroll at the day's end: no data",
    "",
    "Alarms in ALARM now",
    f"  {PREFIX}-daily-loss-P0 since 2026-12-04 06:58 UTC",
    "",
    f"ECS tasks in {PREFIX}, now",
    "  bot: 0 running of 0 desired, 0 pending, 0 unhealthy",
    "  ml-service: 0 running of 0 desired, 0 pending, 0 unhealthy",
    "  data-ingestion: 0 running of 0 desired, 0 pending, 0 unhealthy",
    "",
    "ERROR log lines, last 24 h",
    "  bot: no data",
    "  ml-service: no data",
    "  data-ingestion: no data",
    "",
    f"Database {PREFIX}, last 24 h",
    "  CPU: peak no data, mean no data",
    "  Connections: peak no data",
    "  Free storage: lowest no data",
    "",
    "Backups",
    f"  Backup jobs in {PREFIX}, last 24 h: none  <- check",
]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    offline_aws(monkeypatch, "us-east-1")
    # The emulator's ListBackupJobs, which moto lacks; only that: the whole adapter's patches are
    # process-wide and would change moto for every later test.
    emulator_backup.patch_api()
    with mock_aws():
        yield


def _deploy(*, skip: str = "", cluster: bool = True) -> None:
    cloudformation = boto3.client("cloudformation")
    for unit in ("data", "services"):
        if unit != skip:
            cloudformation.create_stack(StackName=f"{PREFIX}-{unit}", TemplateBody=TEMPLATE)
    if cluster:
        ecs = boto3.client("ecs")
        ecs.create_cluster(clusterName=PREFIX)
        ecs.register_task_definition(
            family="app", containerDefinitions=[{"name": "a", "image": "a", "memory": 512}]
        )
        for service in ("bot", "ml-service", "data-ingestion"):
            ecs.create_service(cluster=PREFIX, serviceName=service, taskDefinition="app", desiredCount=0)
    boto3.client("rds").create_db_instance(
        DBInstanceIdentifier=PREFIX,
        DBInstanceClass="db.t4g.micro",
        Engine="postgres",
        MasterUsername="clever_admin",
        MasterUserPassword=PASSWORD,
        AllocatedStorage=20,
    )
    cloudwatch = boto3.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=f"{PREFIX}-daily-loss-P0",
        Namespace="CleverBetter",
        MetricName="DailyPnL",
        Statistic="Minimum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=-1000,
        ComparisonOperator="LessThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=f"{PREFIX}-daily-loss-P0", StateValue="ALARM", StateReason="test")


def _at_alarm_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The alarm's state change at 06:58 UTC, the database restorable to 06:45 (moto stamps both
    with its own clock)."""
    from moto.cloudwatch import models as cloudwatch
    from moto.rds import models as rds

    monkeypatch.setattr(cloudwatch, "utcnow", lambda: datetime(2026, 12, 4, 6, 58))
    monkeypatch.setattr(rds, "utcnow", lambda: datetime(2026, 12, 4, 6, 45))


def test_a_fresh_environment_prints_the_report_with_no_data(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _at_alarm_time(monkeypatch)
    _deploy()
    assert main(["daily-report", "--env", "production"], now=lambda: NOW) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        *REPORT,
        f"  Latest restorable time of {PREFIX}: 2026-12-04 06:45 UTC (15 min ago; RPO 60 min)",
    ]
    assert err == "" and PASSWORD not in out


def test_the_dry_run_prints_the_same_report(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _at_alarm_time(monkeypatch)
    _deploy()
    assert main(["daily-report", "--env", "production", "--dry-run"], now=lambda: NOW) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "[dry-run] the report only reads; it is the same with or without DRY_RUN"
    assert out[1:-1] == REPORT


def test_a_stack_not_deployed_is_named_in_one_line(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    _deploy(skip="data")
    assert main(["daily-report", "--env", "production"], now=lambda: NOW) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"error: stack {PREFIX}-data is not deployed in us-east-1; deploy it first: make deploy-production"
    ]


def test_a_part_aws_refuses_is_printed_and_exits_1_naming_it(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    _deploy(cluster=False)
    assert main(["daily-report", "--env", "production"], now=lambda: NOW) == 1
    out, err = capsys.readouterr()
    assert f"ECS tasks in {PREFIX}, now\n  unavailable: ClusterNotFoundException\n" in out
    assert "  P&L: no data" in out
    assert err.splitlines() == [
        f"error: part of production's report is unavailable (ECS tasks in {PREFIX}, now: "
        "ClusterNotFoundException); check the caller's read permissions and that the environment is "
        "fully deployed"
    ]
