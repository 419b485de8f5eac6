"""Scheduled training (issue 17): starts the ml-service image's training command as a one-off
task, stops a run that outlives its limit, and records every run's outcome as metrics.

One function, three events:

- ``{"action": "start", "scheduled": TIME}`` (EventBridge Scheduler at `schedules.training`,
  TIME its `<aws.scheduler.scheduled-time>`; `make train` sends no time): when a task this
  function started (RunTask ``startedBy`` = ``STARTED_BY``) is still going, it starts none
  (``TrainingRunSkipped``), and stops that one if it is past its limit; a scheduled start
  delivered more than an hour late starts none either. Otherwise it runs
  the service's current task definition (the revision ECS runs for ``SERVICE``, so the model
  trains on the deployed image) in the service's subnets and security groups, with
  ``CONTAINER``'s command replaced by ``COMMAND``, and, for a scheduled start, a RunTask client
  token made of the scheduled time: a start delivered twice starts one task. A start ECS refuses
  is a failed run.
- ``{"action": "watch"}`` (every 15 minutes): stops a training task older than
  ``TIMEOUT_MINUTES``; its STOPPED event then records it as failed.
- An EventBridge "ECS Task State Change" with ``lastStatus`` STOPPED and our ``startedBy``: the
  run's outcome. ``CONTAINER``'s exit code 0 is a success; anything else (a non-zero exit, a task
  that never started, one stopped at its limit) is a failure, with ECS's stop code and reason.

Each outcome publishes ``TrainingRunFailed`` (1 or 0), ``TrainingFailureStreak`` (failures in a
row: the last published streak plus one, or 0) and, for a run that started,
``TrainingRunSeconds``; namespace ``METRIC_NAMESPACE``, dimension ``METRIC_DIMENSION`` =
``ENVIRONMENT``, stamped at the task's ``stoppedAt``. ECS delivers task events at least once: an
outcome whose minute already holds a datapoint is a repeat and publishes nothing. A failure is
a P2; a streak of two a P1 (config/alarms.py).

It never raises for a run that failed: Lambda would retry the event and count it again. What
it cannot do at all (AWS refusing its own calls) raises, and Lambda's ``Errors`` is the P2 too.

Environment: ``CLUSTER``, ``SERVICE``, ``CONTAINER``, ``COMMAND`` (a JSON list),
``STARTED_BY``, ``TIMEOUT_MINUTES``, ``ENVIRONMENT``, ``METRIC_NAMESPACE``,
``METRIC_DIMENSION``, ``FAILED_METRIC``, ``STREAK_METRIC``, ``SECONDS_METRIC``,
``SKIPPED_METRIC``; ``TASK_CPU`` and ``TASK_MEMORY`` (optional: the run's Fargate size).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

logger = logging.getLogger()
logger.setLevel(logging.INFO)

# How far back the last streak is read: beyond a fortnight's gap, a run starts a new streak.
STREAK_LOOKBACK = timedelta(days=14)
# A scheduled start older than this is the next schedule's business (Scheduler gives up after an
# hour too; Lambda's own queue could hold it for six).
LATE = timedelta(hours=1)
# Seconds, not botocore's 60: the function's whole run is under a minute.
CLIENT_CONFIG = Config(
    connect_timeout=5, read_timeout=15, retries={"total_max_attempts": 3, "mode": "standard"}
)


@dataclass(frozen=True, kw_only=True)
class Settings:
    cluster: str
    service: str
    container: str
    command: tuple[str, ...]
    started_by: str
    timeout: timedelta
    environment: str
    namespace: str
    dimension: str
    failed_metric: str
    streak_metric: str
    seconds_metric: str
    skipped_metric: str
    # The task's Fargate size for a run (RunTask's task-level overrides); None: the service's.
    cpu: str | None = None
    memory: str | None = None

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Settings:
        command = json.loads(env["COMMAND"])
        if not (isinstance(command, list) and command and all(isinstance(a, str) and a for a in command)):
            raise ValueError("COMMAND must be a JSON list of non-empty strings")
        return cls(
            cluster=env["CLUSTER"],
            service=env["SERVICE"],
            container=env["CONTAINER"],
            command=tuple(command),
            started_by=env["STARTED_BY"],
            timeout=timedelta(minutes=int(env["TIMEOUT_MINUTES"])),
            environment=env["ENVIRONMENT"],
            namespace=env["METRIC_NAMESPACE"],
            dimension=env["METRIC_DIMENSION"],
            failed_metric=env["FAILED_METRIC"],
            streak_metric=env["STREAK_METRIC"],
            seconds_metric=env["SECONDS_METRIC"],
            skipped_metric=env["SKIPPED_METRIC"],
            cpu=env.get("TASK_CPU") or None,
            memory=env.get("TASK_MEMORY") or None,
        )


@dataclass(frozen=True)
class Outcome:
    task: str  # the task's ARN, or what ECS refused to start
    failed: bool
    reason: str
    seconds: float | None = None
    # When the task stopped: its datapoints' timestamp, so a repeated event (ECS delivers at
    # least once) publishes the same values at the same time and reads the streak before it.
    stopped: datetime | None = None


def _log(event: str, **fields: Any) -> None:
    logger.info(json.dumps({"event": event, **fields}, default=str, sort_keys=True))


def _running(ecs: Any, settings: Settings) -> list[dict[str, Any]]:
    """The training tasks not yet stopped. ListTasks refuses startedBy with any other filter;
    its default desired status, RUNNING, is the one wanted (it includes PROVISIONING and
    PENDING). A task that stopped between the two calls is left out."""
    arns: list[str] = []
    for page in ecs.get_paginator("list_tasks").paginate(
        cluster=settings.cluster, startedBy=settings.started_by
    ):
        arns += page["taskArns"]
    tasks: list[dict[str, Any]] = []
    for first in range(0, len(arns), 100):  # DescribeTasks takes up to 100
        tasks += ecs.describe_tasks(cluster=settings.cluster, tasks=arns[first : first + 100])["tasks"]
    return [task for task in tasks if task.get("lastStatus") != "STOPPED"]


def _stop_overdue(ecs: Any, settings: Settings, tasks: Sequence[dict[str, Any]], now: datetime) -> list[str]:
    limit = int(settings.timeout.total_seconds() // 60)
    stopped = []
    for task in tasks:
        created: datetime = task["createdAt"]
        if now - created < settings.timeout:
            continue
        ecs.stop_task(
            cluster=settings.cluster,
            task=task["taskArn"],
            reason=f"{settings.started_by}: still running after its {limit}-minute limit",
        )
        _log("training-stopped", task=task["taskArn"], created=created, limit_minutes=limit)
        stopped.append(task["taskArn"])
    return stopped


def _run_parameters(
    settings: Settings, service: Mapping[str, Any], scheduled: datetime | None
) -> dict[str, Any]:
    """RunTask's parameters: the service's task definition, network and capacity; for a scheduled
    start, a client token (ECS: up to 64 of the characters 33-126) that the same start repeats."""
    parameters: dict[str, Any] = {
        "cluster": settings.cluster,
        "taskDefinition": service["taskDefinition"],
        "count": 1,
        "startedBy": settings.started_by,
        "group": "training",
        "networkConfiguration": service["networkConfiguration"],
        "overrides": {
            "containerOverrides": [{"name": settings.container, "command": list(settings.command)}]
        },
    }
    if settings.cpu and settings.memory:
        parameters["overrides"] |= {"cpu": settings.cpu, "memory": settings.memory}
    if service.get("capacityProviderStrategy"):
        parameters["capacityProviderStrategy"] = service["capacityProviderStrategy"]
    else:
        parameters["launchType"] = service.get("launchType", "FARGATE")
    if service.get("platformVersion"):
        parameters["platformVersion"] = service["platformVersion"]
    if scheduled is not None:
        parameters["clientToken"] = f"{settings.started_by[:40]}-{scheduled:%Y%m%dT%H%M%SZ}"
    return parameters


def start(
    ecs: Any, settings: Settings, now: datetime, scheduled: datetime | None = None
) -> dict[str, Any] | Outcome:
    """Start a run unless one is going or the start is late: what it did, or the failed outcome of
    a start ECS refused."""
    if scheduled is not None and now - scheduled > LATE:
        _log("training-late", scheduled=scheduled)
        return {"skipped": [], "stopped": [], "late": scheduled.isoformat()}
    going = _running(ecs, settings)
    if going:
        stopped = _stop_overdue(ecs, settings, going, now)
        arns = [task["taskArn"] for task in going]
        _log("training-skipped", running=arns, stopped=stopped)
        return {"skipped": arns, "stopped": stopped}
    found = ecs.describe_services(cluster=settings.cluster, services=[settings.service])
    services = [s for s in found["services"] if s.get("status") == "ACTIVE"]
    if not services:
        return Outcome(settings.service, True, f"service {settings.service} not found (not started)")
    try:
        response = ecs.run_task(**_run_parameters(settings, services[0], scheduled))
    except ClientError as error:
        # Refused (capacity, a deregistered revision, a bad subnet): the run failed to start.
        code = error.response.get("Error", {})
        reason = f"RunTask refused: {code.get('Code', 'error')}: {code.get('Message', '')}".strip()
        return Outcome(services[0]["taskDefinition"], True, reason)
    if not response.get("tasks"):
        reasons = "; ".join(
            f"{f.get('arn', '')} {f.get('reason', '')}".strip() for f in response.get("failures", [])
        )
        return Outcome(
            services[0]["taskDefinition"], True, f"RunTask started no task: {reasons or 'no reason'}"
        )
    task = response["tasks"][0]["taskArn"]
    _log("training-started", task=task, task_definition=services[0]["taskDefinition"])
    return {"started": task}


def outcome_of(detail: Mapping[str, Any], settings: Settings) -> Outcome | None:
    """A STOPPED training task's outcome; None for an event that is not one of ours."""
    if detail.get("lastStatus") != "STOPPED" or detail.get("startedBy") != settings.started_by:
        return None
    if not str(detail.get("clusterArn", "")).endswith(f":cluster/{settings.cluster}"):
        return None
    task = str(detail.get("taskArn", ""))
    containers: list[dict[str, Any]] = detail.get("containers", [])
    container = next((c for c in containers if c.get("name") == settings.container), {})
    exit_code = container.get("exitCode")
    why = "; ".join(
        str(part)
        for part in (detail.get("stopCode"), detail.get("stoppedReason"), container.get("reason"))
        if part
    )
    seconds = None
    if detail.get("startedAt") and detail.get("stoppedAt"):
        seconds = (_when(detail["stoppedAt"]) - _when(detail["startedAt"])).total_seconds()
    stopped = _when(detail["stoppedAt"]) if detail.get("stoppedAt") else None
    # A run that exits 0 because it was stopped (at its limit, by an operator) did not finish.
    if exit_code == 0 and detail.get("stopCode", "EssentialContainerExited") == "EssentialContainerExited":
        return Outcome(task, False, "exit 0", seconds, stopped)
    if exit_code is None:
        return Outcome(
            task,
            True,
            f"no exit code (never started or killed): {why or 'no reason given'}",
            seconds,
            stopped,
        )
    return Outcome(task, True, f"exit {exit_code}" + (f": {why}" if why else ""), seconds, stopped)


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _series(settings: Settings, query_id: str, metric: str, stat: str) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": settings.namespace,
                "MetricName": metric,
                "Dimensions": [{"Name": settings.dimension, "Value": settings.environment}],
            },
            "Period": 60,
            "Stat": stat,
        },
    }


def published(cloudwatch: Any, settings: Settings, at: datetime) -> tuple[int, bool]:
    """The newest streak published before `at`'s minute (within STREAK_LOOKBACK, else 0), and
    whether `at`'s minute already holds an outcome (a repeated event)."""
    minute = at.replace(second=0, microsecond=0)
    response = cloudwatch.get_metric_data(
        MetricDataQueries=[
            _series(settings, "streak", settings.streak_metric, "Maximum"),
            _series(settings, "runs", settings.failed_metric, "SampleCount"),
        ],
        StartTime=minute - STREAK_LOOKBACK,
        EndTime=minute + timedelta(minutes=1),
        ScanBy="TimestampDescending",
    )
    results = {r["Id"]: r for r in response["MetricDataResults"]}

    def points(query_id: str) -> list[tuple[datetime, float]]:
        found = results.get(query_id, {})
        return list(zip(found.get("Timestamps", []), found.get("Values", []), strict=True))

    before = [value for when, value in points("streak") if when < minute]
    repeat = any(when >= minute for when, _ in points("runs"))
    return (int(before[0]) if before else 0), repeat


def record(cloudwatch: Any, settings: Settings, outcome: Outcome, now: datetime) -> int:
    """Publish the outcome, unless it is a repeat; the streak it makes."""
    at = outcome.stopped or now
    last, repeat = published(cloudwatch, settings, at)
    streak = last + 1 if outcome.failed else 0
    if repeat:
        _log("training-repeat", task=outcome.task, stopped=at)
        return streak
    dimensions = [{"Name": settings.dimension, "Value": settings.environment}]
    data: list[dict[str, Any]] = [
        {"MetricName": settings.failed_metric, "Value": int(outcome.failed), "Unit": "Count"},
        {"MetricName": settings.streak_metric, "Value": streak, "Unit": "Count"},
    ]
    if outcome.seconds is not None:
        data.append({"MetricName": settings.seconds_metric, "Value": outcome.seconds, "Unit": "Seconds"})
    cloudwatch.put_metric_data(
        Namespace=settings.namespace,
        MetricData=[{**datum, "Dimensions": dimensions, "Timestamp": at} for datum in data],
    )
    _log(
        "training-failed" if outcome.failed else "training-succeeded",
        task=outcome.task,
        reason=outcome.reason,
        seconds=outcome.seconds,
        streak=streak,
    )
    return streak


def skipped(cloudwatch: Any, settings: Settings, now: datetime) -> None:
    cloudwatch.put_metric_data(
        Namespace=settings.namespace,
        MetricData=[
            {
                "MetricName": settings.skipped_metric,
                "Dimensions": [{"Name": settings.dimension, "Value": settings.environment}],
                "Value": 1,
                "Unit": "Count",
                "Timestamp": now,
            }
        ],
    )


def handle(
    event: Mapping[str, Any],
    settings: Settings,
    clients: Callable[[str], Any],
    now: datetime,
) -> dict[str, Any]:
    """What the function did with `event` (also its return value)."""
    if event.get("detail-type") == "ECS Task State Change":
        outcome = outcome_of(event.get("detail", {}), settings)
        if outcome is None:
            _log("training-ignored", task=event.get("detail", {}).get("taskArn"))
            return {"ignored": True}
        return _recorded(clients("cloudwatch"), settings, outcome, now)
    action = event.get("action")
    if action == "watch":
        stopped = _stop_overdue(clients("ecs"), settings, _running(clients("ecs"), settings), now)
        return {"stopped": stopped}
    if action != "start":
        raise ValueError(
            f"unknown event: expected action start or watch, or an ECS task state change: {sorted(event)}"
        )
    scheduled = _when(str(event["scheduled"])) if event.get("scheduled") else None
    result = start(clients("ecs"), settings, now, scheduled)
    if isinstance(result, Outcome):
        return _recorded(clients("cloudwatch"), settings, result, now)
    if "skipped" in result:
        skipped(clients("cloudwatch"), settings, now)
    return result


def _recorded(cloudwatch: Any, settings: Settings, outcome: Outcome, now: datetime) -> dict[str, Any]:
    streak = record(cloudwatch, settings, outcome, now)
    return {"task": outcome.task, "failed": outcome.failed, "reason": outcome.reason, "streak": streak}


def _clients() -> Callable[[str], Any]:
    made: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in made:
            made[service] = boto3.client(service, config=CLIENT_CONFIG)
        return made[service]

    return client


def handler(event: Mapping[str, Any], _context: object) -> dict[str, Any]:
    settings = Settings.from_environment(os.environ)
    try:
        return handle(event, settings, _clients(), datetime.now(UTC))
    except (ClientError, BotoCoreError) as error:
        _log("training-error", error=str(error))
        raise
