from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from constructs import Construct

from components.alerting.halt import halt_parameter
from components.data import Database
from components.data.buckets import DataBuckets
from components.data.standby import StandbyDatabase
from components.edge import (
    EndpointHealthCheck,
    Failover,
    FailoverRecords,
    ServiceLoadBalancer,
    WebFirewall,
    domain_certificate,
    load_balancer_logs_bucket,
)
from components.naming import pascal
from components.network import Network
from components.security.secrets import ApplicationSecrets
from components.services import ApplicationService, MigrationTask, ServicesCluster
from components.services.mlflow import TrackingServer
from components.services.training import ScheduledTraining
from components.services.wiring import SecretReferences, ServiceInputs, add_service
from config.model import SERVICES, EnvironmentConfig
from config.names import MLFLOW
from config.services import SPECS, Exposure, behind
from stacks.base import CleverBetterStack


class ServicesStack(CleverBetterStack):
    """Stateless: the cluster, the three services, their load balancers, WAF and the
    blue/green machinery, the migration task, scheduled training and the MLflow tracking server.

    Its log groups and their key are kept in production even though the stack is not
    termination-protected: logs outlive any one version of the services.

    With `dr`, production's pilot light in the DR region (`clever-better-prod-dr-services`):
    the same names, images from the replicated repositories, the secrets' replicas, the
    standby's proxy, every service at zero tasks until `make dr-failover`; no migration task
    (the restored database has its schema). With a hosted zone, each region's stack owns its
    failover record for the API name (components/edge/dns.py).
    """

    UNIT = "services"
    STATEFUL = False
    SUMMARY = (
        "ECS cluster, bot, ml-service, data-ingestion, load balancers, WAF, blue/green deployment, "
        "scheduled training, the MLflow tracking server, "
        "the API's Route 53 health check (and, with a hosted zone, its PRIMARY failover record)"
    )
    DR_SUMMARY = (
        "ECS cluster, bot, ml-service, data-ingestion, load balancers, WAF, blue/green deployment "
        "(with a hosted zone, the API's SECONDARY failover record and its health checks)"
    )

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        network: Network,
        database: Database | StandbyDatabase,
        buckets: DataBuckets,
        secrets: ApplicationSecrets | None,
        images: Construct,
        dr: bool = False,
    ) -> None:
        super().__init__(scope, construct_id, config=config, dr=dr)
        names, deployment = config.names, config.deployment
        # The DR region runs the three services only (the class's docstring).
        services = SERVICES if dr else (*SERVICES, MLFLOW)
        key = self.unit_key(
            "LogsKey",
            alias=names.key_alias("service-logs"),
            description=f"Encrypts {names.prefix}'s "
            + (
                "service, deployment-hook and WAF logs"
                if dr
                else "service, MLflow, deployment-hook, training and WAF logs and the training "
                "dead-letter queue"
            ),
            log_group_names=[
                *(names.service_log_group(service) for service in services),
                names.lambda_log_group(names.deployment_hook_function("*")),
                *([] if dr else [names.lambda_log_group(names.training_function)]),
                names.waf_log_group,
            ],
        )
        context = self.unit_context(key)
        self.cluster = ServicesCluster(self, "Services", context=context, vpc=network.vpc, services=services)
        logs_bucket = load_balancer_logs_bucket(self, context=context)
        operators = [ec2.Peer.ipv4(cidr) for cidr in deployment.operator_cidrs]

        public, internal = behind(Exposure.PUBLIC), behind(Exposure.INTERNAL)

        # Public edge: api.clever-better.com -> WAF -> ALB -> bot.
        certificate = domain_certificate(
            self, domain_name=config.domain_name, hosted_zone_id=deployment.hosted_zone_id
        )
        self.public = ServiceLoadBalancer(
            self,
            "Public",
            name=names.public_load_balancer,
            vpc=network.vpc,
            target_port=public.listen_port,
            test_port=deployment.test_listener_port,
            # The hook calls the public name from private subnets, so it arrives from our NAT IPs.
            test_sources=[
                *(ec2.Peer.ipv4(cdk.Fn.join("", [ip, "/32"])) for ip in network.nat_public_ips),
                *operators,
            ],
            logs_bucket=logs_bucket,
            deletion_protection=config.deletion_protection,
            certificate=certificate,
        )
        # The primary's check always exists (the P0 primary-unreachable reads it); the DR
        # region's only answers its failover record.
        self.health: EndpointHealthCheck | None = None
        if not dr or deployment.hosted_zone_id:
            self.health = EndpointHealthCheck(
                self,
                "PublicHealth",
                name=names.api_health_check(dr=dr),
                load_balancer=self.public.load_balancer,
                check=deployment.smoke_checks[0],
            )
        if deployment.hosted_zone_id and self.health is not None:
            self.failover = FailoverRecords(
                self,
                "ApiName",
                role=Failover.SECONDARY if dr else Failover.PRIMARY,
                domain_name=config.domain_name,
                hosted_zone_id=deployment.hosted_zone_id,
                load_balancer=self.public.load_balancer,
                endpoint=self.health,
                switch_name=names.api_failover_switch(dr=dr),
            )
        self.firewall = WebFirewall(
            self,
            "Firewall",
            context=context,
            load_balancer=self.public.load_balancer,
            requests_per_5_minutes=deployment.waf_requests_per_5_minutes,
        )
        # Internal edge: the bot -> ml-service.
        self.internal = ServiceLoadBalancer(
            self,
            "Internal",
            name=names.internal_load_balancer,
            vpc=network.vpc,
            target_port=internal.listen_port,
            test_port=deployment.test_listener_port,
            test_sources=operators,
            logs_bucket=logs_bucket,
            deletion_protection=config.deletion_protection,
        )

        # Repositories by their names, known at synth: image URIs and pull grants are plain
        # strings, with no cross-stack value to resolve; the registry stack still deploys first.
        self.add_stack_dependency(cdk.Stack.of(images))
        repositories: dict[str, ecr.IRepository] = {
            service: ecr.Repository.from_repository_name(
                self, pascal(service) + "Repository", names.repository(service)
            )
            for service in services
        }
        inputs = ServiceInputs(
            context=context,
            config=config,
            network=network,
            cluster=self.cluster,
            repositories=repositories,
            database=database,
            buckets=buckets,
            secrets=(
                SecretReferences.of(self, secrets=secrets)
                if secrets is not None
                else SecretReferences.replicas(self, config=config, key=database.key)
            ),
            endpoints={public.name: self.public, internal.name: self.internal},
            standby=dr,
        )
        self.services: dict[str, ApplicationService] = {}
        for spec in reversed(tuple(SPECS.values())):  # ml-service before the bot, which calls it
            self.services[spec.name] = add_service(self, spec=spec, inputs=inputs)
        self.services[internal.name].scale_on_requests(
            requests=self.internal.load_balancer.metrics.request_count(
                period=cdk.Duration.minutes(1), statistic="Sum"
            ),
            per_task_per_minute=deployment.ml_requests_per_task_per_minute,
        )
        if dr:
            # The bot reads it by name in its own region; the primary's is the alerting stack's
            # (the DR alerting stack's halt writes this one, by name).
            halt_parameter(self, "TradingHaltParameter", names=names)
        self.migration = (
            MigrationTask(self, "Migration", inputs=inputs, database=database)
            if isinstance(database, Database)
            else None
        )
        # Training and MLflow run where the data is written: the DR region's services wait at
        # zero tasks.
        self.training: ScheduledTraining | None = None
        self.mlflow: TrackingServer | None = None
        if isinstance(database, Database):
            ml = self.services[internal.name]
            self.mlflow = TrackingServer(
                self,
                "Mlflow",
                environment=config.name,
                family=names.task_family(MLFLOW),
                cluster=self.cluster.cluster,
                log_group=self.cluster.log_groups[MLFLOW],
                repository=repositories[MLFLOW],
                image_tag=deployment.image_tag,
                size=config.mlflow,
                endpoint=self.internal,
                database=database,
                buckets=buckets,
            )
            # The ml-service and its training runs (same task definition and security group).
            self.mlflow.allow_client(ml.security_group)
            container = ml.task_definition.default_container
            assert container is not None
            container.add_environment("MLFLOW_TRACKING_URI", self.mlflow.url)
            self.training = ScheduledTraining(
                self,
                "Training",
                context=context,
                network=network,
                service=ml.service,
                task_definition=ml.task_definition,
                container=internal.name,
                command=deployment.training_command,
                timeout_minutes=deployment.training_timeout_minutes,
                schedule=config.schedules.training,
                size=(
                    (deployment.training_cpu, deployment.training_memory_mib)
                    if deployment.training_cpu and deployment.training_memory_mib
                    else None
                ),
            )
        self._outputs(config)

    def _outputs(self, config: EnvironmentConfig) -> None:
        outputs: list[tuple[str, str, str]] = [
            ("ClusterName", self.cluster.cluster.cluster_name, "ECS cluster"),
            ("Endpoint", f"https://{config.domain_name}", "Public endpoint (runbook: curl .../health)"),
            (
                "LoadBalancerDnsName",
                self.public.load_balancer.load_balancer_dns_name,
                "Point the domain here",
            ),
            ("ProductionListenerArn", self.public.listener.listener_arn, "maintenance-on/off"),
            ("BotTestUrl", self.public.test_url, "Green bot tasks during a deployment"),
            ("MlServiceTestUrl", self.internal.test_url, "Green ml-service tasks (inside the VPC)"),
        ]
        if self.mlflow is not None:
            outputs.append(
                ("MlflowUrl", self.mlflow.url, "MLflow tracking server (inside the VPC; make mlflow-ui)")
            )
        migration = self.migration
        if migration is not None:
            outputs += [
                ("MigrationTaskFamily", migration.task_definition.family, "make db-migrate"),
                # The revision this deploy registered: a family alone means its newest ACTIVE
                # revision, which need not be the deployed one now that replaced revisions stay ACTIVE.
                ("MigrationTaskDefinition", migration.task_definition.task_definition_arn, "make db-migrate"),
                ("MigrationContainer", migration.container_name, "make db-migrate"),
                ("MigrationSecurityGroups", migration.security_group.security_group_id, "make db-migrate"),
            ]
        for output_id, value, description in outputs:
            cdk.CfnOutput(self, output_id, value=value, description=description)
        for service, group in self.cluster.log_groups.items():
            cdk.CfnOutput(
                self, pascal(service) + "LogGroup", value=group.log_group_name, description=f"{service} logs"
            )
