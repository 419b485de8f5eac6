"""The daily operations report (issue 17): what the runbook's "Daily Tasks" ask an operator to look
at, read from AWS in one pass. The scheduled function (handler.py) posts it to Slack; `make
daily-report ENV=...` (ops/report.py) prints the same report in a terminal.

* Trading, for the last trading day (yesterday, 00:00-24:00 UTC: DailyPnL restarts at midnight):
  the day's final P&L, win rate and ROI (the last value the bot published), bets placed.
* Services, for the last 24 hours: ERROR log lines per service (the log metric filters), and
  now: each service's running, desired and pending tasks and its tasks ECS reports UNHEALTHY.
* Database, for the last 24 hours: CPU (peak and mean), peak connections, lowest free storage.
* Alarms of the environment in ALARM now, oldest first, with when each fired.
* Backups: AWS Backup jobs of the environment's vault created in the last 24 hours by state, and
  the database's latest restorable time (point-in-time recovery: the RPO).

A metric with no data point (a fresh environment, a service that has not logged an error) reads
"no data", never an error. A section AWS refuses (a missing cluster, a denied call) reads
"unavailable" with the error code, and the rest of the report still stands. Reads only; standard
library and the clients it is given (boto3's, or the emulator's).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

NO_DATA = "no data"
DAY = timedelta(days=1)
GIB = 1024**3
# A metric published every minute: its day's last value is the last one-minute bucket (a longer
# period would average the day's last minutes). 1,440 points a query; GetMetricData returns up to
# 100,800 per call, and keeps one-minute data for 15 days.
LAST_VALUE_PERIOD = 60
# Slack: a section block's text is at most 3,000 characters; messages well under the documented
# 40,000 have been refused as msg_blocks_too_long (slackapi/bolt-js#2509), so the whole report
# keeps under MESSAGE_LIMIT and says what it left out.
BLOCK_LIMIT = 3000
MESSAGE_LIMIT = 12000
ECS_BATCH = 10  # DescribeServices takes 10 services, DescribeTasks 100 tasks
TASK_BATCH = 100
SEVERITIES = ("P0", "P1", "P2", "P3")
# What a backup job's state counts as (AWS Backup API, BackupJob.State).
FAILED_JOBS = ("FAILED", "ABORTED", "EXPIRED", "PARTIAL")


@dataclass(frozen=True)
class Settings:
    """Where the environment's resources are: the names config/names.py gives them."""

    environment: str  # the name token: prod
    cluster: str
    services: tuple[str, ...]
    db_instance: str
    backup_vault: str
    alarm_prefix: str  # clever-better-prod-
    app_namespace: str  # the bots' metrics (config/metrics.py)
    errors_metric: str
    errors_namespace: str  # with {service}: CleverBetter/Logs/prod/{service}

    VARIABLES = (
        "ENVIRONMENT",
        "CLUSTER",
        "SERVICES",
        "DB_INSTANCE",
        "BACKUP_VAULT",
        "ALARM_PREFIX",
        "APP_NAMESPACE",
        "ERRORS_METRIC",
        "ERRORS_NAMESPACE",
    )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        missing = [name for name in cls.VARIABLES if not environ.get(name)]
        if missing:
            raise RuntimeError(f"environment variables not set: {', '.join(missing)}")
        return cls(
            environment=environ["ENVIRONMENT"],
            cluster=environ["CLUSTER"],
            services=tuple(s for s in environ["SERVICES"].split(",") if s),
            db_instance=environ["DB_INSTANCE"],
            backup_vault=environ["BACKUP_VAULT"],
            alarm_prefix=environ["ALARM_PREFIX"],
            app_namespace=environ["APP_NAMESPACE"],
            errors_metric=environ["ERRORS_METRIC"],
            errors_namespace=environ["ERRORS_NAMESPACE"],
        )


@dataclass
class Section:
    title: str
    lines: list[str] = field(default_factory=list)
    # Why AWS would not say (an error code), when it would not.
    unavailable: str | None = None


@dataclass
class Report:
    environment: str
    at: datetime
    trading_day: str
    sections: list[Section]

    @property
    def unavailable(self) -> list[str]:
        return [f"{s.title}: {s.unavailable}" for s in self.sections if s.unavailable]

    def text(self) -> str:
        """The report as plain text, for a terminal."""
        out = [f"Daily operations report: {self.environment}, {self.at:%Y-%m-%d %H:%M} UTC"]
        for section in self.sections:
            out.append("")
            out.append(section.title)
            if section.unavailable:
                out.append(f"  unavailable: {section.unavailable}")
            out += [f"  {line}" for line in section.lines]
        return "\n".join(out)

    def slack(self) -> dict[str, Any]:
        """One Slack message (incoming webhook): the same lines, a section's lines in blocks cut at
        line boundaries; past MESSAGE_LIMIT the rest is counted, not sent."""
        title = self.text().splitlines()[0]
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}}
        ]
        budget = MESSAGE_LIMIT - len(title)
        for section in self.sections:
            lines = ([f"unavailable: {section.unavailable}"] if section.unavailable else []) + section.lines
            texts, text = [], f"*{_escape(section.title)}*"
            for index, line in enumerate(lines):
                bullet = f"• {_escape(line)}"[: BLOCK_LIMIT - 200]
                if len(bullet) + 1 > budget - len(text) - 100:
                    more = f"…and {len(lines) - index} more (make daily-report prints them all)"
                    if len(text) + 1 + len(more) > BLOCK_LIMIT:
                        texts.append(text)
                        budget -= len(text)
                        text = more
                    else:
                        text = f"{text}\n{more}"
                    break
                if len(text) + 1 + len(bullet) > BLOCK_LIMIT:
                    texts.append(text)
                    budget -= len(text)
                    text = ""
                text = f"{text}\n{bullet}" if text else bullet
            texts.append(text)
            budget -= len(text)
            blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": t}} for t in texts]
        return {"text": title, "blocks": blocks}


def _escape(text: str) -> str:
    """Slack's three control characters in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore ClientError, else the exception's type."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or type(error).__name__)
    return type(error).__name__


def _aws_errors() -> tuple[type[Exception], ...]:
    """botocore's client and connection errors, imported on first use (the handler starts without)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def _guarded(title: str, collect: Callable[[Section], None]) -> Section:
    """`collect`'s lines, or why AWS would not give them."""
    section = Section(title)
    try:
        collect(section)
    except _aws_errors() as error:
        section.unavailable = error_code(error)
    return section


def _pages(
    call: Callable[..., dict[str, Any]], params: Mapping[str, Any], token: str = "NextToken"
) -> Iterator[dict[str, Any]]:
    """Every page of a list call, following its `token` (ECS spells it nextToken)."""
    params = dict(params)
    while True:
        page = call(**params)
        yield page
        if not page.get(token):
            return
        params[token] = page[token]


# --- metrics ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    id: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str
    period: int

    def request(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "MetricStat": {
                "Metric": {
                    "Namespace": self.namespace,
                    "MetricName": self.metric,
                    "Dimensions": [{"Name": n, "Value": v} for n, v in self.dimensions],
                },
                "Period": self.period,
                "Stat": self.stat,
            },
            "ReturnData": True,
        }


def metric_data(
    cloudwatch: Any, queries: Iterable[Query], start: datetime, end: datetime
) -> dict[str, list[float]]:
    """Each query's values, newest first (GetMetricData, every page)."""
    values: dict[str, list[float]] = {}
    params = {
        "MetricDataQueries": [q.request() for q in queries],
        "StartTime": start,
        "EndTime": end,
        "ScanBy": "TimestampDescending",
    }
    for page in _pages(cloudwatch.get_metric_data, params):
        for result in page.get("MetricDataResults", []):
            values.setdefault(result["Id"], []).extend(float(v) for v in result.get("Values", []))
    return values


Pick = Callable[[list[float]], float]


def _newest(values: list[float]) -> float:
    return values[0]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _of(values: Mapping[str, list[float]], key: str, pick: Pick) -> float | None:
    """`pick` of a query's values; None when it has none."""
    found = values.get(key)
    return pick(found) if found else None


def _shown(value: float | None, form: Callable[[float], str]) -> str:
    return NO_DATA if value is None else form(value)


def _usd(value: float) -> str:
    return f"{'-' if value < 0 else '+'}${abs(value):,.2f}"


def trading(cloudwatch: Any, settings: Settings, day_start: datetime) -> Section:
    env = (("Environment", settings.environment),)
    queries = [
        Query("pnl", settings.app_namespace, "DailyPnL", env, "Average", LAST_VALUE_PERIOD),
        Query("winrate", settings.app_namespace, "WinRate", env, "Average", LAST_VALUE_PERIOD),
        Query("roi", settings.app_namespace, "ROI", env, "Average", LAST_VALUE_PERIOD),
        Query("bets", settings.app_namespace, "BetsPlaced", env, "Sum", 86400),
        Query("bankroll", settings.app_namespace, "Bankroll", env, "Average", LAST_VALUE_PERIOD),
    ]

    def collect(section: Section) -> None:
        values = metric_data(cloudwatch, queries, day_start, day_start + DAY)
        section.lines += [
            f"P&L: {_shown(_of(values, 'pnl', _newest), _usd)}",
            f"Win rate: {_shown(_of(values, 'winrate', _newest), lambda v: f'{v:.1f}%')} (target > 50%)",
            f"ROI: {_shown(_of(values, 'roi', _newest), lambda v: f'{v:.1f}%')} (target > 10%)",
            f"Bets placed: {_shown(_of(values, 'bets', sum), lambda v: f'{v:,.0f}')}",
            f"Bankroll at the day's end: {_shown(_of(values, 'bankroll', _newest), lambda v: f'${v:,.2f}')}",
        ]

    return _guarded(f"Trading on {day_start:%Y-%m-%d} (UTC day)", collect)


def health(cloudwatch: Any, settings: Settings, start: datetime, end: datetime) -> tuple[Section, Section]:
    """Error lines per service and the database's load, both from one GetMetricData call."""
    errors = [
        Query(
            f"errors{i}",
            settings.errors_namespace.format(service=service),
            settings.errors_metric,
            (),
            "Sum",
            86400,
        )
        for i, service in enumerate(settings.services)
    ]
    db = (("DBInstanceIdentifier", settings.db_instance),)
    database = [
        Query("cpumax", "AWS/RDS", "CPUUtilization", db, "Maximum", 86400),
        Query("cpuavg", "AWS/RDS", "CPUUtilization", db, "Average", 86400),
        Query("connections", "AWS/RDS", "DatabaseConnections", db, "Maximum", 86400),
        Query("storage", "AWS/RDS", "FreeStorageSpace", db, "Minimum", 86400),
    ]
    log_errors, load = (
        Section("ERROR log lines, last 24 h"),
        Section(f"Database {settings.db_instance}, last 24 h"),
    )
    try:
        found = metric_data(cloudwatch, [*errors, *database], start, end)
    except _aws_errors() as error:
        log_errors.unavailable = load.unavailable = error_code(error)
        return log_errors, load
    log_errors.lines = [
        f"{service}: {_shown(_of(found, query.id, sum), lambda v: f'{v:,.0f}')}"
        for query, service in zip(errors, settings.services, strict=True)
    ]
    load.lines = [
        f"CPU: peak {_shown(_of(found, 'cpumax', max), lambda v: f'{v:.0f}%')}, "
        f"mean {_shown(_of(found, 'cpuavg', _mean), lambda v: f'{v:.0f}%')}",
        f"Connections: peak {_shown(_of(found, 'connections', max), lambda v: f'{v:.0f}')}",
        "Free storage: lowest " + _shown(_of(found, "storage", min), lambda v: f"{v / GIB:,.1f} GiB"),
    ]
    return log_errors, load


# --- ECS, alarms, backups --------------------------------------------------------------------------


def _batches(items: list[str], size: int) -> Iterable[list[str]]:
    return (items[i : i + size] for i in range(0, len(items), size))


def tasks(ecs: Any, settings: Settings) -> Section:
    def collect(section: Section) -> None:
        described: dict[str, dict[str, Any]] = {}
        for batch in _batches(list(settings.services), ECS_BATCH):
            # A missing cluster is ClusterNotFoundException; a missing service, a failure entry.
            answer = ecs.describe_services(cluster=settings.cluster, services=batch)
            described.update({s["serviceName"]: s for s in answer.get("services", [])})
        for service in settings.services:
            found = described.get(service)
            if found is None or found.get("status") == "INACTIVE":
                section.lines.append(f"{service}: not found in {settings.cluster}  <- check")
                continue
            unhealthy = _unhealthy_tasks(ecs, settings.cluster, service)
            line = (
                f"{service}: {found.get('runningCount', 0)} running of {found.get('desiredCount', 0)} "
                f"desired, {found.get('pendingCount', 0)} pending, {unhealthy} unhealthy"
            )
            short = found.get("runningCount", 0) < found.get("desiredCount", 0)
            section.lines.append(line + ("  <- check" if unhealthy or short else ""))

    return _guarded(f"ECS tasks in {settings.cluster}, now", collect)


def _unhealthy_tasks(ecs: Any, cluster: str, service: str) -> int:
    params = {"cluster": cluster, "serviceName": service, "desiredStatus": "RUNNING"}
    arns = [arn for page in _pages(ecs.list_tasks, params, "nextToken") for arn in page.get("taskArns", [])]
    unhealthy = 0
    for batch in _batches(arns, TASK_BATCH):
        for task in ecs.describe_tasks(cluster=cluster, tasks=batch).get("tasks", []):
            unhealthy += task.get("healthStatus") == "UNHEALTHY"
    return unhealthy


def _severity(name: str) -> int:
    suffix = name.rsplit("-", 1)[-1]
    return SEVERITIES.index(suffix) if suffix in SEVERITIES else len(SEVERITIES)


def open_alarms(cloudwatch: Any, settings: Settings) -> Section:
    def collect(section: Section) -> None:
        params = {
            "AlarmNamePrefix": settings.alarm_prefix,
            "StateValue": "ALARM",
            "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],
        }
        found = [
            alarm
            for page in _pages(cloudwatch.describe_alarms, params)
            for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])
        ]
        # State filtered here too: the emulator's DescribeAlarms ignores StateValue beside a prefix.
        firing = sorted(
            (a for a in found if a.get("StateValue") == "ALARM"),
            key=lambda a: (_severity(a["AlarmName"]), _fired(a)),
        )
        section.lines += [f"{a['AlarmName']} since {_fired(a):%Y-%m-%d %H:%M} UTC" for a in firing] or [
            "none"
        ]

    return _guarded("Alarms in ALARM now", collect)


def _fired(alarm: Mapping[str, Any]) -> datetime:
    """When its state last changed (StateTransitionedTimestamp; StateUpdatedTimestamp also moves
    with its evaluation state), else its last update."""
    return _moment(alarm.get("StateTransitionedTimestamp") or alarm.get("StateUpdatedTimestamp"))


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return datetime.min.replace(tzinfo=UTC)


def backups(backup: Any, rds: Any, settings: Settings, start: datetime, now: datetime) -> Section:
    def collect(section: Section) -> None:
        params = {"ByBackupVaultName": settings.backup_vault, "ByCreatedAfter": start}
        states = Counter(
            job.get("State", "UNKNOWN")
            for page in _pages(backup.list_backup_jobs, params)
            for job in page.get("BackupJobs", [])
        )
        failed = sum(states.get(s, 0) for s in FAILED_JOBS)
        counts = ", ".join(f"{count} {state.lower()}" for state, count in sorted(states.items()))
        section.lines.append(
            f"Backup jobs in {settings.backup_vault}, last 24 h: {counts or 'none'}"
            + ("  <- check" if failed or not states.get("COMPLETED") else "")
        )

    def restorable(section: Section) -> None:
        (instance,) = rds.describe_db_instances(DBInstanceIdentifier=settings.db_instance)["DBInstances"]
        latest = instance.get("LatestRestorableTime")
        if latest is None:
            section.lines.append(f"Latest restorable time of {settings.db_instance}: {NO_DATA}")
            return
        # A clock a little ahead of ours is not a negative delay.
        lag = max(0, int((now - _moment(latest)).total_seconds() // 60))
        section.lines.append(
            f"Latest restorable time of {settings.db_instance}: {_moment(latest):%Y-%m-%d %H:%M} UTC "
            f"({lag} min ago; RPO 60 min)" + ("  <- check" if lag > 60 else "")
        )

    jobs = _guarded("Backups", collect)
    point = _guarded("Backups", restorable)
    # The restorable time has a line of its own whatever the jobs' part says.
    jobs.lines += point.lines or [
        f"Latest restorable time of {settings.db_instance}: unavailable ({point.unavailable})"
    ]
    return jobs


def collect(clients: Callable[[str], Any], settings: Settings, now: datetime) -> Report:
    """The report as of `now` (UTC): the trading day before `now`'s, the 24 hours up to `now`."""
    now = now.astimezone(UTC).replace(second=0, microsecond=0)
    today = now.replace(hour=0, minute=0)
    cloudwatch = clients("cloudwatch")
    log_errors, database = health(cloudwatch, settings, now - DAY, now)
    return Report(
        environment=settings.environment,
        at=now,
        trading_day=f"{today - DAY:%Y-%m-%d}",
        sections=[
            trading(cloudwatch, settings, today - DAY),
            open_alarms(cloudwatch, settings),
            tasks(clients("ecs"), settings),
            log_errors,
            database,
            backups(clients("backup"), clients("rds"), settings, now - DAY, now),
        ],
    )
