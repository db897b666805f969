"""`lab check --dc URL` against a real lab's DC primaries, through each way MySQL users write a server: the
SQLAlchemy scheme, TLS modes, a unix socket and an option file. Every case asserts the verdict and exit code.

Measured on the lab's images: MySQL 9.7 serves TLS with certificates it generated at initialize (PyMySQL's
default negotiation already encrypts); Debian's MariaDB 10.11 has no certificates (have_ssl=DISABLED), so
ssl-mode=REQUIRED must fail there, in one line.
"""

from __future__ import annotations

import io
import json
import selectors
import shutil
import socket
import socketserver
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lab.checker.targets import endpoints_from_urls
from lab.cli import main as cli
from lab.db.lab import Lab
from lab.db.sql import Endpoint, query

EXPECTED = [(7, "values_differ"), (9, "missing")]


@pytest.fixture
def lab(lab_pool: Any, flavor: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    """The session's active-active lab with lab.t diverged on dc2 (id 7 changed, id 9 gone) and lab.same equal."""
    monkeypatch.setenv("HOME", str(tmp_path))     # no ~/.my.cnf but the test's own
    monkeypatch.delenv("LAB_CHECK_PASSWORD", raising=False)
    lab = lab_pool.get("active-active", flavor, "ROW")
    lab.primary("dc1").execute(
        "CREATE TABLE lab.t (id INT PRIMARY KEY, v VARCHAR(20))", "CREATE TABLE lab.same (id INT PRIMARY KEY)",
        "INSERT INTO lab.t WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 30) "
        "SELECT i, CONCAT('v', i) FROM s", "INSERT INTO lab.same VALUES (1), (2)")
    assert lab.catch_up().caught_up
    lab.primary("dc2").execute("SET SESSION sql_log_bin = 0", "UPDATE lab.t SET v = 'changed' WHERE id = 7",
                               "DELETE FROM lab.t WHERE id = 9")
    yield lab


def offers_tls(flavor: str) -> bool:
    """MySQL generates certificates at initialize; MariaDB only from 11.4 on (Debian's 10.11 has none)."""
    name, _, version = flavor.partition(":")
    return name == "mysql" or tuple(int(p) for p in version.split(".")[:2]) >= (11, 4)


def endpoint(lab: Lab, dc: str) -> Endpoint:
    return lab.primary(dc).endpoint


def urls(lab: Lab, scheme: str = "mysql", query_text: str = "", user: bool = True) -> list[str]:
    out = []
    for dc in ("dc1", "dc2"):
        ep = endpoint(lab, dc)
        who = f"{ep.user}@" if user else ""
        out.append(f"{dc}={scheme}://{who}127.0.0.1:{ep.port}/lab{query_text.format(dc=dc)}")
    return out


def run(*args: str, password: str | None = None) -> tuple[int, str]:
    env = {"LAB_CHECK_PASSWORD": password} if password is not None else {}
    outcome = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return outcome.exit_code, outcome.output


def check(dc_urls: list[str], *extra: str, table: str = "t", password: str | None = None) -> tuple[int, Any]:
    """Exit code, and the JSON document (or the output text when the check failed)."""
    args = ["check", *(f"--dc={url}" for url in dc_urls), "--table", table, "--format", "json", *extra]
    code, text = run(*args, password=password)
    return code, json.loads(text[text.index("{"):]) if code in (0, 1) else text


def rows(document: dict) -> list[tuple[int, str]]:
    return sorted((r["id"], r["kind"]) for r in document["rows"])


def cipher(ep: Endpoint) -> str:
    connection = ep.connect()
    try:
        return query(connection, "SHOW SESSION STATUS LIKE 'Ssl_cipher'")[0]["Value"]
    finally:
        connection.close()


def test_sqlalchemy_scheme(lab: Lab) -> None:
    password = endpoint(lab, "dc1").password
    code, document = check(urls(lab, "mysql+pymysql"), password=password)
    assert code == 1 and rows(document) == EXPECTED
    code, document = check(urls(lab, "mariadb+pymysql"), table="same", password=password)
    assert code == 0 and document["in_sync"] is True


def test_ssl_mode_required(lab: Lab, flavor: str) -> None:
    password = endpoint(lab, "dc1").password
    required = urls(lab, query_text="?ssl-mode=REQUIRED")
    made = endpoints_from_urls(required, {"LAB_CHECK_PASSWORD": password})
    disabled = endpoints_from_urls(urls(lab, query_text="?ssl_mode=DISABLED"), {"LAB_CHECK_PASSWORD": password})
    assert cipher(disabled["dc1"]) == ""                                  # the contrast: no TLS when disabled
    code, document = check(urls(lab, query_text="?ssl_mode=DISABLED"), password=password)
    assert code == 1 and rows(document) == EXPECTED
    code, result = check(required, password=password)
    if offers_tls(flavor):
        assert cipher(made["dc1"]) != "" and cipher(made["dc2"]) != ""     # TLS, from the same URLs
        assert code == 1 and rows(result) == EXPECTED
    else:
        assert code == 2 and result.strip().count("\n") == 0
        assert "dc1: cannot connect" in result and "SSL is required but the server doesn't support it" in result


def server_ca(lab: Lab, dc: str, folder: Path) -> str:
    """The CA certificate MySQL generated in the server's data directory, copied out of its container."""
    server = lab.primary(dc)
    datadir = server.query("SELECT @@datadir AS d")[0]["d"]
    stream, _ = server.container.get_archive(f"{datadir.rstrip('/')}/ca.pem")
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
        data = archive.extractfile("ca.pem").read()  # type: ignore[union-attr]
    target = folder / f"{dc}-ca.pem"
    target.write_bytes(data)
    return str(target)


def test_verify_ca_passes_and_verify_identity_checks_the_name(lab: Lab, flavor: str, tmp_path: Path) -> None:
    if not offers_tls(flavor):
        pytest.skip(f"{flavor} serves no TLS (covered by test_ssl_mode_required)")
    for dc in ("dc1", "dc2"):
        server_ca(lab, dc, tmp_path)
    password = endpoint(lab, "dc1").password
    verify_ca = urls(lab, query_text=f"?ssl-mode=VERIFY_CA&ssl-ca={tmp_path}/{{dc}}-ca.pem")
    code, document = check(verify_ca, password=password)
    assert code == 1 and rows(document) == EXPECTED
    # the generated certificate names "MySQL_Server_..._Auto_Generated_Server_Certificate", not 127.0.0.1
    code, text = check([u.replace("VERIFY_CA", "VERIFY_IDENTITY") for u in verify_ca], password=password)
    assert code == 2 and text.strip().count("\n") == 0
    assert "dc1: cannot connect" in text and "certificate verify failed" in text


class Forwarder:
    """A unix socket on the host relaying each connection to a server's published TCP port: the server's own
    socket is inside its container, so this stands in for a local mysqld.sock."""

    def __init__(self, path: str, port: int) -> None:
        self.connections = 0
        outer = self

        class Relay(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer.connections += 1
                with socket.create_connection(("127.0.0.1", port)) as upstream:
                    relay(self.request, upstream)

        self.server = socketserver.ThreadingUnixStreamServer(path, Relay)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def relay(one: socket.socket, other: socket.socket) -> None:
    with selectors.DefaultSelector() as selector:
        selector.register(one, selectors.EVENT_READ, other)
        selector.register(other, selectors.EVENT_READ, one)
        while True:
            for key, _ in selector.select():
                data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                if not data:
                    return
                key.data.sendall(data)


@pytest.fixture
def sockets(lab: Lab) -> Iterator[dict[str, tuple[str, Forwarder]]]:
    folder = tempfile.mkdtemp(prefix="lab-dsn-", dir="/tmp")   # unix socket paths are limited to 108 bytes
    found = {}
    for dc in ("dc1", "dc2"):
        path = f"{folder}/{dc}.sock"
        found[dc] = (path, Forwarder(path, endpoint(lab, dc).port))
    yield found
    for _, forwarder in found.values():
        forwarder.close()
    shutil.rmtree(folder)


def test_unix_socket(lab: Lab, sockets: dict[str, tuple[str, Forwarder]]) -> None:
    user, password = endpoint(lab, "dc1").user, endpoint(lab, "dc1").password
    dc_urls = [f"dc1=mysql://{user}@localhost/lab?socket={sockets['dc1'][0]}",
               f"dc2=mysql+pymysql://{user}@/lab?unix_socket={sockets['dc2'][0]}"]
    code, document = check(dc_urls, password=password)
    assert code == 1 and rows(document) == EXPECTED
    assert sockets["dc1"][1].connections >= 1 and sockets["dc2"][1].connections >= 1   # it went through them
    sockets["dc2"][1].close()
    code, text = check(dc_urls, password=password)
    assert code == 2 and "dc2: cannot connect" in text and text.strip().count("\n") == 0


def test_defaults_file_fills_user_and_password(lab: Lab, tmp_path: Path) -> None:
    ep = endpoint(lab, "dc1")
    quoted = ep.password.replace("\\", "\\\\").replace('"', '\\"')
    cnf = tmp_path / "lab.cnf"
    cnf.write_text(f'[client]\nuser = {ep.user}\npassword = "{quoted}"\n')
    partial = urls(lab, user=False)
    code, text = check(partial)
    assert code == 2 and "no user" in text                                 # nothing to take it from
    code, document = check(partial, "--defaults-file", str(cnf))
    assert code == 1 and rows(document) == EXPECTED
    (tmp_path / ".my.cnf").write_text(cnf.read_text())                     # HOME is tmp_path: ~/.my.cnf
    code, document = check(partial, table="same")
    assert code == 0 and document["in_sync"] is True
    code, text = run("repair", *(f"--dc={u}" for u in partial), "--defaults-file", str(cnf), "--table", "t",
                     "--winner", "dc=dc1", "--apply")
    assert code == 0 and "re-check" in text and "in sync" in text
    wrong = tmp_path / "wrong.cnf"
    wrong.write_text(f"[client]\nuser = {ep.user}\npassword = not-the-password\n")
    code, text = check(partial, "--defaults-file", str(wrong))
    assert code == 2 and "dc1: cannot connect" in text and "not-the-password" not in text
