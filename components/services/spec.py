"""What each service is: its port, how it is reached, what it may read.

The image contract (README "Images"): listen on ``port`` and answer ``GET /health`` with 200
and a body containing "ok"; run as uid 1000; write only under /tmp; ship `curl` for the
container health check; data-ingestion touches /tmp/heartbeat at least once a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from config.model import SERVICES

USER = "1000:1000"


class Exposure(Enum):
    PUBLIC = "public"  # behind the internet-facing ALB (api.clever-better.com)
    INTERNAL = "internal"  # behind an internal ALB, reachable from the bot only
    NONE = "none"  # a worker: no inbound traffic


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int | None
    exposure: Exposure
    # Which application secrets the container receives (besides config and database user).
    betfair: bool
    # Data buckets the task role may read and write (DataBuckets purposes).
    buckets: tuple[str, ...]

    @property
    def health_command(self) -> list[str]:
        if self.port is not None:
            return ["CMD-SHELL", f"curl -fsS --max-time 3 http://127.0.0.1:{self.port}/health || exit 1"]
        # A worker proves progress: its heartbeat file is at most two minutes old.
        return ["CMD-SHELL", "test $(( $(date +%s) - $(stat -c %Y /tmp/heartbeat) )) -lt 120"]


SPECS: dict[str, ServiceSpec] = {
    "bot": ServiceSpec(name="bot", port=8080, exposure=Exposure.PUBLIC, betfair=True, buckets=()),
    "ml-service": ServiceSpec(
        name="ml-service", port=8000, exposure=Exposure.INTERNAL, betfair=False, buckets=("mlflow",)
    ),
    "data-ingestion": ServiceSpec(
        name="data-ingestion", port=None, exposure=Exposure.NONE, betfair=True, buckets=()
    ),
}
assert tuple(SPECS) == SERVICES
