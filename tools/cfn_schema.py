"""CloudFormation resource schemas, as cfn-lint ships them: which property changes replace a resource.

The registry schema of every resource type lists `createOnlyProperties` (JSON pointers such as
`/properties/DBInstanceIdentifier` or `/properties/Foo/Bar`): a change to one of them makes
CloudFormation create a new resource and delete the old one. cfn-lint keeps a copy of every
region's schemas in its package (read through its schema manager), so this works offline and
follows cfn-lint's pin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

# The loader and `replaces` (True / False / None: it depends) live in the emulator, which may
# import nothing of the project (tests/unit/test_layers.py); this builds the paths on them.
from emulator.replacement import REGION, replaces, schema

DEFAULT_REGION = REGION


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


__all__ = ["at", "create_only", "identifiers", "replaces", "replacing_properties", "schema"]
