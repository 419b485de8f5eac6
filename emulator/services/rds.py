"""RDS: the proxy and its target group, the database bootstrap custom resource, what moto's
DBInstance handler crashes on or drops, and cross-region automated backup replication (the DR
region's point-in-time restore, which moto lacks)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.core.common_models import CloudFormationModel
from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.rds.exceptions import (
    DBInstanceAlreadyExists,
    DBProxyNotFoundFault,
    DBSubnetGroupNotFoundError,
    InvalidParameterCombination,
    InvalidParameterValue,
    RDSClientError,
)
from moto.rds.models import DBInstance, RDSBackend, rds_backends
from moto.rds.responses import RDSResponse
from moto.secretsmanager.models import secretsmanager_backends

from emulator.services.base import AppliedModel, Fix, Fixes, FromProperties, Models, set_attributes
from emulator.services.ec2 import zone_id_of
from emulator.services.refusals import role_refusal

# Physical zones RDS Proxy does not run in (RDS User Guide, RDS Proxy limitations).
PROXY_UNSUPPORTED_ZONES = frozenset({"use1-az3"})


def _check_proxy_zones(subnet_ids: list[str], account_id: str, region_name: str) -> None:
    """RDS Proxy drops subnets in zones it does not support and needs two zones left."""
    zones = {zone_id_of(s, account_id, region_name) for s in subnet_ids} - PROXY_UNSUPPORTED_ZONES
    if len(zones) < 2:
        raise InvalidParameterValue(
            "DB proxy needs subnets in at least two Availability Zones that support RDS Proxy; "
            f"these subnets leave {sorted(zones) or 'none'}"
        )


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
        scheme = props.get("DefaultAuthScheme", "NONE")
        if scheme == "NONE" and not props.get("Auth"):
            # CreateDBProxy: "If you don't specify DefaultAuthScheme or specify this parameter
            # as NONE, you must specify the Auth option."
            raise InvalidParameterValue("Auth is required when DefaultAuthScheme is NONE")
        _check_proxy_zones(props["VpcSubnetIds"], account_id, region_name)
        proxy: Any = rds_backends[account_id][region_name].create_db_proxy(
            db_proxy_name=props["DBProxyName"],
            engine_family=props["EngineFamily"],
            auth=props.get("Auth", []),
            role_arn=props["RoleArn"],
            vpc_subnet_ids=props["VpcSubnetIds"],
            vpc_security_group_ids=props.get("VpcSecurityGroupIds"),
            require_tls=props.get("RequireTLS"),
            idle_client_timeout=props.get("IdleClientTimeout"),
            debug_logging=props.get("DebugLogging"),
            tags=props.get("Tags"),
        )
        proxy.default_auth_scheme = scheme
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


def _db_instance_properties(props: dict[str, Any]) -> dict[str, Any]:
    """moto resolves Ref to a parameter group as the model object, then crashes on it; and
    CloudFormation accepts numbers as strings (the CDK writes "20"), moto compares them as ints."""
    props = dict(props)
    numeric = (
        "AllocatedStorage",
        "MaxAllocatedStorage",
        "Port",
        "BackupRetentionPeriod",
        "MonitoringInterval",
    )
    for key in numeric:
        if isinstance(props.get(key), str):
            props[key] = int(props[key])
    group = props.get("DBParameterGroupName")
    if group is not None and not isinstance(group, str):
        props["DBParameterGroupName"] = group.name
    return props


# Where (and with which key) an instance's automated backups replicate: set by CloudFormation's
# AutomaticBackupReplicationRegion or StartDBInstanceAutomatedBackupsReplication.
REPLICATION_REGION = "automatic_backup_replication_region"
REPLICATION_KEY = "automatic_backup_replication_kms_key_id"

# CloudFormation properties moto's DBInstance handler drops -> the model attribute they set.
DB_INSTANCE_ATTRIBUTES = {
    "DeletionProtection": "deletion_protection",
    "EnableCloudwatchLogsExports": "enabled_cloudwatch_logs_exports",
    "MonitoringInterval": "monitoring_interval",
    "MonitoringRoleArn": "monitoring_role_arn",
    "MaxAllocatedStorage": "max_allocated_storage",
    "CACertificateIdentifier": "ca_certificate_identifier",
    "EnableIAMDatabaseAuthentication": "enable_iam_database_authentication",
    "AutomaticBackupReplicationRegion": REPLICATION_REGION,
    "AutomaticBackupReplicationKmsKeyId": REPLICATION_KEY,
}


def _db_instance_after(instance: Any, props: dict[str, Any]) -> None:
    _check_monitoring(
        props.get("MonitoringInterval"), props.get("MonitoringRoleArn"), instance.account_id, instance.region
    )
    set_attributes(instance, props, DB_INSTANCE_ATTRIBUTES)


# RDS assumes the enhanced-monitoring role to publish OS metrics (RDS User Guide, "Setting up and
# enabling Enhanced Monitoring": the role trusts monitoring.rds.amazonaws.com).
MONITORING_PRINCIPAL = "monitoring.rds.amazonaws.com"


def _check_monitoring(interval: Any, role_arn: str | None, account_id: str, region_name: str) -> None:
    """As CreateDBInstance and ModifyDBInstance refuse them: an interval without a role, and a
    role that is missing or does not trust RDS's monitoring service."""
    if int(interval or 0) > 0 and not role_arn:
        raise InvalidParameterCombination(
            "A MonitoringRoleARN value is required if you specify a MonitoringInterval value other than 0."
        )
    if role_arn and role_refusal(role_arn, MONITORING_PRINCIPAL, {}, account_id, region_name)[0]:
        raise InvalidParameterValue(
            "IAM role ARN value is invalid or does not include the required permissions for: "
            "ENHANCED_MONITORING"
        )


def _monitoring_checked(original: Any) -> Any:
    """ModifyDBInstance (moto checks neither the role nor the combination on a modify)."""

    def modify(self: RDSBackend, db_instance_identifier: str, db_kwargs: dict[str, Any]) -> Any:
        interval, role = db_kwargs.get("monitoring_interval"), db_kwargs.get("monitoring_role_arn")
        if interval is not None or role is not None:
            current = self.describe_db_instances(db_instance_identifier)[0]
            _check_monitoring(
                current.monitoring_interval if interval is None else interval,
                role or current.monitoring_role_arn,
                self.account_id,
                self.region_name,
            )
        return original(self, db_instance_identifier, db_kwargs)

    return modify


class DatabaseBootstrap(AppliedModel):
    """Custom::DatabaseBootstrap (lambdas/db_bootstrap/): no Lambda and no PostgreSQL run locally,
    so this checks what the function would need before its first SQL statement: CloudFormation
    can invoke the service token, the instance is there at that address, the secrets exist and
    the migrator's and MLflow's secrets hold their users. The SQL is tested in tests/lambdas/."""

    def __init__(self, physical_id: str, props: dict[str, Any]) -> None:
        self.physical_id = physical_id
        self.props = props

    @staticmethod
    def cloudformation_type() -> str:
        return "Custom::DatabaseBootstrap"

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> DatabaseBootstrap:
        lambda_backends[account_id][region_name].get_function(props["ServiceToken"])
        instance = rds_backends[account_id][region_name].describe_db_instances(props["InstanceIdentifier"])[0]
        if instance.address != props["Host"]:
            raise ValueError(f"{props['Host']} is not the endpoint of {props['InstanceIdentifier']}")
        secrets: Any = secretsmanager_backends[account_id][region_name]
        secrets.get_secret_value(props["AdminSecretArn"], None, "AWSCURRENT")
        for purpose, arn, user in (
            ("migrator", "MigratorSecretArn", "MigratorUser"),
            ("MLflow", "MlflowSecretArn", "MlflowUser"),
        ):
            secret = secrets.get_secret_value(props[arn], None, "AWSCURRENT")
            username = json.loads(secret["SecretString"]).get("username")
            if username != props[user]:
                raise ValueError(f"the {purpose} secret holds {username!r}, not {props[user]!r}")
        return cls(f"{props['InstanceIdentifier']}/{props['Database']}", props)


# --- cross-region automated backups (the DR region's point-in-time restore) -------------------

# How far a replicated backup's latest restorable time trails the source (RDS User Guide,
# "Replicating automated backups to another AWS Region": replication is asynchronous).
REPLICATION_LAG = timedelta(minutes=5)


class AutomatedBackupNotFound(RDSClientError):
    def __init__(self, arn: str) -> None:
        super().__init__("DBInstanceAutomatedBackupNotFound", f"Automated backup {arn} not found.")


def _replication_arn(instance: Any, region: str) -> str:
    resource = str(instance.dbi_resource_id).removeprefix("db-").lower()
    return f"arn:aws:rds:{region}:{instance.account_id}:auto-backup:ab-{resource}"


def _replicated_sources(account_id: str, region: str) -> list[Any]:
    """Instances in other regions whose automated backups replicate into `region`."""
    return [
        instance
        for other, backend in rds_backends[account_id].items()
        if other != region
        for instance in backend.databases.values()
        if getattr(instance, REPLICATION_REGION, None) == region and instance.backup_retention_period
    ]


def _restore_window(instance: Any) -> dict[str, datetime]:
    now = datetime.now(UTC)
    created = datetime.fromisoformat(str(instance.instance_create_time).replace("Z", "+00:00"))
    created = created if created.tzinfo else created.replace(tzinfo=UTC)
    return {"EarliestTime": created, "LatestTime": max(created, now - REPLICATION_LAG)}


def _replicated_backup(instance: Any, region: str) -> dict[str, Any]:
    return {
        "DBInstanceAutomatedBackupsArn": _replication_arn(instance, region),
        "DBInstanceArn": instance.db_instance_arn,
        "DBInstanceIdentifier": instance.db_instance_identifier,
        "DbiResourceId": instance.dbi_resource_id,
        "Region": instance.region,
        "Status": "replicating",
        "Engine": instance.engine,
        "EngineVersion": instance.engine_version,
        "AllocatedStorage": instance.allocated_storage,
        "Encrypted": True,
        "KmsKeyId": getattr(instance, REPLICATION_KEY, None),
        "IAMDatabaseAuthenticationEnabled": bool(instance.enable_iam_database_authentication),
        "BackupRetentionPeriod": instance.backup_retention_period,
        "RestoreWindow": _restore_window(instance),
    }


def _describe_automated_backups(original: Any) -> Any:
    def describe(self: RDSResponse) -> ActionResult:
        own: ActionResult = original(self)
        wanted = self.params.get("DBInstanceIdentifier")
        replicated = [
            _replicated_backup(instance, self.region)
            for instance in _replicated_sources(self.current_account, self.region)
            if wanted in (None, instance.db_instance_identifier)
        ]
        if not replicated:
            return own
        result = own.result
        listed = list(result.get("DBInstanceAutomatedBackups", [])) if isinstance(result, dict) else []
        return ActionResult({"DBInstanceAutomatedBackups": [*listed, *replicated]})

    return describe


# What a restore takes from its parameters (API name -> moto's DBInstance attribute).
RESTORE_OVERRIDES = {
    "DBInstanceClass": "db_instance_class",
    "DBSubnetGroupName": "db_subnet_group_name",
    "VpcSecurityGroupIds": "vpc_security_group_ids",
    "DBParameterGroupName": "db_parameter_group_name",
    "MultiAZ": "multi_az",
    "PubliclyAccessible": "publicly_accessible",
    "CopyTagsToSnapshot": "copy_tags_to_snapshot",
    "DeletionProtection": "deletion_protection",
    "EnableIAMDatabaseAuthentication": "enable_iam_database_authentication",
    "StorageType": "storage_type",
    "Tags": "tags",
    "EnableCloudwatchLogsExports": "enabled_cloudwatch_logs_exports",
}


def _restore_checked(self: RDSResponse, arn: str) -> DBInstance:
    """As RDS checks RestoreDBInstanceToPointInTime from a replicated backup: the backup exists
    here; exactly one of RestoreTime and UseLatestRestorableTime, inside the restore window; a
    DB subnet group in this region (without one RDS looks for a default VPC, which our
    accounts need not have: refused locally); security groups of that subnet group's VPC; a
    target name not taken."""
    params = self.params
    region, backend = self.region, self.backend
    source = next(
        (i for i in _replicated_sources(self.current_account, region) if _replication_arn(i, region) == arn),
        None,
    )
    if source is None:
        raise AutomatedBackupNotFound(arn)
    latest = params.get("UseLatestRestorableTime")
    restore_time = params.get("RestoreTime")
    if bool(latest) == (restore_time is not None):
        raise InvalidParameterCombination("Specify exactly one of RestoreTime and UseLatestRestorableTime.")
    if restore_time is not None:
        when = (
            restore_time if isinstance(restore_time, datetime) else datetime.fromisoformat(str(restore_time))
        )
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        window = _restore_window(source)
        if not window["EarliestTime"] <= when <= window["LatestTime"]:
            raise InvalidParameterValue(
                f"RestoreTime {when.isoformat()} is outside the restore window "
                f"{window['EarliestTime'].isoformat()} to {window['LatestTime'].isoformat()}."
            )
    target = params.get("TargetDBInstanceIdentifier")
    if target in backend.databases:
        raise DBInstanceAlreadyExists()
    group_name = params.get("DBSubnetGroupName")
    if not group_name:
        raise InvalidParameterValue(
            "No DBSubnetGroupName: RDS would restore into the default VPC, which this account need not have"
        )
    if group_name not in backend.subnet_groups:
        raise DBSubnetGroupNotFoundError(group_name)
    vpc = backend.subnet_groups[group_name].vpc_id
    ec2 = ec2_backends[self.current_account][region]
    for group_id in params.get("VpcSecurityGroupIds", []):
        found = ec2.describe_security_groups(group_ids=[group_id])
        if found[0].vpc_id != vpc:
            raise InvalidParameterCombination(
                f"Security group {group_id} is not in the DB subnet group's VPC {vpc}."
            )
    # What a restore carries over from the source (the data's engine, size, users); the rest
    # comes from the call, as in RDS.
    props: dict[str, Any] = {
        attribute: copy.deepcopy(getattr(source, attribute))
        for attribute in (
            "engine",
            "engine_version",
            "allocated_storage",
            "master_username",
            "db_name",
            "port",
            "storage_type",
            "iops",
            "license_model",
            "backup_retention_period",
            "preferred_backup_window",
            "preferred_maintenance_window",
            "auto_minor_version_upgrade",
            "db_instance_class",
        )
    }
    props |= {attribute: params[key] for key, attribute in RESTORE_OVERRIDES.items() if key in params}
    props |= {
        "db_instance_identifier": target,
        "storage_encrypted": True,
        "kms_key_id": getattr(source, REPLICATION_KEY, None),
    }
    return backend.create_db_instance(props)


def _restore_to_point_in_time(original: Any) -> Any:
    def restore(self: RDSResponse) -> ActionResult:
        arn = self.params.get("SourceDBInstanceAutomatedBackupsArn")
        if not arn:
            same_region: ActionResult = original(self)
            return same_region
        return ActionResult({"DBInstance": _restore_checked(self, arn)})

    return restore


def _start_replication(self: RDSResponse) -> ActionResult:
    """StartDBInstanceAutomatedBackupsReplication, called in the destination region."""
    arn = self.params["SourceDBInstanceArn"]
    source_region = arn.split(":")[3]
    instance = rds_backends[self.current_account][source_region].find_db_from_id(arn)
    setattr(instance, REPLICATION_REGION, self.region)
    setattr(instance, REPLICATION_KEY, self.params.get("KmsKeyId"))
    return ActionResult({"DBInstanceAutomatedBackup": _replicated_backup(instance, self.region)})


def _proxy_must_exist(original: Any) -> Any:
    """moto answers DescribeDBProxyTargets for a missing proxy with a KeyError (HTTP 500)."""

    def describe(self: RDSBackend, proxy_name: str) -> Any:
        if proxy_name not in self.db_proxies:
            raise DBProxyNotFoundFault(proxy_name)
        return original(self, proxy_name)

    return describe


def patch_api() -> None:
    """Idempotent: replicated automated backups are listed in their destination region and
    restorable there (RestoreDBInstanceToPointInTime with SourceDBInstanceAutomatedBackupsArn);
    a missing proxy's targets are DBProxyNotFoundFault, as in RDS; enhanced monitoring needs a
    role RDS's monitoring service may assume, on a modify too."""
    if getattr(RDSResponse.restore_db_instance_to_point_in_time, "_replicas", False):
        return
    RDSBackend.describe_db_proxy_targets = _proxy_must_exist(RDSBackend.describe_db_proxy_targets)  # type: ignore[method-assign]
    RDSBackend.modify_db_instance = _monitoring_checked(RDSBackend.modify_db_instance)  # type: ignore[method-assign]
    describe = _describe_automated_backups(RDSResponse.describe_db_instance_automated_backups)
    restore = _restore_to_point_in_time(RDSResponse.restore_db_instance_to_point_in_time)
    restore._replicas = True
    RDSResponse.describe_db_instance_automated_backups = describe  # type: ignore[method-assign]
    RDSResponse.restore_db_instance_to_point_in_time = restore  # type: ignore[method-assign]
    RDSResponse.start_db_instance_automated_backups_replication = _start_replication  # type: ignore[attr-defined]


MODELS: Models = (DBProxy, DBProxyTargetGroup, DatabaseBootstrap)
FIXES: Fixes = {
    DBInstance: Fix(
        properties=_db_instance_properties,
        after_create=_db_instance_after,
        # IAM database authentication names the instance by this id (rds-db:connect).
        attributes={"DbiResourceId": lambda instance: instance.dbi_resource_id},
    )
}
