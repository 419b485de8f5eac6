from components.security.access import OperatorRoles
from components.security.baseline import (
    AuditTrail,
    ComplianceRules,
    ForwardToPrimary,
    ThreatDetection,
    github_oidc_provider,
)
from components.security.secrets import ApplicationSecrets

__all__ = [
    "ApplicationSecrets",
    "AuditTrail",
    "ComplianceRules",
    "ForwardToPrimary",
    "OperatorRoles",
    "ThreatDetection",
    "github_oidc_provider",
]
