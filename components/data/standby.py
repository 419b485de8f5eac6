"""The DR region's standby for the database: what a failover restores the database into.

Nothing here runs until `make dr-failover` restores production's data into it: the restore
needs a DB subnet group (without one RDS looks for a default VPC, which our accounts need not
have), the database's security groups and its parameter group, and the log groups its exports
write to (ours, encrypted and expiring, as in the primary). The DR services connect through an
RDS Proxy of the same name as the primary's, made here without a target (RDS Proxy is billed
per vCPU of its targets, so it costs nothing until the failover registers the restored instance).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_rds as rds
from constructs import Construct

from components.context import UnitContext
from components.data.database import (
    PORT,
    PROXY_IDLE_CLIENT_TIMEOUT,
    DatabaseSecurityGroups,
    export_log_groups,
    parameter_group,
    proxy_pool,
)
from components.nag import acknowledge
from components.network import Network
from config.model import DatabaseConfig
from config.names import DB_APP_USER


class StandbyDatabase(Construct):
    """Attributes: ``subnet_group``, ``security_groups``, ``parameters``, ``log_groups``,
    ``proxy`` and ``proxy_security_group`` (what the DR services connect to), ``key``,
    ``monitoring_role`` (enhanced monitoring of the restored instance)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context: UnitContext,
        network: Network,
        config: DatabaseConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        name = context.names.db_instance
        self.security_groups = DatabaseSecurityGroups(
            self, name=name, vpc=network.vpc, vpc_cidr=network.vpc_cidr
        )
        self.subnet_group = rds.SubnetGroup(
            self,
            "SubnetGroup",
            description=f"{name} restored in this region by make dr-failover (isolated subnets)",
            vpc=network.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            removal_policy=context.removal_policy,
        )
        self.parameters = parameter_group(self, name=name, config=config)
        self.log_groups = export_log_groups(self, context=context)
        self.key = context.key
        self.proxy_security_group = self.security_groups.proxy
        # The primary's proxy gets these from its L2 binding to the instance; this one has no
        # instance to bind to, so the rules are written out: the proxy reaches the database.
        groups = self.security_groups
        postgres = ec2.Port.tcp(PORT)
        groups.database.add_ingress_rule(groups.proxy, postgres, "PostgreSQL from the RDS Proxy")
        groups.proxy.add_egress_rule(groups.database, postgres, "PostgreSQL to the restored database")
        self.proxy = self._proxy(context, network, config)
        # The primary's enhanced monitoring, which make dr-failover turns on with the restored
        # instance (as the L2 instance makes it for the primary).
        self.monitoring_role = iam.Role(
            self,
            "MonitoringRole",
            assumed_by=iam.ServicePrincipal("monitoring.rds.amazonaws.com"),
            description=f"Enhanced monitoring of {name} once make dr-failover restores it here",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonRDSEnhancedMonitoringRole")
            ],
        )
        acknowledge(
            self.monitoring_role,
            "AmazonRDSEnhancedMonitoringRole is the AWS-maintained policy for enhanced monitoring; "
            "it only lets RDS write OS metrics to the RDSOSMetrics log group.",
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]",
        )

    def grant_connect(self, grantee: iam.IGrantable) -> None:
        """`rds-db:connect` to the proxy as `app`, as in the primary (Database.grant_connect)."""
        self.proxy.grant_connect(grantee, DB_APP_USER)

    def _proxy(self, context: UnitContext, network: Network, config: DatabaseConfig) -> rds.IDatabaseProxy:
        """The primary's proxy settings (end-to-end IAM as `app`, TLS, the same pool) on an
        empty default target group: `make dr-failover` registers the restored instance."""
        stack = cdk.Stack.of(self)
        role = iam.Role(
            self,
            "ProxyRole",
            assumed_by=iam.ServicePrincipal("rds.amazonaws.com"),
            description=f"RDS Proxy {context.names.db_proxy} in {stack.region}: connects as {DB_APP_USER}",
        )
        # The restored instance's resource id (db-...) exists only after the failover, so the
        # proxy may connect as `app` to any instance of this account in this region.
        any_instance = stack.format_arn(
            service="rds-db",
            resource="dbuser",
            resource_name=f"*/{DB_APP_USER}",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        statement = iam.PolicyStatement(actions=["rds-db:connect"], resources=[any_instance])
        policy = iam.Policy(self, "ProxyPolicy", statements=[statement], roles=[role])
        private = network.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        proxy = rds.CfnDBProxy(
            self,
            "Proxy",
            db_proxy_name=context.names.db_proxy,
            engine_family="POSTGRESQL",
            default_auth_scheme="IAM_AUTH",
            require_tls=True,
            idle_client_timeout=int(PROXY_IDLE_CLIENT_TIMEOUT.to_seconds()),
            role_arn=role.role_arn,
            vpc_subnet_ids=private.subnet_ids,
            vpc_security_group_ids=[self.security_groups.proxy.security_group_id],
        )
        targets = rds.CfnDBProxyTargetGroup(
            self,
            "ProxyTargetGroup",
            db_proxy_name=proxy.ref,
            target_group_name="default",
            connection_pool_configuration_info=proxy_pool(config),
        )
        policy_resource = policy.node.default_child
        assert isinstance(policy_resource, cdk.CfnResource)
        # CloudFormation waits for the target group, which the proxy can serve only with its policy.
        targets.add_dependency(policy_resource)
        acknowledge(
            policy,
            "The restored instance's resource id (db-...) is unknown until make dr-failover "
            "creates it, so the proxy may connect as the application user to any instance of "
            "this account in this region; the user name is fixed and the action is connect only.",
            f"AwsSolutions::AwsSolutions-IAM5[Resource::{stack.resolve(any_instance)}]",
        )
        acknowledge(
            policy,
            "The proxy role's policy is one rds-db:connect as the application user, nothing else; "
            "an inline policy keeps it bound to this role's lifecycle (as the primary's proxy).",
            "NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy",
        )
        return rds.DatabaseProxy.from_database_proxy_attributes(
            self,
            "ProxyReference",
            db_proxy_name=proxy.ref,
            db_proxy_arn=proxy.attr_db_proxy_arn,
            endpoint=proxy.attr_endpoint,
            security_groups=[self.security_groups.proxy],
        )
