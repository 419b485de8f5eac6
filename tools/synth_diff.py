"""`make diff`: synthesize the base and the working tree offline and say what a deploy would change.

    python tools/synth_diff.py [--base REV] [--allow STACK/LOGICAL_ID ...] [--report FILE]

The base is the merge-base with origin/main (main when there is no remote), synthesized in a
git worktree and cached by commit in .cache/synth/; the working tree (uncommitted changes
included) is synthesized beside it. No AWS credentials: both use placeholder accounts.

Per stack it lists the resources added, removed, modified and replaced, and the IAM and
security-group rules added or removed. Whether a change replaces a resource comes from the
CloudFormation resource schemas cfn-lint ships (tools/cfn_schema.py), and a replacement
reaches whatever takes the replaced resource's name or ARN in a create-only property (a new
key replaces the database encrypted with it).

Exit 1 when a stateful resource in staging or production would be replaced, deleted or lose
its retention policy, unless acknowledged by `--allow STACK/LOGICAL_ID` (DIFF_ALLOW in make)
or by a commit-message trailer `Allow-Replacement: STACK/LOGICAL_ID` between the base and HEAD.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools import cfn_schema, cost  # noqa: E402 - after the path, as a script
from tools.assembly import Stack, load, synth  # noqa: E402

CACHE = ROOT / ".cache" / "synth"
DEFAULT_REPORT = ROOT / "cdk.out.diff" / "report.md"
TRAILER = "Allow-Replacement"
# Where a lost resource is a lost promise (the runbook's RPO, retention, names operators type).
GUARDED_STAGES = ("staging", "production", "production-dr")
# What holds data or identity that a replacement or deletion loses: database, bucket, key,
# secret, log group, vault, repository, network.
STATEFUL_TYPES = frozenset(
    {
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::SecretsManager::Secret",
        "AWS::Logs::LogGroup",
        "AWS::Backup::BackupVault",
        "AWS::ECR::Repository",
        "AWS::EC2::VPC",
        "AWS::EC2::Subnet",
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::EFS::FileSystem",
    }
)
KEEPING_POLICIES = ("Retain", "RetainExceptOnCreate", "Snapshot")
LEFT_BEHIND = ("Retain", "RetainExceptOnCreate")
# Conditionally create-only properties (the schema's `conditionalCreateOnlyProperties`) that
# replace the resource whenever they change, by its CloudFormation reference (restoring from
# another snapshot or source, another engine, another zone; a new key schema). The others
# (e.g. an RDS instance's MultiAZ or maintenance window) update in place in the usual case:
# reported as "may be replaced", never refused.
REPLACING_CONDITIONALS = {
    "AWS::RDS::DBInstance": frozenset(
        {
            "AvailabilityZone",
            "DBClusterSnapshotIdentifier",
            "DBSnapshotIdentifier",
            "Engine",
            "RestoreTime",
            "SourceDBClusterIdentifier",
            "SourceDBInstanceAutomatedBackupsArn",
            "SourceDBInstanceIdentifier",
            "SourceDbiResourceId",
            "UseLatestRestorableTime",
        }
    ),
    "AWS::RDS::DBCluster": frozenset({"Engine", "MasterUsername"}),
    "AWS::DynamoDB::Table": frozenset({"KeySchema"}),
}
# Properties whose change CloudFormation refuses ("the update request fails"), by the reference.
UPDATE_FAILS = {"AWS::KMS::Key": frozenset({"KeySpec", "KeyUsage", "MultiRegion"})}
# Where each type keeps its policy documents (statements are compared one by one).
POLICY_PROPERTIES = {
    "AWS::IAM::Role": ("AssumeRolePolicyDocument", "Policies", "ManagedPolicyArns", "PermissionsBoundary"),
    "AWS::IAM::Policy": ("PolicyDocument", "Roles", "Users", "Groups"),
    "AWS::IAM::ManagedPolicy": ("PolicyDocument", "Roles", "Users", "Groups"),
    "AWS::KMS::Key": ("KeyPolicy",),
    "AWS::S3::BucketPolicy": ("PolicyDocument",),
    "AWS::SecretsManager::ResourcePolicy": ("ResourcePolicy",),
    "AWS::SNS::TopicPolicy": ("PolicyDocument",),
    "AWS::SQS::QueuePolicy": ("PolicyDocument",),
    "AWS::ECR::Repository": ("RepositoryPolicyText",),
    "AWS::Backup::BackupVault": ("AccessPolicy",),
}
SECURITY_GROUP_RULES = ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress")
PROTOCOLS = {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
WORLD = ("0.0.0.0/0", "::/0")


class UsageError(Exception):
    """One line for the operator; exit 2."""


# ---------------------------------------------------------------------------- the classifier


@dataclass(frozen=True)
class Change:
    stack: str
    stage: str
    logical_id: str
    resource_type: str
    action: str  # added | removed | modified | replaced
    properties: tuple[str, ...] = ()
    reason: str = ""
    # Removed: CloudFormation leaves the resource behind (DeletionPolicy Retain) instead of deleting it.
    retained: bool = False
    # Modified: the retention policy goes from keeping the resource to deleting it.
    loses_retention: bool = False

    @property
    def key(self) -> str:
        return f"{self.stack}/{self.logical_id}"

    @property
    def stateful(self) -> bool:
        return self.resource_type in STATEFUL_TYPES

    @property
    def dangerous(self) -> bool:
        """Replaced, deleted, orphaned (left behind, unmanaged) or no longer kept."""
        return self.stateful and (self.action in ("replaced", "removed") or self.loses_retention)


@dataclass(frozen=True)
class RuleChange:
    stack: str
    logical_id: str
    kind: str  # iam | security-group
    sign: str  # + | -
    text: str
    # Only on an added rule: "wildcard" (an Allow on * or service:*), "open to the internet".
    warning: str = ""


@dataclass
class StackDiff:
    stack: str
    stage: str
    region: str
    status: str  # changed | added | removed
    changes: list[Change] = field(default_factory=list)
    rules: list[RuleChange] = field(default_factory=list)
    # What would make the deploy fail rather than change anything (an export in use, ...).
    warnings: list[str] = field(default_factory=list)
    # Logical IDs whose physical ID changes on deploy (replaced, or the new ID of a rename).
    renewed: set[str] = field(default_factory=set)


def references(value: Any) -> set[str]:
    """Logical IDs (and `import:NAME` for Fn::ImportValue) a template value refers to."""
    found: set[str] = set()
    if isinstance(value, Mapping):
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" and isinstance(arg, str) and not arg.startswith("AWS::"):
                found.add(arg)
            elif key == "Fn::GetAtt":
                target = arg[0] if isinstance(arg, list) and arg else str(arg).split(".", 1)[0]
                found.add(str(target))
            elif key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) and arg else arg
                found |= {
                    m.split(".", 1)[0]
                    for m in re.findall(r"\$\{([^!}][^}]*)\}", str(text))
                    if not m.startswith("AWS::")
                }
                if isinstance(arg, list) and len(arg) > 1:
                    # Names bound by the Sub's own map are not resources.
                    found -= set(arg[1]) if isinstance(arg[1], Mapping) else set()
                    found |= references(arg[1])
                return found
            elif key == "Fn::ImportValue":
                found.add(f"import:{show(arg)}")
        for item in value.values():
            found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def _properties(resource: Any) -> Mapping[str, Any]:
    properties = resource.get("Properties") if isinstance(resource, Mapping) else None
    return properties if isinstance(properties, Mapping) else {}


def _resources(stack: Stack | None) -> dict[str, Mapping[str, Any]]:
    found = stack.template.get("Resources") if stack else None
    return {k: v for k, v in (found or {}).items() if isinstance(v, Mapping)}


def _items(value: Any) -> list[Any]:
    """A list property's items; anything else (an Fn::If, a Ref to a list) is not walked."""
    return value if isinstance(value, list) else []


def deletion_policy(resource: Mapping[str, Any]) -> str:
    """The DeletionPolicy in effect: an RDS cluster, or an instance outside a cluster,
    defaults to Snapshot (DeletionPolicy attribute reference); everything else to Delete."""
    declared = resource.get("DeletionPolicy")
    if declared:
        return str(declared)
    resource_type = resource.get("Type")
    if resource_type == "AWS::RDS::DBCluster" or (
        resource_type == "AWS::RDS::DBInstance" and "DBClusterIdentifier" not in _properties(resource)
    ):
        return "Snapshot"
    return "Delete"


def _fate(resource: Mapping[str, Any]) -> str:
    """What CloudFormation does with a resource it no longer manages."""
    policy = deletion_policy(resource)
    if policy in LEFT_BEHIND:
        return "left behind, unmanaged (DeletionPolicy keeps it; re-adding its name later fails)"
    if policy == "Snapshot":
        return "deleted after a final snapshot"
    return "deleted"


def _custom_name(resource: Mapping[str, Any], region: str) -> str | None:
    """The literal name a resource is given (its primary identifier, or `Name`), if any."""
    props = _properties(resource)
    for name in sorted(cfn_schema.identifiers(str(resource.get("Type")), region) | {"Name", "GroupName"}):
        if isinstance(props.get(name), str):
            return f"{name} {props[name]!r}"
    return None


def _pair_renames(
    removed: dict[str, Mapping[str, Any]], added: dict[str, Mapping[str, Any]]
) -> dict[str, str]:
    """Removed logical ID -> added logical ID, for a construct renamed or moved: the same type
    and properties in common (or the only one of its type on both sides). Its new logical ID
    makes CloudFormation create a new resource and delete the old one: a replacement."""
    pairs: dict[str, str] = {}
    for old_id, old in sorted(removed.items()):
        same_type = [
            k
            for k, v in sorted(added.items())
            if v.get("Type") == old.get("Type") and k not in pairs.values()
        ]
        alone = len(same_type) == 1 and sum(v.get("Type") == old.get("Type") for v in removed.values()) == 1
        scored = [
            (sum(_properties(old).get(k) == v for k, v in _properties(added[new_id]).items()), new_id)
            for new_id in same_type
        ]
        best = max(scored, default=(0, ""))
        if best[0] > 0 or (alone and scored):
            pairs[old_id] = best[1]
    return pairs


def _changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k)))


def diff_stack(old: Stack | None, new: Stack | None, replaced_imports: set[str]) -> StackDiff:
    """What deploying `new` over `old` (None: the stack is created or deleted) changes."""
    some = new or old
    assert some is not None
    region = some.region
    before, after = _resources(old), _resources(new)
    status = "changed" if old and new else ("added" if new else "removed")
    result = StackDiff(stack=some.name, stage=some.stage, region=region, status=status)

    def change(logical_id: str, resource_type: str, action: str, **kwargs: Any) -> Change:
        return Change(some.name, some.stage, logical_id, resource_type, action, **kwargs)

    only_old = {k: v for k, v in before.items() if k not in after}
    only_new = {k: v for k, v in after.items() if k not in before}
    renames = _pair_renames(only_old, only_new)
    both = sorted(set(before) & set(after))
    replaced: dict[str, str] = {}
    modified: dict[str, tuple[tuple[str, ...], bool, str]] = {}
    for logical_id in both:
        old_resource, new_resource = before[logical_id], after[logical_id]
        resource_type = str(new_resource.get("Type"))
        if old_resource.get("Type") != resource_type:
            replaced[logical_id] = f"type {old_resource.get('Type')} -> {resource_type}"
            continue
        old_props, new_props = _properties(old_resource), _properties(new_resource)
        changed = _changed(old_props, new_props)
        loses = (deletion_policy(old_resource) in KEEPING_POLICIES) > (
            deletion_policy(new_resource) in KEEPING_POLICIES
        ) or (old_resource.get("UpdateReplacePolicy") in KEEPING_POLICIES) > (
            new_resource.get("UpdateReplacePolicy") in KEEPING_POLICIES
        )
        policies = tuple(
            f"{attr}: {old_resource.get(attr, '-')} -> {new_resource.get(attr, '-')}"
            for attr in ("DeletionPolicy", "UpdateReplacePolicy")
            if old_resource.get(attr) != new_resource.get(attr)
        )
        by = cfn_schema.replacing_properties(resource_type, old_props, new_props, region) or ()
        maybe = (
            cfn_schema.replacing_properties(resource_type, old_props, new_props, region, conditional=True)
            or ()
        )
        certain = [p for p in maybe if p.split("/")[0] in REPLACING_CONDITIONALS.get(resource_type, ())]
        if by or certain:
            replaced[logical_id] = f"{', '.join([*by, *certain])} is create-only"
        elif changed or policies:
            note = f"may be replaced: {', '.join(maybe)} is conditionally create-only" if maybe else ""
            modified[logical_id] = (changed + policies, loses, note)
        failing = sorted(set(changed) & UPDATE_FAILS.get(resource_type, frozenset()))
        if failing:
            result.warnings.append(
                f"`{logical_id}` {resource_type}: {', '.join(failing)} cannot change; the update fails"
            )
    # A replaced resource gets a new name/ARN: what takes it in a create-only property is
    # replaced in turn, and whatever takes it elsewhere is modified. Until nothing changes.
    gone = set(replaced) | set(only_old) | set(renames.values())
    grew = True
    while grew:
        grew = False
        for logical_id in both:
            if logical_id in replaced:
                continue
            resource_type = str(after[logical_id].get("Type"))
            props = _properties(after[logical_id])
            paths = [
                *(cfn_schema.create_only(resource_type, region) or ()),
                *(
                    path
                    for path in cfn_schema.create_only(resource_type, region, conditional=True) or ()
                    if path[0] in REPLACING_CONDITIONALS.get(resource_type, ())
                ),
            ]
            for path in paths:
                hit = references(cfn_schema.at(props, path)) & (gone | replaced_imports)
                if hit:
                    what = ", ".join(sorted(h.removeprefix("import:") for h in hit))
                    replaced[logical_id] = f"{'/'.join(path)} takes {what}, which is replaced"
                    modified.pop(logical_id, None)
                    gone.add(logical_id)
                    grew = True
                    break
    for logical_id in both:
        if logical_id in replaced or logical_id in modified:
            continue
        hit = references(_properties(after[logical_id])) & (gone | replaced_imports)
        if hit:
            what = ", ".join(sorted(h.removeprefix("import:") for h in hit))
            modified[logical_id] = ((f"refers to {what} (replaced)",), False, "")

    for logical_id, reason in sorted(replaced.items()):
        resource = after[logical_id]
        name = _custom_name(resource, region)
        if name and name == _custom_name(before[logical_id], region):
            reason += (
                f"; its {name} is unchanged, and CloudFormation cannot replace a custom-named "
                "resource: the update fails unless the name changes"
            )
        result.changes.append(change(logical_id, str(resource.get("Type")), "replaced", reason=reason))
    for logical_id, (changed_names, loses, note) in sorted(modified.items()):
        resource_type = str(after[logical_id].get("Type"))
        result.changes.append(
            change(
                logical_id,
                resource_type,
                "modified",
                properties=changed_names,
                loses_retention=loses,
                reason=note,
            )
        )
    for old_id, new_id in sorted(renames.items()):
        resource = before[old_id]
        reason = (
            f"logical ID {old_id} -> {new_id} (construct renamed or moved): created anew; "
            f"the old one is {_fate(resource)}"
        )
        name = _custom_name(resource, region)
        if name and name == _custom_name(after[new_id], region):
            reason += f"; the new one takes the same {name}, which exists: the update fails"
        kept = deletion_policy(resource) in LEFT_BEHIND
        result.changes.append(
            change(old_id, str(resource.get("Type")), "replaced", reason=reason, retained=kept)
        )
    for logical_id, resource in sorted(only_old.items()):
        if logical_id in renames:
            continue
        kept = deletion_policy(resource) in LEFT_BEHIND
        # cdk deploy never deletes a stack that left the app; cdk destroy (or the stack's
        # rename: a new stack then creates the same names) does.
        reason = (
            f"its stack left the app: kept until the stack is destroyed, then {_fate(resource)}"
            if new is None
            else _fate(resource)
        )
        result.changes.append(
            change(logical_id, str(resource.get("Type")), "removed", retained=kept, reason=reason)
        )
    for logical_id, resource in sorted(only_new.items()):
        if logical_id in renames.values():
            continue
        result.changes.append(change(logical_id, str(resource.get("Type")), "added"))
    for logical_id in sorted(set(before) | set(after)):
        result.rules.extend(
            _rule_changes(some.name, logical_id, before.get(logical_id), after.get(logical_id))
        )
    result.renewed = set(replaced) | set(renames.values())
    return result


def _exports(stack: Stack | None) -> dict[str, Any]:
    """Export name -> the output's value."""
    outputs = stack.template.get("Outputs") if stack else None
    found = {}
    for output in (outputs or {}).values():
        if isinstance(output, Mapping) and isinstance(output.get("Export"), Mapping):
            found[show(output["Export"].get("Name"))] = output.get("Value")
    return found


def _imports(stacks: Mapping[str, Stack]) -> dict[str, set[str]]:
    """Export name -> the stacks importing it."""
    found: dict[str, set[str]] = {}
    for name, stack in stacks.items():
        for ref in references(stack.template.get("Resources", {})) | references(
            stack.template.get("Outputs", {})
        ):
            if ref.startswith("import:"):
                found.setdefault(ref.removeprefix("import:"), set()).add(name)
    return found


def diff_assemblies(base: Mapping[str, Stack], head: Mapping[str, Stack]) -> list[StackDiff]:
    """Every stack's diff; a replacement reaches other stacks of its stage through exports."""
    names = sorted(set(base) | set(head))
    replaced_imports: set[str] = set()
    while True:
        diffs = {n: diff_stack(base.get(n), head.get(n), replaced_imports) for n in names}
        found = {
            f"import:{export}"
            for n, d in diffs.items()
            for export, value in _exports(head.get(n)).items()
            if references(value) & d.renewed
        }
        if found <= replaced_imports:
            break
        replaced_imports |= found
    # CloudFormation refuses to change or remove an export another stack imports ("Export ...
    # cannot be updated as it is in use"): the exporting stack's update fails.
    importers = _imports(base)
    for export, stacks in _imports(head).items():
        importers.setdefault(export, set()).update(stacks)
    for n, d in diffs.items():
        before, after = _exports(base.get(n)), _exports(head.get(n))
        for export, value in sorted(before.items()):
            users = sorted(importers.get(export, set()) - {n})
            if not users:
                continue
            if export not in after:
                what = "is removed"
            elif after[export] != value or f"import:{export}" in replaced_imports:
                what = "changes value"
            else:
                continue
            d.warnings.append(
                f"export {export} {what} while {', '.join(users)} import(s) it: CloudFormation refuses "
                "the update (export in use); move the importers off it first"
            )
    return [d for d in diffs.values() if d.changes or d.rules or d.warnings or d.status != "changed"]


# ---------------------------------------------------------------------------- policy rules


def show(value: Any) -> str:
    """A template value in one short line: intrinsics as ${X}, ${X.Arn}, import(NAME)."""
    if isinstance(value, Mapping) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return f"${{{arg}}}"
        if key == "Fn::GetAtt":
            return f"${{{'.'.join(map(str, arg)) if isinstance(arg, list) else arg}}}"
        if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            return str(arg[0]).join(show(part) for part in arg[1])
        if key == "Fn::Sub":
            return str(arg[0] if isinstance(arg, list) and arg else arg)
        if key == "Fn::ImportValue":
            return f"import({show(arg)})"
    if isinstance(value, list):
        return ",".join(show(item) for item in value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in sorted(value.items())) + "}"
    return str(value)


def _values(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _iam_warning(statement: Mapping[str, Any]) -> str:
    """An Allow on every action of a service, every resource or anyone."""
    if statement.get("Effect") != "Allow":
        return ""
    actions = [a for a in _values(statement.get("Action")) if isinstance(a, str)]
    resources = [r for r in _values(statement.get("Resource")) if isinstance(r, str)]
    principal = statement.get("Principal")
    principals = _values(principal.get("AWS")) if isinstance(principal, Mapping) else [principal]
    if (
        any(a == "*" or a.endswith(":*") for a in actions)
        or "*" in resources
        or "*" in principals
        or "NotAction" in statement
        or "NotResource" in statement
    ):
        return "wildcard"
    return ""


def _statements(document: Any) -> Iterator[tuple[str, str]]:
    """(one line, its warning) per statement."""
    if not isinstance(document, Mapping):
        if document is not None:
            yield show(document), ""
        return
    for statement in _values(document.get("Statement", [])):
        if not isinstance(statement, Mapping):
            yield show(statement), ""
            continue
        parts = [str(statement.get("Effect", "?"))]
        if "NotAction" in statement:
            parts.append("not " + show(statement["NotAction"]))
        else:
            parts.append(show(statement.get("Action")))
        for key, word in (("Resource", "on"), ("NotResource", "on all but"), ("Principal", "for")):
            if key in statement:
                parts.append(f"{word} {show(statement[key])}")
        if "NotPrincipal" in statement:
            parts.append(f"for all but {show(statement['NotPrincipal'])}")
        if "Condition" in statement:
            parts.append("when " + show(statement["Condition"]))
        yield " ".join(parts), _iam_warning(statement)


def _policy_lines(resource: Mapping[str, Any] | None) -> dict[str, str]:
    """Line -> warning, for every grant a resource makes."""
    if resource is None:
        return {}
    resource_type = str(resource.get("Type"))
    props = _properties(resource)
    if resource_type == "AWS::Lambda::Permission":
        line = (
            f"invoke {show(props.get('FunctionName'))} ({show(props.get('Action'))}) by "
            f"{show(props.get('Principal'))} from {show(props.get('SourceArn'))}"
        )
        if "FunctionUrlAuthType" in props:
            line += f" (function URL auth {show(props['FunctionUrlAuthType'])})"
        return {line: "wildcard" if props.get("Principal") == "*" else ""}
    lines: dict[str, str] = {}
    for name in POLICY_PROPERTIES.get(resource_type, ()):
        value = props.get(name)
        if name == "Policies":
            for policy in _items(value):
                if isinstance(policy, Mapping):
                    for text, warning in _statements(policy.get("PolicyDocument")):
                        lines[f"{text} (inline {policy.get('PolicyName')})"] = warning
        elif name == "AssumeRolePolicyDocument":
            lines.update({f"trust: {text}": warning for text, warning in _statements(value)})
        elif name in ("ManagedPolicyArns", "PermissionsBoundary", "Roles", "Users", "Groups"):
            lines.update({f"{name}: {show(item)}": "" for item in _values(value) if item})
        else:
            lines.update(dict(_statements(value)))
    return lines


def _rule(rule: Mapping[str, Any], direction: str) -> tuple[str, str]:
    """(one line, its warning) for a security-group rule."""
    low, high = rule.get("FromPort"), rule.get("ToPort")
    protocol = PROTOCOLS.get(show(rule.get("IpProtocol", "-1")), show(rule.get("IpProtocol")))
    if protocol == "all" or (low in (None, -1) and high in (None, -1)):
        port = "all ports"
    else:
        port = f"port {show(low)}" if low == high else f"ports {show(low)}-{show(high)}"
    peers = (
        "CidrIp",
        "CidrIpv6",
        "SourceSecurityGroupId",
        "SourceSecurityGroupName",
        "DestinationSecurityGroupId",
        "SourcePrefixListId",
        "DestinationPrefixListId",
    )
    peer = next((show(rule[key]) for key in peers if key in rule), "?")
    if "SourceSecurityGroupOwnerId" in rule:
        peer += f" (account {show(rule['SourceSecurityGroupOwnerId'])})"
    group = f"group {show(rule['GroupId'])} " if "GroupId" in rule else ""
    line = f"{group}{direction} {protocol} {port} {'from' if direction == 'ingress' else 'to'} {peer}"
    # Egress to anywhere is the CDK's allowAllOutbound default: not worth a warning.
    return line, "open to the internet" if direction == "ingress" and peer in WORLD else ""


def _group_lines(resource: Mapping[str, Any] | None) -> dict[str, str]:
    if resource is None:
        return {}
    props = _properties(resource)
    if resource.get("Type") == "AWS::EC2::SecurityGroup":
        return dict(
            [_rule(r, "ingress") for r in _items(props.get("SecurityGroupIngress")) if isinstance(r, Mapping)]
            + [_rule(r, "egress") for r in _items(props.get("SecurityGroupEgress")) if isinstance(r, Mapping)]
        )
    if resource.get("Type") in SECURITY_GROUP_RULES:
        return dict([_rule(props, "ingress" if str(resource["Type"]).endswith("Ingress") else "egress")])
    return {}


def _rule_changes(
    stack: str, logical_id: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> list[RuleChange]:
    found = []
    for kind, lines in (("iam", _policy_lines), ("security-group", _group_lines)):
        before, after = lines(old), lines(new)
        found += [
            RuleChange(stack, logical_id, kind, "+", text, warning)
            for text, warning in sorted(after.items())
            if text not in before
        ]
        found += [
            RuleChange(stack, logical_id, kind, "-", text) for text in sorted(before) if text not in after
        ]
    return found


# ---------------------------------------------------------------------------- the guard


def blocked(diffs: Iterable[StackDiff], allowed: Iterable[str]) -> tuple[list[Change], list[Change]]:
    """(refused, acknowledged): dangerous changes to stateful resources in guarded stages."""
    allow = set(allowed)
    dangerous = [c for d in diffs if d.stage in GUARDED_STAGES for c in d.changes if c.dangerous]
    return [c for c in dangerous if c.key not in allow], [c for c in dangerous if c.key in allow]


def trailer_allowances(base: str, *, cwd: Path = ROOT) -> list[str]:
    """`Allow-Replacement:` trailers of the commits after the base."""
    out = _git(["log", f"--format=%(trailers:key={TRAILER},valueonly,separator=%x0A)", f"{base}..HEAD"], cwd)
    return [word for line in out.splitlines() for word in line.split()]


# ---------------------------------------------------------------------------- the report


def _describe(change: Change) -> str:
    text = f"`{change.logical_id}` {change.resource_type}"
    if change.properties:
        text += ": " + ", ".join(change.properties)
    if change.reason:
        text += f" — {change.reason}"
    if change.stateful:
        text += " **[stateful]**"
    return text


def render(
    diffs: Sequence[StackDiff],
    refused: Sequence[Change],
    acknowledged: Sequence[Change],
    *,
    title: str,
    extra: str = "",
) -> str:
    lines = [f"# {title}", ""]
    if not diffs:
        lines += ["No stack changes.", ""]
    else:
        lines += [
            "| stage | stack | added | removed | modified | replaced | IAM | security groups |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for d in diffs:
            count = {
                a: sum(c.action == a for c in d.changes) for a in ("added", "removed", "modified", "replaced")
            }
            rules = {k: sum(r.kind == k for r in d.rules) for k in ("iam", "security-group")}
            name = d.stack if d.status == "changed" else f"{d.stack} ({d.status})"
            lines.append(
                f"| {d.stage} | {name} | {count['added']} | {count['removed']} | {count['modified']} "
                f"| {count['replaced']} | {rules['iam']} | {rules['security-group']} |"
            )
        lines.append("")
        for d in diffs:
            lines += [
                f"## {d.stack} ({d.stage}, {d.region}{'' if d.status == 'changed' else ', ' + d.status})",
                "",
            ]
            for action in ("replaced", "removed", "modified", "added"):
                lines += [f"- {action} {_describe(c)}" for c in d.changes if c.action == action]
            for r in d.rules:
                warning = f" ⚠ {r.warning}" if r.warning else ""
                lines.append(f"- {r.kind} {r.sign} `{r.logical_id}`: {r.text}{warning}")
            lines.append("")
    if acknowledged:
        lines += ["## Acknowledged", ""]
        lines += [f"- {c.key} ({c.resource_type}): {c.action}, {c.reason}" for c in acknowledged]
        lines.append("")
    if refused:
        lines += [
            "## Refused",
            "",
            f"{len(refused)} stateful resource(s) in staging/production would be replaced, deleted "
            "or lose their retention:",
            "",
        ]
        lines += [
            f"- `{c.key}` ({c.resource_type}): {c.action}"
            + (", loses its retention policy" if c.loses_retention else "")
            + (f" — {c.reason}" if c.reason else "")
            for c in refused
        ]
        lines += [
            "",
            "If this is intended (the data is migrated or expendable), acknowledge each resource "
            f"with a commit-message trailer `{TRAILER}: STACK/LOGICAL_ID`, "
            "or `make diff DIFF_ALLOW='STACK/LOGICAL_ID ...'`.",
            "",
        ]
    if extra:
        lines += [extra.rstrip(), ""]
    return "\n".join(lines)


def cost_section(base_out: Path, head_out: Path) -> str:
    """Each environment's estimated monthly baseline before and after (tools/cost.py); the
    per-environment breakdown folded, so the pull-request comment stays short."""
    text = cost.render(cost.estimate(head_out), base=cost.estimate(base_out))
    summary, _, details = text.partition("\n### ")
    if not details:
        return summary
    return f"{summary}\n<details><summary>Each environment's cost</summary>\n\n### {details}\n</details>\n"


# ---------------------------------------------------------------------------- synthesis


def _git(args: Sequence[str], cwd: Path = ROOT) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["failed"])[-1]
        raise UsageError(f"git {' '.join(args)}: {last}")
    return result.stdout


def resolve_base(requested: str | None) -> str:
    """The commit to compare with: BASE, else the merge-base with origin/main (or main)."""
    if requested:
        return _git(["rev-parse", "--verify", f"{requested}^{{commit}}"]).strip()
    for ref in ("origin/main", "main"):
        try:
            return _git(["merge-base", "HEAD", ref]).strip()
        except UsageError:
            continue
    raise UsageError("no base to compare with: neither origin/main nor main exists; pass BASE=<commit>")


def _toolchain_key() -> str:
    """The same commit synthesizes differently under other library versions: part of the key."""
    digest = hashlib.sha256()
    for name in ("constraints.txt", "package-lock.json"):
        path = ROOT / name
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:12]


def _finish(process: subprocess.Popen[str], what: str) -> None:
    output, _ = process.communicate()
    if process.returncode != 0:
        tail = [line for line in output.splitlines() if line.strip()][-1:] or ["no output"]
        raise UsageError(f"synth of {what} failed: {tail[0]}")


def _keep_templates(source: Path, target: Path) -> None:
    """Only manifests and templates: assets are large and the diff does not read them."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("asset.*", "*.assets.json", "tree.json"))


def synthesize(base: str, head_out: Path) -> tuple[Path, bool, float]:
    """Synthesize the base (unless cached) and the working tree side by side.

    Returns the base's assembly, whether it came from the cache, and the wall time.
    """
    start = time.perf_counter()
    cached = CACHE / f"{base}-{_toolchain_key()}"
    shutil.rmtree(head_out, ignore_errors=True)
    head = synth(ROOT, head_out)
    if cached.exists():
        _finish(head, "the working tree")
        return cached, True, time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="cb-diff-") as scratch:
        tree = Path(scratch) / "tree"
        _git(["worktree", "add", "--detach", "--quiet", str(tree), base])
        try:
            out = Path(scratch) / "out"
            base_process = synth(tree, out)
            _finish(head, "the working tree")
            _finish(base_process, f"the base {base[:12]}")
            partial = cached.with_name(cached.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            _keep_templates(out, partial)
            partial.rename(cached)
        finally:
            _git(["worktree", "remove", "--force", str(tree)])
    return cached, False, time.perf_counter() - start


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(prog="make diff", description=__doc__.split("\n")[0])
    parser.add_argument("--base", default=environ.get("BASE") or None, help="commit to compare with")
    parser.add_argument(
        "--allow",
        nargs="*",
        default=(environ.get("DIFF_ALLOW") or "").split(),
        help="STACK/LOGICAL_ID acknowledged for replacement or deletion",
    )
    parser.add_argument("--report", type=Path, default=Path(environ.get("DIFF_REPORT") or DEFAULT_REPORT))
    args = parser.parse_args(argv)
    try:
        base = resolve_base(args.base)
        if environ.get("DRY_RUN"):
            print(
                f"[dry-run] would synthesize {base[:12]} (cache {CACHE.relative_to(ROOT)}) and the "
                f"working tree, and write {args.report}; nothing is deployed either way"
            )
            return 0
        head_out = ROOT / "cdk.out.diff" / "head"
        base_out, from_cache, seconds = synthesize(base, head_out)
        diffs = diff_assemblies(load(base_out), load(head_out))
        allowed = [*args.allow, *trailer_allowances(base)]
        refused, acknowledged = blocked(diffs, allowed)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    source = "cached" if from_cache else "synthesized"
    title = f"Synth-and-diff: {base[:12]} ({source}) → working tree"
    report = render(diffs, refused, acknowledged, title=title, extra=cost_section(base_out, head_out))
    report += f"\n_{len(diffs)} stack(s) changed; synthesized in {seconds:.1f} s; no AWS credentials used._\n"
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(report)
    print(report)
    if refused:
        print(
            f"error: {len(refused)} stateful resource(s) would be replaced or deleted; see {args.report}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
