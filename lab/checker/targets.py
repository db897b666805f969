"""Which servers a check reads: a running lab's DC primaries, or servers given as --dc NAME=URL.

URL forms (schemes mysql://, mariadb://, and SQLAlchemy's mysql+pymysql://, mariadb+pymysql://):

    mysql://USER@HOST:PORT/DB                       TCP (port 3306 when left out)
    mysql://HOST:PORT/DB                            user (and password) from the option file
    mysql://USER@localhost/DB?socket=/run/mysqld/mysqld.sock    a unix socket (also mysql://USER@/DB?socket=)
    mysql://USER@HOST/DB?ssl-mode=VERIFY_CA&ssl-ca=/etc/mysql/ca.pem

Query parameters use the mysql client's option names, with dashes or underscores: ssl-mode (DISABLED,
PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY, as the client's --ssl-mode; see Endpoint), ssl-ca,
ssl-cert, ssl-key, socket (SQLAlchemy's unix_socket too), connect-timeout (seconds) and charset (utf8mb4
only: the checker always reads utf8mb4 so values compare exactly). Anything else is an error. A socket
replaces host and port, as the mysql client's socket does for localhost; so the URL's host must be
localhost or empty. Without ssl-mode, certificate files mean REQUIRED (PyMySQL's rule). With
ssl-mode=DISABLED the option file's certificate files are not used; the URL's are an error.

Where each setting comes from, first found wins:
- user, host, port, database, socket, ssl-*, connect-timeout: the URL, then the option file's [client]
  group (see lab.checker.optionfiles), then the defaults (port 3306, PyMySQL's TLS negotiation). An
  option-file socket is used only when the host is localhost or given nowhere, as by the mysql client.
- password (never in the URL, where `ps` and shell history would show it): LAB_CHECK_PASSWORD_<DC>, then
  --password-file (lines DC=PASSWORD, or one line for every DC), then the option file, then
  LAB_CHECK_PASSWORD, else empty. The option file is --defaults-file FILE when given (only that file),
  else ~/.my.cnf when it exists.
"""

from __future__ import annotations

import re
import ssl
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from lab.checker import optionfiles
from lab.db.sql import Endpoint
from lab.errors import LabError

DC_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
SCHEMES = ("mysql", "mariadb", "mysql+pymysql", "mariadb+pymysql")
SSL_MODES = Endpoint.SSL_MODES
PARAMETERS = ("ssl-mode", "ssl-ca", "ssl-cert", "ssl-key", "socket", "connect-timeout", "charset")
ALIASES = {"unix-socket": "socket"}   # SQLAlchemy's and PyMySQL's name
FILE_KEYS = ("ssl-ca", "ssl-cert", "ssl-key")
FILE_SETTINGS = ("user", "password", "host", "port", "database", "socket", "ssl-mode", *FILE_KEYS,
                 "connect-timeout")
FORMS = "mysql://USER@HOST:PORT/DB[?ssl-mode=...&socket=...]"


def env_name(dc: str) -> str:
    return "LAB_CHECK_PASSWORD_" + re.sub(r"[^A-Za-z0-9]", "_", dc).upper()


@dataclass(frozen=True)
class DcUrl:
    """One --dc NAME=URL as given: only what the URL says (None where it says nothing)."""

    dc: str
    host: str | None = None
    port: int | None = None
    user: str | None = None
    database: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> dict[str, Any]:
        """The URL's settings under the option-file names, for merging with an option file."""
        given = {"user": self.user, "host": self.host, "port": self.port, "database": self.database}
        return {k: v for k, v in given.items() if v is not None} | self.params


def parse_dc(spec: str) -> DcUrl:
    """'dc1=mysql://user@host:3306/db?ssl-mode=REQUIRED' -> DcUrl; every error names --dc NAME."""
    name, sep, url = spec.partition("=")
    name = name.strip()
    if not sep or not DC_NAME.match(name):
        raise LabError(f"--dc {spec!r}: expected NAME={FORMS}")
    where = f"--dc {name}"
    parts = urlsplit(url.strip())
    if parts.scheme not in SCHEMES:
        _, plus, driver = parts.scheme.partition("+")
        got = f"driver {driver!r} (lab check connects with PyMySQL)" if plus else f"scheme {parts.scheme!r}"
        raise LabError(f"{where}: {got} is not accepted; use one of {', '.join(s + '://' for s in SCHEMES)}")
    if parts.password is not None:
        raise LabError(f"{where}: remove the password from the URL; set {env_name(name)} or "
                       "LAB_CHECK_PASSWORD, use --password-file, or password= in --defaults-file")
    if parts.fragment:
        raise LabError(f"{where}: unexpected '#' in the URL (write # as %23)")
    try:
        port = parts.port
    except ValueError:
        raise LabError(f"{where}: bad port in the URL; expected HOST:PORT with PORT 1-65535") from None
    database = unquote(parts.path.lstrip("/")) or None
    if database and "/" in database:
        raise LabError(f"{where}: the URL's path is one database name (got {database!r})")
    params = _query(parts.query, where)
    return DcUrl(name, parts.hostname or None, port, unquote(parts.username) if parts.username else None,
                 database, params)


def _query(query: str, where: str) -> dict[str, Any]:
    """The URL's parameters, checked. Split by hand: parse_qsl turns '+' into a space, which breaks paths."""
    params: dict[str, Any] = {}
    for item in query.split("&"):
        if not item:
            continue
        raw_key, _, raw_value = item.partition("=")
        key = unquote(raw_key).strip().lower().replace("_", "-")
        key = ALIASES.get(key, key)
        if key not in PARAMETERS:
            raise LabError(f"{where}: unknown parameter {unquote(raw_key)!r}; accepted: {', '.join(PARAMETERS)} "
                           "(dashes or underscores)")
        if key in params:
            raise LabError(f"{where}: parameter {key} is given twice")
        value = unquote(raw_value).strip()
        if key == "charset":
            if value.lower() != "utf8mb4":
                raise LabError(f"{where}: charset={value}: the checker always reads utf8mb4 so values compare "
                               "exactly; use charset=utf8mb4 or leave it out")
            continue
        params[key] = convert(key, value, f"{where}: parameter {key}")
    return params


def convert(key: str, value: str | None, where: str) -> Any:
    """A setting's value from its text (URL or option file), or a one-line error naming `where`."""
    if key == "password":   # never quoted in an error; empty is a valid password
        if value is None:
            raise LabError(f"{where} has no value (the mysql client would prompt; lab check cannot): write "
                           f"password=... or remove the line")
        return value
    if value is None or value == "":
        raise LabError(f"{where} needs a value")
    if key == "ssl-mode":
        mode = value.upper().replace("-", "_")
        if mode not in SSL_MODES:
            raise LabError(f"{where}={value} is not valid; use one of {', '.join(SSL_MODES)}")
        return mode
    if key == "port":
        if not value.isdigit() or not 0 < int(value) < 65536:
            raise LabError(f"{where}={value} is not a port; use 1-65535")
        return int(value)
    if key == "connect-timeout":
        try:
            seconds = float(value)
        except ValueError:
            seconds = 0.0
        if not 0 < seconds < 86400:
            raise LabError(f"{where}={value} is not valid; use seconds, a number above 0 (e.g. 10)")
        return seconds
    return value


def read_password_file(path: str | Path, dcs: Sequence[str]) -> dict[str, str]:
    """{dc: password}; key '*' holds a password for every DC."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise LabError(f"--password-file {path}: cannot read it: {exc.strerror}") from None
    lines = [line.rstrip("\r\n") for line in text.splitlines()]
    lines = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    named = {}
    for line in lines:
        name, sep, password = line.partition("=")
        if sep and name.strip() in dcs:
            named[name.strip()] = password
    if named and len(named) == len(lines):
        return named
    if len(lines) == 1:
        return {"*": lines[0]}
    raise LabError(f"{path}: expected lines DC=PASSWORD (for {', '.join(dcs)}) or a single password line")


def password_for(dc: str, environ: Mapping[str, str], from_file: Mapping[str, str],
                 from_options: str | None = None) -> str:
    """The password by the module's precedence (from_options: the option file's password, if any)."""
    for candidate in (environ.get(env_name(dc)), from_file.get(dc), from_file.get("*"), from_options,
                      environ.get("LAB_CHECK_PASSWORD")):
        if candidate is not None:
            return candidate
    return ""


@dataclass(frozen=True)
class OptionFile:
    """The settings an option file's [client] group gives, checked, and how errors name it."""

    label: str
    settings: dict[str, Any] = field(repr=False)   # holds the password

    @classmethod
    def load(cls, defaults_file: str | Path | None) -> OptionFile:
        path = Path(defaults_file) if defaults_file else optionfiles.user_file()
        options = optionfiles.read_client_group(path, required=defaults_file is not None)
        label = f"{path} [client]"
        settings = {key: convert(key, options[key], f"{label} {key}")
                    for key in FILE_SETTINGS if key in options and key != "ssl-mode"}
        mode = _file_ssl_mode(options, label)
        if mode:
            settings["ssl-mode"] = mode
        return cls(label, settings)


def _file_ssl_mode(options: Mapping[str, str | None], label: str) -> str | None:
    """ssl-mode, else the older flags: skip-ssl / ssl=0 -> DISABLED, ssl-verify-server-cert (MariaDB) ->
    VERIFY_IDENTITY, ssl -> REQUIRED."""
    if "ssl-mode" in options:
        return convert("ssl-mode", options["ssl-mode"], f"{label} ssl-mode")
    flags = {key: _flag(options[key], f"{label} {key}") for key in ("ssl", "ssl-verify-server-cert")
             if key in options}
    if "skip-ssl" in options or flags.get("ssl") is False:
        return "DISABLED"
    if flags.get("ssl-verify-server-cert"):
        return "VERIFY_IDENTITY"
    return "REQUIRED" if flags.get("ssl") else None


def _flag(value: str | None, where: str) -> bool:
    if value is None or value.upper() in ("1", "ON", "TRUE"):
        return True
    if value.upper() in ("0", "OFF", "FALSE"):
        return False
    raise LabError(f"{where}={value} is not valid; use 1/0, ON/OFF or TRUE/FALSE, or no value")


def endpoint_for(url: DcUrl, options: OptionFile, password: str) -> Endpoint:
    """The URL's settings over the option file's, checked as a whole."""
    given = url.settings
    merged = options.settings | given

    def source(key: str) -> str:
        return f"--dc {url.dc}: parameter {key}" if key in given else f"{options.label} {key}"

    where = f"--dc {url.dc}"
    host, socket = _host_and_socket(url, merged, where, source("socket"))
    user = merged.get("user")
    if not user:
        raise LabError(f"{where}: no user; put it in the URL (mysql://USER@HOST/DB) or user= in the [client] "
                       "group of --defaults-file or ~/.my.cnf")
    mode = merged.get("ssl-mode")
    files = {key: merged[key] for key in FILE_KEYS if key in merged}
    if mode == "DISABLED":   # the option file's files serve other modes; the URL's would be silently unused
        unused = [key for key in files if key in given]
        if unused:
            raise LabError(f"{source(unused[0])} is not used with {source('ssl-mode')}=DISABLED; "
                           "use ssl-mode=REQUIRED or VERIFY_CA, or drop it")
        files = {}
    for key, path in files.items():
        if not Path(path).is_file():
            raise LabError(f"{source(key)}={path}: no such file")
    if "ssl-key" in files and "ssl-cert" not in files:
        raise LabError(f"{source('ssl-key')}: give ssl-cert too (the certificate of that key)")
    if mode in ("VERIFY_CA", "VERIFY_IDENTITY") and "ssl-ca" not in files:
        raise LabError(f"{source('ssl-mode')}={mode} needs ssl-ca=FILE (the CA that signed the server's certificate)")
    if mode == "PREFERRED" and files:
        raise LabError(f"{source('ssl-mode')}=PREFERRED cannot use {', '.join(files)} (PyMySQL uses certificate "
                       "files only on a required TLS connection); use ssl-mode=REQUIRED or VERIFY_CA")
    endpoint = Endpoint(host, merged.get("port", 3306), user, password, merged.get("database"), socket=socket,
                        ssl_mode=mode, ssl_ca=files.get("ssl-ca"), ssl_cert=files.get("ssl-cert"),
                        ssl_key=files.get("ssl-key"), connect_timeout=merged.get("connect-timeout"))
    try:
        endpoint.connect_args()   # loads the certificate files now, so a bad one is a line here, not a traceback
    except (ssl.SSLError, OSError) as exc:
        named = ", ".join(f"{key}={path}" for key, path in files.items())
        raise LabError(f"{where}: cannot load {named}: {exc} (PEM files; an encrypted ssl-key is not supported)"
                       ) from None
    return endpoint


def _host_and_socket(url: DcUrl, merged: Mapping[str, Any], where: str, origin: str) -> tuple[str, str | None]:
    """A URL socket replaces a localhost (or absent) host; an option-file one is used only for localhost."""
    host = merged.get("host")
    if "socket" in url.params:
        if url.host not in (None, "localhost"):
            raise LabError(f"{where}: parameter socket connects on this machine, so the host {url.host} would be "
                           "ignored; write mysql://USER@localhost/DB?socket=PATH, or drop socket")
        socket = url.params["socket"]
    elif "socket" in merged and host in (None, "localhost"):
        socket = merged["socket"]
    else:
        if not host:
            raise LabError(f"{where}: no host; write {FORMS}, or host= in the option file's [client] group")
        return host, None
    mode = Path(socket).stat().st_mode if Path(socket).exists() else 0
    if not stat.S_ISSOCK(mode):
        raise LabError(f"{origin}={socket}: {'not a unix socket' if mode else 'no such file'} "
                       "(is the server running on this machine?)")
    return "localhost", socket


def endpoints_from_urls(specs: Sequence[str], environ: Mapping[str, str], password_file: str | None = None,
                        defaults_file: str | None = None) -> dict[str, Endpoint]:
    """{dc: Endpoint} from --dc specs, filled in from the option file and the password sources."""
    parsed = [parse_dc(spec) for spec in specs]
    names = [p.dc for p in parsed]
    if len(set(names)) != len(names):
        raise LabError(f"--dc: DC names must be unique (got {', '.join(names)})")
    if len(parsed) < 2:
        raise LabError("--dc: give at least two DCs to compare")
    from_file = read_password_file(password_file, names) if password_file else {}
    options = OptionFile.load(defaults_file)
    return {url.dc: endpoint_for(url, options,
                                 password_for(url.dc, environ, from_file, options.settings.get("password")))
            for url in parsed}
