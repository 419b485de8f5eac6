"""Our Lambdas in every template: what Lambda needs to attach them to the VPC, in place before
they are created, and no reserved concurrency unless configured."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import aws_cdk as cdk
import pytest

import config
from config.model import FunctionsConfig
from stacks.stages import EnvironmentStage
from tests.support import CDK_CONTEXT, LAMBDA_VPC_ACTIONS, resources

ENI_ACTIONS = set(LAMBDA_VPC_ACTIONS)
# Per environment: the database bootstrap, the Betfair rotation, the two blue/green hooks, the
# drift check, the alarm router and the trading halt.
VPC_FUNCTIONS = {
    "clever-better-dev-data": ["DatabaseRolesFunctionA506F2E1", "MaintenanceFunction890D8092"],
    "clever-better-staging-data": ["DatabaseRolesFunctionA506F2E1", "MaintenanceFunction890D8092"],
    "clever-better-prod-data": ["DatabaseRolesFunctionA506F2E1", "MaintenanceFunction890D8092"],
    "clever-better-dev-secrets": ["SecretsRotationD41C424E"],
    "clever-better-dev-services": [
        "BotDeploymentHook3CA61010",
        "MlServiceDeploymentHookC1D6BF81",
        "TrainingFunctionCE66B9CE",
    ],
    "clever-better-staging-secrets": ["SecretsRotationD41C424E"],
    "clever-better-staging-services": [
        "BotDeploymentHook3CA61010",
        "MlServiceDeploymentHookC1D6BF81",
        "TrainingFunctionCE66B9CE",
    ],
    "clever-better-prod-secrets": ["SecretsRotationD41C424E"],
    "clever-better-prod-services": [
        "BotDeploymentHook3CA61010",
        "MlServiceDeploymentHookC1D6BF81",
        "TrainingFunctionCE66B9CE",
    ],
    # The DR pilot light's blue/green hooks (its VPC has one zone's interface endpoints for them).
    "clever-better-prod-dr-services": ["BotDeploymentHook3CA61010", "MlServiceDeploymentHookC1D6BF81"],
    "clever-better-dev-monitoring": ["DriftCheckFunction784DF828"],
    "clever-better-staging-monitoring": ["DriftCheckFunction784DF828"],
    "clever-better-prod-monitoring": ["DriftCheckFunction784DF828"],
    "clever-better-dev-alerting": [
        "DailyReportFunction993BAE39",
        "HaltFunctionC50CE058",
        "RouterFunction0F681190",
    ],
    "clever-better-staging-alerting": [
        "DailyReportFunction993BAE39",
        "HaltFunctionC50CE058",
        "RouterFunction0F681190",
    ],
    "clever-better-prod-alerting": [
        "DailyReportFunction993BAE39",
        "HaltFunctionC50CE058",
        "RouterFunction0F681190",
    ],
    # The DR region's alarm router and trading halt (egress through its one NAT gateway).
    "clever-better-prod-dr-alerting": ["HaltFunctionC50CE058", "RouterFunction0F681190"],
}
# Token -> (account, private subnets).
ENVIRONMENTS = {"dev": ("111111111111", 2), "staging": ("222222222222", 2), "prod": ("333333333333", 3)}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _vpc_functions(templates: dict[str, Any]) -> dict[str, list[str]]:
    return {
        name: sorted(
            k
            for k, f in resources(template, "AWS::Lambda::Function").items()
            if "VpcConfig" in f["Properties"]
        )
        for name, template in templates.items()
        if any("VpcConfig" in f["Properties"] for f in resources(template, "AWS::Lambda::Function").values())
    }


def _role_statements(template: dict[str, Any], function_id: str) -> tuple[str, list[dict[str, Any]]]:
    """The function's role and the statements of every policy that role has when it is created."""
    role_id = template["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    role = template["Resources"][role_id]["Properties"]
    assert "Policies" not in role, "no inline policies"
    statements = []
    for arn in role["ManagedPolicyArns"]:
        policy = template["Resources"][arn["Ref"]]
        assert policy["Type"] == "AWS::IAM::ManagedPolicy"
        statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return role_id, statements


def test_every_vpc_function_is_one_of_ours(templates: dict[str, Any]) -> None:
    assert _vpc_functions(templates) == VPC_FUNCTIONS


def test_every_vpc_function_role_grants_the_eni_actions_before_the_function_exists(
    templates: dict[str, Any],
) -> None:
    for name, function_ids in _vpc_functions(templates).items():
        template = templates[name]
        for function_id in function_ids:
            role_id, statements = _role_statements(template, function_id)
            allowed = {
                action for s in statements if s["Effect"] == "Allow" for action in _listed(s["Action"])
            }
            assert allowed >= ENI_ACTIONS, (name, function_id, ENI_ACTIONS - allowed)
            # Attached through the role's ManagedPolicyArns (the role is complete only with
            # them), and the function waits for the role: no AWS::IAM::Policy attached later.
            assert role_id in _listed(template["Resources"][function_id]["DependsOn"])
            assert not [
                p
                for p in resources(template, "AWS::IAM::Policy").values()
                if {"Ref": role_id} in p["Properties"].get("Roles", [])
            ]


def test_vpc_access_is_scoped_where_ec2_allows(templates: dict[str, Any]) -> None:
    for name, function_ids in _vpc_functions(templates).items():
        account, subnets = ENVIRONMENTS[name.split("-")[2]]
        arn = f"arn:aws:ec2:{'us-west-2' if '-dr-' in name else 'us-east-1'}:{account}"
        for function_id in function_ids:
            _, statements = _role_statements(templates[name], function_id)
            by_action = {tuple(sorted(_listed(s["Action"]))): s for s in statements}
            assert by_action[("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")] == {
                "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
                "Effect": "Allow",
                "Resource": "*",
            }
            assert by_action[("ec2:DeleteNetworkInterface",)] == {
                "Action": "ec2:DeleteNetworkInterface",
                "Effect": "Allow",
                "Resource": f"{arn}:*/*",
            }
            create = by_action[("ec2:CreateNetworkInterface",)]
            # The new interface, the function's security group and its private subnets.
            assert create["Effect"] == "Allow" and len(create["Resource"]) == 2 + subnets
            assert create["Resource"][0] == f"{arn}:network-interface/*"
            assert create["Resource"][1]["Fn::Join"][1][0] == f"{arn}:security-group/"
            assert [r["Fn::Join"][1][0] for r in create["Resource"][2:]] == [f"{arn}:subnet/"] * subnets
            addresses = by_action[("ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses")]
            assert addresses["Resource"] == f"{arn}:network-interface/*"
            assert addresses["Condition"]["ArnEquals"]["ec2:Subnet"] == create["Resource"][2:]
            deny = by_action[tuple(sorted(ENI_ACTIONS))]
            assert deny["Effect"] == "Deny" and deny["Resource"] == "*"
            assert deny["Condition"] == {"Null": {"lambda:SourceFunctionArn": "false"}}


def test_no_reserved_concurrency_by_default(templates: dict[str, Any]) -> None:
    functions = [f for t in templates.values() for f in resources(t, "AWS::Lambda::Function").values()]
    assert len(functions) == 38  # 34 of ours (4 in the DR region), 4 CDK custom-resource providers
    for function in functions:
        assert "ReservedConcurrentExecutions" not in function["Properties"]


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Dev with what the defaults leave unset: reserved concurrency, and a training task size."""
    dev = config.load(("dev",))[0]
    variant = replace(
        dev,
        functions=FunctionsConfig(
            deployment_hook_reserved_concurrency=2, betfair_rotation_reserved_concurrency=1
        ),
        deployment=replace(dev.deployment, training_cpu=2048, training_memory_mib=8192),
    )
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("configured")), context=CDK_CONTEXT)
    stage = EnvironmentStage(app, config=variant)
    return app.synth().get_nested_assembly(f"assembly-{stage.stage_name}")


def test_configured_reserved_concurrency_reaches_each_function(configured: Any) -> None:
    assembly = configured
    reserved = {
        (stack.stack_name, function_id): function["Properties"].get("ReservedConcurrentExecutions")
        for stack in assembly.stacks
        for function_id, function in resources(stack.template, "AWS::Lambda::Function").items()
        if "VpcConfig" in function["Properties"]
    }
    assert reserved == {
        ("clever-better-dev-data", "DatabaseRolesFunctionA506F2E1"): None,  # one call per deploy
        ("clever-better-dev-data", "MaintenanceFunction890D8092"): None,  # one run a month, locked
        ("clever-better-dev-secrets", "SecretsRotationD41C424E"): 1,
        ("clever-better-dev-services", "BotDeploymentHook3CA61010"): 2,
        ("clever-better-dev-services", "MlServiceDeploymentHookC1D6BF81"): 2,
        ("clever-better-dev-monitoring", "DriftCheckFunction784DF828"): None,  # one call a day
        # SQS scales it with the alarms; a reservation would hold alarms back when they burst.
        ("clever-better-dev-alerting", "RouterFunction0F681190"): None,
        # Two alarms invoke it, each at most once per state change.
        ("clever-better-dev-alerting", "HaltFunctionC50CE058"): None,
        ("clever-better-dev-alerting", "DailyReportFunction993BAE39"): None,  # one report a morning
        # A start a day, a watch every 15 minutes, an event per run: one run at a time by its
        # ListTasks check and a scheduled start's client token.
        ("clever-better-dev-services", "TrainingFunctionCE66B9CE"): None,
    }


def test_a_configured_training_size_reaches_the_training_function(configured: Any) -> None:
    """RunTask's task-level overrides (lambdas/training): 2 vCPU and 8 GiB, where the dev
    ml-service itself runs on 0.5 vCPU and 1 GiB."""
    (services,) = [s for s in configured.stacks if s.stack_name == "clever-better-dev-services"]
    (function,) = [
        f["Properties"]
        for k, f in resources(services.template, "AWS::Lambda::Function").items()
        if k.startswith("TrainingFunction")
    ]
    variables = function["Environment"]["Variables"]
    assert (variables["TASK_CPU"], variables["TASK_MEMORY"]) == ("2048", "8192")
