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
* the alarm router (issue 14; targets: cold import < 80 ms, >= 2,000 events/s, package < 100 KB):
  its deployment package size, and events per second through `handle` in-process, each a P2
  alarm posted to Slack at a local HTTP stub (one request per event), with an in-memory
  idempotency store: our code plus urllib and a loopback socket, not DynamoDB or Slack
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
    if "alarm_router" in lambdas:
        size = sum(p.stat().st_size for p in (ROOT / "lambdas" / "alarm_router").rglob("*.py"))
        print(f"{'alarm_router package':<28} {size / 1024:7.1f} KB (target < 100 KB)")
        rates = [_router_rate() for _ in range(RUNS)]
        print(
            f"{'alarm_router throughput':<28} median {statistics.median(rates):7.0f} events/s (stub)"
            f"   runs: {', '.join(f'{r:.0f}' for r in rates)} (target >= 2000)"
        )
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


def _router_rate(events: int = 2000) -> float:
    """Alarm messages routed per second: SQS batches of ten, Slack at a loopback stub."""
    import multiprocessing
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    sys.path.insert(0, str(ROOT))
    from lambdas.alarm_router import handler as router

    class Slack(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            return None

    class Memory:
        def __init__(self) -> None:
            self.keys: set[str] = set()

        def done(self, key: str) -> bool:
            return key in self.keys

        def mark(self, key: str) -> None:
            self.keys.add(key)

    # The stub answers from its own process, so its threads do not share the router's GIL.
    server = ThreadingHTTPServer(("127.0.0.1", 0), Slack)
    stub = multiprocessing.get_context("fork").Process(target=server.serve_forever, daemon=True)
    stub.start()
    router.logger.disabled = True  # a log line per delivery would measure the terminal
    try:
        webhook = f"http://127.0.0.1:{server.server_address[1]}/slack"
        settings = router.Settings(secret_id="bench", pager="pagerduty", pages=True, table="bench")
        keys = {"slack_webhooks": {"P2": webhook}}
        message = json.dumps(
            {
                "AlarmName": "clever-better-prod-cache-hit-ratio-P2",
                "AlarmDescription": "P2 Cache hit ratio below 50%",
                "AWSAccountId": "123456789012",
                "NewStateValue": "ALARM",
                "NewStateReason": "Threshold Crossed",
                "StateChangeTime": "2026-12-02T03:15:42.123+0000",
                "Region": "US East (N. Virginia)",
                "AlarmArn": (
                    "arn:aws:cloudwatch:us-east-1:123456789012:alarm:clever-better-prod-cache-hit-ratio-P2"
                ),
            }
        )
        batches = [
            {
                "Records": [
                    {
                        "messageId": f"m{b}-{i}",
                        "body": json.dumps(
                            {
                                "Type": "Notification",
                                "MessageId": f"sns-{b}-{i}",
                                "TopicArn": "arn:aws:sns:us-east-1:123456789012:clever-better-prod-p2",
                                "Message": message,
                            }
                        ),
                    }
                    for i in range(10)
                ]
            }
            for b in range(events // 10)
        ]
        store = Memory()
        start = time.perf_counter()
        for batch in batches:
            result = router.handle(
                batch, settings=settings, keys=keys, store=store, deadline=time.monotonic() + 60
            )
            assert not result["batchItemFailures"], result
        elapsed = time.perf_counter() - start
        assert len(store.keys) == events
        return events / elapsed
    finally:
        router.logger.disabled = False
        stub.terminate()
        stub.join()
        server.server_close()


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
