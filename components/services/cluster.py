"""The ECS cluster and its services' log groups (runbook: /ecs/clever-better-{token}/{service})."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from components.context import UnitContext
from components.naming import pascal


class ServicesCluster(Construct):
    """Attributes: ``cluster``, ``log_groups`` (service name -> log group)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context: UnitContext,
        vpc: ec2.IVpc,
        services: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=context.names.cluster,  # runbook: aws ecs ... --cluster clever-better-prod
            vpc=vpc,
            container_insights_v2=ecs.ContainerInsights.ENHANCED,
        )
        # Created here, not by the tasks, so they are encrypted, expire, and exist for the
        # runbook's `aws logs filter-log-events` before the first task starts.
        self.log_groups = {
            service: context.log_group(
                self, pascal(service) + "Logs", name=context.names.service_log_group(service)
            )
            for service in services
        }
