"""The emulator's ECS API, in-process against moto: service deployments and revisions, rollback
with StopServiceDeployment, ECS's refusal of INACTIVE revisions, and one-off tasks that run to
completion (what `make deploy-status`, `rollback` and `db-migrate` need locally)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.ecs.models import ecs_backends
from moto.moto_api import state_manager

from emulator.services.ecs_api import deployments
from tests.support import create_stack, stack_reasons

REGION = "us-east-1"
ACCOUNT = "123456789012"


def _ecs() -> Any:
    return boto3.client("ecs", region_name=REGION)


def _stack(image: str, *, retain: bool) -> str:
    task: dict[str, Any] = {
        "Type": "AWS::ECS::TaskDefinition",
        "Properties": {
            "Family": "f",
            "Cpu": "256",
            "Memory": "512",
            "RequiresCompatibilities": ["FARGATE"],
            "ContainerDefinitions": [{"Name": "app", "Image": image, "Essential": True}],
        },
    }
    if retain:
        task |= {"DeletionPolicy": "RetainExceptOnCreate", "UpdateReplacePolicy": "Retain"}
    return json.dumps(
        {
            "Resources": {
                "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "c"}},
                "Task": task,
                "Service": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "ServiceName": "s",
                        "Cluster": {"Ref": "Cluster"},
                        "TaskDefinition": {"Ref": "Task"},
                        "DesiredCount": 2,
                        "DeploymentConfiguration": {"Strategy": "BLUE_GREEN", "BakeTimeInMinutes": 15},
                    },
                },
            }
        }
    )


def _deploy(image: str, *, retain: bool = True, update: bool = True) -> None:
    cfn = boto3.client("cloudformation", region_name=REGION)
    call = cfn.update_stack if update else cfn.create_stack
    call(StackName="s", TemplateBody=_stack(image, retain=retain))


def _deployments(**filters: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = _ecs().list_service_deployments(cluster="c", service="s", **filters)[
        "serviceDeployments"
    ]
    return found


def _described(arn: str) -> dict[str, Any]:
    (deployment,) = _ecs().describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"]
    return dict(deployment)


def _task_definition_of(revision_arn: str) -> str:
    (revision,) = _ecs().describe_service_revisions(serviceRevisionArns=[revision_arn])["serviceRevisions"]
    return str(revision["taskDefinition"]).rsplit("/", 1)[-1]


@contextlib.contextmanager
def _held(reads: int = 1000) -> Iterator[None]:
    """Deployments advance one state per `reads` reads (moto's state manager): in flight, as
    during a real bake time."""
    state_manager.set_transition("ecs::service-deployment", {"progression": "manual", "times": reads})
    try:
        yield
    finally:
        state_manager.unset_transition("ecs::service-deployment")


def test_create_update_and_restart_each_record_a_deployment(aws: None) -> None:
    _deploy("repo:v1", update=False)
    (first,) = _deployments()
    assert first["status"] == "SUCCESSFUL" and first["finishedAt"]
    assert first["serviceDeploymentArn"].startswith(f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/c/s/")
    assert _described(first["serviceDeploymentArn"])["sourceServiceRevisions"] == []
    (service,) = _ecs().describe_services(cluster="c", services=["s"])["services"]
    assert (service["desiredCount"], service["runningCount"], service["pendingCount"]) == (2, 2, 0)

    _deploy("repo:v2")
    newest, older = _deployments()  # newest first, as ECS lists them
    assert older["serviceDeploymentArn"] == first["serviceDeploymentArn"]
    detail = _described(newest["serviceDeploymentArn"])
    assert _task_definition_of(detail["sourceServiceRevisions"][0]["arn"]) == "f:1"
    assert _task_definition_of(detail["targetServiceRevision"]["arn"]) == "f:2"
    assert newest["targetServiceRevisionArn"] == detail["targetServiceRevision"]["arn"]
    # Retained: CloudFormation's replacement left revision 1 ACTIVE, so a rollback can use it.
    assert _ecs().describe_task_definition(taskDefinition="f:1")["taskDefinition"]["status"] == "ACTIVE"

    _ecs().update_service(cluster="c", service="s", forceNewDeployment=True)
    restart = _described(_deployments()[0]["serviceDeploymentArn"])
    assert _task_definition_of(restart["sourceServiceRevisions"][0]["arn"]) == "f:2"
    assert _task_definition_of(restart["targetServiceRevision"]["arn"]) == "f:2"
    # A change of desired count alone is scaling, not a deployment.
    _ecs().update_service(cluster="c", service="s", desiredCount=3)
    assert len(_deployments()) == 3
    (service,) = _ecs().describe_services(cluster="c", services=["s"])["services"]
    assert (service["runningCount"], service["taskDefinition"]) == (
        3,
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/f:2",
    )


def test_deployments_page_and_filter_by_status(aws: None) -> None:
    _deploy("repo:v1", update=False)
    _deploy("repo:v2")
    first = _ecs().list_service_deployments(cluster="c", service="s", maxResults=1)
    assert len(first["serviceDeployments"]) == 1 and first["nextToken"]
    second = _ecs().list_service_deployments(
        cluster="c", service="s", maxResults=1, nextToken=first["nextToken"]
    )
    assert len(second["serviceDeployments"]) == 1 and "nextToken" not in second
    assert _deployments(status=["IN_PROGRESS"]) == []
    with pytest.raises(ClientError, match="ServiceNotFoundException"):
        _ecs().list_service_deployments(cluster="c", service="nope")
    missing = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/c/s/none"
    answer = _ecs().describe_service_deployments(serviceDeploymentArns=[missing])
    assert answer["serviceDeployments"] == [] and answer["failures"] == [
        {"arn": missing, "reason": "MISSING"}
    ]


def test_stop_rolls_an_in_flight_deployment_back(aws: None) -> None:
    _deploy("repo:v1", update=False)
    assert [d["status"] for d in _deployments()] == ["SUCCESSFUL"]
    with _held():
        _deploy("repo:v2")
        (in_flight,) = _deployments(status=["PENDING", "IN_PROGRESS"])
        arn = in_flight["serviceDeploymentArn"]
        with pytest.raises(ClientError, match="InvalidParameterException"):
            _ecs().stop_service_deployment(serviceDeploymentArn=arn, stopType="ABORT")
        answer = _ecs().stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
        assert answer["serviceDeploymentArn"] == arn
        stopping = _described(arn)
        assert stopping["status"] == "ROLLBACK_REQUESTED"  # held: on its way back
        # Back to the last successfully deployed revision.
        assert _task_definition_of(stopping["rollback"]["serviceRevisionArn"]) == "f:1"
        (service,) = _ecs().describe_services(cluster="c", services=["s"])["services"]
        assert service["taskDefinition"].endswith("task-definition/f:1")
        # Stopping a deployment already rolling back carries on with that rollback.
        _ecs().stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    assert _described(arn)["status"] == "ROLLBACK_SUCCESSFUL"
    # Completed: ECS refuses to stop it again.
    with pytest.raises(ClientError, match="ConflictException"):
        _ecs().stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    with pytest.raises(ClientError, match="ServiceDeploymentNotFoundException"):
        _ecs().stop_service_deployment(serviceDeploymentArn=arn + "x", stopType="ROLLBACK")


def test_a_newer_deployment_supersedes_one_in_flight(aws: None) -> None:
    _deploy("repo:v1", update=False)
    with _held():
        _deploy("repo:v2")
        _deploy("repo:v3")
        newest, superseded, _ = _deployments()
        assert superseded["status"] == "STOPPED"
        assert newest["status"] in ("PENDING", "IN_PROGRESS")


def test_a_replaced_revision_that_is_not_retained_is_inactive_and_refused(aws: None) -> None:
    _deploy("repo:v1", retain=False, update=False)
    _deploy("repo:v2", retain=False)
    assert _ecs().describe_task_definition(taskDefinition="f:1")["taskDefinition"]["status"] == "INACTIVE"
    with pytest.raises(ClientError) as refused:
        _ecs().update_service(cluster="c", service="s", taskDefinition="f:1")
    assert refused.value.response["Error"] == {
        "Code": "ClientException",
        "Message": "TaskDefinition is inactive",
    }
    with pytest.raises(ClientError, match=r"InvalidParameterException.*TaskDefinition is inactive"):
        _ecs().run_task(cluster="c", taskDefinition="f:1", launchType="FARGATE")


def _network() -> dict[str, Any]:
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # as the network stack's
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="g", Description="g", VpcId=vpc)["GroupId"]
    return {
        "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group], "assignPublicIp": "DISABLED"}
    }


def test_a_one_off_task_runs_every_container_to_completion(aws: None) -> None:
    """A Fargate definition whose containers leave memory to the task (moto crashed on it), an
    init container beside the app: the task stops, each container exits 0, each awslogs
    stream says that the emulator ran no image."""
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName="/ecs/x")
    ecs = _ecs()
    ecs.create_cluster(clusterName="c")

    def container(name: str, essential: bool) -> dict[str, Any]:
        return {
            "name": name,
            "image": f"repo/{name}:v1",
            "essential": essential,
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": "/ecs/x",
                    "awslogs-stream-prefix": "migrate",
                    "awslogs-region": REGION,
                },
            },
        }

    ecs.register_task_definition(
        family="m",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[container("bot", True), container("scratch-init", False)],
    )
    started = ecs.run_task(
        cluster="c", taskDefinition="m", launchType="FARGATE", startedBy="me", networkConfiguration=_network()
    )
    assert started["failures"] == []
    arn = started["tasks"][0]["taskArn"]
    task_id = arn.rsplit("/", 1)[-1]
    assert "exitCode" not in started["tasks"][0]["containers"][0]  # not before it stops
    (task,) = ecs.describe_tasks(cluster="c", tasks=[arn])["tasks"]
    assert (task["lastStatus"], task["desiredStatus"], task["stopCode"]) == (
        "STOPPED",
        "STOPPED",
        "EssentialContainerExited",
    )
    assert task["stoppedReason"] == "Essential container in task exited"
    assert sorted((c["name"], c["exitCode"], c["lastStatus"]) for c in task["containers"]) == [
        ("bot", 0, "STOPPED"),
        ("scratch-init", 0, "STOPPED"),
    ]
    assert ecs.list_tasks(cluster="c", startedBy="me", desiredStatus="STOPPED")["taskArns"] == [arn]
    for name in ("bot", "scratch-init"):
        (event,) = logs.get_log_events(logGroupName="/ecs/x", logStreamName=f"migrate/{name}/{task_id}")[
            "events"
        ]
        assert event["message"] == (
            f"[local emulator] container {name} (repo/{name}:v1) of task {task_id} did not run: "
            "the emulator records tasks and runs no image; exit code 0"
        )
    ecs.describe_tasks(cluster="c", tasks=[arn])  # read again: still one line per stream
    assert (
        len(logs.get_log_events(logGroupName="/ecs/x", logStreamName=f"migrate/bot/{task_id}")["events"]) == 1
    )


def test_a_vpc_keeps_its_dns_attributes(aws: None) -> None:
    """moto's VPC handler dropped them; tasks' network interfaces need the hostnames."""
    cfn = boto3.client("cloudformation", region_name=REGION)
    properties = {"CidrBlock": "10.0.0.0/16", "EnableDnsHostnames": True, "EnableDnsSupport": True}
    cfn.create_stack(
        StackName="v",
        TemplateBody=json.dumps({"Resources": {"Vpc": {"Type": "AWS::EC2::VPC", "Properties": properties}}}),
    )
    vpc = cfn.describe_stack_resources(StackName="v")["StackResources"][0]["PhysicalResourceId"]
    ec2 = boto3.client("ec2", region_name=REGION)
    assert ec2.describe_vpc_attribute(VpcId=vpc, Attribute="enableDnsHostnames")["EnableDnsHostnames"] == {
        "Value": True
    }


def test_a_family_without_revision_means_its_newest_active_revision(aws: None) -> None:
    _deploy("repo:v1", update=False)
    _deploy("repo:v2")
    _ecs().deregister_task_definition(taskDefinition="f:2")
    described = _ecs().describe_task_definition(taskDefinition="f")["taskDefinition"]
    assert (described["revision"], described["status"]) == (1, "ACTIVE")
    _ecs().update_service(cluster="c", service="s", taskDefinition="f")
    (service,) = _ecs().describe_services(cluster="c", services=["s"])["services"]
    assert service["taskDefinition"].endswith("task-definition/f:1")


def test_an_in_flight_deployment_waits_at_its_hook(aws: None) -> None:
    template = json.loads(_stack("repo:v1", retain=True))
    configuration = template["Resources"]["Service"]["Properties"]["DeploymentConfiguration"]
    configuration["LifecycleHooks"] = [
        {
            "HookTargetArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hook",
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/hook",
            "LifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
        }
    ]
    with _held(reads=1):  # each read moves it on: PENDING, then IN_PROGRESS
        boto3.client("cloudformation", region_name=REGION).create_stack(
            StackName="s", TemplateBody=json.dumps(template)
        )
        # Its ARN without reading it through the API (a read would move it on).
        (arn,) = deployments(ecs_backends[ACCOUNT][REGION]).deployments
        described = _described(arn)
        assert (described["status"], described["lifecycleStage"]) == (
            "IN_PROGRESS",
            "POST_TEST_TRAFFIC_SHIFT",
        )


# --- CreateService's load-balancer checks -------------------------------------------------------


def _balanced(*, listener: bool, port: int = 5000, mapped: bool = True) -> dict[str, Any]:
    """A VPC, a target group, optionally a load balancer whose listener forwards to it, and a
    service on the target group (container `app`, port mapping 5000)."""
    resources: dict[str, Any] = {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        "SubnetA": {
            "Type": "AWS::EC2::Subnet",
            "Properties": {
                "VpcId": {"Ref": "Vpc"},
                "CidrBlock": "10.0.0.0/24",
                "AvailabilityZone": "us-east-1a",
            },
        },
        "SubnetB": {
            "Type": "AWS::EC2::Subnet",
            "Properties": {
                "VpcId": {"Ref": "Vpc"},
                "CidrBlock": "10.0.1.0/24",
                "AvailabilityZone": "us-east-1b",
            },
        },
        "Targets": {
            "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
            "Properties": {"Port": 5000, "Protocol": "HTTP", "TargetType": "ip", "VpcId": {"Ref": "Vpc"}},
        },
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "c"}},
        "Task": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": "f",
                "Cpu": "256",
                "Memory": "512",
                "RequiresCompatibilities": ["FARGATE"],
                "NetworkMode": "awsvpc",
                "ContainerDefinitions": [
                    {
                        "Name": "app",
                        "Image": "i",
                        **({"PortMappings": [{"ContainerPort": 5000, "Protocol": "tcp"}]} if mapped else {}),
                    }
                ],
            },
        },
        "Service": {
            "Type": "AWS::ECS::Service",
            "Properties": {
                "ServiceName": "s",
                "Cluster": {"Ref": "Cluster"},
                "TaskDefinition": {"Ref": "Task"},
                "DesiredCount": 1,
                "LoadBalancers": [
                    {"ContainerName": "app", "ContainerPort": port, "TargetGroupArn": {"Ref": "Targets"}}
                ],
            },
        },
    }
    if listener:
        resources["Balancer"] = {
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {"Scheme": "internal", "Subnets": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]},
        }
        resources["Listener"] = {
            "Type": "AWS::ElasticLoadBalancingV2::Listener",
            "Properties": {
                "LoadBalancerArn": {"Ref": "Balancer"},
                "Port": 5000,
                "Protocol": "HTTP",
                "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "Targets"}}],
            },
        }
        resources["Service"]["DependsOn"] = ["Listener"]
    return resources


def test_a_service_on_a_target_group_behind_a_listener_is_created(aws: None) -> None:
    stack = create_stack(_balanced(listener=True))
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack_reasons()
    (service,) = _ecs().describe_services(cluster="c", services=["s"])["services"]
    assert [(b["containerName"], b["containerPort"]) for b in service["loadBalancers"]] == [("app", 5000)]


NO_PORT = "InvalidParameterException: The container app did not have a container port {} defined."


@pytest.mark.parametrize(
    ("listener", "port", "mapped", "message"),
    [
        (False, 5000, True, "does not have an associated load balancer."),
        (True, 8080, True, NO_PORT.format(8080)),
        (True, 5000, False, NO_PORT.format(5000)),
    ],
    ids=["no-load-balancer", "no-such-port", "no-port-mappings"],
)
def test_ecs_refuses_a_service_its_load_balancer_cannot_reach(
    aws: None, listener: bool, port: int, mapped: bool, message: str
) -> None:
    stack = create_stack(_balanced(listener=listener, port=port, mapped=mapped))
    reasons = stack_reasons()
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE", reasons
    assert any(message in reason for reason in reasons), reasons
