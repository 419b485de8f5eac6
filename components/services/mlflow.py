"""The MLflow tracking server (runbook: "ML models stored in MLflow registry"): service `mlflow`.

- Internal only: its own listener (HTTP, port 5000) on the internal load balancer, which only
  the ml-service's tasks (and so its training runs) may reach on that port; `MLFLOW_TRACKING_URI`
  in the ml-service's environment points there. Operators port-forward to a task through ECS
  Exec's agent (`make mlflow-ui`): no route from the internet exists.
- Backend store: its own database `mlflow` on the environment's instance, straight to the
  instance (the proxy admits only IAM users) as the role `mlflow`, whose password
  (`.../database-mlflow`) the data stack's bootstrap set and Secrets Manager rotates. A task
  reads the password when it starts; MLflow opens a connection per request (NullPool) and the
  container health check asks it something only the database can answer, so a task whose login
  the rotation broke turns unhealthy and ECS replaces it with one that reads the new password.
  Each task's start first brings the store's schema to its image's MLflow (mlflow_start.py).
- Artefacts under `models/` in the model-registry bucket (what `make backup-models` copies),
  served through the server (MLflow's proxied artefact access): clients need no S3 rights.
- Rolling updates with the circuit breaker's rollback; `environment.mlflow` sets the size.

The container's root filesystem is writable: ECS Exec's agent writes in it, and AWS does not
support ECS Exec with a read-only root filesystem (ECS Developer Guide, ECS Exec considerations).
"""

from __future__ import annotations

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
from components.edge import ServiceLoadBalancer, ip_target_group
from components.nag import acknowledge
from components.services.service import (
    acknowledge_task_definition,
    fargate_service,
    task_definition,
    task_security_group,
)
from components.services.wiring import grant_secret_keys
from config.model import ServiceSize
from config.names import MLFLOW, MLFLOW_DATABASE, MLFLOW_PORT, MODEL_PREFIX

# A question only the backend store answers: the experiment every MLflow store has (by id: its
# name can be changed).
STORE_CHECK_PATH = "/api/2.0/mlflow/experiments/get?experiment_id=0"
START = Path(__file__).with_name("mlflow_start.py").read_text()


def health_command(port: int = MLFLOW_PORT) -> list[str]:
    return [
        "CMD-SHELL",
        f"curl -fsS --max-time 5 'http://127.0.0.1:{port}{STORE_CHECK_PATH}' > /dev/null || exit 1",
    ]


def allowed_hosts(load_balancer_dns: str, port: int = MLFLOW_PORT) -> str:
    """MLflow 3.5+'s Host-header check (MLFLOW_SERVER_ALLOWED_HOSTS; exact unless an entry holds
    `*`): the internal load balancer's name (the ml-service), and localhost on any port (the
    port-forward's local port is the operator's choice; the container health check). The load
    balancer's health checks ask /health, which MLflow answers whatever the Host."""
    return ",".join(
        [
            load_balancer_dns,
            f"{load_balancer_dns}:{port}",
            "localhost",
            "localhost:*",
            "127.0.0.1",
            "127.0.0.1:*",
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
                "MLFLOW_SERVER_ALLOWED_HOSTS": allowed_hosts(load_balancer.load_balancer_dns_name),
                # A connection per request, so the health check's question logs in each time: a
                # task whose password was rotated away fails it (a pooled connection would not).
                "MLFLOW_SQLALCHEMYSTORE_POOLCLASS": "NullPool",
                # Two server workers fit the task's memory (MLflow's default is four).
                "MLFLOW_WORKERS": "2",
            },
            secrets={
                "DB_USERNAME": ecs.Secret.from_secrets_manager(secret, "username"),
                "DB_PASSWORD": ecs.Secret.from_secrets_manager(secret, "password"),
            },
            command=["python", "-c", START],
            readonly_root=False,
            # ECS Exec's recommendation: an init process reaps the agent's sessions' processes.
            init_process=True,
        )
        self.security_group = task_security_group(self, vpc=cluster.vpc, description=f"{family} tasks")
        self.service = fargate_service(
            self,
            service_name=MLFLOW,
            cluster=cluster,
            task_definition=self.task_definition,
            desired_count=size.desired_count,
            security_group=self.security_group,
            # A fresh store creates MLflow's tables on the first start.
            health_check_grace_period=cdk.Duration.minutes(3),
            enable_execute_command=True,  # make mlflow-ui's port-forward
        )
        # MLflow's /health (body "OK"), as the services' target groups check theirs.
        self.target_group = ip_target_group(self, "Targets", vpc=cluster.vpc, port=MLFLOW_PORT)
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
        # Deletes too (MLflow's artefact DELETE, `mlflow gc`): the bucket is versioned, so a deleted
        # object stays recoverable for the backup retention.
        buckets.grant_objects(definition.task_role, "mlflow", prefix=MODEL_PREFIX, delete=True)
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
