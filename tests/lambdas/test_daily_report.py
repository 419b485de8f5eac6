"""The daily operations report (lambdas/daily_report) against moto, with a local HTTP stub for
Slack: a fresh environment reads "no data" and still posts; published metrics, alarms, tasks
and backup jobs read as the operator expects; a section AWS refuses reads "unavailable"; Slack
failures are retried, then raised; the webhook never reaches the logs.

moto lacks ListBackupJobs: the emulator's (emulator.services.backup.patch_api; it lists none, as
no job runs locally) answers the handler's own client. Backup jobs come from a small paging
stand-in for that one call, and task health (moto has none) from one for ECS. Not the whole
emulator adapter: its patches are process-wide and would change moto for every later test."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from emulator.services import backup as emulator_backup
from lambdas.daily_report import handler as report_handler
from lambdas.daily_report import report
from tests.support import http_stub, offline_aws

NOW = datetime(2026, 12, 4, 7, 0, 30, tzinfo=UTC)
YESTERDAY = datetime(2026, 12, 3, tzinfo=UTC)
SECRET = "clever-better/prod/alerting"
HOOK_SECRET_PART = "T0SECRET/B0SECRET/X0SECRET"
SETTINGS = report.Settings(
    environment="prod",
    cluster="clever-better-prod",
    services=("bot", "ml-service", "data-ingestion"),
    db_instance="clever-better-prod",
    backup_vault="clever-better-prod",
    alarm_prefix="clever-better-prod-",
    app_namespace="CleverBetter",
    errors_metric="ErrorLogLines",
    errors_namespace="CleverBetter/Logs/prod/{service}",
)
ENVIRON = {
    "ENVIRONMENT": "prod",
    "CLUSTER": "clever-better-prod",
    "SERVICES": "bot,ml-service,data-ingestion",
    "DB_INSTANCE": "clever-better-prod",
    "BACKUP_VAULT": "clever-better-prod",
    "ALARM_PREFIX": "clever-better-prod-",
    "APP_NAMESPACE": "CleverBetter",
    "ERRORS_METRIC": "ErrorLogLines",
    "ERRORS_NAMESPACE": "CleverBetter/Logs/prod/{service}",
}


@dataclass
class Slack:
    url: str = ""
    script: list[Any] = field(default_factory=lambda: [200])
    posted: list[dict[str, Any]] = field(default_factory=list)

    def answer(self) -> Any:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]


@pytest.fixture
def slack() -> Iterator[Slack]:
    state = Slack()

    def respond(path: str, headers: dict[str, str], body: Any) -> Any:
        state.posted.append(body)
        return state.answer()

    with http_stub(respond) as url:
        state.url = url
        yield state


class Backup:
    """ListBackupJobs, one job per page (so paging is exercised), filtered as AWS filters."""

    def __init__(self, jobs: list[dict[str, Any]]) -> None:
        self.jobs = jobs
        self.calls: list[dict[str, Any]] = []

    def list_backup_jobs(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        wanted = [
            j
            for j in self.jobs
            if j["BackupVaultName"] == params["ByBackupVaultName"]
            and j["CreationDate"] >= params["ByCreatedAfter"]
        ]
        index = int(params.get("NextToken", 0))
        page: dict[str, Any] = {"BackupJobs": wanted[index : index + 1]}
        if index + 1 < len(wanted):
            page["NextToken"] = str(index + 1)
        return page


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    offline_aws(monkeypatch, "us-east-1")
    emulator_backup.patch_api()
    with mock_aws():
        yield


def clients_with(backup: Backup) -> Callable[[str], Any]:
    return lambda name: backup if name == "backup" else boto3.client(name)


def deploy(*, running: bool = True) -> None:
    """The cluster, its three services (ml-service's two tasks pending in moto), the database."""
    ecs = boto3.client("ecs")
    ecs.create_cluster(clusterName=SETTINGS.cluster)
    ecs.register_task_definition(
        family="app", containerDefinitions=[{"name": "app", "image": "app", "memory": 512}]
    )
    for service in SETTINGS.services:
        ecs.create_service(
            cluster=SETTINGS.cluster,
            serviceName=service,
            taskDefinition="app",
            desiredCount=2 if service == "ml-service" else 0,
        )
    boto3.client("rds").create_db_instance(
        DBInstanceIdentifier=SETTINGS.db_instance,
        DBInstanceClass="db.t4g.micro",
        Engine="postgres",
        MasterUsername="admin_user",
        MasterUserPassword="never-Shown-1",
        AllocatedStorage=20,
    )


def lines(read: report.Report, title_start: str) -> list[str]:
    (section,) = [s for s in read.sections if s.title.startswith(title_start)]
    return [f"unavailable: {section.unavailable}"] if section.unavailable else section.lines


# --- reading -------------------------------------------------------------------------------------------


def test_a_fresh_environment_reads_no_data_and_never_raises(aws: None) -> None:
    deploy()
    read = report.collect(clients_with(Backup([])), SETTINGS, NOW)
    assert read.unavailable == []
    assert read.at == datetime(2026, 12, 4, 7, 0, tzinfo=UTC)
    assert read.trading_day == "2026-12-03"
    assert lines(read, "Trading on 2026-12-03") == [
        "P&L: no data",
        "Win rate: no data (target > 50%)",
        "ROI: no data (target > 10%)",
        "Bets placed: no data",
        "Bankroll at the day's end: no data",
    ]
    assert lines(read, "ERROR log lines") == [
        "bot: no data",
        "ml-service: no data",
        "data-ingestion: no data",
    ]
    assert lines(read, "Database clever-better-prod") == [
        "CPU: peak no data, mean no data",
        "Connections: peak no data",
        "Free storage: lowest no data",
    ]
    assert lines(read, "Alarms in ALARM now") == ["none"]
    assert lines(read, "Backups")[0] == "Backup jobs in clever-better-prod, last 24 h: none  <- check"
    assert lines(read, "ECS tasks") == [
        "bot: 0 running of 0 desired, 0 pending, 0 unhealthy",
        "ml-service: 0 running of 2 desired, 2 pending, 0 unhealthy  <- check",
        "data-ingestion: 0 running of 0 desired, 0 pending, 0 unhealthy",
    ]


def _put(namespace: str, name: str, values: list[tuple[datetime, float]], **dimensions: str) -> None:
    boto3.client("cloudwatch").put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                "Timestamp": at,
                "Value": value,
            }
            for at, value in values
        ],
    )


def test_published_metrics_alarms_and_backups_read_as_an_operator_expects(aws: None) -> None:
    deploy()
    late, early, today = YESTERDAY + timedelta(hours=23, minutes=55), YESTERDAY + timedelta(hours=9), NOW
    env = {"Environment": "prod"}
    _put(
        "CleverBetter",
        "DailyPnL",
        [(early, 40.0), (late, -123.456), (today - timedelta(minutes=5), 999.0)],
        **env,
    )
    _put("CleverBetter", "WinRate", [(early, 60.0), (late, 52.25)], **env)
    _put("CleverBetter", "ROI", [(late, 11.0)], **env)
    _put("CleverBetter", "BetsPlaced", [(early, 1.0), (late, 1.0), (late - timedelta(hours=1), 1.0)], **env)
    _put("CleverBetter", "Bankroll", [(late, 10500.0)], **env)
    # A metric of another environment is not this one's.
    _put("CleverBetter", "WinRate", [(late, 99.0)], Environment="staging")
    _put("CleverBetter/Logs/prod/bot", "ErrorLogLines", [(NOW - timedelta(hours=h), 2.0) for h in (1, 2, 3)])
    # A point after the report's minute (NOW is 07:00:30; the window ends 07:00) is not in it.
    db = {"DBInstanceIdentifier": SETTINGS.db_instance}
    _put(
        "AWS/RDS",
        "CPUUtilization",
        [(NOW - timedelta(hours=2), 80.0), (NOW - timedelta(hours=1), 20.0)],
        **db,
    )
    _put("AWS/RDS", "DatabaseConnections", [(NOW - timedelta(hours=2), 17.0)], **db)
    _put(
        "AWS/RDS",
        "FreeStorageSpace",
        [(NOW - timedelta(hours=2), 30 * 1024**3), (NOW - timedelta(minutes=30), 12.5 * 1024**3), (NOW, 1.0)],
        **db,
    )
    cloudwatch = boto3.client("cloudwatch")
    for name in ("clever-better-prod-daily-loss-P0", "clever-better-prod-drift-check-failed-P3",
                 "clever-better-prod-api-latency-P1", "clever-better-staging-daily-loss-P0"):  # fmt: skip
        cloudwatch.put_metric_alarm(
            AlarmName=name, Namespace="X", MetricName="Y", Statistic="Sum", Period=60,
            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
        )  # fmt: skip
        if "latency" not in name:
            cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test")
    jobs = Backup(
        [
            {
                "BackupVaultName": SETTINGS.backup_vault,
                "State": "COMPLETED",
                "CreationDate": NOW - timedelta(hours=5),
            },
            {
                "BackupVaultName": SETTINGS.backup_vault,
                "State": "COMPLETED",
                "CreationDate": NOW - timedelta(hours=1),
            },
            {
                "BackupVaultName": SETTINGS.backup_vault,
                "State": "FAILED",
                "CreationDate": NOW - timedelta(hours=2),
            },
            {
                "BackupVaultName": SETTINGS.backup_vault,
                "State": "FAILED",
                "CreationDate": NOW - timedelta(days=3),
            },
            {"BackupVaultName": "other", "State": "FAILED", "CreationDate": NOW - timedelta(hours=2)},
        ]
    )

    read = report.collect(clients_with(jobs), SETTINGS, NOW)

    assert read.unavailable == []
    assert lines(read, "Trading on 2026-12-03") == [
        "P&L: -$123.46",
        "Win rate: 52.2% (target > 50%)",
        "ROI: 11.0% (target > 10%)",
        "Bets placed: 3",
        "Bankroll at the day's end: $10,500.00",
    ]
    assert lines(read, "ERROR log lines") == ["bot: 6", "ml-service: no data", "data-ingestion: no data"]
    assert lines(read, "Database") == [
        "CPU: peak 80%, mean 50%",
        "Connections: peak 17",
        "Free storage: lowest 12.5 GiB",
    ]
    alarms = lines(read, "Alarms in ALARM now")
    assert [a.split(" since ")[0] for a in alarms] == [
        "clever-better-prod-daily-loss-P0",
        "clever-better-prod-drift-check-failed-P3",
    ]
    assert lines(read, "Backups")[0] == (
        "Backup jobs in clever-better-prod, last 24 h: 2 completed, 1 failed  <- check"
    )
    assert [c["ByCreatedAfter"] for c in jobs.calls] == [datetime(2026, 12, 3, 7, 0, tzinfo=UTC)] * 3


def test_a_section_aws_refuses_reads_unavailable_and_the_rest_stands(aws: None) -> None:
    """Nothing deployed: the cluster and the database are not found; metrics still read."""
    read = report.collect(clients_with(Backup([])), SETTINGS, NOW)
    assert read.unavailable == [
        "ECS tasks in clever-better-prod, now: ClusterNotFoundException",
    ]
    assert lines(read, "ECS tasks") == ["unavailable: ClusterNotFoundException"]
    assert lines(read, "Backups")[1] == (
        "Latest restorable time of clever-better-prod: unavailable (DBInstanceNotFound)"
    )
    assert lines(read, "Trading")[0] == "P&L: no data"
    text = read.text()
    assert text.splitlines()[0] == "Daily operations report: prod, 2026-12-04 07:00 UTC"
    assert "  unavailable: ClusterNotFoundException" in text


class Ecs:
    """A service short of its count, its tasks over two ListTasks pages, one of them UNHEALTHY."""

    def __init__(self) -> None:
        self.described: list[list[str]] = []

    def describe_services(self, cluster: str, services: list[str]) -> dict[str, Any]:
        assert cluster == SETTINGS.cluster
        found = [
            {
                "serviceName": "bot",
                "status": "ACTIVE",
                "runningCount": 1,
                "desiredCount": 2,
                "pendingCount": 1,
            },
            {"serviceName": "ml-service", "status": "INACTIVE", "runningCount": 0, "desiredCount": 0},
        ]
        return {"services": [s for s in found if s["serviceName"] in services], "failures": []}

    def list_tasks(self, **params: Any) -> dict[str, Any]:
        assert (params["serviceName"], params["desiredStatus"]) == ("bot", "RUNNING")
        if "nextToken" not in params:
            return {"taskArns": ["arn:task/1"], "nextToken": "2"}
        return {"taskArns": ["arn:task/2"]}

    def describe_tasks(self, cluster: str, tasks: list[str]) -> dict[str, Any]:
        self.described.append(tasks)
        health = {"arn:task/1": "HEALTHY", "arn:task/2": "UNHEALTHY"}
        return {"tasks": [{"taskArn": t, "healthStatus": health[t]} for t in tasks]}


def test_unhealthy_and_missing_tasks_are_marked_for_a_look() -> None:
    ecs = Ecs()
    section = report.tasks(ecs, SETTINGS)
    assert section.lines == [
        "bot: 1 running of 2 desired, 1 pending, 1 unhealthy  <- check",
        "ml-service: not found in clever-better-prod  <- check",
        "data-ingestion: not found in clever-better-prod  <- check",
    ]
    assert ecs.described == [["arn:task/1", "arn:task/2"]]


def test_the_slack_message_escapes_and_cuts_an_overlong_line() -> None:
    read = report.Report(
        "prod",
        NOW,
        "2026-12-03",
        [
            report.Section("Alarms in ALARM now", ["<!channel> & friends"]),
            report.Section("Big", ["x" * 5000]),
        ],
    )
    message = read.slack()
    assert message["text"] == "Daily operations report: prod, 2026-12-04 07:00 UTC"
    assert message["blocks"][1]["text"]["text"] == "*Alarms in ALARM now*\n• &lt;!channel&gt; &amp; friends"
    assert message["blocks"][2]["text"]["text"] == "*Big*\n• " + "x" * 2798


def test_a_report_too_long_for_slack_is_cut_at_lines_and_says_how_much() -> None:
    """Slack refuses a section text over 3,000 characters, and whole messages well under its
    documented limit: every block keeps under 3,000, the message under 12,000, each section
    keeps its title, and what was left out is counted."""
    alarms = [f"clever-better-prod-alarm-{i:03}-P1 since 2026-12-04 06:{i % 60:02} UTC" for i in range(400)]
    read = report.Report(
        "prod",
        NOW,
        "2026-12-03",
        [
            report.Section("Alarms in ALARM now", alarms),
            report.Section("Backups", ["Backup jobs: 2 completed"]),
        ],
    )
    blocks = read.slack()["blocks"]
    texts = [b["text"]["text"] for b in blocks[1:]]
    assert texts, "the sections are in blocks"
    assert max(len(t) for t in texts) <= 3000
    assert sum(len(t) for t in texts) <= 12000
    assert texts[0].startswith("*Alarms in ALARM now*\n• clever-better-prod-alarm-000-P1 since ")
    shown = sum(t.count("• clever-better-prod-alarm-") for t in texts)
    assert 100 < shown < 400
    assert f"…and {400 - shown} more (make daily-report prints them all)" in "\n".join(texts)
    assert texts[-1].startswith("*Backups*\n")


def test_settings_name_every_missing_variable() -> None:
    with pytest.raises(RuntimeError, match="environment variables not set: CLUSTER, SERVICES"):
        report.Settings.from_environment(
            {k: v for k, v in ENVIRON.items() if k not in ("CLUSTER", "SERVICES")}
        )
    assert report.Settings.from_environment(ENVIRON) == SETTINGS


# --- posting -------------------------------------------------------------------------------------------


class Context:
    def __init__(self, seconds: float = 10.0) -> None:
        self.end = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.end - time.monotonic()) * 1000)


@pytest.fixture
def wired(aws: None, slack: Slack, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The deployed environment, the alerting secret with the P3 webhook at the stub."""
    deploy()
    monkeypatch.setattr(report_handler, "REQUEST_TIMEOUT", 0.3)
    monkeypatch.setattr(report_handler, "BACKOFF_BASE", 0.001)
    monkeypatch.setattr(report_handler, "RESERVE_SECONDS", 0.2)
    hooks = {"P0": f"{slack.url}/p0/{HOOK_SECRET_PART}", "P3": f"{slack.url}/p3/{HOOK_SECRET_PART}"}
    boto3.client("secretsmanager").create_secret(
        Name=SECRET, SecretString=json.dumps({"slack_webhooks": hooks})
    )
    for key, value in {**ENVIRON, "SECRET_ID": SECRET}.items():
        monkeypatch.setenv(key, value)
    return hooks


def _handle(deadline: float = 5.0) -> dict[str, Any]:
    return report_handler.handle(
        settings=SETTINGS,
        secret_id=SECRET,
        clients=clients_with(Backup([])),
        now=NOW,
        deadline=time.monotonic() + deadline,
    )


def test_the_handler_posts_one_message_to_the_p3_channel(
    wired: dict[str, str], slack: Slack, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[tuple[str, Any]] = []
    real = boto3.client

    def recording(name: str, **options: Any) -> Any:
        made.append((name, options.get("config")))
        return real(name, **options)

    monkeypatch.setattr(boto3, "client", recording)
    with caplog.at_level(logging.INFO):
        result = report_handler.handler({}, Context())
    # A stalled endpoint costs its section, not the report: short time-outs, three attempts.
    assert {name for name, _ in made} == {"cloudwatch", "ecs", "backup", "rds", "secretsmanager"}
    assert {(c.connect_timeout, c.read_timeout, c.retries["total_max_attempts"]) for _, c in made} == {
        (5, 15, 3)
    }
    assert result["posted"] is True
    assert result["unavailable"] == []
    (message,) = slack.posted
    assert message["text"].startswith("Daily operations report: prod, ")
    titles = [b["text"]["text"].split("\n")[0] for b in message["blocks"][1:]]
    assert titles[1:] == [
        "*Alarms in ALARM now*",
        "*ECS tasks in clever-better-prod, now*",
        "*ERROR log lines, last 24 h*",
        "*Database clever-better-prod, last 24 h*",
        "*Backups*",
    ]
    assert titles[0].startswith("*Trading on ")
    assert HOOK_SECRET_PART not in caplog.text
    assert "never-Shown-1" not in caplog.text + json.dumps(message)


def test_429_and_5xx_are_retried(wired: dict[str, str], slack: Slack) -> None:
    slack.script = [(429, {"Retry-After": "0"}), 503, 200]
    assert _handle()["posted"] is True
    assert len(slack.posted) == 3


def test_slack_down_is_raised_after_its_retries_without_the_webhook(
    wired: dict[str, str], slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    slack.script = [500]
    with caplog.at_level(logging.INFO), pytest.raises(report_handler.NotPosted, match="HTTP 500") as raised:
        _handle(deadline=1.5)
    assert len(slack.posted) >= 2
    assert HOOK_SECRET_PART not in str(raised.value) + caplog.text


def test_a_refused_webhook_is_raised_at_once(wired: dict[str, str], slack: Slack) -> None:
    slack.script = [404]
    with pytest.raises(report_handler.NotPosted, match="HTTP 404"):
        _handle()
    assert len(slack.posted) == 1


def test_no_p3_webhook_is_raised(wired: dict[str, str], slack: Slack) -> None:
    boto3.client("secretsmanager").put_secret_value(
        SecretId=SECRET, SecretString=json.dumps({"slack_webhooks": {"P0": wired["P0"]}})
    )
    with pytest.raises(report_handler.NotPosted, match=r"no slack_webhooks\.P3"):
        _handle()
    assert slack.posted == []
