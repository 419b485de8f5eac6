"""cdk-nag wiring and acknowledgements, cfn-lint, and deterministic synth."""

from __future__ import annotations

import ast
import importlib
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from cfnlint.api import ManualArgs, lint

from emulator.cloudformation import intrinsics_around_stack_outputs
from tests.support import STACKS, synth, template_files
from tests.unit.acknowledgements import pinned

# cfn-lint rules we ignore everywhere, each with its reason. Keep this list short.
CFN_LINT_IGNORED = {}
# Findings ignored where aws-cdk-lib, not our code, writes the template, each with its reason.
CFN_LINT_IGNORED_WHEN = {
    "W3005": (
        re.compile(
            r"dependency already enforced by a '(GetAtt' at 'Resources/\w+/Properties/Role'"
            r"|Ref' at 'Resources/\w+/Properties/LoadBalancers/)"
        ),
        "aws-cdk-lib makes every Lambda function DependsOn its own execution role, and a blue/green "
        "service DependsOn its listener rules, which the Role GetAtt / rule Ref already imply; "
        "harmless, and not ours to rewrite",
    ),
}
BOILERPLATE = re.compile(
    r"^(todo|tbd|fixme|n/?a|none|ok|ignore|suppress(ed)?|false positive|not needed)\b", re.I
)
# Our Lambdas (components/functions.py), by construct path.
OUR_FUNCTIONS = (
    r"(Secrets/Rotation|\w+Deployment/Hook|Database/Roles/Function|DriftCheck/Function"
    r"|Router/Function|Halt/Function|data/Maintenance/Function|DailyReport/Function|Training/Function)"
)


def _acknowledgements(app: Any) -> list[tuple[str, str, str]]:
    """(construct path, rule id, reason) for every acknowledgement in the construct tree."""
    return [
        (construct.node.path, rule, reason)
        for construct in app.node.find_all()
        for entry in construct.node.metadata
        if entry.type == "aws:cdk:acknowledged-rules"
        for rule, reason in entry.data.items()
    ]


def test_nag_packs_fail_synth_on_a_finding(tmp_path: Path) -> None:
    """The same wiring as app.py: an unacknowledged finding raises, and the report names it."""
    from app import add_compliance_checks

    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Probe", env=cdk.Environment(account="111111111111", region="us-east-1"))
    s3.Bucket(stack, "Unencrypted")  # no TLS policy, no logging: AwsSolutions-S1/S10 and NIST findings
    add_compliance_checks(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = (tmp_path / "validation-report.json").read_text()
    assert "AwsSolutions-S10" in report and "NIST.800.53.R5-S3BucketSSLRequestsOnly" in report


def test_under_the_cdk_cli_a_finding_still_fails_synth(tmp_path: Path) -> None:
    """The CLI runs the app in "process" mode, where a failed validation only sets the exit code
    of jsii's Node process and Python exits 0: `cdk synth` and `cdk deploy` would go on. app.py
    reads the report instead, and exits non-zero with one line naming each finding."""
    from app import add_compliance_checks, synthesize

    app = cdk.App(outdir=str(tmp_path), context={"@aws-cdk/core:appMode": "process"})
    stack = cdk.Stack(app, "Probe", env=cdk.Environment(account="111111111111", region="us-east-1"))
    s3.Bucket(stack, "Unencrypted")
    add_compliance_checks(app)
    with pytest.raises(SystemExit) as exited:
        synthesize(app)
    message = str(exited.value)
    assert message.startswith("synth failed: ") and "\n" not in message
    assert "AwsSolutions::AwsSolutions-S10 Probe/Unencrypted/Resource" in message
    assert f"report: {tmp_path}/validation-report.json" in message


def test_a_crashed_rule_pack_fails_synth_too(tmp_path: Path) -> None:
    """A plugin that throws reports "failure" with no violation; that fails synth as well."""
    from app import findings

    report = tmp_path / "validation-report.json"
    report.write_text(
        json.dumps(
            {
                "pluginReports": [
                    {"pluginName": "AwsSolutions", "conclusion": "success", "violations": []},
                    {
                        "pluginName": "NIST.800.53.R5",
                        "conclusion": "failure",
                        "violations": [],
                        "metadata": {"error": "TypeError: rule crashed"},
                    },
                ]
            }
        )
    )
    assert findings(report) == ["NIST.800.53.R5 failed: TypeError: rule crashed"]
    assert findings(tmp_path / "absent.json") == []


def test_acknowledgements_are_pinned(app: Any) -> None:
    """Exactly the reviewed (construct path, rule) pairs of tests/unit/acknowledgements.py, each
    with its reviewed reason: a new pair (even of a rule acknowledged elsewhere) fails until it is
    added there, a removed one until it is removed there."""
    check_acknowledgements_pinned(_acknowledgements(app))


def check_acknowledgements_pinned(acks: list[tuple[str, str, str]]) -> None:
    """The pin test's body, on any (path, rule, reason) list: tests/unit/test_mutations.py calls it too."""
    assert acks, "expected the app's acknowledgements"
    found = {(path, rule): reason for path, rule, reason in acks}
    assert len(found) == len(acks), "a rule acknowledged twice on one construct"
    pins = pinned()
    assert sorted(found.keys() - pins.keys()) == [], "new: review, then add to tests/unit/acknowledgements.py"
    assert sorted(pins.keys() - found.keys()) == [], "gone: remove from tests/unit/acknowledgements.py"
    assert [(pair, found[pair]) for pair in sorted(found) if found[pair] != pins[pair]] == []


def test_pinned_acknowledgements_are_narrow_and_reasoned() -> None:
    pins = pinned()
    assert pins
    for (path, rule), reason in pins.items():
        assert len(reason.split()) >= 8 and not BOILERPLATE.match(reason.strip()), (path, rule, reason)
        # Never on a stack or stage: on the construct that has the finding.
        assert path.count("/") >= 3, (path, rule)
    # Wildcard resources, each where it cannot be avoided: object-level grants (bucket/*) on
    # replication policies and ml-service's own bucket; ecr:GetAuthorizationToken (*) on
    # task execution roles; what Lambda needs to attach our functions to the VPC (EC2's list
    # actions, a new interface, DeleteNetworkInterface as Lambda documents it); a deployment
    # hook's own service's deployments. Nothing else.
    iam5 = [(path, rule) for path, rule in pins if rule.startswith("AwsSolutions::AwsSolutions-IAM5[")]
    assert iam5
    for path, rule in iam5:
        if path.endswith("/Task/ExecutionRole/DefaultPolicy"):
            assert rule.endswith("[Resource::*]"), (path, rule)
        elif re.search(rf"/{OUR_FUNCTIONS}Policy$", path):
            assert re.search(
                r"\[Resource::(\*|arn:aws:ec2:us-(east-1|west-2):\d{12}:(network-interface/\*|\*/\*)"
                r"|arn:aws:ecs:us-(east-1|west-2):\d{12}:service-deployment/clever-better-[a-z]+/(bot|ml-service)/\*"
                # the alarm router's one secret, by the suffix Secrets Manager adds to its name
                r"|arn:aws:secretsmanager:us-(east-1|west-2):\d{12}:secret:clever-better/[a-z]+/alerting-\?{6})\]$",
                rule,
            ), (path, rule)
        elif path.endswith("/DriftCheck/CheckPolicy"):
            assert re.search(
                r"\[Resource::(\*|arn:aws:cloudformation:us-east-1:\d{12}:stack/clever-better-[a-z]+-[a-z]+/\*)\]$",
                rule,
            ), (path, rule)
        elif path.endswith("/access/Roles/DeploymentPolicy"):
            # The pipeline's reads, and its writes by this environment's name prefix.
            assert re.search(
                r"\[Resource::(\*|arn:aws:(cloudformation:[a-z0-9-]+:\d{12}:stack/clever-better-[a-z]+-\*/\*"
                r"|ecs:[a-z0-9-]+:\d{12}:service(-deployment)?/clever-better-[a-z]+/\*"
                r"|rds:[a-z0-9-]+:\d{12}:snapshot:clever-better-[a-z]+-predeploy-\*"
                r"|ssm:[a-z0-9-]+:\d{12}:parameter/clever-better/[a-z]+/deploy/\*))\]$",
                rule,
            ), (path, rule)
        elif path.endswith("/audit/Compliance/DriftDetectionPolicy"):
            assert rule.endswith("[Resource::*]"), (path, rule)
        elif path.endswith("/alerting/DailyReport/ReadPolicy"):
            # Reads without a resource, and the services and tasks of the environment's own cluster.
            assert re.search(
                r"\[Resource::(\*|arn:aws:ecs:us-east-1:\d{12}:(service|task)/clever-better-[a-z]+/\*)\]$",
                rule,
            ), (path, rule)
        elif path.endswith("/services/Training/RunPolicy"):
            # Without a resource (held by conditions), the cluster's tasks, the ml-service's family.
            assert re.search(
                r"\[Resource::(\*|arn:aws:ecs:us-east-1:\d{12}:(task/clever-better-[a-z]+/\*"
                r"|task-definition/clever-better-[a-z]+-ml-service:\*))\]$",
                rule,
            ), (path, rule)
        elif path.endswith("/data/Maintenance/MetricsPolicy"):
            # PutMetricData, held to our namespace by its condition.
            assert rule.endswith("[Resource::*]"), (path, rule)
        elif path.endswith("/audit/Trail/LogsPolicy"):
            # CloudTrail's own log streams in the audit group.
            assert re.search(
                r"log-group:/aws/cloudtrail/clever-better-audit:log-stream:\d{12}_CloudTrail_us-east-1\*\]$",
                rule,
            ), rule
        elif path.endswith("/MlService/Task/TaskRole/DefaultPolicy"):
            assert re.search(
                r"\[Resource::arn:aws:s3:::clever-better-\w+-mlflow-\d{12}-us-(east-1|west-2)/\*\]$", rule
            ), rule
        elif path.endswith("/Mlflow/Task/TaskRole/DefaultPolicy"):
            # ECS Exec's ssmmessages channels (no resource types), and its artefacts under models/.
            assert rule.endswith("[Resource::*]") or re.search(
                r"\[Resource::arn:aws:s3:::clever-better-\w+-mlflow-\d{12}-us-east-1/models/\*\]$", rule
            ), rule
        elif path.endswith("/data/Standby/ProxyPolicy"):
            # The DR proxy: as `app`, to whichever instance the failover restores.
            assert rule.endswith("[Resource::arn:aws:rds-db:us-west-2:333333333333:dbuser:*/app]"), rule
        else:
            assert "ReplicationPolicy" in path and rule.endswith("/*]"), (path, rule)
    for path, rule in pins:
        if rule.endswith(("-S1", "LoggingEnabled", "EncryptionKMS")):
            # Only log destinations themselves (S3 and ALB access logs).
            assert path.endswith(
                (
                    "/Buckets/AccessLogs/Resource",
                    "/LoadBalancerLogs/Resource",
                    "/audit/Trail/ServiceLogs/Resource",
                    "/audit/ConfigDeliveries/Resource",
                )
            ), (path, rule)
        if rule.endswith("ALBWAFEnabled"):
            # Only the internal load balancer goes without WAF.
            assert path.endswith("/services/Internal/LoadBalancer/Resource"), (path, rule)
        if rule.endswith(("EC23", "EC2RestrictedCommonPorts", "EC2RestrictedSSH")):
            # One ingress rule each, never a whole security group (which would hide its next
            # rule): the public load balancer's world-open 80/443 and NAT-address test port,
            # and the database's token-port ingress from the proxy.
            assert re.search(
                r"/services/Public/SecurityGroup/from (0\.0\.0\.0_0:(80|443)|'?\{IndirectPeer\d*\}'?:9000)$"
                r"|/data/Database/DatabaseSecurityGroup/from \w+ProxySecurityGroup\w+:\{IndirectPort\}$",
                path,
            ), (path, rule)
        if rule.endswith("LambdaConcurrency"):
            # Our functions, where functions.* leaves the reservation unset (the default).
            assert re.search(rf"/{OUR_FUNCTIONS}/Resource$", path), path
        if rule.endswith("ELBDeletionProtectionEnabled"):
            assert path.startswith("dev/"), path
        if rule.endswith("CloudWatchAlarmAction"):
            # Only deployment alarms, which ECS itself acts on, and the DR pilot light's three
            # health alarms, which make dr-failover arms.
            assert re.search(r"/\w+Deployment/\w+Alarm$", path) or path in {
                f"production-dr/monitoring/Alarms/{alarm}P0/Resource"
                for alarm in ("BotUnhealthy", "MlServiceUnhealthy", "DataIngestionUnhealthy")
            }, path
        if rule.endswith("S3BucketReplicationEnabled"):
            # Production's primary buckets replicate; only logs (the audit trail's among them),
            # other envs and DR twins may not.
            assert (
                not path.startswith("production/")
                or "Logs/Resource" in path
                or path.endswith("/audit/Trail/Bucket/Resource")
            ), path
        if "SMG4" in rule or "RotationEnabled" in rule:
            # Only the configuration secret and the providers' keys (issued by them) go unrotated.
            assert path.endswith(
                ("/secrets/Secrets/Config/Resource", "/secrets/Secrets/Alerting/Resource")
            ), path
        if "MultiAZ" in rule or "RDS3" in rule or "DeletionProtection" in rule or "RDS10" in rule:
            # Multi-AZ and deletion protection are only ever waived outside production.
            assert not path.startswith("production"), (path, rule)


# A reason that claims a check names it: "(tested: tests/unit/test_x.py::test_y)" or
# "(validated: config.model.function)".
REFERENCE = re.compile(r"\((tested|validated): ([^)\s]+)\)")


def _exists(kind: str, target: str) -> bool:
    from tests.support import ROOT

    if kind == "validated":
        module, _, name = target.rpartition(".")
        return callable(getattr(importlib.import_module(module), name, None))
    file, *names = target.split("::")
    path = ROOT / file
    if not names or not path.is_file():
        return False
    scope: list[ast.stmt] = ast.parse(path.read_text()).body
    for name in names:
        found = [n for n in scope if isinstance(n, ast.FunctionDef | ast.ClassDef) and n.name == name]
        if not found:
            return False
        scope = found[0].body
    return True


def test_reasons_name_the_checks_they_claim() -> None:
    reasons = set(pinned().values())
    references = {match.groups() for reason in reasons for match in REFERENCE.finditer(reason)}
    assert len(references) >= 3  # the parser sees references
    assert sorted(ref for ref in references if not _exists(*ref)) == []
    # No claim of a check without its reference.
    claims = [r for r in reasons if re.search(r"validat|\btested\b|\bchecked\b", REFERENCE.sub("", r), re.I)]
    assert claims == []


def test_reference_check_rejects_what_does_not_exist() -> None:
    assert _exists("tested", "tests/unit/test_quality_gates.py::test_reasons_name_the_checks_they_claim")
    assert not _exists("tested", "tests/unit/test_quality_gates.py::test_no_such_test")
    assert not _exists("tested", "tests/unit/no_such_file.py::test_x")
    assert _exists("validated", "config.model._check_production")
    assert not _exists("validated", "config.model._check_no_such_thing")


def test_acknowledge_helper_rejects_empty_reason() -> None:
    from components.nag import acknowledge

    app = cdk.App()
    with pytest.raises(ValueError, match="needs a real reason"):
        acknowledge(app, "TODO", "AwsSolutions::AwsSolutions-IAM4")
    with pytest.raises(ValueError, match="by its full id"):
        acknowledge(app, "a reason long enough to pass the length check", "AwsSolutions-IAM4")


@pytest.mark.parametrize("name", sorted(STACKS))
def test_cfn_lint_clean(templates: dict[str, Any], name: str) -> None:
    _, region = STACKS[name]
    matches = lint(
        json.dumps(templates[name]),
        regions=[region],
        config=ManualArgs(ignore_checks=list(CFN_LINT_IGNORED), include_checks=["I"]),
    )
    problems = [
        f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})"
        for m in matches
        if m.rule.id[0] in "EW"
        and not (m.rule.id in CFN_LINT_IGNORED_WHEN and CFN_LINT_IGNORED_WHEN[m.rule.id][0].search(m.message))
    ]
    assert problems == []


def test_readme_lists_every_ignored_rule() -> None:
    """The quality-gates section names each ignored rule with its scope, and nothing else."""
    from tests.support import ROOT

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quality gates", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^  - `([EWI]\d{4})`", section, re.M))
    assert listed == set(CFN_LINT_IGNORED) | set(CFN_LINT_IGNORED_WHEN)
    assert "zero errors" not in readme
    # Nothing ignored in ruff's settings; each per-line code in use is named.
    lint = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert set(lint) == {"select"}, lint
    sources = [
        path
        for folder in ("components", "config", "emulator", "lambdas", "ops", "stacks", "tools", "tests")
        for path in (ROOT / folder).rglob("*.py")
    ]
    noqa = {
        code
        for path in sources
        for codes in re.findall(r"# noqa: ([A-Z]+\d+(?:, *[A-Z]+\d+)*)", path.read_text())
        for code in re.split(r", *", codes)
    }
    assert noqa and noqa <= set(re.findall(r"# noqa: ([A-Z]+\d+)", section)), noqa


def test_synth_is_deterministic(templates: dict[str, Any], assembly_dir: Path, tmp_path: Path) -> None:
    synth(tmp_path)
    first, second = template_files(assembly_dir), template_files(tmp_path)
    assert sorted(first) == sorted(second)
    assert len(first) == len(STACKS)
    for name in first:
        assert first[name] == second[name], name


def test_cdk_json_leaves_the_cli_its_reserved_context_keys() -> None:
    """The CLI warns on every run when cdk.json sets `aws:*` context keys; they come from its
    own settings instead (path and asset metadata on, version reporting off)."""
    from tests.support import ROOT

    settings = json.loads((ROOT / "cdk.json").read_text())
    assert [key for key in settings["context"] if key.startswith("aws:")] == []
    assert (settings["pathMetadata"], settings["assetMetadata"], settings["versionReporting"]) == (
        True,
        True,
        False,
    )


# CloudFormation's Fn::Split reference: the functions its source string may use. Fn::GetStackOutput
# is not among them, and not accepted inside other intrinsics in every region: within a region,
# cross-stack values use Fn::ImportValue (strong references) or names known at synth; across
# regions (production reads its DR key's ARN), Fn::GetStackOutput with its Region, as a whole
# property value only.
SPLIT_SOURCES = {
    "Fn::Base64", "Fn::FindInMap", "Fn::GetAtt", "Fn::GetAZs", "Fn::If",
    "Fn::ImportValue", "Fn::Join", "Fn::Select", "Fn::Sub", "Ref",
}  # fmt: skip


def _intrinsics(node: Any, name: str) -> list[Any]:
    """Every argument of intrinsic `name` anywhere below `node`."""
    if isinstance(node, dict):
        found = [node[name]] if name in node else []
        return found + [arg for value in node.values() for arg in _intrinsics(value, name)]
    if isinstance(node, list):
        return [arg for value in node for arg in _intrinsics(value, name)]
    return []


def test_cross_stack_values_use_documented_intrinsics(templates: dict[str, Any]) -> None:
    splits = []
    for name, template in templates.items():
        region = STACKS[name][1]
        for output in _intrinsics(template, "Fn::GetStackOutput"):
            assert output["Region"] != region, (name, output)
        assert intrinsics_around_stack_outputs(template["Resources"]) == [], name
        for delimiter, source in _intrinsics(template, "Fn::Split"):
            assert isinstance(delimiter, str), (name, delimiter)
            splits.append((name, source if isinstance(source, str) else sorted(source)))
    assert any(source == ["Fn::ImportValue"] for _, source in splits)  # the walk sees imports
    assert [(n, s) for n, s in splits if not isinstance(s, str) and not set(s) <= SPLIT_SOURCES] == []


def test_services_name_their_images_without_cross_stack_values(templates: dict[str, Any]) -> None:
    """Image URIs are plain strings from the repositories' fixed names (no import to resolve)."""
    template = templates["clever-better-prod-services"]
    images = sorted(
        container["Image"]["Fn::Join"][1][2]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::ECS::TaskDefinition"
        for container in resource["Properties"]["ContainerDefinitions"]
        if container["Image"]["Fn::Join"][1][:2]
        == ["333333333333.dkr.ecr.us-east-1.", {"Ref": "AWS::URLSuffix"}]
    )
    # The three services, the migration task (the bot's image) and MLflow, each with its scratch-init.
    assert images == [
        *["/bot:bootstrap"] * 4,
        *["/data-ingestion:bootstrap"] * 2,
        *["/ml-service:bootstrap"] * 2,
        *["/mlflow:bootstrap"] * 2,
    ]
