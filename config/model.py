"""Typed, frozen, validated configuration for one deployment environment.

Every check raises ``ConfigError`` with one line naming the environment, the
field and what is allowed, so a bad value stops synth before any construct is
built. Nothing here reads context or the process environment: ``app.py`` does.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from config.names import Names

ENVIRONMENTS = ("dev", "staging", "production")
# The runbook's resource names use `prod` for production (clever-better-prod).
TOKENS = {"dev": "dev", "staging": "staging", "production": "prod"}

# The only values CloudWatch Logs accepts for a log group's retention.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
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


class ConfigError(ValueError):
    """A configuration value is not allowed; the message is one line."""


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """One VPC. Subnet masks are fixed in the network construct (/24 public and isolated, /20 private)."""

    vpc_cidr: str
    az_count: int
    nat_gateways: int
    flow_log_retention_days: int


@dataclass(frozen=True, kw_only=True)
class ServiceSize:
    """Fargate task size and count for one service."""

    cpu: int
    memory_mib: int
    desired_count: int
    # Auto scaling's ceiling; None keeps the count fixed (the bot: one trader per account).
    max_count: int | None = None


@dataclass(frozen=True, kw_only=True)
class DatabaseConfig:
    """RDS for PostgreSQL behind RDS Proxy. Windows are UTC, in RDS's own formats."""

    instance_class: str
    allocated_storage_gib: int
    max_allocated_storage_gib: int
    # Runbook: daily automated backup at 02:00 UTC.
    backup_window: str = "02:00-03:00"
    # AWS Backup's hourly recovery points (the 1-hour RPO's second line), kept this long.
    hourly_backup_retention_days: int = 2
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


@dataclass(frozen=True, kw_only=True)
class RotationConfig:
    """Secret rotation periods (runbook: admin 30, application 90, Betfair every 6 months)."""

    admin_days: int = 30
    application_days: int = 90
    betfair_days: int = 180


@dataclass(frozen=True, kw_only=True)
class Features:
    """Switches later units read; each has one meaning in every environment."""

    multi_az_database: bool
    deletion_protection: bool
    # Production deploys wait for `make approve` before traffic shifts.
    approval_gate: bool
    # The runbook's 15-minute watch after a blue/green traffic shift.
    bake_time_minutes: int


@dataclass(frozen=True, kw_only=True)
class SmokeCheck:
    """One request the deployment hook makes to the green tasks through the test listener."""

    path: str
    status: int = 200
    # A substring the body must contain; None checks the status only.
    body_contains: str | None = None


@dataclass(frozen=True, kw_only=True)
class DeploymentConfig:
    """Edge and blue/green settings (runbook: Production Deployment, Rollback Procedures)."""

    # Set from `-c image_tag=...` by app.py; the same tag for all three services.
    image_tag: str = DEFAULT_IMAGE_TAG
    # The test listener green tasks are smoke-tested through; never 80 or 443.
    test_listener_port: int = 9000
    # Who besides the VPC (and its NAT addresses) may reach the test listener, e.g. a VPN range.
    operator_cidrs: tuple[str, ...] = ()
    smoke_checks: tuple[SmokeCheck, ...] = (SmokeCheck(path="/health", body_contains="ok"),)
    smoke_timeout_seconds: int = 5
    # The approval gate (features.approval_gate) rolls back when nobody approves in time.
    approval_timeout_minutes: int = 60
    # Deployment alarms: any one in ALARM during the deployment or bake rolls back.
    alarm_5xx_percent: int = 5
    alarm_p95_latency_ms: int = 1000
    # WAF per-IP rate limit (requests in any 5-minute window).
    waf_requests_per_5_minutes: int = 2000
    # ml-service scales out above this many requests per task per minute.
    ml_requests_per_task_per_minute: int = 600
    migration_command: tuple[str, ...] = ("migrate", "up")
    # A Route 53 zone for the domain: DNS-validates the certificate and adds the alias record.
    # None: the certificate waits for the CNAME an operator adds (docs/RUNBOOK.md).
    hosted_zone_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class DisasterRecoveryConfig:
    """The warm-standby network in the DR region (runbook: us-west-2)."""

    region: str
    network: NetworkConfig
    # The DR data key's ARN (output DataKeyArn of clever-better-prod-dr-data). Unset, the
    # primary names that key by its alias ARN, which needs no first deploy to know.
    data_key_arn: str | None = None


@dataclass(frozen=True, kw_only=True)
class EnvironmentConfig:
    name: str
    account: str
    region: str
    domain_name: str
    network: NetworkConfig
    database: DatabaseConfig
    services: dict[str, ServiceSize]
    log_retention_days: int
    backup_retention_days: int
    features: Features
    deployment: DeploymentConfig = field(default_factory=DeploymentConfig)
    disaster_recovery: DisasterRecoveryConfig | None = None
    rotation: RotationConfig = field(default_factory=RotationConfig)
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def token(self) -> str:
        """The name token in physical names: `prod` for production."""
        return TOKENS[self.name]

    @property
    def names(self) -> Names:
        """Every physical name in this environment (config/names.py)."""
        return Names(self.token)

    @property
    def prefix(self) -> str:
        """`clever-better-{token}`: the runbook's cluster, DB and stack prefix."""
        return self.names.prefix

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


SERVICES = ("bot", "ml-service", "data-ingestion")


def _validate(cfg: EnvironmentConfig) -> None:
    env = cfg.name if isinstance(cfg.name, str) else repr(cfg.name)

    def fail(path: str, value: Any, allowed: str) -> None:
        raise ConfigError(f"{env}: {path} = {value!r} is not allowed; {allowed}")

    def check(ok: bool, path: str, value: Any, allowed: str) -> None:
        if not ok:
            fail(path, value, allowed)

    _check_types(cfg, env)
    check(
        cfg.name in ENVIRONMENTS,
        "name",
        cfg.name,
        f"expected one of {', '.join(ENVIRONMENTS)}",
    )
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
    _check_network(cfg.network, "network", check)
    check(
        DB_INSTANCE_CLASS.fullmatch(cfg.database.instance_class) is not None,
        "database.instance_class",
        cfg.database.instance_class,
        "expected a Graviton/burstable RDS class such as t4g.micro or r7g.large (without the db. prefix)",
    )
    check(
        20 <= cfg.database.allocated_storage_gib <= 65536,
        "database.allocated_storage_gib",
        cfg.database.allocated_storage_gib,
        "expected 20 to 65536",
    )
    check(
        cfg.database.allocated_storage_gib < cfg.database.max_allocated_storage_gib <= 65536,
        "database.max_allocated_storage_gib",
        cfg.database.max_allocated_storage_gib,
        f"expected more than allocated_storage_gib ({cfg.database.allocated_storage_gib}) and at most 65536",
    )
    _check_database(cfg.database, check)
    for period in ("admin_days", "application_days", "betfair_days"):
        days = getattr(cfg.rotation, period)
        check(1 <= days <= 365, f"rotation.{period}", days, "expected 1 to 365 (Secrets Manager's limit)")
    check(
        set(cfg.services) == set(SERVICES),
        "services",
        sorted(cfg.services),
        f"expected exactly {', '.join(SERVICES)}",
    )
    for svc, size in sorted(cfg.services.items()):
        mem = FARGATE_MEMORY.get(size.cpu)
        check(
            mem is not None,
            f"services.{svc}.cpu",
            size.cpu,
            f"expected one of {', '.join(map(str, FARGATE_MEMORY))}",
        )
        assert mem is not None
        check(
            mem[0] <= size.memory_mib <= mem[1] and size.memory_mib % 512 == 0,
            f"services.{svc}.memory_mib",
            size.memory_mib,
            f"expected a multiple of 512 from {mem[0]} to {mem[1]} for cpu {size.cpu}",
        )
        check(
            0 <= size.desired_count <= 20,
            f"services.{svc}.desired_count",
            size.desired_count,
            "expected 0 to 20",
        )
        check(
            size.max_count is None or max(1, size.desired_count) <= size.max_count <= 20,
            f"services.{svc}.max_count",
            size.max_count,
            f"expected None or desired_count ({size.desired_count}, at least 1) to 20",
        )
    _check_deployment(cfg.deployment, check)
    check(
        cfg.log_retention_days in LOG_RETENTION_DAYS,
        "log_retention_days",
        cfg.log_retention_days,
        "expected a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, ... 3653 days)",
    )
    # RDS keeps automated backups for at most 35 days; the runbook asks for 30 in production.
    check(
        1 <= cfg.backup_retention_days <= 35,
        "backup_retention_days",
        cfg.backup_retention_days,
        "expected 1 to 35 (the RDS limit)",
    )
    check(
        1 <= cfg.features.bake_time_minutes <= 60,
        "features.bake_time_minutes",
        cfg.features.bake_time_minutes,
        "expected 1 to 60",
    )
    if cfg.is_production:
        # The runbook's backup, deletion and blue/green promises, made explicit.
        check(
            cfg.backup_retention_days >= 30,
            "backup_retention_days",
            cfg.backup_retention_days,
            "production keeps backups at least 30 days (runbook)",
        )
        check(
            cfg.features.deletion_protection,
            "features.deletion_protection",
            cfg.features.deletion_protection,
            "production requires True",
        )
        check(
            cfg.features.bake_time_minutes >= 15,
            "features.bake_time_minutes",
            cfg.features.bake_time_minutes,
            "production watches a deployment at least 15 minutes (runbook)",
        )
        check(
            cfg.network.az_count == 3,
            "network.az_count",
            cfg.network.az_count,
            "production spans 3 availability zones",
        )
        check(
            cfg.disaster_recovery is not None,
            "disaster_recovery",
            None,
            "production needs a DR region (runbook: us-west-2)",
        )
    dr = cfg.disaster_recovery
    if dr is not None:
        check(
            dr.region in REGIONS,
            "disaster_recovery.region",
            dr.region,
            f"expected one of {', '.join(REGIONS)}",
        )
        check(
            dr.region != cfg.region,
            "disaster_recovery.region",
            dr.region,
            f"expected a region other than the primary {cfg.region}",
        )
        _check_network(dr.network, "disaster_recovery.network", check)
        if dr.data_key_arn is not None:
            check(
                re.fullmatch(
                    rf"arn:aws:kms:{dr.region}:{cfg.account}:key/(mrk-)?[0-9a-f-]{{32,36}}", dr.data_key_arn
                )
                is not None,
                "disaster_recovery.data_key_arn",
                dr.data_key_arn,
                f"expected a KMS key ARN in {dr.region} of account {cfg.account}",
            )
        check(
            not _net(dr.network.vpc_cidr).overlaps(_net(cfg.network.vpc_cidr)),
            "disaster_recovery.network.vpc_cidr",
            dr.network.vpc_cidr,
            f"expected a range that does not overlap network.vpc_cidr {cfg.network.vpc_cidr}",
        )


def _check_network(net: NetworkConfig, path: str, check: Any) -> None:
    try:
        cidr = ipaddress.IPv4Network(net.vpc_cidr, strict=True)
    except ValueError:
        cidr = None
    check(
        cidr is not None,
        f"{path}.vpc_cidr",
        net.vpc_cidr,
        "expected an IPv4 network such as 10.0.0.0/16 (host bits zero)",
    )
    assert cidr is not None
    check(
        cidr.is_private and 16 <= cidr.prefixlen <= 20,
        f"{path}.vpc_cidr",
        net.vpc_cidr,
        "expected a private (RFC 1918) range from /16 to /20",
    )
    check(1 <= net.az_count <= 3, f"{path}.az_count", net.az_count, "expected 1 to 3")
    check(
        1 <= net.nat_gateways <= net.az_count,
        f"{path}.nat_gateways",
        net.nat_gateways,
        f"expected 1 to az_count ({net.az_count})",
    )
    check(
        net.flow_log_retention_days in LOG_RETENTION_DAYS,
        f"{path}.flow_log_retention_days",
        net.flow_log_retention_days,
        "expected a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, ... 3653 days)",
    )


WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
WEEKLY_WINDOW = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)$"
)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PI_RETENTION = (7, *range(31, 731, 31), 731)
MONITORING_INTERVALS = (1, 5, 10, 15, 30, 60)
WEEK = 7 * 24 * 60


def _check_database(db: DatabaseConfig, check: Any) -> None:
    backup = WINDOW.fullmatch(db.backup_window)
    check(backup is not None, "database.backup_window", db.backup_window, "expected hh24:mi-hh24:mi in UTC")
    assert backup is not None
    start = int(backup[1]) * 60 + int(backup[2])
    end = int(backup[3]) * 60 + int(backup[4])
    length = (end - start) % (24 * 60)
    check(length >= 30, "database.backup_window", db.backup_window, "expected at least 30 minutes (RDS)")
    weekly = WEEKLY_WINDOW.fullmatch(db.maintenance_window)
    check(
        weekly is not None,
        "database.maintenance_window",
        db.maintenance_window,
        "expected ddd:hh24:mi-ddd:hh24:mi in UTC, e.g. sun:04:00-sun:05:00",
    )
    assert weekly is not None
    m_start = DAYS.index(weekly[1]) * 1440 + int(weekly[2]) * 60 + int(weekly[3])
    m_end = DAYS.index(weekly[4]) * 1440 + int(weekly[5]) * 60 + int(weekly[6])
    m_length = (m_end - m_start) % WEEK
    check(
        m_length >= 30,
        "database.maintenance_window",
        db.maintenance_window,
        "expected at least 30 minutes (RDS)",
    )
    # The backup window recurs daily; the maintenance window must miss every occurrence.
    maintenance = {(m_start + i) % WEEK for i in range(m_length)}
    backups = {(day * 1440 + start + i) % WEEK for day in range(7) for i in range(length)}
    check(
        not maintenance & backups,
        "database.maintenance_window",
        db.maintenance_window,
        f"expected no overlap with backup_window {db.backup_window} (RDS refuses overlapping windows)",
    )
    check(
        1 <= db.hourly_backup_retention_days <= 35,
        "database.hourly_backup_retention_days",
        db.hourly_backup_retention_days,
        "expected 1 to 35",
    )
    check(
        1 <= db.proxy_max_connections_percent <= 100,
        "database.proxy_max_connections_percent",
        db.proxy_max_connections_percent,
        "expected 1 to 100 (percent of max_connections)",
    )
    check(
        0 <= db.proxy_max_idle_connections_percent <= db.proxy_max_connections_percent,
        "database.proxy_max_idle_connections_percent",
        db.proxy_max_idle_connections_percent,
        f"expected 0 to proxy_max_connections_percent ({db.proxy_max_connections_percent})",
    )
    for name in (
        "statement_timeout_seconds",
        "idle_in_transaction_timeout_seconds",
        "idle_session_timeout_seconds",
    ):
        value = getattr(db, name)
        check(1 <= value <= 86400, f"database.{name}", value, "expected 1 to 86400 seconds")
    check(
        1 <= db.slow_query_ms <= 60000,
        "database.slow_query_ms",
        db.slow_query_ms,
        "expected 1 to 60000",
    )
    check(
        db.performance_insights_retention_days in PI_RETENTION,
        "database.performance_insights_retention_days",
        db.performance_insights_retention_days,
        "expected 7, a multiple of 31 up to 713, or 731",
    )
    check(
        db.monitoring_interval_seconds in MONITORING_INTERVALS,
        "database.monitoring_interval_seconds",
        db.monitoring_interval_seconds,
        "expected one of 1, 5, 10, 15, 30, 60",
    )


def _check_deployment(dep: DeploymentConfig, check: Any) -> None:
    check(
        IMAGE_TAG.fullmatch(dep.image_tag) is not None and dep.image_tag != "latest",
        "deployment.image_tag",
        dep.image_tag,
        "expected an ECR image tag such as v1.4.2 or a git sha (letters, digits, _ . -; not latest)",
    )
    check(
        1024 <= dep.test_listener_port <= 65535,
        "deployment.test_listener_port",
        dep.test_listener_port,
        "expected 1024 to 65535 (80 and 443 carry production traffic)",
    )
    for index, cidr in enumerate(dep.operator_cidrs):
        try:
            net = ipaddress.IPv4Network(cidr, strict=True)
        except ValueError:
            net = None
        check(
            net is not None and net.prefixlen >= 8,
            f"deployment.operator_cidrs[{index}]",
            cidr,
            "expected an IPv4 network of /8 or narrower with host bits zero, e.g. 203.0.113.0/24",
        )
    check(
        len(dep.smoke_checks) >= 1,
        "deployment.smoke_checks",
        dep.smoke_checks,
        "expected at least one check (the deployment hook needs something to prove)",
    )
    for index, smoke in enumerate(dep.smoke_checks):
        check(
            isinstance(smoke, SmokeCheck) and smoke.path.startswith("/"),
            f"deployment.smoke_checks[{index}].path",
            getattr(smoke, "path", smoke),
            "expected a path starting with /",
        )
        check(
            100 <= smoke.status <= 599,
            f"deployment.smoke_checks[{index}].status",
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
        value = getattr(dep, name)
        check(low <= value <= high, f"deployment.{name}", value, f"expected {low} to {high}")
    check(
        len(dep.migration_command) >= 1 and all(isinstance(a, str) and a for a in dep.migration_command),
        "deployment.migration_command",
        dep.migration_command,
        "expected a non-empty list of non-empty strings",
    )
    check(
        dep.hosted_zone_id is None or HOSTED_ZONE_ID.fullmatch(dep.hosted_zone_id) is not None,
        "deployment.hosted_zone_id",
        dep.hosted_zone_id,
        "expected None or a Route 53 zone id such as Z0123456789ABCDEFGHIJ",
    )


def _net(cidr: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(cidr)


def _check_types(obj: Any, env: str, path: str = "") -> None:
    """Reject a wrongly typed value (say a string where an int belongs) by its field path."""
    hints = {"int": int, "str": str, "bool": bool}
    for f in fields(obj):
        value = getattr(obj, f.name)
        where = f"{path}{f.name}"
        expected = hints.get(str(f.type))
        if expected is not None and (
            type(value) is not expected  # bool is an int subclass: compare exactly
        ):
            raise ConfigError(f"{env}: {where} = {value!r} is not allowed; expected {expected.__name__}")
        if is_dataclass(value):
            _check_types(value, env, f"{where}.")
        if isinstance(value, dict):
            for key, item in value.items():
                if is_dataclass(item):
                    _check_types(item, env, f"{where}.{key}.")


def validate_all(configs: Iterable[EnvironmentConfig]) -> None:
    """Checks across environments: VPC ranges never overlap, so peering or a VPN stays possible."""
    seen: list[tuple[str, ipaddress.IPv4Network]] = []
    for cfg in configs:
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
