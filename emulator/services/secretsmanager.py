"""Secrets Manager: secrets (generated values, replicas), their database attachment,
rotation schedules and resource policies. No rotation runs locally: it is recorded."""

from __future__ import annotations

import json
import re
import secrets as random_source
import string
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.rds.models import rds_backends
from moto.secretsmanager.models import secretsmanager_backends

from emulator.services.base import AppliedModel, Fixes, FromProperties, Models

# Transforms whose effect the models below reproduce (HostedRotationLambda on RotationSchedule).
TRANSFORMS = frozenset({"AWS::SecretsManager-2024-09-16"})


def _generate(spec: dict[str, Any]) -> str:
    """GenerateSecretString, done locally: same length and exclusions as Secrets Manager's."""
    alphabet = string.ascii_letters + string.digits + string.punctuation
    if spec.get("ExcludePunctuation"):
        alphabet = string.ascii_letters + string.digits
    excluded = set(spec.get("ExcludeCharacters", ""))
    alphabet = "".join(c for c in alphabet if c not in excluded)
    password = "".join(random_source.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    template = spec.get("SecretStringTemplate")
    if template is None:
        return password
    document = json.loads(template)
    document[spec.get("GenerateStringKey", "password")] = password
    return json.dumps(document)


def _secrets(account_id: str, region_name: str) -> Any:
    return secretsmanager_backends[account_id][region_name]


class Secret(FromProperties, CloudFormationModel):
    """AWS::SecretsManager::Secret, including generated values and replica regions."""

    def __init__(self, arn: str) -> None:
        self.arn = arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @property
    def physical_resource_id(self) -> str:
        return self.arn  # Ref of a secret is its ARN

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.arn

    @classmethod
    def create(cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str) -> Secret:
        value = props.get("SecretString")
        if value is None and "GenerateSecretString" in props:
            value = _generate(props["GenerateSecretString"])
        created = _secrets(account_id, region_name).create_secret(
            name=props.get("Name", resource_name),
            secret_string=value,
            secret_binary=None,
            description=props.get("Description"),
            tags=props.get("Tags"),
            kms_key_id=props.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[
                {"Region": r["Region"], **({"KmsKeyId": r["KmsKeyId"]} if "KmsKeyId" in r else {})}
                for r in props.get("ReplicaRegions", [])
            ],
            force_overwrite=False,
        )
        return cls(json.loads(created)["ARN"])  # moto answers with the API response, as JSON text

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Secret,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Secret:
        """Like CloudFormation: a generated value is not regenerated; the description and key follow."""
        props = cloudformation_json["Properties"]
        backend = _secrets(account_id, region_name)
        secret = backend.secrets[original_resource.arn]
        secret.description = props.get("Description")
        secret.kms_key_id = props.get("KmsKeyId", secret.kms_key_id)
        if "SecretString" in props:
            backend.put_secret_value(
                secret_id=original_resource.arn,
                secret_string=props["SecretString"],
                secret_binary=None,
                client_request_token=None,
                version_stages=["AWSCURRENT"],
            )
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        backend = _secrets(account_id, region_name)
        if backend._is_valid_identifier(resource_name):
            backend.delete_secret(
                secret_id=resource_name, recovery_window_in_days=None, force_delete_without_recovery=True
            )


class SecretTargetAttachment(AppliedModel):
    """Adds the database's engine, host, port and identifier to the secret, as CloudFormation does."""

    def __init__(self, secret_arn: str) -> None:
        self.secret_arn = secret_arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::SecretTargetAttachment"

    @property
    def physical_resource_id(self) -> str:
        return self.secret_arn  # Ref of an attachment is the secret's ARN

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> SecretTargetAttachment:
        if props["TargetType"] != "AWS::RDS::DBInstance":
            raise ValueError(f"TargetType {props['TargetType']} is not modelled locally")
        db: Any = rds_backends[account_id][region_name].describe_db_instances(props["TargetId"])[0]
        backend = _secrets(account_id, region_name)
        current = json.loads(backend.get_secret_value(props["SecretId"], None, "AWSCURRENT")["SecretString"])
        current.update(
            engine=db.engine,
            host=db.address,
            port=int(db.port),
            dbInstanceIdentifier=db.db_instance_identifier,
        )
        secret = backend.secrets[props["SecretId"]]
        backend.put_secret_value(
            secret_id=secret.arn,
            secret_string=json.dumps(current),
            secret_binary=None,
            client_request_token=None,
            version_stages=["AWSCURRENT"],
        )
        return cls(secret.arn)


RATE = re.compile(r"^rate\((\d+) days?\)$")


class RotationSchedule(AppliedModel):
    """Records rotation (enabled, function, period) on the secret. No rotation runs locally."""

    def __init__(self, secret_arn: str, hosted: dict[str, Any] | None) -> None:
        self.secret_arn = secret_arn
        self.hosted = hosted  # the HostedRotationLambda the transform would deploy

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::RotationSchedule"

    @property
    def physical_resource_id(self) -> str:
        return self.secret_arn

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> RotationSchedule:
        rules = props.get("RotationRules", {})
        days = rules.get("AutomaticallyAfterDays")
        if days is None:
            match = RATE.fullmatch(rules.get("ScheduleExpression", ""))
            if not match:
                raise ValueError(f"rotation rule {rules} is not modelled locally (use rate(N days))")
            days = int(match[1])
        secret = _secrets(account_id, region_name).secrets[props["SecretId"]]
        hosted = props.get("HostedRotationLambda")
        secret.rotation_requested = True
        secret.rotation_enabled = True
        secret.auto_rotate_after_days = int(days)
        secret.rotation_lambda_arn = props.get("RotationLambdaARN") or (
            f"arn:aws:lambda:{region_name}:{account_id}:function:"
            f"{hosted.get('RotationLambdaName') or 'SecretsManager' + hosted['RotationType']}"
            if hosted
            else ""
        )
        return cls(secret.arn, hosted)


class SecretResourcePolicy(AppliedModel):
    def __init__(self, secret_arn: str) -> None:
        self.secret_arn = secret_arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::ResourcePolicy"

    @property
    def physical_resource_id(self) -> str:
        return self.secret_arn

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> SecretResourcePolicy:
        policy = props["ResourcePolicy"]
        arn, _ = _secrets(account_id, region_name).put_resource_policy(
            props["SecretId"], policy if isinstance(policy, str) else json.dumps(policy)
        )
        return cls(arn)


MODELS: Models = (Secret, SecretTargetAttachment, RotationSchedule, SecretResourcePolicy)
FIXES: Fixes = {}
