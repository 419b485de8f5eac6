from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as sm
from constructs import Construct

from components.data import Database
from components.data.buckets import DataBuckets, bucket_name
from components.data.database import PORT
from components.edge import ServiceLoadBalancer, WebFirewall, domain_certificate, load_balancer_logs_bucket
from components.edge.certificate import alias_record
from components.edge.firewall import waf_log_group_name
from components.keys import encryption_key
from components.nag import acknowledge
from components.naming import pascal
from components.network import Network
from components.security.secrets import ApplicationSecrets
from components.services import (
    SPECS,
    ApplicationService,
    BlueGreen,
    DeploymentGuard,
    ImageRepositories,
    MigrationTask,
    ServicesCluster,
)
from components.services.service import acknowledge_task_definition
from config.model import SERVICES, EnvironmentConfig
from stacks.base import CleverBetterStack


class ServicesStack(CleverBetterStack):
    """Stateless: the cluster, the three services, their load balancers, WAF and the
    blue/green machinery, and the migration task.

    Its log groups and their key are kept in production even though the stack is not
    termination-protected: logs outlive any one version of the services.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        network: Network,
        database: Database,
        buckets: DataBuckets,
        secrets: ApplicationSecrets,
        images: ImageRepositories,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            unit="services",
            stateful=False,
            description=f"Clever Better {config.name} services: ECS cluster, bot, ml-service, "
            "data-ingestion, load balancers, WAF, blue/green deployment",
        )
        name = config.prefix
        deployment = config.deployment
        keep = self.stateful_removal_policy
        key = encryption_key(
            self,
            "LogsKey",
            alias=f"alias/{name}/service-logs",
            description=f"Encrypts {name}'s service, deployment-hook and WAF logs",
            removal_policy=keep,
            log_group_names=[
                *(config.names.service_log_group(service) for service in SERVICES),
                f"/aws/lambda/{name}-*-deployment-hook",
                waf_log_group_name(name),
            ],
        )
        self.cluster = ServicesCluster(
            self,
            "Services",
            name=name,
            vpc=network.vpc,
            key=key,
            log_retention_days=config.log_retention_days,
            removal_policy=keep,
        )
        cluster = self.cluster.cluster
        logs_bucket = load_balancer_logs_bucket(
            self,
            name=bucket_name(name, "alb-logs", self.account, self.region),
            retention_days=config.log_retention_days,
            removal_policy=keep,
        )
        operators = [ec2.Peer.ipv4(cidr) for cidr in deployment.operator_cidrs]

        # Public edge: api.clever-better.com -> WAF -> ALB -> bot.
        certificate = domain_certificate(
            self, domain_name=config.domain_name, hosted_zone_id=deployment.hosted_zone_id
        )
        self.public = ServiceLoadBalancer(
            self,
            "Public",
            name=name,
            vpc=network.vpc,
            target_port=_port("bot"),
            test_port=deployment.test_listener_port,
            # The hook calls the public name from private subnets, so it arrives from our NAT IPs.
            test_sources=[
                *(ec2.Peer.ipv4(cdk.Fn.join("", [ip, "/32"])) for ip in network.nat_public_ips),
                *operators,
            ],
            logs_bucket=logs_bucket,
            deletion_protection=config.features.deletion_protection,
            certificate=certificate,
        )
        alias_record(
            self,
            domain_name=config.domain_name,
            hosted_zone_id=deployment.hosted_zone_id,
            target=self.public.load_balancer,
        )
        self.firewall = WebFirewall(
            self,
            "Firewall",
            name=name,
            load_balancer=self.public.load_balancer,
            requests_per_5_minutes=deployment.waf_requests_per_5_minutes,
            key=key,
            log_retention_days=config.log_retention_days,
            removal_policy=keep,
        )
        # Internal edge: the bot -> ml-service.
        self.internal = ServiceLoadBalancer(
            self,
            "Internal",
            name=f"{name}-ml",
            vpc=network.vpc,
            target_port=_port("ml-service"),
            test_port=deployment.test_listener_port,
            test_sources=operators,
            logs_bucket=logs_bucket,
            deletion_protection=config.features.deletion_protection,
        )

        # Secrets are referenced by ARN: granting through the originals would add this stack's
        # roles to the stateful stacks' key policies, a dependency cycle. The execution roles
        # get kms:Decrypt on those keys themselves (_grant_secret_keys).
        config_secret = _reference(self, "ConfigSecret", secrets.config_secret)
        app_secret = _reference(self, "AppDatabaseSecret", database.app_secret)
        admin_secret = _reference(self, "AdminDatabaseSecret", database.admin_secret)
        betfair_secret = _reference(self, "BetfairSecret", secrets.betfair_secret)
        secret_keys = [secrets.key, database.key]
        common_secrets = {
            "CONFIG": ecs.Secret.from_secrets_manager(config_secret),
            # IAM auth through the proxy as whichever rotation user is current.
            "DB_USERNAME": ecs.Secret.from_secrets_manager(app_secret, "username"),
        }
        betfair = {
            f"BETFAIR_{field.upper()}": ecs.Secret.from_secrets_manager(betfair_secret, field)
            for field in ("app_key", "username", "password")
        }
        common_env = {
            "ENVIRONMENT": config.name,
            "DB_HOST": database.proxy.endpoint,
            "DB_PORT": str(PORT),
            "DB_IAM_AUTH": "true",
        }
        extra_env = {
            "bot": {"ML_SERVICE_URL": f"http://{self.internal.load_balancer.load_balancer_dns_name}"},
            "ml-service": {"MLFLOW_BUCKET": bucket_name(name, "mlflow", self.account, self.region)},
            "data-ingestion": {},
        }
        endpoints = {"bot": self.public, "ml-service": self.internal}
        hook_egress: dict[str, ec2.IPeer] = {
            "bot": ec2.Peer.any_ipv4(),  # out through NAT to the public load balancer
            "ml-service": self.internal.security_group,
        }
        self.guards: dict[str, DeploymentGuard] = {}
        self.services: dict[str, ApplicationService] = {}
        for service in reversed(SERVICES):  # ml-service before the bot, which calls it
            spec = SPECS[service]
            blue_green = None
            if service in endpoints:
                guard = DeploymentGuard(
                    self,
                    pascal(service) + "Deployment",
                    name=f"{name}-{service}",
                    service=service,
                    endpoint=endpoints[service],
                    hook_egress=hook_egress[service],
                    token=config.token,
                    settings=deployment,
                    approval_gate=config.features.approval_gate,
                    vpc=network.vpc,
                    key=key,
                    log_retention_days=config.log_retention_days,
                    removal_policy=keep,
                )
                self.guards[service] = guard
                blue_green = BlueGreen(
                    endpoint=endpoints[service],
                    guard=guard,
                    bake_time=cdk.Duration.minutes(config.features.bake_time_minutes),
                )
            app = ApplicationService(
                self,
                pascal(service),
                spec=spec,
                family=f"{name}-{service}",
                size=config.services[service],
                cluster=cluster,
                repository=images.repositories[service],
                image_tag=deployment.image_tag,
                log_group=self.cluster.log_groups[service],
                environment={**common_env, "SERVICE": service, **extra_env[service]},
                secrets={**common_secrets, **(betfair if spec.betfair else {})},
                blue_green=blue_green,
            )
            # Rules made from this side live in this stack: the stateful data stack never
            # references a stateless one (that would be a dependency cycle).
            app.security_group.connections.allow_to(
                database.proxy_security_group, ec2.Port.tcp(PORT), f"{service} to the RDS Proxy"
            )
            self._grant(app.task_definition.task_role, config, database, buckets, spec.buckets)
            _grant_secret_keys(app.task_definition, secret_keys)
            acknowledge_task_definition(app.task_definition)
            self.services[service] = app
        self.internal.allow_client(self.services["bot"].security_group)
        self.services["ml-service"].scale_on_requests(
            requests=self.internal.load_balancer.metrics.request_count(
                period=cdk.Duration.minutes(1), statistic="Sum"
            ),
            per_task_per_minute=deployment.ml_requests_per_task_per_minute,
        )

        self.migration = MigrationTask(
            self,
            "Migration",
            family=f"{name}-migrate",
            spec=SPECS["bot"],
            size=config.services["bot"],
            vpc=network.vpc,
            repository=images.repositories["bot"],
            image_tag=deployment.image_tag,
            command=deployment.migration_command,
            log_group=self.cluster.log_groups["bot"],
            environment={
                "ENVIRONMENT": config.name,
                "DB_HOST": database.instance.db_instance_endpoint_address,
                "DB_PORT": str(PORT),
            },
            secrets={
                "CONFIG": common_secrets["CONFIG"],
                "DB_ADMIN_USERNAME": ecs.Secret.from_secrets_manager(admin_secret, "username"),
                "DB_ADMIN_PASSWORD": ecs.Secret.from_secrets_manager(admin_secret, "password"),
            },
        )
        _grant_secret_keys(self.migration.task_definition, secret_keys)
        self.migration.security_group.connections.allow_to(
            database.database_security_group, ec2.Port.tcp(PORT), "Migrations to the database"
        )
        acknowledge_task_definition(self.migration.task_definition)
        self._outputs(config, network)

    def _grant(
        self,
        role: iam.IRole,
        config: EnvironmentConfig,
        database: Database,
        buckets: DataBuckets,
        purposes: tuple[str, ...],
    ) -> None:
        """Exactly what the application calls: the proxy as its user, its own buckets' objects."""
        database.grant_connect(role)
        for purpose in purposes:
            bucket = buckets.buckets[purpose]
            # By its fixed name: readable in review, and no cross-stack reference to resolve.
            name = bucket_name(config.prefix, purpose, self.account, self.region)
            arn = f"arn:{self.partition}:s3:::{name}"
            role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[arn]))
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=["s3:GetObject", "s3:PutObject"], resources=[f"{arn}/*"])
            )
            acknowledge(
                role.node.find_child("DefaultPolicy"),
                f"Object read and write in the {purpose} bucket only: model artefacts have "
                "generated keys, so objects are granted by the bucket's key prefix.",
                f"AwsSolutions::AwsSolutions-IAM5[Resource::{arn}/*]",
            )
            assert bucket.encryption_key is not None
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[bucket.encryption_key.key_arn]
                )
            )

    def _outputs(self, config: EnvironmentConfig, network: Network) -> None:
        private = network.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnet_ids
        migration = self.migration
        for output_id, value, description in (
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
            ("MigrationTaskFamily", migration.task_definition.family, "make db-migrate"),
            ("MigrationContainer", migration.container_name, "make db-migrate"),
            ("MigrationSubnets", cdk.Fn.join(",", private), "make db-migrate"),
            (
                "MigrationSecurityGroups",
                migration.security_group.security_group_id,
                "make db-migrate",
            ),
        ):
            cdk.CfnOutput(self, output_id, value=value, description=description)
        for service, group in self.cluster.log_groups.items():
            cdk.CfnOutput(
                self, pascal(service) + "LogGroup", value=group.log_group_name, description=f"{service} logs"
            )


def _reference(scope: Construct, construct_id: str, secret: sm.ISecret) -> sm.ISecret:
    return sm.Secret.from_secret_complete_arn(scope, construct_id, secret.secret_arn)


def _grant_secret_keys(definition: ecs.TaskDefinition, keys: list[kms.IKey]) -> None:
    """Decrypt, only as Secrets Manager does when ECS reads the container's secrets."""
    role = definition.obtain_execution_role()
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["kms:Decrypt"],
            resources=[key.key_arn for key in keys],
            conditions={
                "StringEquals": {
                    "kms:ViaService": f"secretsmanager.{cdk.Stack.of(definition).region}.amazonaws.com"
                }
            },
        )
    )


def _port(service: str) -> int:
    port = SPECS[service].port
    assert port is not None
    return port
