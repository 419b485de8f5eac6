"""What each service is: its port, how it is reached, how it rolls out, what it may read.

Pure Python (no aws-cdk import): the services construct builds from it, and `python -m ops`
reads the same list of blue/green services.

The image contract (README "Images"): listen on ``port`` and answer ``GET /health`` with 200
and a body containing "ok"; run as uid 1000; write only under /tmp; ship `curl` for the
container health check and `chown` on the PATH (the task's init container runs
`chown 1000:1000 /tmp` with the same image before the app starts: Fargate creates the /tmp
bind mount owned by root); data-ingestion touches /tmp/heartbeat at least once a minute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

from config.model import SERVICES

USER = "1000:1000"


class Exposure(Enum):
    PUBLIC = "public"  # behind the internet-facing ALB (api.clever-better.com)
    INTERNAL = "internal"  # behind an internal ALB, reachable from the bot only
    NONE = "none"  # a worker: no inbound traffic


class Rollout(Enum):
    BLUE_GREEN = "blue/green"  # ECS-native blue/green behind its load balancer, with the hook
    ROLLING = "rolling"  # replace tasks in place; the circuit breaker rolls back


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int | None
    exposure: Exposure
    # Which application secrets the container receives (besides config and database user).
    betfair: bool
    # Data buckets the task role may read and write (DataBuckets purposes); each also
    # reaches the container as {PURPOSE}_BUCKET.
    buckets: tuple[str, ...]
    rollout: Rollout
    # Services it calls through their load balancer; each reaches it as {SERVICE}_URL.
    calls: tuple[str, ...] = ()
    # Places bets, so reads the trading-halt parameter (docs/METRICS.md) as TRADING_HALT_PARAMETER.
    trades: bool = False

    def __post_init__(self) -> None:
        # Blue/green needs a load balancer to move traffic between colours.
        if (self.rollout is Rollout.BLUE_GREEN) != (self.exposure is not Exposure.NONE):
            raise ValueError(f"{self.name}: blue/green exactly when the service is load-balanced")
        if (self.port is None) != (self.exposure is Exposure.NONE):
            raise ValueError(f"{self.name}: a port exactly when the service takes traffic")

    @property
    def blue_green(self) -> bool:
        return self.rollout is Rollout.BLUE_GREEN

    @property
    def listen_port(self) -> int:
        """The port a load-balanced service listens on."""
        if self.port is None:
            raise ValueError(f"{self.name} takes no traffic")
        return self.port

    @property
    def health_command(self) -> list[str]:
        if self.port is not None:
            return ["CMD-SHELL", f"curl -fsS --max-time 3 http://127.0.0.1:{self.port}/health || exit 1"]
        # A worker proves progress: its heartbeat file is at most two minutes old.
        return ["CMD-SHELL", "test $(( $(date +%s) - $(stat -c %Y /tmp/heartbeat) )) -lt 120"]


SPECS: Mapping[str, ServiceSpec] = MappingProxyType(
    {
        "bot": ServiceSpec(
            name="bot",
            port=8080,
            exposure=Exposure.PUBLIC,
            betfair=True,
            buckets=(),
            rollout=Rollout.BLUE_GREEN,
            calls=("ml-service",),
            trades=True,
        ),
        "ml-service": ServiceSpec(
            name="ml-service",
            port=8000,
            exposure=Exposure.INTERNAL,
            betfair=False,
            buckets=("mlflow",),
            rollout=Rollout.BLUE_GREEN,
        ),
        "data-ingestion": ServiceSpec(
            name="data-ingestion",
            port=None,
            exposure=Exposure.NONE,
            betfair=True,
            buckets=(),
            rollout=Rollout.ROLLING,
        ),
    }
)
assert tuple(SPECS) == SERVICES
assert all(SPECS[called].port for spec in SPECS.values() for called in spec.calls)
# The services `make approve` and the deployment hooks deal with, in runbook order.
BLUE_GREEN_SERVICES = tuple(name for name, spec in SPECS.items() if spec.blue_green)


def behind(exposure: Exposure) -> ServiceSpec:
    """The one service the load balancer of `exposure` (public or internal) fronts."""
    (spec,) = (spec for spec in SPECS.values() if spec.exposure is exposure)
    return spec


for _exposure in (Exposure.PUBLIC, Exposure.INTERNAL):
    # One load balancer per exposure fronts exactly one service.
    if sum(spec.exposure is _exposure for spec in SPECS.values()) != 1:
        raise ValueError(f"exactly one service must be {_exposure.value}")
