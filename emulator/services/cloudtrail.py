"""CloudTrail: AWS::CloudTrail::Trail, created through moto's CloudTrail backend (so `aws
cloudtrail describe-trails` and `get-trail-status` read it) after the checks CreateTrail makes.
Nothing is delivered locally.

* the bucket exists (S3BucketDoesNotExistException) and its policy lets cloudtrail.amazonaws.com
  s3:GetBucketAcl the bucket and s3:PutObject ``BUCKET/[PREFIX/]AWSLogs/ACCOUNT/*``, evaluated with
  aws:SourceArn (the trail's ARN), aws:SourceAccount and s3:x-amz-acl=bucket-owner-full-control
  (InsufficientS3BucketPolicyException);
* KMSKeyId (CloudFormation's spelling): the key exists (KmsKeyNotFoundException) and its
  policy lets cloudtrail.amazonaws.com kms:GenerateDataKey (what a GenerateDataKey* grant
  covers) and kms:DescribeKey, with kms:EncryptionContext:aws:cloudtrail:arn and aws:SourceArn
  the trail's ARN (InsufficientEncryptionPolicyException);
* SnsTopicName: the topic exists and its policy lets cloudtrail.amazonaws.com publish
  (InsufficientSnsTopicPolicyException);
* CloudWatchLogsLogGroupArn and CloudWatchLogsRoleArn both or neither
  (InvalidCloudWatchLogsLogGroupArnException); the log group exists; the role exists, trusts
  cloudtrail.amazonaws.com (sts:AssumeRole with the trail's ARN as aws:SourceArn) and its
  policies allow logs:CreateLogStream and logs:PutLogEvents on the stream CloudTrail writes,
  ``ACCOUNT_CloudTrail_REGION`` with a suffix of its own (InvalidCloudWatchLogsRoleArnException);
* a trail of that name not already in the region, nor a multi-region one of that name
  elsewhere (TrailAlreadyExistsException); moto checks the name's characters.

IsLogging starts or stops logging. Ref is the trail's name, GetAtt Arn its ARN.
"""

from __future__ import annotations

import json
from typing import Any

from moto.cloudtrail.models import cloudtrail_backends
from moto.logs.models import logs_backends
from moto.sns.models import sns_backends
from moto.utilities.utils import get_partition

from emulator.services.base import AppliedModel, Fixes, Models
from emulator.services.configservice import as_aws_error
from emulator.services.iam import allows
from emulator.services.kms import find_key
from emulator.services.refusals import AwsError, request_context, resource_policy_allows, role_refusal
from emulator.services.s3 import delivery_refusal

PRINCIPAL = "cloudtrail.amazonaws.com"


class S3BucketDoesNotExistException(AwsError):
    """CloudTrail's error code for a bucket that does not exist."""


class InsufficientS3BucketPolicyException(AwsError):
    """CloudTrail's error code for a bucket whose policy does not let CloudTrail write."""


class KmsKeyNotFoundException(AwsError):
    """CloudTrail's error code for a KMS key that does not exist."""


class InsufficientEncryptionPolicyException(AwsError):
    """CloudTrail's error code for a key whose policy does not let CloudTrail use it."""


class InsufficientSnsTopicPolicyException(AwsError):
    """CloudTrail's error code for a topic that does not exist or CloudTrail may not publish to."""


class InvalidCloudWatchLogsLogGroupArnException(AwsError):
    """CloudTrail's error code for a log group it cannot deliver to."""


class InvalidCloudWatchLogsRoleArnException(AwsError):
    """CloudTrail's error code for a role it cannot deliver to CloudWatch Logs with."""


class TrailAlreadyExistsException(AwsError):
    """CloudTrail's error code for a trail name already taken."""


def trail_arn(name: str, account_id: str, region_name: str) -> str:
    return f"arn:{get_partition(region_name)}:cloudtrail:{region_name}:{account_id}:trail/{name}"


def _check_bucket(bucket_name: str, prefix: str, arn: str, account_id: str, region_name: str) -> None:
    folder = f"{prefix}/" if prefix else ""
    refusal = delivery_refusal(
        bucket_name,
        principal=PRINCIPAL,
        objects=f"{folder}AWSLogs/{account_id}/*",
        source={"aws:SourceArn": arn, "aws:SourceAccount": account_id},
        account_id=account_id,
        region_name=region_name,
    )
    if refusal == "missing":
        raise S3BucketDoesNotExistException(f"S3 bucket {bucket_name} does not exist!")
    if refusal == "policy":
        raise InsufficientS3BucketPolicyException(
            f"Incorrect S3 bucket policy is detected for bucket: {bucket_name}"
        )


def _check_key(key_id: str, bucket_name: str, arn: str, account_id: str, region_name: str) -> None:
    try:
        key = find_key(key_id, account_id, region_name)
    except AttributeError:  # moto: an alias name no alias has (find_key lets this through)
        key = None
    if key is None:
        raise KmsKeyNotFoundException(f"KMS key {key_id} does not exist.")
    context = request_context(
        {
            "kms:EncryptionContext:aws:cloudtrail:arn": arn,
            "aws:SourceArn": arn,
            "aws:SourceAccount": account_id,
        }
    )
    document = json.loads(key.policy)
    for action in ("kms:GenerateDataKey", "kms:DescribeKey"):
        if not resource_policy_allows(document, PRINCIPAL, action, key.arn, context):
            raise InsufficientEncryptionPolicyException(
                f"Insufficient permissions to access S3 bucket {bucket_name} or KMS key {key_id}."
            )


def _topic_arn(topic: str, account_id: str, region_name: str) -> str:
    if topic.startswith("arn:"):
        return topic
    return f"arn:{get_partition(region_name)}:sns:{region_name}:{account_id}:{topic}"


def _check_topic(topic: str, arn: str, account_id: str, region_name: str) -> None:
    topic_arn = _topic_arn(topic, account_id, region_name)
    found = sns_backends[account_id][region_name].topics.get(topic_arn)
    context = request_context({"aws:SourceArn": arn, "aws:SourceAccount": account_id})
    if found is None or not resource_policy_allows(
        json.loads(found.policy), PRINCIPAL, "sns:Publish", topic_arn, context
    ):
        raise InsufficientSnsTopicPolicyException(
            "SNS Topic does not exist or the topic policy is incorrect!"
        )


def _log_group_name(group_arn: str) -> tuple[str, str] | None:
    """(region, group name) of a log group ARN (`...:log-group:NAME` or `...:log-group:NAME:*`)."""
    parts = group_arn.split(":")
    if len(parts) < 7 or parts[:3] != ["arn", parts[1], "logs"] or parts[5] != "log-group":
        return None
    name = ":".join(parts[6:]).removesuffix(":*")
    return (parts[3], name) if name else None


def _check_cloudwatch_logs(
    group_arn: str, role_arn: str, arn: str, account_id: str, region_name: str
) -> None:
    if bool(group_arn) != bool(role_arn):
        raise InvalidCloudWatchLogsLogGroupArnException("You must specify a log group and role ARN.")
    if not group_arn:
        return
    where = _log_group_name(group_arn)
    if where is None or where[1] not in logs_backends[account_id][where[0]].groups:
        raise InvalidCloudWatchLogsLogGroupArnException(
            f"CloudWatch Logs log group {group_arn} is not valid: it does not exist."
        )
    group_region, group = where
    denied = InvalidCloudWatchLogsRoleArnException(
        "Access denied. Verify in IAM that the role has adequate permissions."
    )
    source = {"aws:SourceArn": arn, "aws:SourceAccount": account_id}
    refusal, role = role_refusal(role_arn, PRINCIPAL, source, account_id, region_name)
    if refusal:
        raise denied
    context = request_context(source)
    stream = (
        f"arn:{get_partition(region_name)}:logs:{group_region}:{account_id}:log-group:{group}:"
        f"log-stream:{account_id}_CloudTrail_{region_name}_x"
    )
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        if not allows(role, action, [stream], context):
            raise denied


def _check_name_free(name: str, account_id: str, region_name: str) -> None:
    for region, backend in cloudtrail_backends[account_id].items():
        trail = backend.trails.get(name)
        if trail is not None and (region == region_name or trail.is_multi_region):
            raise TrailAlreadyExistsException(f"Trail {name} already exists for customer: {account_id}")


def check_trail(name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
    """CreateTrail's checks of the trail's bucket, key, topic and CloudWatch Logs delivery."""
    arn = trail_arn(name, account_id, region_name)
    bucket = str(props.get("S3BucketName") or "")
    _check_bucket(bucket, str(props.get("S3KeyPrefix") or ""), arn, account_id, region_name)
    if props.get("KMSKeyId"):
        _check_key(str(props["KMSKeyId"]), bucket, arn, account_id, region_name)
    if props.get("SnsTopicName"):
        _check_topic(str(props["SnsTopicName"]), arn, account_id, region_name)
    _check_cloudwatch_logs(
        str(props.get("CloudWatchLogsLogGroupArn") or ""),
        str(props.get("CloudWatchLogsRoleArn") or ""),
        arn,
        account_id,
        region_name,
    )


def _settings(props: dict[str, Any]) -> dict[str, Any]:
    """A trail's settings from its properties, with CloudFormation's defaults, as moto's
    create_trail names them (update_trail's names: UPDATE_ARGUMENTS)."""
    topic = props.get("SnsTopicName")
    return {
        "bucket_name": str(props["S3BucketName"]),
        "s3_key_prefix": props.get("S3KeyPrefix"),
        "sns_topic_name": str(topic).rsplit(":", 1)[-1] if topic else None,
        "is_global": _flag(props.get("IncludeGlobalServiceEvents", True)),
        "is_multi_region": _flag(props.get("IsMultiRegionTrail", False)),
        "log_validation": _flag(props.get("EnableLogFileValidation", False)),
        "is_org_trail": _flag(props.get("IsOrganizationTrail", False)),
        "cw_log_group_arn": props.get("CloudWatchLogsLogGroupArn"),
        "cw_role_arn": props.get("CloudWatchLogsRoleArn"),
        "kms_key_id": props.get("KMSKeyId"),
    }


# moto's update_trail names five of them differently.
UPDATE_ARGUMENTS = {
    "bucket_name": "s3_bucket_name",
    "is_global": "include_global_service_events",
    "is_multi_region": "is_multi_region_trail",
    "log_validation": "enable_log_file_validation",
    "is_org_trail": "is_organization_trail",
}


class Trail(AppliedModel):
    """AWS::CloudTrail::Trail: checked as CreateTrail checks it, then created; delivers nothing."""

    def __init__(self, trail: Any) -> None:
        self.trail = trail

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudTrail::Trail"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "TrailName"

    @property
    def physical_resource_id(self) -> str:
        return str(self.trail.trail_name)

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "SnsTopicArn")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "SnsTopicArn":
            return str(self.trail.topic_arn or "")
        return str(self.trail.arn)

    @staticmethod
    def _apply(trail: Any, props: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = cloudtrail_backends[account_id][region_name]
        if props.get("EventSelectors") or props.get("AdvancedEventSelectors"):
            backend.put_event_selectors(
                trail.trail_name, props.get("EventSelectors") or [], props.get("AdvancedEventSelectors") or []
            )
        if str(props.get("IsLogging")).lower() == "true":
            trail.start_logging()
        elif trail.status.is_logging:
            trail.stop_logging()

    @classmethod
    def create(cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str) -> Trail:
        name = str(props.get("TrailName", resource_name))
        _check_name_free(name, account_id, region_name)
        check_trail(name, props, account_id, region_name)
        backend: Any = cloudtrail_backends[account_id][region_name]  # moto types optional fields as str
        with as_aws_error():
            trail = backend.create_trail(
                name=name,
                **_settings(props),
                tags_list=[{"Key": t["Key"], "Value": t["Value"]} for t in props.get("Tags", [])],
            )
        cls._apply(trail, props, account_id, region_name)
        return cls(trail)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Trail,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Trail:
        props = cloudformation_json["Properties"]
        name = str(props.get("TrailName", original_resource.trail.trail_name))
        if name != original_resource.trail.trail_name:  # a new name replaces the trail
            created = cls.create(new_resource_name, {**props, "TrailName": name}, account_id, region_name)
            original_resource.delete(account_id, region_name)
            return created
        check_trail(name, props, account_id, region_name)
        backend: Any = cloudtrail_backends[account_id][region_name]
        with as_aws_error():
            trail = backend.update_trail(
                name=name,
                **{UPDATE_ARGUMENTS.get(key, key): value for key, value in _settings(props).items()},
            )
        cls._apply(trail, props, account_id, region_name)
        return cls(trail)

    def delete(self, account_id: str, region_name: str) -> None:
        cloudtrail_backends[account_id][region_name].delete_trail(self.trail.trail_name)


def _flag(value: Any) -> bool:
    return str(value).lower() == "true"


MODELS: Models = (Trail,)
FIXES: Fixes = {}
