"""AWS Config: AWS::Config::ConfigurationRecorder, AWS::Config::DeliveryChannel and
AWS::Config::ConfigRule, created through moto's Config backend (so `aws configservice
describe-configuration-recorders`, `describe-delivery-channels` and `describe-config-rules` read
them) after the checks AWS Config makes. (The module is not named config.py: the project has a
``config`` package.)

* ConfigurationRecorder, as PutConfigurationRecorder checks it: one per account and region
  (MaxNumberOfConfigurationRecordersExceededException), a RoleARN (InvalidRoleException), and
  the recording group moto validates. The role must exist and trust config.amazonaws.com: AWS
  Config takes the ARN and its recorder then records nothing, so the emulator refuses it locally.
  That holds for the service-linked role ``.../aws-service-role/config.amazonaws.com/
  AWSServiceRoleForConfig`` too, which only `make bootstrap-ENV` creates (`python -m ops
  service-linked-roles`; `make deploy-local` runs the same step before it deploys).
* DeliveryChannel, as PutDeliveryChannel checks it: one per region
  (MaxNumberOfDeliveryChannelsExceededException), a recorder to deliver for
  (NoAvailableConfigurationRecorderException), the bucket exists (NoSuchBucketException) and its
  policy lets config.amazonaws.com s3:GetBucketAcl the bucket and s3:PutObject
  ``BUCKET/PREFIX/AWSLogs/ACCOUNT/Config/*`` with aws:SourceAccount and
  s3:x-amz-acl=bucket-owner-full-control (InsufficientDeliveryPolicyException). Once a recorder
  and a channel both exist the recorder is started, as CloudFormation starts it; deleting the
  channel stops it. The channel's KMS key and SNS topic are not checked.
* ConfigRule, as PutConfigRule checks it: a recorder must exist
  (NoAvailableConfigurationRecorderException); moto checks an AWS managed rule's identifier and
  InputParameters (unknown or missing required parameters) and the execution frequency. A
  CUSTOM_POLICY (Guard) rule is not modelled and fails the deploy.

Ref is the recorder's, channel's or rule's name; a rule has GetAtt Arn and ConfigRuleId.

``as_aws_error`` re-raises a refusal of moto's own backends as an AwsError named by its code
(moto's exception reads as an HTTP response body); the other security modules use it too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.config.models import config_backends
from moto.core.exceptions import ServiceException
from moto.utilities.utils import get_partition
from werkzeug.exceptions import HTTPException

from emulator.services.base import AppliedModel, Fixes, Models, NamedModel
from emulator.services.refusals import AwsError, LocallyRefused, role_refusal
from emulator.services.s3 import delivery_refusal

PRINCIPAL = "config.amazonaws.com"
SERVICE_LINKED_ROLE = "role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"

# --- moto's refusals, as AwsError -------------------------------------------------------------

_NAMED: dict[str, type[AwsError]] = {}


def _error_class(code: str) -> type[AwsError]:
    if code not in _NAMED:
        _NAMED[code] = type(code, (AwsError,), {"__doc__": f"AWS's error code {code} (raised by moto)."})
    return _NAMED[code]


@contextmanager
def as_aws_error() -> Iterator[None]:
    """Re-raise what moto's backend refuses as an AwsError named by its error code."""
    try:
        yield
    except (HTTPException, ServiceException) as error:
        code = getattr(error, "error_type", None) or str(getattr(error, "code", "ValidationException"))
        raise _error_class(code)(str(getattr(error, "message", error))) from None


# --- errors -------------------------------------------------------------------------------------


class MaxNumberOfConfigurationRecordersExceededException(AwsError):
    """AWS Config's error code for a second recorder in the account and region."""


class InvalidRoleException(AwsError):
    """AWS Config's error code for a recorder without a role."""


class MaxNumberOfDeliveryChannelsExceededException(AwsError):
    """AWS Config's error code for a second delivery channel in the region."""


class NoAvailableConfigurationRecorderException(AwsError):
    """AWS Config's error code for a channel or rule without a recorder."""


class NoSuchBucketException(AwsError):
    """AWS Config's error code for a delivery bucket that does not exist."""


class InsufficientDeliveryPolicyException(AwsError):
    """AWS Config's error code for a delivery bucket whose policy does not let Config write."""


def _backend(account_id: str, region_name: str) -> Any:
    return config_backends[account_id][region_name]


def _api_shape(value: Any) -> Any:
    """CloudFormation's property names (RecordingGroup, AllSupported) as the API's (recordingGroup, ...)."""
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: _api_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_api_shape(item) for item in value]
    return value


def _start_recorders(account_id: str, region_name: str) -> None:
    """What CloudFormation does once a recorder has a delivery channel: start recording."""
    backend = _backend(account_id, region_name)
    if backend.delivery_channels:
        for name, recorder in backend.recorders.items():
            if not recorder.status.recording:
                backend.start_configuration_recorder(name)


# --- configuration recorder ---------------------------------------------------------------------


def _check_recorder_role(role_arn: str, account_id: str, region_name: str) -> None:
    later = "AWS Config accepts the ARN and its recorder records nothing"
    refusal, _ = role_refusal(role_arn, PRINCIPAL, {"aws:SourceAccount": account_id}, account_id, region_name)
    if refusal == "missing":
        fix = (
            ": create it first (make bootstrap-ENV, python -m ops service-linked-roles)"
            if role_arn == f"arn:{get_partition(region_name)}:iam::{account_id}:{SERVICE_LINKED_ROLE}"
            else ""
        )
        raise LocallyRefused(f"the recorder's role {role_arn} does not exist{fix}", later)
    if refusal:
        raise LocallyRefused(f"the recorder's role {role_arn} does not trust {PRINCIPAL}", later)


class ConfigurationRecorder(NamedModel):
    """AWS::Config::ConfigurationRecorder: checked as PutConfigurationRecorder checks it, then put."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Config::ConfigurationRecorder"

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> ConfigurationRecorder:
        name = str(props.get("Name", resource_name))
        backend = _backend(account_id, region_name)
        if any(existing != name for existing in backend.recorders):
            raise MaxNumberOfConfigurationRecordersExceededException(
                f"Failed to put configuration recorder '{name}' because the maximum number of "
                "configuration recorders: 1 is reached."
            )
        role_arn = str(props.get("RoleARN") or "")
        if not role_arn:
            raise InvalidRoleException(
                "You have provided a null or empty Amazon Resource Name (ARN) for the IAM role "
                "assumed by AWS Config and used by the configuration recorder."
            )
        _check_recorder_role(role_arn, account_id, region_name)
        recorder: dict[str, Any] = {"name": name, "roleARN": role_arn}
        if "RecordingGroup" in props:
            recorder["recordingGroup"] = _api_shape(props["RecordingGroup"])
        with as_aws_error():
            backend.put_configuration_recorder(recorder)
            _start_recorders(account_id, region_name)
        return cls(name)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _backend(account_id, region_name)
        if self.name in backend.recorders:
            backend.stop_configuration_recorder(self.name)
            backend.delete_configuration_recorder(self.name)


# --- delivery channel ---------------------------------------------------------------------------


def _check_delivery_bucket(bucket_name: str, prefix: str, account_id: str, region_name: str) -> None:
    folder = f"{prefix}/" if prefix else ""
    refusal = delivery_refusal(
        bucket_name,
        principal=PRINCIPAL,
        objects=f"{folder}AWSLogs/{account_id}/Config/*",
        source={"aws:SourceAccount": account_id},
        account_id=account_id,
        region_name=region_name,
    )
    if refusal == "missing":
        raise NoSuchBucketException(f"Cannot find a S3 bucket with name '{bucket_name}'.")
    if refusal == "policy":
        raise InsufficientDeliveryPolicyException(
            f"Insufficient delivery policy to s3 bucket: {bucket_name}, unable to write to bucket, "
            f"provided s3 key prefix is '{prefix or 'null'}'."
        )


class DeliveryChannel(NamedModel):
    """AWS::Config::DeliveryChannel: checked as PutDeliveryChannel checks it, then put; the
    recorder starts once both exist."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Config::DeliveryChannel"

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> DeliveryChannel:
        name = str(props.get("Name", resource_name))
        backend = _backend(account_id, region_name)
        if any(existing != name for existing in backend.delivery_channels):
            raise MaxNumberOfDeliveryChannelsExceededException(
                f"Failed to put delivery channel '{name}' because the maximum number of delivery "
                "channels: 1 is reached."
            )
        if not backend.recorders:
            raise NoAvailableConfigurationRecorderException(
                "Configuration recorder is not available to put delivery channel."
            )
        bucket = str(props.get("S3BucketName") or "")
        prefix = str(props.get("S3KeyPrefix") or "")
        _check_delivery_bucket(bucket, prefix, account_id, region_name)
        channel: dict[str, Any] = {"name": name, "s3BucketName": bucket}
        for prop, key in (
            ("S3KeyPrefix", "s3KeyPrefix"),
            ("S3KmsKeyArn", "s3KmsKeyArn"),
            ("SnsTopicARN", "snsTopicARN"),
        ):
            if prop in props:
                channel[key] = props[prop]
        if "ConfigSnapshotDeliveryProperties" in props:
            channel["configSnapshotDeliveryProperties"] = _api_shape(
                props["ConfigSnapshotDeliveryProperties"]
            )
        with as_aws_error():
            backend.put_delivery_channel(channel)
            _start_recorders(account_id, region_name)
        return cls(name)

    def delete(self, account_id: str, region_name: str) -> None:
        """AWS Config refuses to delete the channel of a recording recorder
        (LastDeliveryChannelDeleteFailedException), and a channel that DependsOn its recorder is
        deleted first: CloudFormation stops the recorder, then deletes the channel."""
        backend = _backend(account_id, region_name)
        if self.name in backend.delivery_channels:
            for name, recorder in backend.recorders.items():
                if recorder.status.recording:
                    backend.stop_configuration_recorder(name)
            with as_aws_error():
                backend.delete_delivery_channel(self.name)


# --- config rules -------------------------------------------------------------------------------


class ConfigRule(AppliedModel):
    """AWS::Config::ConfigRule: checked as PutConfigRule checks it (moto validates AWS managed
    rules' identifiers and parameters), then put."""

    def __init__(self, name: str, account_id: str, region_name: str) -> None:
        self.name = name
        self.account_id = account_id
        self.region_name = region_name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Config::ConfigRule"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ConfigRuleName"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "ConfigRuleId")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        rule = _backend(self.account_id, self.region_name).config_rules[self.name]
        return str(rule.config_rule_arn if attribute_name == "Arn" else rule.config_rule_id)

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> ConfigRule:
        name = str(props.get("ConfigRuleName", resource_name))
        backend = _backend(account_id, region_name)
        if not backend.recorders:
            raise NoAvailableConfigurationRecorderException(
                "There are no configuration recorders available to provide the configuration item "
                "change notification for the config rule."
            )
        source = dict(props.get("Source") or {})
        if source.get("Owner") == "CUSTOM_POLICY":
            raise ValueError(
                f"config rule {name}: CUSTOM_POLICY (Guard) rules are not modelled by the local "
                "emulator; deploy it to AWS"
            )
        rule: dict[str, Any] = {"ConfigRuleName": name, "Source": source}
        for prop in ("Description", "Scope", "MaximumExecutionFrequency"):
            if prop in props:
                rule[prop] = props[prop]
        parameters = props.get("InputParameters")
        if parameters is not None:
            rule["InputParameters"] = parameters if isinstance(parameters, str) else json.dumps(parameters)
        with as_aws_error():
            backend.put_config_rule(
                rule, [{"Key": t["Key"], "Value": t["Value"]} for t in props.get("Tags", [])]
            )
        return cls(name, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _backend(account_id, region_name)
        if self.name in backend.config_rules:
            backend.delete_config_rule(self.name)


MODELS: Models = (ConfigurationRecorder, DeliveryChannel, ConfigRule)
FIXES: Fixes = {}
