"""Every cdk-nag acknowledgement in the app, pinned by hand: (construct path, rule) -> reason.

The one reviewed list. tests/unit/test_quality_gates.py::test_acknowledgements_are_pinned
compares it with the synthesized app: a new acknowledgement (even of a rule listed here, on
another construct) fails until it is added here, a removed one until it is removed, and a
changed reason until it is changed here too. Literal data only: never import product code.

Each Pin stands for every stage x path x rule; a path is below its stage (`dev/...`) and
`{account}` in a rule is the stage's account.
"""

from __future__ import annotations

from typing import NamedTuple

ACCOUNTS = {"dev": "111111111111", "staging": "222222222222", "production": "333333333333"}
ACCOUNTS["production-dr"] = ACCOUNTS["production"]


class Pin(NamedTuple):
    stages: tuple[str, ...]
    paths: tuple[str, ...]
    rules: tuple[str, ...]
    reason: str


def pinned() -> dict[tuple[str, str], str]:
    """(construct path, rule id) -> reason, each pair once."""
    pairs: dict[tuple[str, str], str] = {}
    for pin in PINS:
        for stage in pin.stages:
            for path in pin.paths:
                for rule in pin.rules:
                    pair = (f"{stage}/{path}", rule.replace("{account}", ACCOUNTS[stage]))
                    assert pair not in pairs, f"pinned twice: {pair}"
                    pairs[pair] = pin.reason
    return pairs


# What a log destination bucket (S3 or ALB access logs, AWS Config deliveries) cannot have.
LOG_DESTINATION_RULES = (
    "AwsSolutions::AwsSolutions-S1",
    "NIST.800.53.R5::NIST.800.53.R5-S3BucketLoggingEnabled",
    "NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled",
    "NIST.800.53.R5::NIST.800.53.R5-S3DefaultEncryptionKMS",
)
# Reasons shared by several pins.
PUBLIC_ROUTE = (
    "Public subnets exist only for the internet-facing ALB and the NAT gateways; this default route to "
    "the internet gateway is what makes them public."
)
PROXY_INGRESS = (
    "Ingress from the proxy security group on the instance's endpoint port (5432), which is a deploy-time"
    " token the check cannot read; no CIDR is involved."
)
NAT_TEST_PORT = (
    "The test port from one of our NAT gateways' Elastic IPs as a /32: a deploy-time value the checks "
    "cannot read, so they report it; never the whole internet (tested: "
    "tests/unit/test_properties.py::test_test_listener_is_never_open_to_the_internet)."
)
MLFLOW_OBJECTS = (
    "Object read and write in the mlflow bucket only: model artefacts have generated keys, so objects are"
    " granted by the bucket's key prefix."
)
REPLICATION_OBJECTS = (
    "Replication reads and writes object versions, which IAM addresses only as bucket/* (this bucket and "
    "its named DR twin); no other bucket is reachable."
)
OWN_DEPLOYMENTS = (
    "A service deployment's id exists only once ECS starts it; the wildcard stays within this one "
    "service's deployments, and the action only reads them."
)

DEAD_LETTER_QUEUE = (
    "It is itself a dead-letter queue: what lands here already failed its retries, and its "
    "alarm (config/alarms.py DEAD_LETTER_QUEUES) fires on the first message; a queue behind it "
    "would only hide them."
)

# What each of our VPC Lambdas' function policy holds (components/functions.py).
LAMBDA_VPC_RULES = (
    "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
    "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:ec2:us-east-1:{account}:*/*]",
    "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:ec2:us-east-1:{account}:network-interface/*]",
)
LAMBDA_CONCURRENCY_REASON = (
    "No reserved concurrency unless configured (functions.*_reserved_concurrency): Lambda refuses"
    " any reservation in an account at the reduced concurrency quota of 10, and each function has"
    " one caller that runs one at a time (ECS one deployment of a service, Secrets Manager one "
    "rotation of the secret)."
)
LAMBDA_VPC_REASON = (
    "Lambda attaches the function to the VPC with its execution role. EC2's Describe actions have"
    " no resource-level permissions (*); a new network interface has no id before it exists "
    "(network-interface/*, created only in this function's subnets with its security group); "
    "DeleteNetworkInterface is on all of the account's EC2 resources in the region (*/*), as the "
    "Lambda developer guide requires. The function's own code is denied them all."
)
PINS = (
    Pin(
        stages=("dev", "staging", "production", "production-dr"),
        paths=(
            "network/Network/Vpc/PublicSubnet1/DefaultRoute",
            "network/Network/Vpc/PublicSubnet2/DefaultRoute",
        ),
        rules=("NIST.800.53.R5::NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",),
        reason=PUBLIC_ROUTE,
    ),
    Pin(
        stages=("production", "production-dr"),
        paths=("network/Network/Vpc/PublicSubnet3/DefaultRoute",),
        rules=("NIST.800.53.R5::NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",),
        reason=PUBLIC_ROUTE,
    ),
    Pin(
        stages=("dev",),
        paths=(
            "data/Database/DatabaseSecurityGroup/"
            "from devdataDatabaseProxySecurityGroup23CD79FC:{IndirectPort}",
        ),
        rules=(
            "NIST.800.53.R5::NIST.800.53.R5-EC2RestrictedCommonPorts",
            "NIST.800.53.R5::NIST.800.53.R5-EC2RestrictedSSH",
        ),
        reason=PROXY_INGRESS,
    ),
    Pin(
        stages=("production",),
        paths=(
            "data/Database/DatabaseSecurityGroup/"
            "from productiondataDatabaseProxySecurityGroup3048604F:{IndirectPort}",
        ),
        rules=(
            "NIST.800.53.R5::NIST.800.53.R5-EC2RestrictedCommonPorts",
            "NIST.800.53.R5::NIST.800.53.R5-EC2RestrictedSSH",
        ),
        reason=PROXY_INGRESS,
    ),
    Pin(
        stages=("staging",),
        paths=(
            "data/Database/DatabaseSecurityGroup/"
            "from stagingdataDatabaseProxySecurityGroup49C4B7E9:{IndirectPort}",
        ),
        rules=(
            "NIST.800.53.R5::NIST.800.53.R5-EC2RestrictedCommonPorts",
            "NIST.800.53.R5::NIST.800.53.R5-EC2RestrictedSSH",
        ),
        reason=PROXY_INGRESS,
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("data/Database/Instance/MonitoringRole",),
        rules=(
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]",
        ),
        reason=(
            "AmazonRDSEnhancedMonitoringRole is the AWS-maintained policy for enhanced monitoring; it "
            "only lets RDS write OS metrics to the RDSOSMetrics log group."
        ),
    ),
    # The DR standby's (components/data/standby.py), for the instance make dr-failover restores.
    Pin(
        stages=("production-dr",),
        paths=("data/Standby/MonitoringRole",),
        rules=(
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]",
        ),
        reason=(
            "AmazonRDSEnhancedMonitoringRole is the AWS-maintained policy for enhanced monitoring; it "
            "only lets RDS write OS metrics to the RDSOSMetrics log group."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("data/Database/Instance/Resource",),
        rules=("AwsSolutions::AwsSolutions-RDS11",),
        reason=(
            "Port 5432 is reachable only from the proxy and database-client security groups in isolated "
            "subnets; a non-default port adds no protection there and breaks tooling defaults."
        ),
    ),
    Pin(
        stages=("dev", "staging"),
        paths=("data/Database/Instance/Resource",),
        rules=(
            "AwsSolutions::AwsSolutions-RDS3",
            "NIST.800.53.R5::NIST.800.53.R5-RDSMultiAZSupport",
        ),
        reason=(
            "Single-AZ by configuration (database.multi_az) in non-production environments to save cost; "
            "production must be Multi-AZ (validated: config.model._check_production)."
        ),
    ),
    Pin(
        stages=("dev",),
        paths=("data/Database/Instance/Resource",),
        rules=(
            "AwsSolutions::AwsSolutions-RDS10",
            "NIST.800.53.R5::NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled",
        ),
        reason=(
            "Deletion protection is off by configuration in dev so the sandbox can be torn down; staging "
            "and production must keep it on (validated: config.model._validate)."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=(
            "data/Database/Roles/FunctionPolicy",
            "data/Maintenance/FunctionPolicy",
            "secrets/Secrets/RotationPolicy",
            "services/BotDeployment/HookPolicy",
            "services/MlServiceDeployment/HookPolicy",
        ),
        rules=LAMBDA_VPC_RULES,
        reason=LAMBDA_VPC_REASON,
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=(
            "data/Database/Roles/Function/Resource",
            "data/Maintenance/Function/Resource",
            "secrets/Secrets/Rotation/Resource",
            "services/BotDeployment/Hook/Resource",
            "services/MlServiceDeployment/Hook/Resource",
        ),
        rules=("NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency",),
        reason=LAMBDA_CONCURRENCY_REASON,
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("data/Database/Roles/Function/Resource",),
        rules=("NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",),
        reason=(
            "Only CloudFormation invokes it, during a deploy, and every failure fails that deploy (the "
            "handler answers FAILED, or the five-minute service time-out expires): a dead-letter queue "
            "would hold nothing an operator does not already see."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("data/Database/Proxy/IAMRole",),
        rules=("NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy",),
        reason=(
            "The proxy role's policy is one rds-db:connect to this instance as the application user, "
            "nothing else; an inline policy keeps it bound to this role's lifecycle."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("data/Backups/Plan/Database/Role",),
        rules=(
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]",
        ),
        reason=(
            "AWSBackupServiceRolePolicyForBackup is the AWS-maintained policy AWS Backup needs to "
            "snapshot and copy RDS; a hand-written copy would drift from the service's needs."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production", "production-dr"),
        paths=("data/Buckets/AccessLogs/Resource",),
        rules=LOG_DESTINATION_RULES,
        reason=(
            "This is the access-log bucket itself: logging it into itself would loop, S3 server access "
            "logging cannot write to SSE-KMS buckets, and log copies in the DR region are not needed."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production-dr"),
        paths=(
            "data/Buckets/Backups/Resource",
            "data/Buckets/Mlflow/Resource",
        ),
        rules=("NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled",),
        reason=(
            "Cross-region copies are for production only (the DR region); this is a non-production bucket"
            " or already the DR replica."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("secrets/Secrets/Config/Resource",),
        rules=(
            "AwsSolutions::AwsSolutions-SMG4",
            "NIST.800.53.R5::NIST.800.53.R5-SecretsManagerRotationEnabled",
        ),
        reason=(
            "Application configuration, not a credential: operators version it by hand (runbook: "
            "update-secret), so there is nothing to rotate."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("secrets/Secrets/Rotation/Resource",),
        rules=("NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",),
        reason=(
            "Secrets Manager invokes rotation synchronously and records each failure on the secret; a "
            "pending rotation also raises a P2 reminder, so a dead-letter queue would stay empty."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("services/LoadBalancerLogs/Resource",),
        rules=LOG_DESTINATION_RULES,
        reason=(
            "This bucket is itself a log destination (ALB access logs): ELB can only write to SSE-S3 "
            "buckets, logging its own reads would loop, and log copies in the DR region are not needed."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("services/Public/SecurityGroup/from 0.0.0.0_0:443",),
        rules=("AwsSolutions::AwsSolutions-EC23",),
        reason=(
            "Internet-facing by design: this rule opens port 443 (HTTPS, behind the web ACL) to everyone;"
            " cdk-nag judges each of this group's rules on its own, so it covers no other rule (tested: "
            "tests/unit/test_properties.py::test_only_the_public_load_balancer_admits_the_internet)."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("services/Public/SecurityGroup/from 0.0.0.0_0:80",),
        rules=("AwsSolutions::AwsSolutions-EC23",),
        reason=(
            "Internet-facing by design: this rule opens port 80 (a redirect to HTTPS only) to everyone; "
            "cdk-nag judges each of this group's rules on its own, so it covers no other rule (tested: "
            "tests/unit/test_properties.py::test_only_the_public_load_balancer_admits_the_internet)."
        ),
    ),
    Pin(
        stages=("staging", "production"),
        paths=("services/Public/SecurityGroup/from '{IndirectPeer2}':9000",),
        rules=(
            "AwsSolutions::AwsSolutions-EC23",
            "NIST.800.53.R5::NIST.800.53.R5-EC2RestrictedCommonPorts",
            "NIST.800.53.R5::NIST.800.53.R5-EC2RestrictedSSH",
        ),
        reason=NAT_TEST_PORT,
    ),
    Pin(
        stages=("production",),
        paths=("services/Public/SecurityGroup/from '{IndirectPeer3}':9000",),
        rules=(
            "AwsSolutions::AwsSolutions-EC23",
            "NIST.800.53.R5::NIST.800.53.R5-EC2RestrictedCommonPorts",
            "NIST.800.53.R5::NIST.800.53.R5-EC2RestrictedSSH",
        ),
        reason=NAT_TEST_PORT,
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("services/Public/SecurityGroup/from {IndirectPeer}:9000",),
        rules=(
            "AwsSolutions::AwsSolutions-EC23",
            "NIST.800.53.R5::NIST.800.53.R5-EC2RestrictedCommonPorts",
            "NIST.800.53.R5::NIST.800.53.R5-EC2RestrictedSSH",
        ),
        reason=NAT_TEST_PORT,
    ),
    Pin(
        stages=("dev",),
        paths=(
            "services/Internal/LoadBalancer/Resource",
            "services/Public/LoadBalancer/Resource",
        ),
        rules=("NIST.800.53.R5::NIST.800.53.R5-ELBDeletionProtectionEnabled",),
        reason=(
            "Deletion protection follows the deletion_protection setting: off in dev so the sandbox can "
            "be torn down; staging and production must keep it on (validated: config.model._validate)."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("services/Public/LoadBalancer/Redirect80To443/Resource",),
        rules=("NIST.800.53.R5::NIST.800.53.R5-ELBv2ACMCertificateRequired",),
        reason=(
            "Port 80 only answers with a permanent redirect to HTTPS on 443; it never forwards a request,"
            " so there is nothing for a certificate to protect."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("services/Public/LoadBalancer/Test/Resource",),
        rules=(
            "NIST.800.53.R5::NIST.800.53.R5-ALBHttpToHttpsRedirection",
            "NIST.800.53.R5::NIST.800.53.R5-ELBv2ACMCertificateRequired",
        ),
        reason=(
            "Plain HTTP on the test port carries only smoke-test GETs (deployment.smoke_checks, e.g. "
            "/health; no credentials, no user data) from the deployment hook while a deployment verifies "
            "green, and operators' checks; no client or production traffic uses this port (the hook "
            "reaches it from our NAT addresses)."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("services/Internal/LoadBalancer/Resource",),
        rules=("NIST.800.53.R5::NIST.800.53.R5-ALBWAFEnabled",),
        reason=(
            "Internal load balancer in private subnets reachable only from its callers' security groups "
            "(allow_client); the internet-facing load balancer in front of the bot carries the web ACL."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("services/Internal/LoadBalancer/Http/Resource",),
        rules=(
            "NIST.800.53.R5::NIST.800.53.R5-ALBHttpToHttpsRedirection",
            "NIST.800.53.R5::NIST.800.53.R5-ELBv2ACMCertificateRequired",
        ),
        reason=(
            "Internal load balancer in private subnets, reachable only from the calling service's "
            "security group; there is no public name to hold a certificate for."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("services/Internal/LoadBalancer/Test/Resource",),
        rules=(
            "NIST.800.53.R5::NIST.800.53.R5-ALBHttpToHttpsRedirection",
            "NIST.800.53.R5::NIST.800.53.R5-ELBv2ACMCertificateRequired",
        ),
        reason=(
            "Plain HTTP on the test port carries only smoke-test GETs (deployment.smoke_checks, e.g. "
            "/health; no credentials, no user data) from the deployment hook while a deployment verifies "
            "green, and operators' checks; no client or production traffic uses this port (the hook "
            "reaches it inside the VPC)."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=(
            "services/Bot/Task/ExecutionRole/DefaultPolicy",
            "services/Bot/Task/TaskRole/DefaultPolicy",
            "services/DataIngestion/Task/ExecutionRole/DefaultPolicy",
            "services/DataIngestion/Task/TaskRole/DefaultPolicy",
            "services/Migration/Task/ExecutionRole/DefaultPolicy",
            "services/MlService/Task/ExecutionRole/DefaultPolicy",
            "services/MlService/Task/TaskRole/DefaultPolicy",
            "services/Mlflow/Task/ExecutionRole/DefaultPolicy",
            "services/Mlflow/Task/TaskRole/DefaultPolicy",
        ),
        rules=("NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy",),
        reason=(
            "The CDK writes this role's default policy from our explicit grants; it belongs to this one "
            "task definition's role and lives and dies with it, so a separate managed policy adds "
            "nothing."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=(
            "services/Bot/Task/Resource",
            "services/DataIngestion/Task/Resource",
            "services/Migration/Task/Resource",
            "services/MlService/Task/Resource",
            "services/Mlflow/Task/Resource",
        ),
        rules=("AwsSolutions::AwsSolutions-ECS2",),
        reason=(
            "Configuration and credentials reach the container only as ECS secrets from Secrets Manager; "
            "the plain environment holds names and endpoints, never credentials."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=(
            "services/Bot/Task/ExecutionRole/DefaultPolicy",
            "services/DataIngestion/Task/ExecutionRole/DefaultPolicy",
            "services/Migration/Task/ExecutionRole/DefaultPolicy",
            "services/MlService/Task/ExecutionRole/DefaultPolicy",
            "services/Mlflow/Task/ExecutionRole/DefaultPolicy",
        ),
        rules=("AwsSolutions::AwsSolutions-IAM5[Resource::*]",),
        reason=(
            "ecr:GetAuthorizationToken has no resource-level permissions, so it is granted on *; image "
            "pulls themselves are limited to this service's repository."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=(
            "services/BotDeployment/Hook/Resource",
            "services/MlServiceDeployment/Hook/Resource",
        ),
        rules=("NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",),
        reason=(
            "ECS invokes the hook synchronously and rolls the deployment back on any error, so a failed "
            "invocation is already handled; a dead-letter queue would stay empty."
        ),
    ),
    # The MLflow tracking server (components/services/mlflow.py; the primary region only).
    Pin(
        stages=("dev", "staging", "production"),
        paths=("services/Internal/LoadBalancer/Mlflow/Resource",),
        rules=(
            "NIST.800.53.R5::NIST.800.53.R5-ALBHttpToHttpsRedirection",
            "NIST.800.53.R5::NIST.800.53.R5-ELBv2ACMCertificateRequired",
        ),
        reason=(
            "The internal load balancer's MLflow listener, in private subnets, reachable only from the "
            "ml-service's security group (allow_client); there is no public name to hold a certificate "
            "for, as for the internal load balancer's other listeners."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("services/Mlflow/Task/TaskRole/DefaultPolicy",),
        rules=("AwsSolutions::AwsSolutions-IAM5[Resource::*]",),
        reason=(
            "ECS Exec's agent opens its Session Manager channels with ssmmessages actions, which have no "
            "resource types (Service Authorization Reference), so they are granted on *."
        ),
    ),
    *(
        Pin(
            stages=(stage,),
            paths=("services/Mlflow/Task/TaskRole/DefaultPolicy",),
            rules=(
                f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:s3:::clever-better-{token}-mlflow-"
                "{account}-us-east-1/models/*]",
            ),
            reason=(
                "Object read, write and delete in the mlflow bucket only: model artefacts have generated "
                "keys, so objects are granted by the bucket's key prefix."
            ),
        )
        for stage, token in (("dev", "dev"), ("staging", "staging"), ("production", "prod"))
    ),
    Pin(
        stages=("dev",),
        paths=("services/MlService/Task/TaskRole/DefaultPolicy",),
        rules=(
            "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:s3:::clever-better-dev-mlflow-{account}-us-east-1/*]",
        ),
        reason=MLFLOW_OBJECTS,
    ),
    Pin(
        stages=("production",),
        paths=("services/MlService/Task/TaskRole/DefaultPolicy",),
        rules=(
            "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:s3:::clever-better-prod-mlflow-{account}-us-east-1/*]",
        ),
        reason=MLFLOW_OBJECTS,
    ),
    Pin(
        stages=("staging",),
        paths=("services/MlService/Task/TaskRole/DefaultPolicy",),
        rules=(
            "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:s3:::clever-better-staging-mlflow-{account}-us-east-1/*]",
        ),
        reason=MLFLOW_OBJECTS,
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=(
            "services/Bot/Service/AlternateRole",
            "services/MlService/Service/AlternateRole",
        ),
        rules=(
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers]",
        ),
        reason=(
            "ECS blue/green moves listener-rule weights and target registrations with the AWS managed "
            "infrastructure policy for load balancers, which AWS keeps in step with the feature."
        ),
    ),
    Pin(
        stages=("production",),
        paths=("data/Buckets/BackupsReplicationPolicy",),
        rules=(
            "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:s3:::clever-better-prod-backups-{account}-us-east-1/*]",
            "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:s3:::clever-better-prod-backups-{account}-us-west-2/*]",
        ),
        reason=REPLICATION_OBJECTS,
    ),
    Pin(
        stages=("production",),
        paths=("data/Buckets/MlflowReplicationPolicy",),
        rules=(
            "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:s3:::clever-better-prod-mlflow-{account}-us-east-1/*]",
            "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:s3:::clever-better-prod-mlflow-{account}-us-west-2/*]",
        ),
        reason=REPLICATION_OBJECTS,
    ),
    Pin(
        stages=("production",),
        paths=("services/BotDeployment/HookPolicy",),
        rules=(
            "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:ecs:us-east-1:{account}:service-deployment/clever-better-prod/bot/*]",
        ),
        reason=OWN_DEPLOYMENTS,
    ),
    Pin(
        stages=("production",),
        paths=("services/MlServiceDeployment/HookPolicy",),
        rules=(
            "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:ecs:us-east-1:{account}:service-deployment/clever-better-prod/ml-service/*]",
        ),
        reason=OWN_DEPLOYMENTS,
    ),
    Pin(
        stages=("dev",),
        paths=("services/BotDeployment/HookPolicy",),
        # Every hook, gate or not, asks ECS whether a revision failing its smoke test runs a task.
        rules=(
            "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:ecs:us-east-1:{account}:service-deployment/clever-better-dev/bot/*]",
        ),
        reason=OWN_DEPLOYMENTS,
    ),
    Pin(
        stages=("dev",),
        paths=("services/MlServiceDeployment/HookPolicy",),
        rules=(
            "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:ecs:us-east-1:{account}:service-deployment/clever-better-dev/ml-service/*]",
        ),
        reason=OWN_DEPLOYMENTS,
    ),
    Pin(
        stages=("staging",),
        paths=("services/BotDeployment/HookPolicy",),
        rules=(
            "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:ecs:us-east-1:{account}:service-deployment/clever-better-staging/bot/*]",
        ),
        reason=OWN_DEPLOYMENTS,
    ),
    Pin(
        stages=("staging",),
        paths=("services/MlServiceDeployment/HookPolicy",),
        rules=(
            "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:ecs:us-east-1:{account}:service-deployment/clever-better-staging/ml-service/*]",
        ),
        reason=OWN_DEPLOYMENTS,
    ),
)

# The drift check (components/monitoring/drift.py) where the monitoring stack holds it as
# `DriftCheck`: not in PINS until that stack exists (whoever adds the check to it adds
# `*DRIFT_CHECK_PINS` to PINS); tests/unit/test_drift_check.py pins them against the construct
# meanwhile. The stack-ARN rules name each stack the check detects drift on (Names.stacks()).
DRIFT_CHECK_READS = (
    "Drift detection reads every resource of a stack with the caller's credentials, so the role holds the "
    "read-only actions of each resource type our stacks contain, on all resources (*): the stacks' "
    "resources have generated names, and many of these actions take no resource. The detection status is "
    "addressed by an id, not a resource (*); PutMetricData takes no resource and is held to our namespace. "
    "A stack's ARN ends in the id CloudFormation gives it at creation (stack/NAME/*), one per stack of the "
    "environment."
)
_DRIFT_CHECK_STACK_UNITS = (
    "network", "data", "secrets", "registry", "services", "monitoring", "alerting", "audit", "access",
)  # fmt: skip
DRIFT_CHECK_PINS = (
    Pin(
        stages=("dev", "staging", "production"),
        paths=("monitoring/DriftCheck/FunctionPolicy",),
        rules=LAMBDA_VPC_RULES,
        reason=LAMBDA_VPC_REASON,
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("monitoring/DriftCheck/Function/Resource",),
        rules=("NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency",),
        reason=LAMBDA_CONCURRENCY_REASON,
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("monitoring/DriftCheck/DeadLetters",),
        rules=("AwsSolutions::AwsSolutions-SQS3",),
        reason=DEAD_LETTER_QUEUE,
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("monitoring/DriftCheck/CheckPolicy",),
        rules=("AwsSolutions::AwsSolutions-IAM5[Resource::*]",),
        reason=DRIFT_CHECK_READS,
    ),
    *(
        Pin(
            stages=(stage,),
            paths=("monitoring/DriftCheck/CheckPolicy",),
            rules=tuple(
                f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:cloudformation:us-east-1:{{account}}:"
                f"stack/clever-better-{token}-{unit}/*]"
                for unit in _DRIFT_CHECK_STACK_UNITS
            ),
            reason=DRIFT_CHECK_READS,
        )
        for stage, token in (("dev", "dev"), ("staging", "staging"), ("production", "prod"))
    ),
)

# The monitoring stack holds the drift check.
PINS = (*PINS, *DRIFT_CHECK_PINS)

# The data stack's monthly VACUUM (ANALYZE) (components/data/maintenance.py).
PINS = (
    *PINS,
    Pin(
        stages=("dev", "staging", "production"),
        paths=("data/Maintenance/Function/Resource",),
        rules=("NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",),
        reason=(
            "Scheduler invokes it asynchronously and keeps its own dead-letter queue for a run it cannot "
            "start; a run that fails or times out is the P3 db-maintenance-failed alarm (its metric and "
            "Lambda's Errors), and the next month's run vacuums again: a second queue would hold nothing "
            "an operator does not already see."
        ),
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("data/Maintenance/DeadLetters",),
        rules=("AwsSolutions::AwsSolutions-SQS3",),
        reason=DEAD_LETTER_QUEUE,
    ),
    Pin(
        stages=("dev", "staging", "production"),
        paths=("data/Maintenance/MetricsPolicy",),
        rules=("AwsSolutions::AwsSolutions-IAM5[Resource::*]",),
        reason="PutMetricData takes no resource (*); the condition holds it to our operations namespace.",
    ),
)

# The alerting unit (components/alerting/router.py) and its secret.
_ENVIRONMENTS = ("dev", "staging", "production")
ALERTING_PINS = (
    Pin(
        stages=_ENVIRONMENTS,
        paths=("alerting/Router/DeadLetters",),
        rules=("AwsSolutions::AwsSolutions-SQS3",),
        reason=DEAD_LETTER_QUEUE,
    ),
    Pin(
        stages=_ENVIRONMENTS,
        paths=("alerting/Router/Deliveries",),
        rules=(
            "AwsSolutions::AwsSolutions-DDB3",
            "NIST.800.53.R5::NIST.800.53.R5-DynamoDBInBackupPlan",
            "NIST.800.53.R5::NIST.800.53.R5-DynamoDBPITREnabled",
        ),
        reason=(
            "Idempotency records that expire after a day (which destination took which alarm); "
            "restoring them would serve no one, and losing them can at worst post one alarm twice."
        ),
    ),
    Pin(
        stages=_ENVIRONMENTS,
        paths=("alerting/Router/Function/Resource",),
        rules=("NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency",),
        reason=LAMBDA_CONCURRENCY_REASON,
    ),
    Pin(
        stages=_ENVIRONMENTS,
        paths=("alerting/Halt/Function/Resource",),
        rules=("NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency",),
        reason=LAMBDA_CONCURRENCY_REASON,
    ),
    Pin(
        stages=_ENVIRONMENTS,
        paths=(
            "alerting/Router/FunctionPolicy",
            "alerting/Halt/FunctionPolicy",
            "alerting/DailyReport/FunctionPolicy",
        ),
        rules=LAMBDA_VPC_RULES,
        reason=LAMBDA_VPC_REASON,
    ),
    *(
        Pin(
            stages=(stage,),
            paths=(
                "alerting/Router/FunctionPolicy",
                "alerting/Halt/FunctionPolicy",
                "alerting/DailyReport/FunctionPolicy",
            ),
            rules=(
                "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:secretsmanager:us-east-1:{account}:"
                f"secret:clever-better/{token}/alerting-??????]",
            ),
            reason=(
                "The alerting secret's ARN ends in six characters Secrets Manager chooses when it "
                "creates the secret (clever-better/{token}/alerting-??????): that one secret only."
            ),
        )
        for stage, token in (("dev", "dev"), ("staging", "staging"), ("production", "prod"))
    ),
    Pin(
        stages=_ENVIRONMENTS,
        paths=("secrets/Secrets/Alerting/Resource",),
        rules=(
            "AwsSolutions::AwsSolutions-SMG4",
            "NIST.800.53.R5::NIST.800.53.R5-SecretsManagerRotationEnabled",
        ),
        reason=(
            "Keys issued by PagerDuty, Opsgenie and Slack, not by us: operators replace them when a "
            "provider issues new ones (the runbook's 180-day review), so there is no rotation to run."
        ),
    ),
)
PINS = (*PINS, *ALERTING_PINS)

# The alerting stack's daily operations report (components/alerting/report.py).
PINS = (
    *PINS,
    Pin(
        stages=_ENVIRONMENTS,
        paths=("alerting/DailyReport/DeadLetters",),
        rules=("AwsSolutions::AwsSolutions-SQS3",),
        reason=DEAD_LETTER_QUEUE,
    ),
    Pin(
        stages=_ENVIRONMENTS,
        paths=("alerting/DailyReport/Function/Resource",),
        rules=("NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency",),
        reason=LAMBDA_CONCURRENCY_REASON,
    ),
    Pin(
        stages=_ENVIRONMENTS,
        paths=("alerting/DailyReport/Function/Resource",),
        rules=("NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",),
        reason=(
            "Scheduler invokes it and keeps its own dead-letter queue (P3) for a report it cannot start; "
            "a report that does not reach Slack is the P3 daily-report-failed alarm (Lambda Errors), "
            "and tomorrow's report reads the same sources again."
        ),
    ),
    *(
        Pin(
            stages=(stage,),
            paths=("alerting/DailyReport/ReadPolicy",),
            rules=(
                "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:ecs:us-east-1:{{account}}:service/clever-better-{token}/*]",
                f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:ecs:us-east-1:{{account}}:task/clever-better-{token}/*]",
            ),
            reason=(
                "Reads only. GetMetricData and ListBackupJobs take no resource, and DescribeAlarms is "
                "asked for the environment's alarms by name prefix (*); ListTasks is authorised on "
                "container instances and held to the environment's cluster by its condition; the "
                "services and tasks of that one cluster have ids ECS gives them (service/CLUSTER/*, "
                "task/CLUSTER/*)."
            ),
        )
        for stage, token in (("dev", "dev"), ("staging", "staging"), ("production", "prod"))
    ),
)

# The services stack's scheduled training (components/services/training.py), primary region only.
PINS = (
    *PINS,
    Pin(
        stages=_ENVIRONMENTS,
        paths=("services/Training/DeadLetters",),
        rules=("AwsSolutions::AwsSolutions-SQS3",),
        reason=DEAD_LETTER_QUEUE,
    ),
    Pin(
        stages=_ENVIRONMENTS,
        paths=("services/Training/Function/Resource",),
        rules=("NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency",),
        reason=LAMBDA_CONCURRENCY_REASON,
    ),
    Pin(
        stages=_ENVIRONMENTS,
        paths=("services/Training/Function/Resource",),
        rules=("NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",),
        reason=(
            "Scheduler and EventBridge invoke it and keep its dead-letter queue (P2) for what they "
            "could not deliver; a run it could not start or record is the P2 training-failed alarm "
            "(its metric and Lambda's Errors)."
        ),
    ),
    Pin(
        stages=_ENVIRONMENTS,
        paths=("services/Training/FunctionPolicy",),
        rules=LAMBDA_VPC_RULES,
        reason=LAMBDA_VPC_REASON,
    ),
    *(
        Pin(
            stages=(stage,),
            paths=("services/Training/RunPolicy",),
            rules=(
                "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:ecs:us-east-1:{{account}}:task/clever-better-{token}/*]",
                "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:ecs:us-east-1:{account}:task-definition/"
                f"clever-better-{token}-ml-service:*]",
            ),
            reason=(
                "RunTask on the service's task-definition family (family:*, the revision the service "
                "runs is read at start) and only in the environment's cluster; ListTasks is authorised "
                "on container instances and held to that cluster by its condition; DescribeTasks and "
                "StopTask on that cluster's tasks, whose ids ECS gives them (task/CLUSTER/*); "
                "PutMetricData and GetMetricData take no resource, the first held to our operations "
                "namespace by its condition."
            ),
        )
        for stage, token in (("dev", "dev"), ("staging", "staging"), ("production", "prod"))
    ),
)

# The security unit (components/security/access.py, baseline.py): the runbook's roles, the audit
# trail, AWS Config.
DEPLOYMENT_POLICY = (
    "Describe and list calls of the pipeline's checks have no resource-level permissions; every write "
    "is scoped to this environment's instance, snapshots, parameters, services and stacks by name "
    "prefix, the bootstrap roles by their exact names."
)
DRIFT_DETECTION_ROLE = (
    "Drift detection reads every resource type a stack holds, which is what ReadOnlyAccess is maintained "
    "for; the role only adds the three drift-detection calls, on any stack."
)
_REGIONS = {"dev": ("us-east-1",), "staging": ("us-east-1",), "production": ("us-east-1", "us-west-2")}
_TOKENS = {"dev": "dev", "staging": "staging", "production": "prod"}
SECURITY_PINS = (
    Pin(
        stages=_ENVIRONMENTS,
        paths=("access/Roles/AdminRole",),
        rules=(
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AdministratorAccess]",
        ),
        reason=(
            "The runbook's break-glass AdminRole exists to have administrator access in an emergency: MFA "
            "at most an hour old, one-hour sessions, and every assumption raises a P1."
        ),
    ),
    Pin(
        stages=_ENVIRONMENTS,
        paths=("access/Roles/ReadOnlyRole",),
        rules=(
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/ReadOnlyAccess]",
        ),
        reason=(
            "AWS maintains ReadOnlyAccess as new services appear; this role denies every way to a secret "
            "value on top of it (secretsmanager:GetSecretValue, kms:Decrypt)."
        ),
    ),
    Pin(
        stages=_ENVIRONMENTS,
        paths=("access/Roles/DeploymentPolicy",),
        rules=("AwsSolutions::AwsSolutions-IAM5[Resource::*]",),
        reason=DEPLOYMENT_POLICY,
    ),
    *(
        Pin(
            stages=(stage,),
            paths=("access/Roles/DeploymentPolicy",),
            rules=tuple(
                f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:{resource}]"
                for region in _REGIONS[stage]
                for resource in (
                    f"cloudformation:{region}:{{account}}:stack/clever-better-{_TOKENS[stage]}-*/*",
                    f"ecs:{region}:{{account}}:service-deployment/clever-better-{_TOKENS[stage]}/*",
                    f"ecs:{region}:{{account}}:service/clever-better-{_TOKENS[stage]}/*",
                    f"rds:{region}:{{account}}:snapshot:clever-better-{_TOKENS[stage]}-predeploy-*",
                    f"ssm:{region}:{{account}}:parameter/clever-better/{_TOKENS[stage]}/deploy/*",
                )
            ),
            reason=DEPLOYMENT_POLICY,
        )
        for stage in _ENVIRONMENTS
    ),
    Pin(
        stages=(*_ENVIRONMENTS, "production-dr"),
        paths=("audit/Compliance/DriftDetectionPolicy",),
        rules=("AwsSolutions::AwsSolutions-IAM5[Resource::*]",),
        reason=DRIFT_DETECTION_ROLE,
    ),
    Pin(
        stages=(*_ENVIRONMENTS, "production-dr"),
        paths=("audit/Compliance/DriftDetectionRole",),
        rules=(
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/ReadOnlyAccess]",
        ),
        reason=DRIFT_DETECTION_ROLE,
    ),
    Pin(
        stages=_ENVIRONMENTS,
        paths=("audit/Trail/Bucket/Resource",),
        rules=("NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled",),
        reason=(
            "CloudTrail's multi-region trail already records every region into this one bucket, and each "
            "hour's digest file lets an investigator prove no log file changed; a copy adds nothing."
        ),
    ),
    Pin(
        stages=_ENVIRONMENTS,
        paths=("audit/Trail/LogsPolicy",),
        rules=(
            "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:logs:us-east-1:{account}:log-group:"
            "/aws/cloudtrail/clever-better-audit:log-stream:{account}_CloudTrail_us-east-1*]",
        ),
        reason=(
            "CloudTrail names its log streams ACCOUNT_CloudTrail_REGION with a suffix of its own; the "
            "wildcard stays within those streams of the audit group."
        ),
    ),
    Pin(
        stages=_ENVIRONMENTS,
        paths=("audit/Trail/ServiceLogs/Resource",),
        rules=LOG_DESTINATION_RULES,
        reason=(
            "Receives the audit bucket's S3 server access logs and AWS Config's deliveries: server access "
            "logging can only write SSE-S3, and logging this bucket into itself would loop."
        ),
    ),
)
SECURITY_PINS = (
    *SECURITY_PINS,
    Pin(
        stages=("production-dr",),
        paths=("audit/ConfigDeliveries/Resource",),
        rules=LOG_DESTINATION_RULES,
        reason=(
            "Receives AWS Config's configuration snapshots and history of the DR region, which Config "
            "delivers as config.amazonaws.com; SSE-S3, as every log destination of ours."
        ),
    ),
)
PINS = (*PINS, *SECURITY_PINS)
# The data stack's weekly restore test (components/data/backup.py RestoreTest).
PINS = (
    *PINS,
    Pin(
        stages=("dev", "staging", "production"),
        paths=("data/RestoreTest/Role",),
        rules=(
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSBackupServiceRolePolicyForRestores]",
        ),
        reason=(
            "AWSBackupServiceRolePolicyForRestores is the AWS-maintained policy AWS Backup restores with; "
            "a hand-written copy would drift from what each resource type's restore needs."
        ),
    ),
)


def _primary_twin(path: str) -> bool:
    """Whether production's construct at `path` also stands in the DR region: the services (the
    pilot light) but the migration task, scheduled training and MLflow (the primary's only) and the
    second and third NAT gateways' test-port rules (the DR VPC has one NAT gateway); the
    monitoring but the drift check (the primary's only); the alerting."""
    if path.startswith("services/"):
        # Training and MLflow run in the primary region only.
        return (
            "/Migration/" not in path
            and not path.startswith("services/Training/")
            and not path.startswith("services/Mlflow/")
            and "/Mlflow/" not in path
            and "{IndirectPeer2}" not in path
            and "{IndirectPeer3}" not in path
        )
    if path.startswith("monitoring/"):
        return not path.startswith("monitoring/DriftCheck/")
    # The daily report reads the environment from the primary region only.
    return path.startswith("alerting/") and not path.startswith("alerting/DailyReport/")


# The DR pilot light (production-dr/services) and its monitoring and alerting are production's
# stacks in us-west-2: each of production's acknowledgements there, on the same construct, with
# the same reason.
PINS = (
    *PINS,
    *(
        Pin(
            stages=("production-dr",),
            paths=tuple(p for p in pin.paths if _primary_twin(p)),
            rules=tuple(rule.replace("us-east-1", "us-west-2") for rule in pin.rules),
            reason=pin.reason,
        )
        for pin in PINS
        if "production" in pin.stages and any(_primary_twin(p) for p in pin.paths)
    ),
    # The pilot light's health alarms (components/monitoring/alarms.py), armed by a failover.
    Pin(
        stages=("production-dr",),
        paths=tuple(
            f"monitoring/Alarms/{alarm}P0/Resource"
            for alarm in ("BotUnhealthy", "MlServiceUnhealthy", "DataIngestionUnhealthy")
        ),
        rules=("NIST.800.53.R5::NIST.800.53.R5-CloudWatchAlarmAction",),
        reason=(
            "A health alarm of the DR pilot light, which runs no task until a failover: armed it would "
            "sit in ALARM and page. Its actions (its severity's topic) are written; make dr-failover "
            "enables them once the services are stable and make dr-failback disables them again."
        ),
    ),
    # The standby's proxy (components/data/standby.py), waiting for the restored instance.
    Pin(
        stages=("production-dr",),
        paths=("data/Standby/ProxyPolicy",),
        rules=("AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:rds-db:us-west-2:{account}:dbuser:*/app]",),
        reason=(
            "The restored instance's resource id (db-...) is unknown until make dr-failover creates it, so "
            "the proxy may connect as the application user to any instance of this account in this "
            "region; the user name is fixed and the action is connect only."
        ),
    ),
    Pin(
        stages=("production-dr",),
        paths=("data/Standby/ProxyPolicy",),
        rules=("NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy",),
        reason=(
            "The proxy role's policy is one rds-db:connect as the application user, nothing else; an inline "
            "policy keeps it bound to this role's lifecycle (as the primary's proxy)."
        ),
    ),
)
