"""Measure the host facts lab.faults.capabilities reasons about: tools, privileges, kernel features, the engine.

Every probe is real and cheap (about 0.5 s in all, measured on this 2-core host): kernel features are tried
in a scratch network namespace (`unshare -n`, about 20 ms each) with the exact commands the faults run
(iptables.DropRule, shaping.root_argvs / PeerClass), netem through shaping.netem_available (the
detection the latency fault itself uses), and entering a container's namespace, the delay proxy's
setns and `docker pause` on one scratch container (`sleep`, no network, about 0.4 s) started from
the smallest local server image. Nothing touches an existing container or the host's own network.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shlex
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import docker
from docker.errors import APIError, DockerException
from requests.exceptions import RequestException

from lab.db import engine, labels
from lab.faults import shaping
from lab.faults.capabilities import Fact
from lab.faults.iptables import DropRule, tag_for
from lab.faults.netns import Netns, NetnsError
from lab.faults.netns import of as netns_of
from lab.faults.proxy import DelayProxy

DEFAULT_ENDPOINT = "unix:///var/run/docker.sock"
ENGINE_FIX = "start it: `bash scripts/setup.sh` (Debian/Ubuntu, as root) or `dockerd &`; or set DOCKER_HOST"
LOCAL_FIX = "run the lab as root on the Linux host of a rootful engine (`bash scripts/setup.sh` sets one up)"
REGISTRY = ("registry-1.docker.io", 443)
PROBE_LABEL = "io.mysqllab.probe"
SCRATCH_PEER = "192.0.2.1"  # TEST-NET-1: an address no real peer has
LOOPBACK = ("localhost", "127.0.0.1", "::1", "")
TOOLS = {"nsenter": "util-linux", "unshare": "util-linux", "iptables": "iptables", "tc": "iproute2",
         "ip": "iproute2"}


def _unchecked(why: str) -> Fact:
    return Fact(None, f"not checked: {why}")


# --- the host, without the engine -----------------------------------------------------------------------------
def host_facts() -> dict[str, Fact]:
    """Privileges, tools and kernel features of the machine this process runs on."""
    linux = sys.platform.startswith("linux")
    facts = {"linux": Fact(linux, f"{platform.system()} {platform.release()}", LOCAL_FIX)}
    euid = os.geteuid() if hasattr(os, "geteuid") else -1
    facts["root"] = Fact(euid == 0, f"euid {euid}", "run the lab as root (e.g. sudo .venv/bin/lab ...)")
    for tool, package in TOOLS.items():
        path = shutil.which(tool)
        facts[tool] = Fact(path is not None, path or "not on PATH",
                           f"apt-get install {package} (`bash scripts/setup.sh` installs it)")
    facts.update(kernel_facts(facts))
    builder = shutil.which("debootstrap")
    facts["debootstrap"] = Fact(bool(builder) and euid == 0, (builder or "not on PATH") if euid == 0 else "needs root",
                                "apt-get install debootstrap, and run as root")
    return facts


def _scratch(argvs: list[list[str]]) -> Fact:
    """Run commands, in order, in a fresh network namespace that vanishes with them."""
    script = " && ".join(shlex.join(argv) for argv in argvs)
    try:
        done = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return Fact(False, f"{type(exc).__name__}: {exc}")
    if done.returncode == 0:
        return Fact(True, "works in a scratch network namespace")
    lines = (done.stderr or done.stdout).strip().splitlines()
    return Fact(False, lines[-1] if lines else f"exit code {done.returncode}")


def kernel_facts(facts: dict[str, Fact]) -> dict[str, Fact]:
    """iptables matches and tc qdiscs the faults use, tried with the faults' own command lines."""
    if not (facts["root"].ok and facts["unshare"].ok):
        return {name: _unchecked("needs root and `unshare`") for name in
                ("iptables_rules", "iptables_statistic", "htb", "netem")}
    found: dict[str, Fact] = {}
    tag = tag_for("doctor", "probe")
    if facts["iptables"].ok:
        found["iptables_rules"] = _scratch([DropRule("probe", SCRATCH_PEER, tag, 3306).insert_argv()])
        found["iptables_statistic"] = _scratch([DropRule("probe", SCRATCH_PEER, tag, None, 0.5).insert_argv()])
    else:
        found["iptables_rules"] = found["iptables_statistic"] = _unchecked("`iptables` is missing")
    if facts["tc"].ok:
        shaped = shaping.PeerClass("lo", shaping.FIRST_MINOR, SCRATCH_PEER, rate="1mbit")
        found["htb"] = _scratch([*shaping.root_argvs("lo"), *shaped.add_argvs()])
        found["netem"] = (Fact(True, "tc netem works in a scratch network namespace") if shaping.netem_available()
                          else Fact(False, "`tc qdisc add ... netem` fails in a scratch namespace (no sch_netem in "
                                           "this kernel)", "a kernel with CONFIG_NET_SCH_NETEM (latency falls back "
                                                           "to the delay proxy meanwhile)"))
    else:
        found["htb"] = found["netem"] = _unchecked("`tc` is missing")
    return found


def registry_fact(timeout: float = 2.0) -> Fact:
    """Can this host reach Docker Hub? Name lookup and connect, bounded: a hanging resolver cannot stall doctor."""
    outcome: list[str] = []

    def reach() -> None:
        try:
            with socket.create_connection(REGISTRY, timeout=timeout):
                outcome.append("")
        except OSError as exc:
            outcome.append(str(exc) or type(exc).__name__)

    worker = threading.Thread(target=reach, daemon=True)
    worker.start()
    worker.join(timeout * 1.5)
    where = f"{REGISTRY[0]}:{REGISTRY[1]}"
    if not outcome:
        return Fact(False, f"{where}: no answer within {timeout * 1.5:g} s", "docker load, or build offline")
    ok = outcome[0] == ""
    return Fact(ok, f"{where} reachable from this host" if ok else f"{where}: {outcome[0]}",
                "" if ok else "images must be local: `lab images ensure FLAVOR` builds them offline")


# --- the engine ---------------------------------------------------------------------------------------------
def engine_locality(info: dict[str, Any], endpoint: str) -> Fact:
    """Can this process enter the engine's containers' namespaces? Not if the engine is elsewhere or rootless."""
    parsed = urlparse(endpoint)
    if parsed.scheme in ("tcp", "http", "https", "ssh") and (parsed.hostname or "") not in LOOPBACK:
        return Fact(False, f"remote engine at {parsed.hostname}: its containers' namespaces are on another machine",
                    LOCAL_FIX)
    if parsed.scheme == "npipe" or "Docker Desktop" in str(info.get("OperatingSystem", "")):
        return Fact(False, "Docker Desktop: the engine runs in a VM, its containers' namespaces are not on this "
                           "host", LOCAL_FIX)
    if any("rootless" in str(option) for option in info.get("SecurityOptions") or []):
        return Fact(False, "rootless engine: its containers' namespaces belong to a user namespace that "
                           "`nsenter -n` cannot enter", LOCAL_FIX)
    return Fact(True, f"rootful engine on this host ({endpoint})")


def down_reason(error: str, timeout: float) -> str:
    """docker-py's multi-clause error -> the one cause a user acts on."""
    if any(text in error for text in ("Connection refused", "No such file", "FileNotFoundError")):
        return "no engine is listening"
    if "Permission denied" in error:
        return "permission denied on its socket (run as root, or join the `docker` group)"
    if "timed out" in error.lower() or "timeout" in error.lower():
        return f"no answer within {timeout:g} s"
    first = error.splitlines()[0] if error else "unknown error"
    return first if len(first) <= 160 else first[:157] + "..."


def engine_facts(timeout: float = 3.0) -> tuple[dict[str, Any], dict[str, Fact]]:
    """(what `lab doctor` shows about the engine, the facts faults need). A bounded ping: a dead or
    black-holed DOCKER_HOST answers within `timeout`, not the lab's usual two minutes."""
    endpoint = os.environ.get("DOCKER_HOST", DEFAULT_ENDPOINT)
    try:
        quick = docker.from_env(timeout=int(timeout))
        quick.ping()
        info = quick.info()
    except (DockerException, RequestException, OSError) as exc:
        reason = down_reason(str(exc), timeout)
        down = {"reachable": False, "endpoint": endpoint, "error": reason, "fix": ENGINE_FIX}
        return down, {"engine": Fact(False, f"down at {endpoint}: {reason}", ENGINE_FIX),
                      "engine_local": _unchecked("the engine is down")}
    local = engine_locality(info, endpoint)
    shown = {"reachable": True, **engine.describe(), "operating_system": str(info.get("OperatingSystem", "?")),
             "rootless": any("rootless" in str(o) for o in info.get("SecurityOptions") or []),
             "docker_desktop": "Docker Desktop" in str(info.get("OperatingSystem", "")),
             "local": bool(local.ok)}
    return shown, {"engine": Fact(True, f"{endpoint}, version {shown['server_version']}"), "engine_local": local}


# --- one scratch container --------------------------------------------------------------------------------------
def _attempt(probe: Callable[[], str]) -> Fact:
    try:
        return Fact(True, probe())
    except (NetnsError, DockerException, OSError, TimeoutError, subprocess.SubprocessError) as exc:
        return Fact(False, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")


def _tools_in(netns: Netns) -> str:
    """Read-only: list the rules and qdiscs, through the same nsenter path the faults use."""
    netns.run("iptables", "-w", "5", "-S", "INPUT")
    netns.run("tc", "qdisc", "show", "dev", "lo")
    return "nsenter -t PID -n: iptables -S and tc qdisc show worked in a scratch container"


def _proxy_in(netns: Netns) -> str:
    proxy = DelayProxy((SCRATCH_PEER, 3306), netns=netns)
    try:
        port = proxy.start(timeout=5)
    finally:
        proxy.stop(timeout=5)
    return f"a delay proxy listened on 127.0.0.1:{port} inside a scratch container"


def _pause(container: Any) -> str:
    container.pause()
    container.reload()
    status = container.status
    container.unpause()
    if status != "paused":
        raise OSError(f"the container was {status!r}, not paused, after docker pause")
    return "paused and unpaused a scratch container"


def container_facts(image: str | None, facts: dict[str, Fact]) -> dict[str, Fact]:
    """Enter a scratch container's network namespace (nsenter, setns) and pause it, as the faults would."""
    names = ("container_netns", "proxy_netns", "freezer")
    if not facts["engine"].ok:
        return {name: _unchecked("the engine is down") for name in names}
    if image is None:
        return {name: _unchecked("no server image to start a scratch container from (`lab images ensure "
                                 "mysql:9.7`)") for name in names}
    try:
        container = engine.client().containers.run(image, entrypoint=["sleep", "20"], detach=True, auto_remove=True,
                                                   network_mode="none",
                                                   labels={labels.MANAGED: "true", PROBE_LABEL: "doctor"})
    except DockerException as exc:
        return {name: Fact(False, f"could not start a scratch container from {image}: {exc}") for name in names}
    try:
        found = {"freezer": _attempt(lambda: _pause(container))}
        local = facts["engine_local"]
        if not (local.ok and facts["root"].ok):
            why = "needs root and a local rootful engine"
            return {"container_netns": _unchecked(why), "proxy_netns": _unchecked(why), **found}
        try:
            netns = netns_of(container)
        except NetnsError as exc:
            return {"container_netns": Fact(False, str(exc)), "proxy_netns": Fact(False, str(exc)), **found}
        found["proxy_netns"] = _attempt(lambda: _proxy_in(netns))
        if facts["nsenter"].ok and facts["iptables"].ok and facts["tc"].ok:
            found["container_netns"] = _attempt(lambda: _tools_in(netns))
        else:
            found["container_netns"] = _unchecked("`nsenter`, `iptables` or `tc` is missing")
        return found
    finally:
        with contextlib.suppress(APIError, DockerException):
            container.remove(force=True)
