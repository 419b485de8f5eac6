"""Systems Manager Parameter Store: AWS::SSM::Parameter's Tags are a map in CloudFormation (not a
list of Key/Value pairs as in most types); moto's handler passes them to PutParameter as they
are and fails on the map, so they are turned into the API's list first."""

from __future__ import annotations

from typing import Any

from moto.ssm.models import Parameter

from emulator.services.base import Fix, Fixes, Models


def _parameter_properties(props: dict[str, Any]) -> dict[str, Any]:
    props = dict(props)
    tags = props.get("Tags")
    if isinstance(tags, dict):
        props["Tags"] = [{"Key": str(k), "Value": str(v)} for k, v in sorted(tags.items())]
    return props


MODELS: Models = ()
FIXES: Fixes = {Parameter: Fix(properties=_parameter_properties)}
