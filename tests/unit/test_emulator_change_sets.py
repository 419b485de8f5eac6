"""The emulator's change sets (emulator/change_sets.py) as CloudFormation describes them, so
`cdk diff` against it shows the change-set diff: in-process against moto with our adapter,
and the pure change computation on crafted templates."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.change_sets import KNOWN_AFTER_APPLY, ResourceTypeChanged, resource_changes
from tools.cfn_schema import replaces

REGION = "us-east-1"


def _database(identifier: str, instance_class: str) -> dict[str, Any]:
    return {
        "Type": "AWS::RDS::DBInstance",
        "Properties": {
            "DBInstanceIdentifier": identifier,
            "DBInstanceClass": instance_class,
            "Engine": "postgres",
            "MasterUsername": "app",
            "MasterUserPassword": "not-a-secret-1",
            "AllocatedStorage": "20",
        },
    }


def _parameter(value: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::SSM::Parameter",
        "Properties": {"Name": "/cs/endpoint", "Type": "String", "Value": value},
    }


DEPLOYED = {
    "Resources": {
        "Renamed": _database("cs-one", "db.t4g.micro"),
        "Resized": _database("cs-two", "db.t4g.micro"),
        "Gone": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "cs-gone"}},
        "Endpoint": _parameter({"Ref": "Renamed"}),
    }
}
PROPOSED = {
    "Resources": {
        "Renamed": _database("cs-one-b", "db.t4g.micro"),
        "Resized": _database("cs-two", "db.t4g.small"),
        "Added": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "cs-added"}},
        "Endpoint": _parameter({"Ref": "Renamed"}),
    }
}


def _summary(changes: list[dict[str, Any]]) -> dict[str, tuple[str, str | None]]:
    return {
        c["ResourceChange"]["LogicalResourceId"]: (
            c["ResourceChange"]["Action"],
            c["ResourceChange"].get("Replacement"),
        )
        for c in changes
    }


def test_replacement_comes_from_the_resource_schemas() -> None:
    assert replaces("AWS::RDS::DBInstance", ["DBInstanceIdentifier"]) is True
    assert replaces("AWS::RDS::DBInstance", ["DBInstanceClass"]) is False
    assert replaces("AWS::RDS::DBInstance", ["DBInstanceClass", "DBInstanceIdentifier"]) is True
    assert replaces("AWS::RDS::DBInstance", ["MultiAZ"]) is None  # conditionally create-only
    assert replaces("AWS::RDS::DBInstance", []) is False
    assert replaces("AWS::ECS::TaskDefinition", ["ContainerDefinitions"]) is True
    assert replaces("AWS::ECS::Service", ["TaskDefinition"]) is False
    assert replaces("AWS::Made::Up", ["Anything"]) is None  # no schema: nothing says it stays


def test_update_change_set_lists_add_modify_remove_with_replacement(aws: None) -> None:
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName="cs", TemplateBody=json.dumps(DEPLOYED))
    assert cfn.describe_stacks(StackName="cs")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    # What the CLI does first: delete its change set "if it exists" (was HTTP 500 in moto).
    cfn.delete_change_set(StackName="cs", ChangeSetName="cdk-diff-change-set")

    created = cfn.create_change_set(
        StackName="cs",
        ChangeSetName="cdk-diff-change-set",
        TemplateBody=json.dumps(PROPOSED),
        ChangeSetType="UPDATE",
    )
    described = cfn.describe_change_set(
        StackName=created["StackId"], ChangeSetName=created["Id"], IncludePropertyValues=True
    )
    assert (described["Status"], described["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    assert _summary(described["Changes"]) == {
        "Renamed": ("Modify", "True"),
        "Resized": ("Modify", "False"),
        "Added": ("Add", None),
        "Endpoint": ("Modify", "False"),  # its Ref now names the new instance
        "Gone": ("Remove", None),
    }
    changes = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"] for c in described["Changes"]}
    assert changes["Renamed"]["Details"] == [
        {
            "Target": {
                "Attribute": "Properties",
                "Name": "DBInstanceIdentifier",
                "RequiresRecreation": "Always",
                "Path": "/Properties/DBInstanceIdentifier",
                "BeforeValue": "cs-one",
                "AfterValue": "cs-one-b",
                "AttributeChangeType": "Modify",
            },
            "Evaluation": "Static",
            "ChangeSource": "DirectModification",
        }
    ]
    assert changes["Renamed"]["PhysicalResourceId"] == "cs-one"
    assert changes["Resized"]["Details"][0]["Target"]["Name"] == "DBInstanceClass"
    assert changes["Resized"]["Details"][0]["Target"]["RequiresRecreation"] == "Never"
    assert changes["Endpoint"]["Details"] == [
        {
            "Target": {
                "Attribute": "Properties",
                "Name": "Value",
                "RequiresRecreation": "Never",
                "Path": "/Properties/Value",
                "BeforeValue": '{"Ref": "Renamed"}',
                "AfterValue": "{{changeSet:KNOWN_AFTER_APPLY}}",
                "AttributeChangeType": "Modify",
            },
            "Evaluation": "Dynamic",
            "ChangeSource": "ResourceReference",
            "CausingEntity": "Renamed",
        }
    ]
    assert changes["Gone"]["PhysicalResourceId"] == "arn:aws:sns:us-east-1:123456789012:cs-gone"
    assert json.loads(changes["Added"]["AfterContext"]) == {"Properties": {"TopicName": "cs-added"}}

    # Without IncludePropertyValues: no values, as in the API.
    plain = cfn.describe_change_set(StackName="cs", ChangeSetName="cdk-diff-change-set")
    renamed = next(
        c["ResourceChange"] for c in plain["Changes"] if c["ResourceChange"]["LogicalResourceId"] == "Renamed"
    )
    assert "BeforeContext" not in renamed and "AfterContext" not in renamed
    assert renamed["Details"][0]["Target"] == {
        "Attribute": "Properties",
        "Name": "DBInstanceIdentifier",
        "RequiresRecreation": "Always",
    }

    cfn.delete_change_set(StackName=created["StackId"], ChangeSetName=created["Id"])
    with pytest.raises(ClientError) as gone:
        cfn.describe_change_set(StackName="cs", ChangeSetName="cdk-diff-change-set")
    assert gone.value.response["Error"]["Code"] == "ChangeSetNotFound"
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    # The change set changed nothing deployed.
    db = boto3.client("rds", region_name=REGION).describe_db_instances()["DBInstances"]
    assert sorted((d["DBInstanceIdentifier"], d["DBInstanceClass"]) for d in db) == [
        ("cs-one", "db.t4g.micro"),
        ("cs-two", "db.t4g.micro"),
    ]


def test_a_change_set_that_changes_nothing_fails_as_in_cloudformation(aws: None) -> None:
    cfn = boto3.client("cloudformation", region_name=REGION)
    body = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
    cfn.create_stack(StackName="same", TemplateBody=body)
    cfn.create_change_set(StackName="same", ChangeSetName="c", TemplateBody=body, ChangeSetType="UPDATE")
    described = cfn.describe_change_set(StackName="same", ChangeSetName="c")
    assert (described["Status"], described["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    # What the CLI reads as "There were no differences".
    assert described["StatusReason"] == (
        "The submitted information didn't contain changes. "
        "Submit different information to create a change set."
    )
    assert described["Changes"] == []
    # UpdateStack still refuses (the CLI's "(no changes)" of a direct deploy).
    with pytest.raises(ClientError, match=r"No updates are to be performed\."):
        cfn.update_stack(StackName="same", TemplateBody=body)
    # Deleting a change set of a stack that does not exist is an error.
    with pytest.raises(ClientError, match="Stack with id missing does not exist"):
        cfn.delete_change_set(StackName="missing", ChangeSetName="c")


def test_a_create_change_set_adds_everything(aws: None) -> None:
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_change_set(
        StackName="new", ChangeSetName="c", TemplateBody=json.dumps(PROPOSED), ChangeSetType="CREATE"
    )
    described = cfn.describe_change_set(StackName="new", ChangeSetName="c")
    assert described["Status"] == "CREATE_COMPLETE"
    assert _summary(described["Changes"]) == {
        "Renamed": ("Add", None),
        "Resized": ("Add", None),
        "Added": ("Add", None),
        "Endpoint": ("Add", None),
    }


def _topic(name: str) -> dict[str, Any]:
    return {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": name}}


def _subscription() -> dict[str, Any]:
    return {
        "Type": "AWS::SNS::Subscription",
        "Properties": {"TopicArn": {"Ref": "Topic"}, "Protocol": "email", "Endpoint": "ops@example.com"},
    }


def test_replacement_reaches_what_references_it_transitively() -> None:
    """A renamed topic is replaced; its subscription's TopicArn (create-only) changes at deploy
    time, so it may be replaced too; the parameter naming the subscription then changes."""
    deployed = {
        "Resources": {
            "Topic": _topic("a"),
            "Subscription": _subscription(),
            "Holder": _parameter({"Fn::Sub": "${Subscription}"}),
            "Bystander": _topic("b"),
        }
    }
    proposed = json.loads(json.dumps(deployed))
    proposed["Resources"]["Topic"] = _topic("a2")
    changes = {c["LogicalResourceId"]: c for c in resource_changes(deployed, proposed)}
    assert {name: (c["Action"], c["Replacement"]) for name, c in changes.items()} == {
        "Topic": ("Modify", "True"),
        "Subscription": ("Modify", "Conditional"),
        "Holder": ("Modify", "False"),
    }
    reason = changes["Subscription"]["Details"][0]
    assert (reason["Evaluation"], reason["ChangeSource"], reason["CausingEntity"]) == (
        "Dynamic",
        "ResourceReference",
        "Topic",
    )
    assert reason["Target"]["RequiresRecreation"] == "Always"
    assert json.loads(changes["Subscription"]["AfterContext"])["Properties"]["TopicArn"] == KNOWN_AFTER_APPLY


def test_a_changed_parameter_changes_what_references_it() -> None:
    template = {
        "Parameters": {"Name": {"Type": "String"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Ref": "Name"}}}},
    }
    [change] = resource_changes(template, template, changed_parameters=["Name"])
    assert (change["Action"], change["Replacement"]) == ("Modify", "True")
    assert (change["Details"][0]["ChangeSource"], change["Details"][0]["Evaluation"]) == (
        "ParameterReference",
        "Static",
    )


def test_deletion_policy_alone_is_no_change_and_a_new_type_is_refused() -> None:
    deployed = {"Resources": {"Topic": _topic("a")}}
    retained = {"Resources": {"Topic": {**_topic("a"), "DeletionPolicy": "Retain"}}}
    assert resource_changes(deployed, retained) == []
    retyped = {"Resources": {"Topic": {"Type": "AWS::SQS::Queue", "Properties": {}}}}
    with pytest.raises(
        ResourceTypeChanged, match=r"modifies resource type of the following resources: \[Topic\]"
    ):
        resource_changes(deployed, retyped)


def test_an_executed_create_change_set_has_its_outputs_and_exports(aws: None) -> None:
    """How `cdk bootstrap` deploys CDKToolkit: moto kept the empty template's (no) outputs, so
    the CLI found no BootstrapVersion output."""
    cfn = boto3.client("cloudformation", region_name=REGION)
    template = {
        "Resources": {"Topic": _topic("toolkit")},
        "Outputs": {
            "BootstrapVersion": {"Value": "33"},
            "TopicArn": {"Value": {"Ref": "Topic"}, "Export": {"Name": "Toolkit-TopicArn"}},
        },
    }
    created = cfn.create_change_set(
        StackName="Toolkit", ChangeSetName="c", TemplateBody=json.dumps(template), ChangeSetType="CREATE"
    )
    cfn.execute_change_set(StackName="Toolkit", ChangeSetName=created["Id"])
    (stack,) = cfn.describe_stacks(StackName="Toolkit")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    topic = "arn:aws:sns:us-east-1:123456789012:toolkit"
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]} == {
        "BootstrapVersion": "33",
        "TopicArn": topic,
    }
    assert [(e["Name"], e["Value"]) for e in cfn.list_exports()["Exports"]] == [("Toolkit-TopicArn", topic)]
    with pytest.raises(ClientError) as again:
        cfn.execute_change_set(StackName="Toolkit", ChangeSetName=created["Id"])
    assert again.value.response["Error"]["Code"] == "InvalidChangeSetStatus"
    # A change set that changes nothing cannot be executed either.
    cfn.create_change_set(
        StackName="Toolkit", ChangeSetName="same", TemplateBody=json.dumps(template), ChangeSetType="UPDATE"
    )
    with pytest.raises(ClientError, match=r"current execution status of \[UNAVAILABLE\]"):
        cfn.execute_change_set(StackName="Toolkit", ChangeSetName="same")
