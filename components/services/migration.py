"""The one-off database migration task (runbook: Database Migration Procedures).

Bot image, migration command from config, run by `make db-migrate ENV=...` with RunTask in the
private subnets. Migrations create roles and schema, so they connect straight to the instance
as its admin user (RDS Proxy holds only the application's credentials).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct

from components.services.service import task_definition, task_security_group
from config.model import ServiceSize
from config.names import MIGRATION_STREAM_PREFIX
from config.services import ServiceSpec


class MigrationTask(Construct):
    """Attributes: ``task_definition``, ``security_group``, ``container_name``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        family: str,
        spec: ServiceSpec,
        size: ServiceSize,
        vpc: ec2.IVpc,
        repository: ecr.IRepository,
        image_tag: str,
        command: Sequence[str],
        log_group: logs.ILogGroup,
        environment: Mapping[str, str],
        secrets: Mapping[str, ecs.Secret],
    ) -> None:
        super().__init__(scope, construct_id)
        self.container_name = spec.name
        self.task_definition = task_definition(
            self,
            "Task",
            family=family,
            spec=spec,
            size=size,
            image=ecs.ContainerImage.from_ecr_repository(repository, image_tag),
            log_group=log_group,
            stream_prefix=MIGRATION_STREAM_PREFIX,
            environment=environment,
            secrets=secrets,
            command=command,
            health_check=False,  # it runs to completion; its exit code is the verdict
        )
        self.security_group = task_security_group(self, vpc=vpc, description=f"{family} one-off tasks")
