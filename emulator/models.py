"""CloudFormation models for resource types stock moto skips, backed by moto's own services.

Each model does what CloudFormation would do through the service's API, so the result
is visible through boto3 (describe-secret, describe-db-proxies, ...). What cannot run
locally (a rotation, a backup job) is recorded, never faked as done.
"""

from __future__ import annotations

import json
import re
import secrets as random_source
import string
from typing import Any

from moto.backup.models import backup_backends
from moto.core.common_models import CloudFormationModel
from moto.ec2.models import ec2_backends
from moto.rds.models import rds_backends
from moto.secretsmanager.models import secretsmanager_backends
from moto.sns.models import sns_backends

# Transforms whose effect the models below reproduce (HostedRotationLambda on RotationSchedule).
SUPPORTED_TRANSFORMS = frozenset({"AWS::SecretsManager-2024-09-16"})


class FromProperties:
    """moto's create hook with the resource's properties unpacked: a model implements `create`.

    A mixin, listed before CloudFormationModel, so each model stays a direct subclass of it
    (moto registers its types from CloudFormationModel.__subclasses__())."""

    @classmethod
    def create(cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str) -> Any:
        raise NotImplementedError(cls.__name__)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        return cls.create(resource_name, cloudformation_json["Properties"], account_id, region_name)


class AppliedModel(FromProperties, CloudFormationModel):
    """A model whose create applies its properties idempotently, so an update re-applies them."""

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )


class SecurityGroupEgress(AppliedModel):
    """AWS::EC2::SecurityGroupEgress, the twin of moto's SecurityGroupIngress."""

    def __init__(self, group_id: str) -> None:
        self.group_id = group_id

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::SecurityGroupEgress"

    @property
    def physical_resource_id(self) -> str:
        return self.group_id

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> SecurityGroupEgress:
        description = props.get("Description")
        ip_ranges = [{"CidrIp": props["CidrIp"], "Description": description}] if "CidrIp" in props else []
        groups = (
            [{"GroupId": props["DestinationSecurityGroupId"], "Description": description}]
            if "DestinationSecurityGroupId" in props
            else []
        )
        ec2_backends[account_id][region_name].authorize_security_group_egress(
            group_name_or_id=props["GroupId"],
            ip_protocol=str(props["IpProtocol"]),
            # None for all-traffic rules: moto accepts it, though its annotation says str.
            from_port=props.get("FromPort"),  # type: ignore[arg-type]
            to_port=props.get("ToPort"),  # type: ignore[arg-type]
            ip_ranges=ip_ranges,
            source_groups=groups,
        )
        return cls(props["GroupId"])


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


class DBProxy(FromProperties, CloudFormationModel):
    """AWS::RDS::DBProxy through moto's RDS CreateDBProxy."""

    def __init__(self, proxy: Any) -> None:
        self.proxy = proxy

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::RDS::DBProxy"

    @property
    def physical_resource_id(self) -> str:
        return str(self.proxy.db_proxy_name)

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Endpoint", "DBProxyArn", "VpcId")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        values = {
            "Endpoint": self.proxy.endpoint,
            "DBProxyArn": self.proxy.arn,
            "VpcId": getattr(self.proxy, "vpc_id", ""),
        }
        return str(values[attribute_name])

    @classmethod
    def create(cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str) -> DBProxy:
        proxy = rds_backends[account_id][region_name].create_db_proxy(
            db_proxy_name=props["DBProxyName"],
            engine_family=props["EngineFamily"],
            auth=props["Auth"],
            role_arn=props["RoleArn"],
            vpc_subnet_ids=props["VpcSubnetIds"],
            vpc_security_group_ids=props.get("VpcSecurityGroupIds"),
            require_tls=props.get("RequireTLS"),
            idle_client_timeout=props.get("IdleClientTimeout"),
            debug_logging=props.get("DebugLogging"),
            tags=props.get("Tags"),
        )
        return cls(proxy)

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        rds_backends[account_id][region_name].delete_db_proxy(resource_name)


class DBProxyTargetGroup(AppliedModel):
    """Registers the instance with the proxy and records its connection-pool limits."""

    def __init__(self, arn: str) -> None:
        self.arn = arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::RDS::DBProxyTargetGroup"

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> DBProxyTargetGroup:
        backend = rds_backends[account_id][region_name]
        name = props.get("TargetGroupName", "default")
        backend.register_db_proxy_targets(
            db_proxy_name=props["DBProxyName"],
            target_group_name=name,
            db_cluster_identifiers=props.get("DBClusterIdentifiers", []),
            db_instance_identifiers=props.get("DBInstanceIdentifiers", []),
        )
        group = backend.db_proxies[props["DBProxyName"]].proxy_target_groups[name]
        pool = props.get("ConnectionPoolConfigurationInfo", {})
        for attribute, key in (
            ("max_connections", "MaxConnectionsPercent"),
            ("max_idle_connections", "MaxIdleConnectionsPercent"),
            ("borrow_timeout", "ConnectionBorrowTimeout"),
        ):
            if key in pool and hasattr(group, attribute):
                setattr(group, attribute, pool[key])
        return cls(str(getattr(group, "arn", name)))


def _backup(account_id: str, region_name: str) -> Any:
    return backup_backends[account_id][region_name]


class BackupVault(FromProperties, CloudFormationModel):
    """AWS::Backup::BackupVault. moto has no vault access policy API: the policy is recorded."""

    def __init__(self, vault: Any, access_policy: Any) -> None:
        self.vault = vault
        self.access_policy = access_policy

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Backup::BackupVault"

    @property
    def physical_resource_id(self) -> str:
        return str(self.vault.backup_vault_name)

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("BackupVaultArn", "BackupVaultName")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "BackupVaultArn":
            return str(self.vault.backup_vault_arn)
        return str(self.vault.backup_vault_name)

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> BackupVault:
        vault = _backup(account_id, region_name).create_backup_vault(
            backup_vault_name=props["BackupVaultName"],
            backup_vault_tags=props.get("BackupVaultTags", {}),
            encryption_key_arn=props.get("EncryptionKeyArn"),
            creator_request_id=None,
        )
        return cls(vault, props.get("AccessPolicy"))


def _plan_document(props: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's plan shape (BackupPlanRule, TargetBackupVault) to the API's (Rules, ...Name)."""
    plan = props["BackupPlan"]
    return {
        "BackupPlanName": plan["BackupPlanName"],
        "Rules": [
            {
                "RuleName": rule["RuleName"],
                "TargetBackupVaultName": rule["TargetBackupVault"],
                **{
                    key: rule[key]
                    for key in (
                        "ScheduleExpression",
                        "StartWindowMinutes",
                        "CompletionWindowMinutes",
                        "Lifecycle",
                    )
                    if key in rule
                },
                "CopyActions": rule.get("CopyActions", []),
            }
            for rule in plan["BackupPlanRule"]
        ],
    }


class BackupPlan(FromProperties, CloudFormationModel):
    def __init__(self, plan: Any) -> None:
        self.plan = plan

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Backup::BackupPlan"

    @property
    def physical_resource_id(self) -> str:
        return str(self.plan.backup_plan_id)

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("BackupPlanId", "BackupPlanArn", "VersionId")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return str(
            {
                "BackupPlanId": self.plan.backup_plan_id,
                "BackupPlanArn": self.plan.backup_plan_arn,
                "VersionId": self.plan.version_id,
            }[attribute_name]
        )

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> BackupPlan:
        plan = _backup(account_id, region_name).create_backup_plan(
            backup_plan=_plan_document(props),
            backup_plan_tags=props.get("BackupPlanTags", {}),
            creator_request_id=None,
        )
        return cls(plan)


# moto has no backup-selection API; selections are kept here, by plan id, for tests and debugging.
SELECTIONS: dict[str, list[dict[str, Any]]] = {}


class BackupSelection(FromProperties, CloudFormationModel):
    def __init__(self, selection_id: str) -> None:
        self.selection_id = selection_id

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Backup::BackupSelection"

    @property
    def physical_resource_id(self) -> str:
        return self.selection_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("SelectionId", "BackupPlanId", "Id")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.selection_id

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> BackupSelection:
        plans = _backup(account_id, region_name).plans
        if props["BackupPlanId"] not in plans:
            raise ValueError(f"backup plan {props['BackupPlanId']} does not exist")
        SELECTIONS.setdefault(props["BackupPlanId"], []).append(props["BackupSelection"])
        return cls(f"{props['BackupPlanId']}/{props['BackupSelection']['SelectionName']}")


class TopicPolicy(AppliedModel):
    """AWS::SNS::TopicPolicy: set as each topic's Policy attribute (readable with get-topic-attributes)."""

    def __init__(self, topics: list[str]) -> None:
        self.topics = topics

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::TopicPolicy"

    @property
    def physical_resource_id(self) -> str:
        return ",".join(self.topics)

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> TopicPolicy:
        backend = sns_backends[account_id][region_name]
        for topic in props["Topics"]:
            backend.set_topic_attribute(topic, "policy", json.dumps(props["PolicyDocument"]))
        return cls(list(props["Topics"]))


MODELS: tuple[Any, ...] = (
    TopicPolicy,
    SecurityGroupEgress,
    Secret,
    SecretTargetAttachment,
    RotationSchedule,
    SecretResourcePolicy,
    DBProxy,
    DBProxyTargetGroup,
    BackupVault,
    BackupPlan,
    BackupSelection,
)
