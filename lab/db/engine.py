"""Find the Docker engine: DOCKER_HOST first, then the default socket.

Installing and starting an engine is the setup script's job (`scripts/setup.sh`);
here we only connect, and say in one line what to do when that fails.
"""

from __future__ import annotations

import functools
import os

import docker
from docker.errors import DockerException

from lab.errors import EngineError

SETUP_HINT = "run `bash scripts/setup.sh` on Debian/Ubuntu as root, or install and start Docker"


@functools.lru_cache(maxsize=1)
def client() -> docker.DockerClient:
    """A connected client, shared by the whole process."""
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        engine = docker.from_env(timeout=120)
        engine.ping()
    except DockerException as exc:
        reason = str(exc).split("\n")[0]
        if "No such file" in reason or "FileNotFoundError" in reason or "Connection refused" in reason:
            reason = "no engine is listening"
        raise EngineError(f"no Docker engine at {where}: {reason} ({SETUP_HINT})") from None
    return engine


def describe() -> dict[str, str]:
    """Facts for `lab doctor`."""
    info = client().info()
    return {
        "endpoint": os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"),
        "server_version": str(info.get("ServerVersion", "?")),
        "storage_driver": str(info.get("Driver", "?")),
        "cgroup": f"{info.get('CgroupDriver', '?')} v{info.get('CgroupVersion', '?')}",
        "cpus": str(info.get("NCPU", "?")),
        "memory_gib": f"{int(info.get('MemTotal', 0)) / 2**30:.1f}",
    }
