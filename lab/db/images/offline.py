"""Build MySQL/MariaDB server images from Debian packages, for machines with no registry.

Recipe: debootstrap a minimal root filesystem, install the server packages into it,
trim what the lab never uses, then `docker import` it. The resulting image has the
server binary as its entrypoint, so it is configured purely by command-line options,
exactly like the official images are.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lab.errors import ImageError

MIRROR = os.environ.get("LAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SECURITY_MIRROR = os.environ.get("LAB_DEBIAN_SECURITY_MIRROR", "http://deb.debian.org/debian-security")
OFFLINE_REPOSITORY = "mysqllab"


@dataclass(frozen=True)
class DebianRecipe:
    """Where a given flavor/version (and variant) lives in Debian."""

    flavor: str
    version: str
    suite: str
    packages: tuple[str, ...]
    extra_sources: tuple[str, ...] = ()
    variant: str | None = None

    @property
    def tag(self) -> str:
        name = f"{self.flavor}-{self.variant}" if self.variant else self.flavor
        return f"{OFFLINE_REPOSITORY}/{name}:{self.version}"

    @property
    def flavor_text(self) -> str:
        return f"{self.flavor}:{self.version}" + (f"+{self.variant}" if self.variant else "")

    @property
    def server_binary(self) -> str:
        return "/usr/sbin/mariadbd" if self.flavor == "mariadb" else "/usr/sbin/mysqld"


MARIADB = ("mariadb-server-core", "mariadb-client-core")
# Galera: the provider, and mariadb-server for the state-transfer scripts (wsrep_sst_rsync) with rsync.
GALERA = ("mariadb-server", "galera-4", "rsync")
BOOKWORM_UPDATES = (f"deb {MIRROR} bookworm-updates main", f"deb {SECURITY_MIRROR} bookworm-security main")

RECIPES: dict[tuple[str, str, str | None], DebianRecipe] = {
    ("mysql", "9.7", None): DebianRecipe("mysql", "9.7", "sid", ("mysql-server-core", "mysql-client-core")),
    ("mariadb", "10.11", None): DebianRecipe("mariadb", "10.11", "bookworm", MARIADB, BOOKWORM_UPDATES),
    ("mariadb", "10.11", "galera"): DebianRecipe("mariadb", "10.11", "bookworm", MARIADB + GALERA, BOOKWORM_UPDATES,
                                                 "galera"),
    ("mariadb", "11.8", None): DebianRecipe("mariadb", "11.8", "trixie", MARIADB),
    ("mariadb", "11.8", "galera"): DebianRecipe("mariadb", "11.8", "trixie", MARIADB + GALERA, variant="galera"),
}

# Paths removed from the root filesystem: documentation, locales and tools the lab never runs.
TRIM_PATHS = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "usr/share/lintian",
    "var/cache/apt/archives",
    "var/lib/apt/lists",
    "usr/bin/mysql_upgrade",
)


def recipe_for(flavor: str, version: str, variant: str | None = None) -> DebianRecipe | None:
    return RECIPES.get((flavor, version, variant))


def _run(command: list[str], step: str, log: Path) -> None:
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        completed = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
    if completed.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        raise ImageError(f"offline image build failed at {step}: {tail[0]} (full log: {log})")


def _prepare_chroot(rootfs: Path, recipe: DebianRecipe) -> None:
    apt_conf = rootfs / "etc/apt/apt.conf.d/99lab"
    # The mirror may be a dated snapshot; without this apt rejects its Release files as expired.
    apt_conf.write_text(
        'Acquire::Check-Valid-Until "false";\nAPT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n'
    )
    sources = rootfs / "etc/apt/sources.list"
    lines = [f"deb {MIRROR} {recipe.suite} main", *recipe.extra_sources]
    sources.write_text("\n".join(lines) + "\n")
    # Keep package scripts from trying to start services inside the chroot.
    policy = rootfs / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    shutil.copy("/etc/resolv.conf", rootfs / "etc/resolv.conf")


def _finish_rootfs(rootfs: Path) -> None:
    for relative in TRIM_PATHS:
        target = rootfs / relative
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        elif target.exists():
            target.unlink()
    (rootfs / "usr/sbin/policy-rc.d").unlink(missing_ok=True)
    # mysqld insists on these; the package's postinst would create them, but we skip it.
    for directory in ("var/lib/mysql-files", "run/mysqld", "var/lib/mysql", "var/log/mysql"):
        (rootfs / directory).mkdir(parents=True, exist_ok=True)


def build(recipe: DebianRecipe, docker_cli: str = "docker", workdir: Path | None = None) -> str:
    """Build `recipe` into a local image and return its tag. Takes about a minute."""
    if shutil.which("debootstrap") is None:
        raise ImageError("cannot build images offline: debootstrap is missing (apt-get install debootstrap)")
    if os.geteuid() != 0:
        raise ImageError("cannot build images offline without root (debootstrap and chroot need it)")
    base = Path(workdir or tempfile.mkdtemp(prefix=f"lab-rootfs-{recipe.flavor}-{recipe.version}-"))
    rootfs = base / "rootfs"
    log = base / "build.log"
    try:
        _run(
            ["debootstrap", "--variant=minbase", recipe.suite, str(rootfs), MIRROR],
            f"debootstrap {recipe.suite}",
            log,
        )
        _prepare_chroot(rootfs, recipe)
        env_prefix = ["chroot", str(rootfs), "env", "DEBIAN_FRONTEND=noninteractive"]
        _run([*env_prefix, "apt-get", "update", "-q"], "apt-get update", log)
        _run(
            [*env_prefix, "apt-get", "install", "-y", "-q", *recipe.packages],
            f"apt-get install {' '.join(recipe.packages)}",
            log,
        )
        _run([*env_prefix, "apt-get", "clean"], "apt-get clean", log)
        _run(
            ["chroot", str(rootfs), "sh", "-c", "id mysql >/dev/null 2>&1 || useradd --system --no-create-home mysql"],
            "create mysql user",
            log,
        )
        _finish_rootfs(rootfs)
        _run(
            ["chroot", str(rootfs), "chown", "-R", "mysql:mysql", "/var/lib/mysql-files", "/run/mysqld",
             "/var/lib/mysql", "/var/log/mysql"],
            "chown server directories",
            log,
        )
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            [
                docker_cli, "import",
                "--change", f'ENTRYPOINT ["{recipe.server_binary}"]',
                "--change", 'CMD ["--user=mysql"]',
                "--change", "EXPOSE 3306",
                "--change", f"LABEL io.mysqllab.flavor={recipe.flavor} io.mysqllab.version={recipe.version} "
                            f"io.mysqllab.variant={recipe.variant or ''}",
                "-", recipe.tag,
            ],
            stdin=tar.stdout,
            capture_output=True,
            text=True,
            check=False,
        )
        tar.wait()
        if imported.returncode != 0:
            raise ImageError(f"docker import of {recipe.tag} failed: {imported.stderr.strip()}")
        return recipe.tag
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:  # pragma: no cover - manual entry point
    import sys

    from lab.db.images.spec import parse_flavor

    request = parse_flavor(sys.argv[1])
    recipe = recipe_for(request.family or "", request.version or "", request.variant)
    if recipe is None:
        raise SystemExit(f"no Debian recipe for {sys.argv[1]}")
    print(build(recipe))


if __name__ == "__main__":  # pragma: no cover
    main()
