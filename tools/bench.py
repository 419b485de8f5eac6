"""`make bench`: medians of 3 runs, measured in one go on this machine.

* app synth: `app.py` as the CDK CLI runs it (context from cdk.json, all environments, cdk-nag on)
* empty-app synth: the jsii start-up floor on the same machine
* test suite: wall time of the whole pytest run (unit + local-emulator integration)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 3
EMPTY_APP = "import aws_cdk as cdk; cdk.App().synth()"


def _env(outdir: str) -> dict[str, str]:
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    return {
        **os.environ,
        "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}",
        "CDK_OUTDIR": outdir,
        "CDK_CONTEXT_JSON": json.dumps(context),
    }


def _time(command: Sequence[str], *, synth: bool = False) -> float:
    with tempfile.TemporaryDirectory() as outdir:
        env = _env(outdir) if synth else {**os.environ}
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - start


def _median(label: str, command: Sequence[str], **kwargs: bool) -> float:
    samples = [_time(command, **kwargs) for _ in range(RUNS)]
    median = statistics.median(samples)
    print(f"{label:<28} median {median:7.2f} s   runs: {', '.join(f'{s:.2f}' for s in samples)}", flush=True)
    return median


def main() -> None:
    print(f"bench: {RUNS} runs each, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    app = _median("app synth (all envs)", [sys.executable, "app.py"], synth=True)
    empty = _median("empty app synth (floor)", [sys.executable, "-c", EMPTY_APP], synth=True)
    print(f"{'app / floor ratio':<28} {app / empty:7.2f}x")
    _median("test suite (make test body)", [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"])
    lambdas = sorted(p.name for p in (ROOT / "lambdas").iterdir() if (p / "handler.py").exists())
    if not lambdas:
        print("lambda cold import / throughput: no Lambdas yet (lambdas/ is empty)")


if __name__ == "__main__":
    main()
