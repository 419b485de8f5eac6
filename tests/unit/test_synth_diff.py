"""`make diff`'s classifier and guard on crafted template pairs, and the tool end to end."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT
from tools import cfn_schema, synth_diff
from tools.assembly import Stack, load
from tools.synth_diff import Change, diff_assemblies

DATA = "clever-better-prod-data"
SERVICES = "clever-better-prod-services"

KEY = {
    "Type": "AWS::KMS::Key",
    "Properties": {"EnableKeyRotation": True},
    "DeletionPolicy": "RetainExceptOnCreate",
}
DATABASE = {
    "Type": "AWS::RDS::DBInstance",
    "Properties": {
        "DBInstanceIdentifier": "clever-better-prod",
        "DBInstanceClass": "db.r7g.large",
        "KmsKeyId": {"Fn::GetAtt": ["DataKey17AFBB84", "Arn"]},
        "StorageEncrypted": True,
    },
    "DeletionPolicy": "Snapshot",
    "UpdateReplacePolicy": "Snapshot",
}
BUCKET = {
    "Type": "AWS::S3::Bucket",
    "Properties": {"BucketName": "clever-better-prod-backups-333333333333-us-east-1"},
    "DeletionPolicy": "RetainExceptOnCreate",
    "UpdateReplacePolicy": "Retain",
}
ROLE = {
    "Type": "AWS::IAM::Role",
    "Properties": {
        "AssumeRolePolicyDocument": {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                }
            ]
        },
        "Policies": [
            {
                "PolicyName": "read",
                "PolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "s3:GetObject",
                            "Resource": {"Fn::Sub": "${Bucket.Arn}/models/*"},
                        }
                    ]
                },
            }
        ],
    },
}
GROUP = {
    "Type": "AWS::EC2::SecurityGroup",
    "Properties": {
        "GroupDescription": "bot",
        "VpcId": "vpc-1",
        "SecurityGroupIngress": [
            {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "CidrIp": "10.0.0.0/16"}
        ],
    },
}
RESOURCES: dict[str, Any] = {
    "DataKey17AFBB84": KEY,
    "DatabaseInstanceAA8A5FDE": DATABASE,
    "BucketsBackups18324FCD": BUCKET,
    "TaskRole": ROLE,
    "BotGroup": GROUP,
}


def stack(
    resources: dict[str, Any], *, name: str = DATA, stage: str = "production", outputs: Any = None
) -> Stack:
    template: dict[str, Any] = {"Resources": resources}
    if outputs:
        template["Outputs"] = outputs
    return Stack(name=name, stage=stage, region="us-east-1", template=template)


def changes(old: dict[str, Any], new: dict[str, Any], *, stage: str = "production") -> dict[str, Change]:
    diffs = diff_assemblies({DATA: stack(old, stage=stage)}, {DATA: stack(new, stage=stage)})
    return {c.logical_id: c for d in diffs for c in d.changes}


def edited(**edits: Any) -> dict[str, Any]:
    """RESOURCES with property edits: edited(DatabaseInstanceAA8A5FDE={"DBInstanceClass": ...})."""
    resources = copy.deepcopy(RESOURCES)
    for logical_id, properties in edits.items():
        resources[logical_id]["Properties"].update(properties)
    return resources


def test_the_schemas_say_what_replaces() -> None:
    # The facts the classifier rests on, as CloudFormation's resource schemas give them.
    assert cfn_schema.replaces("AWS::RDS::DBInstance", ["DBInstanceIdentifier"]) is True
    assert cfn_schema.replaces("AWS::RDS::DBInstance", ["DBInstanceClass", "AllocatedStorage"]) is False
    assert cfn_schema.replaces("AWS::S3::Bucket", ["BucketName"]) is True
    assert cfn_schema.replaces("AWS::EC2::Subnet", ["CidrBlock"]) is True
    assert cfn_schema.replaces("AWS::KMS::Key", ["Description"]) is False
    # A custom resource is AWS::CloudFormation::CustomResource to cfn-lint: its ServiceToken is create-only.
    assert cfn_schema.replaces("Custom::DatabaseBootstrap", ["ServiceToken"]) is True
    assert cfn_schema.replaces("Custom::DatabaseBootstrap", ["Anything"]) is False
    assert cfn_schema.replaces("AWS::RDS::DBInstance", ["MultiAZ"]) is None
    assert cfn_schema.replaces("AWS::No::Such", ["Anything"]) is None


def test_no_change_is_no_diff() -> None:
    assert diff_assemblies({DATA: stack(RESOURCES)}, {DATA: stack(copy.deepcopy(RESOURCES))}) == []


def test_a_changed_instance_class_is_modified_in_place() -> None:
    found = changes(RESOURCES, edited(DatabaseInstanceAA8A5FDE={"DBInstanceClass": "db.r7g.xlarge"}))
    assert list(found) == ["DatabaseInstanceAA8A5FDE"]
    database = found["DatabaseInstanceAA8A5FDE"]
    assert (database.action, database.properties, database.dangerous) == (
        "modified",
        ("DBInstanceClass",),
        False,
    )


def test_a_changed_db_identifier_replaces_the_database_and_is_refused() -> None:
    found = changes(
        RESOURCES, edited(DatabaseInstanceAA8A5FDE={"DBInstanceIdentifier": "clever-better-prod-db"})
    )
    database = found["DatabaseInstanceAA8A5FDE"]
    assert (database.action, database.reason) == ("replaced", "DBInstanceIdentifier is create-only")
    diffs = diff_assemblies(
        {DATA: stack(RESOURCES)},
        {DATA: stack(edited(DatabaseInstanceAA8A5FDE={"DBInstanceIdentifier": "clever-better-prod-db"}))},
    )
    refused, acknowledged = synth_diff.blocked(diffs, [])
    assert [c.key for c in refused] == ["clever-better-prod-data/DatabaseInstanceAA8A5FDE"]
    assert acknowledged == []
    refused, acknowledged = synth_diff.blocked(diffs, ["clever-better-prod-data/DatabaseInstanceAA8A5FDE"])
    assert refused == [] and [c.key for c in acknowledged] == [
        "clever-better-prod-data/DatabaseInstanceAA8A5FDE"
    ]


def test_a_renamed_stateful_construct_is_a_replacement() -> None:
    renamed = copy.deepcopy(RESOURCES)
    renamed["BucketsModelBackups0A1B2C3D"] = renamed.pop("BucketsBackups18324FCD")
    found = changes(RESOURCES, renamed)
    assert list(found) == ["BucketsBackups18324FCD"]
    bucket = found["BucketsBackups18324FCD"]
    assert bucket.action == "replaced" and bucket.dangerous
    assert bucket.reason.startswith("logical ID BucketsBackups18324FCD -> BucketsModelBackups0A1B2C3D")


def test_a_removed_bucket_is_a_deletion_refused_in_staging_and_production_only() -> None:
    removed = {k: v for k, v in RESOURCES.items() if k != "BucketsBackups18324FCD"}
    for stage, refused_keys in (
        ("production", ["clever-better-prod-data/BucketsBackups18324FCD"]),
        ("staging", ["clever-better-prod-data/BucketsBackups18324FCD"]),
        ("dev", []),
    ):
        found = changes(RESOURCES, removed, stage=stage)
        assert found["BucketsBackups18324FCD"].action == "removed"
        diffs = diff_assemblies({DATA: stack(RESOURCES, stage=stage)}, {DATA: stack(removed, stage=stage)})
        assert [c.key for c in synth_diff.blocked(diffs, [])[0]] == refused_keys, stage


def test_a_new_key_replaces_the_database_encrypted_with_it() -> None:
    # Nothing in the database's own properties changed: its KmsKeyId is create-only and takes
    # the key's ARN, so replacing the key (here: a type change) replaces the database.
    renamed = copy.deepcopy(RESOURCES)
    renamed["DataKey17AFBB84"] = {"Type": "AWS::KMS::ReplicaKey", "Properties": {}}
    found = changes(RESOURCES, renamed)
    assert found["DatabaseInstanceAA8A5FDE"].action == "replaced"
    assert found["DatabaseInstanceAA8A5FDE"].reason == (
        "KmsKeyId takes DataKey17AFBB84, which is replaced; its DBInstanceIdentifier 'clever-better-prod' "
        "is unchanged, and CloudFormation cannot replace a custom-named resource: the update fails unless "
        "the name changes"
    )


def test_a_replacement_reaches_another_stack_through_its_export() -> None:
    export = {"Name": "clever-better-prod-data:BucketArn"}
    outputs = {"BucketArn": {"Value": {"Fn::GetAtt": ["BucketsBackups18324FCD", "Arn"]}, "Export": export}}
    consumer = {
        "Log": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": {"Fn::ImportValue": "clever-better-prod-data:BucketArn"}},
        }
    }
    base = {DATA: stack(RESOURCES, outputs=outputs), SERVICES: stack(consumer, name=SERVICES)}
    head = {
        DATA: stack(edited(BucketsBackups18324FCD={"BucketName": "other"}), outputs=outputs),
        SERVICES: stack(copy.deepcopy(consumer), name=SERVICES),
    }
    found = {c.key: c for d in diff_assemblies(base, head) for c in d.changes}
    log = found["clever-better-prod-services/Log"]
    assert (log.action, log.reason) == (
        "replaced",
        "LogGroupName takes clever-better-prod-data:BucketArn, which is replaced",
    )


def test_losing_the_retention_policy_is_refused() -> None:
    unkept = copy.deepcopy(RESOURCES)
    unkept["DatabaseInstanceAA8A5FDE"]["DeletionPolicy"] = "Delete"
    database = changes(RESOURCES, unkept)["DatabaseInstanceAA8A5FDE"]
    assert database.action == "modified" and database.loses_retention and database.dangerous
    assert database.properties == ("DeletionPolicy: Snapshot -> Delete",)


def test_an_iam_widening_is_listed_with_a_warning() -> None:
    widened = copy.deepcopy(RESOURCES)
    widened["TaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    )
    (diff,) = diff_assemblies({DATA: stack(RESOURCES)}, {DATA: stack(widened)})
    rules = [(r.logical_id, r.kind, r.sign, r.text, r.warning) for r in diff.rules]
    assert rules == [("TaskRole", "iam", "+", "Allow s3:* on * (inline read)", "wildcard")]
    assert [(c.logical_id, c.action, c.properties) for c in diff.changes] == [
        ("TaskRole", "modified", ("Policies",))
    ]


def test_security_group_rules_added_and_removed() -> None:
    opened = edited(
        BotGroup={
            "SecurityGroupIngress": [
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}
            ]
        }
    )
    (diff,) = diff_assemblies({DATA: stack(RESOURCES)}, {DATA: stack(opened)})
    assert [(r.sign, r.text, r.warning) for r in diff.rules] == [
        ("+", "ingress tcp port 22 from 0.0.0.0/0", "open to the internet"),
        ("-", "ingress tcp port 8080 from 10.0.0.0/16", ""),
    ]


def test_the_report_names_what_to_write_to_go_ahead() -> None:
    new = edited(DatabaseInstanceAA8A5FDE={"DBInstanceIdentifier": "x"})
    diffs = diff_assemblies({DATA: stack(RESOURCES)}, {DATA: stack(new)})
    refused, acknowledged = synth_diff.blocked(diffs, [])
    text = synth_diff.render(diffs, refused, acknowledged, title="t")
    assert "| production | clever-better-prod-data | 0 | 0 | 0 | 1 | 0 | 0 |" in text
    assert "- `clever-better-prod-data/DatabaseInstanceAA8A5FDE` (AWS::RDS::DBInstance): replaced" in text
    assert "Allow-Replacement: STACK/LOGICAL_ID" in text


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def test_commit_trailers_acknowledge_a_replacement(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "base")
    base = _git(tmp_path, "rev-parse", "HEAD").strip()
    message = (
        "Rename the backups bucket\n\nAllow-Replacement: clever-better-prod-data/BucketsBackups18324FCD\n"
    )
    _git(
        tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", message
    )
    # A trailer-like line in the body of the base's own history does not count: only base..HEAD.
    assert synth_diff.trailer_allowances(base, cwd=tmp_path) == [
        "clever-better-prod-data/BucketsBackups18324FCD"
    ]
    assert synth_diff.trailer_allowances("HEAD", cwd=tmp_path) == []


def test_the_session_assembly_reads_back_by_stage_and_region(
    assembly_dir: Path, templates: dict[str, Any]
) -> None:
    stacks = load(assembly_dir)
    assert len(stacks) == 34  # 9 units in each of 3 environments, 7 in the DR region
    assert (stacks["clever-better-prod-dr-data"].stage, stacks["clever-better-prod-dr-data"].region) == (
        "production-dr",
        "us-west-2",
    )
    assert (stacks["clever-better-dev-services"].stage, stacks["clever-better-dev-services"].region) == (
        "dev",
        "us-east-1",
    )
    assert stacks["clever-better-prod-data"].template == templates["clever-better-prod-data"]


def test_every_pinned_stateful_resource_is_guarded(templates: dict[str, Any]) -> None:
    # The resources whose logical IDs the tests pin as stateful are the ones the guard watches.
    pinned = json.loads((ROOT / "tests/unit/stateful_logical_ids.json").read_text())
    types = {
        templates[stack_name]["Resources"][logical_id]["Type"]
        for stack_name, ids in pinned.items()
        for logical_id in ids
    }
    assert types, "no pinned stateful resources"
    assert sorted(types - synth_diff.STATEFUL_TYPES) == []


@pytest.mark.parametrize("value", ["", "x'; touch /tmp/pwned-diff #"])
def test_dry_run_synthesizes_nothing(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = synth_diff.main([], {"DRY_RUN": "1", "DIFF_ALLOW": value, "BASE": "HEAD"})
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("[dry-run] would synthesize ")
    assert not Path("/tmp/pwned-diff").exists()


def test_an_unknown_base_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert synth_diff.main([], {"BASE": "no-such-commit"}) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: git rev-parse") and err.count("\n") == 1


def test_make_diff_end_to_end_refuses_then_takes_the_trailer(tmp_path: Path) -> None:
    """A clone of HEAD renames production's and staging's database: refused; a commit with the
    trailers goes through, with the base's synthesis from the cache and its worktree gone."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    (clone / "node_modules").symlink_to(ROOT / "node_modules")
    names = clone / "config" / "names.py"
    source = names.read_text()
    renamed = source.replace(
        "return self.prefix\n\n    @property\n    def db_proxy",
        'return f"{self.prefix}-db"\n\n    @property\n    def db_proxy',
    )
    assert renamed != source, "config/names.py's db_instance moved: update this test's edit"
    names.write_text(renamed)
    script = [sys.executable, "tools/synth_diff.py"]
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "BASE": "HEAD"}

    first = subprocess.run(script, cwd=clone, env=env, capture_output=True, text=True, check=False)
    assert first.returncode == 1, first.stderr
    assert first.stderr.splitlines()[-1].startswith(
        "error: 2 stateful resource(s) would be replaced or deleted"
    )
    assert (
        "- `clever-better-prod-data/DatabaseInstanceAA8A5FDE` (AWS::RDS::DBInstance): replaced"
        in first.stdout
    )
    assert (
        "- `clever-better-staging-data/DatabaseInstanceAA8A5FDE` (AWS::RDS::DBInstance): replaced"
        in first.stdout
    )
    assert "(synthesized) → working tree" in first.stdout
    assert _git(clone, "worktree", "list").count("\n") == 1

    base = _git(clone, "rev-parse", "HEAD").strip()
    trailers = "".join(
        f"Allow-Replacement: clever-better-{t}-data/DatabaseInstanceAA8A5FDE\n" for t in ("prod", "staging")
    )
    _git(
        clone,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-qam",
        f"Rename the databases\n\n{trailers}",
    )
    second = subprocess.run(
        script, cwd=clone, env={**env, "BASE": base}, capture_output=True, text=True, check=False
    )
    assert second.returncode == 0, second.stderr
    assert "(cached) → working tree" in second.stdout
    assert "## Acknowledged" in second.stdout and "## Refused" not in second.stdout
    # The estimate before and after, per environment (a renamed database costs the same).
    assert "| environment | before | after | change | unpriced |" in second.stdout
    # The DR region's GuardDuty detector and the pilot light's Container Insights are
    # usage-priced: listed, not counted.
    assert "| production-dr | $194.86 | $194.86 | +$0.00 (+0.0%) | 2 |" in second.stdout
    assert (clone / "cdk.out.diff" / "report.md").read_text().startswith("# Synth-and-diff: ")


def test_a_stack_that_leaves_the_app_is_reported_and_its_stateful_resources_refused() -> None:
    (diff,) = diff_assemblies({DATA: stack(RESOURCES)}, {})
    assert diff.status == "removed"
    bucket = {c.logical_id: c for c in diff.changes}["BucketsBackups18324FCD"]
    assert bucket.reason == (
        "its stack left the app: kept until the stack is destroyed, then left behind, unmanaged "
        "(DeletionPolicy keeps it; re-adding its name later fails)"
    )
    refused, _ = synth_diff.blocked([diff], [])
    assert sorted(c.logical_id for c in refused) == [
        "BucketsBackups18324FCD",
        "DataKey17AFBB84",
        "DatabaseInstanceAA8A5FDE",
    ]


def test_a_conditionally_create_only_restore_property_replaces_the_database() -> None:
    # The schema lists DBSnapshotIdentifier as conditionally create-only; the reference says a
    # different snapshot restores a new instance and deletes the original.
    found = changes(RESOURCES, edited(DatabaseInstanceAA8A5FDE={"DBSnapshotIdentifier": "snap-1"}))
    assert (found["DatabaseInstanceAA8A5FDE"].action, found["DatabaseInstanceAA8A5FDE"].dangerous) == (
        "replaced",
        True,
    )
    # MultiAZ is conditionally create-only too, but updates in place: reported, not refused.
    multi_az = changes(RESOURCES, edited(DatabaseInstanceAA8A5FDE={"MultiAZ": True}))[
        "DatabaseInstanceAA8A5FDE"
    ]
    assert (multi_az.action, multi_az.dangerous) == ("modified", False)
    assert multi_az.reason == "may be replaced: MultiAZ is conditionally create-only"


def test_an_export_in_use_that_changes_is_a_failed_deploy_warning() -> None:
    outputs = {"Key": {"Value": {"Ref": "DataKey17AFBB84"}, "Export": {"Name": "data:KeyId"}}}
    changed = {"Key": {"Value": {"Fn::GetAtt": ["DataKey17AFBB84", "Arn"]}, "Export": {"Name": "data:KeyId"}}}
    consumer = {
        "Use": {"Type": "AWS::SSM::Parameter", "Properties": {"Value": {"Fn::ImportValue": "data:KeyId"}}}
    }
    base = {DATA: stack(RESOURCES, outputs=outputs), SERVICES: stack(consumer, name=SERVICES)}
    for head_outputs, what in ((changed, "changes value"), ({}, "is removed")):
        head = {DATA: stack(RESOURCES, outputs=head_outputs), SERVICES: stack(consumer, name=SERVICES)}
        diffs = {d.stack: d for d in diff_assemblies(base, head)}
        assert diffs[DATA].warnings == [
            f"export data:KeyId {what} while clever-better-prod-services import(s) it: CloudFormation "
            "refuses the update (export in use); move the importers off it first"
        ]


def test_a_rename_behind_an_export_replaces_the_importer() -> None:
    group = {
        "Type": "AWS::RDS::DBSubnetGroup",
        "Properties": {"DBSubnetGroupDescription": "db", "SubnetIds": ["a"]},
    }
    network = "clever-better-prod-network"
    db = copy.deepcopy(DATABASE)
    db["Properties"]["DBSubnetGroupName"] = {"Fn::ImportValue": "net:SubnetGroup"}
    del db["Properties"]["KmsKeyId"]
    base = {
        network: stack(
            {"Group": group},
            name=network,
            outputs={"G": {"Value": {"Ref": "Group"}, "Export": {"Name": "net:SubnetGroup"}}},
        ),
        DATA: stack({"Db": db}),
    }
    head = {
        network: stack(
            {"GroupRenamed": group},
            name=network,
            outputs={"G": {"Value": {"Ref": "GroupRenamed"}, "Export": {"Name": "net:SubnetGroup"}}},
        ),
        DATA: stack({"Db": copy.deepcopy(db)}),
    }
    found = {c.key: c for d in diff_assemblies(base, head) for c in d.changes}
    assert found["clever-better-prod-data/Db"].action == "replaced"
    assert found["clever-better-prod-data/Db"].reason.startswith(
        "DBSubnetGroupName takes net:SubnetGroup, which is replaced"
    )


def test_the_effective_deletion_policy_counts() -> None:
    # An RDS instance outside a cluster is snapshotted by default: dropping an explicit
    # Snapshot changes nothing that matters; Snapshot -> Delete does.
    implicit = copy.deepcopy(RESOURCES)
    del implicit["DatabaseInstanceAA8A5FDE"]["DeletionPolicy"]
    database = changes(RESOURCES, implicit)["DatabaseInstanceAA8A5FDE"]
    assert (database.action, database.loses_retention, database.dangerous) == ("modified", False, False)
    removed = changes(RESOURCES, {k: v for k, v in RESOURCES.items() if k != "DatabaseInstanceAA8A5FDE"})
    assert removed["DatabaseInstanceAA8A5FDE"].reason == "deleted after a final snapshot"
    assert not removed["DatabaseInstanceAA8A5FDE"].retained


def test_a_key_spec_change_is_a_failed_update_warning() -> None:
    (diff,) = diff_assemblies(
        {DATA: stack(RESOURCES)}, {DATA: stack(edited(DataKey17AFBB84={"KeySpec": "RSA_2048"}))}
    )
    assert diff.warnings == ["`DataKey17AFBB84` AWS::KMS::Key: KeySpec cannot change; the update fails"]


def test_rule_warnings_are_for_real_widening_only() -> None:
    ipv6 = edited(
        BotGroup={
            "SecurityGroupIngress": [{"IpProtocol": "6", "FromPort": 443, "ToPort": 443, "CidrIpv6": "::/0"}]
        }
    )
    (diff,) = diff_assemblies({DATA: stack(RESOURCES)}, {DATA: stack(ipv6)})
    assert [(r.sign, r.text, r.warning) for r in diff.rules if r.sign == "+"] == [
        ("+", "ingress tcp port 443 from ::/0", "open to the internet")
    ]
    egress = edited(BotGroup={"SecurityGroupEgress": [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}]})
    (diff,) = diff_assemblies({DATA: stack(RESOURCES)}, {DATA: stack(egress)})
    assert [(r.text, r.warning) for r in diff.rules if r.sign == "+"] == [
        ("egress all all ports to 0.0.0.0/0", "")
    ]
    anyone = copy.deepcopy(RESOURCES)
    statements = anyone["TaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    statements.append({"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Principal": {"AWS": "*"}})
    statements.append(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:x", "Principal": {"AWS": "*"}}
    )
    (diff,) = diff_assemblies({DATA: stack(RESOURCES)}, {DATA: stack(anyone)})
    assert sorted((r.text, r.warning) for r in diff.rules) == [
        ("Allow s3:GetObject on arn:x for {AWS: *} (inline read)", "wildcard"),
        ("Deny s3:* on * for {AWS: *} (inline read)", ""),
    ]


def test_odd_template_shapes_do_not_crash() -> None:
    odd = {
        "Null": {"Type": "AWS::SNS::Topic", "Properties": None},
        "Rule": {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Properties": {"IpProtocol": {"Ref": "P"}, "GroupId": "sg-1"},
        },
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"Policies": {"Fn::If": ["C", [], []]}}},
        "Group": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {"SecurityGroupIngress": {"Fn::If": ["C", [], []]}},
        },
    }
    (diff,) = diff_assemblies({}, {DATA: stack(odd)})
    assert sorted(c.logical_id for c in diff.changes) == ["Group", "Null", "Role", "Rule"]
    assert [r.text for r in diff.rules] == ["group sg-1 ingress ${P} all ports from ?"]


def test_schema_paths_through_lists() -> None:
    props = {"Items": [{"Name": "a"}, {"Name": "b"}]}
    assert cfn_schema.at(props, ("Items", "*", "Name")) == ["a", "b"]
    assert cfn_schema.at(props, ("Missing", "*", "Name")) is None
