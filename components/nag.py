"""cdk-nag v3 acknowledgements, always on the narrowest construct and always with a reason."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct


def acknowledge(scope: IConstruct, reason: str, *rule_ids: str) -> None:
    """Acknowledge `rule_ids` on `scope` (and only its subtree) for one stated reason."""
    for rule_id in rule_ids:
        if "::" not in rule_id:
            # The id as the validation report prints it ("Pack::Rule"); a bare id would be
            # recorded as an annotation acknowledgement instead.
            raise ValueError(f"acknowledge {rule_id!r} by its full id, e.g. 'AwsSolutions::{rule_id}'")
    if len(reason.split()) < 6:
        # A reason an auditor can act on; tests also reject boilerplate.
        raise ValueError(f"acknowledgement of {rule_ids} needs a real reason, got {reason!r}")
    cdk.Validations.of(scope).acknowledge(
        *(cdk.Acknowledgment(id=rule_id, reason=reason) for rule_id in rule_ids)
    )
