"""AWS Backup: vaults (with Vault Lock) and plans through moto's API; selections and vault
access policies, which moto has no API for, are recorded. No backup job runs locally."""

from __future__ import annotations

from typing import Any

from moto.backup.exceptions import InvalidParameterValueException
from moto.backup.models import backup_backends
from moto.core.common_models import CloudFormationModel

from emulator.services.base import Fixes, FromProperties, Models


def _backup(account_id: str, region_name: str) -> Any:
    return backup_backends[account_id][region_name]


def _days(value: Any) -> int | None:
    return None if value is None else int(value)


class BackupVault(FromProperties, CloudFormationModel):
    """AWS::Backup::BackupVault. moto has no vault access policy API: the policy is recorded.
    LockConfiguration goes through moto's PutBackupVaultLockConfiguration and its checks
    (MinRetentionDays at least 1, MaxRetentionDays at most 36500 and not below it,
    ChangeableForDays at least 3); CloudFormation also requires MinRetentionDays."""

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
        backend = _backup(account_id, region_name)
        lock = props.get("LockConfiguration")
        if lock is not None and "MinRetentionDays" not in lock:
            raise InvalidParameterValueException(
                msg="LockConfiguration: MinRetentionDays is required when CloudFormation creates a Vault Lock"
            )
        vault = backend.create_backup_vault(
            backup_vault_name=props["BackupVaultName"],
            backup_vault_tags=props.get("BackupVaultTags", {}),
            encryption_key_arn=props.get("EncryptionKeyArn"),
            creator_request_id=None,
        )
        if lock is not None:
            try:
                backend.put_backup_vault_lock_configuration(
                    backup_vault_name=vault.backup_vault_name,
                    min_retention_days=int(lock["MinRetentionDays"]),
                    max_retention_days=_days(lock.get("MaxRetentionDays")),
                    changeable_for_days=_days(lock.get("ChangeableForDays")),
                )
            except Exception:
                backend.delete_backup_vault(vault.backup_vault_name)  # nothing half-created
                raise
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


MODELS: Models = (BackupVault, BackupPlan, BackupSelection)
FIXES: Fixes = {}
