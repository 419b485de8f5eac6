"""The smoke check: one GET against a base URL, judged by status and body.

The deployment hook runs it against the green tasks (through the test listener) and
`make smoke-test-*` (ops/smoke.py) against the live endpoint, so both hold a release to the
same checks. It lives in the hook's asset folder so the Lambda ships it; standard library only.
"""

from __future__ import annotations

import http.client
import ssl
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
    base_url: str,
    check: CheckLike,
    timeout: float,
    *,
    user_agent: str = "clever-better-deployment-hook",
    address: str | None = None,
) -> str | None:
    """GET `base_url + check.path` within `timeout` seconds.

    Returns None when the answer has `check.status` and, if set, a body containing
    `check.body_contains`; otherwise one line saying why not (no answer, a connection error,
    the wrong status, the missing substring). Never raises for network failures.

    `address`: connect there instead (an https URL's certificate is still checked for its own
    host, which is also the Host header): a load balancer before DNS points at it.
    """
    url = urllib.parse.urlsplit(base_url + check.path)
    host = url.hostname or ""
    label = f"GET {check.path}" + (f" via {address}" if address else "")
    connection: http.client.HTTPConnection
    if url.scheme == "https" and address:
        connection = _HTTPSVia(address, url.port, timeout=timeout, server_name=host)
    elif url.scheme == "https":
        connection = http.client.HTTPSConnection(host, url.port, timeout=timeout)
    else:
        connection = http.client.HTTPConnection(address or host, url.port, timeout=timeout)
    target = url.path + (f"?{url.query}" if url.query else "")
    try:
        # Connecting to `address`, the request still names the URL's host.
        headers = {"User-Agent": user_agent} | ({"Host": url.netloc} if address else {})
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
        body = response.read(MAX_BODY).decode("utf-8", errors="replace")
    except TimeoutError:  # socket.timeout is an alias of it
        return f"{label}: no answer within {timeout:g}s"
    except (OSError, http.client.HTTPException) as error:
        return f"{label}: {type(error).__name__}: {error}"
    finally:
        connection.close()
    if response.status != check.status:
        return f"{label}: status {response.status}, expected {check.status}"
    if check.body_contains is not None and check.body_contains not in body:
        return f"{label}: body lacks {check.body_contains!r}"
    return None


class _HTTPSVia(http.client.HTTPSConnection):
    """TLS to one address, with the certificate verified for another name."""

    def __init__(self, address: str, port: int | None, *, timeout: float, server_name: str) -> None:
        super().__init__(address, port, timeout=timeout)
        self.server_name = server_name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = ssl.create_default_context().wrap_socket(self.sock, server_hostname=self.server_name)
