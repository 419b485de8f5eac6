from components.security.access import OperatorRoles
from components.security.baseline import AuditTrail, ComplianceRules, ThreatDetection, github_oidc_provider
from components.security.secrets import ApplicationSecrets

__all__ = [
    "ApplicationSecrets",
    "AuditTrail",
    "ComplianceRules",
    "OperatorRoles",
    "ThreatDetection",
    "github_oidc_provider",
]
