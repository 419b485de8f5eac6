"""GuardDuty: AWS::GuardDuty::Detector, created through moto's GuardDuty backend (so `aws guardduty
list-detectors` and `get-detector` read it) after the checks CreateDetector makes. No finding is
ever produced locally.

* one detector per account and region ("The request is rejected because a detector already
  exists for the current account.");
* DataSources or Features, never both ("The request failed because both data sources and
  features were provided. ...");
* each feature's Name one GuardDuty knows, its Status ENABLED or DISABLED, and each
  AdditionalConfiguration's Name one GuardDuty knows and Status ENABLED or DISABLED;
* FindingPublishingFrequency FIFTEEN_MINUTES, ONE_HOUR or SIX_HOURS (moto would silently take
  SIX_HOURS for anything else).

All refusals are GuardDuty's BadRequestException. Ref and GetAtt Id are the detector's id; an
update keeps it (UpdateDetector), and deleting the resource deletes the detector.
"""

from __future__ import annotations

from typing import Any

from moto.guardduty.models import guardduty_backends

from emulator.services.base import AppliedModel, Fixes, Models
from emulator.services.refusals import AwsError

FEATURES = frozenset(
    {
        "S3_DATA_EVENTS",
        "EKS_AUDIT_LOGS",
        "EBS_MALWARE_PROTECTION",
        "RDS_LOGIN_EVENTS",
        "EKS_RUNTIME_MONITORING",
        "LAMBDA_NETWORK_LOGS",
        "RUNTIME_MONITORING",
    }
)
ADDITIONAL_CONFIGURATIONS = frozenset(
    {"EKS_ADDON_MANAGEMENT", "ECS_FARGATE_AGENT_MANAGEMENT", "EC2_AGENT_MANAGEMENT"}
)
STATUSES = ("ENABLED", "DISABLED")
FREQUENCIES = ("FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS")
INVALID = (
    "The request is rejected because an invalid or out-of-range value is specified as an input parameter."
)


class BadRequestException(AwsError):
    """GuardDuty's error code for a request it refuses."""


def _backend(account_id: str, region_name: str) -> Any:
    return guardduty_backends[account_id][region_name]


def _enum(value: Any, allowed: Any, at: str) -> None:
    if value not in allowed:
        raise BadRequestException(f"{INVALID} ({at}: {value!r} is not one of {', '.join(sorted(allowed))})")


def check_detector(props: dict[str, Any]) -> None:
    """CreateDetector's (and UpdateDetector's) checks of the detector's settings."""
    if props.get("DataSources") and props.get("Features"):
        raise BadRequestException(
            "The request failed because both data sources and features were provided. You can "
            "provide only one; it is recommended to use features."
        )
    if "FindingPublishingFrequency" in props:
        _enum(props["FindingPublishingFrequency"], FREQUENCIES, "FindingPublishingFrequency")
    for feature in props.get("Features") or []:
        _enum(feature.get("Name"), FEATURES, "Features.Name")
        _enum(feature.get("Status"), STATUSES, f"Features[{feature.get('Name')}].Status")
        for extra in feature.get("AdditionalConfiguration") or []:
            _enum(extra.get("Name"), ADDITIONAL_CONFIGURATIONS, "AdditionalConfiguration.Name")
            _enum(extra.get("Status"), STATUSES, f"AdditionalConfiguration[{extra.get('Name')}].Status")


def _api_shape(value: Any) -> Any:
    """CloudFormation's property names (S3Logs, AdditionalConfiguration) as the API's (s3Logs, ...)."""
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: _api_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_api_shape(item) for item in value]
    return value


def _enable(props: dict[str, Any]) -> bool:
    return str(props.get("Enable")).lower() == "true"


class Detector(AppliedModel):
    """AWS::GuardDuty::Detector: checked as CreateDetector checks it, then created; finds nothing."""

    def __init__(self, detector_id: str) -> None:
        self.detector_id = detector_id

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::GuardDuty::Detector"

    @property
    def physical_resource_id(self) -> str:
        return self.detector_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.detector_id

    @classmethod
    def create(cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str) -> Detector:
        backend = _backend(account_id, region_name)
        if backend.detectors:
            raise BadRequestException(
                "The request is rejected because a detector already exists for the current account."
            )
        check_detector(props)
        detector_id = backend.create_detector(
            enable=_enable(props),
            finding_publishing_frequency=props.get("FindingPublishingFrequency", "SIX_HOURS"),
            data_sources=_api_shape(props.get("DataSources") or {}),
            tags={t["Key"]: t["Value"] for t in props.get("Tags", [])},
            features=_api_shape(props.get("Features") or []),
        )
        return cls(str(detector_id))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Detector,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Detector:
        props = cloudformation_json["Properties"]
        check_detector(props)
        backend = _backend(account_id, region_name)
        backend.update_detector(
            original_resource.detector_id,
            enable=_enable(props),
            finding_publishing_frequency=props.get("FindingPublishingFrequency", "SIX_HOURS"),
            data_sources=_api_shape(props.get("DataSources") or {}),
            features=_api_shape(props.get("Features") or []),
        )
        backend.get_detector(original_resource.detector_id).tags = {
            t["Key"]: t["Value"] for t in props.get("Tags", [])
        }
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_detector(self.detector_id)


MODELS: Models = (Detector,)
FIXES: Fixes = {}
