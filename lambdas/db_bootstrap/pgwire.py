"""The little of PostgreSQL's wire protocol (v3) the bootstrap needs, on the standard library.

A Lambda asset is its own folder with no third-party packages (no bundling step), so this
speaks the protocol itself: TLS (`sslmode=require`), SCRAM-SHA-256 or trust authentication,
simple queries whose results come back as text. Nothing else: no parameters, no COPY, no
cancellation. `scram_verifier` makes the stored form of a password, so `CREATE ROLE ...
PASSWORD` never sends the password itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import socket
import ssl
import struct
from collections.abc import Sequence

PROTOCOL_VERSION = 196608  # 3.0
SSL_REQUEST = 80877103
SCRAM = "SCRAM-SHA-256"
SCRAM_ITERATIONS = 4096  # PostgreSQL's own default (scram_iterations)
Row = tuple[str | None, ...]


class PostgresError(Exception):
    """An ErrorResponse: ``code`` is the SQLSTATE (28P01: wrong password)."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.code = fields.get("C", "")
        self.message = fields.get("M", "")
        super().__init__(f"{fields.get('S', 'ERROR')} {self.code}: {self.message}")


class ProtocolError(Exception):
    """The server said something this client does not speak."""


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def _salted(password: str, salt: bytes, iterations: int) -> bytes:
    # SASLprep is skipped: our generated passwords are printable ASCII, which it leaves as is.
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, as PostgreSQL stores it."""
    salt = salt if salt is not None else os.urandom(16)
    salted = _salted(password, salt, iterations)
    stored_key = hashlib.sha256(_hmac(salted, b"Client Key")).digest()
    server_key = _hmac(salted, b"Server Key")
    return f"{SCRAM}${iterations}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"


class Connection:
    """One session: `query` runs a simple query and returns its rows as text."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    @classmethod
    def open(
        cls,
        *,
        host: str,
        port: int,
        user: str,
        password: str,
        database: str,
        tls: bool,
        timeout: float = 10.0,
    ) -> Connection:
        """Connect and authenticate. A `host` starting with `/` is a Unix-socket directory."""
        sock: socket.socket
        if host.startswith("/"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(f"{host}/.s.PGSQL.{port}")
        else:
            sock = socket.create_connection((host, port), timeout=timeout)
        try:
            if tls:
                sock = _start_tls(sock, host)
            connection = cls(sock)
            connection._startup(user=user, password=password, database=database)
        except BaseException:
            sock.close()
            raise
        return connection

    def query(self, sql: str) -> list[Row]:
        """Run `sql` (one or more statements, autocommit); the last statement's rows."""
        self._send(b"Q", sql.encode() + b"\0")
        rows: list[Row] = []
        error: PostgresError | None = None
        while True:
            kind, body = self._receive()
            if kind == b"T":
                rows = []
            elif kind == b"D":
                rows.append(_data_row(body))
            elif kind == b"E":
                error = PostgresError(_fields(body))
            elif kind == b"Z":
                if error is not None:
                    raise error
                return rows
            # C (complete), I (empty), N (notice), S (parameter status): nothing to keep.

    def close(self) -> None:
        try:
            self._send(b"X", b"")
        except OSError:
            pass  # already gone: closing is all that is left to do
        finally:
            self._sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _startup(self, *, user: str, password: str, database: str) -> None:
        params = {"user": user, "database": database, "application_name": "clever-better-db-bootstrap"}
        body = b"".join(f"{k}\0{v}\0".encode() for k, v in params.items()) + b"\0"
        self._sock.sendall(struct.pack("!ii", len(body) + 8, PROTOCOL_VERSION) + body)
        scram: _Scram | None = None
        while True:
            kind, body = self._receive()
            if kind == b"E":
                raise PostgresError(_fields(body))
            if kind == b"Z":
                return
            if kind != b"R":
                continue  # S (parameter status), K (cancel key), N (notice)
            (code,) = struct.unpack("!i", body[:4])
            if code == 0:  # AuthenticationOk
                continue
            if code == 10:  # AuthenticationSASL: the mechanisms on offer
                mechanisms = [m.decode() for m in body[4:].split(b"\0") if m]
                if SCRAM not in mechanisms:
                    raise ProtocolError(f"no {SCRAM} among {mechanisms}")
                scram = _Scram(password)
                first = scram.client_first().encode()
                self._send(b"p", SCRAM.encode() + b"\0" + struct.pack("!i", len(first)) + first)
            elif code == 11 and scram is not None:  # SASLContinue
                self._send(b"p", scram.client_final(body[4:].decode()).encode())
            elif code == 12 and scram is not None:  # SASLFinal
                scram.verify_server(body[4:].decode())
            else:
                raise ProtocolError(f"authentication method {code} is not supported (use SCRAM-SHA-256)")

    def _send(self, kind: bytes, body: bytes) -> None:
        self._sock.sendall(kind + struct.pack("!i", len(body) + 4) + body)

    def _receive(self) -> tuple[bytes, bytes]:
        header = self._read(5)
        (length,) = struct.unpack("!i", header[1:])
        return header[:1], self._read(length - 4)

    def _read(self, size: int) -> bytes:
        chunks, remaining = [], size
        while remaining:
            chunk = self._sock.recv(remaining)
            if not chunk:
                raise ProtocolError("the server closed the connection")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)


def _start_tls(sock: socket.socket, host: str) -> socket.socket:
    """`sslmode=require`: encrypted, the server's certificate not verified (the RDS CA bundle is
    not shipped). Nothing secret depends on it: SCRAM never sends the password, and roles get
    SCRAM verifiers, not passwords."""
    sock.sendall(struct.pack("!ii", 8, SSL_REQUEST))
    answer = sock.recv(1)
    if answer != b"S":
        raise ProtocolError(f"the server refused TLS (answered {answer!r})")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context.wrap_socket(sock, server_hostname=host)


def _fields(body: bytes) -> dict[str, str]:
    return {part[:1].decode(): part[1:].decode(errors="replace") for part in body.split(b"\0") if part}


def _data_row(body: bytes) -> Row:
    (count,) = struct.unpack("!h", body[:2])
    values: list[str | None] = []
    offset = 2
    for _ in range(count):
        (length,) = struct.unpack("!i", body[offset : offset + 4])
        offset += 4
        if length < 0:
            values.append(None)
        else:
            values.append(body[offset : offset + length].decode())
            offset += length
    return tuple(values)


class _Scram:
    """The client side of SCRAM-SHA-256 without channel binding (RFC 5802, RFC 7677)."""

    def __init__(self, password: str) -> None:
        self._password = password
        self._nonce = base64.b64encode(os.urandom(18)).decode()
        # PostgreSQL takes the user from the startup message and ignores n= here.
        self._first_bare = f"n=,r={self._nonce}"
        self._auth_message = b""
        self._salted = b""

    def client_first(self) -> str:
        return "n,," + self._first_bare

    def client_final(self, server_first: str) -> str:
        attributes = dict(item.split("=", 1) for item in server_first.split(","))
        nonce, salt, iterations = attributes["r"], base64.b64decode(attributes["s"]), int(attributes["i"])
        if not nonce.startswith(self._nonce):
            raise ProtocolError("SCRAM: the server's nonce does not extend ours")
        self._salted = _salted(self._password, salt, iterations)
        client_key = _hmac(self._salted, b"Client Key")
        without_proof = f"c=biws,r={nonce}"
        self._auth_message = f"{self._first_bare},{server_first},{without_proof}".encode()
        signature = _hmac(hashlib.sha256(client_key).digest(), self._auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        return f"{without_proof},p={_b64(proof)}"

    def verify_server(self, server_final: str) -> None:
        expected = _b64(_hmac(_hmac(self._salted, b"Server Key"), self._auth_message))
        if not hmac.compare_digest(server_final.removeprefix("v="), expected):
            raise ProtocolError("SCRAM: the server's signature is wrong")


def quote_literal(value: str) -> str:
    """A string constant (standard_conforming_strings is on: only quotes need doubling)."""
    return "'" + value.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def single(rows: Sequence[Row]) -> str | None:
    """The one value of a one-row, one-column result."""
    ((value,),) = rows
    return value
