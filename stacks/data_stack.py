from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from constructs import Construct

from components.data import Database
from components.data.backup import DatabaseBackups, protected_vault
from components.data.buckets import DataBuckets
from components.keys import encryption_key
from components.network import Network
from config.model import EnvironmentConfig
from stacks.base import CleverBetterStack


def dr_vault_name(config: EnvironmentConfig) -> str:
    return f"{config.prefix}-dr"


def data_key_alias(config: EnvironmentConfig) -> str:
    """Same alias in both regions, so the primary can name the DR key without a lookup."""
    return f"alias/{config.prefix}/data"


def dr_data_key(stack: cdk.Stack, config: EnvironmentConfig) -> kms.IKey | None:
    """The DR region's data key (clever-better-prod-dr-data), addressed by its alias ARN:
    deterministic, and no cross-region reference between stacks."""
    dr = config.disaster_recovery
    if dr is None:
        return None
    arn = dr.data_key_arn or f"arn:{stack.partition}:kms:{dr.region}:{stack.account}:{data_key_alias(config)}"
    return kms.Key.from_key_arn(stack, "DrDataKey", arn)


class DataStack(CleverBetterStack):
    """Stateful: the database, its proxy and credentials, and the key that encrypts them."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, network: Network
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            unit="data",
            stateful=True,
            description=f"Clever Better {config.name} data: PostgreSQL, RDS Proxy, credentials, backups",
        )
        name = config.prefix
        self.key = encryption_key(
            self,
            "DataKey",
            alias=data_key_alias(config),
            description=f"Encrypts {name}'s database, its secrets, logs and buckets",
            removal_policy=self.stateful_removal_policy,
            log_group_names=[f"/aws/rds/instance/{name}/*"],
        )
        dr = config.disaster_recovery
        replica_key = dr_data_key(self, config)
        self.database = Database(
            self,
            "Database",
            name=name,
            token=config.token,
            config=config.database,
            features=config.features,
            rotation=config.rotation,
            backup_retention_days=config.backup_retention_days,
            log_retention_days=config.log_retention_days,
            vpc=network.vpc,
            vpc_cidr=network.vpc_cidr,
            key=self.key,
            removal_policy=self.stateful_removal_policy,
            # A final snapshot wherever the database is protected (staging, production);
            # dev's sandbox database goes with its stack.
            instance_removal_policy=(
                cdk.RemovalPolicy.SNAPSHOT
                if config.features.deletion_protection
                else cdk.RemovalPolicy.DESTROY
            ),
            replica_region=dr.region if dr else None,
            replica_key=replica_key,
        )
        db = self.database
        self.backups = DatabaseBackups(
            self,
            "Backups",
            name=name,
            instance=db.instance,
            key=self.key,
            daily_retention_days=config.backup_retention_days,
            hourly_retention_days=config.database.hourly_backup_retention_days,
            removal_policy=self.stateful_removal_policy,
            dr_vault_arn=(
                f"arn:{self.partition}:backup:{dr.region}:{self.account}:backup-vault:{dr_vault_name(config)}"
                if dr
                else None
            ),
        )
        self.buckets = DataBuckets(
            self,
            "Buckets",
            prefix=name,
            key=self.key,
            # Old model/backup versions live as long as database backups do.
            noncurrent_version_days=config.backup_retention_days,
            access_log_days=config.log_retention_days,
            removal_policy=self.stateful_removal_policy,
            replica_region=dr.region if dr else None,
            replica_key_arn=replica_key.key_arn if replica_key else None,
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
            ("AppSecretName", config.names.secret("database"), "Application credentials (rotated)"),
            ("AdminSecretArn", db.admin_secret.secret_arn, "Admin (master) credentials (rotated)"),
            ("BackupVaultName", self.backups.vault.backup_vault_name, "AWS Backup vault (deletion denied)"),
        ):
            cdk.CfnOutput(self, output_id, value=value, description=description)


class DisasterRecoveryDataStack(CleverBetterStack):
    """Stateful, in the DR region: the key that encrypts replicated backups and secrets."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        dr = config.disaster_recovery
        assert dr is not None
        super().__init__(
            scope,
            construct_id,
            config=config,
            unit="data",
            stateful=True,
            dr=True,
            description=f"Clever Better {config.name} DR data: key for replicated backups and secrets",
        )
        self.key = encryption_key(
            self,
            "DataKey",
            alias=data_key_alias(config),
            description=f"Encrypts {config.prefix}'s replicated backups, secrets and buckets in {dr.region}",
            removal_policy=self.stateful_removal_policy,
        )
        cdk.CfnOutput(
            self,
            "DataKeyArn",
            value=self.key.key_arn,
            description="Pass as -c production_dr_key_arn=... to name this key by ARN in production",
        )
        # AWS Backup copies land here (addressed from us-east-1 by this ARN).
        self.vault = protected_vault(
            self,
            "Vault",
            name=dr_vault_name(config),
            key=self.key,
            removal_policy=self.stateful_removal_policy,
        )
        # Replication targets for the primary's buckets (same names, this region).
        self.buckets = DataBuckets(
            self,
            "Buckets",
            prefix=config.prefix,
            key=self.key,
            noncurrent_version_days=config.backup_retention_days,
            access_log_days=config.log_retention_days,
            removal_policy=self.stateful_removal_policy,
            replica_region=None,
            replica_key_arn=None,
        )
