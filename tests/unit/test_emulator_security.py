"""The local emulator's security baseline types, in-process against moto: CloudTrail trails,
GuardDuty detectors, AWS Config recorders, delivery channels and rules, and IAM OIDC providers.
Each is created from a crafted template and read back through boto3, and each create-time
check AWS makes fails the stack with AWS's error code and message."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from tests.support import create_stack, stack_reasons

REGION = "us-east-1"
ACCOUNT = "123456789012"
TRAIL = "audit"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{TRAIL}"
BUCKET = "audit-logs"
GROUP = "audit-trail"
SERVICE_LINKED_ROLE = (
    f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
)

Resources = dict[str, Any]


@pytest.fixture(autouse=True)
def _config_role(aws: None) -> None:
    """What `make bootstrap-ENV` (and `make deploy-local`) create first: AWS Config's role."""
    boto3.client("iam", region_name=REGION).create_service_linked_role(AWSServiceName="config.amazonaws.com")


def _cfn() -> Any:
    return boto3.client("cloudformation", region_name=REGION)


def _refused(resources: Resources, reason: str, name: str = "s") -> None:
    stack = create_stack(resources, name=name)
    reasons = stack_reasons(name)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE", reasons
    assert any(reason in r for r in reasons), reasons


def _outputs(stack: Any) -> dict[str, str]:
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack_reasons(stack["StackName"])
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _service(name: str) -> dict[str, str]:
    return {"Service": name}


TLS_ONLY = {
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Action": "s3:*",
    "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def _bucket() -> dict[str, Any]:
    return {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": BUCKET}}


def _bucket_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    # The bucket by name, not Ref: emulator.services.s3.BucketPolicy's delete reads the template's
    # unresolved Properties.
    return {
        "Type": "AWS::S3::BucketPolicy",
        "DependsOn": ["Bucket"],
        "Properties": {"Bucket": BUCKET, "PolicyDocument": _document(TLS_ONLY, *statements)},
    }


# --- CloudTrail ---------------------------------------------------------------------------------


def _trail_resources() -> Resources:
    """The audit trail as components/security/baseline.py builds it, reduced to what CreateTrail checks."""

    def source() -> dict[str, str]:  # a new dict each time: the tests change one statement's
        return {"aws:SourceArn": TRAIL_ARN}

    return {
        "Key": {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "KeyPolicy": _document(
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Sid": "CloudTrailEncryptsLogs",
                        "Effect": "Allow",
                        "Principal": _service("cloudtrail.amazonaws.com"),
                        "Action": "kms:GenerateDataKey*",
                        "Resource": "*",
                        "Condition": {
                            "StringLike": {
                                "kms:EncryptionContext:aws:cloudtrail:arn": (
                                    f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"
                                )
                            },
                            "StringEquals": source(),
                        },
                    },
                    {
                        "Sid": "CloudTrailDescribesKey",
                        "Effect": "Allow",
                        "Principal": _service("cloudtrail.amazonaws.com"),
                        "Action": "kms:DescribeKey",
                        "Resource": "*",
                        "Condition": {"StringEquals": source()},
                    },
                )
            },
        },
        "Bucket": _bucket(),
        "BucketPolicy": _bucket_policy(
            {
                "Sid": "CloudTrailAclCheck",
                "Effect": "Allow",
                "Principal": _service("cloudtrail.amazonaws.com"),
                "Action": "s3:GetBucketAcl",
                "Resource": f"arn:aws:s3:::{BUCKET}",
                "Condition": {"StringEquals": source()},
            },
            {
                "Sid": "CloudTrailWrite",
                "Effect": "Allow",
                "Principal": _service("cloudtrail.amazonaws.com"),
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/AWSLogs/{ACCOUNT}/*",
                "Condition": {"StringEquals": {**source(), "s3:x-amz-acl": "bucket-owner-full-control"}},
            },
        ),
        "LogGroup": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": GROUP}},
        "LogsRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": _document(
                    {
                        "Effect": "Allow",
                        "Principal": _service("cloudtrail.amazonaws.com"),
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": source()},
                    }
                ),
                "Policies": [
                    {
                        "PolicyName": "delivery",
                        "PolicyDocument": _document(
                            {
                                "Effect": "Allow",
                                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}:log-stream:"
                                f"{ACCOUNT}_CloudTrail_{REGION}*",
                            }
                        ),
                    }
                ],
            },
        },
        "Trail": {
            "Type": "AWS::CloudTrail::Trail",
            "DependsOn": ["BucketPolicy"],
            "Properties": {
                "TrailName": TRAIL,
                "IsLogging": True,
                "IsMultiRegionTrail": True,
                "IncludeGlobalServiceEvents": True,
                "EnableLogFileValidation": True,
                "S3BucketName": {"Ref": "Bucket"},
                "KMSKeyId": {"Fn::GetAtt": ["Key", "Arn"]},
                "CloudWatchLogsLogGroupArn": {"Fn::GetAtt": ["LogGroup", "Arn"]},
                "CloudWatchLogsRoleArn": {"Fn::GetAtt": ["LogsRole", "Arn"]},
            },
        },
    }


def test_trail_is_created_logging_and_read_back(aws: None) -> None:
    stack = create_stack(
        _trail_resources(),
        {"Name": {"Value": {"Ref": "Trail"}}, "Arn": {"Value": {"Fn::GetAtt": ["Trail", "Arn"]}}},
    )
    assert _outputs(stack) == {"Name": TRAIL, "Arn": TRAIL_ARN}
    cloudtrail = boto3.client("cloudtrail", region_name=REGION)
    (trail,) = cloudtrail.describe_trails(trailNameList=[TRAIL])["trailList"]
    assert trail["S3BucketName"] == BUCKET
    assert trail["IsMultiRegionTrail"] and trail["LogFileValidationEnabled"]
    assert trail["CloudWatchLogsLogGroupArn"].startswith(f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}")
    assert trail["KmsKeyId"].startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/")
    assert cloudtrail.get_trail_status(Name=TRAIL)["IsLogging"] is True
    _cfn().delete_stack(StackName="s")
    assert not cloudtrail.describe_trails()["trailList"]


def test_trail_update_applies_its_settings_in_place(aws: None) -> None:
    """An update that keeps the name changes the trail (UpdateTrail), with CloudFormation's defaults."""
    create_stack(_trail_resources())
    resources = copy.deepcopy(_trail_resources())
    props = resources["Trail"]["Properties"]
    props |= {
        "IsMultiRegionTrail": False,
        "EnableLogFileValidation": False,
        "IncludeGlobalServiceEvents": False,
    }
    _cfn().update_stack(StackName="s", TemplateBody=json.dumps({"Resources": resources}))
    cloudtrail = boto3.client("cloudtrail", region_name=REGION)
    (trail,) = cloudtrail.describe_trails(trailNameList=[TRAIL])["trailList"]
    assert trail["TrailARN"] == TRAIL_ARN and trail["S3BucketName"] == BUCKET
    assert trail["IsMultiRegionTrail"] is False and trail["LogFileValidationEnabled"] is False
    assert trail["IncludeGlobalServiceEvents"] is False
    assert trail["KmsKeyId"].startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/")
    for setting in ("IsMultiRegionTrail", "EnableLogFileValidation", "IncludeGlobalServiceEvents"):
        del props[setting]  # back to CloudFormation's defaults: False, False, True
    _cfn().update_stack(StackName="s", TemplateBody=json.dumps({"Resources": resources}))
    (trail,) = cloudtrail.describe_trails(trailNameList=[TRAIL])["trailList"]
    assert trail["IsMultiRegionTrail"] is False and trail["IncludeGlobalServiceEvents"] is True


def _set(path: str, value: Any) -> Callable[[Resources], None]:
    """Set the value at `path` (keys and list indexes separated by dots) in the resources."""

    def change(resources: Resources) -> None:
        *parents, last = path.split(".")
        node: Any = resources
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is None:
            del node[int(last) if isinstance(node, list) else last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


OTHER_TRAIL = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/other"
BUCKET_STATEMENTS = "BucketPolicy.Properties.PolicyDocument.Statement"
KEY_STATEMENTS = "Key.Properties.KeyPolicy.Statement"
ROLE = "LogsRole.Properties"
BUCKET_REFUSED = (
    f"InsufficientS3BucketPolicyException: Incorrect S3 bucket policy is detected for bucket: {BUCKET}"
)
KEY_REFUSED = "InsufficientEncryptionPolicyException: Insufficient permissions to access S3 bucket"
ROLE_REFUSED = (
    "InvalidCloudWatchLogsRoleArnException: "
    "Access denied. Verify in IAM that the role has adequate permissions."
)


@pytest.mark.parametrize(
    "change, reason",
    [
        pytest.param(
            _set(f"{BUCKET_STATEMENTS}.2.Condition.StringEquals.aws:SourceArn", OTHER_TRAIL),
            BUCKET_REFUSED,
            id="bucket-write-for-another-trail",
        ),
        pytest.param(
            _set(f"{BUCKET_STATEMENTS}.1.Condition.StringEquals.aws:SourceArn", OTHER_TRAIL),
            BUCKET_REFUSED,
            id="bucket-acl-check-for-another-trail",
        ),
        pytest.param(
            _set(f"{BUCKET_STATEMENTS}.2.Resource", f"arn:aws:s3:::{BUCKET}/logs/AWSLogs/{ACCOUNT}/*"),
            BUCKET_REFUSED,
            id="bucket-write-elsewhere",
        ),
        pytest.param(
            _set(f"{BUCKET_STATEMENTS}.2.Condition.StringEquals.s3:x-amz-acl", "private"),
            BUCKET_REFUSED,
            id="bucket-write-without-owner-control",
        ),
        pytest.param(_set("BucketPolicy", None), BUCKET_REFUSED, id="no-bucket-policy"),
        pytest.param(
            lambda r: (
                _set("Trail.Properties.S3BucketName", "no-such-bucket")(r),
                _set("Trail.DependsOn", None)(r),
            ),
            "S3BucketDoesNotExistException: S3 bucket no-such-bucket does not exist!",
            id="no-bucket",
        ),
        pytest.param(_set(f"{KEY_STATEMENTS}.1", None), KEY_REFUSED, id="key-without-cloudtrail"),
        pytest.param(
            _set(f"{KEY_STATEMENTS}.1.Condition.StringEquals.aws:SourceArn", OTHER_TRAIL),
            KEY_REFUSED,
            id="key-for-another-trail",
        ),
        pytest.param(
            _set(
                f"{KEY_STATEMENTS}.1.Condition.StringLike.kms:EncryptionContext:aws:cloudtrail:arn",
                "arn:aws:cloudtrail:*:111111111111:trail/*",
            ),
            KEY_REFUSED,
            id="key-for-another-account's-trails",
        ),
        pytest.param(
            _set("Trail.Properties.KMSKeyId", "alias/no-such-key"),
            "KmsKeyNotFoundException",
            id="no-key",
        ),
        pytest.param(
            _set("Trail.Properties.CloudWatchLogsRoleArn", None),
            "InvalidCloudWatchLogsLogGroupArnException: You must specify a log group and role ARN.",
            id="log-group-without-role",
        ),
        pytest.param(
            _set("Trail.Properties.CloudWatchLogsLogGroupArn", None),
            "InvalidCloudWatchLogsLogGroupArnException: You must specify a log group and role ARN.",
            id="role-without-log-group",
        ),
        pytest.param(
            _set(
                "Trail.Properties.CloudWatchLogsLogGroupArn",
                f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:no-such-group:*",
            ),
            "InvalidCloudWatchLogsLogGroupArnException",
            id="no-log-group",
        ),
        pytest.param(
            _set(f"{ROLE}.AssumeRolePolicyDocument.Statement.0.Principal", _service("lambda.amazonaws.com")),
            ROLE_REFUSED,
            id="role-not-trusting-cloudtrail",
        ),
        pytest.param(
            _set(
                f"{ROLE}.AssumeRolePolicyDocument.Statement.0.Condition.StringEquals.aws:SourceArn",
                OTHER_TRAIL,
            ),
            ROLE_REFUSED,
            id="role-trusting-another-trail",
        ),
        pytest.param(
            _set(
                f"{ROLE}.Policies.0.PolicyDocument.Statement.0.Resource",
                f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}:log-stream:{ACCOUNT}_CloudTrail_eu-west-1*",
            ),
            ROLE_REFUSED,
            id="role-writing-other-streams",
        ),
        pytest.param(
            _set(f"{ROLE}.Policies.0.PolicyDocument.Statement.0.Action", ["logs:PutLogEvents"]),
            ROLE_REFUSED,
            id="role-cannot-create-streams",
        ),
    ],
)
def test_trail_refused_like_create_trail(aws: None, change: Callable[[Resources], Any], reason: str) -> None:
    resources = copy.deepcopy(_trail_resources())
    change(resources)
    _refused(resources, reason)
    assert not boto3.client("cloudtrail", region_name=REGION).describe_trails()["trailList"]


def test_trail_name_taken_is_refused(aws: None) -> None:
    _outputs(create_stack(_trail_resources()))
    second = {"Trail": _trail_resources()["Trail"]}
    del second["Trail"]["DependsOn"]
    second["Trail"]["Properties"] = {"TrailName": TRAIL, "IsLogging": False, "S3BucketName": BUCKET}
    _refused(second, f"TrailAlreadyExistsException: Trail {TRAIL} already exists", name="second")


# --- GuardDuty ----------------------------------------------------------------------------------


def _detector(**changes: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "Enable": True,
        "FindingPublishingFrequency": "FIFTEEN_MINUTES",
        "Features": [
            {"Name": "S3_DATA_EVENTS", "Status": "ENABLED"},
            {"Name": "RDS_LOGIN_EVENTS", "Status": "ENABLED"},
            {
                "Name": "RUNTIME_MONITORING",
                "Status": "ENABLED",
                "AdditionalConfiguration": [{"Name": "ECS_FARGATE_AGENT_MANAGEMENT", "Status": "ENABLED"}],
            },
        ],
        **changes,
    }
    return {
        "Type": "AWS::GuardDuty::Detector",
        "Properties": {k: v for k, v in props.items() if v is not None},
    }


def test_detector_is_created_and_read_back(aws: None) -> None:
    stack = create_stack({"Detector": _detector()}, {"Id": {"Value": {"Ref": "Detector"}}})
    detector_id = _outputs(stack)["Id"]
    guardduty = boto3.client("guardduty", region_name=REGION)
    assert guardduty.list_detectors()["DetectorIds"] == [detector_id]
    detector = guardduty.get_detector(DetectorId=detector_id)
    assert detector["Status"] == "ENABLED"
    assert detector["FindingPublishingFrequency"] == "FIFTEEN_MINUTES"
    assert {f["Name"] for f in detector["Features"]} == {
        "S3_DATA_EVENTS",
        "RDS_LOGIN_EVENTS",
        "RUNTIME_MONITORING",
    }
    _cfn().delete_stack(StackName="s")
    assert guardduty.list_detectors()["DetectorIds"] == []


def test_second_detector_is_refused(aws: None) -> None:
    _outputs(create_stack({"Detector": _detector()}))
    _refused(
        {"Detector": _detector()},
        "BadRequestException: "
        "The request is rejected because a detector already exists for the current account.",
        name="second",
    )
    assert len(boto3.client("guardduty", region_name=REGION).list_detectors()["DetectorIds"]) == 1


@pytest.mark.parametrize(
    "changes, reason",
    [
        (
            {"DataSources": {"S3Logs": {"Enable": True}}},
            "BadRequestException: The request failed because both data sources and features were provided. "
            "You can provide only one; it is recommended to use features.",
        ),
        ({"Features": [{"Name": "DNS_LOGS", "Status": "ENABLED"}]}, "'DNS_LOGS' is not one of"),
        ({"Features": [{"Name": "S3_DATA_EVENTS", "Status": "ON"}]}, "'ON' is not one of"),
        (
            {
                "Features": [
                    {
                        "Name": "RUNTIME_MONITORING",
                        "Status": "ENABLED",
                        "AdditionalConfiguration": [{"Name": "ECS_AGENT_MANAGEMENT", "Status": "ENABLED"}],
                    }
                ]
            },
            "'ECS_AGENT_MANAGEMENT' is not one of",
        ),
        ({"FindingPublishingFrequency": "ONE_DAY"}, "'ONE_DAY' is not one of"),
    ],
)
def test_detector_refused_like_create_detector(aws: None, changes: dict[str, Any], reason: str) -> None:
    _refused({"Detector": _detector(**changes)}, reason)
    assert boto3.client("guardduty", region_name=REGION).list_detectors()["DetectorIds"] == []


def test_detector_with_data_sources_only_is_created(aws: None) -> None:
    _outputs(create_stack({"Detector": _detector(Features=None, DataSources={"S3Logs": {"Enable": True}})}))
    guardduty = boto3.client("guardduty", region_name=REGION)
    (detector_id,) = guardduty.list_detectors()["DetectorIds"]
    assert guardduty.get_detector(DetectorId=detector_id)["DataSources"]["S3Logs"]["Status"] == "ENABLED"


# --- AWS Config ---------------------------------------------------------------------------------

CONFIG_STATEMENTS = (
    {
        "Sid": "ConfigAclCheck",
        "Effect": "Allow",
        "Principal": _service("config.amazonaws.com"),
        "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
        "Resource": f"arn:aws:s3:::{BUCKET}",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
    },
    {
        "Sid": "ConfigWrite",
        "Effect": "Allow",
        "Principal": _service("config.amazonaws.com"),
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/config/AWSLogs/{ACCOUNT}/Config/*",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": ACCOUNT, "s3:x-amz-acl": "bucket-owner-full-control"}
        },
    },
)


def _recorder(**changes: Any) -> dict[str, Any]:
    props = {
        "Name": "baseline",
        "RoleARN": SERVICE_LINKED_ROLE,
        "RecordingGroup": {"AllSupported": True, "IncludeGlobalResourceTypes": True},
        **changes,
    }
    return {
        "Type": "AWS::Config::ConfigurationRecorder",
        "Properties": {k: v for k, v in props.items() if v is not None},
    }


def _channel(depends: list[str] | None = None, **changes: Any) -> dict[str, Any]:
    props = {
        "Name": "baseline",
        "S3BucketName": {"Ref": "Bucket"},
        "S3KeyPrefix": "config",
        "ConfigSnapshotDeliveryProperties": {"DeliveryFrequency": "TwentyFour_Hours"},
        **changes,
    }
    return {
        "Type": "AWS::Config::DeliveryChannel",
        "DependsOn": ["Recorder", "BucketPolicy"] if depends is None else depends,
        "Properties": props,
    }


def _rule(identifier: str = "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED", **changes: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Config::ConfigRule",
        "DependsOn": ["Recorder", "DeliveryChannel"],
        "Properties": {
            "ConfigRuleName": "clever-better-s3-buckets-encrypted",
            "Source": {"Owner": "AWS", "SourceIdentifier": identifier},
            **changes,
        },
    }


def _config_resources() -> Resources:
    return {
        "Bucket": _bucket(),
        "BucketPolicy": _bucket_policy(*CONFIG_STATEMENTS),
        "Recorder": _recorder(),
        "DeliveryChannel": _channel(),
        "Rule": _rule(),
        "DriftRule": _rule(
            "CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK",
            ConfigRuleName="clever-better-stack-drift",
            InputParameters={"cloudformationRoleArn": f"arn:aws:iam::{ACCOUNT}:role/drift"},
            MaximumExecutionFrequency="TwentyFour_Hours",
        ),
    }


def test_config_recorder_channel_and_rules_are_created_recording_and_read_back(aws: None) -> None:
    stack = create_stack(
        _config_resources(),
        {
            "Recorder": {"Value": {"Ref": "Recorder"}},
            "Channel": {"Value": {"Ref": "DeliveryChannel"}},
            "Rule": {"Value": {"Ref": "Rule"}},
            "RuleArn": {"Value": {"Fn::GetAtt": ["Rule", "Arn"]}},
        },
    )
    outputs = _outputs(stack)
    assert outputs["Recorder"] == outputs["Channel"] == "baseline"
    assert outputs["Rule"] == "clever-better-s3-buckets-encrypted"
    assert outputs["RuleArn"].startswith(f"arn:aws:config:{REGION}:{ACCOUNT}:config-rule/config-rule-")
    config = boto3.client("config", region_name=REGION)
    (recorder,) = config.describe_configuration_recorders()["ConfigurationRecorders"]
    assert recorder["roleARN"] == SERVICE_LINKED_ROLE
    assert recorder["recordingGroup"]["includeGlobalResourceTypes"] is True
    (status,) = config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    assert status["recording"] is True
    (channel,) = config.describe_delivery_channels()["DeliveryChannels"]
    assert (channel["s3BucketName"], channel["s3KeyPrefix"]) == (BUCKET, "config")
    rules = {r["ConfigRuleName"]: r for r in config.describe_config_rules()["ConfigRules"]}
    assert json.loads(rules["clever-better-stack-drift"]["InputParameters"]) == {
        "cloudformationRoleArn": f"arn:aws:iam::{ACCOUNT}:role/drift"
    }
    _cfn().delete_stack(StackName="s")
    assert not config.describe_configuration_recorders()["ConfigurationRecorders"]
    assert not config.describe_delivery_channels()["DeliveryChannels"]
    assert not config.describe_config_rules()["ConfigRules"]


def _without_rules(resources: Resources) -> Resources:
    return {k: v for k, v in resources.items() if k not in ("Rule", "DriftRule")}


def _change(**replacements: Any) -> Callable[[Resources], Resources]:
    def change(resources: Resources) -> Resources:
        return {k: v for k, v in {**resources, **replacements}.items() if v is not None}

    return change


POLICY_REFUSED = (
    f"InsufficientDeliveryPolicyException: Insufficient delivery policy to s3 bucket: {BUCKET}, "
    "unable to write to bucket, provided s3 key prefix is 'config'."
)


@pytest.mark.parametrize(
    "change, reason",
    [
        pytest.param(
            _change(Second=_recorder(Name="second")),
            "MaxNumberOfConfigurationRecordersExceededException: Failed to put configuration recorder "
            "'second' because the maximum number of configuration recorders: 1 is reached.",
            id="second-recorder",
        ),
        pytest.param(
            _change(Recorder=_recorder(RoleARN=None)),
            "InvalidRoleException: You have provided a null or empty Amazon Resource Name (ARN)",
            id="recorder-without-role",
        ),
        pytest.param(
            _change(Recorder=_recorder(RoleARN=f"arn:aws:iam::{ACCOUNT}:role/no-such-role")),
            "does not exist (AWS accepts this when it is created; AWS Config accepts the ARN",
            id="recorder-role-missing",
        ),
        pytest.param(
            _change(Recorder=None, DeliveryChannel=_channel(depends=["BucketPolicy"])),
            "NoAvailableConfigurationRecorderException: "
            "Configuration recorder is not available to put delivery channel.",
            id="channel-without-recorder",
        ),
        pytest.param(
            _change(DeliveryChannel=_channel(depends=["Recorder"], S3BucketName="no-such-bucket")),
            "NoSuchBucketException",
            id="channel-without-bucket",
        ),
        pytest.param(_change(BucketPolicy=_bucket_policy()), POLICY_REFUSED, id="policy-without-config"),
        pytest.param(
            _change(BucketPolicy=_bucket_policy(CONFIG_STATEMENTS[0])),
            POLICY_REFUSED,
            id="policy-without-write",
        ),
        pytest.param(
            _change(BucketPolicy=_bucket_policy(CONFIG_STATEMENTS[1])),
            POLICY_REFUSED,
            id="policy-without-acl-check",
        ),
        pytest.param(
            _change(DeliveryChannel=_channel(S3KeyPrefix="other")),
            "InsufficientDeliveryPolicyException: Insufficient delivery policy to s3 bucket: "
            f"{BUCKET}, unable to write to bucket, provided s3 key prefix is 'other'.",
            id="policy-for-another-prefix",
        ),
        pytest.param(
            _change(Second=_channel(Name="second", depends=["DeliveryChannel"])),
            "MaxNumberOfDeliveryChannelsExceededException: Failed to put delivery channel 'second'",
            id="second-channel",
        ),
    ],
)
def test_config_recorder_and_channel_refused_like_aws_config(
    aws: None, change: Callable[[Resources], Resources], reason: str
) -> None:
    _refused(change(_without_rules(_config_resources())), reason)
    config = boto3.client("config", region_name=REGION)
    assert not config.describe_delivery_channels()["DeliveryChannels"]


@pytest.mark.parametrize(
    "rule, reason",
    [
        pytest.param(
            _rule("S3_BUCKET_ENCRYPTED_SOMEHOW"),
            "InvalidParameterValueException: The sourceIdentifier S3_BUCKET_ENCRYPTED_SOMEHOW is invalid.",
            id="unknown-managed-rule",
        ),
        pytest.param(
            _rule("CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK"),
            "The required parameter [cloudformationRoleArn] is not present in the inputParameters",
            id="missing-parameter",
        ),
        pytest.param(
            _rule(InputParameters={"bucketName": "x"}),
            "Unknown parameters provided in the inputParameters",
            id="unknown-parameter",
        ),
    ],
)
def test_config_rule_refused_like_put_config_rule(aws: None, rule: dict[str, Any], reason: str) -> None:
    _refused({**_without_rules(_config_resources()), "Rule": rule}, reason)


def test_config_rule_needs_a_recorder(aws: None) -> None:
    rule = {**_rule(), "DependsOn": []}
    _refused(
        {"Rule": rule},
        "NoAvailableConfigurationRecorderException: There are no configuration recorders available",
    )


# --- IAM OIDC providers -------------------------------------------------------------------------

GITHUB = "https://token.actions.githubusercontent.com"


def _provider(**changes: Any) -> dict[str, Any]:
    props = {
        "Url": GITHUB,
        "ClientIdList": ["sts.amazonaws.com"],
        "ThumbprintList": ["6938fd4d98bab03faadb97b34396831e3780aea1"],
        **changes,
    }
    return {"Type": "AWS::IAM::OIDCProvider", "Properties": props}


def test_oidc_provider_is_created_and_read_back(aws: None) -> None:
    stack = create_stack(
        {"Provider": _provider()},
        {"Ref": {"Value": {"Ref": "Provider"}}, "Arn": {"Value": {"Fn::GetAtt": ["Provider", "Arn"]}}},
    )
    arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    assert _outputs(stack) == {"Ref": arn, "Arn": arn}
    iam = boto3.client("iam", region_name=REGION)
    provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert provider["ClientIDList"] == ["sts.amazonaws.com"]
    _cfn().delete_stack(StackName="s")
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []


@pytest.mark.parametrize(
    "resources, reason",
    [
        pytest.param(
            {"Provider": _provider(Url="http://token.actions.githubusercontent.com")},
            "ValidationError: Invalid Open ID Connect Provider URL",
            id="not-https",
        ),
        pytest.param(
            {"Provider": _provider(ClientIdList=[f"client-{i}" for i in range(101)])},
            "LimitExceeded: Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100",
            id="too-many-client-ids",
        ),
        pytest.param(
            {"Provider": _provider(ThumbprintList=["abc"])},
            "ValidationError: Each thumbprint must have 40 characters",
            id="short-thumbprint",
        ),
        pytest.param(
            {"Provider": _provider(), "Again": _provider(Url=f"{GITHUB}/")},
            f"EntityAlreadyExists: Provider with url {GITHUB}/ already exists.",
            id="same-url-twice",
        ),
    ],
)
def test_oidc_provider_refused_like_iam(aws: None, resources: Resources, reason: str) -> None:
    _refused(resources, reason)
    assert (
        boto3.client("iam", region_name=REGION).list_open_id_connect_providers()["OpenIDConnectProviderList"]
        == []
    )


# --- EventBridge rules publishing to an encrypted SNS topic (emulator.services.events) -----------


def _topic_and_rule(
    *, topic_policy_source: str, key_admits_events: bool, key_condition: dict[str, Any] | None = None
) -> Resources:
    """`key_condition`: one on the key's statement for EventBridge (it sends KMS no source)."""
    key_statements = [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if key_admits_events:
        key_statements.append(
            {
                "Effect": "Allow",
                "Principal": _service("events.amazonaws.com"),
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                **({"Condition": key_condition} if key_condition else {}),
            }
        )
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms"
    return {
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": _document(*key_statements)}},
        "Topic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": "alarms", "KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
        },
        "TopicPolicy": {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {
                "Topics": [{"Ref": "Topic"}],
                "PolicyDocument": _document(
                    {
                        "Effect": "Allow",
                        "Principal": _service("events.amazonaws.com"),
                        "Action": "sns:Publish",
                        "Resource": topic_arn,
                        "Condition": {"ArnEquals": {"aws:SourceArn": topic_policy_source}},
                    }
                ),
            },
        },
        "Rule": {
            "Type": "AWS::Events::Rule",
            "DependsOn": ["TopicPolicy"],
            "Properties": {
                "Name": "findings",
                "EventPattern": {"source": ["aws.guardduty"]},
                "Targets": [{"Id": "AlarmTopic", "Arn": topic_arn}],
            },
        },
    }


def test_a_rule_whose_topic_admits_it_publishes(aws: None) -> None:
    rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/findings"
    stack = create_stack(_topic_and_rule(topic_policy_source=rule_arn, key_admits_events=True))
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack_reasons()


@pytest.mark.parametrize(
    ("source", "key", "condition", "reason"),
    [
        (
            f"arn:aws:events:{REGION}:{ACCOUNT}:rule/other",
            True,
            None,
            "the topic policy does not let events.amazonaws.com publish",
        ),
        (
            f"arn:aws:events:{REGION}:{ACCOUNT}:rule/findings",
            False,
            None,
            "does not allow events.amazonaws.com kms:GenerateDataKey",
        ),
        # Not supported for EventBridge-to-encrypted topics (SNS developer guide): KMS sees neither.
        (
            f"arn:aws:events:{REGION}:{ACCOUNT}:rule/findings",
            True,
            {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            "does not allow events.amazonaws.com kms:GenerateDataKey",
        ),
        (
            f"arn:aws:events:{REGION}:{ACCOUNT}:rule/findings",
            True,
            {"ArnEquals": {"aws:SourceArn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/findings"}},
            "does not allow events.amazonaws.com kms:GenerateDataKey",
        ),
    ],
    ids=["topic-for-another-rule", "key-without-events", "key-on-source-account", "key-on-source-arn"],
)
def test_a_rule_whose_topic_or_key_refuses_it_is_locally_refused(
    aws: None, source: str, key: bool, condition: dict[str, Any] | None, reason: str
) -> None:
    _refused(
        _topic_and_rule(topic_policy_source=source, key_admits_events=key, key_condition=condition), reason
    )


def test_a_recorder_before_its_service_linked_role_exists_is_refused(aws: None) -> None:
    boto3.client("iam", region_name=REGION).delete_role(RoleName="AWSServiceRoleForConfig")
    _refused(
        {"Recorder": _recorder()},
        f"the recorder's role {SERVICE_LINKED_ROLE} does not exist: create it first (make bootstrap-ENV",
    )
