"""The smoke check: one GET against a base URL, judged by status and body.

The deployment hook runs it against the green tasks (through the test listener) and
`make smoke-test-*` (ops/smoke.py) against the live endpoint, so both hold a release to the
same checks. It lives in the hook's asset folder so the Lambda ships it; standard library only.
"""

from __future__ import annotations

import http.client
import urllib.parse
from typing import Protocol

# Enough of a health body to find the expected substring; more is not read.
MAX_BODY = 65536


class CheckLike(Protocol):
    """A smoke check: the hook's Check, or config.model.SmokeCheck (`make smoke-test`)."""

    @property
    def path(self) -> str: ...
    @property
    def status(self) -> int: ...
    @property
    def body_contains(self) -> str | None: ...


def probe(
    base_url: str, check: CheckLike, timeout: float, *, user_agent: str = "clever-better-deployment-hook"
) -> str | None:
    """GET `base_url + check.path` within `timeout` seconds.

    Returns None when the answer has `check.status` and, if set, a body containing
    `check.body_contains`; otherwise one line saying why not (no answer, a connection error,
    the wrong status, the missing substring). Never raises for network failures.
    """
    url = urllib.parse.urlsplit(base_url + check.path)
    connection_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(url.hostname or "", url.port, timeout=timeout)
    target = url.path + (f"?{url.query}" if url.query else "")
    try:
        connection.request("GET", target, headers={"User-Agent": user_agent})
        response = connection.getresponse()
        body = response.read(MAX_BODY).decode("utf-8", errors="replace")
    except TimeoutError:  # socket.timeout is an alias of it
        return f"GET {check.path}: no answer within {timeout:g}s"
    except (OSError, http.client.HTTPException) as error:
        return f"GET {check.path}: {type(error).__name__}: {error}"
    finally:
        connection.close()
    if response.status != check.status:
        return f"GET {check.path}: status {response.status}, expected {check.status}"
    if check.body_contains is not None and check.body_contains not in body:
        return f"GET {check.path}: body lacks {check.body_contains!r}"
    return None
