"""Who reaches the database as whom: every hop of the chain names the same user, literally.

task role --rds-db:connect to the proxy as `app`--> RDS Proxy (end-to-end IAM) --its role's
rds-db:connect to the instance as `app`--> PostgreSQL role `app`, which the bootstrap creates
with `rds_iam` (its SQL is tested against a real PostgreSQL in tests/lambdas/). The migration
task is the one password user: `app_migrator`, whose secret the bootstrap and rotation share.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import PREFIXES, resources

ACCOUNTS = {"dev": "111111111111", "staging": "222222222222", "production": "333333333333"}
SERVICES = ("Bot", "MlService", "DataIngestion")
USER = "app"


def _data(templates: dict[str, Any], env: str) -> dict[str, Any]:
    return templates[f"{PREFIXES[env]}-data"]


def _services(templates: dict[str, Any], env: str) -> dict[str, Any]:
    return templates[f"{PREFIXES[env]}-services"]


def _one(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    (item,) = resources(template, resource_type).items()
    return item


def _application_container(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """The essential container (a task may also run a non-essential one that prepares /tmp)."""
    return [c for c in definition["Properties"]["ContainerDefinitions"] if c.get("Essential", True)]


def _connect_statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """Every rds-db:connect statement of the policies attached to `role_id`."""
    found = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a.startswith("rds-db:") for a in actions):
                assert actions == ["rds-db:connect"], actions
                found.append(statement)
    return found


def _data_output(data: dict[str, Any], expression: Any) -> Any:
    """What the one data-stack output that `expression` (from another stack) reads stands for."""
    names: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "Fn::GetStackOutput" in node:
                names.append(node["Fn::GetStackOutput"]["OutputName"])
            elif "Fn::ImportValue" in node:
                exported = {o.get("Export", {}).get("Name"): n for n, o in data["Outputs"].items()}
                names.append(exported[node["Fn::ImportValue"]])
            else:
                for value in node.values():
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(expression)
    (name,) = names
    return data["Outputs"][name]["Value"]


@pytest.mark.parametrize("env", sorted(PREFIXES))
def test_every_hop_names_app(templates: dict[str, Any], env: str) -> None:
    data, services = _data(templates, env), _services(templates, env)
    account = ACCOUNTS[env]
    proxy_id, proxy = _one(data, "AWS::RDS::DBProxy")
    instance_id, instance = _one(data, "AWS::RDS::DBInstance")

    # 1. Each service's task role: rds-db:connect to the proxy (its resource id), as app only.
    for service in SERVICES:
        (role_id,) = [
            k for k in resources(services, "AWS::IAM::Role") if k.startswith(f"{service}TaskTaskRole")
        ]
        (statement,) = _connect_statements(services, role_id)
        head, proxy_resource_id, tail = statement["Resource"]["Fn::Join"][1]
        assert head == f"arn:aws:rds-db:us-east-1:{account}:dbuser:"
        assert tail == f"/{USER}"
        assert _data_output(data, proxy_resource_id) == {"Fn::GetAtt": [proxy_id, "DBProxyArn"]}
        assert proxy_resource_id["Fn::Select"][0] == 6  # arn:aws:rds:region:account:db-proxy:prx-...
        # ... and the container is told to log in as that user.
        (definition,) = [
            d
            for k, d in resources(services, "AWS::ECS::TaskDefinition").items()
            if k.startswith(f"{service}Task")
        ]
        (container,) = _application_container(definition)
        environment = {e["Name"]: e["Value"] for e in container["Environment"]}
        assert environment["DB_USERNAME"] == USER and environment["DB_NAME"] == "clever_better"
        assert environment["DB_IAM_AUTH"] == "true"

    # 2. The proxy: end-to-end IAM, no secret-based auth at all.
    assert proxy["Properties"]["DefaultAuthScheme"] == "IAM_AUTH"
    assert "Auth" not in proxy["Properties"]
    # 3. The proxy's role: rds-db:connect to the instance (DbiResourceId) as app, nothing else.
    proxy_role = proxy["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    (statement,) = _connect_statements(data, proxy_role)
    assert statement["Resource"] == {
        "Fn::Join": [
            "",
            [
                f"arn:aws:rds-db:us-east-1:{account}:dbuser:",
                {"Fn::GetAtt": [instance_id, "DbiResourceId"]},
                "/app",
            ],
        ]
    }
    policies = [
        p
        for p in resources(data, "AWS::IAM::Policy").values()
        if {"Ref": proxy_role} in p["Properties"]["Roles"]
    ]
    assert [len(p["Properties"]["PolicyDocument"]["Statement"]) for p in policies] == [1]
    assert instance["Properties"]["EnableIAMDatabaseAuthentication"] is True

    # 4. The bootstrap makes app (with rds_iam) in this instance.
    _, bootstrap = _one(data, "Custom::DatabaseBootstrap")
    props = bootstrap["Properties"]
    assert (props["AppUser"], props["IamRole"], props["Database"]) == ("app", "rds_iam", "clever_better")
    assert props["InstanceIdentifier"] == {"Ref": instance_id}
    assert props["Host"] == {"Fn::GetAtt": [instance_id, "Endpoint.Address"]}


@pytest.mark.parametrize("env", sorted(PREFIXES))
def test_the_migrator_is_the_one_password_user(templates: dict[str, Any], env: str) -> None:
    data, services = _data(templates, env), _services(templates, env)
    token = PREFIXES[env].removeprefix("clever-better-")
    secrets = {s["Properties"]["Name"]: k for k, s in resources(data, "AWS::SecretsManager::Secret").items()}
    attachments = {
        a["Properties"]["SecretId"]["Ref"]: k
        for k, a in resources(data, "AWS::SecretsManager::SecretTargetAttachment").items()
    }
    migrator_secret = secrets[f"clever-better/{token}/database"]
    generated = data["Resources"][migrator_secret]["Properties"]["GenerateSecretString"]
    assert json.loads(generated["SecretStringTemplate"]) == {
        "username": "app_migrator",
        "dbname": "clever_better",
    }
    # The bootstrap sets app_migrator's password from this very secret; the admin's is the master secret.
    _, bootstrap = _one(data, "Custom::DatabaseBootstrap")
    props = bootstrap["Properties"]
    assert props["MigratorUser"] == "app_migrator"
    assert props["MigratorSecretArn"] == {"Ref": attachments[migrator_secret]}
    assert props["AdminSecretArn"] == {"Ref": attachments[secrets[f"clever-better/{token}/database-admin"]]}
    # The migration task reads that secret; the services read no database secret at all.
    (definition,) = [
        d for k, d in resources(services, "AWS::ECS::TaskDefinition").items() if k.startswith("MigrationTask")
    ]
    (container,) = _application_container(definition)
    from_secret = {s["Name"]: s["ValueFrom"] for s in container["Secrets"] if s["Name"].startswith("DB_")}
    assert sorted(from_secret) == ["DB_PASSWORD", "DB_USERNAME"]
    for name, value in from_secret.items():
        assert _data_output(data, value) == {"Ref": attachments[migrator_secret]}
        field = name.removeprefix("DB_").lower()
        assert json.dumps(value).endswith(f':{field}::"]]}}'), value
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert environment["DB_NAME"] == "clever_better" and "DB_USERNAME" not in environment
    role_id = definition["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    assert _connect_statements(services, role_id) == []


@pytest.mark.parametrize("env", sorted(PREFIXES))
def test_only_the_migration_task_and_mlflow_may_decrypt_database_secrets(
    templates: dict[str, Any], env: str
) -> None:
    """Each the one secret it logs in with: the migrator's, MLflow's (their own policies read
    only that secret: tests/unit/test_mlflow.py)."""
    services = _services(templates, env)
    data_stack = f"{PREFIXES[env]}-data"
    readers = set()
    for key, policy in resources(services, "AWS::IAM::Policy").items():
        if "ExecutionRole" not in key:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Action"] == "kms:Decrypt" and data_stack in json.dumps(statement["Resource"]):
                readers.add(key.split("Task")[0])
    assert readers == {"Migration", "Mlflow"}


@pytest.mark.parametrize("env", ["dev", "staging", "production"])
def test_proxy_target_waits_for_the_user_it_logs_in_as(templates: dict[str, Any], env: str) -> None:
    """The target group becomes available only when the proxy can log in as `app`: after the
    bootstrap created the role and the proxy's rds-db:connect policy exists."""
    prefix = {
        "dev": "clever-better-dev",
        "staging": "clever-better-staging",
        "production": "clever-better-prod",
    }
    template = templates[f"{prefix[env]}-data"]
    (group,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::RDS::DBProxyTargetGroup"]
    assert sorted(group["DependsOn"]) == [
        "DatabaseProxyIAMRoleDefaultPolicy262261D3",
        "DatabaseRolesBootstrapF2AB4972",
    ]
