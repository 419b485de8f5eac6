"""CloudFormation resource schemas, as cfn-lint ships them: which property changes replace a resource.

The registry schema of every resource type lists `createOnlyProperties` (JSON pointers such as
`/properties/DBInstanceIdentifier` or `/properties/Foo/Bar`): a change to one of them makes
CloudFormation create a new resource and delete the old one. cfn-lint keeps a copy of every
region's schemas in its package (`cfnlint/data/schemas/providers/<region>.json` maps a type to a
schema file in `resources/`), so this works offline and follows cfn-lint's pin.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

DEFAULT_REGION = "us-east-1"


@cache
def _schemas_dir() -> Any:
    return resources.files("cfnlint") / "data" / "schemas"


@cache
def _provider(region: str) -> Mapping[str, str]:
    providers = _schemas_dir() / "providers"
    file = providers / f"{region}.json"
    if not file.is_file():
        file = providers / f"{DEFAULT_REGION}.json"
    mapping: dict[str, str] = json.loads(file.read_text())
    return mapping


@cache
def schema(resource_type: str, region: str = DEFAULT_REGION) -> Mapping[str, Any] | None:
    """The registry schema of `resource_type`, or None for a type cfn-lint does not know
    (custom resources, `Custom::...`)."""
    digest = _provider(region).get(resource_type)
    if digest is None:
        return None
    loaded: dict[str, Any] = json.loads((_schemas_dir() / "resources" / f"{digest}.json").read_text())
    return loaded


@cache
def create_only(
    resource_type: str, region: str = DEFAULT_REGION, *, conditional: bool = False
) -> tuple[tuple[str, ...], ...] | None:
    """The create-only property paths (`("DBInstanceIdentifier",)`, `("Foo", "*", "Bar")`), or
    None when the type has no schema. `conditional`: the `conditionalCreateOnlyProperties`
    instead, which replace the resource in some cases (the schema cannot say which)."""
    found = schema(resource_type, region)
    if found is None:
        return None
    key = "conditionalCreateOnlyProperties" if conditional else "createOnlyProperties"
    paths = []
    for pointer in found.get(key, ()):
        parts = pointer.split("/")
        if parts[:2] == ["", "properties"]:
            paths.append(tuple(parts[2:]))
    return tuple(paths)


@cache
def identifiers(resource_type: str, region: str = DEFAULT_REGION) -> frozenset[str]:
    """The top-level properties that make up the type's primary identifier (`BucketName`,
    `DBInstanceIdentifier`, `RoleName`): a resource's custom name when set in the template."""
    found = schema(resource_type, region) or {}
    return frozenset(
        pointer.split("/")[2]
        for pointer in found.get("primaryIdentifier", ())
        if pointer.startswith("/properties/")
    )


def at(value: Any, path: Sequence[str]) -> Any:
    """The value at a schema path; `*` stands for every item of a list (a list comes back)."""
    for index, key in enumerate(path):
        if key == "*":
            items = value if isinstance(value, list) else []
            return [at(item, path[index + 1 :]) for item in items]
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def replacing_properties(
    resource_type: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    region: str = DEFAULT_REGION,
    *,
    conditional: bool = False,
) -> tuple[str, ...] | None:
    """The create-only properties (`/`-joined paths) whose value differs between `old` and `new`
    properties: non-empty means CloudFormation replaces the resource (`conditional`: may
    replace it). None: no schema, unknown."""
    paths = create_only(resource_type, region, conditional=conditional)
    if paths is None:
        return None
    return tuple("/".join(path) for path in paths if at(old, path) != at(new, path))


def replaces(
    resource_type: str, changed_properties: Iterable[str], region: str = DEFAULT_REGION
) -> bool | None:
    """Whether changing these top-level properties replaces a `resource_type` (None: unknown type).

    A top-level property counts when it, or a property nested under it, is create-only: the
    caller knows only that something under it changed.
    """
    paths = create_only(resource_type, region)
    if paths is None:
        return None
    tops = {path[0] for path in paths if path}
    return any(name in tops for name in changed_properties)
