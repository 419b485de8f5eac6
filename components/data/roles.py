"""The database's roles and grants, made by the deploy: `Custom::DatabaseBootstrap`.

A Lambda-backed custom resource in the data stack (lambdas/db_bootstrap/), not an ECS task
or a migration: it runs inside `cdk deploy`, after the instance and its secrets exist and
before the services stack (which waits for the data stack) starts tasks that log in as
`app` or `mlflow`, and a failure fails the deploy. It connects to the instance as the admin, creates what
is missing and changes nothing that is there (lambdas/db_bootstrap/bootstrap.py).
"""

from __future__ import annotations

import hashlib

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as sm
from constructs import Construct

from components.context import UnitContext
from components.functions import LAMBDAS, python_function, secret_read_statements
from components.nag import acknowledge
from components.network import closed_security_group
from config.names import DATABASE, DB_APP_USER, DB_MIGRATOR_USER, DB_MLFLOW_USER, MLFLOW_DATABASE

CODE = "db_bootstrap"
RESOURCE_TYPE = "Custom::DatabaseBootstrap"
IAM_ROLE = "rds_iam"  # RDS's role for IAM database authentication


def code_hash() -> str:
    """Of the bootstrap's sources: a code change re-runs the bootstrap on the next deploy."""
    digest = hashlib.sha256()
    for path in sorted((LAMBDAS / CODE).glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def admin_security_group(
    scope: Construct,
    *,
    vpc: ec2.IVpc,
    function_name: str,
    database_security_group: ec2.ISecurityGroup,
    port: int,
    to_database: str,
    https: str,
) -> ec2.SecurityGroup:
    """`SecurityGroup` in `scope`: a function that logs in to the instance as the admin gets out
    only to the database's port and to HTTPS (Secrets Manager for the admin's secret)."""
    group = closed_security_group(
        scope, "SecurityGroup", vpc=vpc, description=f"{function_name}: PostgreSQL to the instance, HTTPS out"
    )
    group.connections.allow_to(database_security_group, ec2.Port.tcp(port), to_database)
    group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), https)
    return group


class DatabaseRoles(Construct):
    """Attributes: ``function``, ``security_group``, ``resource`` (the custom resource)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context: UnitContext,
        instance: rds.DatabaseInstance,
        database_security_group: ec2.ISecurityGroup,
        admin_secret: sm.ISecret,
        migrator_secret: sm.ISecret,
        mlflow_secret: sm.ISecret,
        port: int,
    ) -> None:
        super().__init__(scope, construct_id)
        names = context.names
        vpc = instance.vpc
        self.security_group = admin_security_group(
            self,
            vpc=vpc,
            function_name=names.db_bootstrap_function,
            database_security_group=database_security_group,
            port=port,
            to_database="Database bootstrap to the database",
            https="HTTPS: Secrets Manager (endpoint) and CloudFormation's response URL (S3, NAT)",
        )
        self.function = python_function(
            self,
            "Function",
            context=context,
            function_name=names.db_bootstrap_function,
            description=(
                f"Creates {DATABASE}'s and {MLFLOW_DATABASE}'s roles and grants (Custom::DatabaseBootstrap)"
            ),
            code=CODE,
            statements=secret_read_statements(
                [admin_secret.secret_arn, migrator_secret.secret_arn, mlflow_secret.secret_arn],
                key_arn=context.key.key_arn,
                region=cdk.Stack.of(self).region,
            ),
            environment={},
            vpc=vpc,
            security_group=self.security_group,
            timeout=cdk.Duration.minutes(2),
            # One invocation per deploy: no reservation, which new accounts would refuse.
            reserved_concurrency=None,
        )
        self.resource = cdk.CustomResource(
            self,
            "Bootstrap",
            service_token=self.function.function_arn,
            resource_type=RESOURCE_TYPE,
            # If the function never answers (no route to the instance), fail the deploy soon.
            service_timeout=cdk.Duration.minutes(5),
            properties={
                "InstanceIdentifier": instance.instance_identifier,
                "Host": instance.db_instance_endpoint_address,
                "Port": instance.db_instance_endpoint_port,
                "AdminSecretArn": admin_secret.secret_arn,
                "MigratorSecretArn": migrator_secret.secret_arn,
                "Database": DATABASE,
                "AppUser": DB_APP_USER,
                "MigratorUser": DB_MIGRATOR_USER,
                "MlflowSecretArn": mlflow_secret.secret_arn,
                "MlflowDatabase": MLFLOW_DATABASE,
                "MlflowUser": DB_MLFLOW_USER,
                "IamRole": IAM_ROLE,
                "CodeHash": code_hash(),
            },
        )
        acknowledge(
            self.function.node.default_child or self.function,
            "Only CloudFormation invokes it, during a deploy, and every failure fails that deploy "
            "(the handler answers FAILED, or the five-minute service time-out expires): a "
            "dead-letter queue would hold nothing an operator does not already see.",
            "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",
        )
        # The rules must exist before the function tries the connection.
        self.resource.node.add_dependency(self.security_group, database_security_group)
