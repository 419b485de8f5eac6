"""Shared helpers: synthesize the app the way the CDK CLI does, read the templates back."""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tools.assembly import cli_context

ROOT = Path(__file__).resolve().parent.parent
# What `cdk synth` hands the app (cdk.json's context and the CLI's own settings). The
# integration test checks the CLI's templates equal ours.
CDK_CONTEXT: dict[str, Any] = cli_context(ROOT)
ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")

# Stack name -> (stage, region). Every environment and the DR stage.
UNITS = ("network", "data", "secrets", "registry", "services", "monitoring", "alerting", "audit", "access")
_PREFIXES = {
    "clever-better-dev": ("dev", "us-east-1"),
    "clever-better-staging": ("staging", "us-east-1"),
    "clever-better-prod": ("production", "us-east-1"),
    "clever-better-prod-dr": ("production-dr", "us-west-2"),
}
# The DR region holds the network, data, registry and services units (secrets and images are
# replicated into it; the registry unit there holds the replicas' settings; services is the
# pilot light), its monitoring and alerting, and the account baseline's regional half
# (GuardDuty, AWS Config).
STACKS = {
    f"{prefix}-{unit}": where
    for prefix, where in _PREFIXES.items()
    for unit in UNITS
    if not (prefix.endswith("-dr") and unit in ("secrets", "access"))
}


# The execution-role permissions Lambda documents for a function in a VPC (Lambda developer
# guide, "Giving Lambda functions access to resources in an Amazon VPC"; the EC2 actions of
# the AWS managed AWSLambdaVPCAccessExecutionRole).
LAMBDA_VPC_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)

# Environment -> name prefix (production's token is `prod`).
PREFIXES = {
    "dev": "clever-better-dev",
    "staging": "clever-better-staging",
    "production": "clever-better-prod",
}


def stacks_of(unit: str) -> dict[str, tuple[str, str]]:
    return {name: where for name, where in STACKS.items() if name.endswith(f"-{unit}")}


def build(outdir: Path, context: Mapping[str, Any] | None = None) -> tuple[Any, dict[str, dict[str, Any]]]:
    """Synthesize with cdk.json's context (as `cdk synth` passes it).

    Returns the app (for construct-tree checks) and the templates by stack name.
    """
    from app import create_app

    app = create_app(context={**CDK_CONTEXT, **(context or {})}, environ={}, outdir=str(outdir))
    assembly = app.synth()
    templates: dict[str, dict[str, Any]] = {}
    for stage in assembly.nested_assemblies:
        for stack in stage.nested_assembly.stacks:
            templates[stack.stack_name] = stack.template
    return app, templates


def synth(outdir: Path, context: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    return build(outdir, context)[1]


# A Route 53 zone id of the form the configuration accepts.
HOSTED_ZONE = "Z0123456789ABCDEFGHIJ"


def synth_zoned(outdir: Path) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Production and its DR stage with `deployment.hosted_zone_id` = HOSTED_ZONE, cdk-nag
    included: its unacknowledged findings and the templates by stack name."""
    import dataclasses

    import aws_cdk as cdk

    import config
    from app import add_compliance_checks, add_environment, findings

    (production,) = config.load(("production",))
    configured = dataclasses.replace(
        production, deployment=dataclasses.replace(production.deployment, hosted_zone_id=HOSTED_ZONE)
    )
    app = cdk.App(outdir=str(outdir), context=CDK_CONTEXT)
    add_environment(app, configured)
    add_compliance_checks(app)
    assembly = app.synth()
    templates = {
        stack.stack_name: stack.template
        for stage in assembly.nested_assemblies
        for stack in stage.nested_assembly.stacks
    }
    return findings(Path(assembly.directory) / "validation-report.json"), templates


def template_files(outdir: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(outdir)): path.read_bytes() for path in sorted(outdir.rglob("*.template.json"))
    }


def normalise(template: Mapping[str, Any]) -> Any:
    """Blank asset hashes so a Lambda code edit does not churn unrelated snapshots."""
    return json.loads(ASSET_HASH.sub("<asset-hash>", json.dumps(template, sort_keys=True)))


def resources(template: Mapping[str, Any], resource_type: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def one_resource(template: Mapping[str, Any], resource_type: str, prefix: str) -> tuple[str, dict[str, Any]]:
    """The one resource of `resource_type` whose logical id starts with `prefix`: its id and
    properties (fails unless exactly one matches)."""
    (found,) = [
        (k, v["Properties"]) for k, v in resources(template, resource_type).items() if k.startswith(prefix)
    ]
    return found


def hostile(canary: Path) -> str:
    """A value for every way a shell or make could be made to run `touch`: each leaves a file
    in `canary` if it works."""
    return (
        f"v1;touch {canary}/semicolon $(touch {canary}/dollar) `touch {canary}/backtick` "
        f"'\"quote $(shell touch {canary}/make)\ntouch {canary}/newline"
    )


def offline_aws(monkeypatch: Any, region: str | None = None) -> None:
    """For moto in-process: dummy credentials, and no profile or endpoint that could lead boto3
    to a real account."""
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    if region:
        monkeypatch.setenv("AWS_DEFAULT_REGION", region)


def create_stack(
    resources: dict[str, Any],
    outputs: dict[str, Any] | None = None,
    name: str = "s",
    region: str = "us-east-1",
) -> Any:
    """Create a stack of `resources` in the emulator (moto, patched) and describe it."""
    import boto3

    cloudformation = boto3.client("cloudformation", region_name=region)
    cloudformation.create_stack(
        StackName=name, TemplateBody=json.dumps({"Resources": resources, "Outputs": outputs or {}})
    )
    (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    return stack


def stack_reasons(name: str = "s", region: str = "us-east-1") -> list[str]:
    """Every event's status reason: where the emulator says why it refused a resource."""
    import boto3

    events = boto3.client("cloudformation", region_name=region).describe_stack_events(StackName=name)
    return [e.get("ResourceStatusReason", "") for e in events["StackEvents"]]


# What a stub answers a request with: a status, (status, headers), or "hang" (a second's wait, past
# a test's client time-out, then the stub's hang status).
Answer = Any


@contextlib.contextmanager
def http_stub(
    respond: Callable[[str, dict[str, str], Any], Answer], *, hang_status: int = 200
) -> Iterator[str]:
    """A local HTTP server standing in for a webhook or an alerting provider: each POST's path,
    headers and JSON body go to `respond`, whose answer is sent back. Yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            answer = respond(self.path, dict(self.headers), json.loads(self.rfile.read(length) or b"null"))
            if answer == "hang":
                time.sleep(1.0)
                answer = hang_status
            status, headers = (answer, {}) if isinstance(answer, int) else answer
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


class LambdaStub:
    """A Lambda client under botocore's Stubber (moto runs no function without Docker), for the
    commands that invoke one of ours and wait (ops/core.py invoke), and the configs they asked for."""

    def __init__(self, function: str, region: str = "us-east-1") -> None:
        import boto3
        from botocore.stub import Stubber

        self.function = function
        self.client = boto3.client("lambda", region_name=region)
        self.stubber = Stubber(self.client)
        self.configs: list[Any] = []

    def function_exists(self, exists: bool = True, name: str | None = None) -> None:
        name = name or self.function
        if exists:
            self.stubber.add_response(
                "get_function", {"Configuration": {"FunctionName": name}}, {"FunctionName": name}
            )
        else:
            self.stubber.add_client_error(
                "get_function", "ResourceNotFoundException", "Function not found", 404, {"FunctionName": name}
            )

    def answers(self, payload: Any, *, error: str | None = None, sent: Any = None) -> None:
        """The function's answer to one RequestResponse invocation (with `sent` as its payload)."""
        from botocore.response import StreamingBody

        data = json.dumps(payload).encode()
        answer: dict[str, Any] = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(data), len(data))}
        if error:
            answer["FunctionError"] = error
        expected: dict[str, Any] = {"FunctionName": self.function, "InvocationType": "RequestResponse"}
        if sent is not None:
            expected["Payload"] = json.dumps(sent).encode()
        self.stubber.add_response("invoke", answer, expected)

    def clients(self, name: str, **options: Any) -> Any:
        """An ops Context's `clients`: this stub for Lambda, moto (or AWS) for the rest."""
        import boto3

        if name != "lambda":
            return boto3.client(name)
        self.configs.append(options.get("config"))
        return self.client
