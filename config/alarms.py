"""The alarm catalogue: the one source of every alarm (runbook, "Alert Thresholds and Escalation").

Pure Python (no aws-cdk import): the monitoring unit builds each alarm from its row, and the
docs generator writes docs/ALARMS.md from the same rows. Thresholds come from the environment's
`monitoring` configuration wherever the runbook gives a number.

A dimension value in `{braces}` is filled in by the monitoring construct from what it is given:
`{environment}` (the name token), `{cluster}`, `{db_instance}`, `{backup_vault}`, and the load
balancers' and target groups' full names (`{public_lb}`, `{public_blue}`, `{public_green}`,
`{internal_lb}`, `{internal_blue}`, `{internal_green}`) and the Route 53 health check's id
(`{health_check}`), which only CloudFormation knows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from config import metrics
from config.model import EnvironmentConfig, Severity
from config.names import DB_ROTATIONS, MLFLOW, PROJECT, SECURITY_NAMESPACE
from config.services import SPECS, Exposure

GIB = 1024**3
# CloudWatch's comparison operators, by the sign the docs show.
ABOVE = "GreaterThanThreshold"
AT_LEAST = "GreaterThanOrEqualToThreshold"
BELOW = "LessThanThreshold"
SIGNS = {ABOVE: ">", AT_LEAST: ">=", BELOW: "<"}
# The blue/green deployment alarms (components/services/deployment.py) join the catalogue here:
# ECS rolls the release back on them, and someone should know why within 15 minutes.
DEPLOYMENT_ALARM_SEVERITY: Severity = "P1"
# Every dead-letter queue the stacks create, by purpose (names.dead_letter_queue), with the
# severity of its alarm; a test fails on a template whose dead-letter queue is missing here.
DRIFT_CHECK_DLQ = "drift-check"
# The alarm router's: what it could not deliver. Its alarm also emails on-call directly
# (names.oncall_topic), since the P1 topic's path runs through the router itself.
ALARM_ROUTER_DLQ = "alarm-router"
# The monthly database maintenance's: a run Scheduler could not start. P3, as a failed run is.
DB_MAINTENANCE_DLQ = "db-maintenance"
# The daily operations report's: a morning Scheduler could not start the report.
DAILY_REPORT_DLQ = "daily-report"
# Scheduled training's: a start (or a watchdog round) Scheduler could not make, and an outcome event
# EventBridge could not deliver. P2, as a failed run is.
TRAINING_DLQ = "training"
DEAD_LETTER_QUEUES: Mapping[str, Severity] = MappingProxyType(
    {
        DRIFT_CHECK_DLQ: "P1",
        ALARM_ROUTER_DLQ: "P1",
        DB_MAINTENANCE_DLQ: "P3",
        DAILY_REPORT_DLQ: "P3",
        TRAINING_DLQ: "P2",
    }
)
# The P0 alarms that also halt trading (the alerting unit's trading-halt function; runbook
# "Trading halt"): on ALARM only, beside their topic.
HALTS_TRADING: tuple[str, ...] = ("daily-loss", "emergency-shutdown")
# The P0/P1 alarms that also watch production's DR region (its monitoring stack in us-west-2):
# the services, the database they reach and the alarm router there. Not there: the Route 53
# health check (its metrics are in us-east-1 only), the backups, rotation and drift check (the
# primary runs them) and the trail's security metrics (the primary's audit stack).
DR_REGION_ALARMS: tuple[str, ...] = (
    "emergency-shutdown",
    "database-connection-failure",
    "daily-loss",
    "circuit-breaker-open",
    "bot-unhealthy",
    "ml-service-unhealthy",
    "data-ingestion-unhealthy",
    "error-rate",
    "api-latency",
    "bot-memory",
    "ml-service-memory",
    "data-ingestion-memory",
    "ml-service-unavailable",
    "betfair-auth-failure",
    "alarm-router-dlq",
)
# The DR region's one dashboard: every DR alarm's status opens it.
DR_DASHBOARD = "infrastructure"
# The runbook's response times per severity ("Alert Thresholds and Escalation").
RESPONSE = {"P0": "immediately", "P1": "within 15 minutes", "P2": "within 1 hour", "P3": "within 4 hours"}


@dataclass(frozen=True)
class Stat:
    """One metric as an alarm reads it."""

    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str  # Sum, Average, Minimum, Maximum or a percentile such as p95
    period_seconds: int


@dataclass(frozen=True)
class AlarmSpec:
    id: str
    severity: Severity
    # What fired, in the words of the runbook.
    title: str
    # One metric, or several combined by `expression` (metric math over their keys).
    metrics: Mapping[str, Stat]
    comparison: str
    threshold: float
    unit: str  # for people: "%", "ms", "USD", "tasks", ...
    evaluation_periods: int
    datapoints_to_alarm: int
    # What a period without data means: "notBreaching" for event counts that are zero when
    # nothing happens, "breaching" where silence is the failure.
    missing_data: str
    # The runbook section (docs/RUNBOOK.md heading) and the first thing to check.
    runbook_section: str
    first_check: str
    expression: str | None = None
    # The dashboard it belongs on (config/names.py `dashboard`).
    dashboard: str = "infrastructure"
    # Where the value comes from (a config field), for the docs.
    source: str = "runbook"
    # Also email on-call (names.oncall_topic), on a path that does not run through the router.
    email_oncall: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", MappingProxyType(dict(self.metrics)))
        if self.expression is None and len(self.metrics) != 1:
            raise ValueError(f"{self.id}: several metrics need an expression combining them")

    @property
    def window_minutes(self) -> int:
        return max(s.period_seconds for s in self.metrics.values()) * self.evaluation_periods // 60

    @property
    def disarmed_in_dr(self) -> bool:
        """In the DR region, whether its actions wait for `make dr-failover`: silence is its
        failure, and the pilot light is silent (no tasks, no targets) until a failover."""
        return self.missing_data == "breaching"

    def condition(self) -> str:
        """`error rate > 5 % for 3 of 3 periods of 5 minutes`."""
        period = max(s.period_seconds for s in self.metrics.values()) // 60
        periods = f"{self.datapoints_to_alarm} of {self.evaluation_periods} periods of {period} min"
        return f"{SIGNS[self.comparison]} {self.threshold:g} {self.unit} ({periods})"


def _app(name: str, statistic: str, period: int = 60, *, service: str | None = None) -> Stat:
    spec = metrics.BY_NAME[name]
    dims = [(metrics.ENVIRONMENT, "{environment}")]
    if metrics.SERVICE in spec.dimensions:
        assert service is not None, name
        dims.append((metrics.SERVICE, service))
    return Stat(spec.namespace, spec.name, tuple(dims), statistic, period)


def _ecs(name: str, service: str, statistic: str, namespace: str = "AWS/ECS") -> Stat:
    return Stat(namespace, name, (("ClusterName", "{cluster}"), ("ServiceName", service)), statistic, 60)


def _lambda_errors(function: str, period: int) -> Stat:
    return Stat("AWS/Lambda", "Errors", (("FunctionName", function),), "Sum", period)


def _alb(name: str, edge: str, statistic: str, period: int = 300, target_group: str | None = None) -> Stat:
    dims = [("LoadBalancer", "{" + edge + "_lb}")]
    if target_group:
        dims.insert(0, ("TargetGroup", "{" + edge + "_" + target_group + "}"))
    return Stat("AWS/ApplicationELB", name, tuple(dims), statistic, period)


def _error_rate(edge: str) -> tuple[dict[str, Stat], str]:
    """Target and load-balancer 5xx over requests, in percent (no requests: 0)."""
    return (
        {
            "target5xx": _alb("HTTPCode_Target_5XX_Count", edge, "Sum"),
            "elb5xx": _alb("HTTPCode_ELB_5XX_Count", edge, "Sum"),
            "requests": _alb("RequestCount", edge, "Sum"),
        },
        "IF(requests > 0, 100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests, 0)",
    )


def _backup_jobs_failed(
    alarm_id: str, title: str, metric: str, first_check: str, *, source: str = "runbook"
) -> AlarmSpec:
    """P1 on any failed AWS Backup job of the vault in an hour (its metrics exist only when nonzero)."""
    return AlarmSpec(
        alarm_id,
        "P1",
        title,
        {"m": Stat("AWS/Backup", metric, (("BackupVaultName", "{backup_vault}"),), "Sum", 3600)},
        AT_LEAST,
        1,
        "jobs",
        1,
        1,
        "notBreaching",
        "Backup and recovery",
        first_check,
        source=source,
    )


def catalogue(cfg: EnvironmentConfig) -> tuple[AlarmSpec, ...]:
    """Every alarm of the environment, P0 first."""
    m = cfg.monitoring
    rows: list[AlarmSpec] = []
    balanced = [s for s in SPECS.values() if s.exposure is not Exposure.NONE]
    edge_of = {s.name: ("public" if s.exposure is Exposure.PUBLIC else "internal") for s in balanced}

    # --- P0 -------------------------------------------------------------------------------
    rows.append(
        AlarmSpec(
            "emergency-shutdown",
            "P0",
            "Emergency shutdown triggered",
            {"m": _app("EmergencyShutdown", "Sum")},
            AT_LEAST,
            1,
            "shutdowns",
            1,
            1,
            "notBreaching",
            "Incident response",
            "the bot's log for the shutdown's reason; do not restart before it is understood",
            dashboard="main",
        )
    )
    rows.append(
        AlarmSpec(
            "database-connection-failure",
            "P0",
            "Database connection failure",
            {
                key: _app("DatabaseConnectionErrors", "Sum", service=s)
                for key, s in (("bot", "bot"), ("ml", "ml-service"), ("ingest", "data-ingestion"))
            },
            AT_LEAST,
            1,
            "errors/min",
            3,
            3,
            "notBreaching",
            "Database performance degradation",
            "RDS Proxy target health and the instance's status (aws rds describe-db-proxy-targets)",
            expression="FILL(bot, 0) + FILL(ml, 0) + FILL(ingest, 0)",
        )
    )
    rows.append(
        AlarmSpec(
            "daily-loss",
            "P0",
            f"Daily loss above ${m.daily_loss_usd:g}",
            {"m": _app("DailyPnL", "Minimum")},
            BELOW,
            -m.daily_loss_usd,
            "USD",
            1,
            1,
            "notBreaching",
            "Trading halt",
            "trading is halted: open positions and exposure, then make resume-trading after review",
            dashboard="main",
            source="monitoring.daily_loss_usd",
        )
    )
    rows.append(
        AlarmSpec(
            "circuit-breaker-open",
            "P0",
            f"Circuit breaker open for more than {m.circuit_breaker_open_minutes} minutes",
            {"m": _app("CircuitBreakerOpen", "Minimum")},
            AT_LEAST,
            1,
            "open",
            m.circuit_breaker_open_minutes,
            m.circuit_breaker_open_minutes,
            "notBreaching",
            "Trading bot not placing bets",
            "why it tripped: aws logs filter-log-events --filter-pattern '\"circuit_breaker\"'",
            dashboard="main",
            source="monitoring.circuit_breaker_open_minutes",
        )
    )
    for service in SPECS.values():
        if service.name in edge_of:
            edge = edge_of[service.name]
            spec = AlarmSpec(
                f"{service.name}-unhealthy",
                "P0",
                f"All {service.name} tasks unhealthy",
                {
                    "blue": _alb("HealthyHostCount", edge, "Minimum", 60, "blue"),
                    "green": _alb("HealthyHostCount", edge, "Minimum", 60, "green"),
                },
                BELOW,
                1,
                "healthy targets",
                3,
                3,
                "breaching",
                "Incident response",
                "stopped tasks' reasons: aws ecs describe-tasks; the target groups' health checks",
                expression="FILL(blue, 0) + FILL(green, 0)",
            )
        else:
            spec = AlarmSpec(
                f"{service.name}-unhealthy",
                "P0",
                f"No {service.name} task running",
                {"m": _ecs("RunningTaskCount", service.name, "Minimum", "ECS/ContainerInsights")},
                BELOW,
                1,
                "tasks",
                3,
                3,
                "breaching",
                "Incident response",
                "stopped tasks' reasons: aws ecs describe-tasks",
            )
        rows.append(spec)

    # The primary's public load balancer as Route 53's checkers see it from several regions: the
    # whole primary region gone is this alarm (components/edge/dns.py; the metric is in us-east-1
    # only). It checks the load balancer, not the API name, which may fail over to the DR region.
    rows.append(
        AlarmSpec(
            "primary-unreachable",
            "P0",
            f"Load balancer {cfg.names.public_load_balancer}: {cfg.deployment.smoke_checks[0].path} "
            "fails Route 53's health check",
            {
                "m": Stat(
                    "AWS/Route53", "HealthCheckStatus", (("HealthCheckId", "{health_check}"),), "Minimum", 60
                )
            },
            BELOW,
            1,
            "healthy",
            2,
            2,
            # A health check that stops reporting is not evidence of an outage; the other P0s are.
            "missing",
            "Disaster recovery",
            "whether us-east-1 is down (AWS Health Dashboard) or only the service; "
            "if the region is, make dr-failover",
        )
    )

    # --- error rate, latency, memory, CPU by severity -----------------------------------------
    error_metrics, error_expression = _error_rate("public")
    for severity, threshold in m.error_rate_percent.by_severity().items():
        rows.append(
            AlarmSpec(
                "error-rate",
                severity,
                f"API error rate above {threshold:g}%",
                error_metrics,
                ABOVE,
                threshold,
                "%",
                3,
                3,
                "notBreaching",
                "Incident response",
                f"ERROR lines (saved query {cfg.names.saved_query('errors')}) and recent deploys",
                expression=error_expression,
                source="monitoring.error_rate_percent",
            )
        )
    for severity, threshold in m.api_latency_p95_ms.by_severity().items():
        rows.append(
            AlarmSpec(
                "api-latency",
                severity,
                f"API latency p95 above {threshold:g} ms",
                {"m": _alb("TargetResponseTime", "public", "p95")},
                ABOVE,
                threshold / 1000,
                "s",
                3,
                3,
                "notBreaching",
                "Incident response",
                "database CPU and connections, then the services' CPU",
                source="monitoring.api_latency_p95_ms",
            )
        )
    for name in SPECS:
        for severity, threshold in m.memory_percent.by_severity().items():
            rows.append(
                AlarmSpec(
                    f"{name}-memory",
                    severity,
                    f"{name} memory above {threshold:g}%",
                    {"m": _ecs("MemoryUtilization", name, "Maximum")},
                    ABOVE,
                    threshold,
                    "%",
                    5,
                    5,
                    "notBreaching",
                    "High memory or CPU",
                    "the service's tasks for a leak; restart or scale",
                    source="monitoring.memory_percent",
                )
            )
        for severity, threshold in m.cpu_percent.by_severity().items():
            rows.append(
                AlarmSpec(
                    f"{name}-cpu",
                    severity,
                    f"{name} CPU above {threshold:g}%",
                    {"m": _ecs("CPUUtilization", name, "Average")},
                    ABOVE,
                    threshold,
                    "%",
                    5,
                    5,
                    "notBreaching",
                    "High memory or CPU",
                    "race-day load (40-65% is normal then) or a runaway task",
                    source="monitoring.cpu_percent",
                )
            )

    # --- P1 -------------------------------------------------------------------------------
    ml_error_metrics, ml_error_expression = _error_rate("internal")
    rows.append(
        AlarmSpec(
            "ml-service-unavailable",
            "P1",
            "ML service unavailable",
            ml_error_metrics,
            ABOVE,
            50,
            "% of requests fail",
            5,
            5,
            "notBreaching",
            "ML service prediction failures",
            "ml-service target health and its log; the bot trades without predictions",
            expression=ml_error_expression,
            dashboard="ml-service",
        )
    )
    rows.append(
        AlarmSpec(
            "betfair-auth-failure",
            "P1",
            "Betfair API authentication failure",
            {"m": _app("BetfairAuthFailures", "Sum", 300)},
            AT_LEAST,
            1,
            "failures",
            1,
            1,
            "notBreaching",
            "Betfair API connectivity issues",
            "the Betfair key's rotation state and expiry (make betfair-key-store)",
            dashboard="main",
        )
    )
    rotations = {user: _lambda_errors(cfg.names.db_rotation_function(user), 3600) for user in DB_ROTATIONS}
    rows.append(
        AlarmSpec(
            "secret-rotation-failed",
            "P1",
            "A database secret's rotation failed",
            rotations,
            AT_LEAST,
            1,
            "failed steps",
            # Stays in ALARM for a day (1 of 24 hourly periods): the page must not resolve itself
            # before someone has looked, as the secret is still unrotated.
            24,
            1,
            "notBreaching",
            "Credentials and secrets",
            "the rotation function's log (/aws/lambda/"
            f"{cfg.names.db_rotation_function('*')}); aws secretsmanager describe-secret",
            expression=" + ".join(f"FILL({user}, 0)" for user in DB_ROTATIONS),
        )
    )
    for purpose, severity in DEAD_LETTER_QUEUES.items():
        rows.append(
            AlarmSpec(
                f"{purpose}-dlq",
                severity,
                f"Dead-letter queue {cfg.names.dead_letter_queue(purpose)} not empty",
                {
                    "m": Stat(
                        "AWS/SQS",
                        "ApproximateNumberOfMessagesVisible",
                        (("QueueName", cfg.names.dead_letter_queue(purpose)),),
                        "Maximum",
                        60,
                    )
                },
                ABOVE,
                0,
                "messages",
                1,
                1,
                # SQS publishes nothing for a queue idle for six hours: silence is empty.
                "notBreaching",
                "Monitoring and alerting",
                "the messages (aws sqs receive-message), each an event that failed after its retries; "
                "fix the cause, then purge the queue",
                email_oncall=purpose == ALARM_ROUTER_DLQ,
            )
        )
    rows.append(
        _backup_jobs_failed(
            "backup-job-failed",
            "AWS Backup job failed",
            "NumberOfBackupJobsFailed",
            "aws backup list-backup-jobs --by-state FAILED",
        )
    )
    if cfg.backup.restore_test_day is not None:
        # The weekly restore test (runbook: backup review and validation): a recovery point that
        # cannot be restored is a backup that does not exist.
        rows.append(
            _backup_jobs_failed(
                "restore-test-failed",
                "Weekly restore test of the database failed",
                "NumberOfRestoreJobsFailed",
                "aws backup list-restore-jobs --by-status FAILED (its StatusMessage says why)",
                source="backup.restore_test_day",
            )
        )
    rows.append(
        AlarmSpec(
            "no-recent-backup",
            "P1",
            f"No completed backup in {m.backup_max_age_hours} hours",
            {
                "m": Stat(
                    "AWS/Backup",
                    "NumberOfBackupJobsCompleted",
                    (("BackupVaultName", "{backup_vault}"),),
                    "Sum",
                    3600,
                )
            },
            BELOW,
            1,
            "jobs",
            m.backup_max_age_hours,
            m.backup_max_age_hours,
            "breaching",
            "Backup and recovery",
            "the backup plan's last jobs; make predeploy-check refuses to deploy meanwhile",
            source="monitoring.backup_max_age_hours",
        )
    )

    # --- P2 -------------------------------------------------------------------------------
    rows.append(
        AlarmSpec(
            "win-rate-low",
            "P2",
            f"Win rate below {m.win_rate_target_percent:g}% over the trading day",
            {"m": _app("WinRate", "Average", 86400)},
            BELOW,
            m.win_rate_target_percent,
            "%",
            1,
            1,
            "notBreaching",
            "Monitoring and alerting",
            "the strategies' recent results; pause the weakest",
            dashboard="main",
            source="monitoring.win_rate_target_percent",
        )
    )
    rows.append(
        AlarmSpec(
            "roi-low",
            "P2",
            f"ROI below {m.roi_target_percent:g}% over the trading day",
            {"m": _app("ROI", "Average", 86400)},
            BELOW,
            m.roi_target_percent,
            "%",
            1,
            1,
            "notBreaching",
            "Monitoring and alerting",
            "the strategies' recent results; pause the weakest",
            dashboard="main",
            source="monitoring.roi_target_percent",
        )
    )
    # RDS publishes free space, not the volume's size, so "used" can only be measured against
    # the storage provisioned at creation (database.allocated_storage_gib): the alarm is a floor
    # on free space, 20% of that size for 80% used. Storage autoscaling grows the volume once
    # under 10% is free, so after growth this still means "this little is left".
    provisioned = cfg.database.allocated_storage_gib
    for severity, threshold in m.database_storage_percent.by_severity().items():
        floor = provisioned * (100 - threshold) / 100
        rows.append(
            AlarmSpec(
                "database-storage",
                severity,
                f"Database storage above {threshold:g}% used: under {floor:g} GiB free",
                {
                    "free": Stat(
                        "AWS/RDS",
                        "FreeStorageSpace",
                        (("DBInstanceIdentifier", "{db_instance}"),),
                        "Minimum",
                        300,
                    )
                },
                BELOW,
                floor,
                f"GiB free ({100 - threshold:g}% of the {provisioned} GiB provisioned)",
                3,
                3,
                "notBreaching",
                "Database performance degradation",
                "what grew (table sizes); storage autoscales up to database.max_allocated_storage_gib "
                f"({cfg.database.max_allocated_storage_gib} GiB)",
                expression=f"free / {GIB}",
                source="monitoring.database_storage_percent",
            )
        )
    for severity, threshold in m.cache_hit_percent.by_severity().items():
        rows.append(
            AlarmSpec(
                "cache-hit",
                severity,
                f"Cache hit ratio below {threshold:g}%",
                {"m": _app("CacheHitRatio", "Average", 300)},
                BELOW,
                threshold,
                "%",
                3,
                3,
                "notBreaching",
                "ML service prediction failures",
                "ml-service's cache size and recent model changes",
                dashboard="ml-service",
                source="monitoring.cache_hit_percent",
            )
        )
    for severity, threshold in m.prediction_latency_p95_ms.by_severity().items():
        rows.append(
            AlarmSpec(
                "prediction-latency",
                severity,
                f"ML prediction latency p95 above {threshold:g} ms",
                {"m": _app("PredictionLatency", "p95", 300)},
                ABOVE,
                threshold,
                "ms",
                3,
                3,
                "notBreaching",
                "ML service prediction failures",
                "ml-service CPU and its scaling (50-150 ms is normal)",
                dashboard="ml-service",
                source="monitoring.prediction_latency_p95_ms",
            )
        )
    drift = metrics.DRIFTED_STACKS
    rows.append(
        AlarmSpec(
            "configuration-drift",
            "P3",
            "Configuration drift detected",
            {
                "m": Stat(
                    drift.namespace, drift.name, ((metrics.ENVIRONMENT, "{environment}"),), "Maximum", 86400
                )
            },
            ABOVE,
            0,
            "stacks",
            1,
            1,
            "notBreaching",
            "Maintenance tasks",
            "make drift ENV=... names the drifted resources; redeploy or fold the change into code",
        )
    )
    failures = metrics.BY_NAME["DriftCheckFailures"]
    rows.append(
        AlarmSpec(
            "drift-check-failed",
            "P3",
            "Drift check could not check every stack",
            {
                "m": Stat(
                    failures.namespace,
                    failures.name,
                    ((metrics.ENVIRONMENT, "{environment}"),),
                    "Maximum",
                    86400,
                )
            },
            ABOVE,
            0,
            "stacks",
            1,
            1,
            "notBreaching",
            "Maintenance tasks",
            "the drift check's log (which stack, and the permission or error it names); make drift ENV=...",
        )
    )
    # A run that fails outright publishes nothing: after Lambda's retries it lands in the
    # drift check's dead-letter queue, whose P1 alarm (above) says so.
    maintenance, function = metrics.DB_MAINTENANCE_FAILURES, cfg.names.db_maintenance_function
    rows.append(
        AlarmSpec(
            "db-maintenance-failed",
            "P3",
            "Monthly database maintenance (VACUUM ANALYZE) failed",
            {
                "failed": Stat(
                    maintenance.namespace,
                    maintenance.name,
                    ((metrics.ENVIRONMENT, "{environment}"),),
                    "Maximum",
                    86400,
                ),
                # A run that times out or crashes publishes nothing of its own.
                "errors": Stat(
                    "AWS/Lambda",
                    "Errors",
                    (("FunctionName", cfg.names.db_maintenance_function),),
                    "Sum",
                    86400,
                ),
            },
            ABOVE,
            0,
            "failed runs",
            1,
            1,
            "notBreaching",
            "Maintenance tasks",
            f"the function's log (/aws/lambda/{function}); to run it again: make db-maintenance ENV=...",
            expression="FILL(failed, 0) + FILL(errors, 0)",
        )
    )
    report = cfg.names.daily_report_function
    rows.append(
        AlarmSpec(
            "daily-report-failed",
            "P3",
            "Daily operations report not posted",
            {"m": Stat("AWS/Lambda", "Errors", (("FunctionName", report),), "Sum", 86400)},
            ABOVE,
            0,
            "failed runs",
            1,
            1,
            "notBreaching",
            "Maintenance tasks",
            f"the function's log (/aws/lambda/{report}: no-slack-webhook, slack-undelivered); "
            "make daily-report ENV=... prints the report",
        )
    )
    rows += _training(cfg)
    rows.append(
        AlarmSpec(
            "mlflow-unavailable",
            "P2",
            "No MLflow tracking server task running",
            {"m": _ecs("RunningTaskCount", MLFLOW, "Minimum", "ECS/ContainerInsights")},
            BELOW,
            1,
            "tasks",
            # Tasks replaced one by one (a deployment, a rotated password) never leave none for 5 minutes.
            5,
            5,
            "breaching",
            "MLflow tracking server",
            f"the service's events and stopped tasks: aws ecs describe-services --cluster "
            f"{cfg.names.cluster} --services {MLFLOW}; its log {cfg.names.service_log_group(MLFLOW)}",
            dashboard="infrastructure",
        )
    )
    rows += _security(cfg)
    order = {"P0": 0, "P1": 1, "P2": 2, "P3": 3}
    result = tuple(sorted(rows, key=lambda r: order[r.severity]))
    keys = [(r.id, r.severity) for r in result]
    assert len(set(keys)) == len(keys), "an alarm id has one row per severity"
    return result


def _training(cfg: EnvironmentConfig) -> list[AlarmSpec]:
    """Scheduled training (lambdas/training): a failed run is P2, two in a row P1."""
    function, environment = cfg.names.training_function, ((metrics.ENVIRONMENT, "{environment}"),)
    failed, streak = metrics.TRAINING_FAILED, metrics.TRAINING_FAILURE_STREAK
    first_check = (
        f"the function's log (/aws/lambda/{function}: training-failed names the task, its exit "
        f"code and stop reason), then the task's in {cfg.names.service_log_group('ml-service')}; "
        "make train ENV=... starts a run"
    )
    return [
        AlarmSpec(
            "training-failed",
            "P2",
            "Scheduled training failed",
            {
                "failed": Stat(failed.namespace, failed.name, environment, "Maximum", 3600),
                # The function failing (it cannot start or record a run) is a failed run too.
                "errors": Stat("AWS/Lambda", "Errors", (("FunctionName", function),), "Sum", 3600),
            },
            ABOVE,
            0,
            "failed runs",
            # A day of hours: an outcome delivered late (stamped at the task's stop) still fires
            # it, and it stays for the day after a failure.
            24,
            1,
            "notBreaching",
            "Scheduled training",
            first_check,
            expression="FILL(failed, 0) + FILL(errors, 0)",
            dashboard="ml-service",
        ),
        AlarmSpec(
            "training-failed-twice",
            "P1",
            "Scheduled training failed twice in a row",
            {"m": Stat(streak.namespace, streak.name, environment, "Maximum", 3600)},
            AT_LEAST,
            2,
            "failed runs in a row",
            24,
            1,
            "notBreaching",
            "Scheduled training",
            first_check,
            dashboard="ml-service",
        ),
    ]


def dr_catalogue(cfg: EnvironmentConfig) -> tuple[AlarmSpec, ...]:
    """The rows production's DR region also alarms on: its P0 and P1 of DR_REGION_ALARMS, each on
    the one dashboard the DR region has (so its description links one that exists)."""
    return tuple(
        replace(spec, dashboard=DR_DASHBOARD)
        for spec in catalogue(cfg)
        if spec.severity in ("P0", "P1") and spec.id in DR_REGION_ALARMS
    )


def dr_disarmed_alarms(cfg: EnvironmentConfig) -> tuple[str, ...]:
    """The names of the DR region's alarms that wait disarmed for a failover (make dr-failover
    arms them, make dr-failback disarms them)."""
    return tuple(cfg.names.alarm(s.id, s.severity) for s in dr_catalogue(cfg) if s.disarmed_in_dr)


# --- security (the audit trail's metric filters: components/security/baseline.py) -----------

# Account-wide alarms live in the environment that owns the account's baseline (one set per
# account): (id, severity, title, metric, threshold in 5 minutes, first check).
ACCOUNT_SECURITY_ALARMS: tuple[tuple[str, Severity, str, str, float, str], ...] = (
    ("root-account-used", "P1", "Root account used", "RootAccountUse", 1,
     "who signed in as root and from where (the trail's userIdentity and sourceIPAddress); rotate its MFA"),
    ("kms-key-disabled", "P1", "KMS key disabled or scheduled for deletion",
     "KmsKeyDisabledOrScheduledForDeletion", 1,
     "which key (requestParameters.keyId) and who; aws kms cancel-key-deletion / enable-key"),
    ("trail-changed", "P1", "Audit trail changed or stopped", "TrailChanges", 1,
     "aws cloudtrail get-trail-status --name clever-better-audit; who called StopLogging/UpdateTrail"),
    ("console-sign-in-failures", "P2", "Console sign-in failures", "ConsoleSignInFailures", 3,
     "the trail's ConsoleLogin events: which user, from which address"),
    ("unauthorized-api-calls", "P2", "Unauthorized API calls", "UnauthorizedApiCalls", 10,
     "the Logs Insights query on the audit group for errorCode AccessDenied: which principal"),
    ("iam-policy-changed", "P3", "IAM policy changed", "IamPolicyChanges", 1,
     "whether a deploy (the CloudFormation execution role) made it; anything else is a person"),
    ("security-group-changed", "P3", "Security group changed", "SecurityGroupChanges", 1,
     "whether a deploy made it; make drift ENV=... shows a change by hand"),
    ("network-acl-changed", "P3", "Network ACL changed", "NetworkAclChanges", 1,
     "whether a deploy made it; make drift ENV=... shows a change by hand"),
)  # fmt: skip
SECURITY_SECTION = "Security incidents"


def _security_alarm(
    alarm_id: str, severity: Severity, title: str, stat: Stat, threshold: float, first_check: str
) -> AlarmSpec:
    return AlarmSpec(
        alarm_id,
        severity,
        title,
        {"m": stat},
        AT_LEAST,
        threshold,
        "events",
        1,
        1,
        "notBreaching",
        SECURITY_SECTION,
        first_check,
        dashboard="security",
        source="security (CIS AWS Foundations Benchmark)",
    )


def _security(cfg: EnvironmentConfig) -> list[AlarmSpec]:
    names = cfg.names
    admin_role = names.operator_role_arn("AdminRole", cfg.account)
    rows = [
        # Every environment watches its own break-glass role.
        _security_alarm(
            "admin-role-assumed",
            "P1",
            "Break-glass AdminRole assumed",
            Stat(SECURITY_NAMESPACE, "AdminRoleAssumed", (("RoleArn", admin_role),), "Sum", 300),
            1,
            f"who assumed {names.operator_role('AdminRole')} and why (the trail's AssumeRole event); "
            "someone is using emergency access",
        )
    ]
    if cfg.security.account_baseline:
        rows += [
            _security_alarm(a, sev, title, Stat(SECURITY_NAMESPACE, metric, (), "Sum", 300), threshold, first)
            for a, sev, title, metric, threshold, first in ACCOUNT_SECURITY_ALARMS
        ]
    return rows


# GuardDuty's severity bands (GuardDuty user guide, "Severity levels of GuardDuty findings"):
# low 1.0-3.9, medium 4.0-6.9, high 7.0-8.9 and critical 9.0-10.0, as (from, below) -> topic.
GUARDDUTY_SEVERITIES: dict[Severity, tuple[float | None, float | None]] = {
    "P0": (7, None),
    "P2": (4, 7),
    "P3": (None, 4),
}


def security_event_rules(cfg: EnvironmentConfig) -> dict[str, Severity]:
    """The audit stack's EventBridge rule names -> the severity topic each publishes to; the
    monitoring stack's topics admit exactly these (owner of the account baseline only)."""
    if not cfg.security.account_baseline:
        return {}
    rules: dict[str, Severity] = {f"{PROJECT}-guardduty-{s.lower()}": s for s in GUARDDUTY_SEVERITIES}
    rules[f"{PROJECT}-config-noncompliant"] = "P3"
    return rules
