"""ECS's API where moto lacks it or answers what ECS never would, so the runbook's commands run
against the emulator (`make deploy-status`, `rollback`, `restart`, `db-migrate`, ...):

* service deployments and revisions: every CreateService, and every UpdateService that changes
  the task definition or forces a new deployment, records a revision and a deployment
  (ListServiceDeployments, DescribeServiceDeployments, DescribeServiceRevisions), and
  StopServiceDeployment rolls an ongoing one back to its source revision;
* services reach their desired count (moto leaves runningCount at 0);
* RunTask on a Fargate task definition: containers without their own memory (the task's
  applies) are accepted, the task has one container per definition, and it runs to completion:
  it stops with exit code 0 for every container and writes one line to each container's
  awslogs stream saying that the emulator runs no image.

Deployments complete at once, like the services. moto's state manager holds them in flight
instead: `POST /moto-api/state-manager/set-transition` with model_name
`ecs::service-deployment` and `{"progression": "manual", "times": N}` advances one stage per
N reads (PENDING -> IN_PROGRESS -> SUCCESSFUL).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.ecs.exceptions import EcsClientException, ECSException, InvalidParameterException
from moto.ecs.models import Container, EC2ContainerServiceBackend, Service, Task, TaskDefinition
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.logs.models import logs_backends
from moto.moto_api._internal import mock_random
from moto.moto_api._internal.managed_state_model import ManagedState

DEPLOYMENT_MODEL = "ecs::service-deployment"
# The states StopServiceDeployment accepts (Developer Guide, "Stopping Amazon ECS service
# deployments"); any other answers ConflictException.
ROLLING_BACK = ("STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")
STOPPABLE = ("PENDING", "IN_PROGRESS", *ROLLING_BACK)
COMPLETED = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
# What ECS reports for a task whose essential container exited.
STOP_CODE = "EssentialContainerExited"
STOPPED_REASON = "Essential container in task exited"


class ConflictException(ECSException):
    code = "ConflictException"


class ServiceDeploymentNotFoundException(ECSException):
    code = "ServiceDeploymentNotFoundException"


@dataclass
class ServiceRevision:
    arn: str
    service: Service
    task_definition: str
    created_at: datetime

    def describe(self) -> dict[str, Any]:
        service = self.service
        return {
            "serviceRevisionArn": self.arn,
            "serviceArn": service.arn,
            "clusterArn": service.cluster_arn,
            "taskDefinition": self.task_definition,
            "launchType": service.launch_type,
            "platformVersion": service.platform_version or "LATEST",
            "loadBalancers": service.load_balancers,
            "networkConfiguration": service.network_configuration or None,
            "createdAt": self.created_at,
        }


class ServiceDeployment(ManagedState):
    def __init__(self, arn: str, service: Service, source: ServiceRevision | None, target: ServiceRevision):
        super().__init__(
            model_name=DEPLOYMENT_MODEL,
            transitions=[("PENDING", "IN_PROGRESS"), ("IN_PROGRESS", "SUCCESSFUL")],
        )
        self.arn, self.service, self.source, self.target = arn, service, source, target
        self.created_at = utcnow()
        self.finished_at: datetime | None = None
        self.stopped_at: datetime | None = None
        self.status_reason = ""
        self.rollback: dict[str, Any] | None = None

    def current(self) -> str:
        """The status after this read (moto's state manager may move it on)."""
        self.advance()
        status = str(self.status)
        if status in COMPLETED and self.finished_at is None:
            self.finished_at = utcnow()
        return status

    def _common(self, status: str) -> dict[str, Any]:
        """What the brief (ListServiceDeployments) and the description share."""
        return {
            "serviceDeploymentArn": self.arn,
            "serviceArn": self.service.arn,
            "clusterArn": self.service.cluster_arn,
            "createdAt": self.created_at,
            "startedAt": self.created_at,
            "finishedAt": self.finished_at,
            "status": status,
            "statusReason": self.status_reason,
        }

    def brief(self) -> dict[str, Any]:
        return _present({**self._common(self.current()), "targetServiceRevisionArn": self.target.arn})

    def describe(self) -> dict[str, Any]:
        status = self.current()
        configuration = getattr(self.service, "deployment_configuration", None) or {}
        blue_green = configuration.get("strategy") == "BLUE_GREEN"
        return _present(
            {
                **self._common(status),
                "updatedAt": self.finished_at or self.created_at,
                "stoppedAt": self.stopped_at,
                "sourceServiceRevisions": [
                    {"arn": self.source.arn, "requestedTaskCount": self.service.desired_count}
                ]
                if self.source
                else [],
                "targetServiceRevision": {
                    "arn": self.target.arn,
                    "requestedTaskCount": self.service.desired_count,
                },
                # In flight, a blue/green deployment waits at its hook (production's approval) or
                # out its bake time; no traffic moves locally.
                "lifecycleStage": _waiting_stage(configuration)
                if blue_green and status == "IN_PROGRESS"
                else None,
                "deploymentConfiguration": configuration or None,
                "rollback": self.rollback,
            }
        )


def _waiting_stage(configuration: dict[str, Any]) -> str:
    hooks = configuration.get("lifecycleHooks") or []
    stages = [stage for hook in hooks for stage in hook.get("lifecycleStages") or []]
    return str(stages[0]) if stages else "BAKE_TIME"


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value not in (None, "")}


@dataclass
class Deployments:
    """One backend's (account and region's) revisions and deployments, oldest first."""

    revisions: dict[str, ServiceRevision] = field(default_factory=dict)
    deployments: dict[str, ServiceDeployment] = field(default_factory=dict)
    # service ARN -> the revision it runs (a rollback moves it back).
    running: dict[str, ServiceRevision] = field(default_factory=dict)

    def record(self, service: Service) -> ServiceDeployment:
        """A new revision of `service` as it is now, and the deployment that rolls it out."""
        path = f"{service.cluster_name}/{service.name}"
        region, account = service.region_name, service._account_id
        prefix = f"arn:aws:ecs:{region}:{account}"
        revision = ServiceRevision(
            f"{prefix}:service-revision/{path}/{mock_random.get_random_string(19, include_digits=True)}",
            service,
            str(service.task_definition),
            utcnow(),
        )
        for earlier in self.deployments.values():
            if earlier.service is service and earlier.current() in STOPPABLE:
                earlier.status = "STOPPED"
                earlier.status_reason = "A newer service deployment superseded this one."
                earlier.stopped_at = earlier.finished_at = utcnow()
        deployment = ServiceDeployment(
            f"{prefix}:service-deployment/{path}/{mock_random.get_random_string(22, include_digits=True)}",
            service,
            self.running.get(service.arn),
            revision,
        )
        self.revisions[revision.arn] = revision
        self.deployments[deployment.arn] = deployment
        self.running[service.arn] = revision
        return deployment

    def of(self, service: Service) -> list[ServiceDeployment]:
        return [d for d in self.deployments.values() if d.service is service]

    def stop(self, arn: str, stop_type: str) -> ServiceDeployment:
        """Roll `arn` back to the service's last successfully deployed revision: the deployment
        moves ROLLBACK_REQUESTED -> ROLLBACK_IN_PROGRESS -> ROLLBACK_SUCCESSFUL as moto's state
        manager advances it (at once by default)."""
        deployment = self.deployments.get(arn)
        if deployment is None:
            raise ServiceDeploymentNotFoundException(f"The service deployment {arn} does not exist.")
        if stop_type != "ROLLBACK":
            raise InvalidParameterException(f"stopType {stop_type} is not supported; use ROLLBACK.")
        status = deployment.current()
        if status not in STOPPABLE:
            raise ConflictException(f"The service deployment is {status} and cannot be stopped.")
        if status in ROLLING_BACK:  # ECS carries on with the rollback under way
            return deployment
        succeeded = [
            d for d in self.of(deployment.service) if d is not deployment and d.current() == "SUCCESSFUL"
        ]
        if not succeeded:
            raise ConflictException("The service has no successfully deployed revision to roll back to.")
        previous = succeeded[-1].target
        now = utcnow()
        deployment._transitions = [
            ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"),
            ("ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL"),
        ]
        deployment.status, deployment._tick = "ROLLBACK_REQUESTED", 0
        deployment.status_reason = "Rolling back because of a StopServiceDeployment request."
        deployment.rollback = {
            "reason": "StopServiceDeployment with stopType ROLLBACK",
            "startedAt": now,
            "serviceRevisionArn": previous.arn,
        }
        deployment.stopped_at = now
        deployment.service.task_definition = previous.task_definition
        self.running[deployment.service.arn] = previous
        return deployment


def deployments(backend: EC2ContainerServiceBackend) -> Deployments:
    """The backend's record (a moto reset makes new backends, and so a new record)."""
    found: Deployments | None = getattr(backend, "_emulator_deployments", None)
    if found is None:
        found = Deployments()
        backend._emulator_deployments = found  # type: ignore[attr-defined]
    return found


# --- services ----------------------------------------------------------------------------


def _steady(service: Service) -> None:
    """The emulator's services reach their desired count at once (no task runs locally)."""
    service.running_count, service.pending_count = service.desired_count, 0
    for deployment in service.deployments:
        deployment.update(runningCount=service.desired_count, pendingCount=0, rolloutState="COMPLETED")


def _active(
    backend: EC2ContainerServiceBackend, task_definition: str | None, error: type[ECSException]
) -> None:
    """ECS refuses an INACTIVE (deregistered) revision for a new service, an UpdateService or
    RunTask (DeregisterTaskDefinition API reference); CloudFormation deregisters every revision it
    replaces unless the task definition is retained."""
    if task_definition and backend.describe_task_definition(task_definition).status == "INACTIVE":
        raise error("TaskDefinition is inactive")


def _create_service(original: Callable[..., Service]) -> Callable[..., Service]:
    @functools.wraps(original)
    def create(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Service:
        definition = kwargs.get("task_definition_str", args[3] if len(args) > 3 else None)
        _active(self, definition, EcsClientException)
        service = original(self, *args, **kwargs)
        _steady(service)
        deployments(self).record(service)
        return service

    return create


def _update_service(original: Callable[..., Service]) -> Callable[..., Service]:
    @functools.wraps(original)
    def update(self: EC2ContainerServiceBackend, properties: dict[str, Any]) -> Service:
        forced = bool(properties.get("force_new_deployment"))
        _active(self, properties.get("task_definition"), EcsClientException)
        before = self._get_service(properties.get("cluster", "default"), properties["service"].split("/")[-1])
        previous = before.task_definition
        service = original(self, properties)
        if service.task_definition:  # ECS keeps the full ARN of what UpdateService names
            service.task_definition = self.describe_task_definition(str(service.task_definition)).arn
        _steady(service)
        if forced or service.task_definition != previous:
            deployments(self).record(service)
        return service

    return update


# --- one-off tasks -------------------------------------------------------------------------


def _resource_requirements(task_definition: TaskDefinition) -> dict[str, Any]:
    """moto's placement arithmetic, where a Fargate container may leave memory to the task."""
    cpu = memory = 0
    ports: list[Any] = []
    definitions: list[dict[str, Any]] = task_definition.container_definitions
    for container in definitions:
        cpu += int(_definition(container, "cpu") or 0)
        memory += int(_definition(container, "memory") or _definition(container, "memoryReservation") or 0)
        for mapping in _definition(container, "portMappings") or []:
            if "hostPort" in mapping or "HostPort" in mapping:
                ports.append(mapping.get("hostPort", mapping.get("HostPort")))
    return {"CPU": cpu, "MEMORY": memory, "PORTS": ports, "PORTS_UDP": []}


def _definition(container: dict[str, Any], key: str) -> Any:
    """A container definition's value, stored camelCase (API) or PascalCase (CloudFormation)."""
    return container.get(key, container.get(key[0].upper() + key[1:]))


def _task_init(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def init(self: Task, cluster: Any, task_definition: TaskDefinition, *args: Any, **kwargs: Any) -> None:
        original(self, cluster, task_definition, *args, **kwargs)
        # Runs until it is first described, then has stopped (moto: four more reads).
        self._transitions = [("RUNNING", "STOPPED")]
        containers = []
        for definition in task_definition.container_definitions:  # moto keeps only the first
            container = Container(task_definition)  # type: ignore[abstract]
            container.task_arn = self.task_arn
            container.name = _definition(definition, "name")
            container.image = _definition(definition, "image")
            container.cpu = _definition(definition, "cpu") or 0
            container.memory = _definition(definition, "memory")
            container.command = _definition(definition, "command")
            container.environment = _definition(definition, "environment")
            # ECS reports an exit code once the container has stopped.
            container.exitCode = None  # type: ignore[assignment]
            containers.append(container)
        self.containers = containers
        self.task_definition = task_definition  # type: ignore[attr-defined]
        self.created_at = utcnow()  # type: ignore[attr-defined]
        self.emulator_settled = False  # type: ignore[attr-defined]

    return init


def _describe_task_definition(original: Callable[..., TaskDefinition]) -> Callable[..., TaskDefinition]:
    """A family without a revision means its newest ACTIVE revision (moto: its newest)."""

    @functools.wraps(original)
    def describe(self: EC2ContainerServiceBackend, task_definition: str) -> TaskDefinition:
        name = task_definition.split("/")[-1]
        revisions = self.task_definitions.get(name, {}) if ":" not in name else {}
        active = [number for number, d in revisions.items() if d.status == "ACTIVE"]
        return revisions[max(active)] if active else original(self, task_definition)

    return describe


def _run_task(original: Callable[..., list[Task]]) -> Callable[..., list[Task]]:
    @functools.wraps(original)
    def run(
        self: EC2ContainerServiceBackend, cluster: str, task_definition: str, *args: Any, **kwargs: Any
    ) -> list[Task]:
        _active(self, task_definition, InvalidParameterException)
        return original(self, cluster, task_definition, *args, **kwargs)

    return run


def _settle(task: Task) -> None:
    """A task moto reports STOPPED has run to completion: every container exited 0, and each
    awslogs stream holds the emulator's one line (once)."""
    if task.last_status != "STOPPED" or getattr(task, "emulator_settled", True):
        return
    now = utcnow()
    task.desired_status = "STOPPED"
    task.stop_code = STOP_CODE  # type: ignore[attr-defined]
    task.stopped_reason = STOPPED_REASON
    task.started_at = task.stopping_at = task.execution_stopped_at = task.stopped_at = now  # type: ignore[attr-defined]
    for container in task.containers:
        container.last_status = "STOPPED"
        container.exitCode = 0
    definition: TaskDefinition = task.task_definition  # type: ignore[attr-defined]
    logs = logs_backends[task._account_id][task.region_name]
    for container_definition in definition.container_definitions:
        configuration = _definition(container_definition, "logConfiguration") or {}
        options = configuration.get("options") or configuration.get("Options") or {}
        if (configuration.get("logDriver") or configuration.get("LogDriver")) != "awslogs":
            continue
        name = _definition(container_definition, "name")
        group, prefix = options.get("awslogs-group"), options.get("awslogs-stream-prefix")
        if not group or group not in logs.groups:
            continue
        stream = f"{prefix}/{name}/{task.id}" if prefix else task.id
        logs.create_log_stream(group, stream)
        message = (
            f"[local emulator] container {name} ({_definition(container_definition, 'image')}) of task "
            f"{task.id} did not run: the emulator records tasks and runs no image; exit code 0"
        )
        logs.put_log_events(group, stream, [{"timestamp": int(now.timestamp() * 1000), "message": message}])
    task.emulator_settled = True  # type: ignore[attr-defined]


def _settling(original: Callable[..., list[Task]]) -> Callable[..., list[Task]]:
    @functools.wraps(original)
    def read(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> list[Task]:
        for cluster_tasks in self.tasks.values():  # ListTasks filters on the settled desired status
            for task in cluster_tasks.values():
                _settle(task)
        found = original(self, *args, **kwargs)
        for task in found:  # DescribeTasks has moved them on
            _settle(task)
        return found

    return read


# --- the API actions moto lacks -------------------------------------------------------------


def _list_service_deployments(self: EC2ContainerServiceResponse) -> ActionResult:
    service = self.ecs_backend._get_service(self._get_param("cluster", "default"), self._get_param("service"))
    wanted = self._get_param("status") or []
    found = [d.brief() for d in reversed(deployments(self.ecs_backend).of(service))]  # newest first
    found = [d for d in found if not wanted or d["status"] in wanted]
    start = int(self._get_param("nextToken") or 0)
    size = int(self._get_param("maxResults") or 20)
    page: dict[str, Any] = {"serviceDeployments": found[start : start + size]}
    if start + size < len(found):
        page["nextToken"] = str(start + size)
    return ActionResult(page)


def _describe(kind: str, arns: str, key: str) -> Callable[[EC2ContainerServiceResponse], ActionResult]:
    """DescribeServiceDeployments / DescribeServiceRevisions: what is found, and a MISSING
    failure for each ARN that is not."""

    def action(self: EC2ContainerServiceResponse) -> ActionResult:
        record = getattr(deployments(self.ecs_backend), kind)
        found, failures = [], []
        for arn in self._get_param(arns) or []:
            if arn in record:
                found.append(record[arn].describe())
            else:
                failures.append({"arn": arn, "reason": "MISSING"})
        return ActionResult({key: found, "failures": failures})

    return action


def _stop_service_deployment(self: EC2ContainerServiceResponse) -> ActionResult:
    arn = self._get_param("serviceDeploymentArn")
    deployments(self.ecs_backend).stop(arn, self._get_param("stopType") or "ROLLBACK")
    return ActionResult({"serviceDeploymentArn": arn})


def patch() -> None:
    backend = EC2ContainerServiceBackend
    backend.create_service = _create_service(backend.create_service)  # type: ignore[method-assign]
    backend.update_service = _update_service(backend.update_service)  # type: ignore[method-assign]
    backend._calculate_task_resource_requirements = staticmethod(_resource_requirements)  # type: ignore[method-assign]
    backend.describe_task_definition = _describe_task_definition(  # type: ignore[method-assign]
        backend.describe_task_definition
    )
    backend.run_task = _run_task(backend.run_task)  # type: ignore[method-assign]
    backend.describe_tasks = _settling(backend.describe_tasks)  # type: ignore[method-assign]
    backend.list_tasks = _settling(backend.list_tasks)  # type: ignore[method-assign]
    Task.__init__ = _task_init(Task.__init__)  # type: ignore[method-assign]
    actions = {
        "list_service_deployments": _list_service_deployments,
        "describe_service_deployments": _describe(
            "deployments", "serviceDeploymentArns", "serviceDeployments"
        ),
        "describe_service_revisions": _describe("revisions", "serviceRevisionArns", "serviceRevisions"),
        "stop_service_deployment": _stop_service_deployment,
    }
    for name, action in actions.items():  # moto dispatches an action to the method of its name
        setattr(EC2ContainerServiceResponse, name, action)
