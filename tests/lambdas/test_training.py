"""Scheduled training (lambdas/training): ECS through botocore's Stubber, which checks every
request against ECS's API model (moto's RunTask fails on awsvpc tasks), and CloudWatch through
moto, whose metrics the streak is read back from.

What the issue asks it to withstand: a schedule that fires while a run is going starts none;
a run that never starts, is refused, or outlives its limit is a failure, not silence; two
failures in a row make a streak of two (the P1)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from lambdas.training import handler as training
from tests.support import offline_aws

NOW = datetime(2026, 12, 4, 3, 30, 5, tzinfo=UTC)
REGION = "us-east-1"
CLUSTER = "clever-better-prod"
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:333333333333:cluster/{CLUSTER}"
STARTED_BY = "clever-better-prod-training"
TASK = f"arn:aws:ecs:{REGION}:333333333333:task/{CLUSTER}/0123456789abcdef0123456789abcdef"
TASK_DEFINITION = f"arn:aws:ecs:{REGION}:333333333333:task-definition/clever-better-prod-ml-service:7"
NETWORK = {
    "awsvpcConfiguration": {
        "subnets": ["subnet-0aaa", "subnet-0bbb"],
        "securityGroups": ["sg-0ml"],
        "assignPublicIp": "DISABLED",
    }
}
ENVIRON = {
    "CLUSTER": CLUSTER,
    "SERVICE": "ml-service",
    "CONTAINER": "ml-service",
    "COMMAND": '["python", "-m", "ml_service.train"]',
    "STARTED_BY": STARTED_BY,
    "TIMEOUT_MINUTES": "120",
    "ENVIRONMENT": "prod",
    "METRIC_NAMESPACE": "CleverBetter/Operations",
    "METRIC_DIMENSION": "Environment",
    "FAILED_METRIC": "TrainingRunFailed",
    "STREAK_METRIC": "TrainingFailureStreak",
    "SECONDS_METRIC": "TrainingRunSeconds",
    "SKIPPED_METRIC": "TrainingRunSkipped",
}
SETTINGS = training.Settings.from_environment(ENVIRON)
# RunTask exactly as the function must call it: the service's revision, network and capacity,
# our startedBy, and only the training container's command replaced.
RUN_TASK = {
    "cluster": CLUSTER,
    "taskDefinition": TASK_DEFINITION,
    "count": 1,
    "startedBy": STARTED_BY,
    "group": "training",
    "networkConfiguration": NETWORK,
    "overrides": {
        "containerOverrides": [{"name": "ml-service", "command": ["python", "-m", "ml_service.train"]}]
    },
    "launchType": "FARGATE",
}
# startedBy alone: ListTasks refuses it with any other filter (its default status is RUNNING).
LIST_RUNNING = {"cluster": CLUSTER, "startedBy": STARTED_BY}


def service(**extra: Any) -> dict[str, Any]:
    """DescribeServices' service; a field given as None is left out."""
    found = {
        "serviceName": "ml-service",
        "status": "ACTIVE",
        "taskDefinition": TASK_DEFINITION,
        "networkConfiguration": NETWORK,
        "launchType": "FARGATE",
        **extra,
    }
    return {key: value for key, value in found.items() if value is not None}


def stopped_event(**detail: Any) -> dict[str, Any]:
    """An ECS Task State Change as EventBridge delivers it (ECS developer guide, "Task state change
    events"), for a training task that stopped."""
    base = {
        "clusterArn": CLUSTER_ARN,
        "taskArn": TASK,
        "taskDefinitionArn": TASK_DEFINITION,
        "group": "training",
        "startedBy": STARTED_BY,
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "launchType": "FARGATE",
        "createdAt": "2026-12-04T03:30:02.000Z",
        "startedAt": "2026-12-04T03:31:00.000Z",
        "stoppedAt": "2026-12-04T05:01:00.000Z",
        "stopCode": "EssentialContainerExited",
        "stoppedReason": "Essential container in task exited",
        "containers": [
            {"name": "scratch-init", "exitCode": 0, "lastStatus": "STOPPED"},
            {"name": "ml-service", "exitCode": 0, "lastStatus": "STOPPED"},
        ],
    }
    base.update(detail)
    return {
        "version": "0",
        "detail-type": "ECS Task State Change",
        "source": "aws.ecs",
        "account": "333333333333",
        "region": REGION,
        "resources": [TASK],
        "detail": base,
    }


class Aws:
    """A stubbed ECS client (requests checked against the API model) and moto's CloudWatch."""

    def __init__(self) -> None:
        self.ecs = boto3.client("ecs", region_name=REGION)
        self.stub = Stubber(self.ecs)
        self.cloudwatch = boto3.client("cloudwatch", region_name=REGION)

    def client(self, name: str) -> Any:
        return {"ecs": self.ecs, "cloudwatch": self.cloudwatch}[name]

    def values(self, metric: str, stat: str = "Maximum") -> list[float]:
        """The datapoints of `metric` (per environment, per minute), oldest first."""
        result = self.cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "m",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "CleverBetter/Operations",
                            "MetricName": metric,
                            "Dimensions": [{"Name": "Environment", "Value": "prod"}],
                        },
                        "Period": 60,
                        "Stat": stat,
                    },
                }
            ],
            StartTime=NOW - timedelta(days=20),
            EndTime=NOW + timedelta(days=5),
            ScanBy="TimestampAscending",
        )["MetricDataResults"][0]
        return list(result["Values"])

    def handle(self, event: dict[str, Any], now: datetime = NOW) -> dict[str, Any]:
        with self.stub:
            result = training.handle(event, SETTINGS, self.client, now)
        self.stub.assert_no_pending_responses()
        return result


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    offline_aws(monkeypatch, REGION)
    with mock_aws():
        yield Aws()


def running(aws: Aws, *created: datetime, stopped: int = 0) -> list[str]:
    """Queue ListTasks and DescribeTasks answers: tasks created at `created`, and `stopped`
    more that stopped between the two calls."""
    arns = [f"{TASK[:-4]}{index:04d}" for index in range(len(created) + stopped)]
    aws.stub.add_response("list_tasks", {"taskArns": arns}, LIST_RUNNING)
    described = [
        {"taskArn": a, "createdAt": c, "lastStatus": "RUNNING"} for a, c in zip(arns, created, strict=False)
    ]
    described += [{"taskArn": a, "createdAt": NOW, "lastStatus": "STOPPED"} for a in arns[len(created) :]]
    if arns:
        aws.stub.add_response("describe_tasks", {"tasks": described}, {"cluster": CLUSTER, "tasks": arns})
    return arns[: len(created)]


def expect_stop(aws: Aws, task: str) -> None:
    """StopTask on `task`, with the reason its STOPPED event will carry."""
    aws.stub.add_response(
        "stop_task",
        {"task": {"taskArn": task}},
        {
            "cluster": CLUSTER,
            "task": task,
            "reason": f"{STARTED_BY}: still running after its 120-minute limit",
        },
    )


def test_a_start_runs_the_services_revision_with_the_training_command(aws: Aws) -> None:
    running(aws)
    aws.stub.add_response(
        "describe_services", {"services": [service()]}, {"cluster": CLUSTER, "services": ["ml-service"]}
    )
    aws.stub.add_response("run_task", {"tasks": [{"taskArn": TASK}], "failures": []}, RUN_TASK)
    assert aws.handle({"action": "start"}) == {"started": TASK}
    # A start is no outcome: the task's STOPPED event is.
    assert aws.values("TrainingRunFailed") == []


def test_a_start_keeps_the_services_capacity_providers_and_platform(aws: Aws) -> None:
    strategy = [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]
    running(aws)
    aws.stub.add_response(
        "describe_services",
        {"services": [service(launchType=None, capacityProviderStrategy=strategy, platformVersion="1.4.0")]},
        {"cluster": CLUSTER, "services": ["ml-service"]},
    )
    expected = {k: v for k, v in RUN_TASK.items() if k != "launchType"}
    aws.stub.add_response(
        "run_task",
        {"tasks": [{"taskArn": TASK}]},
        {**expected, "capacityProviderStrategy": strategy, "platformVersion": "1.4.0"},
    )
    assert aws.handle({"action": "start"}) == {"started": TASK}


def test_a_task_that_stopped_meanwhile_does_not_hold_the_start(aws: Aws) -> None:
    running(aws, stopped=1)
    aws.stub.add_response(
        "describe_services", {"services": [service()]}, {"cluster": CLUSTER, "services": ["ml-service"]}
    )
    aws.stub.add_response("run_task", {"tasks": [{"taskArn": TASK}]}, RUN_TASK)
    assert aws.handle({"action": "start"}) == {"started": TASK}


def test_a_start_while_a_run_is_going_starts_none(aws: Aws) -> None:
    (going,) = running(aws, NOW - timedelta(minutes=40))
    # No DescribeServices, no RunTask: the stub refuses any call not queued.
    assert aws.handle({"action": "start"}) == {"skipped": [going], "stopped": []}
    assert aws.values("TrainingRunSkipped") == [1.0]
    assert aws.values("TrainingRunFailed") == []


def test_a_start_stops_a_run_past_its_limit_and_still_starts_none(aws: Aws) -> None:
    overdue, recent = running(aws, NOW - timedelta(minutes=121), NOW - timedelta(minutes=5))
    expect_stop(aws, overdue)
    assert aws.handle({"action": "start"}) == {"skipped": [overdue, recent], "stopped": [overdue]}


def test_the_watch_stops_only_a_run_past_its_limit(aws: Aws) -> None:
    (overdue,) = running(aws, NOW - timedelta(minutes=120))
    expect_stop(aws, overdue)
    assert aws.handle({"action": "watch"}) == {"stopped": [overdue]}
    running(aws, NOW - timedelta(minutes=119))
    assert aws.handle({"action": "watch"}) == {"stopped": []}
    running(aws)
    assert aws.handle({"action": "watch"}) == {"stopped": []}
    # The watch publishes nothing itself: the stopped task's event records the failure.
    assert aws.values("TrainingRunFailed") == []


def test_a_start_ecs_refuses_is_a_failed_run_not_an_error(aws: Aws) -> None:
    running(aws)
    aws.stub.add_response(
        "describe_services", {"services": [service()]}, {"cluster": CLUSTER, "services": ["ml-service"]}
    )
    aws.stub.add_client_error(
        "run_task", "ClientException", "TaskDefinition is inactive", expected_params=RUN_TASK
    )
    result = aws.handle({"action": "start"})
    assert result == {
        "task": TASK_DEFINITION,
        "failed": True,
        "reason": "RunTask refused: ClientException: TaskDefinition is inactive",
        "streak": 1,
    }
    assert aws.values("TrainingRunFailed") == [1.0]
    assert aws.values("TrainingFailureStreak") == [1.0]


def test_a_start_that_starts_no_task_is_a_failed_run(aws: Aws) -> None:
    running(aws)
    aws.stub.add_response(
        "describe_services", {"services": [service()]}, {"cluster": CLUSTER, "services": ["ml-service"]}
    )
    aws.stub.add_response(
        "run_task", {"tasks": [], "failures": [{"arn": TASK_DEFINITION, "reason": "RESOURCE:ENI"}]}, RUN_TASK
    )
    result = aws.handle({"action": "start"})
    assert result["failed"] is True
    assert result["reason"] == f"RunTask started no task: {TASK_DEFINITION} RESOURCE:ENI"


def test_a_start_without_the_service_is_a_failed_run(aws: Aws) -> None:
    running(aws)
    aws.stub.add_response(
        "describe_services",
        {"services": [], "failures": [{"arn": "ml-service", "reason": "MISSING"}]},
        {"cluster": CLUSTER, "services": ["ml-service"]},
    )
    assert aws.handle({"action": "start"})["reason"] == "service ml-service not found (not started)"
    assert aws.values("TrainingRunFailed") == [1.0]


def test_exit_0_is_a_success_that_ends_the_streak(aws: Aws) -> None:
    aws.cloudwatch.put_metric_data(
        Namespace="CleverBetter/Operations",
        MetricData=[
            {
                "MetricName": "TrainingFailureStreak",
                "Dimensions": [{"Name": "Environment", "Value": "prod"}],
                "Value": 1,
                "Timestamp": NOW - timedelta(days=1),
            }
        ],
    )
    result = aws.handle(stopped_event(), now=NOW + timedelta(hours=2))
    assert result == {"task": TASK, "failed": False, "reason": "exit 0", "streak": 0}
    assert aws.values("TrainingRunFailed") == [0.0]
    assert aws.values("TrainingFailureStreak") == [1.0, 0.0]
    assert aws.values("TrainingRunSeconds") == [5400.0]  # 03:31 to 05:01


def test_two_failures_in_a_row_make_a_streak_of_two(aws: Aws) -> None:
    failing = stopped_event(
        containers=[
            {"name": "scratch-init", "exitCode": 0},
            {"name": "ml-service", "exitCode": 1, "reason": "OutOfMemoryError: Container killed"},
        ]
    )
    next_day = {"startedAt": "2026-12-05T03:31:00.000Z", "stoppedAt": "2026-12-05T04:01:00.000Z"}
    first = aws.handle(failing, now=NOW + timedelta(hours=2))
    second = aws.handle(
        {**failing, "detail": {**failing["detail"], **next_day}}, now=NOW + timedelta(days=1, hours=2)
    )
    assert (first["streak"], second["streak"]) == (1, 2)
    assert second["reason"] == (
        "exit 1: EssentialContainerExited; Essential container in task exited; "
        "OutOfMemoryError: Container killed"
    )
    assert aws.values("TrainingRunFailed") == [1.0, 1.0]
    assert aws.values("TrainingFailureStreak") == [1.0, 2.0]
    # The success after them ends it.
    day_after = stopped_event(startedAt="2026-12-06T03:31:00.000Z", stoppedAt="2026-12-06T04:01:00.000Z")
    assert aws.handle(day_after, now=NOW + timedelta(days=2, hours=2))["streak"] == 0


def test_a_repeated_event_counts_its_run_once(aws: Aws, caplog: pytest.LogCaptureFixture) -> None:
    """ECS delivers task events at least once: a copy of a failure's event finds its minute (the
    task's stoppedAt) taken, publishes nothing, and says so."""
    failing = stopped_event(containers=[{"name": "ml-service", "exitCode": 2}])
    first = aws.handle(failing, now=NOW + timedelta(hours=2))
    caplog.clear()
    with caplog.at_level(logging.INFO):
        again = aws.handle(failing, now=NOW + timedelta(hours=2, minutes=1))
    assert (first["streak"], again["streak"]) == (1, 1)
    assert aws.values("TrainingFailureStreak") == [1.0]
    assert aws.values("TrainingRunFailed", "SampleCount") == [1.0]  # one run, not two
    assert [json.loads(r.getMessage())["event"] for r in caplog.records if r.name == "root"] == [
        "training-repeat"
    ]


def test_the_newest_streak_is_read_back(aws: Aws) -> None:
    """Three failures on three days make a streak of 3: each reads the one before it."""
    streaks = []
    for day in (4, 5, 6):
        failing = stopped_event(
            startedAt=f"2026-12-{day:02d}T05:16:00.000Z",
            stoppedAt=f"2026-12-{day:02d}T06:00:00.000Z",
            containers=[{"name": "ml-service", "exitCode": 1}],
        )
        streaks.append(aws.handle(failing, now=NOW + timedelta(days=day - 4, hours=1))["streak"])
    assert streaks == [1, 2, 3]
    assert aws.values("TrainingFailureStreak") == [1.0, 2.0, 3.0]


def test_a_configured_size_overrides_the_tasks(aws: Aws) -> None:
    """TASK_CPU and TASK_MEMORY: RunTask's task-level overrides (strings, as ECS takes them)."""
    sized = training.Settings.from_environment({**ENVIRON, "TASK_CPU": "2048", "TASK_MEMORY": "8192"})
    running(aws)
    aws.stub.add_response(
        "describe_services", {"services": [service()]}, {"cluster": CLUSTER, "services": ["ml-service"]}
    )
    overrides = {**RUN_TASK["overrides"], "cpu": "2048", "memory": "8192"}
    aws.stub.add_response("run_task", {"tasks": [{"taskArn": TASK}]}, {**RUN_TASK, "overrides": overrides})
    with aws.stub:
        assert training.handle({"action": "start"}, sized, aws.client, NOW) == {"started": TASK}
    aws.stub.assert_no_pending_responses()
    assert (SETTINGS.cpu, SETTINGS.memory) == (None, None)  # unset: the service's own size


def test_a_scheduled_start_is_idempotent_by_its_scheduled_time(aws: Aws) -> None:
    running(aws)
    aws.stub.add_response(
        "describe_services", {"services": [service()]}, {"cluster": CLUSTER, "services": ["ml-service"]}
    )
    # ECS answers a repeated token with the task it started for it.
    token = {**RUN_TASK, "clientToken": "clever-better-prod-training-20261204T031500Z"}
    aws.stub.add_response("run_task", {"tasks": [{"taskArn": TASK}]}, token)
    event = {"action": "start", "scheduled": "2026-12-04T03:15:00Z"}
    assert aws.handle(event, now=NOW) == {"started": TASK}


def test_a_scheduled_start_more_than_an_hour_late_starts_none(aws: Aws) -> None:
    event = {"action": "start", "scheduled": "2026-12-04T02:30:00Z"}  # NOW is 03:30:05
    # No ECS call at all: the stub refuses any call not queued.
    assert aws.handle(event, now=NOW) == {"skipped": [], "stopped": [], "late": "2026-12-04T02:30:00+00:00"}
    assert aws.values("TrainingRunSkipped") == [1.0]


def test_a_run_stopped_before_it_finished_is_a_failure_even_with_exit_0(aws: Aws) -> None:
    """A training program that exits 0 on SIGTERM (StopTask at its limit) did not finish."""
    stopped = stopped_event(stopCode="UserInitiated", stoppedReason="stopped by an operator")
    result = aws.handle(stopped, now=NOW + timedelta(hours=2))
    assert result["failed"] is True
    assert result["reason"] == "exit 0: UserInitiated; stopped by an operator"


def test_a_task_that_never_started_is_a_failure(aws: Aws) -> None:
    never = stopped_event(
        startedAt=None,
        stopCode="TaskFailedToStart",
        stoppedReason="CannotPullContainerError: pull image manifest has been retried 5 time(s)",
        containers=[{"name": "ml-service", "lastStatus": "STOPPED"}],
    )
    result = aws.handle(never, now=NOW + timedelta(minutes=10))
    assert result["failed"] is True
    assert result["reason"] == (
        "no exit code (never started or killed): TaskFailedToStart; "
        "CannotPullContainerError: pull image manifest has been retried 5 time(s)"
    )
    assert aws.values("TrainingRunSeconds") == []


def test_a_run_stopped_at_its_limit_is_a_failure(aws: Aws) -> None:
    stopped = stopped_event(
        stopCode="UserInitiated",
        stoppedReason=f"{STARTED_BY}: still running after its 120-minute limit",
        containers=[{"name": "ml-service", "exitCode": 137}],
    )
    result = aws.handle(stopped, now=NOW + timedelta(hours=3))
    assert result["failed"] is True
    assert result["reason"].startswith("exit 137: UserInitiated; clever-better-prod-training: still running")


@pytest.mark.parametrize(
    "detail",
    [
        {"startedBy": "ecs-svc/9223370545345641169"},  # the service's own tasks
        {"clusterArn": f"arn:aws:ecs:{REGION}:333333333333:cluster/clever-better-staging"},
        {"lastStatus": "RUNNING"},
    ],
)
def test_other_tasks_events_are_ignored(aws: Aws, detail: dict[str, Any]) -> None:
    assert aws.handle(stopped_event(**detail)) == {"ignored": True}
    assert aws.values("TrainingRunFailed") == []


def test_an_unknown_event_raises(aws: Aws) -> None:
    with pytest.raises(ValueError, match="expected action start or watch"):
        aws.handle({"action": "train-twice"})


@pytest.mark.parametrize("command", ['"python -m train"', "[]", '["python", ""]', "[1]"])
def test_a_bad_command_is_refused(command: str) -> None:
    with pytest.raises(ValueError, match="COMMAND must be a JSON list of non-empty strings"):
        training.Settings.from_environment({**ENVIRON, "COMMAND": command})


def test_the_handler_reads_its_environment_and_logs_one_json_line(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for key, value in ENVIRON.items():
        monkeypatch.setenv(key, value)
    with caplog.at_level(logging.INFO):
        result = training.handler(stopped_event(), None)
    assert result == {"task": TASK, "failed": False, "reason": "exit 0", "streak": 0}
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "root"]
    assert lines == [
        {"event": "training-succeeded", "reason": "exit 0", "seconds": 5400.0, "streak": 0, "task": TASK}
    ]
