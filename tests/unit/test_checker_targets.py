"""Server URLs, password sources (never the command line), and value rendering for CSV/JSON."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest

from lab.checker.divergences import Divergence
from lab.checker.output import plain, table_rows, to_json
from lab.checker.result import CheckResult
from lab.checker.targets import DcUrl, endpoints_from_urls, env_name, parse_dc, password_for, read_password_file
from lab.errors import LabError


@pytest.fixture(autouse=True)
def no_user_option_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """~/.my.cnf is read by default: point HOME at an empty directory so the machine's own file plays no part."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_parse_dc_url() -> None:
    assert parse_dc("dc1=mysql://app@db1.example:3307/shop") == DcUrl("dc1", "db1.example", 3307, "app", "shop")
    assert parse_dc("east=mysql://root@10.0.0.1") == DcUrl("east", "10.0.0.1", None, "root", None)


@pytest.mark.parametrize("spec", ["dc1", "dc1=http://a@b", "dc 1=mysql://a@b", "dc1=mysql://a@b:notaport"])
def test_bad_urls(spec: str) -> None:
    with pytest.raises(LabError):
        parse_dc(spec)


def test_url_without_user_needs_one_from_an_option_file() -> None:
    with pytest.raises(LabError, match="--dc dc1: no user"):
        endpoints_from_urls(["dc1=mysql://host:3306", "dc2=mysql://u@h"], {})


def test_password_in_url_is_refused() -> None:
    with pytest.raises(LabError, match="LAB_CHECK_PASSWORD_DC1"):
        parse_dc("dc1=mysql://root:secret@host/db")


def test_password_precedence() -> None:
    env = {"LAB_CHECK_PASSWORD_DC_EAST": "specific", "LAB_CHECK_PASSWORD": "general"}
    assert env_name("dc-east") == "LAB_CHECK_PASSWORD_DC_EAST"
    assert password_for("dc-east", env, {"dc-east": "file"}) == "specific"
    assert password_for("west", env, {"west": "file", "*": "any"}) == "file"
    assert password_for("north", env, {"*": "any"}) == "any"
    assert password_for("north", env, {}) == "general"
    assert password_for("north", {}, {}) == ""


def test_password_file_formats(tmp_path: Path) -> None:
    per_dc = tmp_path / "per-dc"
    per_dc.write_text("# comment\ndc1=p=1\ndc2=two\n")
    assert read_password_file(per_dc, ["dc1", "dc2"]) == {"dc1": "p=1", "dc2": "two"}
    single = tmp_path / "single"
    single.write_text("s3cret=x\n")
    assert read_password_file(single, ["dc1", "dc2"]) == {"*": "s3cret=x"}
    bad = tmp_path / "bad"
    bad.write_text("one\ntwo\n")
    with pytest.raises(LabError):
        read_password_file(bad, ["dc1"])


def test_endpoints_from_urls() -> None:
    endpoints = endpoints_from_urls(["a=mysql://u@h1:1/x", "b=mysql://u@h2:2/x"], {"LAB_CHECK_PASSWORD": "pw"})
    assert list(endpoints) == ["a", "b"] and endpoints["b"].port == 2 and endpoints["a"].password == "pw"
    assert "pw" not in repr(endpoints["a"])
    with pytest.raises(LabError, match="unique"):
        endpoints_from_urls(["a=mysql://u@h1", "a=mysql://u@h2"], {})
    with pytest.raises(LabError, match="at least two"):
        endpoints_from_urls(["a=mysql://u@h1"], {})


def test_plain_values() -> None:
    assert plain(b"\x00\xff") == "0x00ff"
    assert plain(Decimal("1.50")) == "1.50"
    assert plain(datetime.datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02 03:04:05"
    assert plain(datetime.timedelta(hours=-1, minutes=-2)) == "-01:02:00"
    assert plain(float("nan")) is None and plain(None) is None and plain(2**64) == 2**64


def test_json_and_table_rendering() -> None:
    divergence = Divergence("1", (1,), "values_differ", ("dc2",),
                            {"dc1": {"id": 1, "v": None}, "dc2": {"id": 1, "v": ""}}, ("v",))
    result = CheckResult("lab.t", ["dc1", "dc2"], ["id"], ["id", "v"], [divergence], {"dc1": "x", "dc2": "y"})
    document = json.loads(to_json(result))
    assert document["in_sync"] is False and document["counts"]["values_differ"] == 1
    assert document["differences"] == [{"id": 1, "column": "v", "kind": "values_differ", "dc1": None, "dc2": ""}]
    assert table_rows(result.differences) == [{"id": 1, "column": "v", "kind": "values_differ",
                                               "dc1": "NULL", "dc2": "''"}]
