"""Stack layout, protection of stateful resources and logical-ID stability."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import STACKS, resources

# Resource types whose replacement or deletion loses data or breaks what depends on them.
STATEFUL_TYPES = frozenset(
    {
        "AWS::EC2::VPC",
        "AWS::EC2::Subnet",
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::S3::Bucket",
        "AWS::SecretsManager::Secret",
        "AWS::Backup::BackupVault",
        "AWS::ECR::Repository",
        "AWS::SQS::Queue",
    }
)
PINNED = Path(__file__).with_name("stateful_logical_ids.json")
# README: production's stateful stacks are termination-protected (not the stateless services
# stack, and nothing in dev or staging). Literal: a stack that drops out fails here.
TERMINATION_PROTECTED = frozenset(
    {
        "clever-better-prod-network",
        "clever-better-prod-data",
        "clever-better-prod-secrets",
        "clever-better-prod-registry",
        "clever-better-prod-audit",
        "clever-better-prod-dr-network",
        "clever-better-prod-dr-data",
        "clever-better-prod-dr-registry",
        "clever-better-prod-dr-audit",
    }
)


def _manifest(assembly_dir: Path) -> dict[str, Any]:
    return json.loads((assembly_dir / "manifest.json").read_text())


def _stack_artifacts(assembly_dir: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for stage_dir in sorted(assembly_dir.glob("assembly-*")):
        manifest = json.loads((stage_dir / "manifest.json").read_text())
        for artifact in manifest["artifacts"].values():
            if artifact["type"] == "aws:cloudformation:stack":
                found[artifact["properties"].get("stackName")] = artifact
    return found


def test_stack_names_regions_and_stages(templates: dict[str, Any], assembly_dir: Path) -> None:
    artifacts = _stack_artifacts(assembly_dir)
    assert sorted(artifacts) == sorted(STACKS)
    for name, (stage, region) in STACKS.items():
        assert artifacts[name]["environment"].endswith(f"/{region}")
        assert artifacts[name]["displayName"] == f"{stage}/{name.rsplit('-', 1)[1]}"
    nested = [a for a in _manifest(assembly_dir)["artifacts"].values() if a["type"] == "cdk:cloud-assembly"]
    assert sorted(a["properties"]["displayName"] for a in nested) == [
        "dev",
        "production",
        "production-dr",
        "staging",
    ]


@pytest.mark.parametrize("name", sorted(STACKS))
def test_termination_protection_on_production_stateful_stacks(
    templates: dict[str, Any], assembly_dir: Path, name: str
) -> None:
    artifact = _stack_artifacts(assembly_dir)[name]
    assert artifact["properties"].get("terminationProtection", False) is (name in TERMINATION_PROTECTED)


def test_termination_protected_stacks_exist(templates: dict[str, Any], assembly_dir: Path) -> None:
    protected = {
        name
        for name, artifact in _stack_artifacts(assembly_dir).items()
        if artifact["properties"].get("terminationProtection", False)
    }
    assert protected == TERMINATION_PROTECTED


# The access stack (IAM roles and policies) holds nothing stateful.
@pytest.mark.parametrize("name", [n for n in STACKS if "-prod-" in n and not n.endswith("-access")])
def test_production_keeps_every_stateful_resource(templates: dict[str, Any], name: str) -> None:
    stateful = {k: r for k, r in templates[name]["Resources"].items() if r["Type"] in STATEFUL_TYPES}
    assert stateful
    for logical_id, resource in stateful.items():
        # Kept through every update and deletion; only the failed creation that made it
        # removes it again, so re-running that deploy does not meet AlreadyExists.
        assert resource.get("DeletionPolicy") in ("RetainExceptOnCreate", "Snapshot"), logical_id
        assert resource.get("UpdateReplacePolicy") in ("Retain", "Snapshot"), logical_id


@pytest.mark.parametrize("name", sorted(STACKS))
def test_no_resource_outlives_a_failed_first_create(templates: dict[str, Any], name: str) -> None:
    """A plain Retain survives the rollback of the deploy that created it, and a named
    resource then makes the retry fail with AlreadyExists."""
    policies = {r.get("DeletionPolicy", "Delete") for r in templates[name]["Resources"].values()}
    assert policies <= {"Delete", "RetainExceptOnCreate", "Snapshot"}


@pytest.mark.parametrize("name", ["clever-better-dev-network", "clever-better-dev-data"])
def test_dev_cleans_up_after_itself(templates: dict[str, Any], name: str) -> None:
    stateful = {k: r for k, r in templates[name]["Resources"].items() if r["Type"] in STATEFUL_TYPES}
    assert stateful
    for logical_id, resource in stateful.items():
        assert resource.get("DeletionPolicy", "Delete") == "Delete", logical_id


def stateful_ids(templates: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {
        name: {k: r["Type"] for k, r in sorted(t["Resources"].items()) if r["Type"] in STATEFUL_TYPES}
        for name, t in sorted(templates.items())
    }


def test_stateful_logical_ids_never_change(templates: dict[str, Any]) -> None:
    """A renamed construct changes its logical ID, and CloudFormation then replaces the resource.

    Adding a stateful resource: add it to stateful_logical_ids.json in the same change.
    Removing or renaming one on purpose needs a migration plan, not just a new pin.
    """
    pinned = json.loads(PINNED.read_text())
    current = stateful_ids(templates)
    assert set(pinned) == set(STACKS)
    assert all(ids for name, ids in pinned.items() if not name.endswith("-access"))
    for name, ids in pinned.items():
        missing = sorted(set(ids) - set(current.get(name, {})))
        assert not missing, f"{name}: stateful resources would be replaced or deleted: {missing}"
        assert {k: current[name][k] for k in ids} == ids
    unpinned = {n: sorted(set(ids) - set(pinned.get(n, {}))) for n, ids in current.items()}
    assert not any(unpinned.values()), f"pin new stateful resources in {PINNED.name}: {unpinned}"


def test_names_know_every_stack_the_app_makes(templates: dict[str, Any]) -> None:
    """ops (clear-failed-creates, stack outputs) finds stacks by config/names.py alone."""
    from config.names import Names

    named = {
        *Names("dev").stacks(),
        *Names("staging").stacks(),
        *Names("prod").stacks(),
        *Names("prod").stacks(dr=True),
    }
    assert named == set(templates) == set(STACKS)


def test_every_encrypted_log_group_is_admitted_by_its_key(templates: dict[str, Any]) -> None:
    """CreateLogGroup refuses a key whose policy does not let CloudWatch Logs use it for that
    group's ARN (the emulator checks it too: emulator/services/logs.py)."""
    checked = 0
    for name, template in templates.items():
        for group_id, group in resources(template, "AWS::Logs::LogGroup").items():
            key_ref = group["Properties"].get("KmsKeyId")
            if key_ref is None:
                continue
            key_id = key_ref["Fn::GetAtt"][0]
            statements = template["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
            admitted = [
                arn
                for statement in statements
                if str(statement.get("Principal", {}).get("Service", "")).startswith("logs.")
                for arn in _listed(statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
            ]
            assert admitted and all(isinstance(arn, str) for arn in admitted), (name, key_id, admitted)
            group_arn = (
                f"{admitted[0].split(':log-group:')[0]}:log-group:{group['Properties']['LogGroupName']}"
            )
            assert any(fnmatch.fnmatchcase(group_arn, arn) for arn in admitted), (name, group_id, group_arn)
            checked += 1
    assert checked >= 40, checked


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
