"""ECR: repositories keep scan-on-push, encryption and their lifecycle policy; repository
creation templates are checked like ECR checks them and recorded."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.core.exceptions import ServiceException
from moto.ecr.exceptions import InvalidParameterException
from moto.ecr.models import Repository, ecr_backends

from emulator.services.base import Fix, Fixes, FromProperties, Models


def _repository_properties(props: dict[str, Any]) -> dict[str, Any]:
    """moto keeps CloudFormation's {ScanOnPush}/{EncryptionType, KmsKey} where its API
    responses read {scanOnPush}/{encryptionType, kmsKey}: scanning looked switched off."""
    props = dict(props)
    for key in ("ImageScanningConfiguration", "EncryptionConfiguration"):
        if key in props:
            props[key] = {name[0].lower() + name[1:]: value for name, value in props[key].items()}
    return props


def _repository_after(repository: Any, props: dict[str, Any]) -> None:
    policy = props.get("LifecyclePolicy", {}).get("LifecyclePolicyText")
    if policy:
        repository.lifecycle_policy = policy


class TemplateAlreadyExistsException(ServiceException):
    code = "TemplateAlreadyExistsException"


def creation_templates(account_id: str, region_name: str) -> dict[str, dict[str, Any]]:
    """The registry's repository creation templates by prefix. moto has no API for them, so
    they are kept on its ECR backend (a moto reset clears them). No replication runs locally."""
    backend = ecr_backends[account_id][region_name]
    templates: dict[str, dict[str, Any]] = backend.__dict__.setdefault("creation_templates", {})
    return templates


# CreateRepositoryCreationTemplate's request model (botocore's ECR service model): patterns
# (searched, as Smithy patterns are not anchored), enums and lengths.
_PREFIX = re.compile(r"^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)$")
# A key ARN: an alias (ARN or name) is refused.
_KMS_KEY = re.compile(r"^$|arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[a-z0-9-]+")
_APPLIED_FOR = ("REPLICATION", "PULL_THROUGH_CACHE", "CREATE_ON_PUSH")
_ENCRYPTION_TYPES = ("AES256", "KMS", "KMS_DSSE")
_TAG_MUTABILITY = ("MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION")


def _check_template(props: dict[str, Any], account_id: str) -> None:
    """What ECR refuses when the template is created (InvalidParameterException)."""

    def require(ok: bool, what: str) -> None:
        if not ok:
            raise InvalidParameterException(f"Invalid parameter: {what}")

    prefix = props.get("Prefix", "")
    require(1 <= len(prefix) <= 256 and _PREFIX.search(prefix) is not None, f"prefix {prefix!r}")
    applied_for = props.get("AppliedFor")
    require(
        isinstance(applied_for, list) and all(a in _APPLIED_FOR for a in applied_for),
        f"appliedFor {applied_for!r} (one or more of {', '.join(_APPLIED_FOR)})",
    )
    require(len(props.get("Description", "")) <= 256, "description longer than 256")
    mutability = props.get("ImageTagMutability", "MUTABLE")
    require(mutability in _TAG_MUTABILITY, f"imageTagMutability {mutability!r}")
    encryption = props.get("EncryptionConfiguration")
    if encryption is not None:
        require(
            encryption.get("EncryptionType") in _ENCRYPTION_TYPES,
            f"encryptionType {encryption.get('EncryptionType')!r}",
        )
        key = encryption.get("KmsKey", "")
        require(len(key) <= 2048 and _KMS_KEY.search(key) is not None, f"kmsKey {key!r} (a KMS key ARN)")
    policy = props.get("LifecyclePolicy")
    if policy is not None:
        try:
            rules = json.loads(policy).get("rules")
        except (ValueError, AttributeError):
            rules = None
        require(
            len(policy) <= 30720 and isinstance(rules, list), "lifecyclePolicy (a lifecycle policy document)"
        )
    require(len(props.get("RepositoryPolicy", "")) <= 10240, "repositoryPolicy longer than 10240")
    role = props.get("CustomRoleArn")
    require(
        role is None or (len(role) <= 2048 and f":iam::{account_id}:role/" in role),
        f"customRoleArn {role!r} (a role in this account)",
    )


class RepositoryCreationTemplate(FromProperties, CloudFormationModel):
    """AWS::ECR::RepositoryCreationTemplate: checked as CreateRepositoryCreationTemplate checks
    it (one template per prefix and registry), then recorded (creation_templates)."""

    def __init__(self, prefix: str, created_at: str) -> None:
        self.prefix = prefix
        self.created_at = created_at

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ECR::RepositoryCreationTemplate"

    @property
    def physical_resource_id(self) -> str:
        return self.prefix

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("CreatedAt", "UpdatedAt")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.created_at

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> RepositoryCreationTemplate:
        _check_template(props, account_id)
        registry = creation_templates(account_id, region_name)
        prefix = props["Prefix"]
        if prefix in registry:
            raise TemplateAlreadyExistsException(
                f"Repository creation template for prefix {prefix} already exists"
            )
        registry[prefix] = props
        return cls(prefix, datetime.now(UTC).isoformat())

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: RepositoryCreationTemplate,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> RepositoryCreationTemplate:
        props = cloudformation_json["Properties"]
        _check_template(props, account_id)
        creation_templates(account_id, region_name).pop(original_resource.prefix, None)
        return cls.create(new_resource_name, props, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        creation_templates(account_id, region_name).pop(resource_name, None)


MODELS: Models = (RepositoryCreationTemplate,)
FIXES: Fixes = {Repository: Fix(properties=_repository_properties, after_create=_repository_after)}
