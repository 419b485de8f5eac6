from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from components.data import Database
from components.data.backup import DatabaseBackups, RestoreTest, backup_vault
from components.data.buckets import DataBuckets
from components.data.database import PORT
from components.data.maintenance import DatabaseMaintenance
from components.data.standby import StandbyDatabase
from components.keys import allow_secret_replication, dr_replica
from components.network import Network
from config.model import EnvironmentConfig
from config.names import DR_DATA_KEY_OUTPUT, DR_MONITORING_ROLE_OUTPUT
from stacks.base import CleverBetterStack


class DataStack(CleverBetterStack):
    """Stateful: the database, its proxy and credentials, and the key that encrypts them; the
    monthly VACUUM (ANALYZE) beside the bootstrap it shares its code and admin login with."""

    UNIT = "data"
    STATEFUL = True
    SUMMARY = "PostgreSQL, RDS Proxy, credentials, backups, monthly maintenance"

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, network: Network
    ) -> None:
        super().__init__(scope, construct_id, config=config)
        names = config.names
        self.key = self.unit_key(
            "DataKey",
            alias=names.data_key_alias,
            description=f"Encrypts {names.prefix}'s database, its secrets, logs and buckets",
            log_group_names=[
                names.rds_log_group("*"),
                names.lambda_log_group(names.db_bootstrap_function),
                names.lambda_log_group(names.db_maintenance_function),
            ],
        )
        context = self.unit_context(self.key)
        replica = dr_replica(self, config)
        self.database = Database(
            self,
            "Database",
            context=context,
            network=network,
            config=config.database,
            backup=config.backup,
            rotation=config.rotation,
            deletion_protection=config.deletion_protection,
            replica=replica,
        )
        db = self.database
        self.backups = DatabaseBackups(
            self,
            "Backups",
            context=context,
            instance=db.instance,
            config=config.backup,
            replica=replica,
        )
        if config.backup.restore_test_day is not None:
            self.restore_test = RestoreTest(
                self,
                "RestoreTest",
                context=context,
                instance=db.instance,
                security_group=db.database_security_group,
                vault=self.backups.vault,
                config=config.backup,
            )
        self.maintenance = DatabaseMaintenance(
            self,
            "Maintenance",
            context=context,
            instance=db.instance,
            database_security_group=db.database_security_group,
            admin_secret=db.admin_secret,
            port=PORT,
            schedule=config.schedules.db_maintenance,
        )
        self.buckets = DataBuckets(
            self,
            "Buckets",
            context=context,
            # Old model/backup versions live as long as database backups do.
            noncurrent_version_days=config.backup.retention_days,
            replica=replica,
        )
        for output_id, value, description in (
            (
                "ModelBucketName",
                self.buckets.buckets["mlflow"].bucket_name,
                "MLflow model registry artefacts",
            ),
            ("BackupsBucketName", self.buckets.buckets["backups"].bucket_name, "Model and config backups"),
            (
                "DbInstanceIdentifier",
                db.instance.instance_identifier,
                "RDS instance (runbook: --db-instance-identifier)",
            ),
            (
                "DbEndpoint",
                db.instance.db_instance_endpoint_address,
                "Instance endpoint (migrations, break-glass)",
            ),
            ("ProxyEndpoint", db.proxy.endpoint, "RDS Proxy endpoint: what the services connect to"),
            (
                "MigratorSecretName",
                names.secret("database"),
                "Migration role app_migrator's credentials (rotated); the three services use IAM",
            ),
            ("AdminSecretArn", db.admin_secret.secret_arn, "Admin (master) credentials (rotated)"),
            (
                "BackupVaultName",
                self.backups.vault.backup_vault_name,
                "AWS Backup vault" + (" (Vault Lock)" if config.backup.vault_lock_min_retention_days else ""),
            ),
        ):
            cdk.CfnOutput(self, output_id, value=value, description=description)


class DisasterRecoveryDataStack(CleverBetterStack):
    """Stateful, in the DR region: the key that encrypts replicated backups and secrets, and
    the standby a failover restores the database into."""

    UNIT = "data"
    STATEFUL = True
    SUMMARY = "key for replicated backups and secrets, the database's standby subnet group"

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, network: Network
    ) -> None:
        dr = config.disaster_recovery
        assert dr is not None
        super().__init__(scope, construct_id, config=config, dr=True)
        names = config.names
        self.key = self.unit_key(
            "DataKey",
            alias=names.data_key_alias,
            description=f"Encrypts {names.prefix}'s replicated backups, secrets and buckets in {dr.region}",
            log_group_names=[names.rds_log_group("*")],
        )
        # The primary's secrets replicate here (written in the primary region, read here).
        allow_secret_replication(self.key, regions=[config.region, dr.region])
        cdk.CfnOutput(
            self,
            DR_DATA_KEY_OUTPUT,
            value=self.key.key_arn,
            description=f"Read by {names.prefix}'s stacks (Fn::GetStackOutput) to encrypt their replicas",
        )
        # AWS Backup copies land here (addressed from us-east-1 by this ARN).
        self.vault = backup_vault(
            self,
            "Vault",
            name=names.dr_backup_vault,
            key=self.key,
            removal_policy=self.stateful_removal_policy,
            lock_days=config.backup.vault_lock_min_retention_days,
        )
        # Replication targets for the primary's buckets (same names, this region).
        self.buckets = DataBuckets(
            self,
            "Buckets",
            context=self.unit_context(self.key),
            noncurrent_version_days=config.backup.retention_days,
            replica=None,
        )
        # What make dr-failover restores the database into (it reads these outputs).
        self.standby = StandbyDatabase(
            self, "Standby", context=self.unit_context(self.key), network=network, config=config.database
        )
        standby = self.standby
        for output_id, value, description in (
            (
                "DbSubnetGroupName",
                standby.subnet_group.subnet_group_name,
                "make dr-failover restores into it",
            ),
            (
                "DbSecurityGroupId",
                standby.security_groups.database.security_group_id,
                "The restored instance's security group",
            ),
            (
                "DbParameterGroupName",
                standby.parameters.bind_to_instance().parameter_group_name,
                "Its parameters",
            ),
            (
                "DbClientSecurityGroupId",
                standby.security_groups.client.security_group_id,
                "Clients of the restored database",
            ),
            (DR_MONITORING_ROLE_OUTPUT, standby.monitoring_role.role_arn, "Its enhanced monitoring"),
        ):
            cdk.CfnOutput(self, output_id, value=value, description=description)
