"""How one service specification (config/services.py) becomes a running, wired service.

The spec says what a service is (port, exposure, rollout, secrets, buckets, whom it calls);
`ServiceInputs` is what the environment offers every service; `add_service` joins the two:
its deployment guard when it rolls out blue/green, its task's environment and secrets, its
network path to the database proxy and to the services it calls, and its grants.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as sm
from constructs import Construct

from components.context import UnitContext
from components.data import PORT
from components.data.buckets import DataBuckets
from components.edge import ServiceLoadBalancer
from components.naming import pascal
from components.network import Network
from components.security.secrets import ApplicationSecrets, replica_value_output
from components.services.cluster import ServicesCluster
from components.services.deployment import DeploymentGuard
from components.services.service import ApplicationService, BlueGreen, acknowledge_task_definition
from config.model import EnvironmentConfig
from config.names import BETFAIR_FIELDS, DATABASE, DB_APP_USER
from config.services import ServiceSpec


class ReplicaSecret(ecs.Secret):
    """A secret's replica in this region as ECS reads it: `value_from` is the whole ValueFrom
    (an output of the primary's secrets stack, which alone knows the replica's full ARN), and
    the grant goes by the secret's name (`name-??????`, Secrets Manager's six-character suffix),
    since CloudFormation cannot take that output apart (Fn::GetStackOutput is a whole value)."""

    def __init__(self, scope: Construct, *, value_from: str, name: str, field: str | None) -> None:
        super().__init__()
        self._value_from = value_from
        self._field = field
        self._resource = cdk.Stack.of(scope).format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{name}-??????",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )

    @property
    def arn(self) -> str:
        return self._value_from

    @property
    def has_field(self) -> bool | None:
        return self._field is not None

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            resource_arns=[self._resource],
        )


@dataclass(frozen=True, kw_only=True)
class SecretReferences:
    """The application's secrets as the services' containers get them, and the key that
    encrypts them (execution roles get kms:Decrypt on it: `grant_secret_keys`).

    In the primary region by ARN: granting through the originals would add this stack's roles
    to the stateful stacks' key policies, a dependency cycle. In the DR region, their replicas
    (`replicas`), encrypted with the DR data key.
    """

    config: ecs.Secret
    # The Betfair credentials, by field (BETFAIR_FIELDS).
    betfair: Mapping[str, ecs.Secret]
    key: kms.IKey

    @classmethod
    def of(cls, scope: Construct, *, secrets: ApplicationSecrets) -> SecretReferences:
        def reference(construct_id: str, secret: sm.ISecret) -> sm.ISecret:
            return sm.Secret.from_secret_complete_arn(scope, construct_id, secret.secret_arn)

        betfair = reference("BetfairSecret", secrets.betfair_secret)
        return cls(
            config=ecs.Secret.from_secrets_manager(reference("ConfigSecret", secrets.config_secret)),
            betfair={field: ecs.Secret.from_secrets_manager(betfair, field) for field in BETFAIR_FIELDS},
            key=secrets.key,
        )

    @classmethod
    def replicas(cls, scope: Construct, *, config: EnvironmentConfig, key: kms.IKey) -> SecretReferences:
        """The replicas in `scope`'s region (the DR region), as the primary's secrets stack
        names them in its outputs (`replica_value_output`, `replica_value_from`)."""
        names = config.names

        def replica(purpose: str, field: str | None = None) -> ecs.Secret:
            value_from = cdk.Fn.get_stack_output(
                names.stack("secrets"), replica_value_output(purpose, field), config.region
            )
            return ReplicaSecret(scope, value_from=value_from, name=names.secret(purpose), field=field)

        return cls(
            config=replica("config"),
            betfair={field: replica("betfair", field) for field in BETFAIR_FIELDS},
            key=key,
        )


class DatabaseAccess(Protocol):
    """What a service needs of the database: the proxy it connects to, the proxy's security
    group, and the right to connect as the application user (`Database`, or the DR region's
    `StandbyDatabase`)."""

    @property
    def proxy(self) -> rds.IDatabaseProxy: ...

    @property
    def proxy_security_group(self) -> ec2.ISecurityGroup: ...

    def grant_connect(self, grantee: iam.IGrantable) -> None: ...


@dataclass(frozen=True, kw_only=True)
class ServiceInputs:
    """What the environment offers every service."""

    context: UnitContext
    config: EnvironmentConfig
    network: Network
    cluster: ServicesCluster
    # The services' image repositories, by service name.
    repositories: Mapping[str, ecr.IRepository]
    database: DatabaseAccess
    buckets: DataBuckets
    secrets: SecretReferences
    # Load-balanced services' load balancers, by service name.
    endpoints: Mapping[str, ServiceLoadBalancer]
    # The DR region's pilot light: every service at zero tasks until a failover scales it.
    standby: bool = False

    def environment(self, spec: ServiceSpec) -> dict[str, str]:
        """Names and endpoints only: credentials come as ECS secrets (`secrets`)."""
        return {
            "ENVIRONMENT": self.config.name,
            "DB_HOST": self.database.proxy.endpoint,
            "DB_PORT": str(PORT),
            "DB_NAME": DATABASE,
            # IAM authentication through the proxy as the one user the proxy, the task role's
            # rds-db:connect and the database agree on (Database.grant_connect).
            "DB_USERNAME": DB_APP_USER,
            "DB_IAM_AUTH": "true",
            "SERVICE": spec.name,
            **{f"{purpose.upper()}_BUCKET": self.buckets.bucket_name(purpose) for purpose in spec.buckets},
            **({"TRADING_HALT_PARAMETER": self.context.names.trading_halt_parameter} if spec.trades else {}),
            **{
                f"{_variable(called)}_URL": f"http://{self.endpoints[called].load_balancer.load_balancer_dns_name}"
                for called in spec.calls
            },
        }

    def secrets_for(self, spec: ServiceSpec) -> dict[str, ecs.Secret]:
        secrets = {"CONFIG": self.secrets.config}
        if spec.betfair:
            secrets |= {f"BETFAIR_{field.upper()}": secret for field, secret in self.secrets.betfair.items()}
        return secrets


def add_service(scope: Construct, *, spec: ServiceSpec, inputs: ServiceInputs) -> ApplicationService:
    """The service `spec` describes, in `scope` as `{Name}` (and its guard as `{Name}Deployment`)."""
    config, database = inputs.config, inputs.database
    deployment = config.deployment
    blue_green = None
    if spec.blue_green:
        endpoint = inputs.endpoints[spec.name]
        guard = DeploymentGuard(
            scope,
            pascal(spec.name) + "Deployment",
            context=inputs.context,
            service=spec.name,
            endpoint=endpoint,
            settings=deployment,
            reserved_concurrency=config.functions.deployment_hook_reserved_concurrency,
            standby=inputs.standby,
        )
        blue_green = BlueGreen(
            endpoint=endpoint,
            guard=guard,
            bake_time=cdk.Duration.minutes(deployment.bake_time_minutes),
        )
    service = ApplicationService(
        scope,
        pascal(spec.name),
        spec=spec,
        family=inputs.context.names.task_family(spec.name),
        size=config.services[spec.name],
        cluster=inputs.cluster.cluster,
        repository=inputs.repositories[spec.name],
        image_tag=deployment.image_tag,
        log_group=inputs.cluster.log_groups[spec.name],
        environment=inputs.environment(spec),
        secrets=inputs.secrets_for(spec),
        blue_green=blue_green,
        standby=inputs.standby,
    )
    # Rules made from this side live in this stack: the stateful data stack never
    # references a stateless one (that would be a dependency cycle).
    service.security_group.connections.allow_to(
        database.proxy_security_group, ec2.Port.tcp(PORT), f"{spec.name} to the RDS Proxy"
    )
    # Exactly what the application calls: the proxy as its user, its own buckets' objects.
    task_role = service.task_definition.task_role
    database.grant_connect(task_role)
    for purpose in spec.buckets:
        inputs.buckets.grant_objects(task_role, purpose)
    grant_secret_keys(service.task_definition, [inputs.secrets.key])
    if spec.trades:
        # The alerting stack (deployed later) creates the parameter; the grant goes by name.
        task_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ssm:GetParameter"],
                resources=[
                    cdk.Stack.of(service).format_arn(
                        service="ssm",
                        resource="parameter",
                        resource_name=inputs.context.names.trading_halt_parameter.lstrip("/"),
                    )
                ],
            )
        )
    acknowledge_task_definition(service.task_definition)
    for called in spec.calls:
        inputs.endpoints[called].allow_client(service.security_group)
    return service


def grant_secret_keys(definition: ecs.TaskDefinition, keys: Sequence[kms.IKey]) -> None:
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


def _variable(service: str) -> str:
    """`ml-service` -> `ML_SERVICE`."""
    return service.upper().replace("-", "_")
