"""The account's detection baseline (runbook: "All actions logged in CloudTrail"; "security
breach" is P0): one of each per account, in the primary region of the one environment that owns
it (`security.account_baseline`). The trail records every region; GuardDuty and AWS Config are
regional, and the DR region gets its own with its alarm routing (the DR unit).

* ``AuditTrail``: a multi-region CloudTrail trail with log-file validation, encrypted with its own
  key, into a TLS-only, versioned, access-logged bucket that archives and expires on config and
  is kept when the stack is deleted; delivered to CloudWatch Logs, where the CIS metric filters
  count what the security alarms (config/alarms.py) watch.
* ``ThreatDetection``: GuardDuty (S3 data events, RDS login activity, ECS runtime monitoring on
  Fargate); findings go by EventBridge to the alerting router's topics: high and critical to P0,
  medium to P2, low to P3.
* ``ComplianceRules``: the AWS Config recorder and the rules that keep the runbook's promises
  checkable (secrets rotated on schedule, RDS backups on and encrypted, buckets encrypted and
  not public, stack drift); non-compliance goes to P3.
* ``github_oidc_provider``: GitHub Actions' OIDC provider, which DeploymentRole trusts.

The EventBridge rules publish to the monitoring stack's encrypted severity topics by ARN; that
stack's topic and key policies admit exactly these rules (components/monitoring/alarms.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_config as config_
from aws_cdk import aws_events as events
from aws_cdk import aws_guardduty as guardduty
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from components.keys import encryption_key
from components.log_bucket import log_bucket
from components.nag import acknowledge
from components.retention import retention
from components.security.access import policy
from config.alarms import GUARDDUTY_SEVERITIES, security_event_rules
from config.model import EnvironmentConfig, Severity
from config.names import (
    AUDIT_LOG_GROUP,
    AUDIT_TRAIL,
    CONFIG_RECORDER,
    GITHUB_OIDC_HOST,
    PROJECT,
    SECURITY_NAMESPACE,
    Names,
)

# The trail's bucket and key outlive the stack in every environment: an investigation may need
# them after a sandbox is torn down. Their names are CloudFormation's, so a re-created stack never
# collides with what the last one left (stack outputs name them); a failed first create still
# removes them. The named log group follows the environment's policy: its events are in the bucket.
KEEP = cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE


@dataclass(frozen=True)
class TrailMetric:
    """A CloudTrail metric filter (CIS AWS Foundations Benchmark, CloudWatch controls)."""

    metric: str
    pattern: str
    # JSON field -> dimension (a filter with dimensions publishes one series per value).
    dimensions: tuple[tuple[str, str], ...] = ()


def _any_event(*names: str) -> str:
    return "{ " + " || ".join(f"($.eventName = {n})" for n in names) + " }"


# Metric name -> filter. The alarms (config/alarms.py) read these by the same names.
TRAIL_METRICS = (
    TrailMetric(
        "UnauthorizedApiCalls",
        '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }',
    ),
    TrailMetric(
        "ConsoleSignInFailures",
        '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
    ),
    TrailMetric(
        "RootAccountUse",
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
        '&& $.eventType != "AwsServiceEvent" }',
    ),
    TrailMetric(
        "IamPolicyChanges",
        _any_event(
            "DeleteGroupPolicy",
            "DeleteRolePolicy",
            "DeleteUserPolicy",
            "PutGroupPolicy",
            "PutRolePolicy",
            "PutUserPolicy",
            "CreatePolicy",
            "DeletePolicy",
            "CreatePolicyVersion",
            "DeletePolicyVersion",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "AttachUserPolicy",
            "DetachUserPolicy",
            "AttachGroupPolicy",
            "DetachGroupPolicy",
        ),
    ),
    TrailMetric(
        "SecurityGroupChanges",
        _any_event(
            "AuthorizeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "CreateSecurityGroup",
            "DeleteSecurityGroup",
        ),
    ),
    TrailMetric(
        "NetworkAclChanges",
        _any_event(
            "CreateNetworkAcl",
            "CreateNetworkAclEntry",
            "DeleteNetworkAcl",
            "DeleteNetworkAclEntry",
            "ReplaceNetworkAclEntry",
            "ReplaceNetworkAclAssociation",
        ),
    ),
    TrailMetric(
        "KmsKeyDisabledOrScheduledForDeletion",
        "{ ($.eventSource = kms.amazonaws.com) && "
        "(($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }",
    ),
    TrailMetric(
        "TrailChanges", _any_event("CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging")
    ),
    # Every environment's AdminRole in the account (`clever-better-{token}-AdminRole`), one series
    # per role: each environment's P1 alarm reads its own role's. A leading wildcard only (as the
    # CIS patterns use it): where else a wildcard may sit in a value the docs do not say.
    TrailMetric(
        "AdminRoleAssumed",
        '{ ($.eventSource = "sts.amazonaws.com") && ($.eventName = "AssumeRole") && '
        '($.requestParameters.roleArn = "*-AdminRole") }',
        (("RoleArn", "$.requestParameters.roleArn"),),
    ),
)


class AuditTrail(Construct):
    """Attributes: ``key``, ``bucket``, ``access_logs``, ``log_group``, ``trail``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        log_group_removal: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        security = config.security
        trail_arn = stack.format_arn(service="cloudtrail", resource="trail", resource_name=AUDIT_TRAIL)
        self.key = encryption_key(
            self,
            "Key",
            alias=f"alias/{PROJECT}/audit",
            description="Encrypts the account's CloudTrail trail, its bucket and its CloudWatch Logs group",
            removal_policy=KEEP,
            log_group_names=[AUDIT_LOG_GROUP],
        )
        # CloudTrail user guide, "Configure AWS KMS key policies for CloudTrail": CloudTrail
        # encrypts each log file under a data key bound to the trail's ARN; CreateTrail refuses a
        # key it may not use (InsufficientEncryptionPolicyException).
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailEncryptsLogs",
                principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
                actions=["kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": (
                            f"arn:aws:cloudtrail:*:{stack.account}:trail/*"
                        )
                    },
                    "StringEquals": {"aws:SourceArn": trail_arn},
                },
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailDescribesKey",
                principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
                actions=["kms:DescribeKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceArn": trail_arn}},
            )
        )
        self.access_logs = log_bucket(
            self,
            "ServiceLogs",
            name=None,
            retention_days=security.audit_bucket_retention_days,
            removal_policy=KEEP,
            reason="Receives the audit bucket's S3 server access logs and AWS Config's deliveries: "
            "server access logging can only write SSE-S3, and logging this bucket into itself would loop.",
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            enforce_ssl=True,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="audit/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="archive-then-expire",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=cdk.Duration.days(security.audit_archive_after_days),
                        )
                    ],
                    expiration=cdk.Duration.days(security.audit_bucket_retention_days),
                    noncurrent_version_expiration=cdk.Duration.days(30),
                )
            ],
            removal_policy=KEEP,
        )
        acknowledge(
            self.bucket.node.default_child or self.bucket,
            "CloudTrail's multi-region trail already records every region into this one bucket, "
            "and each hour's digest file lets an investigator prove no log file changed; "
            "a copy adds nothing.",
            "NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled",
        )
        # CloudTrail user guide, "Amazon S3 bucket policy for CloudTrail", limited to this trail.
        for sid, actions, resource, extra in (
            ("CloudTrailAclCheck", ["s3:GetBucketAcl"], self.bucket.bucket_arn, {}),
            (
                "CloudTrailWrite",
                ["s3:PutObject"],
                self.bucket.arn_for_objects(f"AWSLogs/{stack.account}/*"),
                {"s3:x-amz-acl": "bucket-owner-full-control"},
            ),
        ):
            self.bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
                    actions=actions,
                    resources=[resource],
                    conditions={"StringEquals": {"aws:SourceArn": trail_arn, **extra}},
                )
            )
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=AUDIT_LOG_GROUP,
            encryption_key=self.key,
            retention=retention(security.audit_log_retention_days),
            removal_policy=log_group_removal,
        )
        role = iam.Role(
            self,
            "LogsRole",
            assumed_by=iam.ServicePrincipal(
                "cloudtrail.amazonaws.com", conditions={"StringEquals": {"aws:SourceArn": trail_arn}}
            ),
            description="CloudTrail delivers the audit trail's events to its CloudWatch Logs group",
        )
        stream = (
            f"arn:aws:logs:{stack.region}:{stack.account}:log-group:{AUDIT_LOG_GROUP}:log-stream:"
            f"{stack.account}_CloudTrail_{stack.region}*"
        )
        delivery = policy(
            self,
            "LogsPolicy",
            role=role,
            statements=[
                iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[stream])
            ],
        )
        acknowledge(
            delivery,
            "CloudTrail names its log streams ACCOUNT_CloudTrail_REGION with a suffix of its own; "
            "the wildcard stays within those streams of the audit group.",
            f"AwsSolutions::AwsSolutions-IAM5[Resource::{stream}]",
        )
        self.trail = cloudtrail_trail(
            self, bucket=self.bucket, key=self.key, log_group=self.log_group, role=role, policy=delivery
        )
        for metric in TRAIL_METRICS:
            logs.CfnMetricFilter(
                self,
                f"{metric.metric}Filter",
                log_group_name=self.log_group.log_group_name,
                filter_name=f"{PROJECT}-{metric.metric}",
                filter_pattern=metric.pattern,
                metric_transformations=[
                    logs.CfnMetricFilter.MetricTransformationProperty(
                        metric_namespace=SECURITY_NAMESPACE,
                        metric_name=metric.metric,
                        metric_value="1",
                        dimensions=[
                            logs.CfnMetricFilter.DimensionProperty(key=k, value=v)
                            for k, v in metric.dimensions
                        ]
                        or None,
                    )
                ],
            )


def cloudtrail_trail(
    scope: Construct,
    *,
    bucket: s3.Bucket,
    key: kms.IKey,
    log_group: logs.LogGroup,
    role: iam.IRole,
    policy: iam.ManagedPolicy,
) -> cdk.CfnResource:
    """The trail itself (L1: the L2 adds a bucket policy without aws:SourceArn and no key policy)."""
    from aws_cdk import aws_cloudtrail as cloudtrail

    trail = cloudtrail.CfnTrail(
        scope,
        "Trail",
        trail_name=AUDIT_TRAIL,
        is_logging=True,
        is_multi_region_trail=True,
        include_global_service_events=True,
        enable_log_file_validation=True,
        s3_bucket_name=bucket.bucket_name,
        kms_key_id=key.key_arn,
        cloud_watch_logs_log_group_arn=log_group.log_group_arn,
        cloud_watch_logs_role_arn=role.role_arn,
    )
    # CloudTrail tests the bucket policy and the role's policy when it creates the trail.
    for dependency in (bucket.policy, policy):
        assert dependency is not None
        trail.node.add_dependency(dependency)
    return trail


def _severity_band(low: float | None, high: float | None) -> list[dict[str, list[object]]]:
    bounds: list[object] = []
    if low is not None:
        bounds += [">=", low]
    if high is not None:
        bounds += ["<", high]
    return [{"numeric": bounds}]


class ThreatDetection(Construct):
    """Attributes: ``detector``, ``rules`` (rule name -> events.CfnRule; none where `route` is
    False: the DR region forwards its findings to the primary region's rules instead)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, route: bool = True
    ) -> None:
        super().__init__(scope, construct_id)
        enabled = "ENABLED"
        self.detector = guardduty.CfnDetector(
            self,
            "Detector",
            enable=True,
            finding_publishing_frequency="FIFTEEN_MINUTES",
            # Features, never DataSources as well: GuardDuty refuses both in one request.
            features=[
                guardduty.CfnDetector.CFNFeatureConfigurationProperty(name="S3_DATA_EVENTS", status=enabled),
                guardduty.CfnDetector.CFNFeatureConfigurationProperty(
                    name="RDS_LOGIN_EVENTS", status=enabled
                ),
                guardduty.CfnDetector.CFNFeatureConfigurationProperty(
                    name="RUNTIME_MONITORING",
                    status=enabled,
                    additional_configuration=[
                        guardduty.CfnDetector.CFNFeatureAdditionalConfigurationProperty(
                            name="ECS_FARGATE_AGENT_MANAGEMENT", status=enabled
                        )
                    ],
                ),
            ],
        )
        self.rules: dict[str, events.CfnRule] = {}
        topics = _topic_arns(self, config.names)
        rules = security_event_rules(config)
        for severity, (low, high) in GUARDDUTY_SEVERITIES.items() if route else ():
            name = f"{PROJECT}-guardduty-{severity.lower()}"
            assert rules[name] == severity
            self.rules[name] = _rule(
                self,
                name,
                description=(
                    f"GuardDuty findings of severity {low or 0:g} to {high or 10:g} "
                    f"-> the {severity} alarm topic"
                ),
                pattern={
                    "source": ["aws.guardduty"],
                    "detail-type": ["GuardDuty Finding"],
                    "detail": {"severity": _severity_band(low, high)},
                },
                topic_arn=topics[severity],
            )


class ComplianceRules(Construct):
    """Attributes: ``recorder``, ``delivery_channel``, ``rules`` (id -> CfnConfigRule), ``event_rule``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        delivery_bucket: s3.IBucket,
        route: bool = True,
    ) -> None:
        """`route` False (the DR region): no rule of its own to the alarm topics, and global
        resources (IAM) left to the primary region's recorder, which records them once."""
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        # The service-linked role (created by `make bootstrap-ENV`): delivery then goes by the
        # bucket's policy, and the role follows new resource types without us.
        self.recorder = config_.CfnConfigurationRecorder(
            self,
            "Recorder",
            name=CONFIG_RECORDER,
            role_arn=f"arn:aws:iam::{stack.account}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
            recording_group=config_.CfnConfigurationRecorder.RecordingGroupProperty(
                all_supported=True, include_global_resource_types=route
            ),
        )
        prefix = "config"
        # AWS Config developer guide, "Permissions for the Amazon S3 bucket for the AWS Config
        # delivery channel"; PutDeliveryChannel refuses a bucket it cannot write.
        for sid, actions, resource, extra in (
            ("ConfigAclCheck", ["s3:GetBucketAcl", "s3:ListBucket"], delivery_bucket.bucket_arn, {}),
            (
                "ConfigWrite",
                ["s3:PutObject"],
                delivery_bucket.arn_for_objects(f"{prefix}/AWSLogs/{stack.account}/Config/*"),
                {"s3:x-amz-acl": "bucket-owner-full-control"},
            ),
        ):
            delivery_bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    principals=[iam.ServicePrincipal("config.amazonaws.com")],
                    actions=actions,
                    resources=[resource],
                    conditions={"StringEquals": {"aws:SourceAccount": stack.account, **extra}},
                )
            )
        self.delivery_channel = config_.CfnDeliveryChannel(
            self,
            "DeliveryChannel",
            name=CONFIG_RECORDER,
            s3_bucket_name=delivery_bucket.bucket_name,
            s3_key_prefix=prefix,
            config_snapshot_delivery_properties=config_.CfnDeliveryChannel.ConfigSnapshotDeliveryPropertiesProperty(
                delivery_frequency="TwentyFour_Hours"
            ),
        )
        bucket_policy = delivery_bucket.policy
        assert bucket_policy is not None
        # PutDeliveryChannel needs the recorder first and tests the bucket policy; the rules
        # follow the channel (the recorder starts once both exist).
        self.delivery_channel.node.add_dependency(bucket_policy)
        self.delivery_channel.node.add_dependency(self.recorder)
        drift_role = iam.Role(
            self,
            "DriftDetectionRole",
            assumed_by=iam.ServicePrincipal("config.amazonaws.com"),
            description="AWS Config's stack-drift rule detects drift with this role",
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("ReadOnlyAccess")],
        )
        detect = policy(
            self,
            "DriftDetectionPolicy",
            role=drift_role,
            statements=[
                iam.PolicyStatement(
                    actions=[
                        "cloudformation:DetectStackDrift",
                        "cloudformation:DetectStackResourceDrift",
                        "cloudformation:DescribeStackDriftDetectionStatus",
                    ],
                    resources=["*"],
                )
            ],
        )
        reason = (
            "Drift detection reads every resource type a stack holds, which is what ReadOnlyAccess is "
            "maintained for; the role only adds the three drift-detection calls, on any stack."
        )
        acknowledge(
            drift_role,
            reason,
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/ReadOnlyAccess]",
        )
        acknowledge(detect, reason, "AwsSolutions::AwsSolutions-IAM5[Resource::*]")
        rotation = config.rotation
        managed: dict[str, tuple[str, dict[str, str]]] = {
            "secrets-rotation-enabled": (
                "SECRETSMANAGER_ROTATION_ENABLED_CHECK",
                {
                    "maximumAllowedRotationFrequency": str(
                        max(rotation.admin_days, rotation.application_days, rotation.betfair_days)
                    )
                },
            ),
            "secrets-rotation-succeeded": ("SECRETSMANAGER_SCHEDULED_ROTATION_SUCCESS_CHECK", {}),
            "rds-backups-enabled": (
                "DB_INSTANCE_BACKUP_ENABLED",
                {"backupRetentionMinimum": str(config.backup.retention_days)},
            ),
            "rds-storage-encrypted": ("RDS_STORAGE_ENCRYPTED", {}),
            "s3-buckets-encrypted": ("S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED", {}),
            "s3-buckets-not-public": ("S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED", {}),
            "stack-drift": (
                "CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK",
                {"cloudformationRoleArn": drift_role.role_arn},
            ),
        }
        self.rules: dict[str, config_.CfnConfigRule] = {}
        for rule_id, (identifier, parameters) in managed.items():
            rule = config_.CfnConfigRule(
                self,
                "".join(part.title() for part in rule_id.split("-")),
                config_rule_name=config.names.config_rule(rule_id),
                source=config_.CfnConfigRule.SourceProperty(owner="AWS", source_identifier=identifier),
                input_parameters=parameters or None,
                maximum_execution_frequency="TwentyFour_Hours"
                if identifier.startswith("CLOUDFORMATION")
                else None,
            )
            # AWS Config evaluates only once its recorder records (AWS::Config::ConfigRule).
            rule.node.add_dependency(self.delivery_channel)
            self.rules[rule_id] = rule
        self.event_rule: events.CfnRule | None = None
        if route:
            self.event_rule = _rule(
                self,
                f"{PROJECT}-config-noncompliant",
                description="AWS Config rules of Clever Better turning NON_COMPLIANT -> the P3 alarm topic",
                pattern=CONFIG_NONCOMPLIANT,
                topic_arn=_topic_arns(self, config.names)["P3"],
            )


# AWS Config's compliance changes of our rules that the router hears of.
CONFIG_NONCOMPLIANT: dict[str, object] = {
    "source": ["aws.config"],
    "detail-type": ["Config Rules Compliance Change"],
    "detail": {
        "configRuleName": [{"prefix": f"{PROJECT}-"}],
        "newEvaluationResult": {"complianceType": ["NON_COMPLIANT"]},
    },
}


class ForwardToPrimary(Construct):
    """The DR region's GuardDuty findings and Config compliance changes, sent to the primary
    region's default event bus, where the audit stack's rules route them as their own (an event
    keeps its source, detail and `region`). Same account: the bus needs no policy; the rule sends
    with its role (EventBridge user guide, "Sending and receiving events between AWS Regions").

    Attributes: ``rule``, ``role``."""

    def __init__(self, scope: Construct, construct_id: str, *, primary_region: str) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        bus = f"arn:aws:events:{primary_region}:{stack.account}:event-bus/default"
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "events.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"Sends the DR region's security events to {primary_region}'s default bus",
        )
        policy(
            self,
            "Policy",
            role=self.role,
            statements=[iam.PolicyStatement(actions=["events:PutEvents"], resources=[bus])],
        )
        self.rule = events.CfnRule(
            self,
            "Rule",
            name=f"{PROJECT}-security-to-{primary_region}",
            description=f"GuardDuty findings and Config non-compliance -> {primary_region}, routed there",
            # The primary region's rules pick severities and NON_COMPLIANT; this only narrows to
            # the two kinds of event (plain fields: no `$or`, which fewer tools understand).
            event_pattern={
                "source": ["aws.guardduty", "aws.config"],
                "detail-type": ["GuardDuty Finding", "Config Rules Compliance Change"],
            },
            state="ENABLED",
            targets=[events.CfnRule.TargetProperty(id="PrimaryBus", arn=bus, role_arn=self.role.role_arn)],
        )


def _topic_arns(scope: Construct, names: Names) -> dict[Severity, str]:
    stack = cdk.Stack.of(scope)
    return {
        s: stack.format_arn(
            service="sns", resource=names.alarm_topic(s), arn_format=cdk.ArnFormat.NO_RESOURCE_NAME
        )
        for s in ("P0", "P1", "P2", "P3")
    }


def _rule(
    scope: Construct, name: str, *, description: str, pattern: dict[str, object], topic_arn: str
) -> events.CfnRule:
    return events.CfnRule(
        scope,
        "".join(part.title() for part in name.removeprefix(f"{PROJECT}-").split("-")) + "Rule",
        name=name,
        description=description,
        event_pattern=pattern,
        state="ENABLED",
        targets=[events.CfnRule.TargetProperty(id="AlarmTopic", arn=topic_arn)],
    )


def github_oidc_provider(scope: Construct) -> iam.CfnOIDCProvider:
    """GitHub Actions' OIDC provider (one per account). IAM trusts GitHub's certificate
    authority for this host and ignores the thumbprints, which CloudFormation may still require."""
    return iam.CfnOIDCProvider(
        scope,
        "GitHubOidcProvider",
        url=f"https://{GITHUB_OIDC_HOST}",
        client_id_list=["sts.amazonaws.com"],
        thumbprint_list=[
            "6938fd4d98bab03faadb97b34396831e3780aea1",
            "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
        ],
    )
