"""`lab doctor`'s pure logic: which fault kinds work given probed facts, engine locality, the exit code, the output.

No probe runs here: facts are written by hand, as the probes would report them on hosts we do not have
(engine down, not root, no netem, remote / rootless / Docker Desktop engines).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from lab.cli.doctor import as_document, doctor, exit_code, flavor_rows, show
from lab.faults import capabilities, kinds, probes
from lab.faults.base import Fault
from lab.faults.capabilities import FACTS, Fact, verdict

NETWORK = ("partition", "isolate", "loss", "bandwidth")
ENGINE_ONLY = ("stop_thread", "stop_io", "stop_sql", "hold_appliers", "delay", "idempotent", "skip_event", "crash",
               "restart")


def host(**changes: Fact) -> dict[str, Fact]:
    """Every fact holding (a healthy Linux host with netem), then the changes."""
    facts = {name: Fact(True, f"{name} ok") for name in FACTS}
    facts.update(changes)
    return facts


def engine_down() -> dict[str, Fact]:
    unchecked = Fact(None, "not checked: the engine is down")
    return host(engine=Fact(False, "down at tcp://127.0.0.1:1: no engine is listening", "start it"),
                engine_local=unchecked, container_netns=unchecked, proxy_netns=unchecked, freezer=unchecked)


def test_every_fault_kind_and_alias_has_host_needs() -> None:
    assert len(kinds()) >= 15
    missing = [kind for kind in kinds() if capabilities.routes_for(kind) is None]
    assert not missing, f"add these kinds to lab.faults.capabilities.ROUTES: {missing}"
    assert set(capabilities.ROUTES) == set(Fault.registry.values())


def test_every_need_is_a_known_fact() -> None:
    needed = {name for routes in capabilities.ROUTES.values() for route in routes for name in route.needs}
    assert needed <= set(FACTS)


def test_a_healthy_host_runs_every_kind_the_preferred_way() -> None:
    found = {v.kind: v for v in capabilities.verdicts(host())}
    assert {v.status for v in found.values()} == {"works"}
    assert found["latency"].route == "netem"


def test_without_netem_latency_falls_back_to_the_proxy_and_bandwidth_still_works() -> None:
    facts = host(netem=Fact(False, "no sch_netem in this kernel"))
    latency = verdict("latency", facts)
    assert (latency.status, latency.route, latency.missing) == ("fallback", "proxy", ("netem",))
    assert "proxy" in latency.how and "no sch_netem" in latency.how
    assert verdict("bandwidth", facts).status == "works"


def test_engine_down_rules_out_every_container_fault_but_not_clock_skew() -> None:
    facts = engine_down()
    for kind in (*NETWORK, *ENGINE_ONLY, "latency", "pause"):
        result = verdict(kind, facts)
        assert result.status == "no", kind
        assert result.how.startswith("needs the Docker engine") and "no engine is listening" in result.how, kind
        assert "not checked" not in result.how, kind  # the engine is the cause; what it hides is not repeated
    assert verdict("clock_skew", facts).status == "works"


def test_not_root_rules_out_network_faults_and_latency_but_not_sql_faults() -> None:
    facts = host(root=Fact(False, "euid 1000"), netem=Fact(None, "not checked: needs root"),
                 container_netns=Fact(None, "not checked: needs root"), proxy_netns=Fact(None, "not checked"))
    for kind in (*NETWORK, "latency"):
        result = verdict(kind, facts)
        assert result.status == "no" and "needs root" in result.how and "euid 1000" in result.how, kind
    assert {verdict(kind, facts).status for kind in (*ENGINE_ONLY, "pause", "clock_skew")} == {"works"}


@pytest.mark.parametrize(("endpoint", "info", "words"), [
    ("tcp://10.1.2.3:2376", {}, "remote engine at 10.1.2.3"),
    ("ssh://ops@db-host", {}, "remote engine at db-host"),
    ("unix:///var/run/docker.sock", {"OperatingSystem": "Docker Desktop"}, "Docker Desktop"),
    ("npipe:////./pipe/docker_engine", {}, "Docker Desktop"),
    ("unix:///run/user/1000/docker.sock", {"SecurityOptions": ["name=seccomp,profile=default", "name=rootless"]},
     "rootless engine"),
])
def test_engines_whose_namespaces_the_lab_cannot_enter(endpoint: str, info: dict[str, object], words: str) -> None:
    local = probes.engine_locality(info, endpoint)
    assert local.ok is False and words in local.detail and "root" in local.fix
    facts = host(engine_local=local, container_netns=Fact(None, "not checked"), proxy_netns=Fact(None, "not checked"))
    for kind in (*NETWORK, "latency"):
        assert verdict(kind, facts).status == "no" and words in verdict(kind, facts).how, kind
    assert {verdict(kind, facts).status for kind in (*ENGINE_ONLY, "pause")} == {"works"}


@pytest.mark.parametrize("endpoint", ["unix:///var/run/docker.sock", "tcp://127.0.0.1:2375", "tcp://localhost:2375"])
def test_a_rootful_engine_on_this_host_is_local(endpoint: str) -> None:
    info = {"OperatingSystem": "Debian GNU/Linux 12 (bookworm)", "SecurityOptions": ["name=seccomp,profile=default"]}
    assert probes.engine_locality(info, endpoint).ok is True


def test_facts_not_checked_give_unknown_not_a_false_no() -> None:
    facts = host(container_netns=Fact(None, "not checked: no server image"))
    assert verdict("partition", facts).status == "unknown"
    assert verdict("pause", host(freezer=Fact(False, "APIError: cannot pause"))).status == "no"


def test_a_kind_the_lab_does_not_know_is_unknown() -> None:
    result = verdict("plugin_only_kind", host())
    assert result.status == "unknown" and "plugin" in result.how


def test_down_reason_is_the_cause_in_a_few_words() -> None:
    refused = ("Error while fetching server API version: HTTPConnectionPool(host='127.0.0.1', port=1): Max retries "
               "exceeded (Caused by NewConnectionError(... [Errno 111] Connection refused))")
    assert probes.down_reason(refused, 3) == "no engine is listening"
    assert probes.down_reason("Read timed out. (read timeout=3)", 3) == "no answer within 3 s"
    denied = "('Connection aborted.', PermissionError(13, 'Permission denied'))"
    assert probes.down_reason(denied, 3).startswith("permission denied on its socket")
    assert len(probes.down_reason("x" * 500, 3)) <= 160


FLAVORS_READY = [{"flavor": "mysql:9.7", "status": "ready"}, {"flavor": "mariadb:11.8", "status": "missing: ..."}]


@pytest.mark.parametrize(("facts", "flavors", "code"), [
    (host(), FLAVORS_READY, 0),
    (host(netem=Fact(False, "no sch_netem")), FLAVORS_READY, 0),              # a fallback counts as working
    (host(), [{"flavor": "mysql:9.7", "status": "buildable offline"}], 0),
    (engine_down(), FLAVORS_READY, 1),
    (host(), [{"flavor": "mysql:9.7", "status": "missing: no registry"}], 1),  # the demo cannot get its image
    (host(freezer=Fact(False, "cannot pause")), FLAVORS_READY, 1),           # a fault type does not work
])
def test_exit_code(facts: dict[str, Fact], flavors: list[dict[str, str]], code: int) -> None:
    assert exit_code(facts, flavors, capabilities.verdicts(facts), "mysql:9.7") == code


def test_help_states_the_exit_codes() -> None:
    result = CliRunner().invoke(doctor, ["--help"])
    assert result.exit_code == 0 and "Exit codes:" in result.output and "1 something is missing" in result.output


def fake_report(facts: dict[str, Fact]) -> dict[str, object]:
    engine = {"reachable": False, "endpoint": "tcp://127.0.0.1:1", "error": "no engine is listening", "fix": "x"}
    return {"engine": engine, "images": [], "facts": facts, "flavors": flavor_rows(None, facts),
            "labs": [], "lab_rows": [], "verdicts": capabilities.verdicts(facts), "took_s": 0.1}


def test_engine_down_report_keeps_the_host_rows(capsys: pytest.CaptureFixture[str]) -> None:
    facts = engine_down()
    report = fake_report(facts)
    document = json.loads(json.dumps(as_document(report, 1)))
    assert {"engine", "images", "flavors", "lab_containers", "labs", "host", "faults"} <= set(document)
    assert document["host"]["root"]["ok"] is True and document["host"]["engine"]["ok"] is False
    assert document["faults"]["stop_thread"]["aliases"] == ["stop_io", "stop_sql"]
    assert {row["status"] for row in document["flavors"]} == {"unknown: the engine is down"}
    show(report, 1)
    out = capsys.readouterr().out
    assert "engine down at tcp://127.0.0.1:1" in out and "Host capabilities" in out and "nsenter" in out
    assert out.strip().splitlines()[-1].startswith("exit 1: the Docker engine is down")
