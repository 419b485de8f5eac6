"""moto's CloudFormation engine, made to behave like CloudFormation where our templates need it.

* A template with a type neither moto nor emulator.services models is rejected, the way
  CloudFormation rejects unknown types ("Template format error: Unrecognized resource
  types: [...]"), so nothing is ever dropped silently.
* Resources whose unchanged text references a resource that got a new physical id are
  updated, as CloudFormation does (moto updates only resources whose text changed).
* An error while creating or updating resources becomes a failed stack with the reason in
  its events (not HTTP 500 and a stack stuck IN_PROGRESS), so the CDK CLI reports it and
  exits non-zero; a failed stack has no outputs.
* A failed creation rolls back by each resource's DeletionPolicy, as CloudFormation does:
  `Retain` keeps what was created (so a named resource makes the retry fail with
  AlreadyExists), everything else, `RetainExceptOnCreate` included, is deleted; a delete
  that fails (a load balancer with deletion protection) ends in ROLLBACK_FAILED. Deleting a
  stack keeps `Retain` and `RetainExceptOnCreate` resources, and is refused while the
  stack's termination protection is on (UpdateTerminationProtection turns it off).
* An update that changes nothing is refused ("No updates are to be performed.").
* Change sets list what CloudFormation lists (emulator.change_sets): Add/Modify/Remove with
  `Replacement` and per-property details, so `cdk diff` shows the change-set diff.
* Fn::GetStackOutput (the CDK's weak cross-stack references) is resolved as a property's
  whole value, and refused as another intrinsic's argument, which CloudFormation does not
  accept in every region.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.responses import CloudFormationResponse, StackResourceDTO
from moto.core.responses import ActionResult

from emulator import change_sets
from emulator.services import EXTRA_MODELS, SUPPORTED_TRANSFORMS

logger = logging.getLogger("emulator")


def supported_types() -> frozenset[str]:
    """Every resource type a local deploy can create: moto's own plus ours."""
    return frozenset(parsing.get_model_map()) | frozenset(EXTRA_MODELS) | frozenset(parsing.NULL_MODELS)


def unsupported_types(template: dict[str, Any]) -> list[str]:
    """Resource types (and template transforms) a local deploy cannot reproduce."""
    types = {res.get("Type", "") for res in (template.get("Resources") or {}).values()}
    transforms = template.get("Transform") or []
    transforms = [transforms] if isinstance(transforms, str) else transforms
    return sorted(types - supported_types()) + sorted(
        f"Transform {t}" for t in set(transforms) - SUPPORTED_TRANSFORMS
    )


def _clean_json(original: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """Resolve Fn::GetStackOutput, the intrinsic behind the CDK's weak cross-stack references
    (@aws-cdk/core:defaultCrossStackReferences=weak): the named stack's output, read live."""

    @functools.wraps(original)
    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::GetStackOutput" in resource_json:
            spec = original(resource_json["Fn::GetStackOutput"], resources_map)
            region = spec.get("Region", resources_map._region_name)
            backend = cfn_models.cloudformation_backends[resources_map._account_id][region]
            for stack in backend.stacks.values():
                if stack.name == spec["StackName"] and stack.status.endswith("_COMPLETE"):
                    for output in stack.outputs or []:
                        if output["OutputKey"] == spec["OutputName"]:
                            return output["OutputValue"]
            raise ValidationError(
                message=(
                    f"Fn::GetStackOutput: stack {spec['StackName']} in {region} "
                    f"has no output {spec['OutputName']}"
                )
            )
        return original(resource_json, resources_map)

    return clean_json


def _resource_class_from_type(original: Callable[[str], Any]) -> Callable[[str], Any]:
    @functools.wraps(original)
    def resource_class_from_type(resource_type: str) -> Any:
        if resource_type in EXTRA_MODELS:
            return EXTRA_MODELS[resource_type]
        if resource_type.startswith("Custom::") or resource_type not in supported_types():
            # Checked when the template arrives; reaching here means a nested path missed it.
            raise ValidationError(
                message=f"Template format error: Unrecognized resource types: [{resource_type}]"
            )
        return original(resource_type)

    return resource_class_from_type


def _references(resource_json: dict[str, Any]) -> set[str]:
    """Logical ids a resource's properties name through Ref or Fn::GetAtt."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "Ref" and isinstance(value, str):
                    found.add(value)
                elif key == "Fn::GetAtt":
                    found.add(value[0] if isinstance(value, list) else str(value).split(".")[0])
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(resource_json.get("Properties", {}))
    return found


def _physical_id(resource: Any) -> Any:
    return getattr(resource, "physical_resource_id", resource)


def _update_dependents(original: Callable[..., Any]) -> Callable[..., Any]:
    """CloudFormation updates a resource whenever a value it references changes; moto updates
    only resources whose own template text changed. After moto's pass, re-apply each resource
    whose unchanged text names (Ref, GetAtt) one that got a new physical id, transitively: an
    ECS service whose task definition became a new revision moves to it, as in AWS."""

    @functools.wraps(original)
    def update(self: Any, template: dict[str, Any], parameters: Any = None) -> None:
        before = {name: _physical_id(r) for name, r in self._parsed_resources.items()}
        old_json = dict(self._resource_json_map)
        original(self, template, parameters)
        resources = self._parsed_resources
        changed = {n for n, pid in before.items() if n in resources and _physical_id(resources[n]) != pid}
        done: set[str] = set()
        while changed:
            following: set[str] = set()
            for name, resource_json in self._resource_json_map.items():
                if name in done or name not in resources or old_json.get(name) != resource_json:
                    continue
                if not _references(resource_json) & changed:
                    continue
                done.add(name)
                previous = _physical_id(resources[name])
                updated = parsing.parse_and_update_resource(
                    name, resource_json, self, account_id=self._account_id, region_name=self._region_name
                )
                if updated is not None:
                    resources[name] = updated
                    if _physical_id(updated) != previous:
                        following.add(name)
            changed = following

    return update


def intrinsics_around_stack_outputs(node: Any, outer: str | None = None) -> list[str]:
    """The intrinsics that take a Fn::GetStackOutput as an argument anywhere in `node`."""
    if isinstance(node, list):
        return [name for item in node for name in intrinsics_around_stack_outputs(item, outer)]
    if not isinstance(node, dict):
        return []
    found = [outer] if "Fn::GetStackOutput" in node and outer else []
    for key, value in node.items():
        inner = key if key.startswith("Fn::") and key != "Fn::GetStackOutput" else outer
        found += intrinsics_around_stack_outputs(value, inner)
    return found


def _reject_unsupported(method: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(method)

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        template = signature.bind(self, *args, **kwargs).arguments.get("template")
        if template:
            parsed = cfn_models.Stack.parse_template(template)
            around = sorted(set(intrinsics_around_stack_outputs(parsed.get("Resources") or {})))
            if around:
                raise ValidationError(
                    message=(
                        f"Template error: Fn::GetStackOutput is not supported inside {', '.join(around)}; "
                        "use a strong reference (Fn::ImportValue) or a name known at synth"
                    )
                )
            missing = unsupported_types(parsed)
            if missing:
                logger.error("rejecting template with unmodelled types %s", missing)
                raise ValidationError(
                    message=(
                        "Template format error: Unrecognized resource types: "
                        f"[{', '.join(missing)}] (the local emulator does not model them; "
                        "teach emulator/services/ before deploying locally)"
                    )
                )
        return method(self, *args, **kwargs)

    return wrapper


# What survives: the rollback of the creation that made a resource / a stack's deletion.
KEPT_ON_CREATE_ROLLBACK = frozenset({"Retain"})
KEPT_ON_DELETE = frozenset({"Retain", "RetainExceptOnCreate"})


def _dependencies(definition: dict[str, Any]) -> set[str]:
    depends_on = definition.get("DependsOn", [])
    return _references(definition) | ({depends_on} if isinstance(depends_on, str) else set(depends_on))


def delete_resources(resource_map: Any, *, kept: frozenset[str]) -> None:
    """Delete what `resource_map` created, except resources whose DeletionPolicy is in `kept`,
    as CloudFormation does: a resource only once nothing still in the stack depends on it, so
    when a delete fails, what it depends on stays too. Raises the error that stopped it."""
    remaining = {
        key
        for key, definition in resource_map._resource_json_map.items()
        if definition.get("DeletionPolicy", "Delete") not in kept
        and not isinstance(resource_map._parsed_resources.get(key), str | type(None))
    }
    dependencies = {key: _dependencies(resource_map._resource_json_map[key]) for key in remaining}
    error: Exception | None = None
    while remaining:
        progress = False
        for key in sorted(remaining):
            if any(key in dependencies[other] for other in remaining if other != key):
                continue  # something still here depends on it
            resource = resource_map._parsed_resources[key]
            try:
                resource_map._delete_resource(resource, resource_map._resource_json_map[key])
            except Exception as failure:  # noqa: BLE001 - a dependency may go first; retried
                error = failure
                continue
            resource_map._parsed_resources.pop(key)
            remaining.discard(key)
            progress = True
        if not progress:
            assert error is not None
            raise error


def _fail_stack_instead_of_500(method: Callable[..., Any], failed: str, final: str) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
            logger.exception("stack %s failed: %s", self.name, reason)
            self._add_stack_event(failed, resource_status_reason=reason)
            status = final
            if final == "ROLLBACK_COMPLETE":
                try:
                    delete_resources(self.resource_map, kept=KEPT_ON_CREATE_ROLLBACK)
                except Exception as rollback_error:  # noqa: BLE001 - reported as CloudFormation does
                    status = "ROLLBACK_FAILED"
                    reason = f"{reason}; rollback failed: {type(rollback_error).__name__}: {rollback_error}"
                _mark_leftovers(self.resource_map)
            self._add_stack_event(status, resource_status_reason=reason)
            self.status = status
            return None

    return wrapper


def _mark_leftovers(resource_map: Any) -> None:
    """What a create rollback left, with the status CloudFormation reports for it."""
    for key, resource in resource_map._parsed_resources.items():
        definition = resource_map._resource_json_map.get(key)
        if definition is not None and not isinstance(resource, str):
            kept = definition.get("DeletionPolicy") in KEPT_ON_CREATE_ROLLBACK
            resource.emulator_status = "DELETE_SKIPPED" if kept else "DELETE_FAILED"


def _resource_status(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def init(self: Any, stack: Any, resource: Any) -> None:
        original(self, stack, resource)
        self.resource_status = getattr(resource, "emulator_status", self.resource_status)

    return init


def _delete_stack_unless_protected(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def delete_stack(self: Any, name_or_stack_id: str) -> Any:
        for stack in list(self.stacks.values()):
            if name_or_stack_id in (stack.name, stack.stack_id) and stack.enable_termination_protection:
                raise ValidationError(
                    stack.name,
                    message=f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled",
                )
        return original(self, name_or_stack_id)

    return delete_stack


def _update_termination_protection(self: CloudFormationResponse) -> Any:
    """UpdateTerminationProtection, which moto lacks."""
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    stack.enable_termination_protection = self._get_bool_param("EnableTerminationProtection")
    return ActionResult({"StackId": stack.stack_id})


def _validate_different_update(
    self: CloudFormationResponse,
    incoming_params: list[dict[str, Any]] | None,
    stack_body: str,
    old_stack: cfn_models.Stack,
) -> None:
    """CloudFormation refuses an update that changes nothing ("No updates are to be
    performed."), which is how the CDK CLI reports "(no changes)". moto checks this
    only when parameters are passed; the CLI passes none when defaults apply."""
    if not stack_body:
        return
    old_params = dict(old_stack.parameters or {})
    new_params = {
        p["ParameterKey"]: old_params.get(p["ParameterKey"])
        if p.get("UsePreviousValue")
        else p.get("ParameterValue")
        for p in incoming_params or []
    }
    tags = {t["Key"]: t["Value"] for t in self._get_param("Tags", [])}
    if (
        old_stack.template_dict == cfn_models.Stack.parse_template(stack_body)
        and new_params == old_params
        and (not tags or tags == old_stack.tags)
    ):
        raise ValidationError(old_stack.name, message="No updates are to be performed.")


_FAILED = frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE"})


def _created(resource_map: Any) -> list[Any]:
    return [
        resource
        for key, resource in resource_map._parsed_resources.items()
        if key in resource_map._resource_json_map and not isinstance(resource, str)
    ]


def patch() -> None:
    """Patch moto's CloudFormation engine in this process (once: emulator.adapter.install guards)."""
    parsing.resource_class_from_type = _resource_class_from_type(  # type: ignore[assignment]
        parsing.resource_class_from_type
    )
    parsing.clean_json = _clean_json(parsing.clean_json)  # type: ignore[assignment]
    backend = cfn_models.CloudFormationBackend
    for name in ("create_stack", "update_stack", "create_change_set"):
        setattr(backend, name, _reject_unsupported(getattr(backend, name)))
    CloudFormationResponse._validate_different_update = _validate_different_update  # type: ignore[method-assign]
    parsing.ResourceMap.update = _update_dependents(parsing.ResourceMap.update)  # type: ignore[method-assign]
    stack = cfn_models.Stack
    stack.create_resources = _fail_stack_instead_of_500(  # type: ignore[method-assign]
        stack.create_resources, "CREATE_FAILED", "ROLLBACK_COMPLETE"
    )
    stack.update = _fail_stack_instead_of_500(  # type: ignore[method-assign]
        stack.update, "UPDATE_FAILED", "UPDATE_ROLLBACK_COMPLETE"
    )
    parsing.ResourceMap.delete = lambda self: delete_resources(self, kept=KEPT_ON_DELETE)  # type: ignore[method-assign]
    backend.delete_stack = _delete_stack_unless_protected(backend.delete_stack)  # type: ignore[method-assign]
    CloudFormationResponse.update_termination_protection = _update_termination_protection  # type: ignore[attr-defined]
    StackResourceDTO.__init__ = _resource_status(StackResourceDTO.__init__)  # type: ignore[method-assign]
    resources = stack.stack_resources
    # moto builds a missing resource when it is listed: a failed stack lists what it has.
    stack.stack_resources = property(  # type: ignore[method-assign,assignment]
        lambda self: _created(self.resource_map) if self.status in _FAILED else resources.fget(self)  # type: ignore[attr-defined]
    )
    # A failed stack has no outputs (moto would try to build the missing resources).
    outputs = stack.outputs
    stack.outputs = property(  # type: ignore[method-assign,assignment]
        lambda self: None if self.status in _FAILED else outputs.fget(self)  # type: ignore[attr-defined]
    )
    # After the refusals above: CreateChangeSet still rejects unmodelled types first.
    change_sets.patch()
