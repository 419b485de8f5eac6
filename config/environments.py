"""The three environments, in code. `app.py` may override only the accounts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from config.model import (
    ENVIRONMENTS,
    BackupConfig,
    ConfigError,
    DatabaseConfig,
    DeploymentConfig,
    DisasterRecoveryConfig,
    EnvironmentConfig,
    MonitoringConfig,
    NetworkConfig,
    SecurityConfig,
    ServiceSize,
    validate_all,
)

# Placeholders: real accounts come from `-c production_account=...` or
# CLEVER_BETTER_PRODUCTION_ACCOUNT. With a placeholder, the CDK CLI refuses to
# deploy to whatever account the caller's credentials belong to.
PLACEHOLDER_ACCOUNTS = {
    "dev": "111111111111",
    "staging": "222222222222",
    "production": "333333333333",
}
PRIMARY_REGION = "us-east-1"
DR_REGION = "us-west-2"


def _dev() -> EnvironmentConfig:
    return EnvironmentConfig(
        name="dev",
        account=PLACEHOLDER_ACCOUNTS["dev"],
        region=PRIMARY_REGION,
        domain_name="dev-api.clever-better.com",
        network=NetworkConfig(
            vpc_cidr="10.0.0.0/16",
            zone_ids=("use1-az1", "use1-az2"),
            nat_gateways=1,
            flow_log_retention_days=14,
            # Half the endpoint bill; a sandbox can live with its second zone depending on the first.
            interface_endpoints="one-az",
        ),
        database=DatabaseConfig(
            instance_class="t4g.micro", allocated_storage_gib=20, max_allocated_storage_gib=50, multi_az=False
        ),
        backup=BackupConfig(retention_days=7),
        services={
            "bot": ServiceSize(cpu=256, memory_mib=512, desired_count=1),
            "ml-service": ServiceSize(cpu=512, memory_mib=1024, desired_count=1, max_count=2),
            "data-ingestion": ServiceSize(cpu=256, memory_mib=512, desired_count=1),
        },
        log_retention_days=14,
        deletion_protection=False,
        deployment=DeploymentConfig(bake_time_minutes=5, approval_gate=False),
        monitoring=MonitoringConfig(pages=False),
        # The GitHub environments whose jobs deploy here (.github/workflows/deploy.yml).
        security=SecurityConfig(deploy_subjects=("environment:dev",), audit_bucket_retention_days=365),
    )


def _staging() -> EnvironmentConfig:
    return EnvironmentConfig(
        name="staging",
        account=PLACEHOLDER_ACCOUNTS["staging"],
        region=PRIMARY_REGION,
        domain_name="staging-api.clever-better.com",
        network=NetworkConfig(
            vpc_cidr="10.10.0.0/16",
            zone_ids=("use1-az1", "use1-az2"),
            nat_gateways=2,
            flow_log_retention_days=30,
            # As production: a zone's outage is rehearsed where it behaves as it will there.
            interface_endpoints="every-az",
        ),
        database=DatabaseConfig(
            instance_class="t4g.medium",
            allocated_storage_gib=50,
            max_allocated_storage_gib=200,
            multi_az=False,
        ),
        backup=BackupConfig(retention_days=14),
        services={
            "bot": ServiceSize(cpu=512, memory_mib=1024, desired_count=1),
            "ml-service": ServiceSize(cpu=1024, memory_mib=2048, desired_count=1, max_count=3),
            "data-ingestion": ServiceSize(cpu=512, memory_mib=1024, desired_count=1),
        },
        log_retention_days=30,
        deletion_protection=True,
        deployment=DeploymentConfig(bake_time_minutes=10, approval_gate=False),
        security=SecurityConfig(deploy_subjects=("environment:staging",)),
    )


def _production() -> EnvironmentConfig:
    return EnvironmentConfig(
        name="production",
        account=PLACEHOLDER_ACCOUNTS["production"],
        region=PRIMARY_REGION,
        domain_name="api.clever-better.com",
        network=NetworkConfig(
            vpc_cidr="10.20.0.0/16",
            zone_ids=("use1-az1", "use1-az2", "use1-az4"),
            nat_gateways=3,
            flow_log_retention_days=365,
            interface_endpoints="every-az",
        ),
        database=DatabaseConfig(
            instance_class="r7g.large",
            allocated_storage_gib=100,
            max_allocated_storage_gib=1000,
            multi_az=True,
            performance_insights_retention_days=31,
            monitoring_interval_seconds=15,
        ),
        services={
            "bot": ServiceSize(cpu=1024, memory_mib=2048, desired_count=2),
            "ml-service": ServiceSize(cpu=2048, memory_mib=4096, desired_count=2, max_count=6),
            "data-ingestion": ServiceSize(cpu=512, memory_mib=1024, desired_count=1),
        },
        # Runbook: daily at 02:00 UTC (BackupConfig's default hour), kept 30 days. The vaults
        # are locked for as long as the shortest-lived (hourly) recovery points live.
        backup=BackupConfig(retention_days=30, vault_lock_min_retention_days=2),
        log_retention_days=90,
        deletion_protection=True,
        # Runbook: approval, then a 15-minute watch with instant rollback.
        deployment=DeploymentConfig(bake_time_minutes=15, approval_gate=True),
        # release.yml's deploy and rollback jobs (`production`) and its approval (`production-approval`).
        security=SecurityConfig(
            deploy_subjects=("environment:production", "environment:production-approval")
        ),
        # Warm standby: the network exists so the runbook's "deploy to the DR
        # region" step fits in the 4-hour RTO. One NAT gateway until failover, and no interface
        # endpoints while nothing is attached to it (27 endpoint-AZs, about $197 a month): set
        # every-az before deploying anything into it.
        disaster_recovery=DisasterRecoveryConfig(
            region=DR_REGION,
            network=NetworkConfig(
                vpc_cidr="10.30.0.0/16",
                zone_ids=("usw2-az1", "usw2-az2", "usw2-az3"),
                nat_gateways=1,
                flow_log_retention_days=365,
                interface_endpoints="one-az",
            ),
        ),
    )


_BUILDERS = {"dev": _dev, "staging": _staging, "production": _production}


def load(
    names: tuple[str, ...] = ENVIRONMENTS,
    *,
    accounts: Mapping[str, str] | None = None,
    image_tag: str | None = None,
) -> list[EnvironmentConfig]:
    """Build and validate the named environments; `accounts` overrides the placeholders,
    `image_tag` is the release the services run (default: DEFAULT_IMAGE_TAG)."""
    accounts = dict(accounts or {})
    for name in list(names) + list(accounts):
        if name not in _BUILDERS:
            raise ConfigError(f"environment {name!r} is unknown; expected one of {', '.join(ENVIRONMENTS)}")
    configs = []
    for name in names:
        cfg = _BUILDERS[name]()
        if name in accounts:
            cfg = replace(cfg, account=accounts[name])  # replace() re-runs validation
        if image_tag is not None:
            cfg = replace(cfg, deployment=replace(cfg.deployment, image_tag=image_tag))
        configs.append(cfg)
    # Cross-environment checks always see every environment, even when one is selected.
    validate_all(_BUILDERS[n]() if n not in names else configs[names.index(n)] for n in ENVIRONMENTS)
    return configs
