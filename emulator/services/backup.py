"""AWS Backup: vaults (with Vault Lock) and plans through moto's API; selections and vault
access policies, which moto has no API for, are recorded. No backup job runs locally.

Restore testing (the weekly restore test), which moto lacks, is checked as
CreateRestoreTestingPlan and CreateRestoreTestingSelection check it and recorded
(``RESTORE_TESTING``); no restore runs locally. ListBackupJobs, which moto lacks, lists none:

* names of letters, digits and underscores, at most 50 (AWS Backup's API reference);
* the plan's schedule a `cron(...)`/`rate(...)` as EventBridge takes it, StartWindowHours 1-168,
  its RecoveryPointSelection's Algorithm, RecoveryPointTypes, IncludeVaults and
  SelectionWindowDays (1-365); a second plan of one name is AlreadyExistsException;
* a selection's plan must exist; at most 30 protected resource ARNs; ValidationWindowHours
  1-168; the role must exist and trust backup.amazonaws.com ("IAM Role cannot be assumed by AWS
  Backup").
* For RDS, what AWS accepts and a restore then fails on is refused locally: no
  `dbSubnetGroupName` override (AWS Backup looks for the default VPC, which an account need not
  have: "No default subnet detected in VPC"), a subnet group or security group that does not
  exist, a `vpcSecurityGroupIds` that is not a JSON array, an override key restore testing does
  not take.
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.backup import urls as backup_urls
from moto.backup.exceptions import InvalidParameterValueException
from moto.backup.models import backup_backends
from moto.backup.responses import BackupResponse
from moto.core.common_models import CloudFormationModel
from moto.ec2.models import ec2_backends
from moto.rds.models import rds_backends

from emulator.services.base import AppliedModel, Fixes, FromProperties, Models
from emulator.services.events import schedule_expression_fault
from emulator.services.refusals import AwsError, LocallyRefused, role_refusal


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


# --- restore testing ------------------------------------------------------------------------------

RESTORE_NAME = re.compile(r"[A-Za-z0-9_]{1,50}")
ALGORITHMS = ("LATEST_WITHIN_WINDOW", "RANDOM_WITHIN_WINDOW")
RECOVERY_POINT_TYPES = ("SNAPSHOT", "CONTINUOUS")
PROTECTED_TYPES = (
    "Aurora", "DocumentDB", "DynamoDB", "EBS", "EC2", "EFS", "FSx", "Neptune", "RDS", "S3",
)  # fmt: skip
# AWS Backup developer guide, "Restore testing inferred metadata": what an RDS restore test takes.
RDS_OVERRIDES = frozenset(
    key.lower()
    for key in (
        "allocatedStorage", "availabilityZones", "dbInstanceClass", "dbName", "dbParameterGroupName",
        "dbSubnetGroupName", "domain", "domainIamRoleName", "enableCloudwatchLogsExports",
        "enableIamDatabaseAuthentication", "iops", "licensemodel", "multiAz", "optionGroupName", "port",
        "processorFeatures", "publiclyAccessible", "storageType", "vpcSecurityGroupIds",
    )
)  # fmt: skip
# (account, region) -> plan name -> {"plan": props, "selections": {name: props}}
RESTORE_TESTING: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}


class AlreadyExistsException(AwsError):
    """AWS Backup's code for a second restore testing plan or selection of one name."""


class ResourceNotFoundException(AwsError):
    """AWS Backup's code for a restore testing plan that does not exist."""


class ValidationException(AwsError):
    """AWS Backup's code for a request whose fields are out of bounds."""


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValidationException(message)


def _plans(account_id: str, region_name: str) -> dict[str, dict[str, Any]]:
    return RESTORE_TESTING.setdefault((account_id, region_name), {})


def _check_plan(props: dict[str, Any]) -> str:
    name = str(props.get("RestoreTestingPlanName", ""))
    _require(
        RESTORE_NAME.fullmatch(name) is not None, f"RestoreTestingPlanName {name!r}: letters, digits, _; 1-50"
    )
    expression = str(props.get("ScheduleExpression", ""))
    fault = schedule_expression_fault(expression)
    _require(fault is None, f"ScheduleExpression {expression!r} is not valid: {fault}")
    hours = props.get("StartWindowHours")
    _require(hours is None or 1 <= int(hours) <= 168, f"StartWindowHours {hours} must be 1 to 168")
    selection = props.get("RecoveryPointSelection") or {}
    _require(selection.get("Algorithm") in ALGORITHMS, f"Algorithm must be one of {', '.join(ALGORITHMS)}")
    types = selection.get("RecoveryPointTypes") or []
    _require(
        bool(types) and set(types) <= set(RECOVERY_POINT_TYPES),
        f"RecoveryPointTypes must be SNAPSHOT and/or CONTINUOUS, not {types}",
    )
    _require(bool(selection.get("IncludeVaults")), "IncludeVaults needs one or more vault ARNs or *")
    days = selection.get("SelectionWindowDays")
    _require(days is None or 1 <= int(days) <= 365, f"SelectionWindowDays {days} must be 1 to 365")
    return name


class RestoreTestingPlan(AppliedModel):
    """AWS::Backup::RestoreTestingPlan: checked as CreateRestoreTestingPlan checks it, recorded.
    Ref is its name; GetAtt RestoreTestingPlanArn its ARN."""

    def __init__(self, name: str, arn: str) -> None:
        self.name, self.arn = name, arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Backup::RestoreTestingPlan"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "RestoreTestingPlanArn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.arn

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> RestoreTestingPlan:
        name = _check_plan(props)
        plans = _plans(account_id, region_name)
        if name in plans:
            raise AlreadyExistsException(f"Restore testing plan {name} already exists")
        plans[name] = {"plan": props, "selections": {}}
        return cls(name, f"arn:aws:backup:{region_name}:{account_id}:restore-testing-plan:{name}")

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        _plans(account_id, region_name).pop(resource_name, None)


def _check_role(role_arn: str, account_id: str, region_name: str) -> None:
    refusal, _ = role_refusal(
        role_arn, "backup.amazonaws.com", {"aws:SourceAccount": account_id}, account_id, region_name
    )
    if refusal:
        raise InvalidParameterValueException(f"IAM Role cannot be assumed by AWS Backup: {role_arn}")


def _check_rds_overrides(overrides: dict[str, Any], account_id: str, region_name: str) -> None:
    later = "the restore test fails every week"
    by_key = {str(k).lower(): v for k, v in overrides.items()}
    unknown = sorted(k for k in overrides if str(k).lower() not in RDS_OVERRIDES)
    if unknown:
        raise LocallyRefused(
            f"RestoreMetadataOverrides {unknown} are not RDS restore-testing overrides", later
        )
    group = by_key.get("dbsubnetgroupname")
    # moto resolves a Ref to an RDS subnet group to the group itself, not its name.
    group = getattr(group, "name", group)
    if not group:
        raise LocallyRefused(
            "no dbSubnetGroupName override: AWS Backup would restore into the default VPC "
            "(No default subnet detected in VPC)",
            later,
        )
    if str(group).lower() not in {g.lower() for g in rds_backends[account_id][region_name].subnet_groups}:
        raise LocallyRefused(f"dbSubnetGroupName {group} does not exist", later)
    raw = by_key.get("vpcsecuritygroupids")
    if raw is not None:
        try:
            ids = json.loads(str(raw))
        except ValueError:
            ids = None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise LocallyRefused(f"vpcSecurityGroupIds {raw!r} is not a JSON array of ids", later)
        known = {g.id for g in ec2_backends[account_id][region_name].describe_security_groups()}
        missing = sorted(set(ids) - known)
        if missing:
            raise LocallyRefused(f"vpcSecurityGroupIds {missing} do not exist", later)


class RestoreTestingSelection(AppliedModel):
    """AWS::Backup::RestoreTestingSelection: checked as CreateRestoreTestingSelection checks it
    (and, for RDS, what the restore itself would fail on), recorded under its plan. Ref is
    `plan|selection`, as CloudFormation's primary identifier."""

    def __init__(self, plan: str, name: str) -> None:
        self.plan, self.name = plan, name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Backup::RestoreTestingSelection"

    @property
    def physical_resource_id(self) -> str:
        return f"{self.plan}|{self.name}"

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> RestoreTestingSelection:
        name = str(props.get("RestoreTestingSelectionName", ""))
        _require(
            RESTORE_NAME.fullmatch(name) is not None,
            f"RestoreTestingSelectionName {name!r}: letters, digits, _; 1-50",
        )
        plan_name = str(props.get("RestoreTestingPlanName", ""))
        plan = _plans(account_id, region_name).get(plan_name)
        if plan is None:
            raise ResourceNotFoundException(f"Restore testing plan {plan_name} does not exist")
        if name in plan["selections"]:
            raise AlreadyExistsException(f"Restore testing selection {name} already exists in {plan_name}")
        kind = props.get("ProtectedResourceType")
        _require(
            kind in PROTECTED_TYPES,
            f"ProtectedResourceType {kind!r} is not one of {', '.join(PROTECTED_TYPES)}",
        )
        arns = props.get("ProtectedResourceArns") or []
        _require(len(arns) <= 30, f"at most 30 ProtectedResourceArns, not {len(arns)}")
        _require(
            bool(arns) or bool(props.get("ProtectedResourceConditions")),
            "ProtectedResourceArns or ProtectedResourceConditions is required",
        )
        hours = props.get("ValidationWindowHours")
        _require(hours is None or 1 <= int(hours) <= 168, f"ValidationWindowHours {hours} must be 1 to 168")
        _check_role(str(props.get("IamRoleArn", "")), account_id, region_name)
        if kind == "RDS":
            _check_rds_overrides(dict(props.get("RestoreMetadataOverrides") or {}), account_id, region_name)
        plan["selections"][name] = props
        return cls(plan_name, name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        plan, _, name = resource_name.partition("|")
        _plans(account_id, region_name).get(plan, {}).get("selections", {}).pop(name, None)


def _list_backup_jobs(self: BackupResponse) -> str:
    """ListBackupJobs (GET /backup-jobs/), which moto lacks: no backup job runs locally, so none
    is listed (the daily report reads it)."""
    return json.dumps({"BackupJobs": []})


def patch_api() -> None:
    BackupResponse.list_backup_jobs = _list_backup_jobs  # type: ignore[attr-defined]
    # The route moto's backup URLs lack; moto reads the dict when it builds its routes.
    backup_urls.url_paths.setdefault("{0}/backup-jobs/?$", backup_urls.response.dispatch)


MODELS: Models = (BackupVault, BackupPlan, BackupSelection, RestoreTestingPlan, RestoreTestingSelection)
FIXES: Fixes = {}
