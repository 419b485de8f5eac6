"""ECS: what moto's cluster, task definition and service handlers drop, and task definition
replacement on change; the API behaviour the runbook's commands need is in ecs_api."""

from __future__ import annotations

from typing import Any

from moto.core.utils import pascal_to_camelcase, remap_nested_keys
from moto.ecs.models import Cluster, Service, TaskDefinition, ecs_backends
from moto.elbv2.models import elbv2_backends

from emulator.services import ecs_api
from emulator.services.base import Fix, Fixes, Models, set_attributes
from emulator.services.refusals import AwsError


class InvalidParameterException(AwsError):
    pass


def _camel(value: Any) -> Any:
    return remap_nested_keys(value, pascal_to_camelcase)


def _cluster_after(cluster: Any, props: dict[str, Any]) -> None:
    """moto's cluster handler reads only the name: keep Container Insights' setting."""
    if "ClusterSettings" in props:
        cluster.settings = [{"name": s["Name"], "value": s["Value"]} for s in props["ClusterSettings"]]


# Task definition properties moto's handler drops -> the model attribute they set.
TASK_DEFINITION_ATTRIBUTES = {
    "Cpu": "cpu",
    "Memory": "memory",
    "NetworkMode": "network_mode",
    "RequiresCompatibilities": "requires_compatibilities",
    "RuntimePlatform": "runtime_platform",
    "TaskRoleArn": "task_role_arn",
    "ExecutionRoleArn": "execution_role_arn",
}


def _task_definition_checks(props: dict[str, Any]) -> dict[str, Any]:
    """RegisterTaskDefinition's create-time checks on container dependencies (ECS's messages):
    the container depended on exists, and one awaited to exit (SUCCESS, COMPLETE) is not
    essential (ContainerDependency API reference: "can't be set on an essential container")."""
    essential = {c.get("Name"): c.get("Essential", True) for c in props.get("ContainerDefinitions", [])}
    for container in props.get("ContainerDefinitions", []):
        for dependency in container.get("DependsOn", []):
            name = dependency.get("ContainerName")
            if name not in essential:
                raise ValueError(f"Cannot depend on container + '{name}' because it does not exist")
            if dependency.get("Condition") in ("SUCCESS", "COMPLETE") and essential[name]:
                raise ValueError(
                    "Invalid request provided: Create TaskDefinition: A dependency container with "
                    "SUCCESS or COMPLETE condition cannot be an essential container"
                )
    return props


def _task_definition_after(definition: Any, props: dict[str, Any]) -> None:
    set_attributes(definition, props, TASK_DEFINITION_ATTRIBUTES, _camel)
    definition.cfn_properties = props  # what a later update compares against


def _task_definition_update(
    cls: Any,
    original_resource: Any,
    new_resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> Any:
    """CloudFormation replaces a task definition on any change: a new, complete revision, and
    deregisters the old one (INACTIVE) unless its UpdateReplacePolicy is Retain.
    (moto's own update re-registers without the container definitions' new values.) The
    services running it follow through emulator.cloudformation's _update_dependents."""
    if getattr(original_resource, "cfn_properties", None) == cloudformation_json.get("Properties"):
        return original_resource
    if cloudformation_json.get("UpdateReplacePolicy") != "Retain":  # retained: stays ACTIVE
        ecs_backends[account_id][region_name].deregister_task_definition(original_resource.arn)
    return cls.create_from_cloudformation_json(
        new_resource_name, cloudformation_json, account_id, region_name
    )


# Service properties moto's handler drops -> the model attribute they set.
SERVICE_ATTRIBUTES = {
    "DeploymentConfiguration": "deployment_configuration",
    "NetworkConfiguration": "network_configuration",
    "HealthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
}


def _service_after(service: Any, props: dict[str, Any]) -> None:
    """moto's service handler reads only cluster, task definition and count: keep what
    describe-services shows of the deployment strategy, load balancers and network."""
    service.load_balancers = _camel(props.get("LoadBalancers", []))
    set_attributes(service, props, SERVICE_ATTRIBUTES, _camel)


def _service_check(name: str, props: dict[str, Any], account: str, region: str) -> None:
    """CreateService's create-time checks on its load balancers (ECS's messages): each target
    group already has a load balancer (a listener or rule forwarding to it), and the container
    named has the port in its port mappings."""
    balancers = props.get("LoadBalancers", [])
    if not balancers:
        return
    groups = elbv2_backends[account][region].target_groups
    definition = ecs_backends[account][region].describe_task_definition(str(props["TaskDefinition"]))
    registered = getattr(definition, "cfn_properties", None)  # None: not registered by a stack
    ports = {
        (c.get("Name"), m.get("ContainerPort"))
        for c in (registered or {}).get("ContainerDefinitions", [])
        for m in c.get("PortMappings", [])
    }
    for balancer in balancers:
        arn = balancer.get("TargetGroupArn")
        group = groups.get(arn) if arn else None
        if arn and (group is None or not group.load_balancer_arns):
            raise InvalidParameterException(
                f"The target group with targetGroupArn {arn} does not have an associated load balancer."
            )
        container, port = balancer.get("ContainerName"), balancer.get("ContainerPort")
        if registered is not None and (container, int(port)) not in ports:
            raise InvalidParameterException(
                f"The container {container} did not have a container port {port} defined."
            )


MODELS: Models = ()
FIXES: Fixes = {
    Cluster: Fix(after_create=_cluster_after),
    TaskDefinition: Fix(
        properties=_task_definition_checks,
        after_create=_task_definition_after,
        update=_task_definition_update,
    ),
    Service: Fix(after_create=_service_after, check=_service_check),
}

# Service deployments and revisions, steady services, one-off tasks that run to completion.
patch_api = ecs_api.patch
