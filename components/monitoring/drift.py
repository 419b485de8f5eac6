"""The configuration-drift check (issue 13): CloudFormation drift detection on every stack of the
environment in this region, daily, and on demand with `make drift` (ops/drift.py, an operator's
credentials, both regions).

The function (lambdas/drift_check) publishes `DriftedStacks` and `DriftCheckFailures`
(config/metrics.py); ``metric`` and ``failures_metric`` are them as alarms read them. CloudFormation
reads every resource of a stack with the caller's credentials to compare it with the template
(User Guide, "Considerations when detecting drift"), so the function's role holds the read actions
of each resource type our stacks contain (``READ_ACTIONS``), and nothing that changes anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import region_info
from constructs import Construct

from components.context import UnitContext
from components.functions import python_function, role_policy, scheduled_invocation
from components.network import Network, https_out_security_group
from config import metrics
from config.alarms import DRIFT_CHECK_DLQ
from config.names import Names

# A detection takes minutes per stack, all run side by side; the handler publishes what it knows
# before this runs out.
TIMEOUT = cdk.Duration.minutes(10)

# What CloudFormation calls with the caller's credentials to read a resource of each type our
# stacks hold: the read handler's permissions in the type's registry schema (as cfn-lint ships
# them), keeping only reads (Describe*, Get*, List*: the WAF association's handler also lists its
# associate/disassociate actions, the rule's iam:PassRole) and leaving out OMITTED. A type our
# stacks gain fails tests/unit/test_drift_check.py until it is added here.
READ_ACTIONS: Mapping[str, tuple[str, ...]] = {
    "AWS::ApplicationAutoScaling::ScalableTarget": (
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScheduledActions",
        "application-autoscaling:ListTagsForResource",
    ),
    "AWS::ApplicationAutoScaling::ScalingPolicy": ("application-autoscaling:DescribeScalingPolicies",),
    "AWS::Backup::BackupPlan": ("backup:GetBackupPlan", "backup:ListTags"),
    "AWS::Backup::BackupSelection": ("backup:GetBackupSelection",),
    "AWS::Backup::BackupVault": (
        "backup:DescribeBackupVault",
        "backup:GetBackupVaultAccessPolicy",
        "backup:GetBackupVaultNotifications",
        "backup:ListTags",
    ),
    "AWS::Backup::RestoreTestingPlan": (
        "backup:GetRestoreTestingPlan",
        "backup:ListTags",
    ),
    "AWS::Backup::RestoreTestingSelection": ("backup:GetRestoreTestingSelection",),
    "AWS::CertificateManager::Certificate": ("acm:DescribeCertificate", "acm:ListTagsForCertificate"),
    "AWS::CloudTrail::Trail": (
        "cloudtrail:DescribeTrails",
        "cloudtrail:GetEventConfiguration",
        "cloudtrail:GetEventSelectors",
        "cloudtrail:GetInsightSelectors",
        "cloudtrail:GetTrail",
        "cloudtrail:GetTrailStatus",
        "cloudtrail:ListTags",
    ),
    "AWS::CloudWatch::Alarm": ("cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"),
    "AWS::CloudWatch::Dashboard": ("cloudwatch:GetDashboard", "cloudwatch:ListTagsForResource"),
    "AWS::Config::ConfigRule": (
        "config:DescribeComplianceByConfigRule",
        "config:DescribeConfigRules",
    ),
    "AWS::Config::ConfigurationRecorder": (
        "config:DescribeConfigurationRecorders",
        "config:ListTagsForResource",
    ),
    "AWS::Config::DeliveryChannel": ("config:DescribeDeliveryChannels",),
    "AWS::DynamoDB::Table": (
        "dynamodb:DescribeContinuousBackups",
        "dynamodb:DescribeContributorInsights",
        "dynamodb:DescribeKinesisStreamingDestination",
        "dynamodb:DescribeTable",
        "dynamodb:DescribeTimeToLive",
        "dynamodb:GetResourcePolicy",
        "dynamodb:ListTagsOfResource",
    ),
    "AWS::EC2::EIP": ("ec2:DescribeAddresses",),
    "AWS::EC2::FlowLog": ("ec2:DescribeFlowLogs",),
    "AWS::EC2::InternetGateway": ("ec2:DescribeInternetGateways",),
    "AWS::EC2::NatGateway": ("ec2:DescribeNatGateways",),
    "AWS::EC2::Route": ("ec2:DescribeRouteTables",),
    "AWS::EC2::RouteTable": ("ec2:DescribeRouteTables",),
    "AWS::EC2::SecurityGroup": ("ec2:DescribeSecurityGroups",),
    "AWS::EC2::SecurityGroupEgress": ("ec2:DescribeSecurityGroupRules",),
    "AWS::EC2::SecurityGroupIngress": ("ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups"),
    "AWS::EC2::Subnet": ("ec2:DescribeNetworkAcls", "ec2:DescribeSubnets"),
    "AWS::EC2::SubnetRouteTableAssociation": ("ec2:DescribeRouteTables",),
    "AWS::EC2::VPC": (
        "ec2:DescribeNetworkAcls",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeVpcAttribute",
        "ec2:DescribeVpcEncryptionControls",
        "ec2:DescribeVpcs",
    ),
    "AWS::EC2::VPCEndpoint": (
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcEndpoints",
        "ec2:DescribeVpcs",
    ),
    "AWS::EC2::VPCGatewayAttachment": ("ec2:DescribeInternetGateways", "ec2:DescribeVpnGateways"),
    "AWS::ECR::ReplicationConfiguration": ("ecr:DescribeRegistry",),
    "AWS::ECR::Repository": (
        "ecr:DescribeRepositories",
        "ecr:GetLifecyclePolicy",
        "ecr:GetRepositoryPolicy",
        "ecr:ListTagsForResource",
    ),
    "AWS::ECR::RepositoryCreationTemplate": ("ecr:DescribeRepositoryCreationTemplates",),
    "AWS::ECS::Cluster": ("ecs:DescribeClusters", "kms:DescribeKey"),
    "AWS::ECS::Service": ("ecs:DescribeServices",),
    "AWS::ECS::TaskDefinition": ("ecs:DescribeTaskDefinition",),
    "AWS::ElasticLoadBalancingV2::Listener": (
        "elasticloadbalancing:DescribeListenerAttributes",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeTags",
    ),
    "AWS::ElasticLoadBalancingV2::ListenerRule": (
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTags",
    ),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": (
        "elasticloadbalancing:DescribeCapacityReservation",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeTags",
    ),
    "AWS::ElasticLoadBalancingV2::TargetGroup": (
        "elasticloadbalancing:DescribeTags",
        "elasticloadbalancing:DescribeTargetGroupAttributes",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetHealth",
    ),
    "AWS::Events::Rule": (
        "events:DescribeRule",
        "events:ListTagsForResource",
        "events:ListTargetsByRule",
    ),
    "AWS::GuardDuty::Detector": (
        "guardduty:GetDetector",
        "guardduty:ListTagsForResource",
    ),
    "AWS::IAM::ManagedPolicy": ("iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListEntitiesForPolicy"),
    "AWS::IAM::OIDCProvider": ("iam:GetOpenIDConnectProvider",),
    "AWS::IAM::Role": (
        "iam:GetRole",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:ListRolePolicies",
    ),
    "AWS::KMS::Alias": ("kms:ListAliases",),
    "AWS::KMS::Key": (
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:GetKeyRotationStatus",
        "kms:ListResourceTags",
    ),
    "AWS::Lambda::EventSourceMapping": ("lambda:GetEventSourceMapping", "lambda:ListTags"),
    "AWS::Lambda::Function": (
        "lambda:GetFunction",
        "lambda:GetFunctionCodeSigningConfig",
        "lambda:GetFunctionRecursionConfig",
        "lambda:GetFunctionScalingConfig",
        "lambda:GetRuntimeManagementConfig",
    ),
    "AWS::Lambda::Permission": ("lambda:GetPolicy",),
    "AWS::Logs::MetricFilter": ("logs:DescribeMetricFilters",),
    "AWS::Logs::QueryDefinition": ("logs:DescribeQueryDefinitions",),
    "AWS::Logs::LogGroup": (
        "logs:DescribeIndexPolicies",
        "logs:DescribeLogGroups",
        "logs:DescribeResourcePolicies",
        "logs:GetDataProtectionPolicy",
        "logs:ListTagsForResource",
    ),
    "AWS::RDS::DBInstance": (
        "ec2:DescribeAccountAttributes",
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeInternetGateways",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcAttribute",
        "ec2:DescribeVpcs",
        "rds:DescribeDBInstances",
    ),
    "AWS::RDS::DBParameterGroup": (
        "rds:DescribeDBParameterGroups",
        "rds:DescribeDBParameters",
        "rds:ListTagsForResource",
    ),
    "AWS::RDS::DBProxy": ("rds:DescribeDBProxies", "rds:ListTagsForResource"),
    "AWS::RDS::DBProxyTargetGroup": (
        "rds:DescribeDBProxyTargetGroups",
        "rds:DescribeDBProxyTargets",
        "rds:ListTagsForResource",
    ),
    "AWS::RDS::DBSubnetGroup": ("rds:DescribeDBSubnetGroups", "rds:ListTagsForResource"),
    "AWS::Route53::HealthCheck": ("route53:GetHealthCheck", "route53:ListTagsForResource"),
    # The API name's failover record, with deployment.hosted_zone_id (components/edge/dns.py).
    "AWS::Route53::RecordSet": (
        "route53:GetHostedZone",
        "route53:ListHostedZones",
        "route53:ListResourceRecordSets",
    ),
    "AWS::S3::Bucket": (
        "s3:GetAccelerateConfiguration",
        "s3:GetAnalyticsConfiguration",
        "s3:GetBucketAbac",
        "s3:GetBucketCORS",
        "s3:GetBucketLogging",
        "s3:GetBucketMetadataTableConfiguration",
        "s3:GetBucketNotification",
        "s3:GetBucketObjectLockConfiguration",
        "s3:GetBucketOwnershipControls",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketTagging",
        "s3:GetBucketVersioning",
        "s3:GetBucketWebsite",
        "s3:GetEncryptionConfiguration",
        "s3:GetIntelligentTieringConfiguration",
        "s3:GetInventoryConfiguration",
        "s3:GetLifecycleConfiguration",
        "s3:GetMetricsConfiguration",
        "s3:GetReplicationConfiguration",
        "s3:ListBucket",
        "s3:ListTagsForResource",
    ),
    "AWS::S3::BucketPolicy": ("s3:GetBucketPolicy",),
    "AWS::SNS::Subscription": ("sns:GetSubscriptionAttributes",),
    "AWS::SNS::Topic": (
        "sns:GetDataProtectionPolicy",
        "sns:GetTopicAttributes",
        "sns:ListSubscriptionsByTopic",
        "sns:ListTagsForResource",
    ),
    "AWS::SQS::Queue": ("sqs:GetQueueAttributes", "sqs:ListQueueTags"),
    "AWS::SSM::Parameter": ("ssm:GetParameters", "ssm:ListTagsForResource"),
    "AWS::Scheduler::Schedule": ("scheduler:GetSchedule",),
    "AWS::SecretsManager::ResourcePolicy": ("secretsmanager:GetResourcePolicy",),
    "AWS::SecretsManager::RotationSchedule": ("secretsmanager:DescribeSecret",),
    "AWS::WAFv2::LoggingConfiguration": ("wafv2:GetLoggingConfiguration",),
    "AWS::WAFv2::WebACL": ("wafv2:GetWebACL", "wafv2:ListTagsForResource"),
    "AWS::WAFv2::WebACLAssociation": (
        "elasticloadbalancing:GetLoadBalancerWebACL",
        "wafv2:GetWebACL",
        "wafv2:GetWebACLForResource",
    ),
}
# Reads of some schema's read handler the role does not get, each with why.
OMITTED: Mapping[str, str] = {
    "secretsmanager:GetSecretValue": "returns the secrets' values (database passwords, the Betfair key); "
    "AWS's ReadOnlyAccess policy leaves it out too. SKIPPED_TYPES, which need it, are not checked daily",
    **dict.fromkeys(
        (
            "amplify:GetWebACLForResource",
            "apprunner:DescribeWebAclForService",
            "appsync:GetWebACLForResource",
            "cognito-idp:GetWebACLForResource",
            "ec2:DescribeVerifiedAccessInstanceWebAclAssociations",
            "ec2:GetVerifiedAccessInstanceWebAcl",
        ),
        "the WAF association's reads for resources other than a load balancer; ours protect an ALB",
    ),
    "vpc-lattice:DescribeServiceNetworkVpcEndpointAssociation": "for service-network endpoints of VPC "
    "Lattice, which ours are not; and no action of that name is in the Service Authorization Reference",
}
# Types whose schema's read handler reads secret values: the daily check leaves their resources out
# of its detections (the handler's LogicalResourceIds); `make drift` checks them.
SKIPPED_TYPES = ("AWS::SecretsManager::Secret", "AWS::SecretsManager::SecretTargetAttachment")
# Types whose schema has no read handler: CloudFormation cannot read them, and detects no drift on
# them (custom resources, `Custom::*`, neither).
UNREADABLE_TYPES = ("AWS::IAM::Policy", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy")


def read_actions() -> list[str]:
    """Every read action of READ_ACTIONS, once, sorted."""
    return sorted({action for actions in READ_ACTIONS.values() for action in actions})


class DriftCheck(Construct):
    """The drift-check function, its daily schedule, and the metrics it publishes.

    ``stack_names``: the environment's stacks in this stack's region (`Names.stacks()`, or
    `Names.stacks(dr=True)` in the DR region); ``schedule``: when it runs, a Scheduler cron
    expression in UTC (`schedules.drift_check` in the configuration). Attributes: ``function``, ``schedule``,
    ``metric`` (DriftedStacks), ``failures_metric`` (DriftCheckFailures), ``security_group``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context: UnitContext,
        network: Network,
        stack_names: Sequence[str],
        schedule: str,
    ) -> None:
        super().__init__(scope, construct_id)
        if not stack_names:
            raise ValueError("DriftCheck needs the stacks to check (stack_names is empty)")
        names = context.names

        # CloudFormation has no interface endpoint in our VPCs: its API is reached through NAT.
        self.security_group = https_out_security_group(
            self,
            "SecurityGroup",
            vpc=network.vpc,
            description=f"{names.prefix} drift check: HTTPS to the CloudFormation and CloudWatch APIs",
            egress="HTTPS to the AWS APIs (endpoints, NAT)",
        )

        # Where a run lands when Scheduler cannot invoke the function, or the function fails its
        # asynchronous invocation and Lambda's two retries: the P1 dead-letter alarm fires.
        self.dead_letters = context.dead_letter_queue(self, "DeadLetters", purpose=DRIFT_CHECK_DLQ)
        self.function: lambda_.Function = python_function(
            self,
            "Function",
            context=context,
            function_name=names.drift_check_function,
            description="Daily CloudFormation drift detection on the environment's stacks in this region",
            code="drift_check",
            statements=[],
            environment={
                "STACK_NAMES": ",".join(stack_names),
                "SKIPPED_TYPES": ",".join(SKIPPED_TYPES),
                "ENVIRONMENT": names.token,
                "METRIC_NAMESPACE": metrics.DRIFTED_STACKS.namespace,
                "DRIFTED_METRIC": metrics.DRIFTED_STACKS.name,
                "FAILURES_METRIC": metrics.DRIFT_CHECK_FAILURES.name,
                "METRIC_DIMENSION": metrics.ENVIRONMENT,
            },
            vpc=network.vpc,
            security_group=self.security_group,
            timeout=TIMEOUT,
            reserved_concurrency=None,
            memory_size=128,
            dead_letter_queue=self.dead_letters,
        )
        self._grant(stack_names)
        self.schedule = self._schedule(names, schedule)

        dimensions = {metrics.ENVIRONMENT: names.token}
        self.metric = cloudwatch.Metric(
            namespace=metrics.DRIFTED_STACKS.namespace,
            metric_name=metrics.DRIFTED_STACKS.name,
            dimensions_map=dimensions,
            statistic="Maximum",
            period=cdk.Duration.days(1),
        )
        self.failures_metric = cloudwatch.Metric(
            namespace=metrics.DRIFT_CHECK_FAILURES.namespace,
            metric_name=metrics.DRIFT_CHECK_FAILURES.name,
            dimensions_map=dimensions,
            statistic="Maximum",
            period=cdk.Duration.days(1),
        )

    def _grant(self, stack_names: Sequence[str]) -> None:
        """The detection's permissions, in a policy of their own on the function's role."""
        stack = cdk.Stack.of(self)
        stack_arns = [
            stack.format_arn(service="cloudformation", resource="stack", resource_name=f"{name}/*")
            for name in stack_names
        ]
        partition = region_info.RegionInfo.get(stack.region).partition
        prefix = f"arn:{partition}:cloudformation:{stack.region}:{stack.account}:stack"
        role_policy(
            self,
            "CheckPolicy",
            function=self.function,
            description="Drift detection on the environment's stacks in this region: read only",
            statements=[
                iam.PolicyStatement(
                    actions=[
                        "cloudformation:DetectStackDrift",
                        "cloudformation:DetectStackResourceDrift",
                        "cloudformation:ListStackResources",
                    ],
                    resources=stack_arns,
                ),
                # Addressed by a detection id, not a stack: IAM knows no resource for it.
                iam.PolicyStatement(
                    actions=["cloudformation:DescribeStackDriftDetectionStatus"], resources=["*"]
                ),
                iam.PolicyStatement(actions=read_actions(), resources=["*"]),
                iam.PolicyStatement(
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={"StringEquals": {"cloudwatch:namespace": metrics.DRIFTED_STACKS.namespace}},
                ),
            ],
            reason=(
                "Drift detection reads every resource of a stack with the caller's credentials, so the role "
                "holds the read-only actions of each resource type our stacks contain, on all resources (*): "
                "the stacks' resources have generated names, and many of these actions take no resource. The "
                "detection status is addressed by an id, not a resource (*); PutMetricData takes no resource "
                "and is held to our namespace. A stack's ARN ends in the id CloudFormation gives it at "
                "creation (stack/NAME/*), one per stack of the environment."
            ),
            rules=(
                "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                *(f"AwsSolutions::AwsSolutions-IAM5[Resource::{prefix}/{name}/*]" for name in stack_names),
            ),
        )

    def _schedule(self, names: Names, expression: str) -> scheduler.CfnSchedule:
        return scheduled_invocation(
            self,
            "Schedule",
            name=names.drift_check_schedule,
            description="Daily configuration-drift check of the environment's stacks (make drift on demand)",
            expression=expression,
            function=self.function,
            dead_letters=self.dead_letters,
            # A run that cannot start within the hour waits for the next day's.
            max_event_age=cdk.Duration.hours(1),
            retries=3,
        )
