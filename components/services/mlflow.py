"""The MLflow tracking server (runbook: "ML models stored in MLflow registry"): service `mlflow`.

- Internal only: its own listener (HTTP, port 5000) on the internal load balancer, which only
  the ml-service's tasks (and so its training runs) may reach on that port; `MLFLOW_TRACKING_URI`
  in the ml-service's environment points there. Operators port-forward to a task through ECS
  Exec's agent (`make mlflow-ui`): no route from the internet exists.
- Backend store: its own database `mlflow` on the environment's instance, straight to the
  instance (the proxy admits only IAM users) as the role `mlflow`, whose password
  (`.../database-mlflow`) the data stack's bootstrap set and Secrets Manager rotates. A task
  reads the password when it starts; the container health check asks MLflow something only the
  database can answer, so a task whose login the rotation broke turns unhealthy and ECS
  replaces it with one that reads the new password.
- Artefacts under `models/` in the model-registry bucket (what `make backup-models` copies),
  served through the server (MLflow's proxied artefact access): clients need no S3 rights.
- Rolling updates with the circuit breaker's rollback; `environment.mlflow` sets the size.

The container's root filesystem is writable: ECS Exec's agent writes in it, and AWS does not
support ECS Exec with a read-only root filesystem (ECS Developer Guide, ECS Exec considerations).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as sm
from constructs import Construct

from components.data import PORT, Database
from components.data.buckets import DataBuckets
from components.edge import ServiceLoadBalancer
from components.nag import acknowledge
from components.services.service import acknowledge_task_definition, task_definition, task_security_group
from components.services.wiring import grant_secret_keys
from config.model import ServiceSize
from config.names import MLFLOW, MLFLOW_DATABASE, MLFLOW_PORT, MODEL_PREFIX

# MLflow's liveness (body "OK"): what the load balancer checks.
HEALTH_PATH = "/health"
# A question only the backend store answers: the experiment every MLflow store has.
STORE_CHECK_PATH = "/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default"
START = Path(__file__).with_name("mlflow_start.py").read_text()


def health_command(port: int = MLFLOW_PORT) -> list[str]:
    return [
        "CMD-SHELL",
        f"curl -fsS --max-time 5 'http://127.0.0.1:{port}{STORE_CHECK_PATH}' > /dev/null || exit 1",
    ]


def allowed_hosts(load_balancer_dns: str, vpc_cidr: str, port: int = MLFLOW_PORT) -> str:
    """MLflow 3.5+'s Host-header check (MLFLOW_SERVER_ALLOWED_HOSTS): the internal load
    balancer's name (the ml-service), localhost (the port-forward, the container health check),
    and the VPC's addresses (the load balancer's health checks use the target's IP)."""
    network = ipaddress.ip_network(vpc_cidr)
    octets = str(network.network_address).split(".")[: max(1, network.prefixlen // 8)]
    return ",".join(
        [
            load_balancer_dns,
            f"{load_balancer_dns}:{port}",
            "localhost",
            f"localhost:{port}",
            "127.0.0.1",
            f"127.0.0.1:{port}",
            ".".join(octets) + ".*",
        ]
    )


class TrackingServer(Construct):
    """Attributes: ``service``, ``task_definition``, ``security_group``, ``target_group``,
    ``listener``, ``url`` (what the ml-service sets as MLFLOW_TRACKING_URI)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: str,
        family: str,
        cluster: ecs.ICluster,
        log_group: logs.ILogGroup,
        repository: ecr.IRepository,
        image_tag: str,
        size: ServiceSize,
        endpoint: ServiceLoadBalancer,
        vpc_cidr: str,
        database: Database,
        buckets: DataBuckets,
    ) -> None:
        super().__init__(scope, construct_id)
        load_balancer = endpoint.load_balancer
        self.url = f"http://{load_balancer.load_balancer_dns_name}:{MLFLOW_PORT}"
        # By ARN, as the services' secrets are (wiring.SecretReferences): no cycle through the
        # data stack's key policy.
        secret = sm.Secret.from_secret_complete_arn(self, "DatabaseSecret", database.mlflow_secret.secret_arn)
        self.task_definition = task_definition(
            self,
            "Task",
            family=family,
            container_name=MLFLOW,
            port=MLFLOW_PORT,
            health_command=health_command(),
            size=size,
            image=ecs.ContainerImage.from_ecr_repository(repository, image_tag),
            log_group=log_group,
            stream_prefix=MLFLOW,
            environment={
                "ENVIRONMENT": environment,
                "DB_HOST": database.instance.db_instance_endpoint_address,
                "DB_PORT": str(PORT),
                "DB_NAME": MLFLOW_DATABASE,
                "MLFLOW_HOST": "0.0.0.0",
                "MLFLOW_PORT": str(MLFLOW_PORT),
                "MLFLOW_SERVE_ARTIFACTS": "true",
                "MLFLOW_ARTIFACTS_DESTINATION": f"s3://{buckets.bucket_name('mlflow')}/{MODEL_PREFIX.rstrip('/')}",
                "MLFLOW_SERVER_ALLOWED_HOSTS": allowed_hosts(load_balancer.load_balancer_dns_name, vpc_cidr),
            },
            secrets={
                "DB_USERNAME": ecs.Secret.from_secrets_manager(secret, "username"),
                "DB_PASSWORD": ecs.Secret.from_secrets_manager(secret, "password"),
            },
            command=["python", "-c", START],
            readonly_root=False,
        )
        self.security_group = task_security_group(self, vpc=cluster.vpc, description=f"{family} tasks")
        self.service = ecs.FargateService(
            self,
            "Service",
            service_name=MLFLOW,
            cluster=cluster,
            task_definition=self.task_definition,
            desired_count=size.desired_count,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[self.security_group],
            assign_public_ip=False,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            min_healthy_percent=100,
            max_healthy_percent=200,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
            enable_ecs_managed_tags=True,
            # A fresh store creates MLflow's tables on the first start.
            health_check_grace_period=cdk.Duration.minutes(3),
            enable_execute_command=True,  # make mlflow-ui's port-forward
        )
        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "Targets",
            vpc=cluster.vpc,
            port=MLFLOW_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            deregistration_delay=cdk.Duration.seconds(30),
            health_check=elbv2.HealthCheck(
                path=HEALTH_PATH,
                healthy_http_codes="200",
                interval=cdk.Duration.seconds(15),
                timeout=cdk.Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
        )
        self.service.attach_to_application_target_group(self.target_group)
        self.listener = load_balancer.add_listener(
            "Mlflow",
            port=MLFLOW_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            open=False,  # clients by security group: `allow_client`
            default_action=elbv2.ListenerAction.forward([self.target_group]),
        )
        acknowledge(
            self.listener.node.default_child or self.listener,
            "The internal load balancer's MLflow listener, in private subnets, reachable only from "
            "the ml-service's security group (allow_client); there is no public name to hold a "
            "certificate for, as for the internal load balancer's other listeners.",
            "NIST.800.53.R5::NIST.800.53.R5-ALBHttpToHttpsRedirection",
            "NIST.800.53.R5::NIST.800.53.R5-ELBv2ACMCertificateRequired",
        )
        self.service.connections.allow_from(
            endpoint.security_group, ec2.Port.tcp(MLFLOW_PORT), "From the internal load balancer"
        )
        self.security_group.connections.allow_to(
            database.database_security_group, ec2.Port.tcp(PORT), "MLflow to its database"
        )
        definition = self.task_definition
        grant_secret_keys(definition, [database.key])
        buckets.grant_objects(definition.task_role, "mlflow", prefix=MODEL_PREFIX)
        acknowledge_task_definition(definition)
        acknowledge(
            definition.task_role.node.find_child("DefaultPolicy"),
            "ECS Exec's agent opens its Session Manager channels with ssmmessages actions, which "
            "have no resource types (Service Authorization Reference), so they are granted on *.",
            "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
        )

    def allow_client(self, client: ec2.IConnectable) -> None:
        """Let `client` reach the tracking server's listener (ingress on the load balancer's
        group, egress on the client's)."""
        self.listener.connections.allow_default_port_from(client, "MLflow clients")
