"""Initialize a datadir once per image and keep it as a derived image.

`--initialize` costs MySQL about 3 s per container. Instead we run it once, remove the
per-server identity (auto.cnf, binlogs), and `docker commit` the result. Every server
then starts from that layer; overlayfs copies a file only when the server writes it.
The datadir lives at DATADIR, outside the official images' VOLUME, so it is committed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from docker.errors import ImageNotFound

from lab.db import engine, labels
from lab.db.dialects import Dialect, detect
from lab.errors import ImageError

DATADIR = "/lab/data"
SEED_FORMAT = "4"

PROBE_SCRIPT = r"""
for b in mariadbd mysqld; do
  p=$(command -v $b 2>/dev/null) || continue
  echo "binary=$p"
  echo "version=$($p --version 2>/dev/null | head -1)"
  echo "uid=$(id -u mysql)"
  exit 0
done
exit 3
"""

# Runs as root inside a throwaway container; leaves DATADIR holding an initialized, identity-free datadir.
INIT_SCRIPT = r"""
set -e
mkdir -p /lab/data /var/lib/mysql-files /run/mysqld
chown -R mysql:mysql /lab /var/lib/mysql-files /run/mysqld
if [ "$FAMILY" = mariadb ]; then
  installer=$(command -v mariadb-install-db || command -v mysql_install_db)
  "$installer" --user=mysql --datadir=/lab/data --auth-root-authentication-method=normal \
      --skip-test-db --innodb-log-file-size=16M >/tmp/init.log 2>&1 || { cat /tmp/init.log; exit 1; }
else
  "$BINARY" --initialize-insecure --user=mysql --datadir=/lab/data --innodb-redo-log-capacity=16M \
      --log-error-verbosity=1 >/tmp/init.log 2>&1 || { cat /tmp/init.log; exit 1; }
fi
rm -f /lab/data/auto.cnf /lab/data/binlog.* /lab/data/*.err /lab/data/*-bin.* /lab/data/*.pid
"""

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


@dataclass(frozen=True)
class SeededImage:
    """A runnable image plus what the lab learned about the server inside it."""

    image: str
    base_image: str
    binary: str
    version_text: str
    mysql_uid: int
    dialect: Dialect


def _probe(base_image: str) -> dict[str, str]:
    client = engine.client()
    try:
        output = client.containers.run(
            base_image, entrypoint=["sh", "-c", PROBE_SCRIPT], remove=True,
            labels={labels.MANAGED: "true"}, network_mode="none",
        )
    except Exception as exc:  # docker raises ContainerError with the script's exit code
        raise ImageError(f"image {base_image} has no mysqld or mariadbd server binary ({exc})") from None
    facts = dict(line.split("=", 1) for line in output.decode().splitlines() if "=" in line)
    if "binary" not in facts:
        raise ImageError(f"image {base_image} has no mysqld or mariadbd server binary")
    return facts


def _dialect_from_version_line(line: str) -> Dialect:
    # e.g. "/usr/sbin/mysqld  Ver 9.7.4-2 for Linux" or "mariadbd  Ver 10.11.14-MariaDB-0+deb12u2 for ..."
    version = line.split(" Ver ", 1)[-1].split()[0] if " Ver " in line else line
    return detect(version, line)


def _find_seed(base_id: str) -> str | None:
    client = engine.client()
    wanted = [f"{labels.SEED_OF}={base_id}", f"{labels.SEED_FORMAT}={SEED_FORMAT}"]
    matches = client.images.list(filters={"label": wanted})
    return matches[0].id if matches else None


def _to_seeded(image_id: str, base_image: str) -> SeededImage:
    attrs = engine.client().images.get(image_id).attrs
    image_labels = attrs["Config"].get("Labels") or {}
    version_text = image_labels[labels.SERVER_VERSION]
    return SeededImage(
        image=image_id,
        base_image=base_image,
        binary=image_labels[labels.SERVER_BINARY],
        version_text=version_text,
        mysql_uid=int(image_labels[labels.MYSQL_UID]),
        dialect=_dialect_from_version_line(version_text),
    )


def seeded(base_image: str) -> SeededImage:
    """Return the seeded image for `base_image`, creating it on first use (cached by image id)."""
    client = engine.client()
    try:
        base_id = client.images.get(base_image).id
    except ImageNotFound:
        raise ImageError(f"image {base_image} is not available locally") from None
    with _locks_guard:
        lock = _locks.setdefault(base_id, threading.Lock())
    with lock:
        found = _find_seed(base_id)
        if found:
            return _to_seeded(found, base_image)
        facts = _probe(base_image)
        dialect = _dialect_from_version_line(facts["version"])
        container = client.containers.create(
            base_image,
            entrypoint=["sh", "-c", INIT_SCRIPT],
            user="root",
            environment={"FAMILY": dialect.name, "BINARY": facts["binary"]},
            labels={labels.MANAGED: "true"},
            network_mode="none",
        )
        try:
            container.start()
            exit_code = container.wait(timeout=300)["StatusCode"]
            if exit_code != 0:
                tail = container.logs(tail=5).decode(errors="replace").strip().replace("\n", " | ")
                raise ImageError(f"initializing a datadir in {base_image} failed: {tail}")
            image = container.commit(
                repository="mysqllab/seeded",
                tag=base_id.split(":")[-1][:12],
                changes=[
                    f"LABEL {labels.SEED_OF}={base_id} {labels.SEED_FORMAT}={SEED_FORMAT} "
                    f"{labels.SERVER_BINARY}={facts['binary']} {labels.MYSQL_UID}={facts['uid']}",
                    f'LABEL {labels.SERVER_VERSION}="{facts["version"]}"',
                ],
            )
        finally:
            container.remove(force=True)
        return _to_seeded(image.id, base_image)
