"""The metrics contract: what the services publish to CloudWatch, and what we derive from logs.

Pure Python (no aws-cdk import): the monitoring unit builds alarms and dashboards from it, the
docs generator writes docs/METRICS.md from it, and the services' developers implement it.

Services publish with the CloudWatch embedded metric format (EMF): a JSON log line on stdout
(the awslogs driver delivers it to the service's log group, CloudWatch extracts the metric;
no PutMetricData permission, no SDK call on the hot path). Every metric carries the dimension
set listed for it, exactly: CloudWatch treats another combination as another metric, and an
alarm on the documented one would never see it.

Where AWS already publishes a metric (ECS CPU and memory, ALB 5xx and latency, target health,
RDS connections and storage, RDS Proxy), the alarms use it and the application does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# Custom metrics the applications publish (EMF), and the ones this infrastructure derives.
APPLICATION_NAMESPACE = "CleverBetter"
LOGS_NAMESPACE = "CleverBetter/Logs"
OPERATIONS_NAMESPACE = "CleverBetter/Operations"
ENVIRONMENT = "Environment"
SERVICE = "Service"


class Unit(Enum):
    """CloudWatch's unit names (PutMetricData `Unit`, EMF `Unit`)."""

    COUNT = "Count"
    SECONDS = "Seconds"
    PERCENT = "Percent"
    MILLISECONDS = "Milliseconds"
    NONE = "None"


class Emitter(Enum):
    BOT = "bot"
    ML_SERVICE = "ml-service"
    DATA_INGESTION = "data-ingestion"
    EVERY_SERVICE = "each service"
    LOG_FILTER = "log metric filter (this repository)"
    DRIFT_CHECK = "drift check (this repository)"
    DB_MAINTENANCE = "database maintenance (this repository)"
    TRAINING = "scheduled training (this repository)"


@dataclass(frozen=True)
class MetricSpec:
    name: str
    namespace: str
    unit: Unit
    # The exact dimension set (names; values: the environment's name, the service's name).
    dimensions: tuple[str, ...]
    emitter: Emitter
    # What a data point means and when it is published.
    meaning: str


def _app(name: str, unit: Unit, emitter: Emitter, meaning: str, *, per_service: bool = False) -> MetricSpec:
    dimensions = (ENVIRONMENT, SERVICE) if per_service else (ENVIRONMENT,)
    return MetricSpec(name, APPLICATION_NAMESPACE, unit, dimensions, emitter, meaning)


# The application's metrics (runbook, "Key Metrics to Monitor"), in the runbook's order. USD
# amounts have no CloudWatch unit: `None`, in US dollars.
APPLICATION_METRICS = (
    _app("Bankroll", Unit.NONE, Emitter.BOT, "current bankroll in USD; every minute"),
    _app("DailyPnL", Unit.NONE, Emitter.BOT, "profit and loss since 00:00 UTC in USD; every minute"),
    _app(
        "WinRate", Unit.PERCENT, Emitter.BOT, "settled bets won over the trading day, 0-100; each settlement"
    ),
    _app("ROI", Unit.PERCENT, Emitter.BOT, "return on stakes over the trading day, percent; each settlement"),
    _app("TotalExposure", Unit.NONE, Emitter.BOT, "open liability in USD; every minute"),
    _app("BetsPlaced", Unit.COUNT, Emitter.BOT, "1 per bet placed (sum per hour: bets per hour)"),
    _app(
        "CircuitBreakerOpen",
        Unit.NONE,
        Emitter.BOT,
        "1 while the trading circuit breaker is open, 0 while closed; every minute",
    ),
    _app("EmergencyShutdown", Unit.COUNT, Emitter.BOT, "1 when an emergency shutdown is triggered"),
    _app("BetfairAuthFailures", Unit.COUNT, Emitter.BOT, "1 per failed Betfair API login or expired session"),
    _app(
        "DatabaseConnectionErrors",
        Unit.COUNT,
        Emitter.EVERY_SERVICE,
        "1 per failed connection to the database (RDS Proxy)",
        per_service=True,
    ),
    _app("PredictionLatency", Unit.MILLISECONDS, Emitter.ML_SERVICE, "one data point per prediction request"),
    _app(
        "ModelAccuracy",
        Unit.PERCENT,
        Emitter.ML_SERVICE,
        "the deployed model's accuracy, 0-100; each evaluation",
    ),
    _app(
        "CacheHitRatio",
        Unit.PERCENT,
        Emitter.ML_SERVICE,
        "prediction cache hits over lookups, 0-100; every minute",
    ),
)


@dataclass(frozen=True)
class LogFilter:
    """A log metric filter on a service's log group: the runbook's "Common Log Queries"."""

    id: str
    metric: MetricSpec
    # CloudWatch Logs filter pattern, exactly as the runbook's `--filter-pattern`.
    pattern: str
    services: tuple[str, ...]
    # The saved Logs Insights query's filter on @message (a regular expression).
    insights_regex: str


def _logs(name: str, meaning: str) -> MetricSpec:
    # A metric filter's dimensions can only be fields of the log event ($.field), never a
    # literal: the environment and the service are in the namespace instead (logs_namespace).
    return MetricSpec(
        name, LOGS_NAMESPACE + "/{environment}/{service}", Unit.COUNT, (), Emitter.LOG_FILTER, meaning
    )


def logs_namespace(environment: str, service: str) -> str:
    """`CleverBetter/Logs/prod/bot`: where a service's log metrics land."""
    return f"{LOGS_NAMESPACE}/{environment}/{service}"


LOG_FILTERS = (
    LogFilter(
        "errors",
        _logs("ErrorLogLines", "1 per log line containing ERROR"),
        "ERROR",
        ("bot", "ml-service", "data-ingestion"),
        "ERROR",
    ),
    LogFilter(
        "bet-placements",
        _logs("BetPlacementsRecorded", 'log lines "Bet placement recorded"'),
        '"Bet placement recorded"',
        ("bot",),
        "Bet placement recorded",
    ),
    LogFilter(
        "circuit-breaker",
        _logs("CircuitBreakerEvents", 'log lines containing "circuit_breaker"'),
        '"circuit_breaker"',
        ("bot",),
        "circuit_breaker",
    ),
)

ERROR_LOG_LINES = LOG_FILTERS[0].metric

DRIFTED_STACKS = MetricSpec(
    "DriftedStacks",
    OPERATIONS_NAMESPACE,
    Unit.COUNT,
    (ENVIRONMENT,),
    Emitter.DRIFT_CHECK,
    "stacks of the environment whose drift status is DRIFTED; each daily check",
)
DRIFT_CHECK_FAILURES = MetricSpec(
    "DriftCheckFailures",
    OPERATIONS_NAMESPACE,
    Unit.COUNT,
    (ENVIRONMENT,),
    Emitter.DRIFT_CHECK,
    "stacks of the environment whose drift the daily check could not determine (not deployed, "
    "detection refused or failed, unfinished in the check's time); each daily check",
)

DB_MAINTENANCE_SECONDS = MetricSpec(
    "DatabaseMaintenanceSeconds",
    OPERATIONS_NAMESPACE,
    Unit.SECONDS,
    (ENVIRONMENT,),
    Emitter.DB_MAINTENANCE,
    "the seconds VACUUM (ANALYZE) took over the application's databases; each run that completes",
)
DB_MAINTENANCE_FAILURES = MetricSpec(
    "DatabaseMaintenanceFailures",
    OPERATIONS_NAMESPACE,
    Unit.COUNT,
    (ENVIRONMENT,),
    Emitter.DB_MAINTENANCE,
    "1 when a run could not vacuum a database (it also fails the invocation), else 0; each run",
)

# Scheduled training's outcomes, from each training task's exit code (lambdas/training).
TRAINING_FAILED = MetricSpec(
    "TrainingRunFailed",
    OPERATIONS_NAMESPACE,
    Unit.COUNT,
    (ENVIRONMENT,),
    Emitter.TRAINING,
    "1 for a run that failed (a non-zero exit, never started, stopped at its time limit, a start "
    "ECS refused), 0 for one that exited 0; each run, at the task's stop. Sum: failures; "
    "SampleCount: runs; 100 x (1 - Average): success rate",
)
TRAINING_FAILURE_STREAK = MetricSpec(
    "TrainingFailureStreak",
    OPERATIONS_NAMESPACE,
    Unit.COUNT,
    (ENVIRONMENT,),
    Emitter.TRAINING,
    "failed runs in a row up to and including this one (0 after a success); each run",
)
TRAINING_SECONDS = MetricSpec(
    "TrainingRunSeconds",
    OPERATIONS_NAMESPACE,
    Unit.SECONDS,
    (ENVIRONMENT,),
    Emitter.TRAINING,
    "from the training task's start to its stop; each run that started",
)
TRAINING_SKIPPED = MetricSpec(
    "TrainingRunSkipped",
    OPERATIONS_NAMESPACE,
    Unit.COUNT,
    (ENVIRONMENT,),
    Emitter.TRAINING,
    "1 when a start found the previous run still going, or came over an hour late, and started "
    "none; each such start",
)
TRAINING_METRICS = (TRAINING_FAILED, TRAINING_FAILURE_STREAK, TRAINING_SECONDS, TRAINING_SKIPPED)

CONTRACT = (
    *APPLICATION_METRICS,
    *(f.metric for f in LOG_FILTERS),
    DRIFTED_STACKS,
    DRIFT_CHECK_FAILURES,
    DB_MAINTENANCE_SECONDS,
    DB_MAINTENANCE_FAILURES,
    *TRAINING_METRICS,
)
BY_NAME = {metric.name: metric for metric in CONTRACT}
assert len(BY_NAME) == len(CONTRACT), "metric names are unique"


def emf_example(metric: MetricSpec, environment: str, service: str) -> str:
    """One EMF line that publishes `metric` with exactly its dimension set."""
    values = {ENVIRONMENT: environment, SERVICE: service}
    dims = ", ".join(f'"{d}"' for d in metric.dimensions)
    fields = ", ".join(f'"{d}": "{values[d]}"' for d in metric.dimensions)
    return (
        '{"_aws": {"Timestamp": 1767225600000, "CloudWatchMetrics": [{"Namespace": '
        f'"{metric.namespace}", "Dimensions": [[{dims}]], "Metrics": [{{"Name": "{metric.name}", '
        f'"Unit": "{metric.unit.value}"}}]}}]}}, {fields}, "{metric.name}": 1}}'
    )
