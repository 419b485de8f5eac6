"""Every wildcard the app grants in IAM and every AWS managed policy it attaches, each with why.

The one reviewed home for exceptions to least privilege (tests/unit/test_properties.py enforces
it): a new wildcard or managed policy fails until it is added here with a true reason, and an
entry that no longer matches anything fails too. Keys are construct paths (the template's
`aws:cdk:path` metadata) without the stage, so one entry covers the construct in every
environment that has it.
"""

from __future__ import annotations

# Lambda's documented VPC permissions (Lambda developer guide, "Giving Lambda functions access to
# resources in an Amazon VPC"); EC2's Describe actions have no resource-level permissions, so
# IAM accepts only "*" (Service Authorization Reference, Amazon EC2: no resource type listed).
_LAMBDA_VPC = (
    "EC2 Describe actions have no resource-level permissions; Lambda needs them to attach the "
    "function to its VPC subnets (components/functions.py denies them to the function's own code)."
)
_LAMBDA_VPC_POLICIES = (
    "data/Database/Roles/FunctionPolicy/Resource",
    "secrets/Secrets/RotationPolicy/Resource",
    "services/BotDeployment/HookPolicy/Resource",
    "services/MlServiceDeployment/HookPolicy/Resource",
)
_ECR_TOKEN = (
    "ecr:GetAuthorizationToken has no resource-level permissions (it returns a registry login, "
    "not a repository); image pulls are granted on the service's own repository only."
)
_TASKS = ("Bot", "DataIngestion", "MlService", "Migration")

# (construct path, action) -> reason, for an Allow statement whose action holds `*` or whose
# Resource is "*" (or a list holding "*").
WILDCARDS: dict[tuple[str, str], str] = {
    **{
        (path, action): _LAMBDA_VPC
        for path in _LAMBDA_VPC_POLICIES
        for action in ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
    },
    **{
        (
            f"services/{task}/Task/ExecutionRole/DefaultPolicy/Resource",
            "ecr:GetAuthorizationToken",
        ): _ECR_TOKEN
        for task in _TASKS
    },
}

# (role's construct path, AWS managed policy name) -> reason, for ManagedPolicyArns that are not
# the app's own AWS::IAM::ManagedPolicy (those are checked statement by statement).
MANAGED_POLICIES: dict[tuple[str, str], str] = {
    (
        "data/Backups/Plan/Database/Role/Resource",
        "AWSBackupServiceRolePolicyForBackup",
    ): "AWS Backup's service role for creating and copying the RDS snapshots; AWS maintains it.",
    (
        "data/Database/Instance/MonitoringRole/Resource",
        "AmazonRDSEnhancedMonitoringRole",
    ): "Lets RDS write Enhanced Monitoring OS metrics to the RDSOSMetrics log group only.",
    **{
        (
            f"services/{service}/Service/AlternateRole/Resource",
            "AmazonECSInfrastructureRolePolicyForLoadBalancers",
        ): "The ECS infrastructure role for blue/green: ECS moves listener-rule weights and target "
        "registrations with it (ECS developer guide, infrastructure IAM role for load balancers)."
        for service in ("Bot", "MlService")
    },
    (
        "network/Custom::VpcRestrictDefaultSGCustomResourceProvider/Role",
        "AWSLambdaBasicExecutionRole",
    ): "The CDK's own provider for restrict_default_security_group attaches it so its function "
    "can write its logs; the CDK offers no setting to replace it.",
}
