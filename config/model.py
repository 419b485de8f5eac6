"""Typed, frozen, validated configuration for one deployment environment.

Shaped like the runbook: a network, the database, its backups ("Backup and Recovery"),
credential rotation ("Access and Permissions"), the services and their blue/green deployment
("Deployment Procedures"), and the DR region. Each section validates its own fields beside
their definitions (``validate``); ``EnvironmentConfig`` runs them all and adds the checks that
span sections or that production's promises need. Every check raises ``ConfigError`` with one
line naming the environment, the field and what is allowed, so a bad value stops synth before
any construct is built. Nothing here reads context or the process environment: ``app.py`` does.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from types import MappingProxyType
from typing import Any, Literal

from config import schedules
from config.names import Names

ENVIRONMENTS = ("dev", "staging", "production")
# The runbook's resource names use `prod` for production (clever-better-prod).
TOKENS = {"dev": "dev", "staging": "staging", "production": "prod"}
SERVICES = ("bot", "ml-service", "data-ingestion")

# The only values CloudWatch Logs accepts for a log group's retention.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
LOG_RETENTION_ALLOWED = "expected a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, ... 3653 days)"
REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1",
    "eu-west-2", "eu-central-1",
)  # fmt: skip
# Fargate's valid (cpu units -> memory MiB range) pairs.
FARGATE_MEMORY = {
    256: (512, 2048),
    512: (1024, 4096),
    1024: (2048, 8192),
    2048: (4096, 16384),
    4096: (8192, 30720),
}
DB_INSTANCE_CLASS = re.compile(r"^(t4g|t3|m6g|m7g|r6g|r7g)\.(micro|small|medium|large|\d*xlarge)$")
# ECR's tag grammar; "latest" is refused because tags are immutable and name one release.
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# The tag synth, diff and the local emulator use when none is given (`-c image_tag=...`).
DEFAULT_IMAGE_TAG = "bootstrap"
HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
WEEKLY_WINDOW = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)$"
)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PI_RETENTION = (7, *range(31, 731, 31), 731)
MONITORING_INTERVALS = (1, 5, 10, 15, 30, 60)
DAY, WEEK = 24 * 60, 7 * 24 * 60
# The training watchdog's interval (components/services/training.py WATCH): a run outlives its
# limit by up to this much.
TRAINING_WATCH_MINUTES = 15
# RDS keeps automated backups for at most 35 days.
RDS_MAX_BACKUP_DAYS = 35
# Runbook promises production keeps: the daily backup's hour (UTC) and the longest period
# between rotations (admin and application database credentials, the Betfair key).
RUNBOOK_BACKUP_HOUR_UTC = 2
RUNBOOK_ROTATION_DAYS = {"admin_days": 30, "application_days": 90, "betfair_days": 180}


# Where a VPC's interface endpoints (ECR, Logs, Secrets Manager, SSM, KMS, STS, CloudWatch, ECS)
# sit. Each costs per AZ-hour, so this is the network's main fixed cost after NAT gateways:
# every-az: one per private subnet, each zone reaches AWS on its own;
# one-az: only in the first zone; the other zones cross to it (an outage there cuts them off);
# none: no interface endpoints; refused for every VPC of ours (_check_endpoints_reachable).
InterfaceEndpoints = Literal["every-az", "one-az", "none"]
INTERFACE_ENDPOINTS: tuple[InterfaceEndpoints, ...] = ("every-az", "one-az", "none")


class ConfigError(ValueError):
    """A configuration value is not allowed; the message is one line."""


@dataclass(frozen=True)
class Check:
    """Raises ConfigError for a failed check, naming the environment and the field's path:
    ``dev: network.nat_gateways = 4 is not allowed; expected 1 to the number of zones (2)``."""

    env: str
    path: str = ""

    def at(self, section: str) -> Check:
        return Check(self.env, f"{self.path}{section}.")

    def __call__(self, ok: bool, name: str, value: Any, allowed: str) -> None:
        if not ok:
            raise ConfigError(f"{self.env}: {self.path}{name} = {value!r} is not allowed; {allowed}")

    def within(self, name: str, value: int, low: int, high: int, why: str = "") -> None:
        self(low <= value <= high, name, value, f"expected {low} to {high}{why}")


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """One VPC. Subnet masks are fixed in the network construct (/24 public and isolated, /20 private).

    Zones by ID (use1-az1), not by name: us-east-1a is a different physical zone in every
    account, and some services avoid some physical zones (RDS Proxy: use1-az3).
    """

    vpc_cidr: str
    zone_ids: tuple[str, ...]
    nat_gateways: int
    flow_log_retention_days: int
    interface_endpoints: InterfaceEndpoints = "every-az"

    @property
    def az_count(self) -> int:
        return len(self.zone_ids)

    def validate(self, check: Check) -> None:
        try:
            cidr: ipaddress.IPv4Network | None = ipaddress.IPv4Network(self.vpc_cidr, strict=True)
        except ValueError:
            cidr = None
        check(
            cidr is not None,
            "vpc_cidr",
            self.vpc_cidr,
            "expected an IPv4 network such as 10.0.0.0/16 (host bits zero)",
        )
        assert cidr is not None
        check(
            cidr.is_private and 16 <= cidr.prefixlen <= 20,
            "vpc_cidr",
            self.vpc_cidr,
            "expected a private (RFC 1918) range from /16 to /20",
        )
        check(
            1 <= len(self.zone_ids) <= 3 and len(set(self.zone_ids)) == len(self.zone_ids),
            "zone_ids",
            self.zone_ids,
            "expected 1 to 3 different availability zone IDs",
        )
        check(
            1 <= self.nat_gateways <= self.az_count,
            "nat_gateways",
            self.nat_gateways,
            f"expected 1 to the number of zones ({self.az_count})",
        )
        check(
            self.flow_log_retention_days in LOG_RETENTION_DAYS,
            "flow_log_retention_days",
            self.flow_log_retention_days,
            LOG_RETENTION_ALLOWED,
        )
        check(
            self.interface_endpoints in INTERFACE_ENDPOINTS,
            "interface_endpoints",
            self.interface_endpoints,
            f"expected one of {', '.join(INTERFACE_ENDPOINTS)}",
        )


def check_fargate_size(check: Check, cpu_field: str, cpu: int, memory_field: str, memory_mib: int) -> None:
    """A Fargate task size: a CPU Fargate offers, and memory in its range for that CPU."""
    memory = FARGATE_MEMORY.get(cpu)
    check(memory is not None, cpu_field, cpu, f"expected one of {', '.join(map(str, FARGATE_MEMORY))}")
    assert memory is not None
    check(
        memory[0] <= memory_mib <= memory[1] and memory_mib % 512 == 0,
        memory_field,
        memory_mib,
        f"expected a multiple of 512 from {memory[0]} to {memory[1]} for cpu {cpu}",
    )


@dataclass(frozen=True, kw_only=True)
class ServiceSize:
    """Fargate task size and count for one service."""

    cpu: int
    memory_mib: int
    desired_count: int
    # Auto scaling's ceiling; None keeps the count fixed (the bot: one trader per account).
    max_count: int | None = None

    def validate(self, check: Check) -> None:
        check_fargate_size(check, "cpu", self.cpu, "memory_mib", self.memory_mib)
        check.within("desired_count", self.desired_count, 0, 20)
        check(
            self.max_count is None or max(1, self.desired_count) <= self.max_count <= 20,
            "max_count",
            self.max_count,
            f"expected None or desired_count ({self.desired_count}, at least 1) to 20",
        )


@dataclass(frozen=True, kw_only=True)
class DatabaseConfig:
    """RDS for PostgreSQL behind RDS Proxy. The maintenance window is UTC, in RDS's format."""

    instance_class: str
    allocated_storage_gib: int
    max_allocated_storage_gib: int
    # A standby in a second zone (production: required).
    multi_az: bool
    maintenance_window: str = "sun:04:00-sun:05:00"
    # Runbook incident "Database Connection Exhaustion": pooling and time-outs from day one.
    proxy_max_connections_percent: int = 90
    proxy_max_idle_connections_percent: int = 50
    statement_timeout_seconds: int = 60
    idle_in_transaction_timeout_seconds: int = 60
    idle_session_timeout_seconds: int = 3600
    slow_query_ms: int = 500
    performance_insights_retention_days: int = 7
    monitoring_interval_seconds: int = 60

    def validate(self, check: Check) -> None:
        check(
            DB_INSTANCE_CLASS.fullmatch(self.instance_class) is not None,
            "instance_class",
            self.instance_class,
            "expected a Graviton/burstable RDS class such as t4g.micro or r7g.large (without the db. prefix)",
        )
        check.within("allocated_storage_gib", self.allocated_storage_gib, 20, 65536)
        check(
            self.allocated_storage_gib < self.max_allocated_storage_gib <= 65536,
            "max_allocated_storage_gib",
            self.max_allocated_storage_gib,
            f"expected more than allocated_storage_gib ({self.allocated_storage_gib}) and at most 65536",
        )
        _, length = self.maintenance_minutes(check)
        check(
            length >= 30, "maintenance_window", self.maintenance_window, "expected at least 30 minutes (RDS)"
        )
        check.within(
            "proxy_max_connections_percent",
            self.proxy_max_connections_percent,
            1,
            100,
            " (percent of max_connections)",
        )
        check(
            0 <= self.proxy_max_idle_connections_percent <= self.proxy_max_connections_percent,
            "proxy_max_idle_connections_percent",
            self.proxy_max_idle_connections_percent,
            f"expected 0 to proxy_max_connections_percent ({self.proxy_max_connections_percent})",
        )
        for name in (
            "statement_timeout_seconds",
            "idle_in_transaction_timeout_seconds",
            "idle_session_timeout_seconds",
        ):
            check.within(name, getattr(self, name), 1, 86400, " seconds")
        check.within("slow_query_ms", self.slow_query_ms, 1, 60000)
        check(
            self.performance_insights_retention_days in PI_RETENTION,
            "performance_insights_retention_days",
            self.performance_insights_retention_days,
            "expected 7, a multiple of 31 up to 713, or 731",
        )
        check(
            self.monitoring_interval_seconds in MONITORING_INTERVALS,
            "monitoring_interval_seconds",
            self.monitoring_interval_seconds,
            "expected one of 1, 5, 10, 15, 30, 60",
        )

    def maintenance_minutes(self, check: Check) -> tuple[int, int]:
        """(start, length) of the weekly maintenance window in minutes from Monday 00:00 UTC."""
        weekly = WEEKLY_WINDOW.fullmatch(self.maintenance_window)
        check(
            weekly is not None,
            "maintenance_window",
            self.maintenance_window,
            "expected ddd:hh24:mi-ddd:hh24:mi in UTC, e.g. sun:04:00-sun:05:00",
        )
        assert weekly is not None
        start = DAYS.index(weekly[1]) * DAY + int(weekly[2]) * 60 + int(weekly[3])
        end = DAYS.index(weekly[4]) * DAY + int(weekly[5]) * 60 + int(weekly[6])
        return start, (end - start) % WEEK


@dataclass(frozen=True, kw_only=True)
class BackupConfig:
    """Runbook, Backup and Recovery: a daily backup at 02:00 UTC kept 30 days (production).

    One hour drives both lines of defence: RDS's automated-backup window starts at it, and
    AWS Backup's daily rule is scheduled at it (with a start window that waits RDS out).
    AWS Backup also takes hourly recovery points (the 1-hour RPO), kept a shorter time.
    """

    retention_days: int
    daily_hour_utc: int = 2
    hourly_retention_days: int = 2
    # AWS Backup Vault Lock (governance mode) on the vaults: no recovery point is deleted
    # before it is this many days old. Production only; None: no lock.
    vault_lock_min_retention_days: int | None = None
    # The runbook's weekly "backup review and validation" as an AWS Backup restore test: the
    # latest recovery point restored on this day (None: no test) at this hour (UTC), as an
    # instance of this class (without db.), kept an hour, then deleted by AWS Backup.
    restore_test_day: str | None = "sat"
    restore_test_hour_utc: int = 6
    restore_test_instance_class: str = "t4g.micro"

    @property
    def window(self) -> str:
        """RDS's preferred backup window: the hour from ``daily_hour_utc``, e.g. 02:00-03:00."""
        return f"{self.daily_hour_utc:02d}:00-{(self.daily_hour_utc + 1) % 24:02d}:00"

    def validate(self, check: Check) -> None:
        check.within("daily_hour_utc", self.daily_hour_utc, 0, 23, " (the hour, UTC)")
        check.within("retention_days", self.retention_days, 1, RDS_MAX_BACKUP_DAYS, " (the RDS limit)")
        check.within("hourly_retention_days", self.hourly_retention_days, 1, RDS_MAX_BACKUP_DAYS)
        check(
            self.restore_test_day is None or self.restore_test_day in DAYS,
            "restore_test_day",
            self.restore_test_day,
            f"expected None (no restore test) or one of {', '.join(DAYS)}",
        )
        check.within("restore_test_hour_utc", self.restore_test_hour_utc, 0, 23, " (the hour, UTC)")
        check(
            self.restore_test_hour_utc != self.daily_hour_utc,
            "restore_test_hour_utc",
            self.restore_test_hour_utc,
            f"expected another hour than the daily backup's ({self.daily_hour_utc}): the test restores "
            "the latest recovery point, which that hour is still taking",
        )
        check(
            DB_INSTANCE_CLASS.fullmatch(self.restore_test_instance_class) is not None,
            "restore_test_instance_class",
            self.restore_test_instance_class,
            "expected an RDS class such as t4g.micro (without the db. prefix)",
        )
        lock, shortest = (
            self.vault_lock_min_retention_days,
            min(self.retention_days, self.hourly_retention_days),
        )
        # The vault fails any backup or copy job whose retention is shorter than its lock.
        check(
            lock is None or (type(lock) is int and 1 <= lock <= shortest),
            "vault_lock_min_retention_days",
            lock,
            f"expected 1 to {shortest} (every backup and copy job into a locked vault must keep its "
            f"recovery points that long: retention_days {self.retention_days}, "
            f"hourly_retention_days {self.hourly_retention_days})",
        )


@dataclass(frozen=True, kw_only=True)
class RotationConfig:
    """Secret rotation periods (runbook: admin 30, application 90, Betfair every 6 months)."""

    admin_days: int = 30
    application_days: int = 90
    betfair_days: int = 180

    def validate(self, check: Check) -> None:
        for period in ("admin_days", "application_days", "betfair_days"):
            check.within(period, getattr(self, period), 1, 365, " (Secrets Manager's limit)")


# Lambda keeps 100 of an account's concurrency unreserved (Lambda developer guide, "Configuring
# reserved concurrency"): at the default quota of 1000, at most 900 can be reserved. An account
# whose quota is below 100 (a new account may get 10) can reserve nothing.
LAMBDA_RESERVABLE = 1000 - 100


@dataclass(frozen=True, kw_only=True)
class FunctionsConfig:
    """Reserved concurrency for our Lambdas: None (no reservation, the default) or a cap.

    A reservation is subtracted from the account's unreserved concurrency, and Lambda refuses one
    that leaves fewer than 100 unreserved (the whole quota, where the quota is below 100): in a
    new account at the reduced quota of 10, a function with any reservation cannot be created."""

    # Each blue/green service's smoke-test hook.
    deployment_hook_reserved_concurrency: int | None = None
    # The Betfair key's rotation function.
    betfair_rotation_reserved_concurrency: int | None = None

    def validate(self, check: Check) -> None:
        for name in ("deployment_hook_reserved_concurrency", "betfair_rotation_reserved_concurrency"):
            value = getattr(self, name)
            check(
                value is None or (type(value) is int and 1 <= value <= LAMBDA_RESERVABLE),
                name,
                value,
                f"expected None (required in accounts at Lambda's reduced concurrency quota of 10) "
                f"or 1 to {LAMBDA_RESERVABLE} (Lambda keeps 100 of the default 1000 unreserved)",
            )


@dataclass(frozen=True, kw_only=True)
class SmokeCheck:
    """One request the deployment hook makes to the green tasks through the test listener."""

    path: str
    status: int = 200
    # A substring the body must contain; None checks the status only.
    body_contains: str | None = None


@dataclass(frozen=True, kw_only=True)
class DeploymentConfig:
    """Releases and blue/green (runbook: Production Deployment, Rollback Procedures)."""

    # The runbook's watch after a blue/green traffic shift: ECS keeps blue this long and
    # rolls back if a deployment alarm fires. Every environment states its own.
    bake_time_minutes: int
    # Traffic shifts only after `make approve` (production must). Every environment states it.
    approval_gate: bool
    # Set from `-c image_tag=...` by app.py; the same tag for all three services.
    image_tag: str = DEFAULT_IMAGE_TAG
    # The approval gate rolls back when nobody approves in time.
    approval_timeout_minutes: int = 60
    # The test listener green tasks are smoke-tested through; never 80 or 443.
    test_listener_port: int = 9000
    # Who besides the VPC (and its NAT addresses) may reach the test listener, e.g. a VPN range.
    operator_cidrs: tuple[str, ...] = ()
    smoke_checks: tuple[SmokeCheck, ...] = (SmokeCheck(path="/health", body_contains="ok"),)
    smoke_timeout_seconds: int = 5
    # Deployment alarms: any one in ALARM during the deployment or bake rolls back.
    alarm_5xx_percent: int = 5
    alarm_p95_latency_ms: int = 1000
    # WAF per-IP rate limit (requests in any 5-minute window).
    waf_requests_per_5_minutes: int = 2000
    # ml-service scales out above this many requests per task per minute.
    ml_requests_per_task_per_minute: int = 600
    migration_command: tuple[str, ...] = ("migrate", "up")
    # Scheduled training (schedules.training): the ml-service image's training command, run as a
    # one-off task of the service's task definition; stopped, and reported failed, past the limit.
    training_command: tuple[str, ...] = ("python", "-m", "ml_service.train")
    training_timeout_minutes: int = 120
    # The training task's Fargate size (RunTask's task-level overrides); None: the ml-service's.
    training_cpu: int | None = None
    training_memory_mib: int | None = None
    # A Route 53 zone for the domain: DNS-validates the certificate and adds the alias record.
    # None: the certificate waits for the CNAME an operator adds (docs/RUNBOOK.md).
    hosted_zone_id: str | None = None

    def validate(self, check: Check) -> None:
        check(
            IMAGE_TAG.fullmatch(self.image_tag) is not None and self.image_tag != "latest",
            "image_tag",
            self.image_tag,
            "expected an ECR image tag such as v1.4.2 or a git sha (letters, digits, _ . -; not latest)",
        )
        check.within("bake_time_minutes", self.bake_time_minutes, 1, 60)
        check.within(
            "test_listener_port",
            self.test_listener_port,
            1024,
            65535,
            " (80 and 443 carry production traffic)",
        )
        for index, cidr in enumerate(self.operator_cidrs):
            try:
                net: ipaddress.IPv4Network | None = ipaddress.IPv4Network(cidr, strict=True)
            except ValueError:
                net = None
            check(
                net is not None and net.prefixlen >= 8,
                f"operator_cidrs[{index}]",
                cidr,
                "expected an IPv4 network of /8 or narrower with host bits zero, e.g. 203.0.113.0/24",
            )
        check(
            len(self.smoke_checks) >= 1,
            "smoke_checks",
            self.smoke_checks,
            "expected at least one check (the deployment hook needs something to prove)",
        )
        for index, smoke in enumerate(self.smoke_checks):
            check(
                isinstance(smoke, SmokeCheck) and smoke.path.startswith("/"),
                f"smoke_checks[{index}].path",
                getattr(smoke, "path", smoke),
                "expected a path starting with /",
            )
            check(
                100 <= smoke.status <= 599,
                f"smoke_checks[{index}].status",
                smoke.status,
                "expected an HTTP status 100 to 599",
            )
        for name, low, high in (
            ("smoke_timeout_seconds", 1, 60),
            ("approval_timeout_minutes", 1, 1440),
            ("alarm_5xx_percent", 1, 100),
            ("alarm_p95_latency_ms", 1, 60000),
            ("waf_requests_per_5_minutes", 10, 2_000_000_000),
            ("ml_requests_per_task_per_minute", 1, 1_000_000),
        ):
            check.within(name, getattr(self, name), low, high)
        for name in ("migration_command", "training_command"):
            command = getattr(self, name)
            check(
                len(command) >= 1 and all(isinstance(a, str) and a for a in command),
                name,
                command,
                "expected a non-empty list of non-empty strings",
            )
        # At least a few watchdog rounds (every 15 minutes); at most half a day, so a run ends
        # before the next night's backup window (checked with the schedule).
        check.within("training_timeout_minutes", self.training_timeout_minutes, 30, 720)
        check(
            (self.training_cpu is None) == (self.training_memory_mib is None),
            "training_memory_mib",
            self.training_memory_mib,
            f"expected a value exactly when training_cpu has one ({self.training_cpu})",
        )
        if self.training_cpu is not None and self.training_memory_mib is not None:
            check_fargate_size(
                check, "training_cpu", self.training_cpu, "training_memory_mib", self.training_memory_mib
            )
        check(
            self.hosted_zone_id is None or HOSTED_ZONE_ID.fullmatch(self.hosted_zone_id) is not None,
            "hosted_zone_id",
            self.hosted_zone_id,
            "expected None or a Route 53 zone id such as Z0123456789ABCDEFGHIJ",
        )


Severity = Literal["P0", "P1", "P2", "P3"]
SEVERITIES: tuple[Severity, ...] = ("P0", "P1", "P2", "P3")
# The runbook's paging severities ("P0 ... page on-call immediately", "P1 ... within 15 minutes").
PAGING_SEVERITIES: tuple[Severity, ...] = ("P0", "P1")


@dataclass(frozen=True, kw_only=True)
class Tiers:
    """One measure's alarm thresholds by severity (None: no alarm at that severity).

    `above`: the alarm fires above the threshold (error rate, memory), so a more severe tier
    must not fire earlier than a less severe one: P0 >= P1 >= P2 >= P3. Below-threshold
    measures (cache hit ratio) the other way round."""

    above: bool = True
    p0: float | None = None
    p1: float | None = None
    p2: float | None = None
    p3: float | None = None

    def by_severity(self) -> dict[Severity, float]:
        return {
            s: v
            for s, v in zip(SEVERITIES, (self.p0, self.p1, self.p2, self.p3), strict=True)
            if v is not None
        }

    def validate(self, check: Check, name: str, *, ceiling: float | None = None) -> None:
        found = self.by_severity()
        check(bool(found), name, self, "expected at least one severity's threshold")
        for severity, value in found.items():
            check(
                isinstance(value, (int, float)) and value >= 0 and (ceiling is None or value <= ceiling),
                f"{name}.{severity.lower()}",
                value,
                f"expected 0 to {ceiling:g}" if ceiling is not None else "expected a threshold of 0 or more",
            )
        ordered = list(found.items())
        for (severe, strict), (milder, loose) in itertools.pairwise(ordered):
            check(
                strict >= loose if self.above else strict <= loose,
                f"{name}.{severe.lower()}",
                strict,
                f"expected {'at least' if self.above else 'at most'} {milder}'s {loose}: a {severe} "
                f"alarm must not fire before its {milder} twin",
            )


@dataclass(frozen=True, kw_only=True)
class MonitoringConfig:
    """The runbook's "Alert Thresholds and Escalation" and "Performance Baselines", number for
    number. Percentages 0-100; latencies in milliseconds; money in USD."""

    # False: P0 and P1 notify (Slack) but never page anyone; a sandbox's alarms wake nobody.
    pages: bool = True
    # Every alarm's description links here, to the runbook section it names.
    runbook_url: str = "https://github.com/clever-better/infrastructure/blob/main/docs/RUNBOOK.md"
    # P0: daily loss above this; the circuit breaker open for longer than this.
    daily_loss_usd: float = 1000
    circuit_breaker_open_minutes: int = 30
    error_rate_percent: Tiers = field(default_factory=lambda: Tiers(p1=5, p2=2, p3=1))
    api_latency_p95_ms: Tiers = field(default_factory=lambda: Tiers(p1=2000))
    memory_percent: Tiers = field(default_factory=lambda: Tiers(p1=90, p3=80))
    cpu_percent: Tiers = field(default_factory=lambda: Tiers(p3=75))
    prediction_latency_p95_ms: Tiers = field(default_factory=lambda: Tiers(p3=200))
    cache_hit_percent: Tiers = field(default_factory=lambda: Tiers(above=False, p2=50, p3=70))
    # P2 "strategy performance degradation": over a trading day (UTC), below the runbook's targets.
    win_rate_target_percent: float = 50
    roi_target_percent: float = 10
    # P2 "disk usage": percent used of the storage provisioned at creation
    # (database.allocated_storage_gib), measured as the free space left: RDS publishes free space,
    # not the volume's size, and storage autoscaling grows the volume once under 10% is free.
    database_storage_percent: Tiers = field(default_factory=lambda: Tiers(p2=80))
    # P1: no completed backup job for this long (the runbook's pre-deployment check: 26 hours).
    backup_max_age_hours: int = 26
    # Drawn on the dashboards: the runbook's target, its "Normal Operating Conditions" and its
    # "Peak Load Conditions (race days)", as (low, high) bands.
    api_latency_target_ms: float = 500
    api_latency_normal_ms: tuple[float, float] = (200, 400)
    api_latency_race_day_ms: tuple[float, float] = (400, 800)
    memory_normal_percent: tuple[float, float] = (40, 60)
    memory_race_day_percent: tuple[float, float] = (60, 75)
    cpu_normal_percent: tuple[float, float] = (20, 40)
    cpu_race_day_percent: tuple[float, float] = (40, 65)
    database_connections_normal: tuple[float, float] = (10, 20)
    bets_per_hour_normal: tuple[float, float] = (5, 15)
    bets_per_hour_race_day: tuple[float, float] = (20, 50)
    prediction_latency_normal_ms: tuple[float, float] = (50, 150)
    cache_hit_target_percent: float = 70

    def validate(self, check: Check) -> None:
        check(
            re.fullmatch(r"https://[^\s]+", self.runbook_url) is not None,
            "runbook_url",
            self.runbook_url,
            "expected an https:// URL of docs/RUNBOOK.md",
        )
        check(self.daily_loss_usd > 0, "daily_loss_usd", self.daily_loss_usd, "expected more than 0")
        check.within(
            "circuit_breaker_open_minutes",
            self.circuit_breaker_open_minutes,
            1,
            1440,
            " (one day of 1-minute periods)",
        )
        for name, ceiling in (
            ("error_rate_percent", 100.0),
            ("api_latency_p95_ms", None),
            ("memory_percent", 100.0),
            ("cpu_percent", 100.0),
            ("prediction_latency_p95_ms", None),
            ("cache_hit_percent", 100.0),
            ("database_storage_percent", 100.0),
        ):
            tiers: Tiers = getattr(self, name)
            tiers.validate(check, name, ceiling=ceiling)
        for name in ("win_rate_target_percent", "roi_target_percent"):
            value = getattr(self, name)
            check(0 <= value <= 100, name, value, "expected 0 to 100")
        check.within(
            "backup_max_age_hours", self.backup_max_age_hours, 2, 168, " (up to 7 days of hourly periods)"
        )
        for name in (
            "api_latency_normal_ms", "api_latency_race_day_ms", "memory_normal_percent",
            "memory_race_day_percent", "cpu_normal_percent", "cpu_race_day_percent",
            "database_connections_normal", "bets_per_hour_normal", "bets_per_hour_race_day",
            "prediction_latency_normal_ms",
        ):  # fmt: skip
            band = getattr(self, name)
            check(
                len(band) == 2 and 0 <= band[0] <= band[1],
                name,
                band,
                "expected a band (low, high) with 0 <= low <= high",
            )


Pager = Literal["pagerduty", "opsgenie"]
PAGERS: tuple[Pager, ...] = ("pagerduty", "opsgenie")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}")


@dataclass(frozen=True, kw_only=True)
class SchedulesConfig:
    """When the stacks' scheduled work runs: EventBridge Scheduler cron expressions, in UTC
    (config/schedules.py). None may fire inside the daily backup window (backup.daily_hour_utc):
    the backups have the database to themselves. README.md lists every schedule."""

    # The daily CloudFormation drift detection (the P3 configuration-drift alarm): after the
    # night's backups, before the working day.
    drift_check: str = "cron(0 6 * * ? *)"
    # The runbook's monthly "database maintenance (vacuum, analyze)": inside the RDS maintenance
    # window (database.maintenance_window) on one day of it, e.g. the month's first Sunday.
    db_maintenance: str = "cron(15 4 ? * SUN#1 *)"
    # The daily operations report (the runbook's "Daily Tasks") to Slack: after the night's
    # backups and the drift check, before the working day.
    daily_report: str = "cron(0 7 * * ? *)"
    # Scheduled training of the ml-service's model: after the night's backups (which its data
    # reads should not compete with) and the RDS maintenance window (which may restart the
    # database), ending, at deployment.training_timeout_minutes and the watchdog's 15 minutes,
    # before the next night's backups.
    training: str = "cron(15 5 * * ? *)"

    def validate(self, check: Check) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            check(schedules.parse(value) is not None, item.name, value, schedules.ALLOWED)


@dataclass(frozen=True, kw_only=True)
class AlertingConfig:
    """The runbook's "Alert Thresholds and Escalation": who is paged, and how on-call hears of the
    router itself failing (an email, not through the router)."""

    # P0 and P1 page through this provider (its key in clever-better/{token}/alerting).
    pager: Pager = "pagerduty"
    # Subscribed by email to clever-better-{token}-oncall: the router's dead-letter alarm.
    oncall_emails: tuple[str, ...] = ("oncall@clever-better.com",)

    def validate(self, check: Check) -> None:
        check(self.pager in PAGERS, "pager", self.pager, f"expected one of {', '.join(PAGERS)}")
        check(
            bool(self.oncall_emails) and all(EMAIL.fullmatch(e) for e in self.oncall_emails),
            "oncall_emails",
            self.oncall_emails,
            "expected one or more email addresses (the router's own failures reach on-call there)",
        )


# Who may assume an operator role (security.*_principals):
# "account": any IAM user or role of the environment's own account whose own policy allows it;
# an IAM user or role ARN (any account); both with MFA in the trust policy;
# "sso:<PermissionSetName>": the IAM Identity Center permission set's role in this account. A
# session Identity Center issues carries no MFA key, so its trust cannot test MFA: Identity
# Center must require MFA at every sign-in (docs/RUNBOOK.md "Access and Permissions").
OPERATOR_PRINCIPAL = re.compile(
    r"account|sso:[\w+=,.@-]{1,32}|arn:aws:iam::\d{12}:(user|role)/[\w+=,.@/-]{1,512}"
)
GITHUB_REPOSITORY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
# GitHub's OIDC subjects a deployment may come from: a protected environment or branch (or a
# release tag). No wildcards and no pull_request: a pull request must never deploy.
GITHUB_SUBJECT = re.compile(
    r"environment:[A-Za-z0-9._-]{1,255}|ref:refs/heads/[A-Za-z0-9._/-]{1,255}|ref:refs/tags/[A-Za-z0-9._/-]{1,255}"
)


@dataclass(frozen=True, kw_only=True)
class SecurityConfig:
    """The runbook's "Access and Permissions" (its three roles, MFA, everything in CloudTrail) and
    the account's detection baseline (CloudTrail, GuardDuty, AWS Config)."""

    # This environment deploys its account's baseline (the `audit` stack): the CloudTrail trail,
    # the GuardDuty detector, the AWS Config recorder and rules, GitHub's OIDC provider. Each
    # exists once per account (and region): one environment per account owns it, and an account
    # that already has them (an organisation trail, a delegated GuardDuty) sets False.
    account_baseline: bool = True
    # DeploymentRole: GitHub Actions of this repository, from these subjects only.
    github_repository: str = "clever-better/infrastructure"
    deploy_subjects: tuple[str, ...] = ("ref:refs/heads/main",)
    readonly_principals: tuple[str, ...] = ("account",)
    admin_principals: tuple[str, ...] = ("account",)
    readonly_session_hours: int = 4
    # The trail's log group (what the metric filters read) and its bucket (the record).
    audit_log_retention_days: int = 365
    audit_bucket_retention_days: int = 2557
    # Objects move to Glacier Instant Retrieval after this many days.
    audit_archive_after_days: int = 90

    def validate(self, check: Check) -> None:
        check(
            GITHUB_REPOSITORY.fullmatch(self.github_repository) is not None,
            "github_repository",
            self.github_repository,
            "expected OWNER/REPO as GitHub spells it",
        )
        check(
            bool(self.deploy_subjects) and all(GITHUB_SUBJECT.fullmatch(s) for s in self.deploy_subjects),
            "deploy_subjects",
            self.deploy_subjects,
            "expected one or more of environment:NAME, ref:refs/heads/BRANCH, ref:refs/tags/TAG "
            "(no wildcards, no pull_request)",
        )
        for name in ("readonly_principals", "admin_principals"):
            value = getattr(self, name)
            check(
                bool(value) and all(OPERATOR_PRINCIPAL.fullmatch(p) for p in value),
                name,
                value,
                "expected one or more of account, an IAM user or role ARN, sso:PermissionSetName",
            )
        check.within("readonly_session_hours", self.readonly_session_hours, 1, 12, " (IAM's limit)")
        check(
            self.audit_log_retention_days in LOG_RETENTION_DAYS,
            "audit_log_retention_days",
            self.audit_log_retention_days,
            LOG_RETENTION_ALLOWED,
        )
        check.within("audit_archive_after_days", self.audit_archive_after_days, 30, 3650)
        check(
            self.audit_archive_after_days < self.audit_bucket_retention_days <= 36500,
            "audit_bucket_retention_days",
            self.audit_bucket_retention_days,
            f"expected more than audit_archive_after_days ({self.audit_archive_after_days}) "
            "and at most 36500",
        )


@dataclass(frozen=True, kw_only=True)
class DisasterRecoveryConfig:
    """The warm-standby network in the DR region (runbook: us-west-2)."""

    region: str
    network: NetworkConfig
    # The bot image's read-only data check (make dr-failover, verify): a one-off task of the
    # bot's task definition in the DR region with INTEGRITY_NOT_BEFORE set to the recovery point
    # (ISO 8601, UTC); it exits 0 when the newest rows reach that point, else non-zero.
    integrity_command: tuple[str, ...] = ("integrity-check",)

    def validate(self, check: Check) -> None:
        check(self.region in REGIONS, "region", self.region, f"expected one of {', '.join(REGIONS)}")
        self.network.validate(check.at("network"))
        check(
            len(self.integrity_command) >= 1
            and all(isinstance(a, str) and a for a in self.integrity_command),
            "integrity_command",
            self.integrity_command,
            "expected a non-empty list of non-empty strings",
        )


@dataclass(frozen=True, kw_only=True)
class EnvironmentConfig:
    name: str
    account: str
    region: str
    domain_name: str
    network: NetworkConfig
    database: DatabaseConfig
    backup: BackupConfig
    # Held read-only (a MappingProxyType) once built.
    services: Mapping[str, ServiceSize]
    log_retention_days: int
    # Database and load balancers refuse deletion (staging and production must).
    deletion_protection: bool
    deployment: DeploymentConfig
    disaster_recovery: DisasterRecoveryConfig | None = None
    rotation: RotationConfig = field(default_factory=RotationConfig)
    functions: FunctionsConfig = field(default_factory=FunctionsConfig)
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)
    alerting: AlertingConfig = field(default_factory=AlertingConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    schedules: SchedulesConfig = field(default_factory=SchedulesConfig)
    # The MLflow tracking server (components/services/mlflow.py): a fixed count, rolling updates.
    mlflow: ServiceSize = field(
        default_factory=lambda: ServiceSize(cpu=512, memory_mib=1024, desired_count=1)
    )
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Frozen all the way down: no section holds a dict or list anyone could change.
        object.__setattr__(self, "services", MappingProxyType(dict(self.services)))
        object.__setattr__(self, "tags", MappingProxyType(dict(self.tags)))
        _validate(self)

    @property
    def token(self) -> str:
        """The name token in physical names: `prod` for production."""
        return TOKENS[self.name]

    @property
    def names(self) -> Names:
        """Every physical name in this environment (config/names.py)."""
        return Names(self.token, audit=self.security.account_baseline)

    @property
    def is_production(self) -> bool:
        return self.name == "production"

    @property
    def termination_protection(self) -> bool:
        """Stateful stacks are termination-protected in production only."""
        return self.is_production

    @property
    def retain_stateful(self) -> bool:
        """Production keeps stateful data when a resource leaves the template."""
        return self.is_production


def _validate(cfg: EnvironmentConfig) -> None:
    check = Check(cfg.name if isinstance(cfg.name, str) else repr(cfg.name))
    _check_types(cfg, check)
    check(cfg.name in ENVIRONMENTS, "name", cfg.name, f"expected one of {', '.join(ENVIRONMENTS)}")
    check(
        re.fullmatch(r"\d{12}", cfg.account) is not None,
        "account",
        cfg.account,
        "expected a 12-digit AWS account id",
    )
    check(cfg.region in REGIONS, "region", cfg.region, f"expected one of {', '.join(REGIONS)}")
    check(
        DOMAIN.fullmatch(cfg.domain_name) is not None,
        "domain_name",
        cfg.domain_name,
        "expected a lower-case DNS name such as api.clever-better.com",
    )
    cfg.network.validate(check.at("network"))
    _check_endpoints_reachable(cfg.network, check.at("network"))
    if cfg.region in REGIONS:
        _check_zones(cfg.network, cfg.region, check.at("network"))
    cfg.database.validate(check.at("database"))
    cfg.backup.validate(check.at("backup"))
    cfg.rotation.validate(check.at("rotation"))
    cfg.functions.validate(check.at("functions"))
    cfg.monitoring.validate(check.at("monitoring"))
    cfg.alerting.validate(check.at("alerting"))
    cfg.security.validate(check.at("security"))
    cfg.schedules.validate(check.at("schedules"))
    check(
        set(cfg.services) == set(SERVICES),
        "services",
        sorted(cfg.services),
        f"expected exactly {', '.join(SERVICES)}",
    )
    for service, size in sorted(cfg.services.items()):
        size.validate(check.at(f"services.{service}"))
    cfg.mlflow.validate(check.at("mlflow"))
    check.at("mlflow").within(
        "desired_count", cfg.mlflow.desired_count, 1, 3, " (a tracking server that runs)"
    )
    check.at("mlflow")(
        cfg.mlflow.max_count is None, "max_count", cfg.mlflow.max_count, "expected None (a fixed count)"
    )
    cfg.deployment.validate(check.at("deployment"))
    check(
        cfg.log_retention_days in LOG_RETENTION_DAYS,
        "log_retention_days",
        cfg.log_retention_days,
        LOG_RETENTION_ALLOWED,
    )
    _check_backup_misses_maintenance(cfg, check)
    _check_schedules_miss_backups(cfg, check)
    _check_training_window(cfg, check)
    _check_maintenance_in_window(cfg, check)
    # Only dev's sandbox may be torn down; the database and load balancers of staging and
    # production refuse deletion (their ack reasons in components/ rely on this check).
    check(
        cfg.name == "dev" or cfg.deletion_protection,
        "deletion_protection",
        cfg.deletion_protection,
        f"{cfg.name} requires True (only dev may delete its database and load balancers)",
    )
    check(
        cfg.retain_stateful or cfg.backup.vault_lock_min_retention_days is None,
        "backup.vault_lock_min_retention_days",
        cfg.backup.vault_lock_min_retention_days,
        "expected None: only production locks its vaults (dev and staging delete theirs with their stacks)",
    )
    if cfg.is_production:
        _check_production(cfg, check)
    if cfg.disaster_recovery is not None:
        _check_disaster_recovery(cfg, cfg.disaster_recovery, check)


# The zone-ID prefix of each region (use1-az1 is in us-east-1), and the physical zones a service
# we run does not support (RDS Proxy's documented restriction in us-east-1).
ZONE_ID_PREFIX = {
    "us-east-1": "use1", "us-east-2": "use2", "us-west-1": "usw1", "us-west-2": "usw2",
    "eu-west-1": "euw1", "eu-west-2": "euw2", "eu-central-1": "euc1",
}  # fmt: skip
UNSUPPORTED_ZONES = {"use1-az3": "RDS Proxy"}


def _check_zones(network: NetworkConfig, region: str, check: Check) -> None:
    prefix = ZONE_ID_PREFIX[region]
    for index, zone in enumerate(network.zone_ids):
        check(
            re.fullmatch(rf"{prefix}-az[1-9]", zone) is not None,
            f"zone_ids[{index}]",
            zone,
            f"expected a zone ID of {region}, e.g. {prefix}-az1",
        )
        check(
            zone not in UNSUPPORTED_ZONES,
            f"zone_ids[{index}]",
            zone,
            f"{UNSUPPORTED_ZONES.get(zone)} does not support this zone; choose another",
        )


def _check_endpoints_reachable(network: NetworkConfig, check: Check) -> None:
    """An environment's own VPC holds what reaches AWS only through its interface endpoints:
    the rotation functions and RDS Proxy (components/data/database.py) and the deployment hooks
    (components/services/deployment.py) send HTTPS only to the VPC's own range, so NAT is no way
    out for them. Without endpoints they could not reach Secrets Manager, KMS or the ECS API.
    The DR region's VPC holds the same proxy and hooks (the pilot light), so it needs them too."""
    check(
        network.interface_endpoints != "none",
        "interface_endpoints",
        network.interface_endpoints,
        "expected every-az or one-az: the rotation functions, RDS Proxy and deployment hooks in this "
        "VPC send HTTPS only to its endpoints (Secrets Manager, KMS, ECS), never through NAT",
    )


def _check_backup_misses_maintenance(cfg: EnvironmentConfig, check: Check) -> None:
    """RDS refuses a maintenance window that overlaps any day's backup window."""
    start, length = cfg.database.maintenance_minutes(check.at("database"))
    maintenance = {(start + minute) % WEEK for minute in range(length)}
    backups = {
        (day * DAY + cfg.backup.daily_hour_utc * 60 + minute) % WEEK
        for day in range(7)
        for minute in range(60)
    }
    check(
        not maintenance & backups,
        "database.maintenance_window",
        cfg.database.maintenance_window,
        f"expected no overlap with the daily backup window {cfg.backup.window} (backup.daily_hour_utc; "
        "RDS refuses overlapping windows)",
    )


def _check_schedules_miss_backups(cfg: EnvironmentConfig, check: Check) -> None:
    """No scheduled work starts inside the daily backup window."""
    start = cfg.backup.daily_hour_utc * 60
    for item in fields(cfg.schedules):
        value = getattr(cfg.schedules, item.name)
        cron = schedules.parse(value)
        assert cron is not None  # SchedulesConfig.validate ran first
        check(
            not start <= cron.minute_of_day < start + 60,
            f"schedules.{item.name}",
            value,
            f"expected a time outside the daily backup window {cfg.backup.window} UTC "
            "(backup.daily_hour_utc)",
        )


def _check_training_window(cfg: EnvironmentConfig, check: Check) -> None:
    """Training, from its start to its limit and the watchdog's round that stops it, runs between
    the backup window and the next one, and at no time of day the RDS maintenance window has."""
    value = cfg.schedules.training
    cron = schedules.parse(value)
    assert cron is not None
    limit = cfg.deployment.training_timeout_minutes + TRAINING_WATCH_MINUTES
    after = (cron.minute_of_day - (cfg.backup.daily_hour_utc + 1) * 60) % DAY
    start, length = cfg.database.maintenance_minutes(check.at("database"))
    maintenance = {(start + minute) % DAY for minute in range(length)}
    runs = {(cron.minute_of_day + minute) % DAY for minute in range(limit)}
    check(
        after + limit <= DAY - 60 and not runs & maintenance,
        "schedules.training",
        value,
        f"expected a start after the backup window {cfg.backup.window} UTC with "
        f"deployment.training_timeout_minutes ({cfg.deployment.training_timeout_minutes}) and "
        f"{TRAINING_WATCH_MINUTES} minutes for the watchdog ending before the next one, outside "
        f"the hours of database.maintenance_window {cfg.database.maintenance_window}",
    )


def _check_maintenance_in_window(cfg: EnvironmentConfig, check: Check) -> None:
    """The database maintenance starts inside the RDS maintenance window, on its day."""
    value = cfg.schedules.db_maintenance
    cron = schedules.parse(value)
    assert cron is not None
    start, length = cfg.database.maintenance_minutes(check.at("database"))
    day = cron.day_of_week.split("#", 1)[0].lower()
    fires = DAYS.index(day) * DAY + cron.minute_of_day if day in DAYS else None
    check(
        cron.day_of_month == "?" and fires is not None and 0 <= (fires - start) % WEEK < length,
        "schedules.db_maintenance",
        value,
        f"expected a day of the week (as SUN or SUN#1) and a time inside database.maintenance_window "
        f"{cfg.database.maintenance_window}",
    )


def _check_production(cfg: EnvironmentConfig, check: Check) -> None:
    """The runbook's backup, rotation, availability and blue/green promises, made explicit."""
    check(
        cfg.monitoring.pages,
        "monitoring.pages",
        cfg.monitoring.pages,
        "expected True: production's P0 and P1 alarms page on-call (runbook)",
    )
    check(
        cfg.backup.retention_days >= 30,
        "backup.retention_days",
        cfg.backup.retention_days,
        "production keeps backups at least 30 days (runbook)",
    )
    check(
        cfg.backup.daily_hour_utc == RUNBOOK_BACKUP_HOUR_UTC,
        "backup.daily_hour_utc",
        cfg.backup.daily_hour_utc,
        f"production backs up daily at {RUNBOOK_BACKUP_HOUR_UTC:02d}:00 UTC (runbook)",
    )
    for period, days in RUNBOOK_ROTATION_DAYS.items():
        check(
            getattr(cfg.rotation, period) <= days,
            f"rotation.{period}",
            getattr(cfg.rotation, period),
            f"production rotates at least every {days} days (runbook)",
        )
    check(
        cfg.backup.vault_lock_min_retention_days is not None,
        "backup.vault_lock_min_retention_days",
        None,
        "production locks its backup vaults (AWS Backup Vault Lock)",
    )
    check(
        cfg.database.multi_az,
        "database.multi_az",
        cfg.database.multi_az,
        "production requires True (a standby in a second zone)",
    )
    check(
        cfg.deployment.bake_time_minutes >= 15,
        "deployment.bake_time_minutes",
        cfg.deployment.bake_time_minutes,
        "production watches a deployment at least 15 minutes (runbook)",
    )
    check(
        cfg.deployment.approval_gate,
        "deployment.approval_gate",
        cfg.deployment.approval_gate,
        "production requires True (runbook: production deployments require approval)",
    )
    check(
        cfg.network.az_count == 3,
        "network.zone_ids",
        cfg.network.zone_ids,
        "production spans 3 availability zones",
    )
    check(
        cfg.network.interface_endpoints == "every-az",
        "network.interface_endpoints",
        cfg.network.interface_endpoints,
        "production requires every-az (an outage of one zone must not cut the others off AWS)",
    )
    check(
        all(s.startswith("environment:") for s in cfg.security.deploy_subjects),
        "security.deploy_subjects",
        cfg.security.deploy_subjects,
        "production deploys only from protected GitHub environments (environment:NAME, with "
        "required reviewers: runbook, production deployments require approval)",
    )
    check(
        cfg.security.audit_bucket_retention_days >= 365,
        "security.audit_bucket_retention_days",
        cfg.security.audit_bucket_retention_days,
        "production keeps its audit trail at least 365 days",
    )
    check(
        cfg.disaster_recovery is not None,
        "disaster_recovery",
        None,
        "production needs a DR region (runbook: us-west-2)",
    )


def _check_disaster_recovery(cfg: EnvironmentConfig, dr: DisasterRecoveryConfig, check: Check) -> None:
    dr.validate(check.at("disaster_recovery"))
    check(
        dr.region != cfg.region,
        "disaster_recovery.region",
        dr.region,
        f"expected a region other than the primary {cfg.region}",
    )
    check(
        not _net(dr.network.vpc_cidr).overlaps(_net(cfg.network.vpc_cidr)),
        "disaster_recovery.network.vpc_cidr",
        dr.network.vpc_cidr,
        f"expected a range that does not overlap network.vpc_cidr {cfg.network.vpc_cidr}",
    )
    _check_zones(dr.network, dr.region, check.at("disaster_recovery.network"))
    # The pilot light's proxy and deployment hooks live in the DR VPC as in the primary's.
    _check_endpoints_reachable(dr.network, check.at("disaster_recovery.network"))


def _net(cidr: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(cidr)


_SCALARS = {"int": int, "str": str, "bool": bool}


def _check_types(obj: Any, check: Check) -> None:
    """Reject a wrongly typed value (say a string where an int belongs) by its field path, and
    any list, dict or set inside a section: the configuration is frozen."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        expected = _SCALARS.get(str(f.type))
        # bool is an int subclass: compare exactly.
        check(
            expected is None or type(value) is expected,
            f.name,
            value,
            f"expected {getattr(expected, '__name__', '')}",
        )
        check(
            not isinstance(value, list | set | dict),
            f.name,
            value,
            "expected a tuple (the configuration is frozen)",
        )
        if is_dataclass(value):
            _check_types(value, check.at(f.name))
        if isinstance(value, Mapping):
            for key, item in value.items():
                if is_dataclass(item):
                    _check_types(item, check.at(f"{f.name}.{key}"))


def validate_all(configs: Iterable[EnvironmentConfig]) -> None:
    """Checks across environments: VPC ranges never overlap, so peering or a VPN stays possible."""
    seen: list[tuple[str, ipaddress.IPv4Network]] = []
    baselines: dict[str, str] = {}
    for cfg in configs:
        owner = baselines.get(cfg.account)
        if cfg.security.account_baseline and owner is not None:
            raise ConfigError(
                f"{cfg.name}: security.account_baseline = True is not allowed; {owner} already deploys "
                f"account {cfg.account}'s baseline (one trail, detector and recorder per account): "
                "set one of them False"
            )
        if cfg.security.account_baseline:
            baselines[cfg.account] = cfg.name
        ranges = [("network.vpc_cidr", cfg.network.vpc_cidr)]
        if cfg.disaster_recovery:
            ranges.append(("disaster_recovery.network.vpc_cidr", cfg.disaster_recovery.network.vpc_cidr))
        for path, cidr in ranges:
            net = _net(cidr)
            for other, other_net in seen:
                if net.overlaps(other_net):
                    raise ConfigError(
                        f"{cfg.name}: {path} = {cidr!r} is not allowed; it overlaps {other} ({other_net})"
                    )
            seen.append((f"{cfg.name} {path}", net))
