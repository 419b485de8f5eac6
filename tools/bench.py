"""`make bench`: medians of 3 runs, measured in one go on this machine.

* app synth: `app.py` as the CDK CLI runs it (context from cdk.json, all environments, cdk-nag on)
* empty-app synth: the jsii start-up floor on the same machine
* per-environment synth: `-c environments=ENV`, what `make deploy-ENV`/`diff-ENV` synthesize
* `make diff` on an unchanged tree: with the base synthesized (two synths side by side) and
  with the base from the cache (one synth)
* test suite: wall time of the whole pytest run (unit + local-emulator integration)
* each Lambda: cold import time (a fresh interpreter importing the handler, minus the
  interpreter's own start-up) and handler throughput (full four-step rotations per second
  against in-process moto, so it measures our code plus moto, not AWS)
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUNS = 3
EMPTY_APP = "import aws_cdk as cdk; cdk.App().synth()"


def _env(outdir: str, **extra: str) -> dict[str, str]:
    """What `cdk synth` runs app.py with (tools/assembly.py), plus `extra` context."""
    sys.path.insert(0, str(ROOT))
    from tools.assembly import synth_command

    return synth_command(ROOT, Path(outdir), extra)[1]


def _time(
    command: Sequence[str],
    *,
    synth: bool = False,
    environments: str = "",
    before: Callable[[], None] | None = None,
) -> float:
    """Wall time of one run of `command` from the project root."""
    with tempfile.TemporaryDirectory() as outdir:
        extra = {"environments": environments} if environments else {}
        env = _env(outdir, **extra) if synth else {**os.environ}
        if before is not None:
            before()
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - start


def _median(label: str, command: Sequence[str], **kwargs: Any) -> float:
    samples = [_time(command, **kwargs) for _ in range(RUNS)]
    median = statistics.median(samples)
    print(f"{label:<28} median {median:7.2f} s   runs: {', '.join(f'{s:.2f}' for s in samples)}", flush=True)
    return median


def main() -> None:
    print(f"bench: {RUNS} runs each, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    app = _median("app synth (all envs)", [sys.executable, "app.py"], synth=True)
    empty = _median("empty app synth (floor)", [sys.executable, "-c", EMPTY_APP], synth=True)
    print(f"{'app / floor ratio':<28} {app / empty:7.2f}x")
    for name in ("dev", "production"):
        one = _median(
            f"{name} synth (-c environments)", [sys.executable, "app.py"], synth=True, environments=name
        )
        print(f"{name + ' / floor ratio':<28} {one / empty:7.2f}x")
    diff = [sys.executable, "tools/synth_diff.py", "--base", "HEAD", "--report", os.devnull]
    _median("make diff, base synthesized", diff, before=_forget_head)
    _median("make diff, base cached", diff)
    _median("test suite (make test body)", [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"])
    lambdas = sorted(p.name for p in (ROOT / "lambdas").iterdir() if (p / "handler.py").exists())
    bare = _median("python start-up (floor)", [sys.executable, "-c", "pass"])
    for name in lambdas:
        cold = _median(f"{name} cold import", [sys.executable, "-c", f"import lambdas.{name}.handler"])
        print(f"{name + ' import only':<28} {cold - bare:7.2f} s")
    if "betfair_rotation" in lambdas:
        rates = [_rotation_rate() for _ in range(RUNS)]
        print(
            f"{'betfair_rotation throughput':<28} median {statistics.median(rates):7.1f} rotations/s (moto)"
            f"   runs: {', '.join(f'{r:.1f}' for r in rates)}"
        )


def _forget_head() -> None:
    """Drop HEAD's cached synthesis, so `make diff` synthesizes the base again."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
    for cached in (ROOT / ".cache" / "synth").glob(f"{head.stdout.strip()}-*"):
        shutil.rmtree(cached)


def _rotation_rate(rotations: int = 30) -> float:
    """Full createSecret..finishSecret rotations per second against in-process moto."""
    sys.path.insert(0, str(ROOT))
    import boto3
    from moto import mock_aws

    from lambdas.betfair_rotation import handler

    os.environ.update(
        AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench"
    )
    os.environ.pop("REMINDER_TOPIC_ARN", None)
    os.environ.pop("BETFAIR_LOGIN_URL", None)
    with mock_aws():
        sm = boto3.client("secretsmanager")
        arn = sm.create_secret(Name="bench", SecretString=json.dumps({"app_key": "k0"}))["ARN"]
        from moto.secretsmanager.models import FakeSecret, secretsmanager_backends

        secret = secretsmanager_backends["123456789012"]["us-east-1"].secrets[arn]
        assert isinstance(secret, FakeSecret)
        secret.rotation_enabled = secret.rotation_requested = True
        start = time.perf_counter()
        for i in range(1, rotations + 1):
            value = {"app_key": f"k{i}", "username": "u", "password": "p"}
            sm.put_secret_value(
                SecretId="bench", SecretString=json.dumps(value), VersionStages=[handler.OPERATOR_STAGE]
            )
            token = f"{i:08d}-0000-0000-0000-000000000000"
            for step in handler.STEPS:
                handler.handler({"SecretId": "bench", "ClientRequestToken": token, "Step": step})
        return rotations / (time.perf_counter() - start)


if __name__ == "__main__":
    main()
