"""Every command in the runbook and the README names what the synthesized app defines.

Each `aws`, `make` and `cdk` command of the docs' bash blocks (and of inline code that starts
with one of them) is parsed as a shell would split it, and every resource name it passes
(`--cluster`, `--secret-id`, `s3://...`, `SERVICE=`, a stack selection, ...) is looked up among
the physical names of the environment and region the command runs in, collected from the
templates: a name that is right in staging but wrong in production, or right in us-east-1 but
run with `--region us-west-2`, fails here.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT
from tests.unit.test_docs import _make_targets

DOCS = ("docs/RUNBOOK.md", "README.md")
PRIMARY_REGION = "us-east-1"  # where an `aws` command without --region runs (the docs' default)
ENVIRONMENTS = ("dev", "staging", "production")  # what ENV= accepts (README)
# A name's environment token, as the stacks spell it (`clever-better-prod`, `clever-better/prod/`).
TOKEN = re.compile(r"clever-better[-/](dev|staging|prod)(?![a-z])")
TOKENS = {"dev": "dev", "staging": "staging", "prod": "production"}

# What a command substitution `$(...)` is replaced with while parsing.
SUBSTITUTION = "$(...)"
# Placeholders a checked name may hold: what each stands for (a regex, matched against the
# templates' names) and a sample of it (for names derived from the templates' by a pattern).
# Anything else that looks like one (`$TAG`, `<snapshot-id>`, `{token}`) fails: an operator
# would type it as it is.
PLACEHOLDERS = {
    "$ACCOUNT": (r"[0-9]{12}", "123456789012"),  # set by the block's `aws sts get-caller-identity`
    SUBSTITUTION: (r"[0-9]{8}", "20260101"),  # `$(date -u +%Y%m%d)` in a snapshot or bucket key
}
# README prose names some variables without a value (`make db-restore SNAPSHOT=...`): unchecked.
UNSPECIFIED = "..."
PLACEHOLDER_LIKE = re.compile(r"\$\{?\w+\}?|\$\(|<[^>]*>|\{[^}]*\}|\.\.\.|…")

# The kinds of names, and where the templates define them.
KINDS = {
    "cluster": ("AWS::ECS::Cluster", "ClusterName"),
    "service": ("AWS::ECS::Service", "ServiceName"),
    "task family": ("AWS::ECS::TaskDefinition", "Family"),
    "log group": ("AWS::Logs::LogGroup", "LogGroupName"),
    "secret": ("AWS::SecretsManager::Secret", "Name"),
    "db instance": ("AWS::RDS::DBInstance", "DBInstanceIdentifier"),
    "db cluster": ("AWS::RDS::DBCluster", "DBClusterIdentifier"),
    "db proxy": ("AWS::RDS::DBProxy", "DBProxyName"),
    "bucket": ("AWS::S3::Bucket", "BucketName"),
    "role": ("AWS::IAM::Role", "RoleName"),
    "parameter": ("AWS::SSM::Parameter", "Name"),
    "repository": ("AWS::ECR::Repository", "RepositoryName"),
    "vault": ("AWS::Backup::BackupVault", "BackupVaultName"),
    "dashboard": ("AWS::CloudWatch::Dashboard", "DashboardName"),
    "alarm": ("AWS::CloudWatch::Alarm", "AlarmName"),
    "function": ("AWS::Lambda::Function", "FunctionName"),
    "queue": ("AWS::SQS::Queue", "QueueName"),
    "topic": ("AWS::SNS::Topic", "TopicName"),
    "saved query": ("AWS::Logs::QueryDefinition", "Name"),
    "metric filter": ("AWS::Logs::MetricFilter", "FilterName"),
    "load balancer": ("AWS::ElasticLoadBalancingV2::LoadBalancer", "Name"),
    "domain": ("AWS::CertificateManager::Certificate", "DomainName"),
    "schedule": ("AWS::Scheduler::Schedule", "Name"),
    "trail": ("AWS::CloudTrail::Trail", "TrailName"),
    "config rule": ("AWS::Config::ConfigRule", "ConfigRuleName"),
    "config recorder": ("AWS::Config::ConfigurationRecorder", "Name"),
    "event rule": ("AWS::Events::Rule", "Name"),
    "key alias": ("AWS::KMS::Alias", "AliasName"),
}
# Options of `aws` commands whose value is a name of that kind (per AWS service where the
# option means different things in different services).
OPTIONS = {
    "--cluster": "cluster",
    "--services": "service",
    "--service": "service",
    "--service-name": "service",
    "--task-definition": "task family",
    "--log-group-name": "log group",
    "--log-group-identifier": "log group",
    "--secret-id": "secret",
    "--db-instance-identifier": "db instance",
    "--db-instance-identifiers": "db instance",
    "--new-db-instance-identifier": "db instance",
    "--source-db-instance-identifier": "db instance",
    "--target-db-instance-identifier": "restored db instance",
    "--db-snapshot-identifier": "db snapshot",
    "--db-cluster-identifier": "db cluster",
    "--db-proxy-name": "db proxy",
    "--bucket": "bucket",
    "--role-arn": "role",
    "--repository-name": "repository",
    "--backup-vault-name": "vault",
    "--by-backup-vault-name": "vault",
    "--dashboard-name": "dashboard",
    "--dashboard-names": "dashboard",
    "--alarm-names": "alarm",
    "--function-name": "function",
    "--queue-name": "queue",
    "--stack-name": "stack",
}
SERVICE_OPTIONS = {
    ("ssm", "--name"): "parameter",
    ("ssm", "--names"): "parameter",
    ("cloudtrail", "--name"): "trail",
}
# Options whose value is several words (`--dimensions Name=A,Value=x Name=B,Value=y`).
LIST_OPTIONS = {"--filters", "--dimensions"}
PREFIX_OPTIONS = {"--alarm-name-prefix": "alarm", "--log-group-name-prefix": "log group"}
# `--query "...[?DBInstanceIdentifier=='clever-better-prod']..."`: a name compared in a query.
QUERY_KEYS = {"DBInstanceIdentifier": "db instance", "ServiceName": "service"}
# CloudWatch metric dimensions that name something (`--dimensions Name=ClusterName,Value=...`).
DIMENSIONS = {"ClusterName": "cluster", "ServiceName": "service", "DBInstanceIdentifier": "db instance"}
# Operator variables of make commands that name something.
MAKE_VARIABLES = {"SERVICE": "service", "SNAPSHOT": "db snapshot"}
# A target's own environment: deploy-production, smoke-test-prod, db-migrate-staging, ...
TARGET_ENVIRONMENT = re.compile(r"-(dev|staging|production|prod)$")
# Names that are in no template but derived from one (config/names.py, the runbook): kind ->
# (the kind it derives from, regex suffixes). Literal, so that a renamed derivation fails here
# rather than during an incident.
# make db-snapshot, deploys, make dr-failback
SNAPSHOTS = (r"-manual-[0-9]{8}", r"-predeploy-[0-9]{8}-[0-9]{6}(-[0-9]+)?", r"-failback-[0-9]{8}-[0-9]{4}")
DERIVED: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    # the instance and the one a restore replaces (database rollback); a restore wherever the
    # instance's automated backups are (`make db-restore`, a point-in-time restore in us-west-2)
    "db instance": (("db instance", ("", "-old")), ("automated backup", ("-restored",))),
    "restored db instance": (("automated backup", ("-restored",)),),
    "db snapshot": (("automated backup", SNAPSHOTS),),
}
# cdk options that take a value (the value is not a stack selection).
CDK_VALUE_OPTIONS = {"-c", "--context", "--app", "-a", "--output", "-o", "--require-approval", "--profile"}


# --- the docs' commands --------------------------------------------------------------------------


@dataclass
class Command:
    where: str  # doc:line
    words: list[str]

    def __str__(self) -> str:
        return f"{self.where}: {' '.join(self.words)}"


def _scan(line: str) -> Iterator[tuple[int, str, int, bool]]:
    """(index, character, command-substitution depth, inside quotes) for each character."""
    quote, depth, index = "", 0, 0
    while index < len(line):
        char = line[index]
        if quote:
            if char == quote:
                quote = ""
            elif char == "\\" and quote == '"':
                index += 1
        elif char in "'\"":
            quote = char
        elif line.startswith("$(", index):
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        yield index, char, depth, bool(quote)
        index += 1


def _strip_comment(line: str) -> str:
    for index, char, depth, quoted in _scan(line):
        if char == "#" and not quoted and not depth and (index == 0 or line[index - 1].isspace()):
            return line[:index]
    return line


def _closing(line: str, start: int) -> int:
    """The index of the `)` that closes the `$(` at `start`."""
    depth = 0
    for index, char, _, quoted in _scan(line[start:]):
        if quoted:
            continue
        if line.startswith("$(", start + index):
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return start + index
    raise AssertionError(f"unclosed $( in {line!r}")


def _substitutions(line: str) -> tuple[str, list[str]]:
    """Each `$(...)` replaced by the literal `$(...)`; the inner commands, innermost first."""
    inner: list[str] = []
    position = 0
    while (start := line.find("$(", position)) >= 0:
        if not line.startswith(SUBSTITUTION, start):
            end = _closing(line, start)
            body, nested = _substitutions(line[start + 2 : end])
            inner += [*nested, body]
            line = line[:start] + SUBSTITUTION + line[end + 1 :]
        position = start + len(SUBSTITUTION)
    return line, inner


def _segments(line: str) -> list[str]:
    """Split on `|`, `&&`, `||` and `;` outside quotes."""
    parts, current = [], ""
    for _, char, depth, quoted in _scan(line):
        if char in "|;&" and not quoted and not depth:
            parts.append(current)
            current = ""
        else:
            current += char
    return [p.strip() for p in [*parts, current] if p.strip()]


def _expand(word: str, variables: Mapping[str, str]) -> str:
    return re.sub(r"\$\{?([A-Za-z_]\w*)\}?", lambda m: variables.get(m.group(1), m.group(0)), word)


def commands(text: str, doc: str = "doc") -> list[Command]:
    """Every command of the bash blocks, then of inline code starting with aws/make/cdk."""
    found: list[Command] = []
    lines = text.splitlines()
    in_block, variables = False, {}
    for number, raw in enumerate(lines, 1):
        if raw.lstrip().startswith("```"):
            in_block = not in_block and raw.strip() in ("```bash", "```sh", "```shell")
            variables = {}
            continue
        if not in_block or raw.rstrip().endswith("\\"):
            continue
        # A command continued over lines ends here: join it back.
        start = number - 1
        while start > 0 and lines[start - 1].rstrip().endswith("\\"):
            start -= 1
        joined = " ".join(line.rstrip().removesuffix("\\") for line in lines[start:number])
        found += _parse(_strip_comment(joined), f"{doc}:{start + 1}", variables)
    prose = re.sub(r"```.*?```", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    for match in re.finditer(r"`((?:aws|make|cdk) [^`]+)`", prose):
        line = prose.count("\n", 0, match.start()) + 1
        found += _parse(" ".join(match.group(1).split()), f"{doc}:{line}", {})
    return found


def _parse(line: str, where: str, variables: dict[str, str]) -> list[Command]:
    line, inner = _substitutions(line)
    found = [c for body in inner for c in _parse(body, where, variables)]
    for segment in _segments(line):
        words = [_expand(w, variables) for w in shlex.split(segment)]
        if words[:1] == ["for"] and len(words) > 2:  # `for arn in $(...)`: arn is the operator's
            variables[words[1]] = f"${words[1]}"
            continue
        if words[:1] in (["do"], ["then"], ["else"]):
            words = words[1:]
        if words in (["done"], ["fi"]):
            continue
        while words and re.fullmatch(r"[A-Za-z_]\w*=.*", words[0]):
            name, value = words.pop(0).split("=", 1)
            variables[name] = value if "$" not in value else f"${name}"
        if words:
            found.append(Command(where, words))
    return found


# --- what the templates name -----------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    region: str
    stacks: set[str] = field(default_factory=set)
    names: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    partial: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # regexes
    tags: set[tuple[str, str]] = field(default_factory=set)
    paths: set[str] = field(default_factory=set)  # `dev/registry`: what `cdk deploy` selects


def _resolve(value: Any, region: str) -> str:
    """A name as a regex: a literal, or an Fn::Join / Fn::Sub of literals and the region, with
    `.+` for any part built from another resource's attribute (compared by its literal
    fragments). The account in a name is the configured literal (placeholder accounts are
    committed); no name holds an unresolved part today."""
    if isinstance(value, str):
        return re.escape(value)
    if isinstance(value, dict) and value == {"Ref": "AWS::Region"}:
        return re.escape(region)
    if isinstance(value, dict) and list(value) == ["Fn::Join"]:
        separator, parts = value["Fn::Join"]
        return re.escape(separator).join(_resolve(p, region) for p in parts)
    if isinstance(value, dict) and list(value) == ["Fn::Sub"] and isinstance(value["Fn::Sub"], str):
        literals = re.split(r"\$\{[^}]*\}", value["Fn::Sub"].replace("${AWS::Region}", region))
        return ".+".join(re.escape(part) for part in literals)
    return ".+"


def index(templates: Mapping[str, Mapping[str, Any]], assembly_dir: Path) -> dict[str, Stage]:
    """Per stage (dev, staging, production, production-dr): the physical names its templates define."""
    stages: dict[str, Stage] = {}
    for stage_dir in sorted(assembly_dir.glob("assembly-*")):
        manifest = json.loads((stage_dir / "manifest.json").read_text())
        for artifact in manifest["artifacts"].values():
            if artifact["type"] != "aws:cloudformation:stack":
                continue
            stage_name = stage_dir.name.removeprefix("assembly-")
            region = artifact["environment"].rsplit("/", 1)[1]
            stage = stages.setdefault(stage_name, Stage(stage_name, region))
            stack = artifact["properties"]["stackName"]
            stage.stacks.add(stack)
            stage.paths.add(artifact["displayName"].split(" ")[0])
            _collect(stage, templates[stack])
    for stage in list(stages.values()):
        for stack in sorted(stage.stacks):
            for resource in templates[stack]["Resources"].values():
                for region, kind, name in _replicas(resource, stage):
                    for other in stages.values():
                        if other.region == region and other.name.removesuffix("-dr") == stage.name:
                            other.names[kind].add(name)
    for stage in stages.values():
        stage.names["automated backup"] |= stage.names["db instance"]
    return stages


def _replicas(resource: Mapping[str, Any], stage: Stage) -> Iterator[tuple[str, str, str]]:
    """(region, kind, name) of what AWS creates in another region from this resource: the same
    names there, though no template of that region defines them."""
    props = resource.get("Properties", {})
    if resource["Type"] == "AWS::SecretsManager::Secret":  # read-only replicas, promoted at failover
        for replica in props.get("ReplicaRegions", []):
            yield replica["Region"], "secret", props["Name"]
    if resource["Type"] == "AWS::RDS::DBInstance" and "AutomaticBackupReplicationRegion" in props:
        # listed and restored there under the source instance's identifier
        yield props["AutomaticBackupReplicationRegion"], "automated backup", props["DBInstanceIdentifier"]
    if resource["Type"] == "AWS::ECR::ReplicationConfiguration":  # ECR creates the repositories there
        for rule in props["ReplicationConfiguration"]["Rules"]:
            prefixes = [f["Filter"] for f in rule.get("RepositoryFilters", [])]
            for destination in rule["Destinations"]:
                for repository in sorted(stage.names["repository"]):
                    if any(repository.startswith(p) for p in prefixes):
                        yield destination["Region"], "repository", repository


def _collect(stage: Stage, template: Mapping[str, Any]) -> None:
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for kind, (resource_type, prop) in KINDS.items():
            if resource["Type"] == resource_type and prop in props:
                name = _resolve(props[prop], stage.region)
                if ".+" in name:
                    stage.partial[kind].add(name)
                else:
                    stage.names[kind].add(re.sub(r"\\(.)", r"\1", name))
        if resource["Type"] == "AWS::Route53::HealthCheck":
            # Health checks have no name property: operators find them by their Name tag.
            tags = {t["Key"]: t["Value"] for t in props.get("HealthCheckTags", [])}
            if isinstance(tags.get("Name"), str):
                stage.names["health check"].add(tags["Name"])
        hosted = props.get("HostedRotationLambda", {})
        if resource["Type"] == "AWS::SecretsManager::RotationSchedule" and "RotationLambdaName" in hosted:
            # Deployed by the Secrets Manager transform, under the name the schedule gives it.
            stage.names["function"].add(hosted["RotationLambdaName"])
        tags = props.get("Tags", [])
        if isinstance(tags, list):
            stage.tags |= {(t["Key"], t["Value"]) for t in tags if isinstance(t.get("Value"), str)}
        elif isinstance(tags, dict):
            stage.tags |= {(k, v) for k, v in tags.items() if isinstance(v, str)}
    stage.names["stack"] = set(stage.stacks)


# --- the checker -----------------------------------------------------------------------------------


def _pattern(value: str) -> re.Pattern[str] | str:
    """The name as a regex, its allowed placeholders standing for what they stand for; a string
    (the problem) if it holds any other placeholder."""
    parts = re.split("(" + "|".join(re.escape(p) for p in PLACEHOLDERS) + ")", value)
    literal = "".join(p for p in parts if p not in PLACEHOLDERS)
    if stray := PLACEHOLDER_LIKE.search(literal):
        return f"placeholder {stray.group(0)!r} is not allowed (PLACEHOLDERS)"
    return re.compile("".join(PLACEHOLDERS[p][0] if p in PLACEHOLDERS else re.escape(p) for p in parts))


def _sample(value: str) -> str:
    for placeholder, (_, sample) in PLACEHOLDERS.items():
        value = value.replace(placeholder, sample)
    return value


@dataclass
class Checker:
    stages: dict[str, Stage]
    targets: set[str]
    checked: list[tuple[str, str]] = field(default_factory=list)  # (kind, name) looked up

    def all_names(self) -> set[str]:
        names = {n for s in self.stages.values() for kind in s.names.values() for n in kind}
        for stage in self.stages.values():
            for derived in DERIVED.values():
                for base_kind, suffixes in derived:
                    names |= {b + _example(x) for b in stage.names[base_kind] for x in suffixes}
        return names

    def name_problems(self, text: str, doc: str = "doc") -> list[str]:
        names, found = self.all_names(), []
        for name in prose_names(text):
            for alternative in _alternatives(name):
                parts = re.split("(" + "|".join(re.escape(p) for p in NAME_PLACEHOLDERS) + ")", alternative)
                literal = "".join(p for p in parts if p not in NAME_PLACEHOLDERS)
                if stray := PLACEHOLDER_LIKE.search(literal):
                    found.append(f"{doc}: `{name}`: placeholder {stray.group(0)!r} is not allowed")
                    continue
                pattern = "".join(NAME_PLACEHOLDERS.get(p, re.escape(p)) for p in parts)
                self.checked.append(("name", alternative))
                if not any(re.fullmatch(pattern, n) for n in names):
                    found.append(f"{doc}: `{name}`: no resource of any environment is named {alternative!r}")
        return found

    def problems(self, text: str, doc: str = "doc") -> list[str]:
        found = []
        for command in commands(text, doc):
            found += [f"{command}: {p}" for p in self.check(command)]
        return found

    def check(self, command: Command) -> list[str]:
        program, *args = command.words
        if program == "aws":
            return self._aws(args)
        if program == "make":
            return self._make(args)
        if program == "cdk":
            return self._cdk(args)
        if program == "curl":
            return self._curl(args)
        return []

    def _curl(self, args: list[str]) -> list[str]:
        hosts = [m.group(1) for a in args if (m := re.match(r"https://([^/:]+)", a))]
        stages = [s for s in self.stages.values() if s.region == PRIMARY_REGION]
        return [p for host in hosts if (p := self._lookup(stages, "domain", host))]

    # Which stages a command can mean: its region's, narrowed by the environment its names carry.
    def _stages(self, region: str, tokens: set[str]) -> list[Stage] | str:
        in_region = [s for s in self.stages.values() if s.region == region]
        if len(tokens) > 1:
            return f"names of several environments: {sorted(tokens)}"
        if tokens:
            (token,) = tokens
            chosen = [s for s in in_region if s.name.removesuffix("-dr") == token]
            return chosen or f"no {token} stacks in {region}"
        return in_region or f"no stacks in {region}"

    def _lookup(self, stages: list[Stage], kind: str, value: str, prefix: bool = False) -> str | None:
        if value == UNSPECIFIED:
            return None
        pattern = _pattern(value)
        if isinstance(pattern, str):
            return pattern
        self.checked.append((kind, value))
        where = ", ".join(f"{s.name} ({s.region})" for s in stages)
        if kind in DERIVED:
            derived = [
                re.escape(base) + suffix
                for base_kind, suffixes in DERIVED[kind]
                for base in sorted({n for s in stages for n in s.names[base_kind]})
                for suffix in suffixes
            ]
            ok = any(re.fullmatch(d, _sample(value)) for d in derived)
            return None if ok else f"{value!r} is not a {kind} ({', '.join(derived)}) of {where}"
        names = {n for s in stages for n in s.names[kind]}
        ok = any(n.startswith(value) if prefix else pattern.fullmatch(n) for n in names) or any(
            re.fullmatch(partial, _sample(value)) for s in stages for partial in s.partial[kind]
        )
        return None if ok else f"{value!r} is not a {kind} of {where}"

    def _aws(self, args: list[str]) -> list[str]:
        service = args[0] if args else ""
        options: list[tuple[str, str]] = []
        option, taken = "", 0
        for word in args:
            if word.startswith("s3://"):
                options.append(("s3://", word))
            elif word.startswith("--"):
                option, taken = word, 0
            elif option and (taken == 0 or option in LIST_OPTIONS):
                options.append((option, word))
                taken += 1
        region = dict(options).get("--region", PRIMARY_REGION)
        tokens = {TOKENS[t] for _, value in options for t in TOKEN.findall(value)}
        stages = self._stages(region, tokens)
        if isinstance(stages, str):
            return [stages]
        problems = []
        if args[:2] == ["logs", "tail"] and len(args) > 2:  # aws logs tail GROUP
            options.append(("--log-group-name", args[2]))
        for option, value in options:
            checks: list[tuple[str, str, bool]] = []
            if option == "s3://":
                checks.append(("bucket", value.removeprefix("s3://").split("/", 1)[0], False))
            elif kind := SERVICE_OPTIONS.get((service, option)) or OPTIONS.get(option):
                # A role given by ARN (`--role-arn arn:aws:iam::$ACCOUNT:role/NAME`) is its name.
                checks += [
                    (kind, v.rsplit(":role/", 1)[-1] if kind == "role" else v, False)
                    for v in value.split(",")
                ]
            elif option in PREFIX_OPTIONS:
                checks.append((PREFIX_OPTIONS[option], value, True))
            elif option == "--query":
                for key, name in re.findall(r"(\w+)\s*==\s*'([^']*)'", value):
                    if query_kind := QUERY_KEYS.get(key):
                        checks.append((query_kind, name, False))
            elif option == "--dimensions":
                for key, name in re.findall(r"Name=(\w+),Value=(.+)", value):
                    if key in DIMENSIONS:
                        checks.append((DIMENSIONS[key], name, False))
            elif option == "--filters":
                for key, tag_value in re.findall(r"Name=tag:([^,]+),Values=([^ ]+)", value):
                    for v in tag_value.split(","):
                        self.checked.append(("tag", f"{key}={v}"))
                        if not any((key, v) in s.tags for s in stages):
                            problems.append(f"no resource of {[s.name for s in stages]} is tagged {key}={v}")
            if "automated-backups" in " ".join(args[:2]):  # the backups' source instance, by identifier
                checks = [("automated backup" if k == "db instance" else k, v, pre) for k, v, pre in checks]
            problems += [p for kind, v, prefix in checks if (p := self._lookup(stages, kind, v, prefix))]
        return problems

    def _make(self, args: list[str]) -> list[str]:
        variables = dict(a.split("=", 1) for a in args if "=" in a)
        targets = [a for a in args if "=" not in a and not a.startswith("-")]
        problems = [f"no make target {t!r}" for t in targets if t not in self.targets]
        self.checked += [("make target", t) for t in targets]
        env = variables.get("ENV")
        for target in targets:
            if match := TARGET_ENVIRONMENT.search(target):
                env = {"prod": "production"}.get(match.group(1), match.group(1))
        if env is not None:
            self.checked.append(("environment", env))
        if env is not None and env not in ENVIRONMENTS:
            return [*problems, f"ENV={env} is not one of {ENVIRONMENTS}"]
        stages = (
            [self.stages[env]] if env else [s for s in self.stages.values() if not s.name.endswith("-dr")]
        )
        for variable, kind in MAKE_VARIABLES.items():
            if variable in variables and (p := self._lookup(stages, kind, variables[variable])):
                problems.append(p)
        return problems

    def _cdk(self, args: list[str]) -> list[str]:
        selections, skip = [], True  # the first word is the CLI's subcommand
        for word in args:
            if skip:
                skip = False
            elif word in CDK_VALUE_OPTIONS:
                skip = True
            elif not word.startswith("-"):
                selections.append(word)
        paths = {p for s in self.stages.values() for p in s.paths}
        self.checked += [("cdk selection", s) for s in selections]
        return [
            f"{s!r} selects no stack of {sorted(paths)}" for s in selections if not fnmatch.filter(paths, s)
        ]


# --- names in prose and tables ------------------------------------------------------------------

# How the docs' tables write a family of names, and what each stands for.
NAME_PLACEHOLDERS = {
    "{token}": r"(dev|staging|prod)",
    "{service}": r"(bot|ml-service|data-ingestion)",
    "{unit}": r"(network|data|secrets|registry|services|monitoring|alerting|audit|access)",
    "ACCOUNT": r"[0-9]{12}",
    "YYYYMMDD": r"[0-9]{8}",
    "HHMMSS": r"[0-9]{6}",
    "HHMM": r"[0-9]{4}",
    "…": r".+",
}
NAME_SPAN = re.compile(r"`(?:https://)?([^`\s]*clever-better[-/.][^`\s]*)`")


def prose_names(text: str) -> list[str]:
    """Backticked names outside code blocks: `clever-better-prod-{mlflow,backups}-ACCOUNT-us-west-2`."""
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    return [re.sub(r"(\.com)/.*", r"\1", name) for name in NAME_SPAN.findall(prose)]  # a URL's host


def _alternatives(name: str) -> list[str]:
    """`a-{x,y}-b` -> [`a-x-b`, `a-y-b`]: every alternative a table lists must exist."""
    match = re.search(r"\{([^{}]*,[^{}]*)\}", name)
    if not match:
        return [name]
    return [
        expanded
        for choice in match.group(1).split(",")
        for expanded in _alternatives(name[: match.start()] + choice + name[match.end() :])
    ]


def _example(suffix: str) -> str:
    """A derived name's regex suffix as one name: `-manual-[0-9]{8}` -> `-manual-00000000`."""
    suffix = re.sub(r"\(.*?\)\?", "", suffix)
    return re.sub(r"\[0-9\]\{(\d+)\}", lambda m: "0" * int(m.group(1)), suffix)


# --- the tests ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checker(
    templates: dict[str, Any], assembly_dir: Path, zoned_synth: tuple[list[str], dict[str, Any]]
) -> Checker:
    stages = index(templates, assembly_dir)
    # What production's services stacks add with a hosted zone (the failover records' checks).
    zoned = zoned_synth[1]
    _collect(stages["production"], zoned["clever-better-prod-services"])
    _collect(stages["production-dr"], zoned["clever-better-prod-dr-services"])
    return Checker(stages, _make_targets())


def test_the_index_holds_each_environments_names(checker: Checker) -> None:
    stages = checker.stages
    assert sorted(stages) == ["dev", "production", "production-dr", "staging"]
    assert stages["production-dr"].region == "us-west-2"
    assert "clever-better-prod" in stages["production"].names["cluster"]
    assert "clever-better-prod" not in stages["staging"].names["cluster"]
    # The pilot light: the primary's cluster name in the DR region.
    assert stages["production-dr"].names["cluster"] == {"clever-better-prod"}
    assert "clever-better-prod-dr" in stages["production-dr"].names["vault"]
    assert "clever-better-prod" in stages["production-dr"].names["automated backup"]


@pytest.mark.parametrize("doc", DOCS)
def test_every_command_names_what_its_environment_defines(checker: Checker, doc: str) -> None:
    text = (ROOT / doc).read_text()
    found = commands(text, doc)
    checker.checked.clear()
    problems = checker.problems(text, doc)
    # Literal floors: a parser that silently stops finding commands or names fails here.
    minimum = {"docs/RUNBOOK.md": (150, 180), "README.md": (60, 70)}[doc]
    assert len(found) >= minimum[0], len(found)
    assert len(checker.checked) >= minimum[1], checker.checked
    assert problems == []


def test_the_docs_exercise_every_kind_of_lookup(checker: Checker) -> None:
    checker.checked.clear()
    for doc in DOCS:
        checker.problems((ROOT / doc).read_text(), doc)
    kinds = {kind for kind, _ in checker.checked}
    assert kinds >= {
        "cluster", "service", "log group", "secret", "db instance", "automated backup", "db snapshot",
        "restored db instance", "bucket", "vault", "stack", "tag", "cdk selection", "repository",
        "parameter", "alarm", "domain", "db proxy",
    }, sorted(kinds)  # fmt: skip


MUTATIONS = {
    # a wrong name
    "aws ecs list-tasks --cluster clever-better-prd": "'clever-better-prd' is not a cluster",
    # right name, wrong environment of the command
    "aws ecs list-services --cluster clever-better-staging --region us-west-2": (
        "no staging stacks in us-west-2"
    ),
    # right name, wrong region: the drift check is the monitoring stack's, in the primary only
    "aws logs tail /aws/lambda/clever-better-prod-drift-check --region us-west-2": (
        "is not a log group of production-dr (us-west-2)"
    ),
    # the DR vault without its region
    "aws backup list-recovery-points-by-backup-vault --backup-vault-name clever-better-prod-dr": (
        "'clever-better-prod-dr' is not a vault of production (us-east-1)"
    ),
    "aws logs tail /ecs/clever-better-prod/bots --since 1h": "is not a log group",
    "aws secretsmanager get-secret-value --secret-id clever-better/production/config": "is not a secret",
    "aws s3 ls s3://clever-better-prod-mlflow-$ACCOUNT-us-west-1/models": "is not a bucket",
    "aws s3 ls s3://clever-better-prod-mlflow-$ACCT-us-east-1/": "placeholder '$ACCT' is not allowed",
    "aws ssm get-parameter --name /clever-better/dev/deploy/bot/approved-revision": "is not a parameter",
    "aws rds describe-db-snapshots --db-instance-identifier <instance>": "placeholder '<instance>'",
    "aws cloudformation describe-stacks --stack-name clever-better-prod-dr-secrets --region us-west-2": (
        "is not a stack"
    ),
    "aws ecr describe-images --repository-name bots": "is not a repository",
    "aws cloudwatch get-dashboard --dashboard-name clever-better-prod-trading": "is not a dashboard",
    "aws ec2 describe-vpcs --filters Name=tag:Name,Values=clever-better-qa": "tagged Name=clever-better-qa",
    "aws rds describe-db-instances --db-instance-identifier clever-better-dev --region us-west-2": (
        "no dev stacks in us-west-2"
    ),
    "make rollback ENV=production SERVICE=ml": "'ml' is not a service",
    "make db-restore ENV=production SNAPSHOT=clever-better-prod-snapshot-20260101": "is not a db snapshot",
    "make deploy-prod": "no make target 'deploy-prod'",
    "make deploy-status ENV=prod": "ENV=prod is not one of",
    "cdk deploy 'prod/*'": "selects no stack",
}


@pytest.mark.parametrize("doc", DOCS)
def test_every_name_in_prose_and_tables_exists(checker: Checker, doc: str) -> None:
    text = (ROOT / doc).read_text()
    checker.checked.clear()
    problems = checker.name_problems(text, doc)
    minimum = {"docs/RUNBOOK.md": 140, "README.md": 10}[doc]
    assert len(checker.checked) >= minimum, len(checker.checked)
    assert problems == []


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("clever-better-prod-{mlflow,backup}-ACCOUNT-us-east-1", "is named 'clever-better-prod-backup-"),
        ("clever-better-{tokn}-data", "placeholder '{tokn}'"),
        ("/ecs/clever-better-prod/{service}s", "no resource of any environment"),
        ("clever-better-prod-dr-access", "no resource of any environment"),
    ],
)
def test_the_name_check_fails_a_wrong_name(checker: Checker, name: str, problem: str) -> None:
    problems = checker.name_problems(f"| buckets | `{name}` |", "crafted")
    assert len(problems) == 1 and problem in problems[0], problems


@pytest.mark.parametrize("line", MUTATIONS)
def test_the_checker_fails_a_wrong_name(checker: Checker, line: str) -> None:
    crafted = f"# Runbook\n\n```bash\n{line}\n```\n"
    problems = checker.problems(crafted, "crafted")
    assert len(problems) == 1, problems
    assert MUTATIONS[line] in problems[0]


def test_the_checker_passes_the_same_commands_named_right(checker: Checker) -> None:
    crafted = "\n".join(
        [
            "```bash",
            "aws ecs list-tasks --cluster clever-better-prod",
            "VAULT=clever-better-prod-dr",
            "aws backup list-recovery-points-by-backup-vault --backup-vault-name $VAULT --region us-west-2",
            "ACCOUNT=$(aws sts get-caller-identity --query Account --output text)",
            "aws s3 ls s3://clever-better-prod-mlflow-$ACCOUNT-us-west-2/models \\",
            "  --region us-west-2   # the replica",
            "make rollback ENV=production SERVICE=ml-service",
            "make db-restore ENV=staging SNAPSHOT=clever-better-staging-manual-20260101",
            "cdk deploy 'production-dr/*'",
            "```",
            "Inline: `aws ecs describe-services --cluster clever-better-dev --services bot,data-ingestion`.",
        ]
    )
    assert len(commands(crafted)) == 8
    assert checker.problems(crafted) == []
