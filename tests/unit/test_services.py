"""The services stack in every environment: cluster, services, blue/green wiring, edge, least
privilege, and the aws-cdk#36649 guard (a new image tag touches task definitions only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import config
from tests.support import PREFIXES, resources, synth

CONFIGS = {c.name: c for c in config.load()}
BLUE_GREEN = ("bot", "ml-service")
# README's configuration reference and the runbook, literally (not read from CONFIGS).
LOG_RETENTION_DAYS = {"dev": 14, "staging": 30, "production": 90}
BAKE_TIME_MINUTES = {"dev": 5, "staging": 10, "production": 15}
DELETION_PROTECTION = {"dev": "false", "staging": "true", "production": "true"}
APPROVAL_GATE = {"dev": False, "staging": False, "production": True}


def _template(templates: dict[str, Any], env: str) -> dict[str, Any]:
    return templates[f"{PREFIXES[env]}-services"]


def _services(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Properties"]["ServiceName"]: s for s in resources(template, "AWS::ECS::Service").values()}


def _by_ref(template: dict[str, Any], value: Any) -> dict[str, Any]:
    key = value["Ref"] if "Ref" in value else value["Fn::GetAtt"][0]
    return dict(template["Resources"][key])


@pytest.mark.parametrize("env", sorted(PREFIXES))
def test_cluster(templates: dict[str, Any], env: str) -> None:
    template = _template(templates, env)
    ((_, cluster),) = resources(template, "AWS::ECS::Cluster").items()
    assert cluster["Properties"]["ClusterName"] == PREFIXES[env]  # runbook: --cluster clever-better-prod
    assert cluster["Properties"]["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enhanced"}]


@pytest.mark.parametrize("env", sorted(PREFIXES))
def test_service_log_groups(templates: dict[str, Any], env: str) -> None:
    template = _template(templates, env)
    groups = {g["Properties"]["LogGroupName"]: g for g in resources(template, "AWS::Logs::LogGroup").values()}
    prefix = PREFIXES[env]
    assert sorted(groups) == sorted(
        [
            *(f"/ecs/{prefix}/{s}" for s in ("bot", "data-ingestion", "ml-service", "mlflow")),
            *(f"/aws/lambda/{prefix}-{s}-deployment-hook" for s in BLUE_GREEN),
            f"/aws/lambda/{prefix}-training",
            f"aws-waf-logs-{prefix}",
        ]
    )
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == LOG_RETENTION_DAYS[env]
        assert group["Properties"]["KmsKeyId"]["Fn::GetAtt"][0].startswith("LogsKey")
        assert group["DeletionPolicy"] == ("RetainExceptOnCreate" if env == "production" else "Delete")


def test_services_stack_is_stateless(assembly_dir: Any, templates: dict[str, Any]) -> None:
    manifest = json.loads((assembly_dir / "assembly-production" / "manifest.json").read_text())
    (artifact,) = [a for a in manifest["artifacts"].values() if a.get("displayName") == "production/services"]
    assert not artifact["properties"].get("terminationProtection", False)


@pytest.mark.parametrize("env", sorted(PREFIXES))
def test_services_deploy_blue_green_with_hook_alarms_and_bake_time(
    templates: dict[str, Any], env: str
) -> None:
    template = _template(templates, env)
    cfg = CONFIGS[env]
    services = _services(template)
    assert sorted(services) == ["bot", "data-ingestion", "ml-service", "mlflow"]
    services.pop("mlflow")  # rolling, behind its own listener: tests/unit/test_mlflow.py
    for name, service in services.items():
        props = service["Properties"]
        deployment = props["DeploymentConfiguration"]
        assert props["DesiredCount"] == cfg.services[name].desired_count
        assert props["LaunchType"] == "FARGATE"
        assert props["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
        # A failing health check rolls back (old tasks keep serving).
        assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
        assert deployment["MinimumHealthyPercent"] == 100
        if name not in BLUE_GREEN:
            assert "Strategy" not in deployment and not props.get("LoadBalancers")
            continue
        assert deployment["Strategy"] == "BLUE_GREEN"
        assert deployment["BakeTimeInMinutes"] == BAKE_TIME_MINUTES[env]
        # A tripped alarm during the deployment or the bake rolls back.
        assert deployment["Alarms"] == {
            "AlarmNames": [
                f"{PREFIXES[cfg.name]}-{name}-deploy-{k}" for k in ("5xx", "latency", "unhealthy")
            ],
            "Enable": True,
            "Rollback": True,
        }
        # A failing smoke test fails the hook on the test-traffic stage, before production moves.
        (hook,) = deployment["LifecycleHooks"]
        assert hook["LifecycleStages"] == ["POST_TEST_TRAFFIC_SHIFT"]
        function = _by_ref(template, hook["HookTargetArn"])
        assert function["Properties"]["FunctionName"] == f"{PREFIXES[cfg.name]}-{name}-deployment-hook"
        invoke_role = _by_ref(template, hook["RoleArn"])
        assert invoke_role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
            "Service": "ecs.amazonaws.com"
        }
        (target,) = props["LoadBalancers"]
        advanced = target["AdvancedConfiguration"]
        blue, green = target["TargetGroupArn"]["Ref"], advanced["AlternateTargetGroupArn"]["Ref"]
        for rule_key in ("ProductionListenerRule", "TestListenerRule"):
            rule = _by_ref(template, advanced[rule_key])
            (action,) = rule["Properties"]["Actions"]
            assert action["ForwardConfig"]["TargetGroups"] == [
                {"TargetGroupArn": {"Ref": blue}, "Weight": 100},
                {"TargetGroupArn": {"Ref": green}, "Weight": 0},
            ]
            assert "Tags" not in rule["Properties"]  # a tag change must never update the rule
        for group in (blue, green):
            health = template["Resources"][group]["Properties"]
            assert health["HealthCheckPath"] == "/health" and health["TargetType"] == "ip"


@pytest.mark.parametrize("env", sorted(PREFIXES))
def test_deployment_alarms_are_measured_at_the_load_balancer(templates: dict[str, Any], env: str) -> None:
    template = _template(templates, env)
    cfg = CONFIGS[env]
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if "AlarmName" in a["Properties"]  # scaling alarms go unnamed
    }
    for service in BLUE_GREEN:
        five_xx = alarms[f"{PREFIXES[cfg.name]}-{service}-deploy-5xx"]
        metrics = {m["Id"]: m for m in five_xx["Metrics"]}
        assert metrics["errors"]["MetricStat"]["Metric"]["MetricName"] == "HTTPCode_Target_5XX_Count"
        assert [d["Name"] for d in metrics["errors"]["MetricStat"]["Metric"]["Dimensions"]] == [
            "LoadBalancer"
        ]
        assert five_xx["Threshold"] == cfg.deployment.alarm_5xx_percent
        latency = alarms[f"{PREFIXES[cfg.name]}-{service}-deploy-latency"]
        assert latency["ExtendedStatistic"] == "p95" and latency["MetricName"] == "TargetResponseTime"
        assert [d["Name"] for d in latency["Dimensions"]] == ["LoadBalancer"]
        assert latency["Threshold"] == cfg.deployment.alarm_p95_latency_ms / 1000
        unhealthy = alarms[f"{PREFIXES[cfg.name]}-{service}-deploy-unhealthy"]
        groups = [m for m in unhealthy["Metrics"] if "MetricStat" in m]
        assert len(groups) == 2  # blue and green, whichever is live
        assert unhealthy["Threshold"] == 0
        for alarm in (five_xx, latency, unhealthy):
            assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
            assert alarm["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize("env", sorted(PREFIXES))
def test_replaced_task_definitions_stay_active_for_rollback(templates: dict[str, Any], env: str) -> None:
    """CloudFormation deregisters a replaced revision unless retained, and ECS refuses to move a
    service back to an INACTIVE one: `make rollback` after a finished release needs them kept."""
    definitions = resources(_template(templates, env), "AWS::ECS::TaskDefinition")
    assert len(definitions) == 5  # the three services, the migration, MLflow
    for name, definition in definitions.items():
        assert (definition.get("UpdateReplacePolicy"), definition.get("DeletionPolicy")) == (
            "Retain",
            "RetainExceptOnCreate",
        ), name


@pytest.mark.parametrize("env", sorted(PREFIXES))
def test_task_definitions(templates: dict[str, Any], env: str) -> None:
    template = _template(templates, env)
    cfg = CONFIGS[env]
    definitions = {
        d["Properties"]["Family"]: d["Properties"]
        for d in resources(template, "AWS::ECS::TaskDefinition").values()
    }
    assert sorted(definitions) == sorted(
        f"{PREFIXES[cfg.name]}-{s}" for s in ("bot", "ml-service", "data-ingestion", "migrate", "mlflow")
    )
    for family, props in definitions.items():
        service = family.removeprefix(f"{PREFIXES[cfg.name]}-")
        if service == "mlflow":
            # Its own size, start, secrets and writable root: tests/unit/test_mlflow.py. Its /tmp
            # is prepared as the others'.
            containers = {c["Name"]: c for c in props["ContainerDefinitions"]}
            _assert_scratch_is_prepared(props, containers["scratch-init"], containers["mlflow"])
            continue
        size = cfg.services["bot" if service == "migrate" else service]
        assert props["RuntimePlatform"] == {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}
        assert (props["Cpu"], props["Memory"]) == (str(size.cpu), str(size.memory_mib))
        app_name = "bot" if service == "migrate" else service
        containers = {c["Name"]: c for c in props["ContainerDefinitions"]}
        assert sorted(containers) == sorted([app_name, "scratch-init"])
        container, init = containers[app_name], containers["scratch-init"]
        assert container["User"] == "1000:1000" and container["ReadonlyRootFilesystem"] is True
        _assert_scratch_is_prepared(props, init, container)
        assert container["Image"]["Fn::Join"][1][-1].endswith(f":{cfg.deployment.image_tag}")
        logs = container["LogConfiguration"]["Options"]
        assert logs["awslogs-stream-prefix"] == ("migrate" if service == "migrate" else service)
        env_names = {e["Name"] for e in container.get("Environment", [])}
        secret_names = {s["Name"] for s in container["Secrets"]}
        assert not any(word in n for n in env_names for word in ("PASSWORD", "KEY", "SECRET"))
        assert "CONFIG" in secret_names
        if service == "migrate":
            assert container["Command"] == list(cfg.deployment.migration_command)
            assert "HealthCheck" not in container
            assert {"DB_USERNAME", "DB_PASSWORD"} <= secret_names and "DB_NAME" in env_names
        else:
            assert container["HealthCheck"]["Command"][0] == "CMD-SHELL"
            assert ("BETFAIR_APP_KEY" in secret_names) == (service in ("bot", "data-ingestion"))
            assert {"DB_HOST", "DB_NAME", "DB_USERNAME"} <= env_names and not any(
                "DB_" in n for n in secret_names
            )


def _assert_scratch_is_prepared(props: dict[str, Any], init: dict[str, Any], app: dict[str, Any]) -> None:
    """Fargate creates the /tmp bind mount root-owned, mode 0755: a non-essential container of
    the same image, root with CHOWN as its only capability, hands it to uid 1000, and the app
    starts only after that succeeded. Both mount the same volume."""
    assert props["Volumes"] == [{"Name": "tmp"}]
    scratch = [{"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"}]
    assert init["MountPoints"] == scratch and app["MountPoints"] == scratch
    assert init["Name"] == "scratch-init"
    assert init["Essential"] is False and app["Essential"] is True
    assert init["Image"] == app["Image"]
    assert (init["User"], init["ReadonlyRootFilesystem"]) == ("0", True)
    assert (init["EntryPoint"], init["Command"]) == (["chown"], ["1000:1000", "/tmp"])
    assert init["LinuxParameters"]["Capabilities"] == {
        "Drop": [
            "AUDIT_WRITE",
            "DAC_OVERRIDE",
            "FOWNER",
            "FSETID",
            "KILL",
            "MKNOD",
            "NET_BIND_SERVICE",
            "NET_RAW",
            "SETFCAP",
            "SETGID",
            "SETPCAP",
            "SETUID",
            "SYS_CHROOT",
        ]
    }
    assert "HealthCheck" not in init and "PortMappings" not in init and "Secrets" not in init
    assert init["LogConfiguration"] == app["LogConfiguration"]
    assert app["DependsOn"] == [{"Condition": "SUCCESS", "ContainerName": "scratch-init"}]


def _role_statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """Every statement a role is granted: policies naming it, its managed policies, inline ones."""
    found = template["Resources"][role]["Properties"]
    attached = [arn["Ref"] for arn in found.get("ManagedPolicyArns", []) if "Ref" in arn]
    assert len(attached) == len(found.get("ManagedPolicyArns", [])), "an AWS managed policy on a task role"
    documents = [p["PolicyDocument"] for p in found.get("Policies", [])]
    for key, resource in template["Resources"].items():
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and (
            {"Ref": role} in resource["Properties"].get("Roles", []) or key in attached
        ):
            documents.append(resource["Properties"]["PolicyDocument"])
    return [s for d in documents for s in d["Statement"]]


# Family suffix -> the task role's complete actions (the migration gets its database credentials
# as container secrets, through the execution role; its task role grants nothing).
TASK_ROLE_ACTIONS = {
    # The trading-halt parameter (tests/unit/test_alerting.py holds which one).
    "bot": {"rds-db:connect", "ssm:GetParameter"},
    "data-ingestion": {"rds-db:connect"},
    "ml-service": {
        "rds-db:connect",
        "s3:ListBucket",
        "s3:GetObject",
        "s3:PutObject",
        "kms:Decrypt",
        "kms:GenerateDataKey",
    },
    "migrate": set(),
    # ECS Exec's channels (make mlflow-ui), and its artefacts under models/.
    "mlflow": {
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
        "s3:ListBucket",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "kms:Decrypt",
        "kms:GenerateDataKey",
    },
}


@pytest.mark.parametrize("env", sorted(PREFIXES))
def test_task_roles_are_least_privilege(templates: dict[str, Any], env: str) -> None:
    template = _template(templates, env)
    definitions = [t["Properties"] for t in resources(template, "AWS::ECS::TaskDefinition").values()]
    roles = {
        d["Family"].removeprefix(f"{PREFIXES[env]}-"): d["TaskRoleArn"]["Fn::GetAtt"][0] for d in definitions
    }
    assert sorted(roles) == sorted(TASK_ROLE_ACTIONS)
    for family, role in roles.items():
        statements = _role_statements(template, role)
        assert all(s["Effect"] == "Allow" for s in statements), family
        actions = {
            a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        }
        assert actions == TASK_ROLE_ACTIONS[family], family
        resources_ = json.dumps(
            [s["Resource"] for s in statements if not s["Action"][0].startswith("ssmmessages:")]
        )
        # ssmmessages has no resource types: * is its only resource (tests/unit/iam_allow_list.py).
        assert '"*"' not in resources_, family
        if family == "ml-service":
            assert f"{PREFIXES[env]}-mlflow-" in resources_ and "backups" not in resources_


@pytest.mark.parametrize("env", sorted(PREFIXES))
def test_public_edge(templates: dict[str, Any], env: str) -> None:
    template = _template(templates, env)
    cfg = CONFIGS[env]
    balancers = {
        lb["Properties"]["Name"]: lb["Properties"]
        for lb in resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    }
    public, internal = balancers[PREFIXES[cfg.name]], balancers[f"{PREFIXES[cfg.name]}-ml"]
    assert public["Scheme"] == "internet-facing" and internal["Scheme"] == "internal"
    for lb in (public, internal):
        attributes = {a["Key"]: a["Value"] for a in lb["LoadBalancerAttributes"]}
        assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
        assert attributes["access_logs.s3.enabled"] == "true"
        assert attributes["deletion_protection.enabled"] == DELETION_PROTECTION[env]
    listeners = [
        listener["Properties"]
        for listener in resources(template, "AWS::ElasticLoadBalancingV2::Listener").values()
    ]
    https = [listener for listener in listeners if listener["Port"] == 443]
    assert len(https) == 1 and https[0]["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
    (redirect,) = [
        listener
        for listener in listeners
        if listener["Port"] == 80 and listener["DefaultActions"][0]["Type"] == "redirect"
    ]
    assert redirect["DefaultActions"][0]["RedirectConfig"]["Port"] == "443"
    ((_, certificate),) = resources(template, "AWS::CertificateManager::Certificate").items()
    assert certificate["Properties"]["DomainName"] == cfg.domain_name
    assert certificate["Properties"]["ValidationMethod"] == "DNS"
    ((_, acl),) = resources(template, "AWS::WAFv2::WebACL").items()
    rules = {r["Name"]: r for r in acl["Properties"]["Rules"]}
    assert rules["PerIpRateLimit"]["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "Limit": cfg.deployment.waf_requests_per_5_minutes,
    }
    assert {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"} <= set(rules)
    ((_, association),) = resources(template, "AWS::WAFv2::WebACLAssociation").items()
    assert association["Properties"]["ResourceArn"]["Ref"] in {
        k
        for k, v in resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer").items()
        if v["Properties"]["Name"] == PREFIXES[cfg.name]
    }


@pytest.mark.parametrize("env", sorted(PREFIXES))
def test_approval_gate_only_where_configured(templates: dict[str, Any], env: str) -> None:
    template = _template(templates, env)
    parameters = {
        p["Properties"]["Name"]: p["Properties"] for p in resources(template, "AWS::SSM::Parameter").values()
    }
    hooks = [
        f
        for f in resources(template, "AWS::Lambda::Function").values()
        if "deployment-hook" in f["Properties"]["FunctionName"]
    ]
    assert len(hooks) == 2
    if APPROVAL_GATE[env]:
        # The names `make approve` writes (literal: a drift in config/names.py must fail here).
        assert sorted(parameters) == [
            "/clever-better/prod/deploy/bot/approved-revision",
            "/clever-better/prod/deploy/ml-service/approved-revision",
        ]
        assert all(p["Value"] == "none" for p in parameters.values())
        for hook in hooks:
            variables = hook["Properties"]["Environment"]["Variables"]
            assert variables["APPROVAL_TIMEOUT_SECONDS"] == "3600"
    else:
        assert parameters == {}
        assert all("APPROVAL_PARAMETER" not in h["Properties"]["Environment"]["Variables"] for h in hooks)


def test_ml_service_scales_on_cpu_and_requests(templates: dict[str, Any]) -> None:
    template = _template(templates, "production")
    ((_, target),) = resources(template, "AWS::ApplicationAutoScaling::ScalableTarget").items()
    size = CONFIGS["production"].services["ml-service"]
    assert (target["Properties"]["MinCapacity"], target["Properties"]["MaxCapacity"]) == (
        size.desired_count,
        size.max_count,
    )
    types = sorted(
        p["Properties"]["PolicyType"]
        for p in resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    )
    assert types == ["StepScaling", "StepScaling", "TargetTrackingScaling"]


@pytest.fixture(scope="module")
def retagged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return synth(
        Path(tmp_path_factory.mktemp("retagged")), {"environments": "production", "image_tag": "v2.0.1"}
    )


def test_new_image_tag_touches_only_task_definitions(
    templates: dict[str, Any], retagged: dict[str, Any]
) -> None:
    """aws-cdk#36649: once ECS owns the listener rules' weights, a CDK update of a rule rewrites
    them. Redeploying with only a new image tag must leave every listener and rule (and every
    other resource) byte-identical; only task definitions change."""
    for name, after in retagged.items():
        before = templates[name]
        changed = sorted(
            k
            for k in set(before["Resources"]) | set(after["Resources"])
            if json.dumps(before["Resources"].get(k), sort_keys=True)
            != json.dumps(after["Resources"].get(k), sort_keys=True)
        )
        if name.endswith("-services"):
            assert changed and all(
                before["Resources"][k]["Type"] == "AWS::ECS::TaskDefinition" for k in changed
            ), changed
            for kind in (
                "AWS::ElasticLoadBalancingV2::Listener",
                "AWS::ElasticLoadBalancingV2::ListenerRule",
            ):
                assert json.dumps(resources(before, kind), sort_keys=True) == json.dumps(
                    resources(after, kind), sort_keys=True
                )
            assert any(":v2.0.1" in json.dumps(after["Resources"][k]) for k in changed)
        else:
            assert changed == [], (name, changed)


# Production's account and region (config/environments.py): literal, so a drift fails here.
PRODUCTION_ECS = "arn:aws:ecs:us-east-1:333333333333"


# Each environment's account and cluster, as the hooks' ECS grants spell them.
HOOK_ECS = {
    "dev": ("arn:aws:ecs:us-east-1:111111111111", "clever-better-dev"),
    "staging": ("arn:aws:ecs:us-east-1:222222222222", "clever-better-staging"),
    "production": (PRODUCTION_ECS, "clever-better-prod"),
    "production-dr": ("arn:aws:ecs:us-west-2:333333333333", "clever-better-prod"),
}


@pytest.mark.parametrize("env", sorted(HOOK_ECS))
def test_hook_may_describe_only_its_own_deployments(templates: dict[str, Any], env: str) -> None:
    """Every hook asks ECS about its deployment: whether a green revision that failed its smoke
    test runs any task (the DR pilot light runs none) and, behind the gate, whether it is the
    service's first. DescribeServiceDeployments on its own service and that service's
    deployments only (the action authorizes on both)."""
    name = "clever-better-prod-dr-services" if env == "production-dr" else f"{PREFIXES[env]}-services"
    template = templates[name]
    policies = {
        key: p["Properties"]["PolicyDocument"]["Statement"]
        for key, p in resources(template, "AWS::IAM::ManagedPolicy").items()
        if "DeploymentHookPolicy" in key
    }
    assert len(policies) == 2 and all(
        k.startswith(("BotDeployment", "MlServiceDeployment")) for k in policies
    )
    granted = {}
    for key, statements in policies.items():
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a.startswith("ecs:") for a in actions):
                granted[key.startswith("Bot")] = (actions, sorted(statement["Resource"]))
    arn, cluster = HOOK_ECS[env]
    assert granted == {
        service == "bot": (
            ["ecs:DescribeServiceDeployments"],
            [f"{arn}:service-deployment/{cluster}/{service}/*", f"{arn}:service/{cluster}/{service}"],
        )
        for service in BLUE_GREEN
    }


def test_the_pilot_light_deploys_without_the_approval_gate(templates: dict[str, Any]) -> None:
    """It deploys, at 0 tasks, the release production's gate let through in the same deploy."""
    template = templates["clever-better-prod-dr-services"]
    hooks = [
        f["Properties"]["Environment"]["Variables"]
        for f in resources(template, "AWS::Lambda::Function").values()
        if "deployment-hook" in f["Properties"]["FunctionName"]
    ]
    assert len(hooks) == 2 and not any("APPROVAL_PARAMETER" in v for v in hooks)
    parameters = [p["Properties"]["Name"] for p in resources(template, "AWS::SSM::Parameter").values()]
    assert parameters == ["/clever-better/prod/trading/halted"]
