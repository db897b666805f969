"""--dc URLs as MySQL users write them: schemes, query parameters, TLS modes as PyMySQL receives them, option files
(--defaults-file and ~/.my.cnf) and the precedence of every source. No engine: errors and connect arguments only."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest
from click.testing import CliRunner

from lab.checker import optionfiles
from lab.checker.targets import SCHEMES, OptionFile, endpoints_from_urls
from lab.cli import main as cli
from lab.db.sql import Endpoint
from lab.errors import LabError

SECRET = "s3cr#t pass"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HOME, so ~/.my.cnf is the test's own (or absent)."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("HOME", str(path))
    return path


@pytest.fixture(scope="session")
def pem(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A self-signed certificate and its key: a CA file for VERIFY_CA, and a client certificate."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    folder = tmp_path_factory.mktemp("pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=lab-test-ca", "-keyout", str(folder / "key.pem"),
                    "-out", str(folder / "cert.pem")], check=True, capture_output=True)
    return {"ca": str(folder / "cert.pem"), "cert": str(folder / "cert.pem"), "key": str(folder / "key.pem")}


@pytest.fixture
def unix_socket() -> Iterator[str]:
    """A listening unix socket at a short path (the kernel limits socket paths to 108 bytes)."""
    folder = tempfile.mkdtemp(prefix="lab-dsn-", dir="/tmp")
    path = f"{folder}/mysqld.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    yield path
    listener.close()
    shutil.rmtree(folder)


def two(url: str, **kwargs: object) -> Endpoint:
    """The first endpoint of a two-DC check whose first URL is `url`."""
    environ = kwargs.pop("environ", {})
    return endpoints_from_urls([f"dc1={url}", "dc2=mysql://u@other"], environ, **kwargs)["dc1"]  # type: ignore


def error(url: str, **kwargs: object) -> str:
    with pytest.raises(LabError) as caught:
        two(url, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- schemes -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scheme", SCHEMES)
def test_accepted_schemes(scheme: str) -> None:
    endpoint = two(f"{scheme}://app@db1.example:3307/shop")
    assert (endpoint.host, endpoint.port, endpoint.user, endpoint.database) == ("db1.example", 3307, "app", "shop")


@pytest.mark.parametrize(("url", "named"), [("mysql+mysqldb://a@h/db", "'mysqldb'"),
                                            ("mariadb+mariadbconnector://a@h/db", "'mariadbconnector'"),
                                            ("postgresql://a@h/db", "'postgresql'")])
def test_other_schemes_and_drivers_are_refused(url: str, named: str) -> None:
    message = error(url)
    assert message.startswith("--dc dc1:") and named in message
    assert all(f"{scheme}://" in message for scheme in SCHEMES)


# --- query parameters ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("spelling", ["ssl-mode", "ssl_mode", "SSL_MODE"])
@pytest.mark.parametrize("mode", Endpoint.SSL_MODES)
def test_ssl_mode_both_spellings(spelling: str, mode: str, pem: dict[str, str]) -> None:
    ca = f"&ssl-ca={pem['ca']}" if mode.startswith("VERIFY") else ""
    assert two(f"mysql://u@h/db?{spelling}={mode.lower()}{ca}").ssl_mode == mode


def test_certificate_files_and_timeout(pem: dict[str, str]) -> None:
    endpoint = two(f"mysql://u@h/db?ssl-mode=VERIFY_IDENTITY&ssl_ca={pem['ca']}&ssl-cert={pem['cert']}"
                   f"&ssl-key={pem['key']}&connect-timeout=2.5&charset=utf8mb4")
    assert (endpoint.ssl_ca, endpoint.ssl_cert, endpoint.ssl_key) == (pem["ca"], pem["cert"], pem["key"])
    assert endpoint.connect_timeout == 2.5
    assert endpoint.connect_args(timeout=10)["connect_timeout"] == 2.5      # the user's setting wins


@pytest.mark.parametrize(("query", "expected"), [
    ("ssl-mode=STRICT", ["parameter ssl-mode=STRICT", "DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY"]),
    ("ssl-mode=", ["parameter ssl-mode needs a value"]),
    ("connect-timeout=soon", ["parameter connect-timeout=soon", "seconds"]),
    ("connect-timeout=0", ["parameter connect-timeout=0"]),
    ("charset=latin1", ["charset=latin1", "utf8mb4"]),
    ("ssl-ca=/nonexistent/ca.pem&ssl-mode=VERIFY_CA", ["parameter ssl-ca=/nonexistent/ca.pem: no such file"]),
    ("ssl-mode=VERIFY_CA", ["ssl-mode=VERIFY_CA needs ssl-ca"]),
    ("socket=/nonexistent/mysqld.sock", ["socket=/nonexistent/mysqld.sock: no such file"]),
    ("sslmode=REQUIRED", ["unknown parameter 'sslmode'", "ssl-mode, ssl-ca, ssl-cert, ssl-key, socket"]),
    ("read_timeout=5", ["unknown parameter 'read_timeout'"]),
    ("ssl-mode=REQUIRED&ssl_mode=DISABLED", ["parameter ssl-mode is given twice"]),
])
def test_bad_parameters_name_the_dc_and_the_parameter(query: str, expected: list[str]) -> None:
    message = error(f"mysql://u@localhost/db?{query}")
    assert message.startswith("--dc dc1:")
    for text in expected:
        assert text in message


def test_preferred_with_files_and_key_without_cert(pem: dict[str, str]) -> None:
    assert "PREFERRED cannot use ssl-ca" in error(f"mysql://u@h/db?ssl-mode=PREFERRED&ssl-ca={pem['ca']}")
    assert "give ssl-cert too" in error(f"mysql://u@h/db?ssl-mode=REQUIRED&ssl-key={pem['key']}")
    assert "parameter ssl-ca is not used with --dc dc1: parameter ssl-mode=DISABLED" in error(
        f"mysql://u@h/db?ssl-mode=DISABLED&ssl-ca={pem['ca']}")


def test_socket_forms(unix_socket: str, tmp_path: Path) -> None:
    for url in (f"mysql://u@localhost/db?socket={unix_socket}", f"mysql://u@/db?unix_socket={unix_socket}"):
        endpoint = two(url)
        assert (endpoint.host, endpoint.socket) == ("localhost", unix_socket)
        assert endpoint.connect_args()["unix_socket"] == unix_socket
        assert repr(endpoint) == f"Endpoint(u@localhost[{unix_socket}]/db)"
    assert "host db1 would be ignored" in error(f"mysql://u@db1/db?socket={unix_socket}")
    (tmp_path / "plain").write_text("")
    assert "not a unix socket" in error(f"mysql://u@localhost/db?socket={tmp_path / 'plain'}")


def test_url_shape_errors() -> None:
    assert "remove the password" in error("mysql://u:pw@h/db")
    assert "%23" in error("mysql://u@h/db#x")
    assert "one database name" in error("mysql://u@h/db/extra")
    assert "no host" in error("mysql://u@/db")


# --- what PyMySQL is given -----------------------------------------------------------------------------------

def pymysql_sees(endpoint: Endpoint) -> pymysql.connections.Connection:
    """PyMySQL's own reading of the arguments, without connecting."""
    return pymysql.connections.Connection(**endpoint.connect_args(), defer_connect=True)


def test_ssl_modes_as_pymysql_receives_them(pem: dict[str, str]) -> None:
    base = Endpoint("db1", 3306, "u", "p", "db")
    disabled = Endpoint("db1", 3306, "u", "p", ssl_mode="DISABLED").connect_args()
    assert disabled["ssl_disabled"] is True and "ssl" not in disabled
    assert pymysql_sees(Endpoint("db1", 3306, "u", "p", ssl_mode="DISABLED")).ssl is False
    for preferred in (base, Endpoint("db1", 3306, "u", "p", ssl_mode="PREFERRED")):
        args = preferred.connect_args()
        assert "ssl" not in args and "ssl_disabled" not in args
        seen = pymysql_sees(preferred)
        assert seen.ssl and not seen._ssl_required          # TLS when offered, plain text otherwise

    required = Endpoint("db1", 3306, "u", "p", ssl_mode="REQUIRED")
    context = required.connect_args()["ssl"]
    assert context.verify_mode == ssl.CERT_NONE and not context.check_hostname
    seen = pymysql_sees(required)
    assert seen._ssl_required and seen.ctx is not None and seen.ctx.verify_mode == ssl.CERT_NONE

    verify_ca = Endpoint("db1", 3306, "u", "p", ssl_mode="VERIFY_CA", ssl_ca=pem["ca"]).connect_args()["ssl"]
    assert verify_ca.verify_mode == ssl.CERT_REQUIRED and not verify_ca.check_hostname
    assert [c["subject"] for c in verify_ca.get_ca_certs()] == [((("commonName", "lab-test-ca"),),)]
    identity = Endpoint("db1", 3306, "u", "p", ssl_mode="VERIFY_IDENTITY", ssl_ca=pem["ca"])
    assert identity.connect_args()["ssl"].check_hostname and pymysql_sees(identity)._ssl_required


def test_certificate_files_without_a_mode_mean_required(pem: dict[str, str]) -> None:
    endpoint = two(f"mysql://u@h/db?ssl-cert={pem['cert']}&ssl-key={pem['key']}")
    assert endpoint.ssl_mode is None and endpoint.tls_mode == "REQUIRED"
    assert endpoint.connect_args()["ssl"].verify_mode == ssl.CERT_NONE


def test_endpoint_keeps_its_old_shape() -> None:
    endpoint = Endpoint("127.0.0.1", 3306, "root", SECRET, "lab")
    assert repr(endpoint) == "Endpoint(root@127.0.0.1:3306/lab)" and SECRET not in repr(endpoint)
    args = endpoint.connect_args(database="", timeout=7)
    assert (args["host"], args["port"], args["database"], args["connect_timeout"]) == ("127.0.0.1", 3306, "", 7)
    assert "unix_socket" not in args and "ssl" not in args
    assert SECRET not in repr(Endpoint("h", 1, "u", SECRET, ssl_mode="REQUIRED"))
    with pytest.raises(ValueError, match="VERIFY_CA needs ssl_ca"):
        Endpoint("h", 1, "u", "p", ssl_mode="VERIFY_CA")


# --- option files --------------------------------------------------------------------------------------------

def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_option_file_conventions(tmp_path: Path) -> None:
    path = write(tmp_path / "my.cnf", """# a comment
[mysql]
user = not-for-us
pager = less
[client]
  user = app          # indented, trailing comment
password = "s3cr#t pass"
ssl_ca = '/etc/ca.pem'
loose-ssl-cert = /etc/cert.pem
skip-ssl
host=db1 ; not a comment in mysql option files
port=3307
escaped = "a\\tb\\\\c\\"d"
[client]
port = 3308
""")
    options = optionfiles.read_client_group(path, required=True)
    assert options["user"] == "app" and options["password"] == SECRET
    assert options["ssl-ca"] == "/etc/ca.pem" and options["ssl-cert"] == "/etc/cert.pem"
    assert options["skip-ssl"] is None and options["host"] == "db1 ; not a comment in mysql option files"
    assert options["escaped"] == 'a\tb\\c"d' and options["port"] == "3308"   # a later value wins
    assert "pager" not in options


def test_includes_are_followed_where_they_stand(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    write(tmp_path / "conf.d" / "b.cnf", "[client]\nport=2\nhost=from-b\n")
    write(tmp_path / "conf.d" / "a.cnf", "[client]\nport=1\nuser=from-a\n")
    write(tmp_path / "conf.d" / "ignored.txt", "[client]\nuser=never\n")
    write(tmp_path / "extra.cnf", "[mysqld]\nport=9\n[client]\ndatabase=shop\n")
    main = write(tmp_path / "my.cnf", f"[client]\nhost=before\n!includedir {tmp_path / 'conf.d'}\n"
                                      f"port=3\n!include {tmp_path / 'extra.cnf'}\nuser=after\n")
    options = optionfiles.read_client_group(main, required=True)
    # the line after an include is still in the including file's [client] group
    assert options == {"host": "from-b", "port": "3", "user": "after", "database": "shop"}


@pytest.mark.parametrize(("text", "expected"), [
    ("user=x\n[client]\n", "line 1: option outside any group"),
    ("[client\npassword=" + SECRET + "\n", "line 1: a group header"),
    ("[client]\n= " + SECRET + "\n", "line 2: `=` without an option name"),
    ("[client]\n!include /nonexistent/x.cnf\n", "line 2: !include /nonexistent/x.cnf: no such file"),
    ("[client]\n!includedir /nonexistent\n", "no such directory"),
])
def test_option_file_errors_name_file_and_line_never_the_text(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path / "bad.cnf", text)
    with pytest.raises(LabError, match=r"bad\.cnf") as caught:
        optionfiles.read_client_group(path, required=True)
    assert expected in str(caught.value) and SECRET not in str(caught.value)


def test_include_loop_is_refused(tmp_path: Path) -> None:
    first = tmp_path / "a.cnf"
    write(tmp_path / "b.cnf", f"[client]\n!include {first}\n")
    write(first, f"[client]\n!include {tmp_path / 'b.cnf'}\n")
    with pytest.raises(LabError, match="loops or nests"):
        optionfiles.read_client_group(first, required=True)


def test_partial_urls_take_the_rest_from_the_defaults_file(tmp_path: Path) -> None:
    cnf = write(tmp_path / "lab.cnf", f'[client]\nuser=app\npassword="{SECRET}"\nport=3307\ndatabase=shop\n')
    endpoints = endpoints_from_urls(["dc1=mysql://db1.example/lab", "dc2=mysql://root@db2.example:3306"], {},
                                    defaults_file=str(cnf))
    assert (endpoints["dc1"].user, endpoints["dc1"].port, endpoints["dc1"].database) == ("app", 3307, "lab")
    assert (endpoints["dc2"].user, endpoints["dc2"].port, endpoints["dc2"].database) == ("root", 3306, "shop")
    assert endpoints["dc1"].password == SECRET and SECRET not in repr(endpoints)
    assert SECRET not in repr(OptionFile.load(cnf))


def test_password_precedence_with_an_option_file(tmp_path: Path) -> None:
    cnf = str(write(tmp_path / "lab.cnf", "[client]\nuser=app\npassword=from-cnf\n"))
    pwfile = str(write(tmp_path / "passwords", "dc1=from-file\ndc2=from-file-2\n"))
    specs = ["dc1=mysql://db1", "dc2=mysql://db2"]
    env = {"LAB_CHECK_PASSWORD_DC1": "from-env-dc1", "LAB_CHECK_PASSWORD": "from-env"}

    def passwords(environ: dict[str, str], password_file: str | None) -> list[str]:
        found = endpoints_from_urls(specs, environ, password_file, cnf)
        return [found["dc1"].password, found["dc2"].password]

    assert passwords(env, pwfile) == ["from-env-dc1", "from-file-2"]          # per-DC env > --password-file
    assert passwords(env, None) == ["from-env-dc1", "from-cnf"]               # option file > LAB_CHECK_PASSWORD
    write(Path(cnf), "[client]\nuser=app\n")
    assert passwords(env, None) == ["from-env-dc1", "from-env"]
    assert passwords({}, None) == ["", ""]


def test_url_wins_over_the_option_file(tmp_path: Path, pem: dict[str, str]) -> None:
    cnf = str(write(tmp_path / "lab.cnf", f"[client]\nuser=app\nhost=cnf-host\nport=1111\ndatabase=cnf\n"
                                          f"ssl-mode=VERIFY_CA\nssl-ca={pem['ca']}\nconnect-timeout=9\n"))
    from_file = endpoints_from_urls(["a=mysql:///", "b=mysql://other"], {}, defaults_file=cnf)["a"]
    assert (from_file.host, from_file.port, from_file.database, from_file.ssl_mode, from_file.ssl_ca,
            from_file.connect_timeout) == ("cnf-host", 1111, "cnf", "VERIFY_CA", pem["ca"], 9.0)
    url = endpoints_from_urls(["a=mysql://root@url-host:2222/url?ssl-mode=DISABLED&connect-timeout=1",
                               "b=mysql://other"], {}, defaults_file=cnf)["a"]
    assert (url.user, url.host, url.port, url.database, url.ssl_mode, url.ssl_ca, url.connect_timeout) == (
        "root", "url-host", 2222, "url", "DISABLED", None, 1.0)         # the option file's ssl-ca is unused


def test_option_file_socket_only_for_localhost(tmp_path: Path, unix_socket: str) -> None:
    cnf = str(write(tmp_path / "lab.cnf", f"[client]\nuser=app\nsocket={unix_socket}\n"))
    found = endpoints_from_urls(["a=mysql:///db", "b=mysql://localhost/db", "c=mysql://127.0.0.1/db"], {},
                                defaults_file=cnf)
    assert [e.socket for e in found.values()] == [unix_socket, unix_socket, None]
    assert found["c"].host == "127.0.0.1"
    cnf = str(write(tmp_path / "lab.cnf", "[client]\nuser=app\nsocket=/nonexistent.sock\n"))
    assert "lab.cnf [client] socket=/nonexistent.sock: no such file" in error("mysql:///db", defaults_file=cnf)


@pytest.mark.parametrize(("lines", "mode"), [("skip-ssl", "DISABLED"), ("ssl=0", "DISABLED"), ("ssl", "REQUIRED"),
                                             ("ssl-mode=required\nskip-ssl", "REQUIRED"),
                                             ("ssl-verify-server-cert\nssl-ca={ca}", "VERIFY_IDENTITY")])
def test_option_file_ssl_flags(tmp_path: Path, pem: dict[str, str], lines: str, mode: str) -> None:
    cnf = str(write(tmp_path / "lab.cnf", "[client]\nuser=app\n" + lines.format(ca=pem["ca"]) + "\n"))
    assert two("mysql://h/db", defaults_file=cnf).ssl_mode == mode


@pytest.mark.parametrize(("lines", "expected"), [
    ("port=abc", "lab.cnf [client] port=abc is not a port"),
    ("ssl-mode=strict", "lab.cnf [client] ssl-mode=strict is not valid; use one of DISABLED"),
    ("ssl=maybe", "lab.cnf [client] ssl=maybe is not valid"),
    ("password", "lab.cnf [client] password has no value"),
    ("ssl-mode=VERIFY_CA\nssl-ca=/nonexistent/ca.pem", "lab.cnf [client] ssl-ca=/nonexistent/ca.pem: no such file"),
])
def test_bad_option_file_values_name_file_and_key(tmp_path: Path, lines: str, expected: str) -> None:
    cnf = str(write(tmp_path / "lab.cnf", f"[client]\nuser=app\n{lines}\n"))
    assert expected in error("mysql://h/db", defaults_file=cnf)


def test_user_option_file_is_read_without_defaults_file(home: Path, tmp_path: Path) -> None:
    assert "no user" in error("mysql://h/db")                                  # no ~/.my.cnf: nothing filled in
    write(home / ".my.cnf", f"[client]\nuser=me\npassword='{SECRET}'\n")   # quoted: it holds a #
    endpoint = two("mysql://h/db")
    assert (endpoint.user, endpoint.password) == ("me", SECRET)
    other = str(write(tmp_path / "other.cnf", "[client]\nhost=x\n"))
    assert "no user" in error("mysql://h/db", defaults_file=other)             # --defaults-file: only that file
    assert "--defaults-file /nonexistent/my.cnf: no such file" in error("mysql://h/db",
                                                                       defaults_file="/nonexistent/my.cnf")


# --- the command line ----------------------------------------------------------------------------------------

def run(*args: str) -> tuple[int, str]:
    outcome = CliRunner().invoke(cli, ["check", *args, "--table", "t"], catch_exceptions=False)
    return outcome.exit_code, outcome.output


def test_cli_errors_are_one_line_with_exit_2(tmp_path: Path) -> None:
    code, text = run("--dc", "dc1=mysql+mysqlconnector://u@h/db", "--dc", "dc2=mysql://u@h/db")
    assert code == 2 and text.strip().count("\n") == 0 and "--dc dc1: driver 'mysqlconnector'" in text
    code, text = run("--dc", "dc1=mysql://u@h/db?ssl-mode=nope", "--dc", "dc2=mysql://u@h/db")
    assert code == 2 and "--dc dc1: parameter ssl-mode=nope is not valid" in text
    code, text = run("--dc", "dc1=mysql://h/db", "--dc", "dc2=mysql://h/db", "--defaults-file", "/nonexistent.cnf")
    assert code == 2 and "--defaults-file /nonexistent.cnf: no such file" in text.strip()
    code, text = run("--dc", "dc1=mysql://h/db", "--dc", "dc2=mysql://h/db", "--password-file", "/nonexistent")
    assert code == 2 and "--password-file /nonexistent: cannot read it" in text
    code, text = run("--lab", "some-lab", "--defaults-file", str(write(tmp_path / "x.cnf", "[client]\n")))
    assert code == 2 and "is for --dc servers" in text


def test_help_shows_quoted_examples() -> None:
    text = CliRunner().invoke(cli, ["check", "--help"], terminal_width=200).output
    assert "--dc 'dc3=mysql://app@db3/shop?ssl-mode=REQUIRED'" in text
    assert "--dc dc1=mysql://app@db1:3306/shop" in text and "--defaults-file FILE" in text
    assert "json: the verdict" in text


def test_certificate_files_that_do_not_load(tmp_path: Path, pem: dict[str, str]) -> None:
    garbage = write(tmp_path / "ca.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    message = error(f"mysql://u@h/db?ssl-mode=VERIFY_CA&ssl-ca={garbage}")
    assert message.startswith(f"--dc dc1: cannot load ssl-ca={garbage}:")
    message = error(f"mysql://u@h/db?ssl-mode=REQUIRED&ssl-cert={pem['cert']}&ssl-key={garbage}")
    assert f"ssl-key={garbage}" in message and "PEM" in message
