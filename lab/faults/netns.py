"""Reach into a container's network namespace from the host: nsenter for iptables/tc, setns for proxy threads.

The server images have neither iptables nor tc nor Python, and no image can be pulled here,
so host tools run inside the container's namespace instead of a sidecar. Nothing leaves the
lab's own network: rules and qdiscs exist only inside the namespace, and die with it.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from dataclasses import dataclass

from docker.errors import NotFound
from docker.models.containers import Container

from lab.errors import LabError

CLONE_NEWNET = 0x40000000


class NetnsError(LabError):
    """A host tool failed inside a container's namespace."""


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise NetnsError(f"`{name}` is not installed on the host (run `bash scripts/setup.sh`, which installs it)")
    return path


@dataclass(frozen=True)
class Netns:
    """One container's network namespace, pinned by the PID of its process at the time we looked."""

    container: str
    pid: int

    def run(self, *argv: str, check: bool = True, timeout: float = 15.0) -> subprocess.CompletedProcess[str]:
        """Run a host tool inside this namespace (`nsenter -t PID -n ...`)."""
        command = [require_tool("nsenter"), "-t", str(self.pid), "-n", require_tool(argv[0]), *argv[1:]]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise NetnsError(f"{self.container}: `{' '.join(argv)}` failed: {result.stderr.strip() or result.stdout}")
        return result

    def alive(self) -> bool:
        """False once the container restarted or stopped: its namespace, and whatever we put in it, is gone."""
        return _container_pid(self.container) == self.pid

    def device_towards(self, ip: str) -> str:
        """The interface this namespace uses to reach `ip` (interfaces get renamed on reconnect)."""
        words = self.run("ip", "-o", "route", "get", ip).stdout.split()
        try:
            return words[words.index("dev") + 1]
        except (ValueError, IndexError):
            raise NetnsError(f"{self.container}: no route to {ip}: {' '.join(words)}") from None

    def enter_current_thread(self) -> None:
        """Move the calling OS thread (only it) into this namespace; sockets it creates then live there."""
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/proc/{self.pid}/ns/net", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                errno = ctypes.get_errno()
                raise NetnsError(f"{self.container}: setns failed: {os.strerror(errno)}")
        finally:
            os.close(fd)


def _container_pid(name: str) -> int:
    from lab.db import engine

    try:
        attrs = engine.client().api.inspect_container(name)
    except NotFound:
        return 0
    return int(attrs["State"].get("Pid") or 0)


def of(container: Container) -> Netns:
    """The namespace of a running (or paused) container."""
    container.reload()
    pid = int(container.attrs["State"].get("Pid") or 0)
    if not pid:
        raise NetnsError(f"{container.name} is not running (status {container.status}); it has no network namespace")
    return Netns(container.name, pid)


def ip_on(container: Container, network: str) -> str:
    """The container's address on the lab network: what its peers see as the source of its packets."""
    container.reload()
    networks = container.attrs["NetworkSettings"]["Networks"]
    address = (networks.get(network) or {}).get("IPAddress")
    if not address:
        raise NetnsError(f"{container.name} has no address on network {network} (have: {', '.join(networks)})")
    return address
