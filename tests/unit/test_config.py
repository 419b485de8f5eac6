"""Configuration: valid per environment, and every bad value stops synth with one clear line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import FrozenInstanceError, fields, is_dataclass, replace
from typing import Any

import pytest

import config
from config.model import LOG_RETENTION_DAYS, ConfigError, EnvironmentConfig, ServiceSize, SmokeCheck
from tests.support import CDK_CONTEXT, ROOT

DEV, STAGING, PROD = config.load()


def test_environments_and_name_tokens() -> None:
    assert [c.name for c in (DEV, STAGING, PROD)] == ["dev", "staging", "production"]
    assert [c.names.prefix for c in (DEV, STAGING, PROD)] == [
        "clever-better-dev",
        "clever-better-staging",
        "clever-better-prod",
    ]
    assert PROD.names.stack("network") == "clever-better-prod-network"
    assert PROD.names.stack("network", dr=True) == "clever-better-prod-dr-network"


def test_production_matches_the_runbook() -> None:
    assert PROD.region == "us-east-1"
    assert PROD.disaster_recovery is not None and PROD.disaster_recovery.region == "us-west-2"
    assert PROD.network.zone_ids == ("use1-az1", "use1-az2", "use1-az4") and PROD.network.nat_gateways == 3
    # Backups, rotation, Multi-AZ, protection, bake time and approval: PROMISED below.
    assert PROD.domain_name == "api.clever-better.com"


# What the README's configuration reference and the runbook promise per environment, written
# out literally: never read back from the configuration under test.
PROMISED: dict[str, dict[str, Any]] = {
    "dev": {
        "database.multi_az": False,
        "deletion_protection": False,
        "termination_protection": False,
        "retain_stateful": False,
        "backup.daily_hour_utc": 2,
        "backup.window": "02:00-03:00",
        "backup.retention_days": 7,
        "backup.hourly_retention_days": 2,
        "backup.vault_lock_min_retention_days": None,
        "log_retention_days": 14,
        "network.flow_log_retention_days": 14,
        "network.interface_endpoints": "one-az",
        "deployment.bake_time_minutes": 5,
        "deployment.approval_gate": False,
        "rotation.admin_days": 30,
        "rotation.application_days": 90,
        "rotation.betfair_days": 180,
    },
    "staging": {
        "database.multi_az": False,
        "deletion_protection": True,
        "termination_protection": False,
        "retain_stateful": False,
        "backup.daily_hour_utc": 2,
        "backup.window": "02:00-03:00",
        "backup.retention_days": 14,
        "backup.hourly_retention_days": 2,
        "backup.vault_lock_min_retention_days": None,
        "log_retention_days": 30,
        "network.flow_log_retention_days": 30,
        "network.interface_endpoints": "every-az",
        "deployment.bake_time_minutes": 10,
        "deployment.approval_gate": False,
        "rotation.admin_days": 30,
        "rotation.application_days": 90,
        "rotation.betfair_days": 180,
    },
    "production": {
        "database.multi_az": True,
        "deletion_protection": True,
        "termination_protection": True,
        "retain_stateful": True,
        "backup.daily_hour_utc": 2,
        "backup.window": "02:00-03:00",
        "backup.retention_days": 30,
        "backup.hourly_retention_days": 2,
        "backup.vault_lock_min_retention_days": 2,
        "log_retention_days": 90,
        "network.flow_log_retention_days": 365,
        "network.interface_endpoints": "every-az",
        # The pilot light's proxy and hooks need them; one zone's keep the standby cheap.
        "disaster_recovery.network.interface_endpoints": "one-az",
        # The bot image's read-only data check after a failover (the image contract).
        "disaster_recovery.integrity_command": ("integrity-check",),
        "deployment.bake_time_minutes": 15,
        "deployment.approval_gate": True,
        "rotation.admin_days": 30,
        "rotation.application_days": 90,
        "rotation.betfair_days": 180,
    },
}


def _get(cfg: EnvironmentConfig, path: str) -> Any:
    value: Any = cfg
    for part in path.split("."):
        value = getattr(value, part)
    return value


@pytest.mark.parametrize(
    "env, path, expected",
    [(env, path, value) for env, promised in PROMISED.items() for path, value in promised.items()],
)
def test_promised_value(env: str, path: str, expected: Any) -> None:
    cfg = {c.name: c for c in (DEV, STAGING, PROD)}[env]
    # `is` for booleans and None: 1 is not True.
    actual = _get(cfg, path)
    assert actual == expected and type(actual) is type(expected), f"{env}: {path} = {actual!r}"


def test_no_reserved_concurrency_unless_configured() -> None:
    # Lambda refuses any reservation in an account at the reduced concurrency quota (10).
    for cfg in (DEV, STAGING, PROD):
        assert cfg.functions.deployment_hook_reserved_concurrency is None
        assert cfg.functions.betfair_rotation_reserved_concurrency is None
    allowed = _fn(PROD, deployment_hook_reserved_concurrency=1, betfair_rotation_reserved_concurrency=900)
    assert (
        allowed.functions.deployment_hook_reserved_concurrency,
        allowed.functions.betfair_rotation_reserved_concurrency,
    ) == (1, 900)


def test_maintenance_window_wrapping_midnight_checked() -> None:
    with pytest.raises(ConfigError, match="expected no overlap"):
        replace(DEV, database=replace(DEV.database, maintenance_window="sat:23:30-sun:02:30"))
    # The monthly VACUUM moves with the window (schedules.db_maintenance must start inside it).
    ok = replace(
        DEV,
        database=replace(DEV.database, maintenance_window="sat:23:00-sun:01:00"),
        schedules=replace(DEV.schedules, db_maintenance="cron(30 0 ? * SUN#1 *)"),
    )
    assert ok.database.maintenance_window == "sat:23:00-sun:01:00"


def test_dev_is_small() -> None:
    assert DEV.network.zone_ids == ("use1-az1", "use1-az2") and DEV.network.nat_gateways == 1
    assert DEV.database.instance_class == "t4g.micro"
    assert DEV.disaster_recovery is None
    assert DEV.domain_name == "dev-api.clever-better.com"


def test_config_is_frozen() -> None:
    with pytest.raises(FrozenInstanceError):
        DEV.region = "eu-west-1"  # type: ignore[misc]
    with pytest.raises(TypeError):
        PROD.services["bot"] = DEV.services["bot"]  # type: ignore[index]
    with pytest.raises(TypeError):
        PROD.tags["Owner"] = "someone"  # type: ignore[index]


def _mutable_values(value: Any, path: str = "config") -> list[str]:
    """Paths of every list, dict or set anywhere in a configuration."""
    if isinstance(value, list | dict | set):
        return [path]
    if is_dataclass(value):
        return [p for f in fields(value) for p in _mutable_values(getattr(value, f.name), f"{path}.{f.name}")]
    if isinstance(value, tuple):
        return [p for i, item in enumerate(value) for p in _mutable_values(item, f"{path}[{i}]")]
    if isinstance(value, Mapping):
        return [p for key, item in value.items() for p in _mutable_values(item, f"{path}.{key}")]
    return []


@pytest.mark.parametrize("cfg", [DEV, STAGING, PROD], ids=lambda c: c.name)
def test_config_holds_no_mutable_containers(cfg: EnvironmentConfig) -> None:
    assert _mutable_values(cfg) == []
    assert len(_mutable_values({"a": 1})) == 1  # the walk does find one


def test_a_list_in_a_section_is_refused() -> None:
    with pytest.raises(
        ConfigError,
        match=r"^dev: deployment.operator_cidrs = \['10.1.0.0/16'\] is not allowed; "
        r"expected a tuple",
    ):
        _dep(DEV, operator_cidrs=["10.1.0.0/16"])


def _net(cfg: EnvironmentConfig, **changes: Any) -> EnvironmentConfig:
    return replace(cfg, network=replace(cfg.network, **changes))


def _dep(cfg: EnvironmentConfig, **changes: Any) -> EnvironmentConfig:
    return replace(cfg, deployment=replace(cfg.deployment, **changes))


def _fn(cfg: EnvironmentConfig, **changes: Any) -> EnvironmentConfig:
    return replace(cfg, functions=replace(cfg.functions, **changes))


def _dr_network() -> Any:
    assert PROD.disaster_recovery is not None
    return PROD.disaster_recovery.network


def _dr(cfg: EnvironmentConfig, **changes: Any) -> EnvironmentConfig:
    assert cfg.disaster_recovery is not None
    return replace(cfg, disaster_recovery=replace(cfg.disaster_recovery, **changes))


BAD = {
    "unknown environment": (
        lambda: replace(DEV, name="qa"),
        "qa: name = 'qa' is not allowed; expected one of dev, staging, production",
    ),
    "malformed account": (
        lambda: replace(DEV, account="12345"),
        "dev: account = '12345' is not allowed; expected a 12-digit AWS account id",
    ),
    "unknown region": (
        lambda: replace(STAGING, region="mars-1"),
        "staging: region = 'mars-1' is not allowed; expected one of us-east-1,",
    ),
    "invalid CIDR": (
        lambda: _net(DEV, vpc_cidr="10.0.0.300/16"),
        "dev: network.vpc_cidr = '10.0.0.300/16' is not allowed; expected an IPv4 network",
    ),
    "CIDR with host bits": (
        lambda: _net(DEV, vpc_cidr="10.0.0.1/16"),
        "dev: network.vpc_cidr = '10.0.0.1/16' is not allowed; expected an IPv4 network",
    ),
    "public CIDR": (
        lambda: _net(DEV, vpc_cidr="8.8.0.0/16"),
        "dev: network.vpc_cidr = '8.8.0.0/16' is not allowed; expected a private (RFC 1918) range",
    ),
    "AZ count out of range": (
        lambda: _net(STAGING, zone_ids=("use1-az1", "use1-az2", "use1-az4", "use1-az5")),
        "staging: network.zone_ids = ('use1-az1', 'use1-az2', 'use1-az4', 'use1-az5') is not allowed; "
        "expected 1 to 3 different availability zone IDs",
    ),
    "the same zone twice": (
        lambda: _net(DEV, zone_ids=("use1-az1", "use1-az1")),
        "dev: network.zone_ids = ('use1-az1', 'use1-az1') is not allowed; expected 1 to 3 different",
    ),
    "a zone of another region": (
        lambda: _net(DEV, zone_ids=("use1-az1", "usw2-az2")),
        "dev: network.zone_ids[1] = 'usw2-az2' is not allowed; expected a zone ID of us-east-1, "
        "e.g. use1-az1",
    ),
    "a zone name instead of an ID": (
        lambda: _net(DEV, zone_ids=("us-east-1a", "use1-az2")),
        "dev: network.zone_ids[0] = 'us-east-1a' is not allowed; expected a zone ID of us-east-1",
    ),
    "the zone RDS Proxy does not support": (
        lambda: _net(DEV, zone_ids=("use1-az1", "use1-az3")),
        "dev: network.zone_ids[1] = 'use1-az3' is not allowed; RDS Proxy does not support this zone",
    ),
    "a DR zone outside the DR region": (
        lambda: _dr(PROD, network=replace(_dr_network(), zone_ids=("use1-az1", "usw2-az2", "usw2-az3"))),
        "production: disaster_recovery.network.zone_ids[0] = 'use1-az1' is not allowed; "
        "expected a zone ID of us-west-2",
    ),
    "more NAT gateways than AZs": (
        lambda: _net(DEV, nat_gateways=3),
        "dev: network.nat_gateways = 3 is not allowed; expected 1 to the number of zones (2)",
    ),
    "interface endpoints placed nowhere known": (
        lambda: _net(DEV, interface_endpoints="two-az"),
        "dev: network.interface_endpoints = 'two-az' is not allowed; expected one of every-az, one-az, none",
    ),
    "no interface endpoints where functions reach AWS only through them": (
        lambda: _net(STAGING, interface_endpoints="none"),
        "staging: network.interface_endpoints = 'none' is not allowed; expected every-az or one-az: the "
        "rotation functions, RDS Proxy and deployment hooks in this VPC send HTTPS only to its endpoints "
        "(Secrets Manager, KMS, ECS), never through NAT",
    ),
    "production endpoints in one zone": (
        lambda: _net(PROD, interface_endpoints="one-az"),
        "production: network.interface_endpoints = 'one-az' is not allowed; production requires every-az",
    ),
    "DR interface endpoints placed nowhere known": (
        lambda: _dr(PROD, network=replace(_dr_network(), interface_endpoints="some")),
        "production: disaster_recovery.network.interface_endpoints = 'some' is not allowed; expected one of "
        "every-az, one-az, none",
    ),
    "no DR interface endpoints for the pilot light's proxy and hooks": (
        lambda: _dr(PROD, network=replace(_dr_network(), interface_endpoints="none")),
        "production: disaster_recovery.network.interface_endpoints = 'none' is not allowed; expected "
        "every-az or one-az: the rotation functions, RDS Proxy and deployment hooks in this VPC send HTTPS "
        "only to its endpoints (Secrets Manager, KMS, ECS), never through NAT",
    ),
    "no DR data integrity command": (
        lambda: _dr(PROD, integrity_command=()),
        "production: disaster_recovery.integrity_command = () is not allowed; expected a non-empty list of "
        "non-empty strings",
    ),
    "retention CloudWatch Logs does not allow": (
        lambda: _net(DEV, flow_log_retention_days=10),
        "dev: network.flow_log_retention_days = 10 is not allowed; expected a CloudWatch Logs retention",
    ),
    "negative log retention": (
        lambda: replace(DEV, log_retention_days=-1),
        "dev: log_retention_days = -1 is not allowed; expected a CloudWatch Logs retention",
    ),
    "DR region equal to primary": (
        lambda: _dr(PROD, region="us-east-1"),
        "production: disaster_recovery.region = 'us-east-1' is not allowed; "
        "expected a region other than the primary us-east-1",
    ),
    "DR CIDR overlapping primary": (
        lambda: _dr(PROD, network=replace(PROD.network, vpc_cidr="10.20.0.0/17")),
        "production: disaster_recovery.network.vpc_cidr = '10.20.0.0/17' is not allowed; "
        "expected a range that does not overlap",
    ),
    "production without 3 AZs": (
        lambda: _net(PROD, zone_ids=("use1-az1", "use1-az2"), nat_gateways=2),
        "production: network.zone_ids = ('use1-az1', 'use1-az2') is not allowed; "
        "production spans 3 availability zones",
    ),
    "backup retention beyond RDS limit": (
        lambda: replace(PROD, backup=replace(PROD.backup, retention_days=36)),
        "production: backup.retention_days = 36 is not allowed; expected 1 to 35 (the RDS limit)",
    ),
    "production backups shorter than runbook": (
        lambda: replace(PROD, backup=replace(PROD.backup, retention_days=7)),
        "production: backup.retention_days = 7 is not allowed; production keeps backups at least 30 days",
    ),
    "vault lock longer than the hourly recovery points": (
        lambda: replace(PROD, backup=replace(PROD.backup, vault_lock_min_retention_days=3)),
        "production: backup.vault_lock_min_retention_days = 3 is not allowed; expected 1 to 2 "
        "(every backup and copy job into a locked vault must keep its recovery points that long: "
        "retention_days 30, hourly_retention_days 2)",
    ),
    "vault lock of zero days": (
        lambda: replace(PROD, backup=replace(PROD.backup, vault_lock_min_retention_days=0)),
        "production: backup.vault_lock_min_retention_days = 0 is not allowed; expected 1 to 2",
    ),
    "vault lock as text": (
        lambda: replace(PROD, backup=replace(PROD.backup, vault_lock_min_retention_days="2")),
        "production: backup.vault_lock_min_retention_days = '2' is not allowed; expected 1 to 2",
    ),
    "production without vault lock": (
        lambda: replace(PROD, backup=replace(PROD.backup, vault_lock_min_retention_days=None)),
        "production: backup.vault_lock_min_retention_days = None is not allowed; production locks its "
        "backup vaults (AWS Backup Vault Lock)",
    ),
    "vault lock outside production": (
        lambda: replace(STAGING, backup=replace(STAGING.backup, vault_lock_min_retention_days=1)),
        "staging: backup.vault_lock_min_retention_days = 1 is not allowed; expected None: only production "
        "locks its vaults (dev and staging delete theirs with their stacks)",
    ),
    "backup hour beyond the day": (
        lambda: replace(DEV, backup=replace(DEV.backup, daily_hour_utc=24)),
        "dev: backup.daily_hour_utc = 24 is not allowed; expected 0 to 23 (the hour, UTC)",
    ),
    "production bake time under 15 minutes": (
        lambda: _dep(PROD, bake_time_minutes=5),
        "production: deployment.bake_time_minutes = 5 is not allowed; production watches a deployment",
    ),
    "bake time over an hour": (
        lambda: _dep(DEV, bake_time_minutes=61),
        "dev: deployment.bake_time_minutes = 61 is not allowed; expected 1 to 60",
    ),
    "production without the approval gate": (
        lambda: _dep(PROD, approval_gate=False),
        "production: deployment.approval_gate = False is not allowed; production requires True",
    ),
    "production without deletion protection": (
        lambda: replace(PROD, deletion_protection=False),
        "production: deletion_protection = False is not allowed; production requires True",
    ),
    "staging without deletion protection": (
        lambda: replace(STAGING, deletion_protection=False),
        "staging: deletion_protection = False is not allowed; staging requires True (only dev may delete "
        "its database and load balancers)",
    ),
    "production backup hour other than the runbook's 02:00": (
        lambda: replace(PROD, backup=replace(PROD.backup, daily_hour_utc=3)),
        "production: backup.daily_hour_utc = 3 is not allowed; production backs up daily at 02:00 UTC",
    ),
    "production backups kept 29 days": (
        lambda: replace(PROD, backup=replace(PROD.backup, retention_days=29)),
        "production: backup.retention_days = 29 is not allowed; production keeps backups at least 30 days",
    ),
    "production admin rotation beyond 30 days": (
        lambda: replace(PROD, rotation=replace(PROD.rotation, admin_days=31)),
        "production: rotation.admin_days = 31 is not allowed; production rotates at least every 30 days",
    ),
    "production application rotation beyond 90 days": (
        lambda: replace(PROD, rotation=replace(PROD.rotation, application_days=91)),
        "production: rotation.application_days = 91 is not allowed; production rotates at least every 90 "
        "days",
    ),
    "production Betfair rotation beyond 180 days": (
        lambda: replace(PROD, rotation=replace(PROD.rotation, betfair_days=181)),
        "production: rotation.betfair_days = 181 is not allowed; production rotates at least every 180 days",
    ),
    "production single-AZ database": (
        lambda: replace(PROD, database=replace(PROD.database, multi_az=False)),
        "production: database.multi_az = False is not allowed; production requires True",
    ),
    "invalid Fargate memory": (
        lambda: replace(DEV, services={**DEV.services, "bot": replace(DEV.services["bot"], memory_mib=300)}),
        "dev: services.bot.memory_mib = 300 is not allowed; expected a multiple of 512 from 512 to 2048",
    ),
    "negative desired count": (
        lambda: replace(
            DEV, services={**DEV.services, "bot": replace(DEV.services["bot"], desired_count=-1)}
        ),
        "dev: services.bot.desired_count = -1 is not allowed; expected 0 to 20",
    ),
    "missing service": (
        lambda: replace(DEV, services={"bot": DEV.services["bot"]}),
        "dev: services = ['bot'] is not allowed; expected exactly bot, ml-service, data-ingestion",
    ),
    "wrong type": (
        lambda: _net(DEV, nat_gateways="1"),
        "dev: network.nat_gateways = '1' is not allowed; expected int",
    ),
    "storage ceiling below allocation": (
        lambda: replace(DEV, database=replace(DEV.database, max_allocated_storage_gib=10)),
        "dev: database.max_allocated_storage_gib = 10 is not allowed; "
        "expected more than allocated_storage_gib",
    ),
    "backup window overlapping maintenance": (
        lambda: replace(DEV, database=replace(DEV.database, maintenance_window="tue:02:30-tue:03:30")),
        "dev: database.maintenance_window = 'tue:02:30-tue:03:30' is not allowed; "
        "expected no overlap with the daily backup window 02:00-03:00",
    ),
    "backup hour moved into maintenance": (
        lambda: replace(DEV, backup=replace(DEV.backup, daily_hour_utc=4)),
        "dev: database.maintenance_window = 'sun:04:00-sun:05:00' is not allowed; "
        "expected no overlap with the daily backup window 04:00-05:00",
    ),
    "malformed maintenance window": (
        lambda: replace(DEV, database=replace(DEV.database, maintenance_window="sunday 4am")),
        "dev: database.maintenance_window = 'sunday 4am' is not allowed; expected ddd:hh24:mi-ddd:hh24:mi",
    ),
    "proxy over 100 percent": (
        lambda: replace(PROD, database=replace(PROD.database, proxy_max_connections_percent=120)),
        "production: database.proxy_max_connections_percent = 120 is not allowed; expected 1 to 100",
    ),
    "idle connections above the proxy limit": (
        lambda: replace(DEV, database=replace(DEV.database, proxy_max_idle_connections_percent=95)),
        "dev: database.proxy_max_idle_connections_percent = 95 is not allowed; expected 0 to proxy_max",
    ),
    "performance insights retention": (
        lambda: replace(DEV, database=replace(DEV.database, performance_insights_retention_days=10)),
        "dev: database.performance_insights_retention_days = 10 is not allowed",
    ),
    "rotation beyond a year": (
        lambda: replace(DEV, rotation=replace(DEV.rotation, betfair_days=400)),
        "dev: rotation.betfair_days = 400 is not allowed; expected 1 to 365",
    ),
    "image tag with a space": (
        lambda: _dep(PROD, image_tag="v1 .2"),
        "production: deployment.image_tag = 'v1 .2' is not allowed; expected an ECR image tag",
    ),
    "image tag latest": (
        lambda: _dep(DEV, image_tag="latest"),
        "dev: deployment.image_tag = 'latest' is not allowed; expected an ECR image tag",
    ),
    "test listener on a production port": (
        lambda: _dep(DEV, test_listener_port=443),
        "dev: deployment.test_listener_port = 443 is not allowed; expected 1024 to 65535",
    ),
    "operator range open to everyone": (
        lambda: _dep(PROD, operator_cidrs=("203.0.113.0/24", "0.0.0.0/0")),
        "production: deployment.operator_cidrs[1] = '0.0.0.0/0' is not allowed; expected an IPv4 network",
    ),
    "smoke check without a leading slash": (
        lambda: _dep(DEV, smoke_checks=(SmokeCheck(path="health"),)),
        "dev: deployment.smoke_checks[0].path = 'health' is not allowed; expected a path starting with /",
    ),
    "no smoke checks": (
        lambda: _dep(DEV, smoke_checks=()),
        "dev: deployment.smoke_checks = () is not allowed; expected at least one check",
    ),
    "negative alarm threshold": (
        lambda: _dep(STAGING, alarm_p95_latency_ms=-5),
        "staging: deployment.alarm_p95_latency_ms = -5 is not allowed; expected 1 to 60000",
    ),
    "empty migration command": (
        lambda: _dep(DEV, migration_command=()),
        "dev: deployment.migration_command = () is not allowed; expected a non-empty list",
    ),
    "scaling ceiling below the desired count": (
        lambda: replace(
            PROD,
            services={**PROD.services, "ml-service": replace(PROD.services["ml-service"], max_count=1)},
        ),
        "production: services.ml-service.max_count = 1 is not allowed; expected None or desired_count (2",
    ),
    "bad hosted zone id": (
        lambda: _dep(DEV, hosted_zone_id="zone-1"),
        "dev: deployment.hosted_zone_id = 'zone-1' is not allowed; expected None or a Route 53 zone id",
    ),
    "bad domain": (
        lambda: replace(DEV, domain_name="Dev API"),
        "dev: domain_name = 'Dev API' is not allowed; expected a lower-case DNS name",
    ),
    "zero reserved concurrency (a throttled hook)": (
        lambda: _fn(DEV, deployment_hook_reserved_concurrency=0),
        "dev: functions.deployment_hook_reserved_concurrency = 0 is not allowed; expected None "
        "(required in accounts at Lambda's reduced concurrency quota of 10) or 1 to 900 "
        "(Lambda keeps 100 of the default 1000 unreserved)",
    ),
    "negative reserved concurrency": (
        lambda: _fn(STAGING, betfair_rotation_reserved_concurrency=-1),
        "staging: functions.betfair_rotation_reserved_concurrency = -1 is not allowed; expected None",
    ),
    "reserved concurrency no account can grant by default": (
        lambda: _fn(PROD, betfair_rotation_reserved_concurrency=901),
        "production: functions.betfair_rotation_reserved_concurrency = 901 is not allowed; expected None",
    ),
    "reserved concurrency as a string": (
        lambda: _fn(DEV, deployment_hook_reserved_concurrency="2"),
        "dev: functions.deployment_hook_reserved_concurrency = '2' is not allowed; expected None",
    ),
}


def _sec(cfg: EnvironmentConfig, **changes: Any) -> EnvironmentConfig:
    return replace(cfg, security=replace(cfg.security, **changes))


BAD.update(
    {
        "no MLflow server": (
            lambda: replace(DEV, mlflow=ServiceSize(cpu=512, memory_mib=1024, desired_count=0)),
            "dev: mlflow.desired_count = 0 is not allowed; expected 1 to 3 (a tracking server that runs)",
        ),
        "an auto-scaled MLflow server": (
            lambda: replace(PROD, mlflow=ServiceSize(cpu=512, memory_mib=1024, desired_count=1, max_count=2)),
            "production: mlflow.max_count = 2 is not allowed; expected None (a fixed count)",
        ),
        "an MLflow size Fargate has not": (
            lambda: replace(STAGING, mlflow=ServiceSize(cpu=512, memory_mib=512, desired_count=1)),
            "staging: mlflow.memory_mib = 512 is not allowed;",
        ),
        "a deploy subject with a wildcard": (
            lambda: _sec(STAGING, deploy_subjects=("ref:refs/heads/*",)),
            "staging: security.deploy_subjects = ('ref:refs/heads/*',) is not allowed; expected one or more "
            "of environment:NAME, ref:refs/heads/BRANCH, ref:refs/tags/TAG (no wildcards, no pull_request)",
        ),
        "pull requests may not deploy": (
            lambda: _sec(DEV, deploy_subjects=("pull_request",)),
            "dev: security.deploy_subjects = ('pull_request',) is not allowed",
        ),
        "production deploys from a branch": (
            lambda: _sec(PROD, deploy_subjects=("ref:refs/heads/main",)),
            "production: security.deploy_subjects = ('ref:refs/heads/main',) is not allowed; production "
            "deploys only from protected GitHub environments",
        ),
        "an operator principal that is a wildcard": (
            lambda: _sec(DEV, admin_principals=("*",)),
            "dev: security.admin_principals = ('*',) is not allowed; expected one or more of account, "
            "an IAM user or role ARN, sso:PermissionSetName",
        ),
        "nobody may assume the read-only role": (
            lambda: _sec(DEV, readonly_principals=()),
            "dev: security.readonly_principals = () is not allowed",
        ),
        "a read-only session longer than IAM allows": (
            lambda: _sec(DEV, readonly_session_hours=13),
            "dev: security.readonly_session_hours = 13 is not allowed; expected 1 to 12 (IAM's limit)",
        ),
        "a repository that is not OWNER/REPO": (
            lambda: _sec(DEV, github_repository="clever-better"),
            "dev: security.github_repository = 'clever-better' is not allowed; expected OWNER/REPO",
        ),
        "production's audit trail kept less than a year": (
            lambda: _sec(PROD, audit_bucket_retention_days=180),
            "production: security.audit_bucket_retention_days = 180 is not allowed; production keeps its "
            "audit trail at least 365 days",
        ),
        "audit logs kept a retention CloudWatch Logs does not offer": (
            lambda: _sec(DEV, audit_log_retention_days=100),
            "dev: security.audit_log_retention_days = 100 is not allowed; "
            "expected a CloudWatch Logs retention",
        ),
    }
)


def _backup(cfg: EnvironmentConfig, **changes: Any) -> EnvironmentConfig:
    return replace(cfg, backup=replace(cfg.backup, **changes))


BAD.update(
    {
        "a restore test on no weekday": (
            lambda: _backup(DEV, restore_test_day="saturday"),
            "dev: backup.restore_test_day = 'saturday' is not allowed; "
            "expected None (no restore test) or one of mon",
        ),
        "a restore test while the day's backup runs": (
            lambda: _backup(PROD, restore_test_hour_utc=2),
            "production: backup.restore_test_hour_utc = 2 is not allowed; "
            "expected another hour than the daily backup's (2)",
        ),
        "a restore test on a class RDS does not offer": (
            lambda: _backup(STAGING, restore_test_instance_class="db.t4g.micro"),
            "staging: backup.restore_test_instance_class = 'db.t4g.micro' is not allowed; "
            "expected an RDS class",
        ),
    }
)


def test_operator_principals_of_every_form_are_accepted() -> None:
    principals = (
        "account",
        "arn:aws:iam::444455556666:role/oncall",
        "arn:aws:iam::111111111111:user/alice",
        "sso:OnCallAdmin",
    )
    cfg = _sec(DEV, admin_principals=principals, readonly_principals=principals)
    assert cfg.security.admin_principals == principals


@pytest.mark.parametrize("build, message", BAD.values(), ids=BAD.keys())
def test_bad_value_names_environment_and_field(build: Any, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        build()
    text = str(error.value)
    assert text.startswith(message), text
    assert "\n" not in text


def test_every_interface_endpoint_placement_is_accepted_where_it_is_safe() -> None:
    # dev, staging and the DR pilot light may have one zone's.
    for placement in ("every-az", "one-az"):
        assert _dr(PROD, network=replace(_dr_network(), interface_endpoints=placement))
        assert _net(DEV, interface_endpoints=placement) and _net(STAGING, interface_endpoints=placement)


def test_unknown_environment_selected() -> None:
    with pytest.raises(
        ConfigError, match=r"^environment 'qa' is unknown; expected one of dev, staging, production$"
    ):
        config.load(("dev", "qa"))


def test_account_override_is_validated() -> None:
    with pytest.raises(ConfigError, match=r"^production: account = 'abc' is not allowed"):
        config.load(accounts={"production": "abc"})
    (prod,) = config.load(("production",), accounts={"production": "444455556666"})
    assert prod.account == "444455556666"


def test_overlapping_environments_rejected() -> None:
    from config.model import validate_all

    clash = _net(STAGING, vpc_cidr="10.0.0.0/16")
    with pytest.raises(
        ConfigError, match=r"^staging: network.vpc_cidr = '10.0.0.0/16' is not allowed; it overlaps dev"
    ):
        validate_all([DEV, clash, PROD])


def test_every_retention_value_maps_to_cdk() -> None:
    from components.retention import retention

    assert len({retention(days) for days in LOG_RETENTION_DAYS}) == len(LOG_RETENTION_DAYS)


@pytest.mark.parametrize(
    "context, environ, expected",
    [
        ({"environments": "dev,qa"}, {}, "environment 'qa' is unknown"),
        ({"dev_account": "12"}, {}, "dev: account = '12' is not allowed"),
        ({}, {"CLEVER_BETTER_STAGING_ACCOUNT": "x"}, "staging: account = 'x' is not allowed"),
        ({"image_tag": "v1;rm"}, {}, "dev: deployment.image_tag = 'v1;rm' is not allowed"),
    ],
)
def test_app_stops_with_one_line(context: dict[str, str], environ: dict[str, str], expected: str) -> None:
    """`cdk synth` runs app.py with context in CDK_CONTEXT_JSON: a bad value is one line on stderr."""
    env = {**os.environ, **environ, "CDK_CONTEXT_JSON": json.dumps({**CDK_CONTEXT, **context})}
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [lines[0]] and lines[0].startswith(f"configuration error: {expected}"), result.stderr
