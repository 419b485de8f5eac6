"""One Fargate service (runbook names: bot, ml-service, data-ingestion) and its task definition.

Load-balanced services deploy with ECS's native BLUE_GREEN strategy: green tasks start behind
the alternate target group, the hook smoke-tests them through the test listener, production
traffic moves, and ECS watches the deployment alarms for the bake time before retiring blue.
Any failure (hook, health checks via the circuit breaker, an alarm) rolls back to blue.
Workers deploy rolling, with the circuit breaker's rollback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from components.edge import ServiceLoadBalancer
from components.nag import acknowledge
from components.network import https_out_security_group
from components.services.deployment import DeploymentGuard
from config.model import ServiceSize
from config.services import USER, ServiceSpec

TMP_VOLUME = "tmp"
# Fargate creates a bind mount root-owned with mode 0755 (ECS Developer Guide, "Use bind mounts"),
# so the app's user could not write /tmp: this short-lived container of the same image hands
# the volume to that user before the app starts.
SCRATCH_INIT = "scratch-init"
# Docker's default capabilities. The init container runs as root with only CHOWN: Fargate
# lets a container drop capabilities but add none (besides SYS_PTRACE), so "drop ALL, add
# CHOWN" is not an option.
DOCKER_DEFAULT_CAPABILITIES = (
    ecs.Capability.AUDIT_WRITE,
    ecs.Capability.CHOWN,
    ecs.Capability.DAC_OVERRIDE,
    ecs.Capability.FOWNER,
    ecs.Capability.FSETID,
    ecs.Capability.KILL,
    ecs.Capability.MKNOD,
    ecs.Capability.NET_BIND_SERVICE,
    ecs.Capability.NET_RAW,
    ecs.Capability.SETFCAP,
    ecs.Capability.SETGID,
    ecs.Capability.SETPCAP,
    ecs.Capability.SETUID,
    ecs.Capability.SYS_CHROOT,
)


@dataclass(frozen=True)
class BlueGreen:
    """Where a load-balanced service's traffic comes from and what guards its deployments."""

    endpoint: ServiceLoadBalancer
    guard: DeploymentGuard
    bake_time: cdk.Duration


def task_definition(
    scope: Construct,
    construct_id: str,
    *,
    family: str,
    container_name: str,
    port: int | None,
    health_command: Sequence[str] | None,
    size: ServiceSize,
    image: ecs.ContainerImage,
    log_group: logs.ILogGroup,
    stream_prefix: str,
    environment: Mapping[str, str],
    secrets: Mapping[str, ecs.Secret],
    command: Sequence[str] | None = None,
    readonly_root: bool = True,
    init_process: bool = False,
) -> ecs.FargateTaskDefinition:
    """ARM64 (Graviton), non-root, read-only root filesystem (unless `readonly_root` is off)
    with a scratch /tmp that the app's user owns (`SCRATCH_INIT`). `port`: the container port
    it serves on, if any; `health_command`: the container health check's, if any (a one-off
    task's exit code is its verdict)."""
    definition = ecs.FargateTaskDefinition(
        scope,
        construct_id,
        family=family,
        cpu=size.cpu,
        memory_limit_mib=size.memory_mib,
        runtime_platform=ecs.RuntimePlatform(
            cpu_architecture=ecs.CpuArchitecture.ARM64,
            operating_system_family=ecs.OperatingSystemFamily.LINUX,
        ),
        volumes=[ecs.Volume(name=TMP_VOLUME)],
    )
    # CloudFormation deregisters a replaced revision (INACTIVE: no service may move back to it,
    # aws-cdk#24372); kept ACTIVE, the previous revision stays what `make rollback` redeploys.
    # (RetainExceptOnCreate: a failed first create leaves none behind.)
    definition.apply_removal_policy(cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
    container = definition.add_container(
        "App",
        container_name=container_name,
        image=image,
        essential=True,
        user=USER,
        readonly_root_filesystem=readonly_root,
        command=list(command) if command else None,
        environment=dict(environment),
        secrets=dict(secrets),
        logging=_logs(log_group, stream_prefix),
        health_check=(
            ecs.HealthCheck(
                command=list(health_command),
                interval=cdk.Duration.seconds(30),
                timeout=cdk.Duration.seconds(5),
                retries=3,
                start_period=cdk.Duration.seconds(60),
            )
            if health_command
            else None
        ),
        port_mappings=[ecs.PortMapping(container_port=port)] if port else None,
        linux_parameters=(
            ecs.LinuxParameters(definition, "AppLinuxParameters", init_process_enabled=True)
            if init_process
            else None
        ),
    )
    scratch = ecs.MountPoint(container_path="/tmp", source_volume=TMP_VOLUME, read_only=False)
    container.add_mount_points(scratch)
    capabilities = ecs.LinuxParameters(definition, "ScratchInitLinuxParameters")
    capabilities.drop_capabilities(*(c for c in DOCKER_DEFAULT_CAPABILITIES if c is not ecs.Capability.CHOWN))
    init = definition.add_container(
        "ScratchInit",
        container_name=SCRATCH_INIT,
        image=image,  # ours, from ECR: it ships chown (README "Images")
        essential=False,
        user="0",
        readonly_root_filesystem=True,
        entry_point=["chown"],  # not the image's entry point
        command=[USER, "/tmp"],
        linux_parameters=capabilities,
        logging=_logs(log_group, stream_prefix),
    )
    init.add_mount_points(scratch)
    # The app starts only once /tmp is its user's; if chown fails, the task stops.
    container.add_container_dependencies(
        ecs.ContainerDependency(container=init, condition=ecs.ContainerDependencyCondition.SUCCESS)
    )
    grant_guardduty_agent(definition)
    return definition


# GuardDuty Runtime Monitoring adds its agent to each Fargate task as a sidecar, pulled with the
# task's execution role from GuardDuty's repository in the region (GuardDuty user guide, "ECR
# repository for GuardDuty agent on AWS Fargate"); without the pull, tasks start unmonitored.
GUARDDUTY_AGENT_REGISTRY = {"us-east-1": "593207742271", "us-west-2": "733349766148"}


def grant_guardduty_agent(definition: ecs.TaskDefinition) -> None:
    region = cdk.Stack.of(definition).region
    registry = GUARDDUTY_AGENT_REGISTRY.get(region)
    if registry is None:
        raise ValueError(
            f"GuardDuty's Fargate agent registry in {region} is not known: add it to "
            "components/services/wiring.py GUARDDUTY_AGENT_REGISTRY (GuardDuty user guide)"
        )
    definition.obtain_execution_role().add_to_principal_policy(
        iam.PolicyStatement(
            actions=["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
            resources=[f"arn:aws:ecr:{region}:{registry}:repository/aws-guardduty-agent-fargate"],
        )
    )


def _logs(log_group: logs.ILogGroup, stream_prefix: str) -> ecs.LogDriver:
    return ecs.LogDrivers.aws_logs(
        stream_prefix=stream_prefix,
        log_group=log_group,
        mode=ecs.AwsLogDriverMode.NON_BLOCKING,  # a slow log pipe never stalls trading
    )


def task_security_group(scope: Construct, *, vpc: ec2.IVpc, description: str) -> ec2.SecurityGroup:
    """Egress HTTPS only (Betfair, ECR layers on S3, AWS APIs). PostgreSQL to the proxy
    (services/wiring.py) or to the database (the migration task) is added by whoever wires
    the task; the load balancer's ingress by the blue/green target."""
    return https_out_security_group(
        scope, "SecurityGroup", vpc=vpc, description=description, egress="HTTPS out"
    )


def fargate_service(
    scope: Construct,
    *,
    service_name: str,
    cluster: ecs.ICluster,
    task_definition: ecs.FargateTaskDefinition,
    desired_count: int,
    security_group: ec2.ISecurityGroup,
    **options: Any,
) -> ecs.FargateService:
    """`Service` in `scope`: in the private subnets without a public address, a new task healthy
    before an old one stops, the circuit breaker's rollback, tags propagated; `options`: the
    rest of FargateService's (the rollout, the grace period, ECS Exec)."""
    return ecs.FargateService(
        scope,
        "Service",
        service_name=service_name,
        cluster=cluster,
        task_definition=task_definition,
        desired_count=desired_count,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        security_groups=[security_group],
        assign_public_ip=False,
        circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
        min_healthy_percent=100,
        max_healthy_percent=200,
        propagate_tags=ecs.PropagatedTagSource.SERVICE,
        enable_ecs_managed_tags=True,
        **options,
    )


class ApplicationService(Construct):
    """Attributes: ``service``, ``task_definition``, ``security_group``.

    A `standby` service (the DR region's pilot light) runs no task and its scaling may go down
    to zero: `make dr-failover` sets production's counts and minimums when it fails over.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: ServiceSpec,
        family: str,
        size: ServiceSize,
        cluster: ecs.ICluster,
        repository: ecr.IRepository,
        image_tag: str,
        log_group: logs.ILogGroup,
        environment: Mapping[str, str],
        secrets: Mapping[str, ecs.Secret],
        blue_green: BlueGreen | None = None,
        standby: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        desired = 0 if standby else size.desired_count
        self.task_definition = task_definition(
            self,
            "Task",
            family=family,
            container_name=spec.name,
            port=spec.port,
            health_command=spec.health_command,
            size=size,
            image=ecs.ContainerImage.from_ecr_repository(repository, image_tag),
            log_group=log_group,
            stream_prefix=spec.name,
            environment=environment,
            secrets=secrets,
        )
        self.security_group = task_security_group(self, vpc=cluster.vpc, description=f"{family} tasks")
        self.service = fargate_service(
            self,
            service_name=spec.name,  # runbook: aws ecs update-service --service bot
            cluster=cluster,
            task_definition=self.task_definition,
            desired_count=desired,
            security_group=self.security_group,
            # Load-balanced services: ECS-native blue/green; workers: rolling (the defaults).
            deployment_strategy=ecs.DeploymentStrategy.BLUE_GREEN if blue_green else None,
            bake_time=blue_green.bake_time if blue_green else None,
            deployment_alarms=(
                ecs.DeploymentAlarmConfig(
                    alarm_names=list(blue_green.guard.alarms),
                    behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM,
                )
                if blue_green
                else None
            ),
            health_check_grace_period=cdk.Duration.seconds(60) if blue_green else None,
        )
        if blue_green is not None:
            self._blue_green(spec, blue_green)
        if size.max_count is not None and size.max_count > size.desired_count:
            self.scaling = self.service.auto_scale_task_count(
                min_capacity=0 if standby else max(1, size.desired_count), max_capacity=size.max_count
            )
            self.scaling.scale_on_cpu_utilization(
                "Cpu",
                target_utilization_percent=60,
                scale_in_cooldown=cdk.Duration.minutes(5),
                scale_out_cooldown=cdk.Duration.minutes(1),
            )

    def _blue_green(self, spec: ServiceSpec, blue_green: BlueGreen) -> None:
        endpoint = blue_green.endpoint
        assert spec.port is not None
        self.service.load_balancer_target(
            container_name=spec.name,
            container_port=spec.port,
            alternate_target=ecs.AlternateTarget(
                "Alternate",
                alternate_target_group=endpoint.green,
                production_listener=ecs.ListenerRuleConfiguration.application_listener_rule(
                    endpoint.production_rule
                ),
                test_listener=ecs.ListenerRuleConfiguration.application_listener_rule(endpoint.test_rule),
            ),
        ).attach_to_application_target_group(endpoint.blue)
        # The load balancer reaches the tasks of either colour on the container port.
        self.service.connections.allow_from(
            endpoint.security_group, ec2.Port.tcp(spec.port), "From the load balancer"
        )
        self.service.add_lifecycle_hook(
            ecs.DeploymentLifecycleLambdaTarget(
                blue_green.guard.hook,
                "SmokeTest",
                lifecycle_stages=[ecs.DeploymentLifecycleStage.POST_TEST_TRAFFIC_SHIFT],
                role=blue_green.guard.invoke_role,
            )
        )
        acknowledge(
            self.service.node.find_child("AlternateRole"),
            "ECS blue/green moves listener-rule weights and target registrations with the AWS managed "
            "infrastructure policy for load balancers, which AWS keeps in step with the feature.",
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            "AmazonECSInfrastructureRolePolicyForLoadBalancers]",
        )

    def scale_on_requests(self, *, requests: cw.IMetric, per_task_per_minute: int) -> None:
        """Step scaling on requests per running task, read at the load balancer so it follows
        whichever target group is live (request-count target tracking is bound to one group)."""
        tasks = cw.Metric(
            namespace="ECS/ContainerInsights",
            metric_name="RunningTaskCount",
            dimensions_map={
                "ClusterName": self.service.cluster.cluster_name,
                "ServiceName": self.service.service_name,
            },
            period=cdk.Duration.minutes(1),
            statistic="Average",
        )
        per_task = cw.MathExpression(
            expression="FILL(requests, 0) / MAX([FILL(tasks, 1), 1])",
            using_metrics={"requests": requests, "tasks": tasks},
            period=cdk.Duration.minutes(1),
            label="Requests per task per minute",
        )
        self.scaling.scale_on_metric(
            "Requests",
            metric=per_task,
            scaling_steps=[
                {"upper": per_task_per_minute / 4, "change": -1},
                {"lower": per_task_per_minute, "change": +1},
                {"lower": per_task_per_minute * 2, "change": +2},
            ],
            adjustment_type=cdk.aws_applicationautoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=cdk.Duration.minutes(3),
        )


def acknowledge_task_definition(definition: ecs.TaskDefinition) -> None:
    """Call once every grant is made: the roles' default policies exist only after grants."""
    inline = (
        "The CDK writes this role's default policy from our explicit grants; it belongs to this "
        "one task definition's role and lives and dies with it, so a separate managed policy adds nothing."
    )
    for role in (definition.task_role, definition.execution_role):
        policy = role.node.try_find_child("DefaultPolicy") if role else None
        if policy is not None:
            acknowledge(policy, inline, "NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy")
    acknowledge(
        definition.node.default_child or definition,
        "Configuration and credentials reach the container only as ECS secrets from Secrets "
        "Manager; the plain environment holds names and endpoints, never credentials.",
        "AwsSolutions::AwsSolutions-ECS2",
    )
    if definition.execution_role is not None:
        acknowledge(
            definition.execution_role.node.find_child("DefaultPolicy"),
            "ecr:GetAuthorizationToken has no resource-level permissions, so it is granted on *; "
            "image pulls themselves are limited to this service's repository.",
            "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
        )
