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
    "data/Maintenance/FunctionPolicy/Resource",
    "secrets/Secrets/RotationPolicy/Resource",
    "services/BotDeployment/HookPolicy/Resource",
    "services/MlServiceDeployment/HookPolicy/Resource",
)
_ECR_TOKEN = (
    "ecr:GetAuthorizationToken has no resource-level permissions (it returns a registry login, "
    "not a repository); image pulls are granted on the service's own repository only."
)
_TASKS = ("Bot", "DataIngestion", "MlService", "Migration", "Mlflow")
_ECS_EXEC = (
    "ECS Exec's agent opens its Session Manager channels (make mlflow-ui's port-forward); the "
    "ssmmessages actions have no resource types (Service Authorization Reference), so IAM "
    "accepts only *."
)

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
    **{
        ("services/Mlflow/Task/TaskRole/DefaultPolicy/Resource", f"ssmmessages:{action}"): _ECS_EXEC
        for action in ("CreateControlChannel", "CreateDataChannel", "OpenControlChannel", "OpenDataChannel")
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
    # The DR standby's, for the instance make dr-failover restores (components/data/standby.py).
    (
        "data/Standby/MonitoringRole/Resource",
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

# The drift check (components/monitoring/drift.py) where the monitoring stack holds it as
# `DriftCheck`: not in WILDCARDS until that stack exists (whoever adds the check to it adds
# `**DRIFT_CHECK_WILDCARDS` to WILDCARDS); tests/unit/test_drift_check.py checks them against the
# construct meanwhile. The reads are each resource type's registry-schema read handler's, reads only.
_DRIFT_READS_REASON = (
    "CloudFormation drift detection reads each resource of a stack with the caller's credentials (User "
    "Guide, considerations when detecting drift): the read-only actions of the resource types our stacks "
    "hold, on resources with generated names; many of these actions take no resource at all."
)
_DRIFT_READS = (
    "acm:DescribeCertificate", "acm:ListTagsForCertificate",
    "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:DescribeScheduledActions", "application-autoscaling:ListTagsForResource",
    "backup:DescribeBackupVault", "backup:GetBackupPlan", "backup:GetBackupSelection",
    "backup:GetBackupVaultAccessPolicy", "backup:GetBackupVaultNotifications", "backup:ListTags",
    "cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard", "cloudwatch:ListTagsForResource",
    "dynamodb:DescribeContinuousBackups", "dynamodb:DescribeContributorInsights",
    "dynamodb:DescribeKinesisStreamingDestination", "dynamodb:DescribeTable", "dynamodb:DescribeTimeToLive",
    "dynamodb:GetResourcePolicy", "dynamodb:ListTagsOfResource",
    "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
    "ec2:DescribeFlowLogs", "ec2:DescribeInternetGateways", "ec2:DescribeNatGateways",
    "ec2:DescribeNetworkAcls", "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcAttribute",
    "ec2:DescribeVpcEncryptionControls", "ec2:DescribeVpcEndpoints", "ec2:DescribeVpcs",
    "ec2:DescribeVpnGateways",
    "ecr:DescribeRegistry", "ecr:DescribeRepositories", "ecr:DescribeRepositoryCreationTemplates",
    "ecr:GetLifecyclePolicy", "ecr:GetRepositoryPolicy", "ecr:ListTagsForResource",
    "ecs:DescribeClusters", "ecs:DescribeServices", "ecs:DescribeTaskDefinition",
    "elasticloadbalancing:DescribeCapacityReservation", "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:GetLoadBalancerWebACL",
    "iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetRole", "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies", "iam:ListEntitiesForPolicy", "iam:ListRolePolicies",
    "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListAliases",
    "kms:ListResourceTags",
    "lambda:GetEventSourceMapping", "lambda:GetFunction", "lambda:GetFunctionCodeSigningConfig",
    "lambda:GetFunctionRecursionConfig", "lambda:GetFunctionScalingConfig", "lambda:GetPolicy",
    "lambda:GetRuntimeManagementConfig", "lambda:ListTags",
    "logs:DescribeIndexPolicies", "logs:DescribeLogGroups", "logs:DescribeMetricFilters",
    "logs:DescribeQueryDefinitions", "logs:DescribeResourcePolicies", "logs:GetDataProtectionPolicy",
    "logs:ListTagsForResource",
    "rds:DescribeDBInstances", "rds:DescribeDBParameterGroups", "rds:DescribeDBParameters",
    "rds:DescribeDBProxies", "rds:DescribeDBProxyTargetGroups", "rds:DescribeDBProxyTargets",
    "rds:DescribeDBSubnetGroups", "rds:ListTagsForResource",
    "route53:GetHealthCheck", "route53:GetHostedZone", "route53:ListHostedZones",
    "route53:ListResourceRecordSets", "route53:ListTagsForResource",
    "s3:GetAccelerateConfiguration", "s3:GetAnalyticsConfiguration", "s3:GetBucketAbac",
    "s3:GetBucketCORS", "s3:GetBucketLogging", "s3:GetBucketMetadataTableConfiguration",
    "s3:GetBucketNotification", "s3:GetBucketObjectLockConfiguration", "s3:GetBucketOwnershipControls",
    "s3:GetBucketPolicy", "s3:GetBucketPublicAccessBlock", "s3:GetBucketTagging", "s3:GetBucketVersioning",
    "s3:GetBucketWebsite", "s3:GetEncryptionConfiguration", "s3:GetIntelligentTieringConfiguration",
    "s3:GetInventoryConfiguration", "s3:GetLifecycleConfiguration", "s3:GetMetricsConfiguration",
    "s3:GetReplicationConfiguration", "s3:ListBucket", "s3:ListTagsForResource",
    "scheduler:GetSchedule",
    "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy",
    "sns:GetDataProtectionPolicy", "sns:GetSubscriptionAttributes", "sns:GetTopicAttributes",
    "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource",
    "sqs:GetQueueAttributes", "sqs:ListQueueTags",
    "ssm:GetParameters", "ssm:ListTagsForResource",
    "wafv2:GetLoggingConfiguration", "wafv2:GetWebACL", "wafv2:GetWebACLForResource",
    "wafv2:ListTagsForResource",
    # the data stack's restore test and the audit stack's types
    "backup:GetRestoreTestingPlan", "backup:GetRestoreTestingSelection",
    "cloudtrail:DescribeTrails", "cloudtrail:GetEventConfiguration", "cloudtrail:GetEventSelectors",
    "cloudtrail:GetInsightSelectors", "cloudtrail:GetTrail", "cloudtrail:GetTrailStatus",
    "cloudtrail:ListTags",
    "config:DescribeComplianceByConfigRule", "config:DescribeConfigRules",
    "config:DescribeConfigurationRecorders", "config:ListTagsForResource", "config:DescribeDeliveryChannels",
    "events:DescribeRule", "events:ListTagsForResource", "events:ListTargetsByRule",
    "guardduty:GetDetector", "guardduty:ListTagsForResource", "iam:GetOpenIDConnectProvider",
)  # fmt: skip
DRIFT_CHECK_WILDCARDS: dict[tuple[str, str], str] = {
    **dict.fromkeys(
        (("monitoring/DriftCheck/CheckPolicy/Resource", a) for a in _DRIFT_READS), _DRIFT_READS_REASON
    ),
    (
        "monitoring/DriftCheck/CheckPolicy/Resource",
        "cloudformation:DescribeStackDriftDetectionStatus",
    ): "Addressed by a drift detection id, not a stack: the Service Authorization Reference lists no "
    "resource type for it.",
    (
        "monitoring/DriftCheck/CheckPolicy/Resource",
        "cloudwatch:PutMetricData",
    ): "PutMetricData takes no resource; the statement's cloudwatch:namespace condition holds it to "
    "CleverBetter/Operations.",
    **{
        ("monitoring/DriftCheck/FunctionPolicy/Resource", action): _LAMBDA_VPC
        for action in ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
    },
}

# The monitoring stack holds the drift check.
WILDCARDS = {**WILDCARDS, **DRIFT_CHECK_WILDCARDS}
# The data stack's monthly VACUUM (ANALYZE) publishes its run's metrics.
WILDCARDS[("data/Maintenance/MetricsPolicy/Resource", "cloudwatch:PutMetricData")] = (
    "PutMetricData takes no resource; the statement's cloudwatch:namespace condition holds it to "
    "CleverBetter/Operations."
)
# The alerting stack's router and trading halt: Lambda's VPC attachment, like every VPC function of ours.
WILDCARDS = {
    **WILDCARDS,
    **{
        (f"alerting/{construct}/FunctionPolicy/Resource", action): _LAMBDA_VPC
        for construct in ("Router", "Halt", "DailyReport")
        for action in ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
    },
    ("alerting/Router/FunctionPolicy/Resource", "cloudwatch:DescribeAlarms"): (
        "The 30-minute reminders read which of the environment's P0/P1 alarms are still in ALARM "
        "(by name prefix); alarm states only, on `*` as the reads of alarms are granted."
    ),
}
# The daily operations report (components/alerting/report.py) only reads.
_REPORT_READS = "alerting/DailyReport/ReadPolicy/Resource"
WILDCARDS |= {
    (_REPORT_READS, "cloudwatch:DescribeAlarms"): (
        "The report lists the environment's alarms in ALARM (by name prefix); alarm states only, on "
        "`*` as the reads of alarms are granted."
    ),
    (_REPORT_READS, "cloudwatch:GetMetricData"): "GetMetricData takes no resource (Service Authorization "
    "Reference: no resource type); the report reads the day's trading, error, and database metrics.",
    (_REPORT_READS, "backup:ListBackupJobs"): "ListBackupJobs takes no resource (Service Authorization "
    "Reference: no resource type); the report counts the vault's jobs of the last 24 hours by state.",
    (_REPORT_READS, "ecs:ListTasks"): "ListTasks is authorised on container instances, which Fargate "
    "tasks have none of; the statement's ecs:cluster condition holds it to the environment's cluster.",
}

# Scheduled training (components/services/training.py): finds, starts and stops its tasks, publishes
# each run's outcome and reads back the last failure streak.
_TRAINING = "services/Training/RunPolicy/Resource"
WILDCARDS |= {
    ("services/Training/FunctionPolicy/Resource", action): _LAMBDA_VPC
    for action in ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
}
WILDCARDS |= {
    (_TRAINING, "ecs:ListTasks"): "ListTasks is authorised on container instances, which Fargate tasks "
    "have none of; the statement's ecs:cluster condition holds it to the environment's cluster.",
    (_TRAINING, "cloudwatch:PutMetricData"): "PutMetricData takes no resource; the statement's "
    "cloudwatch:namespace condition holds it to CleverBetter/Operations.",
    (_TRAINING, "cloudwatch:GetMetricData"): "GetMetricData takes no resource (Service Authorization "
    "Reference: no resource type); the function reads back the last published failure streak.",
}

# The security unit (components/security): the runbook's roles and AWS Config's drift rule.
_PIPELINE_READS = (
    "cloudformation:DescribeStacks", "cloudformation:DescribeStackResources", "rds:DescribeDBInstances",
    "rds:DescribeDBSnapshots", "ecs:DescribeServices", "ecs:ListServiceDeployments",
    "ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions", "ecs:ListTasks",
    "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth", "backup:DescribeBackupVault", "logs:DescribeLogGroups",
    "ecr:DescribeRepositories", "secretsmanager:DescribeSecret", "s3:ListBucket",
)  # fmt: skip
WILDCARDS = {
    **WILDCARDS,
    **dict.fromkeys(
        (("access/Roles/DeploymentPolicy/Resource", a) for a in _PIPELINE_READS),
        "The pipeline's operator steps (predeploy-check, clear-failed-creates, approve, rollback, "
        "deploy-status, smoke-test) read deployment state with Describe and List calls (never a value).",
    ),
    **dict.fromkeys(
        (
            ("audit/Compliance/DriftDetectionPolicy/Resource", a)
            for a in (
                "cloudformation:DetectStackDrift",
                "cloudformation:DetectStackResourceDrift",
                "cloudformation:DescribeStackDriftDetectionStatus",
            )
        ),
        "AWS Config's CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK detects drift on every stack of the "
        "account and region it evaluates; the role holds only these three calls besides its reads.",
    ),
}
MANAGED_POLICIES = {
    **MANAGED_POLICIES,
    ("data/RestoreTest/Role/Resource", "AWSBackupServiceRolePolicyForRestores"): (
        "AWS Backup's service role for restores, as the weekly restore test needs it per resource "
        "type; AWS maintains it."
    ),
    ("access/Roles/AdminRole/Resource", "AdministratorAccess"): (
        "The runbook's break-glass role: administrator access in an emergency, with MFA at most an hour "
        "old, one-hour sessions and a P1 alarm on every assumption."
    ),
    ("access/Roles/ReadOnlyRole/Resource", "ReadOnlyAccess"): (
        "The runbook's read-only role for monitoring and troubleshooting; its own policy denies "
        "secret values (secretsmanager:GetSecretValue, kms:Decrypt)."
    ),
    ("audit/Compliance/DriftDetectionRole/Resource", "ReadOnlyAccess"): (
        "Drift detection reads every resource type a stack holds, as CloudFormation's own drift "
        "detection does; AWS maintains the policy as types appear."
    ),
}
