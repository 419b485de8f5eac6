from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from components.security import OperatorRoles
from config.model import EnvironmentConfig
from config.names import OPERATOR_ROLES
from stacks.base import CleverBetterStack


class AccessStack(CleverBetterStack):
    """Stateless: the runbook's DeploymentRole, ReadOnlyRole and AdminRole of this environment
    (`clever-better-{token}-AdminRole`). DeploymentRole trusts the account's GitHub OIDC provider
    (the audit stack's, or the account's own) by its ARN."""

    UNIT = "access"
    STATEFUL = False
    SUMMARY = "the runbook's DeploymentRole, ReadOnlyRole and AdminRole (MFA, break-glass)"

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id, config=config)
        regions = [config.region]
        if config.disaster_recovery is not None:
            regions.append(config.disaster_recovery.region)
        self.roles = OperatorRoles(
            self, "Roles", names=config.names, security=config.security, regions=regions
        )
        for kind, role in zip(
            OPERATOR_ROLES, (self.roles.deployment, self.roles.read_only, self.roles.admin), strict=True
        ):
            cdk.CfnOutput(self, f"{kind}Arn", value=role.role_arn, description=f"The runbook's {kind}")
