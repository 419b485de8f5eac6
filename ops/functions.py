"""Invoking one of our scheduled functions on demand and waiting for its answer (make
db-maintenance, make train): the function named when its stack or it is missing, the exact
invocation printed (and only printed in a dry run), one line when it fails.

The local emulator runs no Lambda code, so against it a real invocation refuses in one line.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from ops.core import Context, OpsError, error_code, not_deployed, stack_outputs


def invoke(
    ctx: Context,
    *,
    unit: str,
    function: str,
    payload: dict[str, Any] | None,
    read_timeout: int,
    cannot_run_here: str,
    command: str,
) -> Any:
    """The function's answer (parsed JSON), or None after a dry run. One call, never retried: a
    retry would start the work a second time. `read_timeout`: the function's own limit and a
    little. `cannot_run_here`: what else the emulator lacks for it; `command`: the make target."""
    stack_outputs(ctx, unit)
    try:
        ctx.clients("lambda").get_function(FunctionName=function)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            raise not_deployed(ctx, unit, f"function {function}") from None
        raise
    body = json.dumps(payload) if payload is not None else None
    sent = f" --cli-binary-format raw-in-base64-out --payload {shlex.quote(body)}" if body else ""
    line = f"aws lambda invoke --function-name {function}{sent} --cli-read-timeout {read_timeout} out.json"
    if ctx.dry_run:
        ctx.out(f"[dry-run] {line}")
        return None
    if ctx.emulated:
        raise OpsError(
            f"the local emulator runs no Lambda code{cannot_run_here}: {function} is deployed but cannot "
            f"run here; run {command} against AWS (DRY_RUN=1 prints the call)"
        )
    ctx.out(f"+ {line}")
    config = Config(
        read_timeout=read_timeout, connect_timeout=10, retries={"total_max_attempts": 1, "mode": "standard"}
    )
    request: dict[str, Any] = {"FunctionName": function, "InvocationType": "RequestResponse"}
    if body:
        request["Payload"] = body.encode()
    answer = ctx.clients("lambda", config=config).invoke(**request)
    result = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError"):
        failure = result if isinstance(result, dict) else {}
        kind, message = failure.get("errorType", "error"), failure.get("errorMessage", result)
        raise OpsError(
            f"{function} failed: {kind}: {message}; its log: aws logs tail /aws/lambda/{function} --since 1h"
        )
    return result
