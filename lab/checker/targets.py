"""Which servers a check reads: a running lab's DC primaries, or servers given as URLs.

URLs look like mysql://USER@HOST:PORT/DB. Passwords never come from the command line (where
`ps` and shell history would show them): per DC from LAB_CHECK_PASSWORD_<DC>, else from
--password-file (lines DC=PASSWORD, or a single line for every DC), else LAB_CHECK_PASSWORD.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lab.db.sql import Endpoint
from lab.errors import LabError

DC_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def env_name(dc: str) -> str:
    return "LAB_CHECK_PASSWORD_" + re.sub(r"[^A-Za-z0-9]", "_", dc).upper()


def parse_dc(spec: str) -> tuple[str, str, int, str, str | None]:
    """'dc1=mysql://user@host:3306/db' -> (dc, host, port, user, database)."""
    name, sep, url = spec.partition("=")
    name = name.strip()
    if not sep or not DC_NAME.match(name):
        raise LabError(f"--dc {spec!r}: expected NAME=mysql://USER@HOST:PORT/DB")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("mysql", "mariadb"):
        raise LabError(f"--dc {name}: URL must start with mysql:// (got {url!r})")
    if parts.password is not None:
        raise LabError(f"--dc {name}: remove the password from the URL; set {env_name(name)} or "
                       "LAB_CHECK_PASSWORD, or use --password-file")
    if not parts.hostname or not parts.username:
        raise LabError(f"--dc {name}: URL needs a user and a host, e.g. mysql://root@127.0.0.1:3306/lab")
    try:
        port = parts.port or 3306
    except ValueError:
        raise LabError(f"--dc {name}: bad port in {url!r}") from None
    database = unquote(parts.path.lstrip("/")) or None
    return name, parts.hostname, port, unquote(parts.username), database


def read_password_file(path: str | Path, dcs: Sequence[str]) -> dict[str, str]:
    """{dc: password}; key '*' holds a password for every DC."""
    lines = [line.rstrip("\r\n") for line in Path(path).read_text().splitlines()]
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


def password_for(dc: str, environ: Mapping[str, str], from_file: Mapping[str, str]) -> str:
    for candidate in (environ.get(env_name(dc)), from_file.get(dc), from_file.get("*"),
                      environ.get("LAB_CHECK_PASSWORD")):
        if candidate is not None:
            return candidate
    return ""


def endpoints_from_urls(specs: Sequence[str], environ: Mapping[str, str],
                        password_file: str | None = None) -> dict[str, Endpoint]:
    parsed = [parse_dc(spec) for spec in specs]
    names = [p[0] for p in parsed]
    if len(set(names)) != len(names):
        raise LabError(f"--dc: DC names must be unique (got {', '.join(names)})")
    if len(parsed) < 2:
        raise LabError("--dc: give at least two DCs to compare")
    from_file = read_password_file(password_file, names) if password_file else {}
    return {name: Endpoint(host, port, user, password_for(name, environ, from_file), database)
            for name, host, port, user, database in parsed}
