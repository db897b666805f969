"""Thin PyMySQL helpers: one way to connect and query across the lab."""

from __future__ import annotations

import functools
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import pymysql
import pymysql.converters
import pymysql.cursors
from pymysql.constants import FIELD_TYPE


def decode_datetime(value: bytes | str) -> datetime | str:
    """PyMySQL's DATETIME/TIMESTAMP decoding, made fast for the server's own rendering ('YYYY-MM-DD
    HH:MM:SS[.ffffff]'), which C's fromisoformat reads to the same value. PyMySQL parses it with a regular
    expression: 5.2 µs a value against 0.3 (measured here), half a second per 100,000 rows a check reads.
    Anything else (zero dates, invalid days) goes to PyMySQL's own decoder, so results never differ."""
    text = value.decode("ascii") if isinstance(value, (bytes, bytearray)) else value
    if (len(text) == 19 or (21 <= len(text) <= 26 and text[19] == ".")) and text[10] == " " and text[:4].isdigit():
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    return pymysql.converters.convert_datetime(text)


# PyMySQL's conversions, with the faster DATETIME/TIMESTAMP decoder: what every lab connection decodes with.
CONVERSIONS = {**pymysql.converters.conversions,
               FIELD_TYPE.DATETIME: decode_datetime, FIELD_TYPE.TIMESTAMP: decode_datetime}


@dataclass(frozen=True)
class Endpoint:
    """How to reach a server from the host. The password is never printed (repr hides it).

    TLS follows the mysql client's --ssl-mode (None: PREFERRED, or REQUIRED when a certificate file is given,
    as PyMySQL does): DISABLED no TLS; PREFERRED TLS when the server offers it, unverified (PyMySQL's own
    default negotiation); REQUIRED TLS or fail, certificate not verified; VERIFY_CA the chain must lead to
    ssl_ca; VERIFY_IDENTITY also the host name. A `socket` (unix socket path) replaces host and port.
    """

    SSL_MODES: ClassVar[tuple[str, ...]] = ("DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY")

    host: str
    port: int
    user: str
    password: str
    database: str | None = None
    socket: str | None = None
    ssl_mode: str | None = None
    ssl_ca: str | None = None
    ssl_cert: str | None = None
    ssl_key: str | None = None
    connect_timeout: float | None = None   # the user's own setting wins over each caller's `timeout`

    def __post_init__(self) -> None:
        if self.ssl_mode is not None and self.ssl_mode not in self.SSL_MODES:
            raise ValueError(f"ssl_mode {self.ssl_mode!r}: use one of {', '.join(self.SSL_MODES)}")
        if self.tls_mode.startswith("VERIFY") and not self.ssl_ca:
            raise ValueError(f"ssl_mode {self.tls_mode} needs ssl_ca")
        if self.ssl_mode == "PREFERRED" and (self.ssl_ca or self.ssl_cert or self.ssl_key):
            raise ValueError("ssl_mode PREFERRED cannot use certificate files (PyMySQL uses them only on a "
                             "required TLS connection): use REQUIRED or VERIFY_CA")

    @property
    def tls_mode(self) -> str:
        """The ssl-mode in effect: the one given, else REQUIRED with certificate files, else PREFERRED."""
        if self.ssl_mode is not None:
            return self.ssl_mode
        return "REQUIRED" if self.ssl_ca or self.ssl_cert or self.ssl_key else "PREFERRED"

    def __repr__(self) -> str:
        where = f"localhost[{self.socket}]" if self.socket else f"{self.host}:{self.port}"
        tls = f" ssl-mode={self.ssl_mode}" if self.ssl_mode else ""
        return f"Endpoint({self.user}@{where}/{self.database or ''}{tls})"

    @staticmethod
    def _no_key_password() -> bytes:
        """Never let OpenSSL prompt on the terminal for an encrypted key: it then fails to load instead."""
        return b""

    def _tls_args(self) -> dict[str, Any]:
        """PyMySQL's TLS arguments for tls_mode. REQUIRED and VERIFY_* get an SSLContext built here: PyMySQL's
        ssl_* flags cannot ask for unverified TLS without a certificate file, and its ssl dict is deprecated."""
        mode = self.tls_mode
        if mode == "DISABLED":
            return {"ssl_disabled": True}
        if mode == "PREFERRED":
            return {}
        context = ssl.create_default_context(cafile=self.ssl_ca)
        context.verify_flags &= ~ssl.VERIFY_X509_STRICT   # as PyMySQL does: servers' self-made CAs fail it
        context.check_hostname = mode == "VERIFY_IDENTITY"
        context.verify_mode = ssl.CERT_NONE if mode == "REQUIRED" else ssl.CERT_REQUIRED
        if self.ssl_cert:
            context.load_cert_chain(self.ssl_cert, self.ssl_key, password=self._no_key_password)
        return {"ssl": context}

    def connect_args(self, *, database: str | None = None, timeout: float = 5.0, autocommit: bool = True,
                     read_timeout: float | None = 60.0) -> dict[str, Any]:
        """The keyword arguments `connect` gives pymysql.connect (holds the password: never print it)."""
        args: dict[str, Any] = {
            "host": "localhost" if self.socket else self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "database": database if database is not None else self.database,
            "connect_timeout": self.connect_timeout if self.connect_timeout is not None else timeout,
            "read_timeout": read_timeout,
            "write_timeout": read_timeout,
            "autocommit": autocommit,
            "cursorclass": pymysql.cursors.DictCursor,
            "charset": "utf8mb4",
            "conv": CONVERSIONS,
        }
        if self.socket:
            args["unix_socket"] = self.socket
        return args | self._tls_args()

    def connect(self, *, database: str | None = None, timeout: float = 5.0, autocommit: bool = True,
                read_timeout: float | None = 60.0) -> pymysql.connections.Connection:
        return Connection(**self.connect_args(database=database, timeout=timeout, autocommit=autocommit,
                                              read_timeout=read_timeout))


@functools.cache
def _preferred_context() -> ssl.SSLContext:
    """TLS if the server offers it, unverified: what PyMySQL's PREFERRED mode asks for, built once."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class Connection(pymysql.connections.Connection):
    """PyMySQL's connection, sharing one context among PREFERRED connections. PyMySQL builds that context per
    connection with ssl.create_default_context(), which loads the system CA bundle (47 ms of a 58 ms connect
    to MariaDB, measured here) only to turn verification off; a cell opens dozens of connections."""

    def _create_ssl_ctx(self, sslp: Any) -> ssl.SSLContext:
        if isinstance(sslp, dict) and not sslp:
            return _preferred_context()
        return super()._create_ssl_ctx(sslp)


def query(connection: pymysql.connections.Connection, sql: str, args: Sequence[Any] | None = None) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return list(cursor.fetchall())


def execute(connection: pymysql.connections.Connection, sql: str, args: Sequence[Any] | None = None) -> int:
    """Run one statement; return rows affected."""
    with connection.cursor() as cursor:
        return cursor.execute(sql, args)
