"""Topology validation: every bad file gets one line naming the file and the exact field, and nothing starts.

The corpus lives in tests/unit/bad_topologies/. Each file states what it expects in its first lines:

    # field: links.1.source          the exact field path ConfigError must name
    # says: undefined server 'dc3'   a piece of the problem text

so adding a case is adding a file.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lab.db import topology
from lab.db.images.spec import ImageRequest
from lab.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "bad_topologies"
SHIPPED = sorted((REPO / "topologies").glob("*.yaml"))
BAD_FILES = sorted(CORPUS.glob("*.yaml"))
HEADER = re.compile(r"^# (field|says): (.*)$")


def expectations(path: Path) -> dict[str, str]:
    """The `# field:` and `# says:` header lines of a corpus file."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines()[:3]:
        match = HEADER.match(line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def test_corpus_is_complete() -> None:
    """Guard against a silently empty corpus or a file without its expectations."""
    assert len(BAD_FILES) >= 15
    for path in BAD_FILES:
        assert path.read_text().startswith("# field: "), f"{path.name}: first line must be `# field: ...`"
        assert "says" in expectations(path), f"{path.name}: second line must be `# says: ...`"


@pytest.mark.parametrize("path", BAD_FILES, ids=[p.stem for p in BAD_FILES])
def test_bad_topology_names_file_and_field(path: Path) -> None:
    expected = expectations(path)
    with pytest.raises(ConfigError) as caught:
        topology.load(path)
    error = caught.value
    message = str(error)
    assert error.source == str(path)
    assert error.field == expected["field"], message
    assert "\n" not in message and "\r" not in message, f"not one line: {message!r}"
    assert message.startswith(f"{path}: {expected['field']}: "), message
    assert expected["says"] in error.problem, message


def test_several_problems_still_give_one_line(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text("name: many\nreplication: sideways\nservers:\n  dc1: {port: x, gtid: maybe}\n")
    with pytest.raises(ConfigError) as caught:
        topology.load(path)
    assert caught.value.field == "replication"
    assert "[and 2 more problem(s)]" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: \(file\): does not exist"):
        topology.load(tmp_path / "nope.yaml")


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    """`<<: *anchor` then overriding a key is normal YAML, not a duplicate key."""
    path = tmp_path / "merge.yaml"
    path.write_text(
        "name: merged\nreplication: one-way\n"
        "servers:\n  dc1: &base {binlog_format: ROW, gtid: false}\n  dc2: {<<: *base, binlog_format: MIXED}\n"
        "links:\n  - {source: dc1, replica: dc2}\n"
    )
    resolved = topology.load(path)
    assert resolved.servers["dc1"].binlog_format == "ROW"
    assert resolved.servers["dc2"].binlog_format == "MIXED"
    assert resolved.servers["dc2"].gtid is False


def test_cli_up_reports_bad_file_in_one_line_and_starts_nothing(tmp_path: Path) -> None:
    """`lab up` on a bad file must fail before touching Docker: point it at an engine that does not exist."""
    path = CORPUS / "link-undefined-server.yaml"
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock", "LAB_STATE_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "lab", "up", str(path)], capture_output=True, text=True,
                            env=env, cwd=REPO, timeout=60, check=False)
    assert result.returncode == 2, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"error: {path}: links.1.source: names undefined server 'dc3' "
                     f"(define it under servers (have: dc1, dc2))"], result.stderr


# --- shipped topologies -----------------------------------------------------------------------


def test_the_issue_topologies_are_shipped() -> None:
    names = {p.stem for p in SHIPPED}
    assert {"active-passive", "active-active", "ring-3"} <= names
    assert any(server.role == "replica" for p in SHIPPED for server in topology.load(p).servers.values()), \
        "one shipped topology must have a local read replica"


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_topology_loads(path: Path) -> None:
    resolved = topology.load(path)
    assert resolved.name == path.stem
    assert resolved.source_file == str(path)
    assert resolved.servers and (resolved.links or resolved.certifying)
    ids = [s.server_id for s in resolved.servers.values()]
    assert len(set(ids)) == len(ids), "server ids must be unique or replication drops events"
    for link in resolved.links:
        assert link.source in resolved.servers and link.replica in resolved.servers
    for dc, primary in resolved.dcs.items():
        assert resolved.servers[primary].role == "primary" and resolved.servers[primary].dc == dc
    assert topology.find(path.stem).resolve() == path.resolve()


def test_shipped_replication_modes_match_their_links() -> None:
    modes = {p.stem: topology.load(p).replication for p in SHIPPED}
    assert modes["active-passive"] == "one-way"
    assert modes["active-active"] == "circular"
    assert modes["ring-3"] == "circular"


# --- command-line overrides ---------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
@pytest.mark.parametrize(("flavor", "binlog_format"), [("mariadb:10.11", "row"), ("mysql:8.4", "MIXED")])
def test_overrides_apply_to_every_server(path: Path, flavor: str, binlog_format: str) -> None:
    family, version = flavor.split(":")
    design = yaml.safe_load(path.read_text())["replication"]
    needs = topology.FAMILY_OF_DESIGN.get(design)
    if needs and needs != family:   # a group is MySQL's, a Galera cluster MariaDB's
        with pytest.raises(ConfigError, match=rf"--flavor: flavor: {flavor} cannot run replication: {design}"):
            topology.load(path, flavor=flavor, binlog_format=binlog_format)
        return
    resolved = topology.load(path, flavor=flavor, binlog_format=binlog_format)
    variant = "galera" if design == "galera" else None
    for server in resolved.servers.values():
        assert server.image == ImageRequest(family, version, variant=variant), server.name
        assert server.binlog_format == binlog_format.upper(), server.name


def test_overrides_beat_per_server_settings_and_explicit_images(tmp_path: Path) -> None:
    path = tmp_path / "mixed.yaml"
    path.write_text(
        "name: mixed\nreplication: one-way\n"
        "defaults: {flavor: mysql:9.7, binlog_format: STATEMENT}\n"
        "servers:\n"
        "  dc1: {flavor: mysql:8.0, binlog_format: ROW}\n"
        "  dc2: {image: registry.example/custom-mysql:1, binlog_format: MIXED}\n"
        "links:\n  - {source: dc1, replica: dc2}\n"
    )
    plain = topology.load(path)
    assert plain.servers["dc1"].image == ImageRequest("mysql", "8.0")
    assert plain.servers["dc2"].image == ImageRequest(None, None, "registry.example/custom-mysql:1")
    assert [s.binlog_format for s in plain.servers.values()] == ["ROW", "MIXED"]

    overridden = topology.load(path, flavor="mariadb:11.8", binlog_format="statement")
    assert {s.image for s in overridden.servers.values()} == {ImageRequest("mariadb", "11.8")}
    assert {s.binlog_format for s in overridden.servers.values()} == {"STATEMENT"}


def test_no_override_keeps_file_settings() -> None:
    resolved = topology.load(REPO / "topologies" / "active-active.yaml")
    assert {s.image for s in resolved.servers.values()} == {ImageRequest("mysql", "9.7")}
    assert {s.binlog_format for s in resolved.servers.values()} == {"STATEMENT"}


@pytest.mark.parametrize(
    ("overrides", "source", "field"),
    [
        ({"flavor": "mysql-9.7"}, "--flavor", "flavor"),
        ({"flavor": "oracle:23.1"}, "--flavor", "flavor"),
        ({"binlog_format": "FAST"}, "--binlog-format", "binlog_format"),
    ],
)
def test_bad_override_is_a_one_line_config_error(overrides: dict[str, str], source: str, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        topology.load(REPO / "topologies" / "active-active.yaml", **overrides)
    assert (caught.value.source, caught.value.field) == (source, field)
    assert str(caught.value).startswith(f"{source}: {field}: ")
    assert "\n" not in str(caught.value)
