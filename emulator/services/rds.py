"""RDS: the proxy and its target group, the database bootstrap custom resource, and what moto's
DBInstance handler crashes on or drops."""

from __future__ import annotations

import json
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.core.common_models import CloudFormationModel
from moto.rds.exceptions import InvalidParameterValue
from moto.rds.models import DBInstance, rds_backends
from moto.secretsmanager.models import secretsmanager_backends

from emulator.services.base import AppliedModel, Fix, Fixes, FromProperties, Models, set_attributes
from emulator.services.ec2 import zone_id_of

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


# CloudFormation properties moto's DBInstance handler drops -> the model attribute they set.
DB_INSTANCE_ATTRIBUTES = {
    "DeletionProtection": "deletion_protection",
    "EnableCloudwatchLogsExports": "enabled_cloudwatch_logs_exports",
    "MonitoringInterval": "monitoring_interval",
    "MonitoringRoleArn": "monitoring_role_arn",
    "MaxAllocatedStorage": "max_allocated_storage",
    "CACertificateIdentifier": "ca_certificate_identifier",
    "EnableIAMDatabaseAuthentication": "enable_iam_database_authentication",
}


def _db_instance_after(instance: Any, props: dict[str, Any]) -> None:
    set_attributes(instance, props, DB_INSTANCE_ATTRIBUTES)


class DatabaseBootstrap(AppliedModel):
    """Custom::DatabaseBootstrap (lambdas/db_bootstrap/): no Lambda and no PostgreSQL run locally,
    so this checks what the function would need before its first SQL statement: CloudFormation
    can invoke the service token, the instance is there at that address, both secrets exist and
    the migrator's secret holds the migrator's user. The SQL is tested in tests/lambdas/."""

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
        migrator = secrets.get_secret_value(props["MigratorSecretArn"], None, "AWSCURRENT")
        username = json.loads(migrator["SecretString"]).get("username")
        if username != props["MigratorUser"]:
            raise ValueError(f"the migrator secret holds {username!r}, not {props['MigratorUser']!r}")
        return cls(f"{props['InstanceIdentifier']}/{props['Database']}", props)


MODELS: Models = (DBProxy, DBProxyTargetGroup, DatabaseBootstrap)
FIXES: Fixes = {
    DBInstance: Fix(
        properties=_db_instance_properties,
        after_create=_db_instance_after,
        # IAM database authentication names the instance by this id (rds-db:connect).
        attributes={"DbiResourceId": lambda instance: instance.dbi_resource_id},
    )
}
