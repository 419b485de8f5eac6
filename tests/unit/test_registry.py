"""The services' image repositories in every environment."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import PREFIXES, STACKS, resources


@pytest.mark.parametrize("env", sorted(PREFIXES))
def test_repositories(templates: dict[str, Any], env: str) -> None:
    template = templates[f"{PREFIXES[env]}-registry"]
    repositories = {
        r["Properties"]["RepositoryName"]: r for r in resources(template, "AWS::ECR::Repository").values()
    }
    # Runbook names, exactly, and the MLflow tracking server's.
    assert sorted(repositories) == ["bot", "data-ingestion", "ml-service", "mlflow"]
    for repository in repositories.values():
        props = repository["Properties"]
        assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert props["ImageTagMutability"] == "IMMUTABLE"
        assert props["EncryptionConfiguration"]["EncryptionType"] == "KMS"
        rules = json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
        assert [r["selection"]["tagStatus"] for r in rules] == ["untagged", "any"]
        assert rules[1]["selection"]["countNumber"] == 50
        assert repository["DeletionPolicy"] == ("RetainExceptOnCreate" if env == "production" else "Delete")


@pytest.mark.parametrize("env", sorted(PREFIXES))
def test_replication_to_dr_only_in_production(templates: dict[str, Any], env: str) -> None:
    configs = resources(templates[f"{PREFIXES[env]}-registry"], "AWS::ECR::ReplicationConfiguration")
    if env != "production":
        assert not configs
        return
    ((_, config),) = configs.items()
    (rule,) = config["Properties"]["ReplicationConfiguration"]["Rules"]
    assert rule["Destinations"] == [{"Region": "us-west-2", "RegistryId": "333333333333"}]
    assert sorted(f["Filter"] for f in rule["RepositoryFilters"]) == ["bot", "data-ingestion", "ml-service"]


# The primary repositories' lifecycle policy, literally (ECR's JSON text, as the CDK renders it).
LIFECYCLE = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "Untagged images go after 7 days",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countNumber": 7,
                "countUnit": "days",
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": "Keep the newest 50 images",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 50},
            "action": {"type": "expire"},
        },
    ]
}
DR_REGISTRY = "clever-better-prod-dr-registry"


def test_dr_replicas_are_created_with_the_primary_settings(templates: dict[str, Any]) -> None:
    """ECR creates the us-west-2 replicas itself; a repository creation template for
    replication gives them the primary's immutable tags and lifecycle policy, encrypted with
    a key in us-west-2. (Templates carry no scanning setting: images are scanned on push in
    us-east-1, and a replica is the same digest.)"""
    assert STACKS[DR_REGISTRY] == ("production-dr", "us-west-2")
    dr = templates[DR_REGISTRY]
    (key_id,) = resources(dr, "AWS::KMS::Key")
    (role_id,) = resources(dr, "AWS::IAM::Role")
    (template,) = resources(dr, "AWS::ECR::RepositoryCreationTemplate").values()
    props = dict(template["Properties"])
    assert props.pop("Description")
    assert props == {
        # Our repositories have no namespace: ROOT is the template for every repository that
        # ECR creates by replication in this registry (our replication rule's three).
        "Prefix": "ROOT",
        "AppliedFor": ["REPLICATION"],
        "ImageTagMutability": "IMMUTABLE",
        "EncryptionConfiguration": {"EncryptionType": "KMS", "KmsKey": {"Fn::GetAtt": [key_id, "Arn"]}},
        "LifecyclePolicy": props["LifecyclePolicy"],
        # ECR needs a role of ours to use a KMS key in a template.
        "CustomRoleArn": {"Fn::GetAtt": [role_id, "Arn"]},
    }
    assert json.loads(props["LifecyclePolicy"]) == LIFECYCLE
    primary = resources(templates["clever-better-prod-registry"], "AWS::ECR::Repository").values()
    assert len(primary) == 4  # the replicated three and mlflow, which the DR region does not run
    for repository in primary:
        assert repository["Properties"]["ImageTagMutability"] == "IMMUTABLE"
        assert repository["Properties"]["EncryptionConfiguration"]["EncryptionType"] == "KMS"
        # The same text, byte for byte.
        assert repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"] == props["LifecyclePolicy"]


def test_dr_template_role_may_create_only_our_replicas(templates: dict[str, Any]) -> None:
    dr = templates[DR_REGISTRY]
    (key_id,) = resources(dr, "AWS::KMS::Key")
    (role,) = resources(dr, "AWS::IAM::Role").values()
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "ecr.amazonaws.com"}
    ((policy_id, policy),) = resources(dr, "AWS::IAM::ManagedPolicy").items()
    assert role["Properties"]["ManagedPolicyArns"] == [{"Ref": policy_id}]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": ["ecr:CreateRepository", "ecr:ReplicateImage", "ecr:TagResource"],
            "Effect": "Allow",
            "Resource": [
                f"arn:aws:ecr:us-west-2:333333333333:repository/{name}"
                for name in ("bot", "data-ingestion", "ml-service")  # sorted by minimizePolicies
            ],
        },
        {
            "Action": ["kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [key_id, "Arn"]},
        },
    ]
