"""RDS for PostgreSQL behind RDS Proxy, with its credentials, their rotation and its roles.

Who logs in as whom (config/names.py):

* the services, as `app`, through the proxy with end-to-end IAM authentication: the task role
  may `rds-db:connect` to the proxy as `app` (`grant_connect`), the proxy's role may connect
  to the instance as `app`, and `app` is a member of `rds_iam` without a password. No secret.
* migrations, as `app_migrator`, straight to the instance with the password in
  `clever-better/{token}/database` (single-user rotation every 90 days);
* the MLflow tracking server, as `mlflow`, straight to the instance and only to its own
  database `mlflow`, with the password in `.../database-mlflow` (single-user rotation every 90
  days; a task that can no longer log in fails its health check and ECS replaces it with one
  that reads the new password: components/services/mlflow.py);
* the bootstrap, rotation and break-glass, as the master user `clever_admin`, password in
  `.../database-admin` (single-user rotation every 30 days).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as sm
from constructs import Construct

from components.context import Replica, UnitContext
from components.data.roles import DatabaseRoles
from components.nag import acknowledge
from components.network import Network, closed_security_group
from config.model import BackupConfig, DatabaseConfig, RotationConfig
from config.names import (
    DATABASE,
    DB_ADMIN_USER,
    DB_APP_USER,
    DB_MIGRATOR_USER,
    DB_MLFLOW_USER,
    MLFLOW_DATABASE,
)

ENGINE_VERSION = rds.PostgresEngineVersion.VER_17_9
PORT = 5432
LOG_EXPORTS = ("postgresql", "upgrade")


ENGINE = rds.DatabaseInstanceEngine.postgres(version=ENGINE_VERSION)
# RDS Proxy: how long a client waits for a pooled connection, and keeps an idle one.
PROXY_BORROW_TIMEOUT = cdk.Duration.seconds(30)
PROXY_IDLE_CLIENT_TIMEOUT = cdk.Duration.minutes(30)


def proxy_pool(
    config: DatabaseConfig,
) -> rds.CfnDBProxyTargetGroup.ConnectionPoolConfigurationInfoFormatProperty:
    """The pool the primary's proxy has (its L2 writes the same), for the DR region's L1 proxy."""
    return rds.CfnDBProxyTargetGroup.ConnectionPoolConfigurationInfoFormatProperty(
        connection_borrow_timeout=int(PROXY_BORROW_TIMEOUT.to_seconds()),
        max_connections_percent=config.proxy_max_connections_percent,
        max_idle_connections_percent=config.proxy_max_idle_connections_percent,
    )


class DatabaseSecurityGroups:
    """Three groups: clients -> proxy -> database; clients may also reach the database
    directly (migrations, rotation). Nothing else can. Created in `scope` (the database's
    construct, or the DR region's standby) so their ids stay put. The proxy -> database rules
    come from the proxy's binding (a second, identical rule would make EC2 fail the deploy with
    InvalidPermission.Duplicate)."""

    def __init__(self, scope: Construct, *, name: str, vpc: ec2.IVpc, vpc_cidr: str) -> None:
        self.client = closed_security_group(
            scope,
            "ClientSecurityGroup",
            vpc=vpc,
            description=f"Clients of the {name} database (services, migrations, rotation)",
        )
        self.proxy = closed_security_group(
            scope, "ProxySecurityGroup", vpc=vpc, description=f"RDS Proxy of {name}"
        )
        self.database = closed_security_group(
            scope, "DatabaseSecurityGroup", vpc=vpc, description=f"RDS instance {name}"
        )
        postgres = ec2.Port.tcp(PORT)
        self.proxy.add_ingress_rule(self.client, postgres, "PostgreSQL from clients")
        self.database.add_ingress_rule(self.client, postgres, "PostgreSQL from migrations and rotation")
        self.client.add_egress_rule(self.proxy, postgres, "PostgreSQL to the proxy")
        self.client.add_egress_rule(self.database, postgres, "PostgreSQL to the database")
        # Secrets Manager, KMS and STS through the interface endpoints (rotation functions).
        self.client.add_egress_rule(ec2.Peer.ipv4(vpc_cidr), ec2.Port.tcp(443), "HTTPS to the VPC endpoints")
        self.proxy.add_egress_rule(
            ec2.Peer.ipv4(vpc_cidr), ec2.Port.tcp(443), "HTTPS to Secrets Manager and KMS endpoints"
        )


def export_log_groups(scope: Construct, *, context: UnitContext) -> list[logs.LogGroup]:
    """The instance's log exports' groups, ours so they are encrypted and expire."""
    return [
        context.log_group(scope, f"{kind.capitalize()}LogGroup", name=context.names.rds_log_group(kind))
        for kind in LOG_EXPORTS
    ]


def parameter_group(scope: Construct, *, name: str, config: DatabaseConfig) -> rds.ParameterGroup:
    return rds.ParameterGroup(
        scope,
        "Parameters",
        engine=ENGINE,
        description=f"{name}: pg_stat_statements, slow-query log, time-outs, TLS only",
        parameters={
            "shared_preload_libraries": "pg_stat_statements",
            "pg_stat_statements.track": "all",
            "log_min_duration_statement": str(config.slow_query_ms),
            "log_connections": "1",
            "log_disconnections": "1",
            "log_lock_waits": "1",
            "statement_timeout": str(config.statement_timeout_seconds * 1000),
            "idle_in_transaction_session_timeout": str(config.idle_in_transaction_timeout_seconds * 1000),
            "idle_session_timeout": str(config.idle_session_timeout_seconds * 1000),
            "rds.force_ssl": "1",
        },
    )


def _pi_retention(days: int) -> rds.PerformanceInsightRetention:
    if days == 7:
        return rds.PerformanceInsightRetention.DEFAULT
    if days == 731:
        return rds.PerformanceInsightRetention.LONG_TERM
    months: rds.PerformanceInsightRetention = getattr(rds.PerformanceInsightRetention, f"MONTHS_{days // 31}")
    return months


class Database(Construct):
    """The trading database.

    Attributes: ``instance``, ``proxy``, ``admin_secret`` (attached master credentials),
    ``migrator_secret`` (the migration role's credentials), ``mlflow_secret`` (the MLflow
    tracking server's), ``roles`` (the bootstrap),
    ``client_security_group`` (attach it to whatever may open a connection: services,
    migrations, rotation), ``log_groups``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context: UnitContext,
        network: Network,
        config: DatabaseConfig,
        backup: BackupConfig,
        rotation: RotationConfig,
        deletion_protection: bool,
        replica: Replica | None,
    ) -> None:
        super().__init__(scope, construct_id)
        names = context.names
        name = names.db_instance
        key = self.key = context.key
        removal_policy = context.removal_policy
        vpc, vpc_cidr = network.vpc, network.vpc_cidr
        private = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)

        groups = DatabaseSecurityGroups(self, name=name, vpc=vpc, vpc_cidr=vpc_cidr)
        self.client_security_group = groups.client
        self.proxy_security_group = groups.proxy
        self.database_security_group = groups.database

        # Our own log groups, so exports are encrypted and expire (RDS would create
        # them unencrypted and kept forever).
        self.log_groups = export_log_groups(self, context=context)

        engine = ENGINE
        parameters = parameter_group(self, name=name, config=config)

        replicas = [sm.ReplicaRegion(region=replica.region, encryption_key=replica.key)] if replica else None
        admin = rds.DatabaseSecret(
            self,
            "AdminSecret",
            username=DB_ADMIN_USER,
            secret_name=names.secret("database-admin"),
            encryption_key=key,
            replica_regions=replicas,
        )
        admin.apply_removal_policy(removal_policy)

        self.instance = rds.DatabaseInstance(
            self,
            "Instance",
            instance_identifier=names.db_instance,
            engine=engine,
            instance_type=ec2.InstanceType(config.instance_class),
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[self.database_security_group],
            port=PORT,
            credentials=rds.Credentials.from_secret(admin),
            parameter_group=parameters,
            multi_az=config.multi_az,
            allocated_storage=config.allocated_storage_gib,
            max_allocated_storage=config.max_allocated_storage_gib,
            storage_type=rds.StorageType.GP3,
            storage_encrypted=True,
            storage_encryption_key=key,
            backup_retention=cdk.Duration.days(backup.retention_days),
            preferred_backup_window=backup.window,
            preferred_maintenance_window=config.maintenance_window,
            copy_tags_to_snapshot=True,
            delete_automated_backups=False,
            deletion_protection=deletion_protection,
            # A final snapshot wherever the database is protected (staging, production);
            # dev's sandbox database goes with its stack.
            removal_policy=cdk.RemovalPolicy.SNAPSHOT if deletion_protection else cdk.RemovalPolicy.DESTROY,
            enable_performance_insights=True,
            performance_insight_encryption_key=key,
            performance_insight_retention=_pi_retention(config.performance_insights_retention_days),
            monitoring_interval=cdk.Duration.seconds(config.monitoring_interval_seconds),
            cloudwatch_logs_exports=list(LOG_EXPORTS),
            iam_authentication=True,
            auto_minor_version_upgrade=True,
            publicly_accessible=False,
            ca_certificate=rds.CaCertificate.RDS_CA_RSA2048_G1,
        )
        for group in self.log_groups:
            self.instance.node.add_dependency(group)
        if replica is not None:
            # Native cross-region automated backups: point-in-time restore in the DR region.
            cfn = self.instance.node.default_child
            assert isinstance(cfn, rds.CfnDBInstance)
            cfn.automatic_backup_replication_region = replica.region
            cfn.automatic_backup_replication_kms_key_id = replica.key.key_arn
        assert self.instance.secret is not None
        self.admin_secret = self.instance.secret
        self.admin_secret.add_rotation_schedule(
            "Rotation",
            hosted_rotation=sm.HostedRotation.postgre_sql_single_user(
                function_name=names.db_rotation_function("admin"),
                vpc=vpc,
                vpc_subnets=private,
                security_groups=[self.client_security_group],
            ),
            automatically_after=cdk.Duration.days(rotation.admin_days),
            # A change to the schedule (a new function name, a new period) must not rotate the
            # master password in the middle of a deploy: the next rotation comes on schedule.
            rotate_immediately_on_update=False,
        )

        def user_secret(construct_id: str, user: str, dbname: str, purpose: str) -> sm.ISecret:
            """A password user's secret, attached to the instance (host and port in it)."""
            secret = rds.DatabaseSecret(
                self,
                construct_id,
                username=user,
                dbname=dbname,
                secret_name=names.secret(purpose),
                encryption_key=key,
                replica_regions=replicas,
            )
            secret.apply_removal_policy(removal_policy)
            return secret.attach(self.instance)

        # The construct id predates the migrator (it keeps the secret's logical id).
        self.migrator_secret = user_secret("AppSecret", DB_MIGRATOR_USER, DATABASE, "database")
        self.mlflow_secret = user_secret("MlflowSecret", DB_MLFLOW_USER, MLFLOW_DATABASE, "database-mlflow")

        self.roles = DatabaseRoles(
            self,
            "Roles",
            context=context,
            instance=self.instance,
            database_security_group=self.database_security_group,
            admin_secret=self.admin_secret,
            migrator_secret=self.migrator_secret,
            mlflow_secret=self.mlflow_secret,
            port=PORT,
        )
        # Single-user for both. The migrator owns the schema, so one role must stay its owner
        # (an alternating clone would own half of it); migrations are one-off tasks that read
        # the secret when they start. MLflow's role owns its database likewise.
        for user, secret in (("migrator", self.migrator_secret), ("mlflow", self.mlflow_secret)):
            schedule = secret.add_rotation_schedule(
                "Rotation",
                hosted_rotation=sm.HostedRotation.postgre_sql_single_user(
                    function_name=names.db_rotation_function(user),
                    vpc=vpc,
                    vpc_subnets=private,
                    security_groups=[self.client_security_group],
                ),
                automatically_after=cdk.Duration.days(rotation.application_days),
                rotate_immediately_on_update=False,
            )
            # The role must exist with the secret's password before anything rotates it.
            schedule.node.add_dependency(self.roles.resource)

        # End-to-end IAM: clients authenticate to the proxy with IAM tokens, and the proxy to
        # the instance with IAM too, as the same user; no credentials are stored for it.
        self.proxy = rds.DatabaseProxy(
            self,
            "Proxy",
            db_proxy_name=names.db_proxy,
            proxy_target=rds.ProxyTarget.from_instance(self.instance),
            vpc=vpc,
            vpc_subnets=private,
            security_groups=[self.proxy_security_group],
            default_auth_scheme=rds.DefaultAuthScheme.IAM_AUTH,
            require_tls=True,
            max_connections_percent=config.proxy_max_connections_percent,
            max_idle_connections_percent=config.proxy_max_idle_connections_percent,
            borrow_timeout=PROXY_BORROW_TIMEOUT,
            idle_client_timeout=PROXY_IDLE_CLIENT_TIMEOUT,
        )
        proxy_role = self.proxy.node.find_child("IAMRole")
        assert isinstance(proxy_role, iam.Role)
        self.instance.grant_connect(proxy_role, DB_APP_USER)
        # CloudFormation waits for the target group to become available, which the proxy can
        # only be once the `app` role exists and the proxy may connect as it.
        target_group = self.proxy.node.find_child("ProxyTargetGroup")
        target_group.node.add_dependency(self.roles.resource)
        target_group.node.add_dependency(proxy_role.node.find_child("DefaultPolicy"))
        self._acknowledge(multi_az=config.multi_az, deletion_protection=deletion_protection)

    def grant_connect(self, grantee: iam.IGrantable) -> None:
        """`rds-db:connect` to the proxy as `app`, the one user the proxy and the database know."""
        self.proxy.grant_connect(grantee, DB_APP_USER)

    def _acknowledge(self, *, multi_az: bool, deletion_protection: bool) -> None:
        cfn = self.instance.node.default_child
        assert cfn is not None
        acknowledge(
            self.instance.node.find_child("MonitoringRole"),
            "AmazonRDSEnhancedMonitoringRole is the AWS-maintained policy for enhanced monitoring; "
            "it only lets RDS write OS metrics to the RDSOSMetrics log group.",
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]",
        )
        acknowledge(
            self.proxy.node.find_child("IAMRole"),
            "The proxy role's policy is one rds-db:connect to this instance as the application "
            "user, nothing else; an inline policy keeps it bound to this role's lifecycle.",
            "NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy",
        )
        for rule in self.database_security_group.node.children:
            if "IndirectPort" in rule.node.id:
                # The instance's endpoint port is a deploy-time token (it is 5432); the source
                # is a security group, never a CIDR, so the common-port checks cannot apply.
                acknowledge(
                    rule,
                    "Ingress from the proxy security group on the instance's endpoint port (5432), "
                    "which is a deploy-time token the check cannot read; no CIDR is involved.",
                    "NIST.800.53.R5::NIST.800.53.R5-EC2RestrictedCommonPorts",
                    "NIST.800.53.R5::NIST.800.53.R5-EC2RestrictedSSH",
                )
        acknowledge(
            cfn,
            "Port 5432 is reachable only from the proxy and database-client security groups in "
            "isolated subnets; a non-default port adds no protection there and breaks tooling defaults.",
            "AwsSolutions::AwsSolutions-RDS11",
        )
        if not multi_az:
            acknowledge(
                cfn,
                "Single-AZ by configuration (database.multi_az) in non-production environments "
                "to save cost; production must be Multi-AZ (validated: config.model._check_production).",
                "AwsSolutions::AwsSolutions-RDS3",
                "NIST.800.53.R5::NIST.800.53.R5-RDSMultiAZSupport",
            )
        if not deletion_protection:
            acknowledge(
                cfn,
                "Deletion protection is off by configuration in dev so the sandbox can be torn down; "
                "staging and production must keep it on (validated: config.model._validate).",
                "AwsSolutions::AwsSolutions-RDS10",
                "NIST.800.53.R5::NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled",
            )
