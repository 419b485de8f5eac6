"""The ECS cluster and the services' log groups (runbook: /ecs/clever-better-{token}/{service})."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from components.naming import pascal
from components.retention import retention
from config.model import SERVICES


class ServicesCluster(Construct):
    """Attributes: ``cluster``, ``log_groups`` (service name -> log group)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        vpc: ec2.IVpc,
        key: kms.IKey,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=name,  # runbook: aws ecs ... --cluster clever-better-prod
            vpc=vpc,
            container_insights_v2=ecs.ContainerInsights.ENHANCED,
        )
        # Created here, not by the tasks, so they are encrypted, expire, and exist for the
        # runbook's `aws logs filter-log-events` before the first task starts.
        self.log_groups = {
            service: logs.LogGroup(
                self,
                pascal(service) + "Logs",
                log_group_name=f"/ecs/{name}/{service}",
                encryption_key=key,
                retention=retention(log_retention_days),
                removal_policy=removal_policy,
            )
            for service in SERVICES
        }
