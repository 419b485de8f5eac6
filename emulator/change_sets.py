"""Change sets as CloudFormation describes them, so `cdk diff` against the emulator shows the
change-set diff (replacements included) instead of falling back to a template-only diff.

Stock moto lists a change set's resources with only Action, LogicalResourceId and ResourceType
(no `Replacement`, no `Details`), answers DeleteChangeSet for a change set that does not exist
with HTTP 500 (the CLI deletes its diff change set "if it exists" before creating it, and the
SDK retries the 500 for about 45 s per stack before the CLI falls back), and answers
DescribeChangeSet for a missing one with a ValidationError instead of `ChangeSetNotFound`.

``resource_changes()`` is the pure part: a deployed template and a proposed one in, the
`ResourceChange` entries out, as CloudFormation computes them:

* `Add` / `Remove` for resources only in the new / old template;
* `Modify` with one detail per changed property (`DirectModification`, `Static`), its
  `RequiresRecreation` from the resource schema (emulator/replacement.py: `Always` for a
  create-only property, `Conditionally` for a conditionally create-only one, else `Never`),
  and `Metadata` / `CreationPolicy` / `UpdatePolicy` changes; `DeletionPolicy` and
  `UpdateReplacePolicy` alone are not a change, as in CloudFormation;
* the knock-on changes: a resource whose unchanged property references (Ref, Fn::GetAtt,
  Fn::Sub) a resource that is or may be replaced gets a `Dynamic` detail
  (`ResourceReference` / `ResourceAttribute`), one that references a changed parameter a
  `Static` `ParameterReference` detail, transitively; the new value is
  `{{changeSet:KNOWN_AFTER_APPLY}}`. In-place modifications are not propagated;
* `Replacement`: `True` if a `Static` detail requires recreation `Always`, `Conditional` if one
  may (`Conditionally`, or `Always` through a `Dynamic` value), else `False`.

Values (BeforeContext/AfterContext, a detail's Before/AfterValue) are the template's text, not
resolved physical values, and are returned only with `IncludePropertyValues`, as in the API.
``patch()`` installs this into moto's CreateChangeSet / DescribeChangeSet / DeleteChangeSet,
and fixes ExecuteChangeSet (how `cdk bootstrap` deploys the CDKToolkit stack): moto kept the
outputs and exports of the stack's empty REVIEW_IN_PROGRESS template, so the toolkit stack had
no `BootstrapVersion` output for the CLI to read; and it executed a change set that failed.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, EmptyResult

from emulator.replacement import replaces

KNOWN_AFTER_APPLY = "{{changeSet:KNOWN_AFTER_APPLY}}"
NO_CHANGES = (
    "The submitted information didn't contain changes. Submit different information to create a change set."
)
# Resource attributes whose change alone is a change (the ResourceAttribute values of the API).
CHANGING_ATTRIBUTES = ("Metadata", "CreationPolicy", "UpdatePolicy")
_RECREATION = {True: "Always", False: "Never", None: "Conditionally"}
DIRECT = "DirectModification"
_SUB_VARIABLE = re.compile(r"\$\{(?!!)([^}]+)\}")


class ResourceTypeChanged(ValueError):
    """CloudFormation refuses to change a resource's type in place; the change set fails."""


def references(node: Any) -> Iterator[tuple[str, str]]:
    """(ChangeSource, CausingEntity) for each Ref / Fn::GetAtt / Fn::Sub reference in `node`:
    ("Ref", "Name") or ("GetAtt", "Name.Attribute")."""
    if isinstance(node, list):
        for item in node:
            yield from references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield "Ref", value
            elif key == "Fn::GetAtt":
                parts = value if isinstance(value, list) else str(value).split(".", 1)
                yield "GetAtt", ".".join(str(part) for part in parts)
            elif key == "Fn::Sub":
                text, local = (value[0], value[1]) if isinstance(value, list) else (value, {})
                for name in _SUB_VARIABLE.findall(str(text)):
                    if name not in (local or {}):
                        yield ("GetAtt" if "." in name else "Ref"), name
                yield from references(local)
            else:
                yield from references(value)


def _encoded(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _context(resource: Mapping[str, Any], dynamic: Collection[str] = ()) -> str:
    context = {key: resource[key] for key in ("Properties", *CHANGING_ATTRIBUTES) if key in resource}
    if dynamic:
        context["Properties"] = {
            **context.get("Properties", {}),
            **dict.fromkeys(dynamic, KNOWN_AFTER_APPLY),
        }
    return json.dumps(context, sort_keys=True)


def _property_detail(
    resource_type: str,
    name: str,
    before: Any,
    after: Any,
    *,
    evaluation: str,
    source: str,
    causing: str | None = None,
) -> dict[str, Any]:
    target: dict[str, Any] = {
        "Attribute": "Properties",
        "Name": name,
        "RequiresRecreation": _RECREATION[replaces(resource_type, [name])],
        "Path": f"/Properties/{name}",
        "AttributeChangeType": "Add" if before is None else "Remove" if after is None else "Modify",
    }
    if before is not None:
        target["BeforeValue"] = _encoded(before)
    if after is not None:
        target["AfterValue"] = _encoded(after)
    detail: dict[str, Any] = {"Target": target, "Evaluation": evaluation, "ChangeSource": source}
    if causing is not None:
        detail["CausingEntity"] = causing
    return detail


def _replacement(details: list[dict[str, Any]]) -> str:
    modes = {
        (d["Target"].get("RequiresRecreation"), d["Evaluation"])
        for d in details
        if d["Target"]["Attribute"] == "Properties"
    }
    if ("Always", "Static") in modes:
        return "True"
    if any(mode in ("Always", "Conditionally") for mode, _ in modes):
        return "Conditional"
    return "False"


def resource_changes(
    deployed: Mapping[str, Any],
    proposed: Mapping[str, Any],
    *,
    changed_parameters: Collection[str] = (),
    physical_ids: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The ResourceChange entries of a change set from `deployed` to `proposed` (templates as
    dicts), in the template's order (removed resources last). Raises ResourceTypeChanged."""
    old: Mapping[str, Any] = deployed.get("Resources") or {}
    new: Mapping[str, Any] = proposed.get("Resources") or {}
    physical_ids = physical_ids or {}
    retyped = sorted(n for n in new if n in old and old[n].get("Type") != new[n].get("Type"))
    if retyped:
        raise ResourceTypeChanged(
            "Update of resource type is not permitted. The new template modifies resource type "
            f"of the following resources: [{', '.join(retyped)}]"
        )
    details: dict[str, list[dict[str, Any]]] = {}
    dynamic: dict[str, list[str]] = {}
    for name, resource in new.items():
        if name not in old:
            continue
        kind = resource.get("Type", "")
        before, after = old[name].get("Properties") or {}, resource.get("Properties") or {}
        found = [
            _property_detail(
                kind, prop, before.get(prop), after.get(prop), evaluation="Static", source=DIRECT
            )
            for prop in sorted(set(before) | set(after))
            if before.get(prop) != after.get(prop)
        ]
        found += [
            {
                "Target": {"Attribute": attribute, "RequiresRecreation": "Never"},
                "Evaluation": "Static",
                "ChangeSource": DIRECT,
            }
            for attribute in CHANGING_ATTRIBUTES
            if old[name].get(attribute) != resource.get(attribute)
        ]
        details[name], dynamic[name] = found, []

    # What the changes move: replaced resources (new physical ids) and changed parameters,
    # then whatever referencing them gets replaced in turn.
    moving = {name for name, found in details.items() if _replacement(found) != "False"}
    parameters = set(changed_parameters)
    pending = True
    while pending:
        pending = False
        for name, found in details.items():
            kind = new[name].get("Type", "")
            for prop, value in sorted((new[name].get("Properties") or {}).items()):
                for how, entity in sorted(set(references(value))):
                    target = entity.split(".", 1)[0]
                    if target in parameters and how == "Ref":
                        source, evaluation = "ParameterReference", "Static"
                    elif target in moving:
                        source = "ResourceReference" if how == "Ref" else "ResourceAttribute"
                        evaluation = "Dynamic"
                    else:
                        continue
                    if any(
                        d.get("CausingEntity") == entity and d["Target"].get("Name") == prop for d in found
                    ):
                        continue  # already listed (a later pass over the same reference)
                    after = value if evaluation == "Static" else KNOWN_AFTER_APPLY
                    found.append(
                        _property_detail(
                            kind, prop, value, after, evaluation=evaluation, source=source, causing=entity
                        )
                    )
                    if evaluation == "Dynamic":
                        dynamic[name].append(prop)
            if name not in moving and _replacement(found) != "False":
                moving.add(name)
                pending = True

    changes: list[dict[str, Any]] = []
    for name, resource in new.items():
        kind = resource.get("Type", "")
        if name not in old:
            changes.append(
                {
                    "Action": "Add",
                    "LogicalResourceId": name,
                    "ResourceType": kind,
                    "Scope": [],
                    "Details": [],
                    "AfterContext": _context(resource),
                }
            )
        elif details[name]:
            found = details[name]
            scope = {d["Target"]["Attribute"] for d in found}
            if any(d["Target"].get("Name") == "Tags" for d in found):
                scope.add("Tags")
            changes.append(
                {
                    "Action": "Modify",
                    "LogicalResourceId": name,
                    "PhysicalResourceId": physical_ids.get(name),
                    "ResourceType": kind,
                    "Replacement": _replacement(found),
                    "Scope": sorted(scope),
                    "Details": found,
                    "BeforeContext": _context(old[name]),
                    "AfterContext": _context(resource, dynamic[name]),
                }
            )
    changes += [
        {
            "Action": "Remove",
            "LogicalResourceId": name,
            "PhysicalResourceId": physical_ids.get(name),
            "ResourceType": resource.get("Type", ""),
            "Scope": [],
            "Details": [],
            "BeforeContext": _context(resource),
        }
        for name, resource in old.items()
        if name not in new
    ]
    return changes


def without_values(change: Mapping[str, Any]) -> dict[str, Any]:
    """A ResourceChange as DescribeChangeSet returns it without IncludePropertyValues."""
    plain = {k: v for k, v in change.items() if k not in ("BeforeContext", "AfterContext")}
    plain["Details"] = [
        {
            **detail,
            "Target": {
                k: v
                for k, v in detail["Target"].items()
                if k not in ("Path", "BeforeValue", "AfterValue", "AttributeChangeType")
            },
        }
        for detail in change.get("Details", [])
    ]
    return plain


def effective_parameters(template: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """Each template parameter's value: the one given, else its default."""
    declared: Mapping[str, Any] = template.get("Parameters") or {}
    return {name: given.get(name, spec.get("Default")) for name, spec in declared.items()}


class InvalidChangeSetStatus(CloudFormationError):
    code = "InvalidChangeSetStatusException"


class ChangeSetNotFound(CloudFormationError):
    code = "ChangeSetNotFoundException"

    def __init__(self, name: str) -> None:
        super().__init__(f"ChangeSet [{name}] does not exist")


def _find(backend: Any, change_set_name: str, stack_name: str | None) -> Any:
    """The change set by ARN, or by name within the stack (StackName: name or ARN)."""
    if change_set_name in backend.change_sets:
        return backend.change_sets[change_set_name]
    for change_set in backend.change_sets.values():
        if change_set.change_set_name == change_set_name and (
            not stack_name or stack_name in (change_set.stack_name, change_set.stack_id)
        ):
            return change_set
    return None


def _physical_ids(stack: Any) -> dict[str, str]:
    resources = stack.resource_map._parsed_resources
    return {
        name: str(getattr(resource, "physical_resource_id", resource))
        for name, resource in resources.items()
        if name in stack.resource_map._resource_json_map and not isinstance(resource, str)
    }


def _describe_changes(original: Callable[..., tuple[str, str]]) -> Callable[..., tuple[str, str]]:
    """CreateChangeSet: moto's change set, with CloudFormation's changes and status."""

    @functools.wraps(original)
    def create_change_set(self: Any, *args: Any, **kwargs: Any) -> tuple[str, str]:
        change_set_id, stack_id = original(self, *args, **kwargs)
        change_set = self.change_sets[change_set_id]
        stack = change_set.stack
        creating = change_set.change_set_type != "UPDATE"
        deployed = {} if creating else cfn_models.Stack.parse_template(stack.template)
        proposed = change_set.template_dict or {}
        old_parameters = effective_parameters(deployed, {} if creating else dict(stack.parameters or {}))
        new_parameters = effective_parameters(proposed, change_set.parameters or {})
        changed = {name for name, value in new_parameters.items() if old_parameters.get(name, value) != value}
        status, reason = "CREATE_COMPLETE", None
        try:
            change_set.changes = resource_changes(
                deployed,
                proposed,
                changed_parameters=changed,
                physical_ids={} if creating else _physical_ids(stack),
            )
        except ResourceTypeChanged as error:
            change_set.changes, status, reason = [], "FAILED", str(error)
        else:
            if not creating and not change_set.changes and deployed.get("Outputs") == proposed.get("Outputs"):
                status, reason = "FAILED", NO_CHANGES
        change_set.status, change_set.status_reason = status, reason
        change_set.execution_status = "AVAILABLE" if status == "CREATE_COMPLETE" else "UNAVAILABLE"
        return change_set_id, stack_id

    return create_change_set


def _execute_with_outputs(original: Callable[..., None]) -> Callable[..., None]:
    """ExecuteChangeSet: only an executable change set; the stack then has its new template's
    outputs and exports (moto kept those of the template before)."""

    @functools.wraps(original)
    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = _find(self, change_set_name, stack_name)
        if change_set is None:
            raise ChangeSetNotFound(change_set_name)
        if change_set.execution_status != "AVAILABLE":
            raise InvalidChangeSetStatus(
                f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current "
                f"execution status of [{change_set.execution_status}]"
            )
        original(self, change_set.change_set_id, stack_name)
        stack = self.stacks[change_set.stack_id]
        stack._parse_template()
        stack.output_map = stack._create_output_map()
        for export in stack.exports:
            self.exports[export.name] = export

    return execute_change_set


def _describe_change_set(self: CloudFormationResponse) -> ActionResult:
    """DescribeChangeSet: ChangeSetNotFound for a missing one; values only with IncludePropertyValues."""
    name = self._get_param("ChangeSetName")
    found = _find(self.cloudformation_backend, name, self._get_param("StackName"))
    if found is None:
        raise ChangeSetNotFound(name)
    if self._get_bool_param("IncludePropertyValues", False):
        return ActionResult(found)
    view = copy.copy(found)
    view.changes = [without_values(change) for change in found.changes]
    return ActionResult(view)


def _delete_change_set(self: CloudFormationResponse) -> EmptyResult:
    """DeleteChangeSet: a missing change set of an existing stack is no error (the CLI deletes
    its diff change set "if it exists" first); a missing stack is a ValidationError."""
    backend = self.cloudformation_backend
    name = self._get_param("ChangeSetName")
    stack_name = self._get_param("StackName")
    if stack_name:
        backend.get_stack(stack_name)  # ValidationError: Stack with id ... does not exist
    found = _find(backend, name, stack_name)
    if found is None and not stack_name:
        raise ChangeSetNotFound(name)
    if found is not None:
        del backend.change_sets[found.change_set_id]
    return EmptyResult()


def _validate_different_update(
    original: Callable[..., None],
) -> Callable[..., None]:
    """CreateChangeSet never refuses "No updates are to be performed.": the change set fails
    with NO_CHANGES instead, which the CLI reports as no differences."""

    @functools.wraps(original)
    def validate(self: CloudFormationResponse, *args: Any, **kwargs: Any) -> None:
        if self._get_action() == "CreateChangeSet":
            return
        original(self, *args, **kwargs)

    return validate


def patch() -> None:
    """Install into moto (called once by emulator.cloudformation.patch, after its own patches)."""
    backend = cfn_models.CloudFormationBackend
    backend.create_change_set = _describe_changes(backend.create_change_set)  # type: ignore[method-assign]
    backend.execute_change_set = _execute_with_outputs(backend.execute_change_set)  # type: ignore[method-assign]
    CloudFormationResponse.describe_change_set = _describe_change_set  # type: ignore[method-assign]
    CloudFormationResponse.delete_change_set = _delete_change_set  # type: ignore[method-assign]
    CloudFormationResponse._validate_different_update = _validate_different_update(  # type: ignore[method-assign]
        CloudFormationResponse._validate_different_update
    )
