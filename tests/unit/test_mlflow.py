"""The MLflow tracking server's wiring (components/services/mlflow.py), by literal values: its
repository, its service and task, reachable only from the ml-service through the internal load
balancer's port 5000, its own database user's secret (rotated, read by the task and by the
bootstrap that sets its password), its artefacts under `models/`, its P2, and its start
program run as the container runs it. Production's DR region runs none."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from tests.support import one_resource, resources

ENVS = {"dev": "dev", "staging": "staging", "production": "prod"}
ACCOUNTS = {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}
START = Path(__file__).parents[2] / "components" / "services" / "mlflow_start.py"
# ECS Exec's Session Manager channels (ECS Developer Guide, "ECS Exec": the task role's policy).
EXEC_CHANNELS = {
    "Action": [
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
    ],
    "Effect": "Allow",
    "Resource": "*",
}


def _services(templates: dict[str, Any], token: str) -> dict[str, Any]:
    return templates[f"clever-better-{token}-services"]


def _container(template: dict[str, Any], prefix: str, name: str) -> dict[str, Any]:
    _, definition = one_resource(template, "AWS::ECS::TaskDefinition", prefix)
    (container,) = [c for c in definition["ContainerDefinitions"] if c["Name"] == name]
    return container


def test_its_repository_is_configured_as_the_services_and_not_replicated(templates: dict[str, Any]) -> None:
    registry = templates["clever-better-prod-registry"]
    repositories = {
        p["Properties"]["RepositoryName"]: p["Properties"]
        for p in resources(registry, "AWS::ECR::Repository").values()
    }
    assert sorted(repositories) == ["bot", "data-ingestion", "ml-service", "mlflow"]
    mlflow, bot = repositories.pop("mlflow"), repositories["bot"]
    assert mlflow["ImageTagMutability"] == "IMMUTABLE"
    assert mlflow["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert mlflow["EncryptionConfiguration"]["EncryptionType"] == "KMS"
    assert mlflow["LifecyclePolicy"] == bot["LifecyclePolicy"]
    (replication,) = resources(registry, "AWS::ECR::ReplicationConfiguration").values()
    (rule,) = replication["Properties"]["ReplicationConfiguration"]["Rules"]
    # The DR region runs no MLflow server: its image stays in the primary region.
    assert [f["Filter"] for f in rule["RepositoryFilters"]] == ["bot", "ml-service", "data-ingestion"]


@pytest.mark.parametrize(("env", "token"), ENVS.items())
def test_the_service_runs_one_exec_enabled_task_behind_port_5000(
    templates: dict[str, Any], env: str, token: str
) -> None:
    template = _services(templates, token)
    _, service = one_resource(template, "AWS::ECS::Service", "MlflowService")
    assert service["ServiceName"] == "mlflow"
    assert service["DesiredCount"] == 1
    assert service["EnableExecuteCommand"] is True
    assert service["DeploymentConfiguration"] == {
        "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
        "MaximumPercent": 200,
        "MinimumHealthyPercent": 100,
    }
    assert service["HealthCheckGracePeriodSeconds"] == 180
    assert service["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    (balancer,) = service["LoadBalancers"]
    target_id, target = one_resource(template, "AWS::ElasticLoadBalancingV2::TargetGroup", "MlflowTargets")
    assert balancer == {
        "ContainerName": "mlflow",
        "ContainerPort": 5000,
        "TargetGroupArn": {"Ref": target_id},
    }
    assert (target["Port"], target["Protocol"], target["TargetType"]) == (5000, "HTTP", "ip")
    assert (target["HealthCheckPath"], target["Matcher"]) == ("/health", {"HttpCode": "200"})
    _, listener = one_resource(
        template, "AWS::ElasticLoadBalancingV2::Listener", "InternalLoadBalancerMlflow"
    )
    assert (listener["Port"], listener["Protocol"]) == (5000, "HTTP")
    assert listener["DefaultActions"] == [{"TargetGroupArn": {"Ref": target_id}, "Type": "forward"}]
    internal_id, internal = one_resource(
        template, "AWS::ElasticLoadBalancingV2::LoadBalancer", "InternalLoadBalancer"
    )
    assert internal["Scheme"] == "internal"
    assert listener["LoadBalancerArn"] == {"Ref": internal_id}
    _, definition = one_resource(template, "AWS::ECS::TaskDefinition", "MlflowTask")
    assert definition["Family"] == f"clever-better-{token}-mlflow"
    assert (definition["Cpu"], definition["Memory"]) == ("512", "1024")
    assert definition["RuntimePlatform"] == {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}


@pytest.mark.parametrize(("env", "token"), ENVS.items())
def test_the_container_starts_mlflow_on_its_database_and_model_prefix(
    templates: dict[str, Any], env: str, token: str
) -> None:
    template = _services(templates, token)
    container = _container(template, "MlflowTask", "mlflow")
    # Our own repository, at the release's tag (synth's default, as the services'), by name.
    account = ACCOUNTS[token]
    assert container["Image"] == {
        "Fn::Join": ["", [f"{account}.dkr.ecr.us-east-1.", {"Ref": "AWS::URLSuffix"}, "/mlflow:bootstrap"]]
    }
    assert container["LogConfiguration"]["Options"]["awslogs-stream-prefix"] == "mlflow"
    _, group = one_resource(template, "AWS::Logs::LogGroup", "ServicesMlflowLogs")
    assert group["LogGroupName"] == f"/ecs/clever-better-{token}/mlflow"
    assert "LogsKey" in json.dumps(group["KmsKeyId"])
    assert container["User"] == "1000:1000"
    # ECS Exec's agent writes in the container's filesystem (AWS: no ECS Exec on a read-only root).
    assert container["ReadonlyRootFilesystem"] is False
    assert container["PortMappings"] == [{"ContainerPort": 5000, "Protocol": "tcp"}]
    assert container["HealthCheck"]["Command"] == [
        "CMD-SHELL",
        "curl -fsS --max-time 5 "
        "'http://127.0.0.1:5000/api/2.0/mlflow/experiments/get?experiment_id=0' "
        "> /dev/null || exit 1",
    ]
    assert container["Command"][:2] == ["python", "-c"]
    # ECS Exec's recommendation: an init process for the agent's sessions.
    assert container["LinuxParameters"] == {"Capabilities": {}, "InitProcessEnabled": True}
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    dns = {
        "Fn::GetAtt": [
            one_resource(template, "AWS::ElasticLoadBalancingV2::LoadBalancer", "InternalLoadBalancer")[0],
            "DNSName",
        ]
    }
    assert environment == {
        "ENVIRONMENT": env,
        # The instance, not the proxy (which admits only IAM users).
        "DB_HOST": {
            "Fn::ImportValue": f"clever-better-{token}-data:"
            "ExportsOutputFnGetAttDatabaseInstanceAA8A5FDEEndpointAddressC7EFCE05"
        },
        "DB_PORT": "5432",
        "DB_NAME": "mlflow",
        "MLFLOW_HOST": "0.0.0.0",
        "MLFLOW_PORT": "5000",
        "MLFLOW_SERVE_ARTIFACTS": "true",
        "MLFLOW_ARTIFACTS_DESTINATION": f"s3://clever-better-{token}-mlflow-{account}-us-east-1/models",
        "MLFLOW_SERVER_ALLOWED_HOSTS": {
            "Fn::Join": [
                "",
                [
                    dns,
                    ",",
                    dns,
                    ":5000,localhost,localhost:*,127.0.0.1,127.0.0.1:*",
                ],
            ]
        },
        "MLFLOW_SQLALCHEMYSTORE_POOLCLASS": "NullPool",
        "MLFLOW_WORKERS": "2",
    }
    secrets = {s["Name"]: s["ValueFrom"] for s in container["Secrets"]}
    assert sorted(secrets) == ["DB_PASSWORD", "DB_USERNAME"]
    for field in ("username", "password"):
        value = json.dumps(secrets[f"DB_{field.upper()}"])
        assert "DatabaseMlflowSecretAttachment" in value and value.endswith(f'":{field}::"]]}}')


def test_only_the_ml_service_reaches_it_and_it_reaches_only_its_database(templates: dict[str, Any]) -> None:
    template = _services(templates, "prod")
    groups = resources(template, "AWS::EC2::SecurityGroup")
    ids = {
        prefix: one_resource(template, "AWS::EC2::SecurityGroup", prefix)[0]
        for prefix in (
            "MlflowSecurityGroup",
            "MlServiceSecurityGroup",
            "InternalSecurityGroup",
            "BotSecurityGroup",
        )
    }
    on_5000 = [
        p
        for p in resources(template, "AWS::EC2::SecurityGroupIngress").values()
        if p["Properties"].get("FromPort") == 5000
    ]
    sources = sorted(
        (
            p["Properties"]["GroupId"]["Fn::GetAtt"][0],
            p["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0],
        )
        for p in on_5000
    )
    # The load balancer's port 5000 from the ml-service (and so its training runs) only; the
    # tasks' port 5000 from the load balancer only. The bot is not among them.
    assert sources == sorted(
        [
            (ids["InternalSecurityGroup"], ids["MlServiceSecurityGroup"]),
            (ids["MlflowSecurityGroup"], ids["InternalSecurityGroup"]),
        ]
    )
    egress = groups[ids["MlflowSecurityGroup"]]["Properties"]["SecurityGroupEgress"]
    assert egress == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "HTTPS out",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    to_database = [
        p["Properties"]
        for p in resources(template, "AWS::EC2::SecurityGroupEgress").values()
        if p["Properties"]["GroupId"] == {"Fn::GetAtt": [ids["MlflowSecurityGroup"], "GroupId"]}
    ]
    assert len(to_database) == 1
    assert (to_database[0]["FromPort"], to_database[0]["ToPort"]) == (5432, 5432)
    assert "DatabaseSecurityGroup" in json.dumps(to_database[0]["DestinationSecurityGroupId"])
    # The ml-service (and its training runs, with its task definition) finds it here.
    ml = _container(template, "MlServiceTask", "ml-service")
    (uri,) = [e["Value"] for e in ml["Environment"] if e["Name"] == "MLFLOW_TRACKING_URI"]
    dns = one_resource(template, "AWS::ElasticLoadBalancingV2::LoadBalancer", "InternalLoadBalancer")[0]
    assert uri == {"Fn::Join": ["", ["http://", {"Fn::GetAtt": [dns, "DNSName"]}, ":5000"]]}


def test_its_roles_read_its_secret_and_touch_only_models(templates: dict[str, Any]) -> None:
    template = _services(templates, "prod")
    policies = {
        k: p["Properties"]["PolicyDocument"]["Statement"]
        for k, p in resources(template, "AWS::IAM::Policy").items()
        if k.startswith("MlflowTask")
    }
    task = next(v for k, v in policies.items() if "TaskRole" in k)
    bucket = "arn:aws:s3:::clever-better-prod-mlflow-333333333333-us-east-1"
    key = {"Fn::ImportValue": "clever-better-prod-data:ExportsOutputFnGetAttDataKey17AFBB84ArnCE2A1BC6"}
    assert task == [
        EXEC_CHANNELS,
        {
            "Action": "s3:ListBucket",
            "Condition": {"StringLike": {"s3:prefix": ["models/*"]}},
            "Effect": "Allow",
            "Resource": bucket,
        },
        {
            "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            "Effect": "Allow",
            "Resource": f"{bucket}/models/*",
        },
        {"Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Effect": "Allow", "Resource": key},
    ]
    execution = next(v for k, v in policies.items() if "ExecutionRole" in k)
    (read,) = [
        s
        for s in execution
        if s["Action"] == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    ]
    assert read["Resource"] == {
        "Fn::ImportValue": "clever-better-prod-data:"
        "ExportsOutputRefDatabaseMlflowSecretAttachment0962EE669E324EAA"
    }
    (decrypt,) = [s for s in execution if s["Action"] == "kms:Decrypt"]
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    }
    assert decrypt["Resource"] == key  # the data key, which encrypts the secret


def test_its_database_user_is_made_by_the_bootstrap_and_rotated_every_90_days(
    templates: dict[str, Any],
) -> None:
    data = templates["clever-better-prod-data"]
    secret_id, secret = one_resource(data, "AWS::SecretsManager::Secret", "DatabaseMlflowSecret")
    assert secret["Name"] == "clever-better/prod/database-mlflow"
    assert json.loads(secret["GenerateSecretString"]["SecretStringTemplate"]) == {
        "username": "mlflow",
        "dbname": "mlflow",
    }
    assert [r["Region"] for r in secret["ReplicaRegions"]] == ["us-west-2"]
    assert data["Resources"][secret_id]["DeletionPolicy"] == "RetainExceptOnCreate"
    attachment_id, _ = one_resource(
        data, "AWS::SecretsManager::SecretTargetAttachment", "DatabaseMlflowSecretAttachment"
    )
    _, rotation = one_resource(
        data, "AWS::SecretsManager::RotationSchedule", "DatabaseMlflowSecretAttachmentRotation"
    )
    assert rotation["RotationRules"] == {"ScheduleExpression": "rate(90 days)"}
    assert rotation["RotateImmediatelyOnUpdate"] is False
    assert rotation["HostedRotationLambda"]["RotationType"] == "PostgreSQLSingleUser"
    assert rotation["HostedRotationLambda"]["RotationLambdaName"] == "clever-better-prod-db-mlflow-rotation"
    _, bootstrap = one_resource(data, "Custom::DatabaseBootstrap", "DatabaseRolesBootstrap")
    assert bootstrap["MlflowSecretArn"] == {"Ref": attachment_id}
    assert (bootstrap["MlflowDatabase"], bootstrap["MlflowUser"]) == ("mlflow", "mlflow")
    # The bootstrap reads the secret whose password it sets.
    _, managed = one_resource(data, "AWS::IAM::ManagedPolicy", "DatabaseRolesFunctionPolicy")
    policy = managed["PolicyDocument"]["Statement"]
    (read,) = [s for s in policy if "secretsmanager:GetSecretValue" in s["Action"]]
    assert {"Ref": attachment_id} in read["Resource"]
    # The rotation waits for the role it rotates.
    depends = data["Resources"][
        one_resource(data, "AWS::SecretsManager::RotationSchedule", "DatabaseMlflowSecretAttachmentRotation")[
            0
        ]
    ].get("DependsOn", [])
    assert [d for d in depends if d.startswith("DatabaseRolesBootstrap")]


def test_no_mlflow_task_running_is_p2_and_the_dr_region_runs_none(templates: dict[str, Any]) -> None:
    monitoring = templates["clever-better-prod-monitoring"]
    _, alarm = one_resource(monitoring, "AWS::CloudWatch::Alarm", "AlarmsMlflowUnavailable")
    assert alarm["AlarmName"] == "clever-better-prod-mlflow-unavailable-P2"
    assert (alarm["MetricName"], alarm["Namespace"], alarm["Statistic"]) == (
        "RunningTaskCount",
        "ECS/ContainerInsights",
        "Minimum",
    )
    assert alarm["Dimensions"] == [
        {"Name": "ClusterName", "Value": "clever-better-prod"},
        {"Name": "ServiceName", "Value": "mlflow"},
    ]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"], alarm["TreatMissingData"]) == (
        5,
        5,
        "breaching",
    )
    dr = _services(templates, "prod-dr")
    assert resources(dr, "AWS::ECS::Service"), "the DR services stack has its services"
    assert not [k for k in dr["Resources"] if k.startswith("Mlflow")]
    assert "mlflow" not in json.dumps(templates["clever-better-prod-dr-monitoring"]).lower()


@pytest.mark.parametrize("upgrade_exit", [0, 1], ids=["existing-store", "fresh-store"])
def test_the_start_program_upgrades_the_store_then_serves_with_an_encoded_uri(
    tmp_path: Path, upgrade_exit: int
) -> None:
    """Run as the container runs it (`python -c`), with a stand-in `mlflow` on PATH that records
    each call's argv and environment, and whose `db upgrade` exits `upgrade_exit` (1: a fresh
    store, whose tables `mlflow server` creates itself)."""
    calls = tmp_path / "calls.jsonl"
    fake = tmp_path / "mlflow"
    fake.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        f"with open({str(calls)!r}, 'a') as f:\n"
        "    f.write(json.dumps({'argv': sys.argv[1:], 'env': dict(os.environ)}) + '\\n')\n"
        f"sys.exit({upgrade_exit} if sys.argv[1:3] == ['db', 'upgrade'] else 0)\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    password = "p@ss:w/rd%?#&= '\"$(touch x)"
    environment = {
        "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}",
        "DB_USERNAME": "mlflow",
        "DB_PASSWORD": password,
        "DB_HOST": "clever-better-prod.abc.us-east-1.rds.amazonaws.com",
        "DB_PORT": "5432",
        "DB_NAME": "mlflow",
    }
    finished = subprocess.run(
        [sys.executable, "-c", START.read_text()],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout == b""
    assert finished.stderr.decode().splitlines() == (
        [
            "mlflow db upgrade exited 1: a fresh store (mlflow server creates it) or one it could not "
            "upgrade (mlflow server then refuses it)"
        ]
        if upgrade_exit
        else []
    )
    upgrade, serve = (json.loads(line) for line in calls.read_text().splitlines())
    assert serve["argv"] == ["server"]
    for call in (upgrade, serve):
        assert "DB_PASSWORD" not in call["env"]
    uri = urlsplit(serve["env"]["MLFLOW_BACKEND_STORE_URI"])
    # The upgrade's session alone lifts the instance's 60-second statement time-out.
    assert upgrade["argv"] == [
        "db",
        "upgrade",
        serve["env"]["MLFLOW_BACKEND_STORE_URI"] + "&options=-c%20statement_timeout%3D0",
    ]
    assert (uri.scheme, uri.hostname, uri.port, uri.path, uri.query) == (
        "postgresql",
        "clever-better-prod.abc.us-east-1.rds.amazonaws.com",
        5432,
        "/mlflow",
        "sslmode=require",
    )
    assert (unquote(uri.username or ""), unquote(uri.password or "")) == ("mlflow", password)
    assert not (tmp_path / "x").exists()


def test_every_exec_enabled_service_can_open_its_sessions(templates: dict[str, Any]) -> None:
    """AWS accepts ECS Exec on any service and fails each session later when the agent cannot
    run: its container's root filesystem must be writable (ECS Developer Guide, ECS Exec
    considerations) and its task role must open Session Manager's channels."""
    enabled = [
        (template, props)
        for template in templates.values()
        for props in (r["Properties"] for r in resources(template, "AWS::ECS::Service").values())
        if props.get("EnableExecuteCommand")
    ]
    # The MLflow server in each of the three environments, and nothing else.
    assert sorted(props["ServiceName"] for _, props in enabled) == ["mlflow", "mlflow", "mlflow"]
    for template, props in enabled:
        definition = template["Resources"][props["TaskDefinition"]["Ref"]]["Properties"]
        essential = [c for c in definition["ContainerDefinitions"] if c.get("Essential", True)]
        assert essential and all(c["ReadonlyRootFilesystem"] is False for c in essential)
        role = definition["TaskRoleArn"]["Fn::GetAtt"][0]
        statements = [
            s
            for p in resources(template, "AWS::IAM::Policy").values()
            if {"Ref": role} in p["Properties"]["Roles"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        ]
        assert EXEC_CHANNELS in statements
