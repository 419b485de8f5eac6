"""The local emulator adapter, in-process against moto (no server, no CDK CLI)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.cloudformation import supported_types, unsupported_types
from emulator.services import EXTRA_MODELS
from tests.support import LAMBDA_VPC_ACTIONS

REGION = "us-east-1"


def _cfn() -> Any:
    return boto3.client("cloudformation", region_name=REGION)


def _template(resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> str:
    return json.dumps({"Resources": resources, "Outputs": outputs or {}})


def _bootstrap_like(template: dict[str, Any]) -> None:
    """What `cdk bootstrap` and asset publishing leave behind before a deploy."""
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/cdk-bootstrap/hnb659fds/version", Value="30", Type="String"
    )
    s3 = boto3.client("s3", region_name=REGION)
    for resource in template["Resources"].values():
        code = resource.get("Properties", {}).get("Code", {})
        key = code.get("S3Key")
        if key:
            bucket = code["S3Bucket"]  # env-specific stacks name the bootstrap bucket literally
            assert isinstance(bucket, str), bucket
            if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
                s3.create_bucket(Bucket=bucket)
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                archive.writestr("index.js", "exports.handler = async () => ({});")
            s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())


def test_unmodelled_type_is_rejected_loudly(aws: None) -> None:
    body = _template({"Alarm": {"Type": "AWS::Made::Up", "Properties": {}}})
    with pytest.raises(ClientError) as error:
        _cfn().create_stack(StackName="s", TemplateBody=body)
    message = error.value.response["Error"]["Message"]
    assert "Unrecognized resource types: [AWS::Made::Up]" in message
    assert not _cfn().list_stacks()["StackSummaries"], "nothing was half-created"


def test_custom_resources_without_a_local_model_are_rejected(aws: None) -> None:
    body = _template({"Thing": {"Type": "Custom::Whatever", "Properties": {"ServiceToken": "arn"}}})
    with pytest.raises(ClientError, match=r"Unrecognized resource types: \[Custom::Whatever\]"):
        _cfn().create_stack(StackName="s", TemplateBody=body)


def test_supported_types_cover_moto_and_extras() -> None:
    assert {"AWS::EC2::VPC", "AWS::S3::BucketPolicy", "Custom::VpcRestrictDefaultSG"} <= supported_types()
    assert set(EXTRA_MODELS) <= supported_types()
    assert unsupported_types({"Resources": {"A": {"Type": "AWS::EC2::VPC"}, "B": {"Type": "AWS::X::Y"}}}) == [
        "AWS::X::Y"
    ]


def test_failure_becomes_a_failed_stack_with_reason(aws: None) -> None:
    # A subnet in a VPC that does not exist: moto raises while creating it.
    body = _template(
        {
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {"VpcId": "vpc-missing", "CidrBlock": "10.0.0.0/24"},
            }
        },
        {"SubnetId": {"Value": {"Ref": "Subnet"}}},
    )
    _cfn().create_stack(StackName="s", TemplateBody=body)
    (stack,) = _cfn().describe_stacks(StackName="s")["Stacks"]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "Outputs" not in stack
    reasons = [
        e.get("ResourceStatusReason", "") for e in _cfn().describe_stack_events(StackName="s")["StackEvents"]
    ]
    assert any("vpc-missing" in r or "VPC" in r for r in reasons), reasons


def test_kms_key_tags_and_policy(aws: None) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}],
    }
    body = _template(
        {
            "Key": {
                "Type": "AWS::KMS::Key",
                "Properties": {
                    "KeyPolicy": policy,
                    "EnableKeyRotation": True,
                    "Tags": [{"Key": "Project", "Value": "cb"}],
                },
            }
        },
        {"KeyId": {"Value": {"Ref": "Key"}}},
    )
    _cfn().create_stack(StackName="s", TemplateBody=body)
    (stack,) = _cfn().describe_stacks(StackName="s")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    key_id = stack["Outputs"][0]["OutputValue"]
    kms = boto3.client("kms", region_name=REGION)
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "Project", "TagValue": "cb"}]
    assert json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]) == policy


def test_bucket_policy_is_stored_and_tls_deny_does_not_block_local_access(aws: None) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::policy-bucket", "arn:aws:s3:::policy-bucket/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    body = _template(
        {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "policy-bucket"}},
            "Policy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"Bucket": {"Ref": "Bucket"}, "PolicyDocument": policy},
            },
        }
    )
    _cfn().create_stack(StackName="s", TemplateBody=body)
    s3 = boto3.client("s3", region_name=REGION)
    assert json.loads(s3.get_bucket_policy(Bucket="policy-bucket")["Policy"]) == policy
    s3.put_object(Bucket="policy-bucket", Key="k", Body=b"x")  # moto alone would answer 403


def test_unconditional_bucket_deny_still_applies(aws: None) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="locked")
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::locked/*"}
    s3.put_bucket_policy(Bucket="locked", Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]}))
    with pytest.raises(ClientError):
        s3.put_object(Bucket="locked", Key="k", Body=b"x")


def test_no_op_update_is_refused_like_cloudformation(aws: None) -> None:
    body = _template({"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t"}}})
    _cfn().create_stack(StackName="s", TemplateBody=body)
    with pytest.raises(ClientError, match="No updates are to be performed"):
        _cfn().update_stack(StackName="s", TemplateBody=body)
    changed = _template({"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t2"}}})
    _cfn().update_stack(StackName="s", TemplateBody=changed)
    assert _cfn().describe_stacks(StackName="s")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"


def test_dev_network_deploys_and_default_sg_is_locked(aws: None, templates: dict[str, Any]) -> None:
    template = templates["clever-better-dev-network"]
    _bootstrap_like(template)
    _cfn().create_stack(
        StackName="clever-better-dev-network",
        # As deployed into the emulator's account (the key admits its log groups by ARN).
        TemplateBody=json.dumps(template).replace(
            "arn:aws:logs:us-east-1:111111111111:", "arn:aws:logs:us-east-1:123456789012:"
        ),
        Capabilities=["CAPABILITY_IAM"],
    )
    (stack,) = _cfn().describe_stacks(StackName="clever-better-dev-network")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    ec2 = boto3.client("ec2", region_name=REGION)
    (default,) = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [outputs["VpcId"]]},
            {"Name": "group-name", "Values": ["default"]},
        ]
    )["SecurityGroups"]
    assert default["IpPermissions"] == [] and default["IpPermissionsEgress"] == []


def test_log_group_keeps_its_kms_key(aws: None) -> None:
    kms = boto3.client("kms", region_name=REGION)
    admits_logs = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
            }
        ]
    }
    key_arn = kms.create_key(Policy=json.dumps(admits_logs))["KeyMetadata"]["Arn"]
    body = _template(
        {
            "Group": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": "/g", "KmsKeyId": key_arn, "RetentionInDays": 14},
            }
        }
    )
    _cfn().create_stack(StackName="s", TemplateBody=body)
    (group,) = boto3.client("logs", region_name=REGION).describe_log_groups(logGroupNamePrefix="/g")[
        "logGroups"
    ]
    assert group["kmsKeyId"] == key_arn and group["retentionInDays"] == 14


def test_bucket_policy_update_replaces_the_policy(aws: None) -> None:
    def body(action: str) -> str:
        statement = {
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": action,
            "Resource": "arn:aws:s3:::pb-bucket/*",
        }
        document = {"Version": "2012-10-17", "Statement": [statement]}
        return _template(
            {
                "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "pb-bucket"}},
                "Policy": {
                    "Type": "AWS::S3::BucketPolicy",
                    "Properties": {"Bucket": {"Ref": "Bucket"}, "PolicyDocument": document},
                },
            }
        )

    _cfn().create_stack(StackName="s", TemplateBody=body("s3:GetObject"))
    _cfn().update_stack(StackName="s", TemplateBody=body("s3:PutObject"))
    policy = json.loads(
        boto3.client("s3", region_name=REGION).get_bucket_policy(Bucket="pb-bucket")["Policy"]
    )
    assert policy["Statement"][0]["Action"] == "s3:PutObject"


def test_unknown_transform_is_rejected(aws: None) -> None:
    body = json.dumps(
        {
            "Transform": "AWS::Serverless-2016-10-31",
            "Resources": {"T": {"Type": "AWS::SNS::Topic", "Properties": {}}},
        }
    )
    with pytest.raises(ClientError, match=r"Transform AWS::Serverless-2016-10-31"):
        _cfn().create_stack(StackName="s", TemplateBody=body)


def test_weak_reference_reads_the_other_stack_output(aws: None) -> None:
    producer = _template(
        {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t"}}},
        {"TopicArn": {"Value": {"Ref": "Topic"}}},
    )
    _cfn().create_stack(StackName="producer", TemplateBody=producer)
    ref = {"Fn::GetStackOutput": {"StackName": "producer", "Region": REGION, "OutputName": "TopicArn"}}
    consumer = _template(
        {
            "Param": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Name": "/p", "Type": "String", "Value": ref},
            }
        }
    )
    _cfn().create_stack(StackName="consumer", TemplateBody=consumer)
    value = boto3.client("ssm", region_name=REGION).get_parameter(Name="/p")["Parameter"]["Value"]
    assert value == "arn:aws:sns:us-east-1:123456789012:t"
    missing = _template(
        {
            "P2": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": "/q",
                    "Type": "String",
                    "Value": {"Fn::GetStackOutput": {**ref["Fn::GetStackOutput"], "OutputName": "Nope"}},
                },
            }
        }
    )
    _cfn().create_stack(StackName="broken", TemplateBody=missing)
    assert _cfn().describe_stacks(StackName="broken")["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"


def test_stack_output_inside_another_intrinsic_is_refused(aws: None) -> None:
    """CloudFormation does not accept Fn::GetStackOutput as an argument of Fn::Split (and other
    intrinsics) in every region: refused here as a template error, before anything is created."""
    ref = {"Fn::GetStackOutput": {"StackName": "producer", "Region": REGION, "OutputName": "Arn"}}
    split = _template(
        {
            "P": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": "/p",
                    "Type": "String",
                    "Value": {"Fn::Select": [1, {"Fn::Split": [":", ref]}]},
                },
            }
        }
    )
    with pytest.raises(ClientError, match=r"Fn::GetStackOutput is not supported inside Fn::Split"):
        _cfn().create_stack(StackName="consumer", TemplateBody=split)


def test_secret_generation_and_rotation_record(aws: None) -> None:
    body = _template(
        {
            "S": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {
                    "Name": "n/s",
                    "GenerateSecretString": {
                        "SecretStringTemplate": '{"username":"u"}',
                        "GenerateStringKey": "password",
                        "PasswordLength": 20,
                        "ExcludeCharacters": "abc",
                    },
                },
            },
            "R": {
                "Type": "AWS::SecretsManager::RotationSchedule",
                "Properties": {
                    "SecretId": {"Ref": "S"},
                    "RotationRules": {"ScheduleExpression": "rate(30 days)"},
                    "RotationLambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:f",
                },
            },
        }
    )
    _cfn().create_stack(StackName="s", TemplateBody=body)
    sm = boto3.client("secretsmanager", region_name=REGION)
    value = json.loads(sm.get_secret_value(SecretId="n/s")["SecretString"])
    assert (
        value["username"] == "u" and len(value["password"]) == 20 and not set("abc") & set(value["password"])
    )
    described = sm.describe_secret(SecretId="n/s")
    assert described["RotationEnabled"] and described["RotationRules"]["AutomaticallyAfterDays"] == 30
    assert described["RotationLambdaARN"].endswith(":function:f")


def _task_definition(containers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Type": "AWS::ECS::TaskDefinition",
        "Properties": {
            "Family": "f",
            "Cpu": "256",
            "Memory": "512",
            "RuntimePlatform": {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"},
            "ContainerDefinitions": containers,
        },
    }


def _ecs_template(image: str) -> str:
    return _template(
        {
            "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "c"}},
            "Task": _task_definition([{"Name": "app", "Image": image, "Essential": True}]),
            "Service": {
                "Type": "AWS::ECS::Service",
                "Properties": {
                    "ServiceName": "s",
                    "Cluster": {"Ref": "Cluster"},
                    "TaskDefinition": {"Ref": "Task"},
                    "DesiredCount": 1,
                    "DeploymentConfiguration": {"Strategy": "BLUE_GREEN", "BakeTimeInMinutes": 15},
                },
            },
        }
    )


def test_a_new_task_definition_revision_moves_the_service(aws: None) -> None:
    """Only the task definition's text changes; as in CloudFormation, the service whose Ref
    now resolves to the new revision is updated too."""
    ecs = boto3.client("ecs", region_name=REGION)
    _cfn().create_stack(StackName="s", TemplateBody=_ecs_template("repo:v1"))
    _cfn().update_stack(StackName="s", TemplateBody=_ecs_template("repo:v2"))
    (service,) = ecs.describe_services(cluster="c", services=["s"])["services"]
    assert service["taskDefinition"].endswith("task-definition/f:2")
    assert service["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"
    definition = ecs.describe_task_definition(taskDefinition="f:2")["taskDefinition"]
    assert definition["containerDefinitions"][0]["image"] == "repo:v2"
    assert definition["runtimePlatform"]["cpuArchitecture"] == "ARM64"
    assert ecs.describe_task_definition(taskDefinition="f:1")["taskDefinition"]["status"] == "INACTIVE"


# --- a failed first create, and its retry ----------------------------------------------------


def _failing_stack(policy: str) -> str:
    """A named log group with `policy`, then a resource that fails (its log group's name is
    taken), as a deploy that breaks half-way."""
    return _template(
        {
            "Logs": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": "/ecs/clever-better-prod/bot"},
                "DeletionPolicy": policy,
            },
            "Broken": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": "/taken"},
                "DependsOn": "Logs",
            },
        }
    )


def _log_groups() -> list[str]:
    groups = boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"]
    return sorted(g["logGroupName"] for g in groups)


def _status(name: str) -> str:
    return str(_cfn().describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])


def test_plain_retain_survives_a_failed_create_and_blocks_the_retry(aws: None) -> None:
    boto3.client("logs", region_name=REGION).create_log_group(logGroupName="/taken")
    _cfn().create_stack(StackName="s", TemplateBody=_failing_stack("Retain"))
    assert _status("s") == "ROLLBACK_COMPLETE"
    assert _log_groups() == ["/ecs/clever-better-prod/bot", "/taken"]  # kept by its policy
    # The CDK CLI deletes a ROLLBACK_COMPLETE stack and creates it again: AlreadyExists.
    _cfn().delete_stack(StackName="s")
    _cfn().create_stack(StackName="s", TemplateBody=_failing_stack("Retain"))
    events = _cfn().describe_stack_events(StackName="s")["StackEvents"]
    assert any("already exists" in str(e.get("ResourceStatusReason", "")).lower() for e in events)


def test_retain_except_on_create_goes_with_the_failed_create(aws: None) -> None:
    boto3.client("logs", region_name=REGION).create_log_group(logGroupName="/taken")
    _cfn().create_stack(StackName="s", TemplateBody=_failing_stack("RetainExceptOnCreate"))
    assert _status("s") == "ROLLBACK_COMPLETE"
    assert _log_groups() == ["/taken"]
    # Fixed, the same deploy succeeds; a later deletion keeps the group.
    boto3.client("logs", region_name=REGION).delete_log_group(logGroupName="/taken")
    _cfn().delete_stack(StackName="s")
    _cfn().create_stack(StackName="s", TemplateBody=_failing_stack("RetainExceptOnCreate"))
    assert _status("s") == "CREATE_COMPLETE"
    _cfn().delete_stack(StackName="s")
    assert _log_groups() == ["/ecs/clever-better-prod/bot"]


def test_termination_protection_refuses_deletion_until_turned_off(aws: None) -> None:
    body = _template({"T": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t"}}})
    _cfn().create_stack(StackName="p", TemplateBody=body, EnableTerminationProtection=True)
    with pytest.raises(
        ClientError, match=r"Stack \[p\] cannot be deleted while TerminationProtection is enabled"
    ):
        _cfn().delete_stack(StackName="p")
    _cfn().update_termination_protection(StackName="p", EnableTerminationProtection=False)
    _cfn().delete_stack(StackName="p")
    assert boto3.client("sns", region_name=REGION).list_topics()["Topics"] == []


def test_protected_load_balancer_makes_the_rollback_fail(aws: None) -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    boto3.client("logs", region_name=REGION).create_log_group(logGroupName="/taken")
    body = _template(
        {
            "Balancer": {
                "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Properties": {
                    "Name": "clever-better-prod",
                    "Subnets": subnets,
                    "LoadBalancerAttributes": [{"Key": "deletion_protection.enabled", "Value": "true"}],
                },
            },
            "Broken": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": "/taken"},
                "DependsOn": "Balancer",
            },
        }
    )
    _cfn().create_stack(StackName="lb", TemplateBody=body)
    assert _status("lb") == "ROLLBACK_FAILED"
    elbv2 = boto3.client("elbv2", region_name=REGION)
    (balancer,) = elbv2.describe_load_balancers(Names=["clever-better-prod"])["LoadBalancers"]
    with pytest.raises(ClientError, match="deletion protection is enabled"):
        elbv2.delete_load_balancer(LoadBalancerArn=balancer["LoadBalancerArn"])


@pytest.mark.parametrize(
    "init, depends_on, reason",
    [
        ({"Essential": False}, "init", None),
        ({"Essential": True}, "init", "SUCCESS or COMPLETE condition cannot be an essential container"),
        ({}, "init", "SUCCESS or COMPLETE condition cannot be an essential container"),  # default: essential
        ({"Essential": False}, "missing", "Cannot depend on container + 'missing' because it does not exist"),
    ],
    ids=["non-essential", "essential", "essential-by-default", "missing"],
)
def test_task_definition_dependency_checks(
    aws: None, init: dict[str, Any], depends_on: str, reason: str | None
) -> None:
    """As RegisterTaskDefinition: an app waiting for an init container to exit (SUCCESS) needs
    that container to exist and not be essential."""
    containers = [
        {"Name": "init", "Image": "repo:v1", **init},
        {
            "Name": "app",
            "Image": "repo:v1",
            "Essential": True,
            "DependsOn": [{"ContainerName": depends_on, "Condition": "SUCCESS"}],
        },
    ]
    _cfn().create_stack(StackName="s", TemplateBody=_template({"Task": _task_definition(containers)}))
    (stack,) = _cfn().describe_stacks(StackName="s")["Stacks"]
    if reason is None:
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        return
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    events = _cfn().describe_stack_events(StackName="s")["StackEvents"]
    assert any(reason in e.get("ResourceStatusReason", "") for e in events), events


ENI_ACTIONS = list(LAMBDA_VPC_ACTIONS)


def _function_template(
    statements: list[dict[str, Any]],
    *,
    vpc: bool = True,
    reserved: int | None = None,
    managed_policy_arns: list[Any] | None = None,
) -> str:
    """A role with one customer managed policy, and a function that uses it."""
    function: dict[str, Any] = {
        "FunctionName": "f",
        "Runtime": "python3.14",
        "Handler": "handler.handler",
        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
        "Code": {"ZipFile": "def handler(event, context):\n    return None\n"},
    }
    resources: dict[str, Any] = {
        "Policy": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {"PolicyDocument": {"Version": "2012-10-17", "Statement": statements}},
        },
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "ManagedPolicyArns": managed_policy_arns or [{"Ref": "Policy"}],
            },
        },
        "Function": {"Type": "AWS::Lambda::Function", "DependsOn": ["Role"], "Properties": function},
    }
    if vpc:
        resources |= {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.0.0/24"},
            },
            "Group": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {"GroupDescription": "function", "VpcId": {"Ref": "Vpc"}},
            },
        }
        function["VpcConfig"] = {
            "SubnetIds": [{"Ref": "Subnet"}],
            "SecurityGroupIds": [{"Fn::GetAtt": ["Group", "GroupId"]}],
        }
    if reserved is not None:
        function["ReservedConcurrentExecutions"] = reserved
    return _template(resources)


def _stack_result(body: str) -> tuple[str, list[str]]:
    _cfn().create_stack(StackName="s", TemplateBody=body, Capabilities=["CAPABILITY_IAM"])
    (stack,) = _cfn().describe_stacks(StackName="s")["Stacks"]
    events = _cfn().describe_stack_events(StackName="s")["StackEvents"]
    return stack["StackStatus"], [e.get("ResourceStatusReason", "") for e in events]


LOGS = {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}


def test_vpc_function_whose_role_cannot_create_interfaces_fails_like_lambda(aws: None) -> None:
    status, reasons = _stack_result(_function_template([LOGS]))
    assert status == "ROLLBACK_COMPLETE"
    assert (
        "InvalidParameterValueException: The provided execution role does not have permissions "
        "to call CreateNetworkInterface on EC2" in reasons
    ), reasons
    assert not boto3.client("lambda", region_name=REGION).list_functions()["Functions"]


def test_vpc_function_whose_role_may_create_but_not_describe_fails(aws: None) -> None:
    create_only = {"Effect": "Allow", "Action": "ec2:CreateNetworkInterface", "Resource": "*"}
    _, reasons = _stack_result(_function_template([LOGS, create_only]))
    assert any("to call DescribeNetworkInterfaces on EC2" in r for r in reasons), reasons


def test_vpc_function_with_the_eni_actions_is_created(aws: None) -> None:
    eni = {"Effect": "Allow", "Action": ENI_ACTIONS, "Resource": "*"}
    status, reasons = _stack_result(_function_template([LOGS, eni]))
    assert status == "CREATE_COMPLETE", reasons
    (function,) = boto3.client("lambda", region_name=REGION).list_functions()["Functions"]
    assert function["FunctionName"] == "f"


def test_vpc_function_with_the_aws_managed_vpc_policy_is_created(aws: None) -> None:
    managed = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
    status, reasons = _stack_result(_function_template([LOGS], managed_policy_arns=[managed]))
    assert status == "CREATE_COMPLETE", reasons
    iam = boto3.client("iam", region_name=REGION)
    (role,) = iam.list_roles()["Roles"]
    attached = iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [managed]


def test_an_explicit_deny_without_condition_refuses_the_eni_actions(aws: None) -> None:
    eni = {"Effect": "Allow", "Action": ENI_ACTIONS, "Resource": "*"}
    deny = {"Effect": "Deny", "Action": "ec2:CreateNetworkInterface", "Resource": "*"}
    _, reasons = _stack_result(_function_template([LOGS, eni, deny]))
    assert any("to call CreateNetworkInterface on EC2" in r for r in reasons), reasons


def test_a_deny_for_the_functions_own_code_leaves_lambda_its_eni_calls(aws: None) -> None:
    """Lambda's own network-interface calls carry no lambda:SourceFunctionArn."""
    eni = {"Effect": "Allow", "Action": ENI_ACTIONS, "Resource": "*"}
    deny = {
        "Effect": "Deny",
        "Action": ENI_ACTIONS,
        "Resource": "*",
        "Condition": {"Null": {"lambda:SourceFunctionArn": "false"}},
    }
    status, reasons = _stack_result(_function_template([LOGS, eni, deny]))
    assert status == "CREATE_COMPLETE", reasons


def test_create_scoped_to_another_subnet_is_refused(aws: None) -> None:
    scoped = {
        "Effect": "Allow",
        "Action": "ec2:CreateNetworkInterface",
        "Resource": [
            "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-elsewhere",
            "arn:aws:ec2:us-east-1:123456789012:security-group/*",
            "arn:aws:ec2:us-east-1:123456789012:network-interface/*",
        ],
    }
    rest = {"Effect": "Allow", "Action": ENI_ACTIONS[1:], "Resource": "*"}
    _, reasons = _stack_result(_function_template([LOGS, scoped, rest]))
    assert any("to call CreateNetworkInterface on EC2" in r for r in reasons), reasons


def test_a_function_outside_a_vpc_needs_no_eni_actions(aws: None) -> None:
    status, reasons = _stack_result(_function_template([LOGS], vpc=False))
    assert status == "CREATE_COMPLETE", reasons


def test_reserved_concurrency_is_refused_in_a_new_account(aws: None) -> None:
    status, reasons = _stack_result(_function_template([LOGS], vpc=False, reserved=1))
    assert status == "ROLLBACK_COMPLETE"
    assert (
        "InvalidParameterValueException: Specified ReservedConcurrentExecutions for function "
        "decreases account's UnreservedConcurrentExecution below its minimum value of [10]." in reasons
    ), reasons


def test_dev_rotation_function_passes_lambdas_vpc_check(
    aws: None, templates: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real templates: the Betfair rotation function's role as python_function builds it."""
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "111111111111")  # dev's account, which its ARNs name
    names = ("clever-better-dev-network", "clever-better-dev-secrets")
    _bootstrap_like({"Resources": {k: v for n in names for k, v in templates[n]["Resources"].items()}})
    for name in names:
        _cfn().create_stack(
            StackName=name, TemplateBody=json.dumps(templates[name]), Capabilities=["CAPABILITY_IAM"]
        )
        (stack,) = _cfn().describe_stacks(StackName=name)["Stacks"]
        reasons = [
            e.get("ResourceStatusReason", "")
            for e in _cfn().describe_stack_events(StackName=name)["StackEvents"]
        ]
        assert stack["StackStatus"] == "CREATE_COMPLETE", reasons
    function = boto3.client("lambda", region_name=REGION).get_function(
        FunctionName="clever-better-dev-betfair-rotation"
    )["Configuration"]
    assert len(function["VpcConfig"]["SubnetIds"]) == 2


def test_role_update_attaches_and_detaches_its_managed_policy_arns(aws: None) -> None:
    managed = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    eni = {"Effect": "Allow", "Action": ENI_ACTIONS, "Resource": "*"}
    _cfn().create_stack(StackName="s", TemplateBody=_function_template([LOGS, eni], vpc=False))
    iam = boto3.client("iam", region_name=REGION)
    (role,) = iam.list_roles()["Roles"]

    def attached() -> list[str]:
        policies = iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
        return sorted(p["PolicyName"] for p in policies)

    assert [name.split("-")[1] for name in attached()] == ["Policy"]
    _cfn().update_stack(
        StackName="s",
        TemplateBody=_function_template([LOGS, eni], vpc=False, managed_policy_arns=[managed]),
    )
    assert attached() == ["AWSLambdaBasicExecutionRole"]


def _vault(lock: dict[str, Any] | None) -> str:
    props: dict[str, Any] = {"BackupVaultName": "v"}
    if lock is not None:
        props["LockConfiguration"] = lock
    return _template({"Vault": {"Type": "AWS::Backup::BackupVault", "Properties": props}})


def _stack_status(name: str) -> tuple[str, list[str]]:
    (stack,) = _cfn().describe_stacks(StackName=name)["Stacks"]
    events = _cfn().describe_stack_events(StackName=name)["StackEvents"]
    return stack["StackStatus"], [e.get("ResourceStatusReason", "") for e in events]


def test_vault_lock_is_applied(aws: None) -> None:
    _cfn().create_stack(StackName="s", TemplateBody=_vault({"MinRetentionDays": 2}))
    assert _stack_status("s")[0] == "CREATE_COMPLETE"
    (vault,) = boto3.client("backup", region_name=REGION).list_backup_vaults()["BackupVaultList"]
    assert vault["Locked"] is True and vault["MinRetentionDays"] == 2
    assert "LockDate" not in vault, "governance mode: no ChangeableForDays, no lock date"


@pytest.mark.parametrize(
    "lock, reason",
    [
        ({"MaxRetentionDays": 30}, "MinRetentionDays is required"),
        ({"MinRetentionDays": 0}, "MinRetentionDays must be at least 1 day"),
        ({"MinRetentionDays": 2, "MaxRetentionDays": 36501}, "MaxRetentionDays cannot exceed 36500 days"),
        ({"MinRetentionDays": 7, "MaxRetentionDays": 2}, "MinRetentionDays cannot be greater than"),
        ({"MinRetentionDays": 2, "ChangeableForDays": 1}, "ChangeableForDays must be at least 3 days"),
    ],
)
def test_vault_lock_refused_like_aws_backup(aws: None, lock: dict[str, Any], reason: str) -> None:
    _cfn().create_stack(StackName="s", TemplateBody=_vault(lock))
    status, reasons = _stack_status("s")
    assert status == "ROLLBACK_COMPLETE"
    assert any(reason in r for r in reasons), reasons
    assert not boto3.client("backup", region_name=REGION).list_backup_vaults()["BackupVaultList"]


ROLE = "arn:aws:iam::123456789012:role/ecr-templates"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _creation_template(**changes: Any) -> str:
    props = {
        "Prefix": "ROOT",
        "AppliedFor": ["REPLICATION"],
        "ImageTagMutability": "IMMUTABLE",
        "EncryptionConfiguration": {"EncryptionType": "KMS", "KmsKey": KEY},
        "LifecyclePolicy": json.dumps({"rules": []}),
        "CustomRoleArn": ROLE,
        **changes,
    }
    return _template({"Template": {"Type": "AWS::ECR::RepositoryCreationTemplate", "Properties": props}})


def test_repository_creation_template_is_recorded_and_deleted(aws: None) -> None:
    from emulator.services.ecr import creation_templates

    _cfn().create_stack(StackName="s", TemplateBody=_creation_template())
    assert _stack_status("s")[0] == "CREATE_COMPLETE"
    (template,) = creation_templates("123456789012", REGION).values()
    assert template["EncryptionConfiguration"]["KmsKey"] == KEY and template["AppliedFor"] == ["REPLICATION"]
    _cfn().delete_stack(StackName="s")
    assert not creation_templates("123456789012", REGION)


@pytest.mark.parametrize(
    "changes, reason",
    [
        (
            {
                "EncryptionConfiguration": {
                    "EncryptionType": "KMS",
                    "KmsKey": "arn:aws:kms:us-east-1:123456789012:alias/a",
                }
            },
            "kmsKey",
        ),
        ({"Prefix": "Bot/"}, "prefix 'Bot/'"),
        ({"AppliedFor": ["PUSH"]}, "appliedFor"),
        ({"ImageTagMutability": "LOCKED"}, "imageTagMutability"),
        ({"EncryptionConfiguration": {"EncryptionType": "RSA"}}, "encryptionType"),
        ({"LifecyclePolicy": "keep 50"}, "lifecyclePolicy"),
        ({"CustomRoleArn": "arn:aws:iam::999999999999:role/other"}, "customRoleArn"),
    ],
)
def test_repository_creation_template_refused_like_ecr(
    aws: None, changes: dict[str, Any], reason: str
) -> None:
    _cfn().create_stack(StackName="s", TemplateBody=_creation_template(**changes))
    status, reasons = _stack_status("s")
    assert status == "ROLLBACK_COMPLETE"
    assert any("InvalidParameterException" in r and reason in r for r in reasons), reasons


def test_one_repository_creation_template_per_prefix(aws: None) -> None:
    _cfn().create_stack(StackName="first", TemplateBody=_creation_template())
    _cfn().create_stack(StackName="second", TemplateBody=_creation_template(Description="again"))
    status, reasons = _stack_status("second")
    assert status == "ROLLBACK_COMPLETE"
    assert any("TemplateAlreadyExistsException" in r for r in reasons), reasons


# --- zones by ID --------------------------------------------------------------------------------


def _vpc_with_subnets(zone_ids: list[str]) -> dict[str, Any]:
    resources: dict[str, Any] = {"Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}}}
    for index, zone in enumerate(zone_ids):
        resources[f"Subnet{index}"] = {
            "Type": "AWS::EC2::Subnet",
            "Properties": {
                "VpcId": {"Ref": "Vpc"},
                "CidrBlock": f"10.0.{index}.0/24",
                "AvailabilityZoneId": zone,
            },
        }
    return resources


def test_subnets_land_in_the_zone_their_id_names(aws: None) -> None:
    _cfn().create_stack(StackName="n", TemplateBody=_template(_vpc_with_subnets(["use1-az1", "use1-az4"])))
    subnets = boto3.client("ec2", region_name=REGION).describe_subnets(
        Filters=[{"Name": "cidr-block", "Values": ["10.0.0.0/24", "10.0.1.0/24"]}]
    )["Subnets"]
    assert sorted(s["AvailabilityZoneId"] for s in subnets) == ["use1-az1", "use1-az4"]
    _cfn().create_stack(StackName="bad", TemplateBody=_template(_vpc_with_subnets(["use1-az9"])))
    reasons = [
        e.get("ResourceStatusReason", "")
        for e in _cfn().describe_stack_events(StackName="bad")["StackEvents"]
    ]
    assert any("Value (use1-az9) for parameter availabilityZoneId is invalid." in r for r in reasons), reasons


def test_proxy_needs_two_zones_rds_proxy_supports(aws: None) -> None:
    """RDS Proxy does not run in use1-az3: subnets there do not count toward its two zones."""

    def proxy_stack(zones: list[str]) -> str:
        resources = _vpc_with_subnets(zones)
        resources["Proxy"] = {
            "Type": "AWS::RDS::DBProxy",
            "Properties": {
                "DBProxyName": "clever-better-dev",
                "EngineFamily": "POSTGRESQL",
                "Auth": [
                    {
                        "AuthScheme": "SECRETS",
                        "IAMAuth": "REQUIRED",
                        "SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:s",
                    }
                ],
                "RoleArn": "arn:aws:iam::123456789012:role/proxy",
                "VpcSubnetIds": [{"Ref": f"Subnet{i}"} for i in range(len(zones))],
            },
        }
        return _template(resources)

    _cfn().create_stack(StackName="bad", TemplateBody=proxy_stack(["use1-az1", "use1-az3"]))
    assert _status("bad") == "ROLLBACK_COMPLETE"
    reasons = [
        e.get("ResourceStatusReason", "")
        for e in _cfn().describe_stack_events(StackName="bad")["StackEvents"]
    ]
    assert any("at least two Availability Zones that support RDS Proxy" in r for r in reasons), reasons
    _cfn().create_stack(StackName="good", TemplateBody=proxy_stack(["use1-az1", "use1-az2"]))
    assert _status("good") == "CREATE_COMPLETE"


def _network() -> dict[str, Any]:
    """A VPC with subnets in two zones RDS Proxy supports."""
    return {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        **{
            f"Subnet{n}": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {
                    "VpcId": {"Ref": "Vpc"},
                    "CidrBlock": f"10.0.{n}.0/24",
                    "AvailabilityZoneId": zone,
                },
            }
            for n, zone in enumerate(("use1-az1", "use1-az2"))
        },
    }


def _proxy(**auth: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::RDS::DBProxy",
        "Properties": {
            "DBProxyName": "p",
            "EngineFamily": "POSTGRESQL",
            "RoleArn": "arn:aws:iam::123456789012:role/proxy",
            "VpcSubnetIds": [{"Ref": "Subnet0"}, {"Ref": "Subnet1"}],
            **auth,
        },
    }


def test_proxy_needs_auth_unless_end_to_end_iam(aws: None) -> None:
    # CreateDBProxy: without DefaultAuthScheme (or NONE), Auth is required.
    _cfn().create_stack(StackName="none", TemplateBody=_template({**_network(), "Proxy": _proxy()}))
    status, reasons = _stack_status("none")
    assert status == "ROLLBACK_COMPLETE"
    assert any("Auth is required when DefaultAuthScheme is NONE" in r for r in reasons), reasons
    body = _template({**_network(), "Proxy": _proxy(DefaultAuthScheme="IAM_AUTH")})
    _cfn().create_stack(StackName="iam", TemplateBody=body)
    assert _stack_status("iam")[0] == "CREATE_COMPLETE"
    (proxy,) = boto3.client("rds", region_name=REGION).describe_db_proxies(DBProxyName="p")["DBProxies"]
    assert proxy["DefaultAuthScheme"] == "IAM_AUTH" and proxy.get("Auth", []) == []


def _bootstrap_stack(migrator_user: str, mlflow_user: str = "mlflow") -> dict[str, Any]:
    """A function, an instance, the three secrets and the bootstrap naming them."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    generated = {"GenerateStringKey": "password", "ExcludePunctuation": True}
    return {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": trust}},
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.14",
                    "Handler": "handler.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"S3Bucket": "assets", "S3Key": "bootstrap.zip"},
                },
            },
            "Instance": {
                "Type": "AWS::RDS::DBInstance",
                "Properties": {
                    "DBInstanceIdentifier": "db",
                    "Engine": "postgres",
                    "DBInstanceClass": "db.t4g.micro",
                    "AllocatedStorage": "20",
                    "MasterUsername": "clever_admin",
                    "MasterUserPassword": "admin-Password-1",
                },
            },
            "Admin": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {
                    "Name": "db/admin",
                    "GenerateSecretString": {
                        **generated,
                        "SecretStringTemplate": '{"username":"clever_admin"}',
                    },
                },
            },
            "Migrator": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {
                    "Name": "db/migrator",
                    "GenerateSecretString": {
                        **generated,
                        "SecretStringTemplate": json.dumps({"username": migrator_user}),
                    },
                },
            },
            "Mlflow": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {
                    "Name": "db/mlflow",
                    "GenerateSecretString": {
                        **generated,
                        "SecretStringTemplate": json.dumps({"username": mlflow_user}),
                    },
                },
            },
            "Bootstrap": {
                "Type": "Custom::DatabaseBootstrap",
                "Properties": {
                    "ServiceToken": {"Fn::GetAtt": ["Function", "Arn"]},
                    "InstanceIdentifier": {"Ref": "Instance"},
                    "Host": {"Fn::GetAtt": ["Instance", "Endpoint.Address"]},
                    "Port": {"Fn::GetAtt": ["Instance", "Endpoint.Port"]},
                    "AdminSecretArn": {"Ref": "Admin"},
                    "MigratorSecretArn": {"Ref": "Migrator"},
                    "Database": "clever_better",
                    "AppUser": "app",
                    "MigratorUser": "app_migrator",
                    "IamRole": "rds_iam",
                    "MlflowSecretArn": {"Ref": "Mlflow"},
                    "MlflowDatabase": "mlflow",
                    "MlflowUser": "mlflow",
                },
            },
        },
        "Outputs": {
            "Bootstrap": {"Value": {"Ref": "Bootstrap"}},
            "DbiResourceId": {"Value": {"Fn::GetAtt": ["Instance", "DbiResourceId"]}},
        },
    }


def test_database_bootstrap_checks_what_its_function_would_need(aws: None) -> None:
    template = _bootstrap_stack("app_migrator")
    _bootstrap_like(
        {"Resources": {"F": {"Properties": {"Code": {"S3Bucket": "assets", "S3Key": "bootstrap.zip"}}}}}
    )
    _cfn().create_stack(StackName="good", TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
    (stack,) = _cfn().describe_stacks(StackName="good")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["Bootstrap"] == "db/clever_better"
    (instance,) = boto3.client("rds", region_name=REGION).describe_db_instances(DBInstanceIdentifier="db")[
        "DBInstances"
    ]
    assert outputs["DbiResourceId"] == instance["DbiResourceId"]


@pytest.mark.parametrize(
    ("users", "refusal"),
    [
        (("app", "mlflow"), "the migrator secret holds 'app', not 'app_migrator'"),
        (("app_migrator", "app"), "the MLflow secret holds 'app', not 'mlflow'"),
    ],
    ids=["migrator", "mlflow"],
)
def test_database_bootstrap_refuses_a_secret_for_another_user(
    aws: None, users: tuple[str, str], refusal: str
) -> None:
    template = _bootstrap_stack(*users)
    _bootstrap_like(
        {"Resources": {"F": {"Properties": {"Code": {"S3Bucket": "assets", "S3Key": "bootstrap.zip"}}}}}
    )
    _cfn().create_stack(StackName="bad", TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
    status, reasons = _stack_status("bad")
    assert status == "ROLLBACK_COMPLETE"
    assert any(refusal in r for r in reasons), reasons


def test_local_deploy_prints_what_an_operator_reads() -> None:
    from emulator.local import operator_outputs

    outputs = {
        "clever-better-dev-network": {
            "VpcId": "vpc-1",
            "ExportsOutputRefNetworkVpc7FB7348F2D3313": "vpc-1",
        },
        "clever-better-dev-services": {"Endpoint": "https://dev-api.clever-better.com"},
    }
    assert operator_outputs(outputs).splitlines() == [
        "clever-better-dev-network.VpcId = vpc-1",
        "clever-better-dev-services.Endpoint = https://dev-api.clever-better.com",
    ]


# --- a function's dead-letter queue -----------------------------------------------------------

SEND_TO_QUEUE = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["Queue", "Arn"]}}
USE_QUEUE_KEY = {
    "Effect": "Allow",
    "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
    "Resource": {"Fn::GetAtt": ["Key", "Arn"]},
}


def _with_dead_letters(body: str) -> str:
    """The function sends failed asynchronous events to a queue encrypted with our own key."""
    template = json.loads(body)
    template["Resources"] |= {
        "Key": {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ],
                }
            },
        },
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": "f-dlq", "KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
        },
    }
    template["Resources"]["Function"]["Properties"]["DeadLetterConfig"] = {
        "TargetArn": {"Fn::GetAtt": ["Queue", "Arn"]}
    }
    return json.dumps(template)


def test_function_whose_role_cannot_send_to_its_dead_letter_queue_fails_like_lambda(aws: None) -> None:
    status, reasons = _stack_result(_with_dead_letters(_function_template([LOGS], vpc=False)))
    assert status == "ROLLBACK_COMPLETE"
    assert (
        "InvalidParameterValueException: The provided execution role does not have permissions "
        "to call SendMessage on SQS" in reasons
    ), reasons


def test_function_whose_role_cannot_use_the_queues_key_is_refused_locally(aws: None) -> None:
    status, reasons = _stack_result(_with_dead_letters(_function_template([LOGS, SEND_TO_QUEUE], vpc=False)))
    assert status == "ROLLBACK_COMPLETE"
    assert any(
        "dead-letter queue of f:" in r
        and "may not call kms:GenerateDataKey" in r
        and "AWS accepts this when it is created; Lambda drops each failed event" in r
        for r in reasons
    ), reasons


def test_function_with_a_dead_letter_queue_it_may_use_is_created(aws: None) -> None:
    status, reasons = _stack_result(
        _with_dead_letters(_function_template([LOGS, SEND_TO_QUEUE, USE_QUEUE_KEY], vpc=False))
    )
    assert status == "CREATE_COMPLETE", reasons
    # moto keeps no DeadLetterConfig to read back; the queue is there, encrypted with the key.
    sqs = boto3.client("sqs", region_name=REGION)
    attributes = sqs.get_queue_attributes(
        QueueUrl=sqs.get_queue_url(QueueName="f-dlq")["QueueUrl"], AttributeNames=["All"]
    )
    assert attributes["Attributes"]["KmsMasterKeyId"].startswith(f"arn:aws:kms:{REGION}:123456789012:key/")


def test_a_queue_encrypted_by_alias_is_checked_against_the_key_behind_it(aws: None) -> None:
    # IAM authorizes KMS calls on the key's ARN: a grant on the key serves a queue that names
    # its key by alias.
    template = json.loads(
        _with_dead_letters(_function_template([LOGS, SEND_TO_QUEUE, USE_QUEUE_KEY], vpc=False))
    )
    template["Resources"]["Alias"] = {
        "Type": "AWS::KMS::Alias",
        "Properties": {"AliasName": "alias/dlq", "TargetKeyId": {"Ref": "Key"}},
    }
    template["Resources"]["Queue"]["Properties"]["KmsMasterKeyId"] = {"Ref": "Alias"}  # alias/dlq
    status, reasons = _stack_result(json.dumps(template))
    assert status == "CREATE_COMPLETE", reasons


@pytest.mark.parametrize(
    ("admitted", "created"),
    [
        ("/aws/lambda/fn-a", True),
        ("/aws/lambda/fn-*", True),  # a wildcard, as the data stack's key admits the RDS groups
        ("/aws/lambda/other", False),  # the key admits another function's group only
        (None, False),  # no statement for CloudWatch Logs at all
    ],
)
def test_a_log_group_needs_a_key_that_admits_cloudwatch_logs_for_it(
    aws: None, admitted: str | None, created: bool
) -> None:
    """CreateLogGroup refuses a key whose policy does not let logs.REGION.amazonaws.com use it
    for that group (the encryption context is the group's ARN)."""
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if admitted is not None:
        statements.append(
            {
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
                "Action": [
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                "Resource": "*",
                "Condition": {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:aws:logs:{REGION}:123456789012:log-group:{admitted}"
                        )
                    }
                },
            }
        )
    body = _template(
        {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": statements}}},
            "Logs": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {
                    "LogGroupName": "/aws/lambda/fn-a",
                    "KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]},
                },
            },
        }
    )
    _cfn().create_stack(StackName="s", TemplateBody=body)
    (stack,) = _cfn().describe_stacks(StackName="s")["Stacks"]
    assert stack["StackStatus"] == ("CREATE_COMPLETE" if created else "ROLLBACK_COMPLETE"), stack
    if not created:
        reasons = [
            e.get("ResourceStatusReason", "")
            for e in _cfn().describe_stack_events(StackName="s")["StackEvents"]
        ]
        assert any(
            "The specified KMS key does not exist or is not allowed to be used with Arn "
            f"'arn:aws:logs:{REGION}:123456789012:log-group:/aws/lambda/fn-a'" in r
            for r in reasons
        ), reasons


def test_a_parameter_takes_its_tags_as_cloudformation_writes_them(aws: None) -> None:
    """AWS::SSM::Parameter's Tags are a map (not a Key/Value list), as the CDK renders them."""
    body = _template(
        {
            "Halted": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": "/cb/dev/trading/halted",
                    "Type": "String",
                    "Value": '{"halted": false}',
                    "Tags": {"Project": "cb", "Unit": "alerting"},
                },
            }
        }
    )
    _cfn().create_stack(StackName="s", TemplateBody=body)
    (stack,) = _cfn().describe_stacks(StackName="s")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    ssm = boto3.client("ssm", region_name=REGION)
    assert ssm.get_parameter(Name="/cb/dev/trading/halted")["Parameter"]["Value"] == '{"halted": false}'
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/cb/dev/trading/halted")[
        "TagList"
    ]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("Project", "cb"), ("Unit", "alerting")]
