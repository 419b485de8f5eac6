"""`make dr-drill`: production's failover and failback rehearsed end to end against the emulator.

    python tools/dr_drill.py [--dry-run]

The emulator `make deploy-local` runs holds dev, which has no DR region, so the drill builds
production's shape in its own process (emulator/drill.py: moto with the emulator's models).
The network is simulated: the primary's /health does not answer and the DR load balancer's
does. Then `make dr-failover CONFIRM=yes` runs as an operator runs it; us-east-1 comes back
(its services on the stale instance, its proxy, load balancer and data key); and `make
dr-failback CONFIRM=yes` brings the data home. Each phase is printed, and the end state is
checked after each procedure. With --dry-run (DRY_RUN=1) it plans the failover only: nothing is
failed over, so there is nothing to fail back.

It proves the procedure (its calls, their order, its checks, its resumable steps), not its
speed: waits end at once here. docs/RUNBOOK.md says how to time a real drill.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.drill import (  # noqa: E402
    CLUSTER,
    DR,
    PRIMARY,
    PRIMARY_COUNTS,
    Clock,
    build,
    client,
    primary_returns,
    replicate,
)


def health_alarms() -> tuple[str, ...]:
    """The DR monitoring stack's alarms that wait disarmed for a failover."""
    from config.alarms import dr_disarmed_alarms
    from config.environments import load

    (production,) = load(("production",))
    return dr_disarmed_alarms(production)


@contextmanager
def simulated_network(*, primary: str | None, dr: str | None) -> Iterator[None]:
    """ops.dr's two network probes answer as given (None: healthy; a string: the failure)."""
    import ops.dr

    saved = ops.dr.primary_health, ops.dr.probe_via
    ops.dr.primary_health = lambda url, check, timeout: primary
    ops.dr.probe_via = lambda address, domain, check, timeout: dr
    try:
        yield
    finally:
        ops.dr.primary_health, ops.dr.probe_via = saved


@contextmanager
def _offline() -> Iterator[None]:
    """Dummy credentials, and no profile or endpoint that could lead boto3 to an account."""
    saved = dict(os.environ)
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(key, None)
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _end_state(world: dict[str, Any], alarms: Sequence[str], *, failed_back: bool) -> list[str]:
    """What must hold once the drill is over; each miss as one line."""
    problems = []
    dr_counts = {
        s["serviceName"]: s["desiredCount"]
        for s in client("ecs", DR).describe_services(cluster=CLUSTER, services=list(PRIMARY_COUNTS))[
            "services"
        ]
    }
    armed = {
        a["AlarmName"]: a["ActionsEnabled"]
        for a in client("cloudwatch", DR).describe_alarms(AlarmNames=list(alarms))["MetricAlarms"]
    }
    dark = dict.fromkeys(PRIMARY_COUNTS, 0)
    if dr_counts != (dark if failed_back else PRIMARY_COUNTS):
        problems.append(f"us-west-2's services run {dr_counts}")
    if set(armed.values()) != {not failed_back}:
        problems.append(f"us-west-2's health alarms armed: {armed}")
    if failed_back:
        home = {i["DBInstanceIdentifier"]: i for i in world["primary"].describe_db_instances()["DBInstances"]}
        tags = {t["Key"]: t["Value"] for t in home.get(CLUSTER, {}).get("TagList", [])}
        if tags.get("Purpose") != "dr-failback" or f"{CLUSTER}-old" not in home:
            problems.append(f"us-east-1's {CLUSTER} is not the DR region's data")
    return problems


def _holds(world: dict[str, Any], alarms: Sequence[str], *, failed_back: bool) -> bool:
    problems = _end_state(world, alarms, failed_back=failed_back)
    if problems:
        after = "failback" if failed_back else "failover"
        print(f"error: the drill's {after} ended wrong: {'; '.join(problems)}", file=sys.stderr)
    return not problems


def drill(*, dry_run: bool = False, out: Callable[[str], None] = print) -> int:
    """Every phase in turn; 0 when the failover (and the failback) completed and the end state
    holds, else 1 after the failing command's own one-line error."""
    from moto import mock_aws

    from emulator.adapter import install
    from ops.cli import main

    clock = Clock()
    mode = ["--dry-run"] if dry_run else []

    def command(name: str) -> int:
        out(f"$ make {name}{'' if dry_run else ' CONFIRM=yes'}")
        return main([name, "--env", "production", *mode], sleep=clock.sleep, now=clock.now)

    phases = 2 if dry_run else 4
    with _offline(), mock_aws():
        install()
        out(
            f"drill 1/{phases}: production in the emulator: {CLUSTER} in {PRIMARY} replicating its "
            f"automated backups to {DR}; the pilot light dark (0 tasks, health alarms disarmed)"
        )
        alarms = health_alarms()  # once: each configuration load validates every environment
        world = build(health_alarms=alarms)
        replicate(world)
        out(
            f"drill 2/{phases}: {PRIMARY} goes dark (simulated: its /health stops answering, the DR load "
            "balancer's answers); fail over"
        )
        with simulated_network(primary="GET /health: ConnectionRefusedError (simulated)", dr=None):
            if command("dr-failover") != 0:
                return 1
        if not dry_run and not _holds(world, alarms, failed_back=False):
            return 1
        if dry_run:
            out("drill planned: nothing was failed over (dry run), so there is nothing to fail back")
            return 0
        out(f"drill 3/{phases}: {PRIMARY} comes back (its services on the stale instance); fail back")
        primary_returns(world)
        with simulated_network(primary=None, dr=None):
            if command("dr-failback") != 0:
                return 1
        out(f"drill 4/{phases}: the end state")
        if not _holds(world, alarms, failed_back=True):
            return 1
        out(
            f"drill complete: the data went to {DR} and back home to {PRIMARY} ({CLUSTER}, the stale "
            f"instance kept as {CLUSTER}-old); the pilot light dark again. The emulator's times are not "
            "AWS's: time a real drill as docs/RUNBOOK.md says"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python tools/dr_drill.py", description=__doc__.split("\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="plan the failover only")
    args = parser.parse_args(argv)
    sys.exit(drill(dry_run=args.dry_run))


if __name__ == "__main__":
    main()
