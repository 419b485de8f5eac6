"""Production's disaster-recovery wiring: how us-east-1 names what lives in us-west-2, and what
us-west-2 holds and allows for it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tests.support import STACKS, resources

DR_DATA = "clever-better-prod-dr-data"
# The DR data key as production's stacks name it: its key ARN, read from the DR stack's output
# when CloudFormation deploys them (no alias, no pinned value).
DR_KEY = {
    "Fn::GetStackOutput": {
        "StackName": "clever-better-prod-dr-data",
        "OutputName": "DataKeyArn",
        "Region": "us-west-2",
    }
}
# Properties where KMS, S3, RDS or Secrets Manager need the key itself (an alias is ignored
# or refused there).
KEY_PROPERTIES = ("ReplicaKmsKeyID", "AutomaticBackupReplicationKmsKeyId", "KmsKeyId")
POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    """(key, value) for every mapping entry anywhere in `node`."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _kms_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for resource in template["Resources"].values():
        documents = []
        if resource["Type"] in POLICY_TYPES:
            documents.append(resource["Properties"]["PolicyDocument"])
        if resource["Type"] == "AWS::IAM::Role":
            documents += [p["PolicyDocument"] for p in resource["Properties"].get("Policies", [])]
        for document in documents:
            for statement in document["Statement"]:
                actions = statement["Action"]
                if any(a.startswith("kms:") for a in ([actions] if isinstance(actions, str) else actions)):
                    found.append(statement)
    return found


def test_dr_data_key_output_is_the_key_arn_in_us_west_2(templates: dict[str, Any]) -> None:
    template = templates[DR_DATA]
    assert STACKS[DR_DATA] == ("production-dr", "us-west-2")
    (key_id,) = resources(template, "AWS::KMS::Key")
    assert template["Outputs"]["DataKeyArn"]["Value"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_production_names_the_dr_key_by_its_key_arn(templates: dict[str, Any]) -> None:
    data, secrets = templates["clever-better-prod-data"], templates["clever-better-prod-secrets"]
    (db,) = resources(data, "AWS::RDS::DBInstance").values()
    assert db["Properties"]["AutomaticBackupReplicationRegion"] == "us-west-2"
    assert db["Properties"]["AutomaticBackupReplicationKmsKeyId"] == DR_KEY
    replicated = [
        s["Properties"]["ReplicaRegions"]
        for template in (data, secrets)
        for s in resources(template, "AWS::SecretsManager::Secret").values()
    ]
    # admin, app, mlflow (the database's users), config, betfair, alerting (the DR region's router)
    assert len(replicated) == 6
    assert all(regions == [{"Region": "us-west-2", "KmsKeyId": DR_KEY}] for regions in replicated)
    every_bucket = resources(data, "AWS::S3::Bucket").values()
    buckets = [b for b in every_bucket if "ReplicationConfiguration" in b["Properties"]]
    assert len(buckets) == 2  # mlflow, backups
    for bucket in buckets:
        (rule,) = bucket["Properties"]["ReplicationConfiguration"]["Rules"]
        assert rule["Destination"]["EncryptionConfiguration"] == {"ReplicaKmsKeyID": DR_KEY}
    encrypt = [s for s in _kms_statements(data) if s["Action"] == ["kms:Encrypt", "kms:GenerateDataKey"]]
    assert len(encrypt) == 2 and all(s["Resource"] == DR_KEY for s in encrypt)


def test_no_alias_where_a_key_is_required(templates: dict[str, Any]) -> None:
    """KMS ignores an alias in a policy's Resource; S3 replication, RDS backup replication and
    secret replicas are given the key itself. Literal check over every template."""
    checked = 0
    for name, template in templates.items():
        for statement in _kms_statements(template):
            checked += 1
            assert ":alias/" not in json.dumps(statement["Resource"]), (name, statement)
        for key, value in _walk(template["Resources"]):
            if key in KEY_PROPERTIES:
                checked += 1
                assert ":alias/" not in json.dumps(value), (name, key, value)
    assert checked >= 20


def test_dr_key_lets_secrets_manager_replicate_for_this_account(templates: dict[str, Any]) -> None:
    """Replication re-encrypts every new version (each rotation) with the replica's key under
    the identity that wrote it: this account's callers, through Secrets Manager only."""
    (key,) = resources(templates[DR_DATA], "AWS::KMS::Key").values()
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    assert {
        "Sid": "SecretsManagerReplication",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": [
            "kms:CreateGrant",
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:Encrypt",
            "kms:GenerateDataKey*",
            "kms:ReEncrypt*",
        ],
        "Resource": "*",
        "Condition": {
            "StringEquals": {
                "kms:CallerAccount": "333333333333",
                "kms:ViaService": [
                    "secretsmanager.us-east-1.amazonaws.com",
                    "secretsmanager.us-west-2.amazonaws.com",
                ],
            }
        },
    } in statements
    # Nothing else is open to every principal.
    assert len([s for s in statements if s["Principal"] == {"AWS": "*"}]) == 1


def test_the_standby_is_what_dr_failover_restores_into(templates: dict[str, Any]) -> None:
    """The outputs `make dr-failover` reads (ops/dr.py), and what each names: a DB subnet group on
    the DR VPC's isolated subnets (without one RDS would look for a default VPC), the database's
    group admitting PostgreSQL only from the client group, the primary's parameters, and the
    exports' log groups encrypted with the DR key."""
    template = templates[DR_DATA]
    outputs = template["Outputs"]
    assert {
        "DbSubnetGroupName",
        "DbSecurityGroupId",
        "DbParameterGroupName",
        "DbClientSecurityGroupId",
    } <= set(outputs)
    (group_id, group), *_ = resources(template, "AWS::RDS::DBSubnetGroup").items()
    assert outputs["DbSubnetGroupName"]["Value"] == {"Ref": group_id}
    subnet_imports = json.dumps(group["Properties"]["SubnetIds"])
    assert "clever-better-prod-dr-network" in subnet_imports and "Isolated" in subnet_imports
    assert group["DeletionPolicy"] == "RetainExceptOnCreate"
    database_sg = outputs["DbSecurityGroupId"]["Value"]["Fn::GetAtt"][0]
    client_sg = outputs["DbClientSecurityGroupId"]["Value"]["Fn::GetAtt"][0]
    ingress = [
        r["Properties"]
        for r in resources(template, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [database_sg, "GroupId"]}
    ]
    (proxy,) = resources(template, "AWS::RDS::DBProxy").values()
    proxy_sg = proxy["Properties"]["VpcSecurityGroupIds"][0]["Fn::GetAtt"][0]
    # From the clients and from the proxy (which, unlike the primary's, has no L2 binding to
    # write this rule): without it the restored instance is an UNREACHABLE proxy target.
    assert sorted(ingress, key=lambda rule: rule["Description"]) == [
        {
            "Description": "PostgreSQL from migrations and rotation",
            "FromPort": 5432,
            "GroupId": {"Fn::GetAtt": [database_sg, "GroupId"]},
            "IpProtocol": "tcp",
            "SourceSecurityGroupId": {"Fn::GetAtt": [client_sg, "GroupId"]},
            "ToPort": 5432,
        },
        {
            "Description": "PostgreSQL from the RDS Proxy",
            "FromPort": 5432,
            "GroupId": {"Fn::GetAtt": [database_sg, "GroupId"]},
            "IpProtocol": "tcp",
            "SourceSecurityGroupId": {"Fn::GetAtt": [proxy_sg, "GroupId"]},
            "ToPort": 5432,
        },
    ]
    assert {
        "Description": "PostgreSQL to the restored database",
        "DestinationSecurityGroupId": {"Fn::GetAtt": [database_sg, "GroupId"]},
        "FromPort": 5432,
        "GroupId": {"Fn::GetAtt": [proxy_sg, "GroupId"]},
        "IpProtocol": "tcp",
        "ToPort": 5432,
    } in [r["Properties"] for r in resources(template, "AWS::EC2::SecurityGroupEgress").values()]
    (parameters,) = resources(template, "AWS::RDS::DBParameterGroup").values()
    assert parameters["Properties"]["Family"] == "postgres17"
    assert parameters["Properties"]["Parameters"]["rds.force_ssl"] == "1"
    logs = {r["Properties"]["LogGroupName"]: r for r in resources(template, "AWS::Logs::LogGroup").values()}
    assert sorted(logs) == [
        "/aws/rds/instance/clever-better-prod/postgresql",
        "/aws/rds/instance/clever-better-prod/upgrade",
    ]
    (key_id,) = resources(template, "AWS::KMS::Key")
    assert all(g["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]} for g in logs.values())
    assert all(
        g["Properties"]["RetentionInDays"] == 90 and g["DeletionPolicy"] == "RetainExceptOnCreate"
        for g in logs.values()
    )
    # Enhanced monitoring as in the primary: a role RDS's monitoring service assumes (RDS refuses
    # one that does not trust it), with the AWS-maintained policy, named by an output.
    role_id = outputs["MonitoringRoleArn"]["Value"]["Fn::GetAtt"][0]
    assert outputs["MonitoringRoleArn"]["Value"] == {"Fn::GetAtt": [role_id, "Arn"]}
    role = template["Resources"][role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "monitoring.rds.amazonaws.com"},
        }
    ]
    assert role["ManagedPolicyArns"] == [
        {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
                ],
            ]
        }
    ]


DR_SERVICES = "clever-better-prod-dr-services"


def _secret_output(name: str) -> dict[str, Any]:
    return {
        "Fn::GetStackOutput": {
            "StackName": "clever-better-prod-secrets",
            "Region": "us-east-1",
            "OutputName": name,
        }
    }


def test_the_pilot_light_runs_the_primarys_services_by_name_at_zero(templates: dict[str, Any]) -> None:
    """Runbook commands only add --region us-west-2: the cluster, services, log groups and load
    balancer have the primary's names; nothing runs until make dr-failover scales it."""
    template = templates[DR_SERVICES]
    assert STACKS[DR_SERVICES] == ("production-dr", "us-west-2")
    (cluster,) = resources(template, "AWS::ECS::Cluster").values()
    assert cluster["Properties"]["ClusterName"] == "clever-better-prod"
    services = {
        s["Properties"]["ServiceName"]: s["Properties"]
        for s in resources(template, "AWS::ECS::Service").values()
    }
    assert {name: s["DesiredCount"] for name, s in services.items()} == {
        "bot": 0,
        "ml-service": 0,
        "data-ingestion": 0,
    }
    # ml-service's auto scaling may rest at zero too (a floor of 1 would start a task).
    (target,) = resources(template, "AWS::ApplicationAutoScaling::ScalableTarget").values()
    assert (target["Properties"]["MinCapacity"], target["Properties"]["MaxCapacity"]) == (0, 6)
    groups = sorted(
        g["Properties"]["LogGroupName"] for g in resources(template, "AWS::Logs::LogGroup").values()
    )
    assert [g for g in groups if g.startswith("/ecs/")] == [
        "/ecs/clever-better-prod/bot",
        "/ecs/clever-better-prod/data-ingestion",
        "/ecs/clever-better-prod/ml-service",
    ]
    balancers = {
        b["Properties"]["Name"]: b["Properties"]
        for b in resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    }
    assert sorted(balancers) == ["clever-better-prod", "clever-better-prod-ml"]
    assert balancers["clever-better-prod"]["Scheme"] == "internet-facing"
    (certificate,) = resources(template, "AWS::CertificateManager::Certificate").values()
    assert certificate["Properties"]["DomainName"] == "api.clever-better.com"
    assert len(resources(template, "AWS::WAFv2::WebACLAssociation")) == 1
    # The primary's stack owns the API's DNS record; the migration task runs in the primary only.
    assert not resources(template, "AWS::Route53::RecordSet")
    assert len(resources(template, "AWS::ECS::TaskDefinition")) == 3
    images = [
        c["Image"]
        for d in resources(template, "AWS::ECS::TaskDefinition").values()
        for c in d["Properties"]["ContainerDefinitions"]
    ]
    assert images and all(
        json.dumps(i).startswith('{"Fn::Join": ["", ["333333333333.dkr.ecr.us-west-2."') for i in images
    )
    (halt,) = [
        p
        for p in resources(template, "AWS::SSM::Parameter").values()
        if p["Properties"]["Name"] == "/clever-better/prod/trading/halted"
    ]
    assert json.loads(halt["Properties"]["Value"])["halted"] is False


def test_the_pilot_light_reads_the_secrets_replicas_in_its_region(templates: dict[str, Any]) -> None:
    """ECS needs a secret's full ARN; only the primary's secrets stack can spell its replica's
    (the suffix is the original's), so the DR tasks read it from that stack's outputs, and their
    execution roles may read the replicas in us-west-2 and nothing in us-east-1."""
    template = templates[DR_SERVICES]
    definitions = {
        d["Properties"]["Family"]: d["Properties"]["ContainerDefinitions"][0]
        for d in resources(template, "AWS::ECS::TaskDefinition").values()
    }
    bot = {s["Name"]: s["ValueFrom"] for s in definitions["clever-better-prod-bot"]["Secrets"]}
    assert bot == {
        "CONFIG": _secret_output("ConfigReplica"),
        "BETFAIR_APP_KEY": _secret_output("BetfairReplicaAppKey"),
        "BETFAIR_USERNAME": _secret_output("BetfairReplicaUsername"),
        "BETFAIR_PASSWORD": _secret_output("BetfairReplicaPassword"),
    }
    outputs = templates["clever-better-prod-secrets"]["Outputs"]
    (config_id,) = [
        k
        for k, v in resources(templates["clever-better-prod-secrets"], "AWS::SecretsManager::Secret").items()
        if v["Properties"]["Name"] == "clever-better/prod/config"
    ]
    replica_arn = {
        "Fn::Join": [
            "",
            [
                "arn:aws:secretsmanager:us-west-2:333333333333:secret:",
                {"Fn::Select": [6, {"Fn::Split": [":", {"Ref": config_id}]}]},
            ],
        ]
    }
    assert outputs["ConfigReplica"]["Value"] == replica_arn
    assert outputs["BetfairReplicaAppKey"]["Value"]["Fn::Join"][1][-1] == ":app_key::"
    statements = [
        s
        for policy in resources(template, "AWS::IAM::Policy").values()
        if "ExecutionRole" in policy["Properties"]["PolicyName"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "secretsmanager:GetSecretValue" in s["Action"]
    ]
    assert len(statements) == 3
    for statement in statements:
        arns = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert all(
            a.startswith("arn:aws:secretsmanager:us-west-2:333333333333:secret:clever-better/prod/")
            for a in arns
        )
        assert all(a.endswith("-??????") for a in arns)
    # Secrets Manager decrypts the replicas with the DR data key, via the service only.
    decrypt = [
        s
        for policy in resources(template, "AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "kms:Decrypt" and "Condition" in s
    ]
    assert len(decrypt) == 3
    assert all(
        s["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-west-2.amazonaws.com"}}
        and "clever-better-prod-dr-data" in json.dumps(s["Resource"])
        for s in decrypt
    )


def test_the_dr_proxy_waits_without_a_target_and_may_reach_any_restored_instance(
    templates: dict[str, Any],
) -> None:
    """The standby's proxy has the primary's name and settings and no target until the
    failover registers the restored instance, whose resource id nobody knows before: its role
    may connect as `app` to any instance here (rds-db ARNs put a colon after dbuser)."""
    template = templates[DR_DATA]
    (proxy,) = resources(template, "AWS::RDS::DBProxy").values()
    props = proxy["Properties"]
    assert (props["DBProxyName"], props["DefaultAuthScheme"], props["RequireTLS"]) == (
        "clever-better-prod",
        "IAM_AUTH",
        True,
    )
    assert "Auth" not in props and "Private" in json.dumps(props["VpcSubnetIds"])
    (group,) = resources(template, "AWS::RDS::DBProxyTargetGroup").values()
    assert "DBInstanceIdentifiers" not in group["Properties"]
    assert group["Properties"]["TargetGroupName"] == "default"
    assert group["Properties"]["ConnectionPoolConfigurationInfo"] == {
        "ConnectionBorrowTimeout": 30,
        "MaxConnectionsPercent": 90,
        "MaxIdleConnectionsPercent": 50,
    }
    role_id = props["RoleArn"]["Fn::GetAtt"][0]
    (policy,) = [
        p
        for p in resources(template, "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": "rds-db:connect",
            "Effect": "Allow",
            "Resource": "arn:aws:rds-db:us-west-2:333333333333:dbuser:*/app",
        }
    ]
    # The services connect to this proxy, as `app`, through its resource id (prx-...).
    services = templates[DR_SERVICES]
    connects = [
        s["Resource"]
        for p in resources(services, "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "rds-db:connect"
    ]
    assert len(connects) == 3
    assert all(
        c["Fn::Join"][1][0] == "arn:aws:rds-db:us-west-2:333333333333:dbuser:"
        and c["Fn::Join"][1][2] == "/app"
        and "clever-better-prod-dr-data" in json.dumps(c["Fn::Join"][1][1])
        for c in connects
    )


DR_MONITORING = "clever-better-prod-dr-monitoring"
DR_ALERTING = "clever-better-prod-dr-alerting"
DR_ACCOUNT_REGION = "us-west-2:333333333333"
ALERTING_SECRET = "clever-better/prod/alerting"
# What production's DR region alarms on (config/alarms.py DR_REGION_ALARMS, P0 and P1).
DR_ALARMS = {
    "clever-better-prod-emergency-shutdown-P0",
    "clever-better-prod-database-connection-failure-P0",
    "clever-better-prod-daily-loss-P0",
    "clever-better-prod-circuit-breaker-open-P0",
    "clever-better-prod-bot-unhealthy-P0",
    "clever-better-prod-ml-service-unhealthy-P0",
    "clever-better-prod-data-ingestion-unhealthy-P0",
    "clever-better-prod-error-rate-P1",
    "clever-better-prod-api-latency-P1",
    "clever-better-prod-bot-memory-P1",
    "clever-better-prod-ml-service-memory-P1",
    "clever-better-prod-data-ingestion-memory-P1",
    "clever-better-prod-ml-service-unavailable-P1",
    "clever-better-prod-betfair-auth-failure-P1",
    "clever-better-prod-alarm-router-dlq-P1",
}
# Silence is their failure, and the pilot light is silent: disarmed until make dr-failover.
DISARMED = {
    "clever-better-prod-bot-unhealthy-P0",
    "clever-better-prod-ml-service-unhealthy-P0",
    "clever-better-prod-data-ingestion-unhealthy-P0",
}


def test_the_dr_region_alarms_on_the_pilot_light_with_its_health_alarms_disarmed(
    templates: dict[str, Any],
) -> None:
    template = templates[DR_MONITORING]
    assert STACKS[DR_MONITORING] == ("production-dr", "us-west-2")
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
    }
    assert set(alarms) == DR_ALARMS
    assert {name for name, a in alarms.items() if "ActionsEnabled" in a} == DISARMED
    assert all(alarms[name]["ActionsEnabled"] is False for name in DISARMED)
    assert all("Armed by make dr-failover" in alarms[name]["AlarmDescription"] for name in DISARMED)
    topics = {
        logical: t["Properties"]["TopicName"] for logical, t in resources(template, "AWS::SNS::Topic").items()
    }
    assert sorted(topics.values()) == [f"clever-better-prod-p{n}" for n in range(4)]
    # Each alarm notifies its severity's topic in this region, and the halt and on-call there.
    for name, alarm in alarms.items():
        first = alarm["AlarmActions"][0]
        assert topics[first["Ref"]] == f"clever-better-prod-{name[-2:].lower()}", name
    halt = f"arn:aws:lambda:{DR_ACCOUNT_REGION}:function:clever-better-prod-trading-halt"
    assert [n for n, a in alarms.items() if halt in a["AlarmActions"]] == [
        "clever-better-prod-emergency-shutdown-P0",
        "clever-better-prod-daily-loss-P0",
    ]
    assert alarms["clever-better-prod-alarm-router-dlq-P1"]["AlarmActions"][1:] == [
        f"arn:aws:sns:{DR_ACCOUNT_REGION}:clever-better-prod-oncall"
    ]
    (dashboard,) = resources(template, "AWS::CloudWatch::Dashboard").values()
    # Dashboard names are global to the account: the primary's is clever-better-prod-infrastructure.
    assert dashboard["Properties"]["DashboardName"] == "clever-better-prod-dr-infrastructure"
    # The one dashboard there: every alarm links it, and its alarm status shows every alarm.
    url = (
        "https://us-west-2.console.aws.amazon.com/cloudwatch/home?region=us-west-2#dashboards/dashboard/"
        "clever-better-prod-dr-infrastructure "
    )
    assert all(url in alarm["AlarmDescription"] for alarm in alarms.values())
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert all(logical in body for logical, a in resources(template, "AWS::CloudWatch::Alarm").items()), body[
        :300
    ]
    # Route 53's health check and the drift check are the primary's.
    assert not resources(template, "AWS::Route53::HealthCheck")
    assert not resources(template, "AWS::Lambda::Function")


def test_the_dr_alerting_routes_its_regions_topics_and_halts_through_the_pilot_lights_parameter(
    templates: dict[str, Any],
) -> None:
    template = templates[DR_ALERTING]
    assert STACKS[DR_ALERTING] == ("production-dr", "us-west-2")
    subscribed = sorted(
        s["Properties"]["TopicArn"]
        for s in resources(template, "AWS::SNS::Subscription").values()
        # The on-call topic's email subscriptions are to its own Ref.
        if isinstance(s["Properties"]["TopicArn"], str)
    )
    assert subscribed == [f"arn:aws:sns:{DR_ACCOUNT_REGION}:clever-better-prod-p{n}" for n in range(4)]
    # The pilot light made the parameter (tested above); this stack only writes it.
    assert not resources(template, "AWS::SSM::Parameter")
    functions = {
        f["Properties"]["FunctionName"]: f["Properties"]
        for f in resources(template, "AWS::Lambda::Function").values()
    }
    assert sorted(functions) == ["clever-better-prod-alarm-router", "clever-better-prod-trading-halt"]
    assert functions["clever-better-prod-trading-halt"]["Environment"]["Variables"]["HALT_PARAMETER"] == (
        "/clever-better/prod/trading/halted"
    )
    permissions = [p["Properties"] for p in resources(template, "AWS::Lambda::Permission").values()]
    assert sorted(p["SourceArn"] for p in permissions) == [
        f"arn:aws:cloudwatch:{DR_ACCOUNT_REGION}:alarm:clever-better-prod-daily-loss-P0",
        f"arn:aws:cloudwatch:{DR_ACCOUNT_REGION}:alarm:clever-better-prod-emergency-shutdown-P0",
    ]
    # The chain to the providers' keys: both functions read the alerting secret's replica in
    # us-west-2, which the primary's secrets stack encrypts there with the DR data key, and may
    # decrypt with that key (the DR data stack's export) through Secrets Manager only.
    (secret,) = [
        s["Properties"]
        for s in resources(templates["clever-better-prod-secrets"], "AWS::SecretsManager::Secret").values()
        if s["Properties"]["Name"] == "clever-better/prod/alerting"
    ]
    assert secret["ReplicaRegions"] == [{"Region": "us-west-2", "KmsKeyId": DR_KEY}]
    data = templates[DR_DATA]
    (key_id,) = resources(data, "AWS::KMS::Key")
    exported = {o["Export"]["Name"]: o["Value"] for o in data["Outputs"].values() if "Export" in o}
    policies = {
        logical: p["Properties"]["PolicyDocument"]["Statement"]
        for logical, p in resources(template, "AWS::IAM::ManagedPolicy").items()
        if logical.startswith(("RouterFunction", "HaltFunction"))
    }
    assert len(policies) == 2
    for logical, statements in policies.items():
        assert {
            "Action": "secretsmanager:GetSecretValue",
            "Effect": "Allow",
            "Resource": f"arn:aws:secretsmanager:{DR_ACCOUNT_REGION}:secret:{ALERTING_SECRET}-??????",
        } in statements, logical
        (decrypt,) = [
            s for s in statements if s.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
        ]
        assert decrypt["Condition"] == {
            "StringEquals": {"kms:ViaService": "secretsmanager.us-west-2.amazonaws.com"}
        }
        assert exported[decrypt["Resource"]["Fn::ImportValue"]] == {"Fn::GetAtt": [key_id, "Arn"]}
    (halt_policy,) = [s for logical, s in policies.items() if logical.startswith("HaltFunction")]
    assert {
        "Action": ["ssm:GetParameter", "ssm:PutParameter"],
        "Effect": "Allow",
        "Resource": f"arn:aws:ssm:{DR_ACCOUNT_REGION}:parameter/clever-better/prod/trading/halted",
    } in halt_policy


def test_dashboard_names_are_unique_per_account(templates: dict[str, Any]) -> None:
    """CloudWatch dashboards are global, not regional: two stacks of one account (in any
    regions) naming the same dashboard cannot both deploy."""
    by_account: dict[str, list[str]] = {}
    for name, template in templates.items():
        account = STACKS_ACCOUNTS[name.split("-")[2]]
        by_account.setdefault(account, []).extend(
            d["Properties"]["DashboardName"]
            for d in resources(template, "AWS::CloudWatch::Dashboard").values()
        )
    assert sorted(by_account["333333333333"]) == [
        "clever-better-prod-dr-infrastructure",
        "clever-better-prod-infrastructure",
        "clever-better-prod-main",
        "clever-better-prod-ml-service",
        "clever-better-prod-security",
    ]
    assert all(len(names) == len(set(names)) for names in by_account.values()), by_account


# Name token -> the account its stacks deploy to (tests/support.py's placeholders).
STACKS_ACCOUNTS = {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}
