"""The one-off database migration task (runbook: Database Migration Procedures).

Bot image, migration command from config, run by `make db-migrate ENV=...` with RunTask in the
private subnets. Migrations change the schema, so they connect straight to the instance as its
owner `app_migrator`, with the password in `clever-better/{token}/database` (the proxy admits
only IAM users). Roles and grants are not theirs to make: the deploy's bootstrap made them.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_secretsmanager as sm
from constructs import Construct

from components.data import PORT, Database
from components.services.service import acknowledge_task_definition, task_definition, task_security_group
from components.services.wiring import ServiceInputs, grant_secret_keys
from config.names import DATABASE, MIGRATION_SERVICE, MIGRATION_STREAM_PREFIX
from config.services import SPECS


class MigrationTask(Construct):
    """Attributes: ``task_definition``, ``security_group``, ``container_name``."""

    def __init__(
        self, scope: Construct, construct_id: str, *, inputs: ServiceInputs, database: Database
    ) -> None:
        super().__init__(scope, construct_id)
        spec, config = SPECS[MIGRATION_SERVICE], inputs.config
        family = inputs.context.names.migration_family
        # By ARN, as the services' secrets are (wiring.SecretReferences).
        migrator = sm.Secret.from_secret_complete_arn(
            self, "MigratorSecret", database.migrator_secret.secret_arn
        )
        self.container_name = spec.name
        self.task_definition = task_definition(
            self,
            "Task",
            family=family,
            container_name=spec.name,
            port=None,  # it serves nothing
            health_command=None,  # it runs to completion; its exit code is the verdict
            size=config.services[MIGRATION_SERVICE],
            image=ecs.ContainerImage.from_ecr_repository(
                inputs.repositories[MIGRATION_SERVICE], config.deployment.image_tag
            ),
            log_group=inputs.cluster.log_groups[MIGRATION_SERVICE],
            stream_prefix=MIGRATION_STREAM_PREFIX,
            environment={
                "ENVIRONMENT": config.name,
                "DB_HOST": database.instance.db_instance_endpoint_address,
                "DB_PORT": str(PORT),
                "DB_NAME": DATABASE,
            },
            secrets={
                "CONFIG": inputs.secrets.config,
                "DB_USERNAME": ecs.Secret.from_secrets_manager(migrator, "username"),
                "DB_PASSWORD": ecs.Secret.from_secrets_manager(migrator, "password"),
            },
            command=config.deployment.migration_command,
        )
        self.security_group = task_security_group(
            self, vpc=inputs.network.vpc, description=f"{family} one-off tasks"
        )
        grant_secret_keys(self.task_definition, [inputs.secrets.key, database.key])
        self.security_group.connections.allow_to(
            database.database_security_group, ec2.Port.tcp(PORT), "Migrations to the database"
        )
        acknowledge_task_definition(self.task_definition)
