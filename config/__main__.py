"""`python -m config --env production --image-tag v1.4.2`: validate before anything is deployed.

The Makefile's deploy targets run this first, so a bad environment or image tag is one clear
line and nothing (not even the pre-deployment snapshot) has happened yet.
"""

from __future__ import annotations

import argparse
import sys

from config.environments import load
from config.model import ConfigError


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m config", description=__doc__.split("\n")[0])
    parser.add_argument("--env", required=True)
    parser.add_argument("--image-tag")
    args = parser.parse_args()
    try:
        (cfg,) = load((args.env,), image_tag=args.image_tag or None)
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 1
    print(f"{cfg.name}: configuration valid; image tag {cfg.deployment.image_tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
