"""One Stage per environment, plus production's disaster-recovery stage."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from config.model import EnvironmentConfig
from stacks.access_stack import AccessStack
from stacks.alerting_stack import AlertingStack
from stacks.audit_stack import AuditStack
from stacks.data_stack import DataStack, DisasterRecoveryDataStack
from stacks.dr_audit_stack import DisasterRecoveryAuditStack
from stacks.monitoring_stack import MonitoringStack
from stacks.network_stack import NetworkStack
from stacks.registry_stack import DisasterRecoveryRegistryStack, RegistryStack
from stacks.secrets_stack import SecretsStack
from stacks.services_stack import ServicesStack


class EnvironmentStage(cdk.Stage):
    """dev, staging or production in the primary region. Select with `cdk deploy 'dev/*'`."""

    def __init__(self, scope: Construct, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, config.name)
        self.network = NetworkStack(self, "network", config=config)
        self.data = DataStack(self, "data", config=config, network=self.network.network)
        self.secrets = SecretsStack(self, "secrets", config=config, network=self.network.network)
        self.registry = RegistryStack(self, "registry", config=config)
        self.services = ServicesStack(
            self,
            "services",
            config=config,
            network=self.network.network,
            database=self.data.database,
            buckets=self.data.buckets,
            secrets=self.secrets.secrets,
            images=self.registry.images,
        )
        self.monitoring = MonitoringStack(
            self, "monitoring", config=config, services=self.services, network=self.network.network
        )
        self.alerting = AlertingStack(
            self,
            "alerting",
            config=config,
            monitoring=self.monitoring,
            network=self.network.network,
            secret_key=self.secrets.secrets.key,
        )
        # One per account: only where this environment owns the account's baseline.
        self.audit = AuditStack(self, "audit", config=config) if config.security.account_baseline else None
        if self.audit is not None:
            # Its rules publish to the monitoring stack's topics, which admit them by name.
            self.audit.add_stack_dependency(self.monitoring)
        self.access = AccessStack(self, "access", config=config)
        if self.audit is not None:
            # DeploymentRole trusts the OIDC provider the audit stack creates.
            self.access.add_stack_dependency(self.audit)


class DisasterRecoveryStage(cdk.Stage):
    """Production's warm standby in the DR region. Select with `cdk deploy 'production-dr/*'`."""

    def __init__(self, scope: Construct, *, config: EnvironmentConfig) -> None:
        dr = config.disaster_recovery
        assert dr is not None, "only environments with a DR region get a DR stage"
        super().__init__(scope, f"{config.name}-dr")
        self.network = NetworkStack(self, "network", config=config, dr=True)
        self.data = DisasterRecoveryDataStack(self, "data", config=config, network=self.network.network)
        self.registry = DisasterRecoveryRegistryStack(self, "registry", config=config)
        # Reads the primary secrets stack's outputs (the replicas' ARNs) when it deploys.
        self.services = ServicesStack(
            self,
            "services",
            config=config,
            network=self.network.network,
            database=self.data.standby,
            buckets=self.data.buckets,
            secrets=None,
            images=self.registry.replicas,
            dr=True,
        )
        # The pilot light's P0/P1 alarms, routed and halting as in the primary region.
        self.monitoring = MonitoringStack(
            self, "monitoring", config=config, services=self.services, network=self.network.network, dr=True
        )
        self.alerting = AlertingStack(
            self,
            "alerting",
            config=config,
            monitoring=self.monitoring,
            network=self.network.network,
            secret_key=self.data.key,
            dr=True,
        )
        self.audit = (
            DisasterRecoveryAuditStack(self, "audit", config=config)
            if config.security.account_baseline
            else None
        )


def add_environment(app: cdk.App, config: EnvironmentConfig) -> list[cdk.Stage]:
    stages: list[cdk.Stage] = [EnvironmentStage(app, config=config)]
    if config.disaster_recovery is not None:
        stages.append(DisasterRecoveryStage(app, config=config))
    return stages
