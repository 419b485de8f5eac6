"""Whether changing a resource's properties replaces it, read from the CloudFormation resource
schemas that cfn-lint bundles (pinned in requirements-dev.txt; offline). Its public name is
tools.cfn_schema.replaces; it lives here because the emulator may import nothing outside itself
(tests/unit/test_layers.py), and it imports nothing of the project, so anything may use it.

    replaces("AWS::RDS::DBInstance", ["DBInstanceIdentifier"])  # True: a new instance
    replaces("AWS::RDS::DBInstance", ["DBInstanceClass"])       # False: updated in place
    replaces("AWS::RDS::DBInstance", ["MultiAZ"])               # None: it depends

A schema's `createOnlyProperties` are the properties whose change replaces the resource;
`conditionalCreateOnlyProperties` may replace it, depending on the values (CloudFormation's
"Conditional"). A property below a create-only one (`/properties/A/B`) also makes a change to
`A` conditional: only the top-level name is known here. A type without a schema (custom
resources, a type cfn-lint does not know) is conditional too: nothing says it is not replaced.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

# The schemas of the region our environments (and the local emulator) live in; the create-only
# lists are the same in every commercial region.
REGION = "us-east-1"


@functools.cache
def schema(resource_type: str, region: str = REGION) -> Mapping[str, Any] | None:
    """The type's registry schema as cfn-lint ships it, or None (custom resources, unknown types)."""
    # Imported here: cfn-lint takes about half a second to import, and only this needs it.
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError

    try:
        found: Mapping[str, Any] = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except ResourceNotFoundError:
        return None
    return found


@functools.cache
def _create_only(resource_type: str) -> tuple[frozenset[str], frozenset[str]] | None:
    """(create-only top-level properties, conditionally replacing ones), or None: no schema."""
    schema_ = schema(resource_type)
    if schema_ is None:
        return None
    always: set[str] = set()
    maybe: set[str] = set()
    for key, found in (("createOnlyProperties", always), ("conditionalCreateOnlyProperties", maybe)):
        for pointer in schema_.get(key) or []:
            parts = str(pointer).split("/")  # "/properties/Name[/Nested...]"
            if len(parts) < 3 or parts[1] != "properties":
                continue
            # A nested create-only path replaces only for some changes of its parent.
            (found if len(parts) == 3 else maybe).add(parts[2])
    return frozenset(always), frozenset(maybe - always)


def replaces(resource_type: str, changed_properties: Iterable[str]) -> bool | None:
    """True if changing these properties replaces the resource, False if it is updated in
    place, None if it depends (a conditionally create-only property, or no schema)."""
    changed = set(changed_properties)
    rules = _create_only(resource_type)
    if rules is None:
        return None if changed else False
    always, maybe = rules
    if changed & always:
        return True
    if changed & maybe:
        return None
    return False
