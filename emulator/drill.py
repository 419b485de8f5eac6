"""Production's shape for `make dr-drill` (tools/dr_drill.py) and the failover tests.

The emulator `make deploy-local` runs holds dev, which has no DR region. This builds, in the
moto of the calling process with the emulator's models installed (automated backups replicated
across regions and restorable there, ECS services reaching their counts, one-off tasks exiting,
proxy targets, CloudFormation stacks and their outputs), what production's stacks hold:

- us-east-1: the database `clever-better-prod` replicating its automated backups to us-west-2;
- us-west-2: the DR data stack's outputs and standby (subnet group, security group, parameter
  group), the DR replica of the admin secret, the RDS Proxy without a target, the pilot light's
  three services at 0 with ml-service's scaling minimum 0, its load balancer, and its health
  alarms, disarmed;
- and, after a failover, us-east-1 back (`primary_returns`);
- with `hosted_zone`, the API name's failover records and their health checks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

PRIMARY, DR = "us-east-1", "us-west-2"
# moto's default account.
ACCOUNT = "123456789012"
DR_KEY = f"arn:aws:kms:{DR}:{ACCOUNT}:key/dr"
# The DR replica of clever-better/prod/database-admin (never printed).
ADMIN_PASSWORD = "dr-replica-password-4f1c"
CLUSTER = "clever-better-prod"
ZONE, API = "clever-better.com", "api.clever-better.com"
# Production's counts (config/environments.py) as the primary's services run them.
PRIMARY_COUNTS = {"bot": 2, "ml-service": 2, "data-ingestion": 1}


class Clock:
    """ops' now and sleep: sleeping advances the clock, so waits end at once."""

    def __init__(self) -> None:
        # Real time: the emulator's restore window is the real clock's.
        self.time = datetime.now(UTC)

    def now(self) -> datetime:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.time += timedelta(seconds=seconds)


def client(service: str, region: str) -> Any:
    import boto3

    return boto3.client(service, region_name=region)


def _stack(name: str, template: dict[str, Any], region: str = DR) -> None:
    client("cloudformation", region).create_stack(StackName=name, TemplateBody=json.dumps(template))


def _pilot_light(ec2: Any, vpc: str, subnets: list[str], health_alarms: Sequence[str]) -> str:
    """What the DR data stack's standby and the pilot light hold: the proxy without a target,
    the cluster with three services at zero, the public load balancer with a registered target,
    the disarmed health alarms. Returns the services' security group."""
    # The standby's proxy as components/data/standby.py writes it (end-to-end IAM, no Auth, an
    # empty default target group), through the emulator's CloudFormation.
    _stack(
        "standby-proxy",
        {
            "Resources": {
                "Proxy": {
                    "Type": "AWS::RDS::DBProxy",
                    "Properties": {
                        "DBProxyName": CLUSTER,
                        "EngineFamily": "POSTGRESQL",
                        "DefaultAuthScheme": "IAM_AUTH",
                        "RequireTLS": True,
                        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/proxy",
                        "VpcSubnetIds": subnets,
                    },
                },
                "Targets": {
                    "Type": "AWS::RDS::DBProxyTargetGroup",
                    "Properties": {
                        "DBProxyName": {"Ref": "Proxy"},
                        "TargetGroupName": "default",
                        "ConnectionPoolConfigurationInfo": {"MaxConnectionsPercent": 90},
                    },
                },
            }
        },
    )
    ecs = client("ecs", DR)
    ecs.create_cluster(clusterName=CLUSTER)
    tasks = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
    for service in PRIMARY_COUNTS:
        ecs.register_task_definition(
            family=f"{CLUSTER}-{service}",
            containerDefinitions=[{"name": service, "image": "x", "memory": 512}],
        )
        ecs.create_service(
            cluster=CLUSTER,
            serviceName=service,
            taskDefinition=f"{CLUSTER}-{service}",
            desiredCount=0,
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": subnets,
                    "securityGroups": [tasks],
                    "assignPublicIp": "DISABLED",
                }
            },
        )
    # The pilot light's ml-service scales on requests from zero (ApplicationService, standby).
    client("application-autoscaling", DR).register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=f"service/{CLUSTER}/ml-service",
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=0,
        MaxCapacity=6,
    )
    elbv2 = client("elbv2", DR)
    balancer = elbv2.create_load_balancer(Name=CLUSTER, Subnets=subnets)["LoadBalancers"][0]
    group = elbv2.create_target_group(
        Name="bot-blue", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="instance"
    )["TargetGroups"][0]
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnets[0])
    elbv2.register_targets(
        TargetGroupArn=group["TargetGroupArn"], Targets=[{"Id": instance["Instances"][0]["InstanceId"]}]
    )
    elbv2.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
    )
    # The DR monitoring stack's health alarms as AlarmCatalogue(dr=True) writes them: disarmed.
    alarm = {
        "ActionsEnabled": False,
        "AlarmActions": [f"arn:aws:sns:{DR}:{ACCOUNT}:clever-better-prod-p0"],
        "Namespace": "AWS/ApplicationELB",
        "MetricName": "HealthyHostCount",
        "Statistic": "Minimum",
        "Period": 60,
        "EvaluationPeriods": 3,
        "Threshold": 1,
        "ComparisonOperator": "LessThanThreshold",
        "TreatMissingData": "breaching",
    }
    _stack(
        "dr-monitoring",
        {
            "Resources": {
                f"Alarm{i}": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"AlarmName": name, **alarm}}
                for i, name in enumerate(health_alarms)
            }
        },
    )
    return str(tasks)


def build(*, health_alarms: Sequence[str]) -> dict[str, Any]:
    """Production's primary database and its DR region's standby and pilot light, in the moto
    of this process (mock_aws active, emulator.adapter installed); `health_alarms`: the DR
    monitoring stack's alarms that wait disarmed (config.alarms `disarmed_in_dr`)."""
    primary = client("rds", PRIMARY)
    primary_ec2 = client("ec2", PRIMARY)
    primary_vpc = primary_ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    primary_subnets = [
        primary_ec2.create_subnet(
            VpcId=primary_vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"{PRIMARY}{z}"
        )["Subnet"]["SubnetId"]
        for i, z in enumerate("ab")
    ]
    primary.create_db_subnet_group(
        DBSubnetGroupName="primary", DBSubnetGroupDescription="primary", SubnetIds=primary_subnets
    )
    primary_group = primary_ec2.create_security_group(
        GroupName="primary", Description="db", VpcId=primary_vpc
    )["GroupId"]
    primary.create_db_instance(
        DBSubnetGroupName="primary",
        VpcSecurityGroupIds=[primary_group],
        DBInstanceIdentifier=CLUSTER,
        DBInstanceClass="db.r7g.large",
        Engine="postgres",
        MasterUsername="clever_admin",
        MasterUserPassword="primary-password-never-used",
        AllocatedStorage=100,
        BackupRetentionPeriod=30,
        MultiAZ=True,
    )
    rds = client("rds", DR)
    ec2 = client("ec2", DR)
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.30.{i}.0/24", AvailabilityZone=f"{DR}{z}")["Subnet"][
            "SubnetId"
        ]
        for i, z in enumerate("ab")
    ]
    group = ec2.create_security_group(GroupName="standby", Description="db", VpcId=vpc)["GroupId"]
    rds.create_db_subnet_group(
        DBSubnetGroupName="standby", DBSubnetGroupDescription="standby", SubnetIds=subnets
    )
    rds.create_db_parameter_group(
        DBParameterGroupName="standby-pg17", DBParameterGroupFamily="postgres17", Description="params"
    )
    # The standby's enhanced-monitoring role, as components/data/standby.py makes it.
    monitoring = client("iam", DR).create_role(
        RoleName="standby-monitoring",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "monitoring.rds.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    outputs = {
        "DbSubnetGroupName": "standby",
        "DbSecurityGroupId": group,
        "DbParameterGroupName": "standby-pg17",
        "DataKeyArn": DR_KEY,
        "MonitoringRoleArn": monitoring,
    }
    _stack(
        "clever-better-prod-dr-data",
        {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        },
    )
    client("secretsmanager", DR).create_secret(
        Name="clever-better/prod/database-admin",
        SecretString=json.dumps({"username": "clever_admin", "password": ADMIN_PASSWORD}),
    )
    tasks = _pilot_light(ec2, vpc, subnets, health_alarms)
    return {
        "subnets": subnets,
        "tasks_group": tasks,
        "rds": rds,
        "primary": primary,
        "group": group,
        "primary_subnets": primary_subnets,
    }


def replicate(world: dict[str, Any]) -> None:
    """The primary's automated backups replicated to the DR region (the data stack's setting)."""
    arn = world["primary"].describe_db_instances()["DBInstances"][0]["DBInstanceArn"]
    world["rds"].start_db_instance_automated_backups_replication(SourceDBInstanceArn=arn, KmsKeyId=DR_KEY)


def primary_returns(world: dict[str, Any]) -> None:
    """us-east-1 back after a failover: production's services there at their counts on the
    stale instance behind its proxy, its load balancer, and its data key."""
    ecs = client("ecs", PRIMARY)
    ecs.create_cluster(clusterName=CLUSTER)
    for service, count in PRIMARY_COUNTS.items():
        ecs.register_task_definition(
            family=f"{CLUSTER}-{service}",
            containerDefinitions=[{"name": service, "image": "x", "memory": 512}],
        )
        ecs.create_service(
            cluster=CLUSTER, serviceName=service, taskDefinition=f"{CLUSTER}-{service}", desiredCount=count
        )
    subnets = world["primary_subnets"]
    world["primary"].create_db_proxy(
        DBProxyName=CLUSTER,
        EngineFamily="POSTGRESQL",
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/proxy",
        VpcSubnetIds=subnets,
        Auth=[{"AuthScheme": "SECRETS", "IAMAuth": "REQUIRED", "SecretArn": "arn:aws:secretsmanager:x"}],
    )
    world["primary"].register_db_proxy_targets(DBProxyName=CLUSTER, DBInstanceIdentifiers=[CLUSTER])
    _primary_balancer(world)
    kms = client("kms", PRIMARY)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/clever-better-prod/data", TargetKeyId=key)


def _primary_balancer(world: dict[str, Any]) -> dict[str, Any]:
    """The primary's public load balancer (made once: by `hosted_zone` or `primary_returns`)."""
    elbv2 = client("elbv2", PRIMARY)
    found = [b for b in elbv2.describe_load_balancers()["LoadBalancers"] if b["LoadBalancerName"] == CLUSTER]
    if found:
        return dict(found[0])
    return dict(
        elbv2.create_load_balancer(Name=CLUSTER, Subnets=world["primary_subnets"])["LoadBalancers"][0]
    )


def _endpoint_check(name: str, balancer: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::Route53::HealthCheck",
        "Properties": {
            "HealthCheckConfig": {
                "Type": "HTTPS_STR_MATCH",
                "FullyQualifiedDomainName": balancer["DNSName"],
                "Port": 443,
                "ResourcePath": "/health",
                "SearchString": "ok",
                "RequestInterval": 30,
                "FailureThreshold": 3,
            },
            "HealthCheckTags": [{"Key": "Name", "Value": name}],
        },
    }


def _switch(name: str) -> dict[str, Any]:
    """A region's switch: a CALCULATED check over its endpoint check (`Health`)."""
    config = {"Type": "CALCULATED", "ChildHealthChecks": [{"Ref": "Health"}], "HealthThreshold": 1}
    return {
        "Type": "AWS::Route53::HealthCheck",
        "Properties": {"HealthCheckConfig": config, "HealthCheckTags": [{"Key": "Name", "Value": name}]},
    }


def _failover_record(
    zone: str, role: str, region: str, check: str, balancer: dict[str, Any]
) -> dict[str, Any]:
    return {
        "Type": "AWS::Route53::RecordSet",
        "Properties": {
            "HostedZoneId": zone,
            "Name": API,
            "Type": "A",
            "SetIdentifier": region,
            "Failover": role,
            "HealthCheckId": {"Ref": check},
            "AliasTarget": {
                "DNSName": balancer["DNSName"],
                "HostedZoneId": balancer["CanonicalHostedZoneId"],
                "EvaluateTargetHealth": False,
            },
        },
    }


def hosted_zone(world: dict[str, Any]) -> str:
    """The API name's hosted zone with the failover records the services stacks make with
    `deployment.hosted_zone_id` (components/edge/dns.py), deployed through the emulator's
    CloudFormation; returns the zone's id."""
    zone = client("route53", PRIMARY).create_hosted_zone(Name=ZONE, CallerReference="drill")["HostedZone"]
    zone_id = str(zone["Id"]).rsplit("/", 1)[-1]
    primary = _primary_balancer(world)
    resources = {
        "Health": _endpoint_check(f"{CLUSTER}-api-health", primary),
        "Switch": _switch(f"{CLUSTER}-api-failover"),
        "Record": _failover_record(zone_id, "PRIMARY", PRIMARY, "Switch", primary),
    }
    _stack(f"{CLUSTER}-services-dns", {"Resources": resources}, PRIMARY)
    (dr,) = [
        b
        for b in client("elbv2", DR).describe_load_balancers()["LoadBalancers"]
        if b["LoadBalancerName"] == CLUSTER
    ]
    resources = {
        "Health": _endpoint_check(f"{CLUSTER}-dr-api-health", dr),
        "Switch": _switch(f"{CLUSTER}-dr-api-failover"),
        "Record": _failover_record(zone_id, "SECONDARY", DR, "Switch", dr),
    }
    _stack(f"{CLUSTER}-dr-services-dns", {"Resources": resources})
    return zone_id
