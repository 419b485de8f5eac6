"""What every service module builds on: the model mixins, the Fix record and small shared helpers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moto.core.common_models import CloudFormationModel


class FromProperties:
    """moto's create hook with the resource's properties unpacked: a model implements `create`.

    A mixin, listed before CloudFormationModel, so each model stays a direct subclass of it
    (moto registers its types from CloudFormationModel.__subclasses__())."""

    @classmethod
    def create(cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str) -> Any:
        raise NotImplementedError(cls.__name__)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        return cls.create(resource_name, cloudformation_json["Properties"], account_id, region_name)


class AppliedModel(FromProperties, CloudFormationModel):
    """A model whose create applies its properties idempotently, so an update re-applies them."""

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )


class ArnModel(AppliedModel):
    """A resource whose physical id (Ref) and `Arn` attribute are its ARN."""

    def __init__(self, arn: str) -> None:
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.arn


class NamedModel(AppliedModel):
    """A resource known by the `Name` property it is created with (Ref is the name)."""

    def __init__(self, name: str) -> None:
        self.name = name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @property
    def physical_resource_id(self) -> str:
        return self.name


# (logical or physical name, properties, account, region) -> None, or raises AWS's error.
ResourceCheck = Callable[[str, dict[str, Any], str, str], None]


@dataclass(frozen=True)
class Fix:
    """What the emulator corrects in one of moto's own CloudFormation models.

    `check` runs before every create and update; `properties` and `after_create` apply on
    create; moto's update handler stays as it is (local stacks are recreated) unless `update`
    replaces it."""

    # Rewrites the Properties before moto's own create handler runs.
    properties: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # Sets on the created object what moto's handler drops, from the (rewritten) properties.
    after_create: Callable[[Any, dict[str, Any]], None] | None = None
    # GetAtt attributes CloudFormation has and moto lacks: name -> value from the object.
    attributes: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    # Replaces moto's update handler (a classmethod's function: cls comes first).
    update: Callable[..., Any] | None = None
    # Refuses, before moto changes anything, what AWS refuses when the resource is created or
    # updated: raises with AWS's message.
    check: ResourceCheck | None = None
    # Replaces the object's `delete(account_id, region_name)` (stack deletion), where moto's
    # removes more than the one resource.
    delete: Callable[[Any, str, str], None] | None = None
    # Whether `check` also runs before moto's update handler (not where `update` itself
    # removes the old resource and creates the new one through the checked create).
    check_update: bool = True

    def apply(self, model: Any) -> None:
        """Patch `model` (a moto class) in this process."""
        if self.properties is not None or self.after_create is not None or self.check is not None:
            _with_create_fixes(model, self.properties or dict, self.after_create, self.check)
        if self.attributes:
            _with_attributes(model, self.attributes)
        if self.update is not None:
            model.update_from_cloudformation_json = classmethod(self.update)
        if self.check is not None and self.check_update:
            _with_update_check(model, self.check)
        if self.delete is not None:
            model.delete = self.delete


# What a service module registers: its new models, and its fixes to moto's models.
Models = tuple[type[CloudFormationModel], ...]
Fixes = Mapping[type, Fix]  # moto declares abstract methods its own models leave out


def _with_create_fixes(
    model: Any,
    fix: Callable[[dict[str, Any]], dict[str, Any]],
    after: Callable[[Any, dict[str, Any]], None] | None,
    check: ResourceCheck | None,
) -> None:
    """Wrap `model`'s create handler with its check, properties rewrite and after-create step."""
    original = model.create_from_cloudformation_json.__func__

    def create(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        if check is not None:
            check(resource_name, cloudformation_json.get("Properties", {}), account_id, region_name)
        fixed = {**cloudformation_json, "Properties": fix(cloudformation_json.get("Properties", {}))}
        created = original(cls, resource_name, fixed, account_id, region_name, **kwargs)
        if after is not None:
            after(created, fixed["Properties"])
        return created

    create.__doc__ = original.__doc__
    model.create_from_cloudformation_json = classmethod(create)


# moto's update handler's parameters (it passes them by keyword).
_UPDATE_PARAMETERS = (
    "original_resource",
    "new_resource_name",
    "cloudformation_json",
    "account_id",
    "region_name",
)


def _with_update_check(model: Any, check: ResourceCheck) -> None:
    """Run `check` before `model`'s (possibly replaced) update handler, if it has one (moto
    replaces a resource whose update handler is abstract: the create check covers it)."""
    if hasattr(model.update_from_cloudformation_json, "__isabstractmethod__"):
        return
    original = model.update_from_cloudformation_json.__func__

    def update(cls: Any, /, *args: Any, **kwargs: Any) -> Any:
        given = dict(zip(_UPDATE_PARAMETERS, args, strict=False)) | kwargs
        properties = given["cloudformation_json"].get("Properties", {})
        check(given["new_resource_name"], properties, given["account_id"], given["region_name"])
        return original(cls, *args, **kwargs)

    update.__doc__ = original.__doc__
    model.update_from_cloudformation_json = classmethod(update)


def _with_attributes(model: Any, extra: Mapping[str, Callable[[Any], Any]]) -> None:
    original_get = getattr(model, "get_cfn_attribute", None)
    original_has = model.has_cfn_attr.__func__

    def has_cfn_attr(cls: Any, attr: str) -> bool:
        return attr in extra or bool(original_has(cls, attr))

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        if attribute_name in extra:
            return extra[attribute_name](self)
        if original_get is None:
            from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

            raise UnformattedGetAttTemplateException()
        return original_get(self, attribute_name)

    model.has_cfn_attr = classmethod(has_cfn_attr)
    model.get_cfn_attribute = get_cfn_attribute


def set_attributes(
    obj: Any,
    props: dict[str, Any],
    attributes: Mapping[str, str],
    convert: Callable[[Any], Any] = lambda value: value,
) -> None:
    """Set each model attribute of `attributes` (property -> attribute) whose property is given."""
    for prop, attribute in attributes.items():
        if prop in props:
            setattr(obj, attribute, convert(props[prop]))


def tags(props: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": t["Key"], "Value": t["Value"]} for t in props.get("Tags", [])]
